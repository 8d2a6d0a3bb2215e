// skiff-master ("master-lite"): API server + scheduler + controllers in one process.
// Wiring only: flags, construction, signals.
#include <signal.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "migrate_cmd.h"
#include "skiff/common/log.h"
#include "skiff/common/split_list.h"
#include "skiff/common/version.h"
#include "skiff/master/api_server.h"
#include "skiff/master/controllers/controller_manager.h"
#include "skiff/master/leaderelection/leader_elector.h"
#include "token_cmd.h"

namespace {

// What the scheduler and controllers need from the command line, passed through unchanged.
struct ControllerFlags {
  std::string cluster_cidr = "10.244.0.0/16";
  int node_cidr_mask_size = 24;
  std::string node_monitor_grace_period = "50s";
};

// "50s", "2m", "500ms", "1h" (a Go duration with one unit) -> duration; nullopt when malformed.
std::optional<std::chrono::system_clock::duration> parseDurationFlag(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0) return std::nullopt;
  if (i > 9)
    return std::nullopt;  // more than ~31 years in seconds: surely a typo (and no overflow)
  long long n = std::stoll(text.substr(0, i));
  std::string unit = text.substr(i);
  using namespace std::chrono;
  if (unit == "ms") return duration_cast<system_clock::duration>(milliseconds(n));
  if (unit == "s" || unit.empty()) return duration_cast<system_clock::duration>(seconds(n));
  if (unit == "m") return duration_cast<system_clock::duration>(minutes(n));
  if (unit == "h") return duration_cast<system_clock::duration>(hours(n));
  return std::nullopt;
}

// --etcd-servers and --etcd-compaction-interval into the options, checked as kube-apiserver does.
skiff::Result<void> storageFlags(skiff::master::ApiServerOptions& api, const std::string& servers,
                                 const std::string& compaction) {
  using skiff::Error;
  using skiff::ErrorCode;
  for (std::string& s : skiff::splitList(servers)) api.etcd_servers.push_back(std::move(s));
  if (api.storage == "etcd" && api.etcd_servers.empty())
    return Error(ErrorCode::Invalid, "--etcd-servers must be specified");
  auto every = parseDurationFlag(compaction);
  if (!every)
    return Error(ErrorCode::Invalid,
                 "--etcd-compaction-interval '" + compaction + "': want a duration such as 5m");
  api.etcd_compaction_interval = std::chrono::duration_cast<std::chrono::milliseconds>(*every);
  while (api.etcd_prefix.size() > 1 && api.etcd_prefix.back() == '/') api.etcd_prefix.pop_back();
  if (api.etcd_prefix.empty() || api.etcd_prefix.front() != '/')
    api.etcd_prefix = "/" + api.etcd_prefix;
  return skiff::ok();
}

// A ControllerManager that runs while its lease is held: set up once (so bad options fail at
// start), started on acquiring, stopped and set up anew on losing (a stopped manager does not
// start again).
class LeaderGated {
 public:
  LeaderGated(skiff::master::ApiClient& client, skiff::master::ControllerOptions opts,
              std::string lease, std::string identity, bool single_master)
      : client_(client), opts_(std::move(opts)), lease_(std::move(lease)) {
    skiff::master::LeaderElectionConfig c;
    c.lock_name = lease_;
    c.identity = std::move(identity);
    c.force_acquire = single_master;
    c.on_started_leading = [this] { started(); };
    c.on_stopped_leading = [this] { stopped(); };
    elector_ = std::make_unique<skiff::master::LeaderElector>(client_, std::move(c));
  }
  skiff::Result<void> prepare() {
    SKIFF_ASSIGN_OR_RETURN(manager_, skiff::master::newControllerManager(client_, opts_));
    return skiff::ok();
  }
  void start() { elector_->start(); }
  void stop() { elector_->stop(); }

