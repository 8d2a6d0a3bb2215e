#include "skiff/agent/pod_workers.h"

namespace skiff::agent {

PodWorkers::PodWorkers(SyncFn sync, int threads) : sync_(std::move(sync)) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { loop(); });
}

PodWorkers::~PodWorkers() { stop(); }

void PodWorkers::updatePod(const std::string& uid) {
  std::lock_guard lk(mu_);
  if (stopping_) return;
  if (running_.count(uid)) {
    again_.insert(uid);  // one more sync after the current one, with the newest object
    return;
  }
  if (queued_.insert(uid).second) {
    queue_.push_back(uid);
    cv_.notify_one();
  }
}

void PodWorkers::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    queue_.clear();
    queued_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void PodWorkers::waitIdleForTest() {
  std::unique_lock lk(mu_);
  idle_cv_.wait(lk, [&] { return queue_.empty() && running_.empty(); });
}

void PodWorkers::loop() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    std::string uid = queue_.front();
    queue_.pop_front();
    queued_.erase(uid);
    running_.insert(uid);
    lk.unlock();
    sync_(uid);
    lk.lock();
    running_.erase(uid);
    if (again_.erase(uid) && !stopping_ && queued_.insert(uid).second) {
      queue_.push_back(uid);
      cv_.notify_one();
    }
    if (queue_.empty() && running_.empty()) idle_cv_.notify_all();
  }
}

}  // namespace skiff::agent
