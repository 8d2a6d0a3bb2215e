#pragma once

// Values several masters sharing one store must never hand out twice (Service ClusterIPs and
// NodePorts): one key per value under a prefix, created only when absent, so the store's create
// is the lock: kube-apiserver's IPAddress objects (networking.k8s.io, one object per address,
// AlreadyExists meaning taken) in spirit, kept as internal keys. Each key's value records the
// owner ("<namespace>/<name>") and when it was taken, for the repair pass that drops keys no
// object holds (an allocation whose object was never written).

#include <chrono>
#include <map>
#include <string>

#include "skiff/common/result.h"
#include "skiff/master/store/store.h"

namespace skiff::master::api {

class StoredReservations {
 public:
  using Clock = std::chrono::system_clock;
  struct Entry {
    std::string owner;
    Clock::time_point taken;
  };

  // `prefix` like "/registry/skiff.io/serviceips/".
  StoredReservations(store::Store& store, std::string prefix)
      : store_(store), prefix_(std::move(prefix)) {}

  // True when `value` is now reserved for `owner`, false when it was already taken.
  Result<bool> reserve(const std::string& value, const std::string& owner);
  // Gives `value` back if `owner` holds it (any holder when `owner` is empty); an absent key,
  // or one another owner holds, is left as it is.
  Result<void> release(const std::string& value, const std::string& owner = "");
  // Every reservation by value. A key whose value cannot be read counts as taken now by "".
  Result<std::map<std::string, Entry>> list();

 private:
  store::Store& store_;
  std::string prefix_;
};

}  // namespace skiff::master::api