 private:
  void started() {
    auto lg = skiff::log::get("master");
    if (!manager_) {
      if (auto r = prepare(); !r) {
        SKIFF_LOG_ERROR(lg, "Failed to set up the controllers", skiff::log::kv("lease", lease_),
                        skiff::log::kv("err", r.error().message()));
        return;
      }
    }
    if (auto r = manager_->start(); !r) {
      SKIFF_LOG_ERROR(lg, "Failed to start the controllers", skiff::log::kv("lease", lease_),
                      skiff::log::kv("err", r.error().message()));
    }
  }
  void stopped() {
    if (!manager_) return;
    manager_->stop();
    manager_.reset();
  }

  skiff::master::ApiClient& client_;
  skiff::master::ControllerOptions opts_;
  std::string lease_;
  std::unique_ptr<skiff::master::ControllerManager> manager_;
  std::unique_ptr<skiff::master::LeaderElector> elector_;
};

// Many idle connections (watchers, kubelets) need more than the default 1024 descriptors.
void raiseFdLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// Toleration seconds are int64 in the API; a negative default would evict at once.
const CLI::Validator kNonNegative(
    [](const std::string& text) {
      return !text.empty() && text[0] != '-' ? std::string() : "must be 0 or more seconds";
    },
    "SECONDS");

// Where the API server listens, what it advertises, and what it adds to objects.
void addApiServerFlags(CLI::App& app, skiff::master::ApiServerOptions& api) {
  app.add_option("--data-dir", api.data_dir, "State directory (store, pki)")->capture_default_str();
  app.add_option("--kubeconfig-out", api.kubeconfig_out, "Where to write the admin kubeconfig")
      ->capture_default_str();
  app.add_option("--secure-port", api.secure_port, "HTTPS port (0 = any free port)")
      ->capture_default_str();
  app.add_option("--bind-address", api.bind_address, "Address to listen on")->capture_default_str();
  app.add_option("--advertise-address", api.advertise_address,
                 "Address advertised to the cluster (kubernetes Service endpoints)");
  app.add_option("--service-cluster-ip-range", api.service_cluster_ip_range,
                 "Service ClusterIP range")
      ->capture_default_str();
  app.add_option("--service-node-port-range", api.service_node_port_range, "NodePort range")
      ->capture_default_str();
  app.add_option("--token-auth-file", api.token_auth_file,
                 "Static bearer tokens (kube-apiserver CSV: token,user,uid,\"groups\")");
  app.add_option(
         "--default-not-ready-toleration-seconds", api.not_ready_toleration_seconds,
         "tolerationSeconds of the not-ready:NoExecute toleration added to pods without one")
      ->capture_default_str()
      ->check(kNonNegative);
  app.add_option(
         "--default-unreachable-toleration-seconds", api.unreachable_toleration_seconds,
         "tolerationSeconds of the unreachable:NoExecute toleration added to pods without one")
      ->capture_default_str()
      ->check(kNonNegative);
  app.add_option("--store-retain-revisions", api.store_retain_revisions,
                 "Watch history kept in the store (older revisions answer 410 Gone)")
      ->capture_default_str();
}

// Where objects are kept: SQLite in the data dir, or etcd.
void addStorageFlags(CLI::App& app, skiff::master::ApiServerOptions& api, std::string& etcd_servers,
                     std::string& etcd_compaction) {
  app.add_option("--storage", api.storage,
                 "Where objects are stored: sqlite (<data-dir>/store.db) or etcd")
      ->capture_default_str()
      ->check(CLI::IsMember({"sqlite", "etcd"}));
  app.add_option("--etcd-servers", etcd_servers,
                 "List of etcd servers to connect with (scheme://ip:port), comma separated");
  app.add_option("--etcd-prefix", api.etcd_prefix,
                 "The prefix to prepend to all resource paths in etcd")
      ->capture_default_str();
  app.add_option("--etcd-cafile", api.etcd_cafile,
                 "SSL Certificate Authority file used to secure etcd communication");
  app.add_option("--etcd-certfile", api.etcd_certfile,
                 "SSL certification file used to secure etcd communication");
  app.add_option("--etcd-keyfile", api.etcd_keyfile,
                 "SSL key file used to secure etcd communication");
  app.add_option("--etcd-transport", api.etcd_transport,
                 "How to reach etcd: grpc (its gRPC API) or gateway (its JSON gateway over "
                 "HTTP/1.1); default grpc")
      ->check(CLI::IsMember({"grpc", "gateway"}));
  app.add_option("--etcd-compaction-interval", etcd_compaction,
                 "The interval of compaction requests. If 0, the compaction request from apiserver "
                 "is disabled")
      ->capture_default_str();
  app.add_flag(
      "--store-fsync", api.store_fsync,
      "fsync every write (survives power loss; slower). Default: survives process crashes");
}

