#pragma once

// `skiff-master token create|list|delete`: kubeadm's bootstrap-token commands against a running
// master, through its admin kubeconfig.

#include <CLI/CLI.hpp>

#include <functional>

namespace skiff::master::cmd {

// Adds the `token` subcommand to `app`; returns the subcommand and the function that runs
// whichever of its subcommands was selected (exit code).
struct TokenCommand {
  CLI::App* command;
  std::function<int()> run;
};
TokenCommand addTokenCommand(CLI::App& app);

}  // namespace skiff::master::cmd
