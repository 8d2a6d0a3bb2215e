#pragma once

// Helpers for netproxy's integration tests. Every test works in network namespaces it creates
// (`ip netns add`) and deletes, never in the host's; SetUp removes leftovers of a crashed run.

#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "skiff/common/unique_fd.h"

namespace skiff::netproxy::itest {

bool isRoot();

// Runs a shell command line, returns {exit code, stdout+stderr}.
struct Cmd {
  int code;
  std::string out;
};
Cmd sh(const std::string& command);

// `ip netns add <name>` now, `ip netns del <name>` on destruction (processes inside are killed
// first by the owner of those processes). A leftover with the same name is removed first.
class TestNetns {
 public:
  explicit TestNetns(std::string name);
  ~TestNetns();
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;
  const std::string& name() const { return name_; }
  std::string path() const { return "/run/netns/" + name_; }
  // "ip netns exec <name> <command>"
  Cmd exec(const std::string& command) const;

 private:
  std::string name_;
};

// Moves the calling thread into a namespace until destruction (then back to where it was).
class EnterNetns {
 public:
  explicit EnterNetns(const std::string& path);
  ~EnterNetns();
  EnterNetns(const EnterNetns&) = delete;
  EnterNetns& operator=(const EnterNetns&) = delete;
  bool ok() const { return ok_; }

 private:
  UniqueFd home_;
  bool ok_ = false;
};

// A process started in a namespace and killed (by its own pid) on destruction.
class Background {
 public:
  Background(const std::string& netns, const std::vector<std::string>& argv);
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// Starts a TCP server in `netns` on `port` that answers every connection with `reply` and
// closes; waits until it listens.
std::unique_ptr<Background> startReplyServer(const TestNetns& ns, uint16_t port,
                                             const std::string& reply);

// Connects from `netns` to ip:port and returns what the server said ("" on failure), and the
// client's error text in `err`.
std::string tcpGet(const TestNetns& ns, const std::string& ip, uint16_t port,
                   std::string* err = nullptr, int timeout_s = 3);

// Number of links and legacy KUBE rules in the host namespace (to prove we left it alone).
std::string hostFingerprint();

// A test that runs only as root (skipped, naming the capabilities `needs`, otherwise) and must
// leave the host's own network as it found it: SetUp takes its fingerprint, TearDown compares.
class HostUnchangedTest : public ::testing::Test {
 protected:
  explicit HostUnchangedTest(std::string needs) : needs_(std::move(needs)) {}
  void SetUp() override {
    if (!isRoot()) GTEST_SKIP() << "needs " << needs_ << " (run as root)";
    host_before_ = hostFingerprint();
  }
  void TearDown() override {
    if (isRoot()) {
      EXPECT_EQ(hostFingerprint(), host_before_) << "host network changed";
    }
  }

 private:
  std::string needs_;
  std::string host_before_;
};

}  // namespace skiff::netproxy::itest
