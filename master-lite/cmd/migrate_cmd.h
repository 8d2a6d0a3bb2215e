#pragma once

// `skiff-master migrate --from sqlite:PATH --to etcd:URL[,URL...]`: moves a stopped master's
// objects from its SQLite store into an empty etcd (store/migrate.h says how).

#include "subcommand.h"

namespace skiff::master::cmd {

// Adds the `migrate` subcommand to `app`.
Subcommand addMigrateCommand(CLI::App& app);

}  // namespace skiff::master::cmd
