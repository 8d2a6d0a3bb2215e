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

#include "skiff/common/log.h"
#include "skiff/common/version.h"
#include "skiff/master/api_server.h"
#include "skiff/master/controllers/controller_manager.h"
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
  app.add_flag(
      "--store-fsync", api.store_fsync,
      "fsync every write (survives power loss; slower). Default: survives process crashes");
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
  app.add_option("--cluster-cidr", ctl.cluster_cidr, "Pod network CIDR")->capture_default_str();
  app.add_option("--node-cidr-mask-size", ctl.node_cidr_mask_size, "Per-node pod CIDR size")
      ->capture_default_str();
  app.add_option("--node-monitor-grace-period", ctl.node_monitor_grace_period,
                 "Node is marked unhealthy after this long without heartbeats")
      ->capture_default_str();
  app.add_option("--v,--log-level", log_level, "Log level (trace, debug, info, warn, error)")
      ->capture_default_str();
  // Subcommands (the server itself runs when none is given).
  auto token = skiff::master::cmd::addTokenCommand(app);
  app.require_subcommand(0, 1);
  CLI11_PARSE(app, argc, argv);
  if (token.command->parsed()) return token.run();

  skiff::log::setup(log_level);
  auto lg = skiff::log::get("master");
  raiseFdLimit();
  // Block the signals we wait for before any thread starts, so only sigwait sees them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Flags are checked before anything is written (data dir, kubeconfig).
  auto grace = parseDurationFlag(ctl.node_monitor_grace_period);
  if (!grace) {
    SKIFF_LOG_ERROR(lg, "Invalid --node-monitor-grace-period: want a duration such as 40s or 2m",
                    skiff::log::kv("value", ctl.node_monitor_grace_period));
    return 1;
  }
  auto server = skiff::master::startApiServer(api);
  if (!server) {
    SKIFF_LOG_ERROR(lg, "Failed to start the API server",
                    skiff::log::kv("err", server.error().message()));
    return 1;
  }
  skiff::master::ApiClient& client = (*server)->client();

  // ---- controllers start here ----------------------------------------------------------------
  skiff::master::ControllerOptions copts;
  copts.cluster_cidr = ctl.cluster_cidr;
  copts.node_cidr_mask_size = ctl.node_cidr_mask_size;
  copts.node_monitor_grace_period = *grace;
  copts.root_ca_pem = (*server)->rootCaPem();
  // Each controller as its ServiceAccount, the scheduler as system:kube-scheduler.
  copts.client_for = [srv = server->get()](const std::string& identity) {
    return srv->clientFor(identity);
  };
  auto controllers = skiff::master::newControllerManager(client, copts);
  if (!controllers) {
    SKIFF_LOG_ERROR(lg, "Failed to set up the controllers",
                    skiff::log::kv("err", controllers.error().message()));
    (*server)->stop();
    return 1;
  }
  if (auto started = (*controllers)->start(); !started) {
    SKIFF_LOG_ERROR(lg, "Failed to start the controllers",
                    skiff::log::kv("err", started.error().message()));
    (*server)->stop();
    return 1;
  }
  // ---- end of controllers ---------------------------------------------------------------------
  // systemd (Type=notify): ready once the API serves and the controllers run. A no-op when not
  // started by systemd (no NOTIFY_SOCKET).
  (void)sd_notify(0, "READY=1\nSTATUS=serving");

  int sig = 0;
  sigwait(&sigs, &sig);
  SKIFF_LOG_INFO(lg, "Shutting down", skiff::log::kv("signal", sig));
  (void)sd_notify(0, "STOPPING=1");
  (*controllers)->stop();
  (*server)->stop();
  return 0;
}
