#pragma once

// The metrics scraper of skiff-master (metrics-server's scraper): every 15 s each Node's agent
// is asked for /stats/summary over HTTPS with the API server's kubelet client certificate, and
// the answers feed a MetricsCache; the registry serves metrics.k8s.io from that cache.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "skiff/master/api/registry.h"
#include "skiff/master/client/api_client.h"
#include "skiff/master/metrics/metrics.h"

namespace skiff::master::metrics {

struct ScraperOptions {
  std::string client_cert_file;  // the kubelet client certificate (PEM) and key
  std::string client_key_file;
  std::chrono::seconds period{15};
};

class Scraper {
 public:
  Scraper(ApiClient& client, ScraperOptions options);
  ~Scraper();
  void start();
  void stop();
  MetricsCache& cache() { return cache_; }
  // The registry's source for metrics.k8s.io reads (get and list of nodes and pods).
  api::Registry::MetricsSource source();

 private:
  void scrapeAll();
  ApiClient& client_;
  ScraperOptions opts_;
  MetricsCache cache_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace skiff::master::metrics
