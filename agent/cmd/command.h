#pragma once

// Subcommands of skiff-agent register themselves from their own files, so `node-info`, `ctr`
// and the agent itself are wired independently:
//
//   namespace { const skiff::agent::cmd::Registration reg("node-info", &addNodeInfoCommand); }
//
// `add` attaches the subcommand (or, for the default agent run, options on the root app) and
// returns the function main runs when it was selected.

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace skiff::agent::cmd {

// Runs the selected command; returns the process exit code.
using Runner = std::function<int()>;
// Adds options/subcommand to `app`; returns the subcommand (nullptr for the root app) and runner.
struct Added {
  CLI::App* subcommand;  // nullptr: the runner handles the root command (no subcommand given)
  Runner run;
};
using AddFn = Added (*)(CLI::App& app);

struct Registration {
  Registration(const char* name, AddFn add);
};

struct Entry {
  std::string name;
  AddFn add;
};
// All registered commands, sorted by name.
std::vector<Entry>& registry();

}  // namespace skiff::agent::cmd
