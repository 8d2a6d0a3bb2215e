// skiff-master ("master-lite"): API server + scheduler + controllers in one process.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "skiff/common/version.h"

int main(int argc, char** argv) {
  CLI::App app{"skiff-master: a small Kubernetes control plane (API server, scheduler, controllers)",
               "skiff-master"};
  app.set_version_flag("--version", std::string("skiff-master ") + skiff::kVersion +
                                        " (kubernetes " + skiff::kKubeVersion + ")");
  CLI11_PARSE(app, argc, argv);
  std::fputs(app.help().c_str(), stdout);
  return 0;
}
