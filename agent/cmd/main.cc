// skiff-agent: kubelet + kube-proxy in one process. Only wiring lives here (STYLE.md §1).
#include <CLI/CLI.hpp>

#include <cstdio>

#include "skiff/common/log.h"
#include "skiff/common/version.h"

int main(int argc, char** argv) {
  CLI::App app{"skiff-agent: a Kubernetes node agent (kubelet + kube-proxy in one process)",
               "skiff-agent"};
  app.set_version_flag("--version", std::string("skiff-agent ") + skiff::kVersion +
                                        " (kubernetes " + skiff::kKubeVersion + ")");
  app.require_subcommand(0, 1);
  CLI11_PARSE(app, argc, argv);
  if (app.get_subcommands().empty()) {
    std::fputs(app.help().c_str(), stdout);
  }
  return 0;
}