// Who may do what (authentication, authorization), request handling, admission and audit.
void addRequestFlags(CLI::App& app, skiff::master::ApiServerOptions& api) {
  app.add_option("--anonymous-auth", api.anonymous_auth,
                 "Requests without credentials are system:anonymous (RBAC decides; the bootstrap "
                 "policy allows only /healthz, /livez, /readyz, /version); false: 401")
      ->capture_default_str();
  app.add_option("--authorization-mode", api.authorization_mode,
                 "Ordered list of authorizers: Node, RBAC, AlwaysAllow, AlwaysDeny")
      ->capture_default_str();
  app.add_option("--api-threads", api.threads, "HTTPS worker threads")->capture_default_str();
  app.add_option("--admission-control-config-file", api.admission_control_config_file,
                 "AdmissionConfiguration file (PodSecurity plugin defaults and exemptions)");
  app.add_option("--audit-policy-file", api.audit_policy_file,
                 "audit.k8s.io/v1 Policy deciding what the audit log records");
  app.add_option("--audit-log-path", api.audit_log_path,
                 "Audit log file ('-' = stdout); no audit log when unset");
  app.add_option("--audit-log-maxsize", api.audit_log_maxsize,
                 "Megabytes of audit log before it is rotated (0 = 100)")
      ->check(kNonNegative);
  app.add_option("--audit-log-maxbackup", api.audit_log_maxbackup,
                 "Rotated audit log files to keep (0 = all)")
      ->check(kNonNegative);
  app.add_option("--audit-log-maxage", api.audit_log_maxage,
                 "Days to keep rotated audit log files (0 = no limit)")
      ->check(kNonNegative);
}

// What the scheduler and controllers are told.
void addControllerFlags(CLI::App& app, ControllerFlags& ctl) {
  app.add_option("--cluster-cidr", ctl.cluster_cidr, "Pod network CIDR")->capture_default_str();
  app.add_option("--node-cidr-mask-size", ctl.node_cidr_mask_size, "Per-node pod CIDR size")
      ->capture_default_str();
  app.add_option("--node-monitor-grace-period", ctl.node_monitor_grace_period,
                 "Node is marked unhealthy after this long without heartbeats")
      ->capture_default_str();
}

// Block the signals we wait for before any thread starts, so only sigwait sees them; ignore
// SIGPIPE.
sigset_t blockShutdownSignals() {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return sigs;
}

