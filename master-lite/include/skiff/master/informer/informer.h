#pragma once

// An in-process informer (client-go's SharedIndexInformer): lists a resource, then watches from
// the list's resourceVersion, keeps a thread-safe local cache keyed "ns/name" with extra indexes
// (pods by node, by owner uid...), and calls event handlers. A 410 Gone (or a failed watch)
// triggers a relist that diffs the cache against the fresh list and reports the differences as
// add/update/delete, so handlers never miss a change.

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "skiff/master/client/api_client.h"

namespace skiff::master {

struct EventHandlers {
  std::function<void(const json& obj)> on_add;
  std::function<void(const json& old_obj, const json& new_obj)> on_update;
  std::function<void(const json& obj)> on_delete;
};

// Returns the index values of an object (e.g. {spec.nodeName}).
using IndexFunc = std::function<std::vector<std::string>(const json&)>;
// Trims an object before it is cached and handed to handlers (client-go's TransformFunc).
using TransformFunc = std::function<void(json&)>;

class Informer {
 public:
  Informer(ApiClient& client, GroupVersionResource resource, std::string ns = "",
           ListOptions selectors = {});
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Register before start().
  void addEventHandlers(EventHandlers h);
  void addIndex(const std::string& name, IndexFunc fn);
  void setTransform(TransformFunc fn);

  // Lists and starts the watch; the cache is synced when this returns successfully. With
  // `background` a thread relists after a 410 or watch error; otherwise tests call
  // relistIfNeededForTest().
  Result<void> start(bool background = true);
  void stop();
  bool hasSynced() const;

  // Cached objects are immutable once stored: the *Shared reads hand out the cache's own
  // object without copying it (a hot controller reads hundreds of pods per sync).
  using ObjectPtr = std::shared_ptr<const json>;

  std::optional<json> get(const std::string& key) const;
  ObjectPtr getShared(const std::string& key) const;  // nullptr when absent
  std::optional<json> get(const std::string& ns, const std::string& name) const;
  std::vector<json> list() const;
  std::vector<ObjectPtr> listShared() const;  // the cache's own objects: no copies
  std::vector<json> listNamespace(const std::string& ns) const;
  std::vector<json> byIndex(const std::string& index, const std::string& value) const;
  std::vector<ObjectPtr> byIndexShared(const std::string& index, const std::string& value) const;
  std::size_t size() const;

  // Test hook: performs a pending relist on the calling thread.
  Result<void> relistIfNeededForTest();
  int relistCountForTest() const;

  const GroupVersionResource& resource() const { return resource_; }

 private:
  Result<void> relist();
  void onWatchEvent(WatchEvent ev);
  void storeLocked(const std::string& key, ObjectPtr obj);
  void eraseLocked(const std::string& key);
  void relistLoop();
  void dispatchAdd(const json& obj);
  void dispatchUpdate(const json& old_obj, const json& new_obj);
  void dispatchDelete(const json& obj);

  ApiClient& client_;
  GroupVersionResource resource_;
  std::string ns_;
  ListOptions selectors_;
  std::vector<EventHandlers> handlers_;
  std::map<std::string, IndexFunc> index_funcs_;
  TransformFunc transform_;

  mutable std::mutex mu_;
  std::map<std::string, ObjectPtr> items_;
  std::map<std::string, std::map<std::string, std::set<std::string>>> indexes_;
  std::string last_rv_;
  bool synced_ = false;
  bool need_relist_ = false;
  bool stopping_ = false;
  int relists_ = 0;
  std::condition_variable cv_;
  std::mutex watch_mu_;
  WatchPtr watch_;
  std::thread relist_thread_;
};

}  // namespace skiff::master
