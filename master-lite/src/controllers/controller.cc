#include "skiff/master/controllers/controller.h"

#include "skiff/common/log.h"
#include "skiff/master/informer/meta.h"

namespace skiff::master {

Controller::Controller(std::string name, std::shared_ptr<Clock> clock)
    : name_(std::move(name)), clock_(std::move(clock)), queue_(clock_) {}

Controller::~Controller() { stop(); }

Informer& Controller::enqueueKeysOf(SharedInformers& informers,
                                    const GroupVersionResource& resource, bool deleted_too) {
  Informer& inf = informers.get(resource);
  auto enqueue = [this](const json& o) { queue_.add(meta::key(o)); };
  inf.addEventHandlers({
      .on_add = enqueue,
      .on_update = [enqueue](const json&, const json& n) { enqueue(n); },
      .on_delete = deleted_too ? std::function<void(const json&)>(enqueue) : nullptr,
  });
  return inf;
}

Informer& Controller::enqueueAddedAndUpdated(SharedInformers& informers,
                                             const GroupVersionResource& resource) {
  return enqueueKeysOf(informers, resource, false);
}

Informer& Controller::enqueueEveryChange(SharedInformers& informers,
                                         const GroupVersionResource& resource) {
  return enqueueKeysOf(informers, resource, true);
}

void Controller::enqueueControllerOf(SharedInformers& informers, const GroupVersionResource& owned,
                                     std::string owner_kind) {
  auto owner = [this, kind = std::move(owner_kind)](const json& obj) {
    if (auto ref = meta::controllerRef(obj); ref && ref->value("kind", "") == kind) {
      queue_.add(meta::key(meta::ns(obj), ref->value("name", "")));
    }
  };
  // A changed controller reference also wakes the previous owner: a pod whose reference was
  // removed (orphaned) and still matches is adopted again (the controllers' updatePod).
  informers.get(owned).addEventHandlers({
      .on_add = owner,
      .on_update =
          [owner](const json& o, const json& n) {
            owner(n);
            auto was = meta::controllerRef(o), is = meta::controllerRef(n);
            if (was && (!is || is->value("uid", "") != was->value("uid", ""))) owner(o);
          },
      .on_delete = owner,
  });
}

void Controller::processOne(const std::string& key) {
  auto r = sync(key);
  if (r) {
    queue_.forget(key);
  } else {
    auto lg = log::get("master");
    SKIFF_LOG_WARN(lg, "Sync failed, will retry", log::kv("controller", name_), log::kv("key", key),
                   log::kv("err", r.error().message()));
    queue_.addRateLimited(key);
  }
  queue_.done(key);
}

void Controller::run(int workers) {
  for (int i = 0; i < workers; ++i) {
    workers_.emplace_back([this] {
      while (auto key = queue_.get()) processOne(*key);
    });
  }
  if (resyncPeriod() > Duration::zero()) {
    ticker_ = std::thread([this] {
      TimePoint next = clock_->now();
      while (!stopping_) {
        if (clock_->now() >= next) {
          resync();
          next = clock_->now() + resyncPeriod();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
}

void Controller::stop() {
  stopping_ = true;
  queue_.shutDown();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
  if (ticker_.joinable()) ticker_.join();
}

int Controller::processPendingForTest(int max_rounds) {
  int n = 0;
  while (n < max_rounds) {
    auto key = queue_.tryGet();
    if (!key) break;
    processOne(*key);
    ++n;
  }
  return n;
}

}  // namespace skiff::master
