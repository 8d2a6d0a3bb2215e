#pragma once

// Records core/v1 Events about objects, aggregated as client-go's EventCorrelator does: the same
// (source, object, type, reason, message) within the cache's lifetime bumps `count` and
// `lastTimestamp` of the existing Event instead of creating a new one. Thread-safe; failures are
// logged and dropped (events are best-effort, as upstream's broadcaster treats them).

#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "skiff/master/client/api_client.h"
#include "skiff/master/informer/clock.h"

namespace skiff::master {

class EventRecorder {
 public:
  // component: the reporting component ("default-scheduler", "deployment-controller").
  EventRecorder(ApiClient& client, std::string component, std::shared_ptr<Clock> clock);

  // type: "Normal" or "Warning". involved: the object the event is about (its kind/apiVersion
  // are taken from the object, or from `kind`/`api_version` when the object lacks them).
  void event(const json& involved, const std::string& type, const std::string& reason,
             const std::string& message);

 private:
  struct Entry {
    std::string ns;
    std::string name;
    std::int64_t count;
  };

  ApiClient& client_;
  std::string component_;
  std::shared_ptr<Clock> clock_;
  std::mutex mu_;
  std::map<std::string, Entry> cache_;
  std::list<std::string> lru_;
  std::uint64_t seq_ = 0;
};

}  // namespace skiff::master
