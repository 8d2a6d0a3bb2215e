// skiff-agent: kubelet + kube-proxy in one process. Only wiring lives here (STYLE.md §1): each
// subcommand (node-info, ctr, the agent run itself) registers from its own *_cmd.cc file.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>

#include "command.h"
#include "skiff/common/version.h"

namespace skiff::agent::cmd {

std::vector<Entry>& registry() {
  static std::vector<Entry> entries;
  return entries;
}

Registration::Registration(const char* name, AddFn add) { registry().push_back({name, add}); }

}  // namespace skiff::agent::cmd

int main(int argc, char** argv) {
  using namespace skiff::agent::cmd;
  CLI::App app{"skiff-agent: a Kubernetes node agent (kubelet + kube-proxy in one process)",
               "skiff-agent"};
  app.set_version_flag("--version", std::string("skiff-agent ") + skiff::kVersion +
                                        " (kubernetes " + skiff::kKubeVersion + ")");
  auto& entries = registry();
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  std::vector<Added> added;
  added.reserve(entries.size());
  for (const auto& e : entries) added.push_back(e.add(app));
  app.require_subcommand(0, 1);
  CLI11_PARSE(app, argc, argv);

  for (const auto& a : added) {
    if (a.subcommand != nullptr && a.subcommand->parsed()) return a.run();
  }
  for (const auto& a : added) {
    if (a.subcommand == nullptr) return a.run();
  }
  std::fputs(app.help().c_str(), stdout);
  return 0;
}
