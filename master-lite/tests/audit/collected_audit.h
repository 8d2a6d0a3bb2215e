#pragma once

// For the audit tests: an Auditor whose events are kept in memory, parsed, in the order the
// auditor wrote them, alone or beside a registry.

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "skiff/master/audit/auditor.h"
#include "skiff/master/testing/registry_fixture.h"

namespace skiff::master::audit {

// `event` has each of `fields`: a JSON pointer ("/user/username"; "~1" for a '/' in a key) and
// the value there.
inline void expectFields(const nlohmann::json& event,
                         std::initializer_list<std::pair<std::string, nlohmann::json>> fields) {
  for (const auto& [pointer, want] : fields)
    EXPECT_EQ(event.value(nlohmann::json::json_pointer(pointer), nlohmann::json()), want)
        << pointer;
}

class CollectedAudit {
 protected:
  // Starts `auditor_` with the policy (JSON); an invalid policy fails the test.
  void startAuditor(const char* policy_json, SystemClock now = nullptr) {
    auto p = parsePolicy(nlohmann::json::parse(policy_json));
    ASSERT_TRUE(p) << p.error().message();
    auditor_ = std::make_unique<Auditor>(
        *p,
        [this](const std::string& line) -> Result<void> {
          std::lock_guard<std::mutex> lk(mu_);
          lines_.push_back(nlohmann::json::parse(line));
          return ok();
        },
        100, std::move(now));
  }
  // The events written so far (the auditor flushed first).
  std::vector<nlohmann::json> events() {
    auditor_->flush();
    std::lock_guard<std::mutex> lk(mu_);
    return lines_;
  }

 private:
  std::mutex mu_;
  std::vector<nlohmann::json> lines_;

 protected:
  std::unique_ptr<Auditor> auditor_;  // after the lines it writes to, so destroyed before them
};

// A registry whose requests are audited: a fixture calls startAuditor() in setUpRegistry(), and
// TearDown() stops the auditor while the registry it audited is still there.
class AuditedRegistryFixture : public ::skiff::master::testing::RegistryFixture,
                               protected CollectedAudit {
 protected:
  void TearDown() override {
    auditor_.reset();
    RegistryFixture::TearDown();
  }
};

}  // namespace skiff::master::audit
