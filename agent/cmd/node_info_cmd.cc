// `skiff-agent node-info`: prints the Node object this agent registers, computed from the host
// (or from a fixture tree with --root) and the kubelet-style reservation flags.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "command.h"
#include "skiff/hostinfo/host_info.h"
#include "skiff/hostinfo/node_object.h"
#include "skiff/hostinfo/resource_flags.h"

namespace skiff::agent::cmd {
namespace {

struct NodeInfoOptions {
  std::string hostname_override;
  std::string kube_reserved;
  std::string system_reserved;
  std::string eviction_hard = hostinfo::kDefaultEvictionHard;
  int max_pods = hostinfo::kDefaultMaxPods;
  std::string root = "/";
  std::string root_dir = hostinfo::HostPaths{}.state_dir;
};

int fail(const Error& e) {
  std::fprintf(stderr, "skiff-agent node-info: %s\n", e.message().c_str());
  return 1;
}

int runNodeInfo(const NodeInfoOptions& o) {
  hostinfo::NodeConfig config;
  if (!o.hostname_override.empty()) config.hostname_override = o.hostname_override;
  config.max_pods = o.max_pods;
  auto kube = hostinfo::parseReservedFlag(o.kube_reserved, "--kube-reserved");
  if (!kube) return fail(kube.error());
  config.kube_reserved = *kube;
  auto system = hostinfo::parseReservedFlag(o.system_reserved, "--system-reserved");
  if (!system) return fail(system.error());
  config.system_reserved = *system;
  auto eviction = hostinfo::parseEvictionThresholds(o.eviction_hard, "--eviction-hard");
  if (!eviction) return fail(eviction.error());
  config.eviction_hard = *eviction;

  hostinfo::HostPaths paths;
  paths.root = o.root;
  paths.state_dir = o.root_dir;
  auto sys = hostinfo::sys::makeRealHostSys();
  auto host = hostinfo::collectHostInfo(paths, *sys);
  if (!host) return fail(host.error());
  auto node = hostinfo::buildNodeObject(*host, config);
  if (!node) return fail(node.error());
  std::printf("%s\n", node->dump(2).c_str());
  return 0;
}

Added addNodeInfo(CLI::App& app) {
  auto o = std::make_shared<NodeInfoOptions>();
  CLI::App* sub = app.add_subcommand(
      "node-info", "Print the Node object (JSON) this agent registers: capacity, allocatable, "
                   "nodeInfo");
  sub->add_option("--hostname-override", o->hostname_override,
                  "Node name to use instead of the hostname (lowercased, must be a DNS-1123 "
                  "subdomain)");
  sub->add_option("--kube-reserved", o->kube_reserved,
                  "Resources reserved for Kubernetes components, e.g. "
                  "cpu=200m,memory=500Mi,ephemeral-storage=1Gi,pid=1000");
  sub->add_option("--system-reserved", o->system_reserved,
                  "Resources reserved for system daemons, e.g. cpu=200m,memory=500Mi");
  sub->add_option("--eviction-hard", o->eviction_hard,
                  "Hard eviction thresholds subtracted from allocatable, e.g. "
                  "memory.available<100Mi,nodefs.available<10%")
      ->capture_default_str();
  sub->add_option("--max-pods", o->max_pods, "Maximum number of pods on this node")
      ->capture_default_str();
  sub->add_option("--root", o->root,
                  "Read /proc, /sys and /etc under this directory (fixtures); uname, CPU "
                  "affinity and statfs still come from this host")
      ->capture_default_str();
  sub->add_option("--root-dir", o->root_dir,
                  "Agent state directory (under --root); its filesystem is ephemeral-storage")
      ->capture_default_str();
  return {sub, [o] { return runNodeInfo(*o); }};
}

const Registration reg("node-info", &addNodeInfo);

}  // namespace
}  // namespace skiff::agent::cmd
