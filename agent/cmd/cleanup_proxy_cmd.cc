// `skiff-agent cleanup-proxy`: kube-proxy's --cleanup. Removes the service proxy's and the pod
// network's rules of every mode (or one, with --proxy-mode) from this network namespace, e.g.
// before uninstalling or after switching modes by hand.

#include <cstdio>
#include <memory>
#include <string>

#include "command.h"
#include "skiff/agent/agent.h"
#include "skiff/common/log.h"

namespace skiff::agent::cmd {
namespace {

struct CleanupOptions {
  std::string mode = "all";
};

Added addCleanupProxy(CLI::App& app) {
  auto o = std::make_shared<CleanupOptions>();
  CLI::App* sub = app.add_subcommand(
      "cleanup-proxy",
      "Remove the service proxy and pod network rules (nftables tables 'ip skiff' and 'ip "
      "skiff-podnet', legacy KUBE-*/SKIFF-* chains) from this network namespace");
  sub->add_option("--proxy-mode", o->mode, "which mode's rules: all, nftables or iptables")
      ->check(CLI::IsMember({"all", "nftables", "iptables"}))
      ->capture_default_str();
  return {sub, [o] {
            skiff::log::setup("info", false);
            bool nft = o->mode != "iptables", ipt = o->mode != "nftables";
            if (auto r = cleanupProxyRules(nft, ipt); !r) {
              std::fprintf(stderr, "skiff-agent: cleanup-proxy: %s\n", r.error().message().c_str());
              return 1;
            }
            return 0;
          }};
}

const Registration reg("cleanup-proxy", &addCleanupProxy);

}  // namespace
}  // namespace skiff::agent::cmd
