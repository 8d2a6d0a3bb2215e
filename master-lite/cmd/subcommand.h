#pragma once

// A skiff-master subcommand (token, migrate): the CLI11 subcommand its add function registered and
// the function that runs whichever of its subcommands was selected (exit code).

#include <CLI/CLI.hpp>

#include <functional>

namespace skiff::master::cmd {

struct Subcommand {
  CLI::App* command;
  std::function<int()> run;
};

}  // namespace skiff::master::cmd