// Runs the controllers and the scheduler, each under its lease, until SIGTERM or SIGINT; then
// stops them and the API server. 0 on a clean shutdown, 1 when the controllers cannot be set up.
int runUntilSignal(std::unique_ptr<skiff::master::ApiServer>& server,
                   const skiff::master::ApiServerOptions& api, const ControllerFlags& ctl,
                   std::chrono::system_clock::duration grace, const sigset_t& sigs) {
  auto lg = skiff::log::get("master");
  skiff::master::ApiClient& client = server->client();
  // ---- controllers start here ----------------------------------------------------------------
  // The controllers and the scheduler each run while this master holds their Lease in
  // kube-system (kube-controller-manager, kube-scheduler), so that several masters on one etcd
  // run exactly one of each. With SQLite there is one master: it takes the leases at once.
  skiff::master::ControllerOptions copts;
  copts.cluster_cidr = ctl.cluster_cidr;
  copts.node_cidr_mask_size = ctl.node_cidr_mask_size;
  copts.node_monitor_grace_period = grace;
  copts.root_ca_pem = server->rootCaPem();
  copts.run_scheduler = false;
  // Each controller as its ServiceAccount, the scheduler as system:kube-scheduler.
  copts.client_for = [srv = server.get()](const std::string& identity) {
    return srv->clientFor(identity);
  };
  skiff::master::ControllerOptions sopts = copts;
  sopts.run_controllers = false;
  sopts.run_scheduler = true;
  std::string identity = skiff::master::leaderElectionIdentity();
  bool single = api.storage != "etcd";
  LeaderGated controllers(client, copts, "kube-controller-manager", identity, single);
  LeaderGated scheduler(client, sopts, "kube-scheduler", identity, single);
  for (LeaderGated* g : {&controllers, &scheduler}) {
    if (auto r = g->prepare(); !r) {
      SKIFF_LOG_ERROR(lg, "Failed to set up the controllers",
                      skiff::log::kv("err", r.error().message()));
      server->stop();
      return 1;
    }
  }
  controllers.start();
  scheduler.start();
  // ---- end of controllers ---------------------------------------------------------------------
  // systemd (Type=notify): ready once the API serves and the controllers run. A no-op when not
  // started by systemd (no NOTIFY_SOCKET).
  (void)sd_notify(0, "READY=1\nSTATUS=serving");

  int sig = 0;
  sigwait(&sigs, &sig);
  SKIFF_LOG_INFO(lg, "Shutting down", skiff::log::kv("signal", sig));
  (void)sd_notify(0, "STOPPING=1");
  scheduler.stop();
  controllers.stop();
  server->stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "skiff-master: a small Kubernetes control plane (API server, scheduler, controllers)",
      "skiff-master"};
  app.set_version_flag("--version", std::string("skiff-master ") + skiff::kVersion +
                                        " (kubernetes " + skiff::kKubeVersion + ")");
  skiff::master::ApiServerOptions api;
  ControllerFlags ctl;
  std::string log_level = "info";
  std::string etcd_servers, etcd_compaction = "5m";
  addApiServerFlags(app, api);
  addStorageFlags(app, api, etcd_servers, etcd_compaction);
  addRequestFlags(app, api);
  addControllerFlags(app, ctl);
  app.add_option("--v,--log-level", log_level, "Log level (trace, debug, info, warn, error)")
      ->capture_default_str();
  // Subcommands (the server itself runs when none is given).
  auto token = skiff::master::cmd::addTokenCommand(app);
  auto migrate = skiff::master::cmd::addMigrateCommand(app);
  app.require_subcommand(0, 1);
  CLI11_PARSE(app, argc, argv);
  if (token.command->parsed()) return token.run();
  if (migrate.command->parsed()) {
    skiff::log::setup(log_level);
    return migrate.run();
  }

  skiff::log::setup(log_level);
  auto lg = skiff::log::get("master");
  raiseFdLimit();
  sigset_t sigs = blockShutdownSignals();

  // Flags are checked before anything is written (data dir, kubeconfig).
  auto grace = parseDurationFlag(ctl.node_monitor_grace_period);
  if (!grace) {
    SKIFF_LOG_ERROR(lg, "Invalid --node-monitor-grace-period: want a duration such as 40s or 2m",
                    skiff::log::kv("value", ctl.node_monitor_grace_period));
    return 1;
  }
  if (auto r = storageFlags(api, etcd_servers, etcd_compaction); !r) {
    SKIFF_LOG_ERROR(lg, "Invalid storage flags", skiff::log::kv("err", r.error().message()));
    return 1;
  }
  auto server = skiff::master::startApiServer(api);
  if (!server) {
    SKIFF_LOG_ERROR(lg, "Failed to start the API server",
                    skiff::log::kv("err", server.error().message()));
    return 1;
  }
  return runUntilSignal(*server, api, ctl, *grace, sigs);
}
