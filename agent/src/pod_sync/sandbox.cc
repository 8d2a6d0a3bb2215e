// PodSyncer: the pod's sandbox and the files the kubelet writes for it (resolv.conf, hosts).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

#include "skiff/agent/pod_dns.h"
#include "skiff/agent/pod_sync.h"
#include "skiff/agent/resources.h"
#include "skiff/common/file.h"
#include "skiff/common/log.h"
#include "util.h"

namespace skiff::agent {

namespace {
// Writes only when the content differs: syncs run every few seconds per pod, and a rewrite of
// unchanged files was most of an idle agent's CPU. No fsync: the next sync rewrites them.
Result<void> writeIfChanged(const std::string& path, const std::string& data) {
  auto cur = readFile(path, 1u << 20);
  if (cur && *cur == data) return ok();
  return writeFileReplace(path, data, 0644);
}
}  // namespace

Result<void> PodSyncer::writePodFiles(const json& pod, const std::string& pod_ip) {
  // /etc/hosts and /etc/resolv.conf managed by the agent, as kubelet does (the runtime's
  // hostname file comes from the sandbox hostname).
  std::string dir = volumes_.podDir(uidOf(pod));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error(ErrorCode::Internal, "create '" + dir + "': " + ec.message());
  // kubelet's rules live in pod_dns.cc (issue 18): ClusterFirst & co., dnsConfig, limits.
  std::vector<std::string> ips;
  if (!pod_ip.empty()) ips.push_back(pod_ip);
  std::string node_hosts;
  if (pod["spec"].value("hostNetwork", false))
    node_hosts = readFile("/etc/hosts", 1u << 20).value_or("");
  SKIFF_TRY(
      writeIfChanged(dir + "/etc-hosts", podHostsFile(pod, ips, cfg_.cluster_domain, node_hosts)));
  SKIFF_TRY(writeIfChanged(dir + "/hostname", podUtsHostname(pod, cfg_.cluster_domain) + "\n"));
  auto host = dns::loadHostResolvConf(cfg_.resolv_conf);
  auto files =
      podResolvConf(pod, cfg_.cluster_dns, cfg_.cluster_domain, host ? *host : dns::ResolvConf{});
  const std::string& resolv = files.resolv_conf;
  // Events only when the file changes, so a sync every few seconds does not repeat them.
  auto cur = readFile(dir + "/resolv.conf", 1u << 20);
  if (events_ != nullptr && !(cur && *cur == resolv)) {
    for (const auto& e : files.events) events_->podEvent(pod, "", e.type, e.reason, e.message);
  }
  SKIFF_TRY(writeIfChanged(dir + "/resolv.conf", resolv));
  return ok();
}

Result<std::string> PodSyncer::ensureSandbox(const json& pod, PodRuntimeView& view) {
  if (view.sandbox && view.sandbox->state == SandboxState::Ready) return view.sandbox->id;
  auto lg = skiff::log::get("agent");
  uint32_t attempt = 0;
  if (view.sandbox) {
    // The sandbox died (node reboot, runtime lost it): kubelet kills what is left and starts a
    // new sandbox attempt; containers restart in it with their counts carried on.
    attempt = view.sandbox->attempt + 1;
    for (auto& [_, list] : view.containers) {
      for (const auto& c : list) {
        if (c.state == ContainerState::Running)
          (void)runtime_.stopContainer(c.id, std::chrono::seconds(0));
      }
    }
    if (network_ != nullptr && !view.sandbox->netns_path.empty()) {
      (void)network_->teardown(view.sandbox->id, podRef(pod), view.sandbox->netns_path);
    }
    (void)runtime_.stopPodSandbox(view.sandbox->id);
  }
  const json& spec = pod["spec"];
  SandboxConfig sc;
  sc.name = pod["metadata"].value("name", "");
  sc.ns = pod["metadata"].value("namespace", "");
  sc.uid = uidOf(pod);
  sc.attempt = attempt;
  sc.hostname = podUtsHostname(pod, cfg_.cluster_domain);
  sc.log_directory = cfg_.log_dir + "/" + sc.ns + "_" + sc.name + "_" + sc.uid;
  sc.labels = {{kLabelPodUid, sc.uid}, {kLabelPodName, sc.name}, {kLabelPodNamespace, sc.ns}};
  const json labels = pod["metadata"].value("labels", json::object());  // items() references
  for (const auto& [k, v] : labels.items()) {
    if (v.is_string()) sc.labels[k] = v.get<std::string>();
  }
  sc.host_network = spec.value("hostNetwork", false);
  sc.qos = podQosClass(pod);
  for (const auto& c : spec.value("containers", json::array())) {
    for (const auto& p : c.value("ports", json::array())) {
      if (p.value("hostPort", 0) == 0) continue;
      sc.port_mappings.push_back(PortMapping{p.value("protocol", "TCP"),
                                             p.value("containerPort", 0), p.value("hostPort", 0),
                                             p.value("hostIP", "")});
    }
  }
  sc.dns_servers = cfg_.cluster_dns;
  SKIFF_ASSIGN_OR_RETURN(std::string id, runtime_.runPodSandbox(sc));
  SKIFF_LOG_INFO(lg, "Pod sandbox started", kv("pod", podRef(pod)), kv("sandboxID", id));
  // Re-read to learn the netns path.
  SKIFF_ASSIGN_OR_RETURN(auto sandboxes, runtime_.listPodSandboxes());
  for (const auto& s : sandboxes) {
    if (s.id == id) view.sandbox = s;
  }
  if (!view.sandbox) return Error(ErrorCode::Internal, "sandbox '" + id + "' vanished");
  if (!sc.host_network && network_ != nullptr) {
    auto ip = network_->setup(id, podRef(pod), view.sandbox->netns_path, sc.port_mappings);
    if (!ip) {
      (void)runtime_.stopPodSandbox(id);
      (void)runtime_.removePodSandbox(id);
      view.sandbox.reset();
      return std::move(ip).error().wrap("set up pod network");
    }
    view.pod_ip = *ip;
  } else if (sc.host_network) {
    view.pod_ip = cfg_.host_ip;
  }
  return id;
}

}  // namespace skiff::agent
