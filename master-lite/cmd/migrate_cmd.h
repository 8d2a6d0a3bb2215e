#pragma once

// `skiff-master migrate --from sqlite:PATH --to etcd:URL[,URL...]`: moves a stopped master's
// objects from its SQLite store into an empty etcd (store/migrate.h says how).

#include <CLI/CLI.hpp>

#include <functional>

namespace skiff::master::cmd {

struct MigrateCommand {
  CLI::App* command;
  std::function<int()> run;
};
MigrateCommand addMigrateCommand(CLI::App& app);

}  // namespace skiff::master::cmd
