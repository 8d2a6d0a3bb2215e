#include "skiff/master/controllers/expectations.h"

namespace skiff::master {

bool ControllerExpectations::satisfied(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = records_.find(key);
  if (it == records_.end()) return true;
  const Record& r = it->second;
  if (r.adds <= 0 && r.deletes.empty()) return true;
  return clock_->now() - r.since > kExpectationsTimeout;
}

void ControllerExpectations::expectCreations(const std::string& key, std::int64_t adds) {
  std::lock_guard lock(mu_);
  records_[key] = Record{.adds = adds, .deletes = {}, .since = clock_->now()};
}

void ControllerExpectations::expectDeletions(const std::string& key,
                                             const std::set<std::string>& objects) {
  std::lock_guard lock(mu_);
  records_[key] = Record{.adds = 0, .deletes = objects, .since = clock_->now()};
}

void ControllerExpectations::creationObserved(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = records_.find(key);
  if (it != records_.end() && it->second.adds > 0) --it->second.adds;
}

void ControllerExpectations::deletionObserved(const std::string& key, const std::string& object) {
  std::lock_guard lock(mu_);
  auto it = records_.find(key);
  if (it != records_.end()) it->second.deletes.erase(object);
}

void ControllerExpectations::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  records_.erase(key);
}

}  // namespace skiff::master
