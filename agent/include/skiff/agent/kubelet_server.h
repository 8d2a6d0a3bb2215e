#pragma once

// The kubelet API (pkg/kubelet/server/server.go) the API server proxies to:
//   HTTPS :10250, client certificate required and verified against the cluster CA
//   (kubelet's x509 authentication with anonymous auth off); node credentials
//   (CN system:node:*) are refused, as the Node authorizer would not let one node exec into
//   another's pods.
//   GET  /healthz                                   "ok"
//   GET  /containerLogs/{ns}/{pod}/{container}      follow, tailLines, sinceSeconds, sinceTime,
//                                                   timestamps, previous, limitBytes
//   GET  /exec/{ns}/{pod}/{container}?command=...&input=1&output=1&error=1&tty=1
//        WebSocket, subprotocols v5.channel.k8s.io, v4.channel.k8s.io, channel.k8s.io
//        (reference/kube-api-surface.md §7: channel byte + payload, status on channel 3),
//        or POST with `Upgrade: SPDY/3.1` and remotecommand v4.channel.k8s.io (exec_spdy.h),
//        what kubectl <= 1.29 sends and newer ones fall back to
//   GET|POST /portForward/{ns}/{pod}                SPDY/3.1 (port_forward.h), after
//        `Upgrade: SPDY/3.1` + X-Stream-Protocol-Version portforward.k8s.io, or tunnelled in a
//        WebSocket with subprotocol SPDY/3.1+portforward.k8s.io (kubectl >= 1.31)
//   GET  /pods, /stats/summary, /metrics and /metrics/resource (Prometheus text)
// and plain HTTP healthz on 127.0.0.1:10248.

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "skiff/agent/container_runtime.h"
#include "skiff/agent/pod_status.h"
#include "skiff/common/result.h"

namespace skiff::agent {

// What the server needs from the rest of the agent.
class KubeletApiSource {
 public:
  virtual ~KubeletApiSource() = default;
  virtual std::optional<nlohmann::json> findPod(const std::string& ns, const std::string& name) = 0;
  virtual std::vector<nlohmann::json> pods() = 0;
  virtual Result<PodRuntimeView> runtimeView(const std::string& uid) = 0;
  virtual ContainerRuntime& runtime() = 0;
  virtual std::string nodeName() = 0;
  // Extra Prometheus lines (agent-wide gauges).
  virtual std::string metrics() = 0;
  virtual nlohmann::json statsSummary() = 0;
  // GET /metrics/resource: the kubelet's resource metrics in Prometheus text (stats_summary.h).
  virtual std::string resourceMetrics() = 0;
};

struct KubeletServerOptions {
  std::string address = "0.0.0.0";
  int port = 10250;
  std::string healthz_address = "127.0.0.1";
  int healthz_port = 10248;
  std::string cert_pem, key_pem;  // serving certificate
  std::string client_ca_pem;      // verifies API server client certificates
};

class KubeletServer {
 public:
  virtual ~KubeletServer() = default;
  // Ports actually bound (for port 0 in tests).
  virtual int port() const = 0;
  virtual int healthzPort() const = 0;
  virtual void stop() = 0;
};

Result<std::unique_ptr<KubeletServer>> startKubeletServer(KubeletServerOptions opts,
                                                          KubeletApiSource& source);

}  // namespace skiff::agent
