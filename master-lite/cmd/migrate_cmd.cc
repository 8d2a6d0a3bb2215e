#include "migrate_cmd.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "skiff/common/split_list.h"
#include "skiff/master/api/storage_keys.h"
#include "skiff/master/store/migrate.h"

namespace skiff::master::cmd {
namespace {

struct MigrateFlags {
  std::string from, to;
  std::string etcd_prefix = "/registry";
  std::string ca_file, cert_file, key_file;
  std::string transport;
};

int fail(const Error& e) {
  std::fprintf(stderr, "skiff-master migrate: %s\n", e.message().c_str());
  return 1;
}

// "sqlite:PATH": the database file, or the master's --data-dir holding store.db. It must exist:
// migrating from a path that is not there would copy an empty cluster.
Result<std::string> sqlitePath(const std::string& from) {
  if (!from.starts_with("sqlite:")) {
    return Error(ErrorCode::Invalid, "--from '" + from + "': want sqlite:PATH");
  }
  std::filesystem::path p = from.substr(7);
  std::error_code ec;
  if (std::filesystem::is_directory(p, ec)) p /= "store.db";
  if (!std::filesystem::is_regular_file(p, ec)) {
    return Error(ErrorCode::NotFound, "--from: no SQLite store at '" + p.string() + "'");
  }
  return p.string();
}

Result<std::vector<std::string>> etcdServers(const std::string& to) {
  if (!to.starts_with("etcd:")) {
    return Error(ErrorCode::Invalid, "--to '" + to + "': want etcd:URL[,URL...]");
  }
  std::vector<std::string> out = splitList(std::string_view(to).substr(5));
  if (out.empty()) return Error(ErrorCode::Invalid, "--to: no etcd server given");
  return out;
}

int runMigrate(const MigrateFlags& f) {
  auto path = sqlitePath(f.from);
  if (!path) return fail(path.error());
  auto servers = etcdServers(f.to);
  if (!servers) return fail(servers.error());
  std::string prefix = f.etcd_prefix;
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  if (prefix.empty() || prefix.front() != '/') prefix = "/" + prefix;

  auto source = store::openSqliteStore(*path);
  if (!source) return fail(source.error());
  // As the master does when it opens the store: older databases get today's key layout.
  auto moved = api::migrateLegacyStorageKeys(**source, api::kDefaultStoragePrefix);
  if (!moved) return fail(moved.error());

  store::EtcdOptions to;
  to.servers = *servers;
  to.ca_file = f.ca_file;
  to.cert_file = f.cert_file;
  to.key_file = f.key_file;
  if (!f.transport.empty()) to.transport = *store::parseEtcdTransport(f.transport);
  store::MigrateOptions mo;
  mo.from_prefix = api::kDefaultStoragePrefix;
  mo.to_prefix = prefix;
  mo.progress = [](const std::string& s) { std::fprintf(stderr, "migrate: %s\n", s.c_str()); };
  auto r = store::migrateToEtcd(**source, to, mo);
  if (!r) return fail(r.error());
  std::printf(
      "migrated %zu objects (%zu bytes) from %s to %s under %s/: resourceVersions %lld..%lld, "
      "above the SQLite store's last (%lld); clients relist once.\n"
      "Start the masters with: --storage etcd --etcd-servers %s%s\n",
      r->objects, r->bytes, path->c_str(), f.to.c_str(), prefix.c_str(),
      static_cast<long long>(r->first_revision), static_cast<long long>(r->target_revision),
      static_cast<long long>(r->source_revision), f.to.substr(5).c_str(),
      prefix == api::kDefaultStoragePrefix ? "" : (" --etcd-prefix " + prefix).c_str());
  return 0;
}

}  // namespace

Subcommand addMigrateCommand(CLI::App& app) {
  auto f = std::make_shared<MigrateFlags>();
  CLI::App* cmd = app.add_subcommand(
      "migrate",
      "Copy a stopped master's SQLite store into an empty etcd (stop skiff-master first)");
  cmd->add_option("--from", f->from, "sqlite:PATH (the store.db file or the master's --data-dir)")
      ->required();
  cmd->add_option("--to", f->to, "etcd:URL[,URL...] (scheme://ip:port, as --etcd-servers)")
      ->required();
  cmd->add_option("--etcd-prefix", f->etcd_prefix,
                  "The prefix the masters on etcd will use (their --etcd-prefix)")
      ->capture_default_str();
  cmd->add_option("--etcd-cafile", f->ca_file,
                  "SSL Certificate Authority file used to secure etcd communication");
  cmd->add_option("--etcd-certfile", f->cert_file,
                  "SSL certification file used to secure etcd communication");
  cmd->add_option("--etcd-keyfile", f->key_file, "SSL key file used to secure etcd communication");
  cmd->add_option("--etcd-transport", f->transport,
                  "How to reach etcd: grpc or gateway (as skiff-master --etcd-transport)")
      ->check(CLI::IsMember({"grpc", "gateway"}));
  return {cmd, [f] { return runMigrate(*f); }};
}

}  // namespace skiff::master::cmd
