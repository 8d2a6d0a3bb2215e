#pragma once

// `skiff-master token create|list|delete`: kubeadm's bootstrap-token commands against a running
// master, through its admin kubeconfig.

#include "subcommand.h"

namespace skiff::master::cmd {

// Adds the `token` subcommand to `app`.
Subcommand addTokenCommand(CLI::App& app);

}  // namespace skiff::master::cmd
