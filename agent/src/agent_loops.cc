// AgentProcess's loops: the main thread's wait for a signal (with systemd's watchdog), and the
// background loops started by startHousekeeping(), each on its own thread until cancel_.

#include <thread>

#include "agent_process.h"
#include "skiff/agent/local_storage.h"

namespace skiff::agent {

using skiff::log::kv;

// systemd: READY once registered; WATCHDOG at half the configured interval.
void AgentProcess::serveUntilStopped() {
  (void)sd_notify(0, "READY=1\nSTATUS=node registered");
  uint64_t watchdog_usec = 0;
  bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  SKIFF_LOG_INFO(lg_, "Agent running", kv("node", node_name_), kv("version", skiff::kVersion));
  auto last_dog = std::chrono::steady_clock::now();
  while (!stop_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (watchdog && std::chrono::steady_clock::now() - last_dog >=
                        std::chrono::microseconds(watchdog_usec / 2)) {
      (void)sd_notify(0, "WATCHDOG=1");
      last_dog = std::chrono::steady_clock::now();
    }
  }
}

// PLEG relist every second; full resync every 10 s (backoff expiry, volume refresh).
void AgentProcess::relistLoop() {
  int tick = 0;
  while (!cancel_.waitFor(std::chrono::seconds(1))) {
    kubelet_->relist();
    // Static pods: rescan the manifest directory (fileCheckFrequency, 20 s).
    if (tick % cfg_.file_check_frequency.count() == 0) {
      auto scan = scanStaticPods(cfg_.pod_manifest_path, node_name_);
      for (const auto& e : scan.errors) {
        SKIFF_LOG_WARN(lg_, "Skipping static pod manifest", kv("err", e));
      }
      kubelet_->setStaticPods(scan.pods);
    }
    ++tick;
    if (tick % 60 == 0) {
      kubelet_->resyncAll(true);  // syncFrequency 1 min
    } else if (tick % 5 == 0) {
      kubelet_->resyncAll(false);
    }
  }
}

// Released local-path volumes of this node with reclaim Delete: directory, then PV.
void AgentProcess::reclaimLoop() {
  while (!cancel_.waitFor(std::chrono::seconds(5))) {
    auto n = reclaimLocalPathVolumes(*client_, node_name_, cfg_.storage_root);
    if (!n)
      SKIFF_LOG_WARN(lg_, "Reclaiming local-path volumes failed, will retry",
                     kv("err", n.error().message()));
  }
}

// Eviction manager pass every 10 s; a change of pressure is reported at once.
void AgentProcess::evictionLoop() {
  NodePressure last = eviction_->pressure();
  auto next_image_gc = std::chrono::steady_clock::now();
  while (!cancel_.waitFor(cfg_.eviction_monitoring_interval)) {
    if (std::chrono::steady_clock::now() >= next_image_gc) {
      image_gc_->garbageCollect();  // kubelet's ImageGCPeriod
      next_image_gc = std::chrono::steady_clock::now() + std::chrono::minutes(5);
    }
    auto evicted = eviction_->synchronize();
    auto met = eviction_->thresholdsMet();
    if (!met.empty()) {
      recorder_->nodeEvent("Warning", "EvictionThresholdMet",
                           "Attempting to reclaim " + evictionResourceOf(met.front()));
    }
    NodePressure now = eviction_->pressure();
    if (!(now == last)) {
      // kubelet's node status events: "Node node-1 status is now: NodeHasDiskPressure".
      auto say = [&](bool before, bool after, const char* on, const char* off) {
        if (before == after) return;
        recorder_->nodeEvent("Normal", after ? on : off,
                             "Node " + node_name_ + " status is now: " + (after ? on : off));
      };
      say(last.memory, now.memory, "NodeHasInsufficientMemory", "NodeHasSufficientMemory");
      say(last.disk, now.disk, "NodeHasDiskPressure", "NodeHasNoDiskPressure");
      say(last.pid, now.pid, "NodeHasInsufficientPID", "NodeHasSufficientPID");
      status_runner_->run();
    }
    (void)evicted;
    last = now;
    // Hand the pages freed since the last pass (a burst of pod syncs, a finished exec or
    // log stream) back to the kernel, so the idle footprint is what is really in use.
    ::malloc_trim(0);
  }
}

}  // namespace skiff::agent
