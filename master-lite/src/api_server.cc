#include "skiff/master/api_server.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>
#include <algorithm>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "authentication_info.h"
#include "kube_dns_service.h"
#include "metrics/scraper.h"
#include "skiff/common/file.h"
#include "skiff/common/log.h"
#include "skiff/master/admission/pod_security.h"
#include "skiff/master/admission/priority.h"
#include "skiff/master/admission/quota.h"
#include "skiff/master/admission/runtimeclass.h"
#include "skiff/master/admission/webhook.h"
#include "skiff/master/aggregator/aggregator.h"
#include "skiff/master/api/handler.h"
#include "skiff/master/api/registry.h"
#include "skiff/master/api/reviews.h"
#include "skiff/master/api/storage.h"
#include "skiff/master/api/storage_keys.h"
#include "skiff/master/apiextensions/apiextensions.h"
#include "skiff/master/apiextensions/conversion_webhook.h"
#include "skiff/master/audit/auditor.h"
#include "skiff/master/pki.h"
#include "skiff/master/rbac/bootstrap_policy.h"
#include "skiff/master/server.h"
#include "skiff/master/serviceaccount/tokens.h"
#include "skiff/master/store/store.h"

namespace skiff::master {
namespace {

const std::shared_ptr<spdlog::logger>& lg() {
  static const auto l = skiff::log::get("master");
  return l;
}

std::vector<std::string> hostIPv4s() {
  std::vector<std::string> out;
  ifaddrs* ifs = nullptr;
  if (::getifaddrs(&ifs) != 0) return out;
  for (ifaddrs* i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN];
    auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if (::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf)) out.push_back(buf);
  }
  ::freeifaddrs(ifs);
  return out;
}

// The address other members and nodes reach this server at: --advertise-address, else the
// first non-loopback IPv4 address, else the bind address (loopback for 0.0.0.0).
std::string advertiseAddressFor(const ApiServerOptions& o, const std::vector<std::string>& ips) {
  if (!o.advertise_address.empty()) return o.advertise_address;
  for (const auto& ip : ips) {
    if (ip.rfind("127.", 0) != 0) return ip;
  }
  return o.bind_address == "0.0.0.0" ? "127.0.0.1" : o.bind_address;
}

// The registry's options from the flags (service CIDR, node port range, default tolerations).
// The PodSecurity admission plugin (--admission-control-config-file) on the registry, and the
// audit log the --audit-* flags ask for (null without --audit-log-path).
Result<std::unique_ptr<audit::Auditor>> setUpAdmissionAndAudit(const ApiServerOptions& o,
                                                               api::Registry& registry) {
  admission::PodSecurityConfig psa;
  if (!o.admission_control_config_file.empty()) {
    auto cfg = admission::loadAdmissionConfiguration(o.admission_control_config_file);
    if (!cfg) return std::move(cfg).error().wrap("--admission-control-config-file");
    psa = std::move(cfg).value();
  }
  registry.addAdmissionPlugin(admission::newLimitRanger(registry));
  registry.addAdmissionPlugin(admission::newPriorityAdmission(registry));
  registry.addAdmissionPlugin(admission::newPodSecurityAdmission(registry, std::move(psa)));
  // Admission webhooks: their mutating phase runs before every plugin's validation, their
  // validating phase last (after PodSecurity), as kube-apiserver orders them.
  registry.addAdmissionPlugin(admission::newRuntimeClassAdmission(registry));
  registry.addAdmissionPlugin(admission::newWebhookAdmission(registry));
  // ResourceQuota last, as upstream: it charges what every other plugin let through.
  registry.addAdmissionPlugin(admission::newResourceQuotaAdmission(registry));
  audit::AuditOptions ao;
  ao.policy_file = o.audit_policy_file;
  ao.log.path = o.audit_log_path;
  ao.log.max_size_mb = o.audit_log_maxsize;
  ao.log.max_backups = o.audit_log_maxbackup;
  ao.log.max_age_days = o.audit_log_maxage;
  return audit::newAuditor(ao);
}

Result<api::RegistryOptions> registryOptionsFor(const ApiServerOptions& o) {
  api::RegistryOptions ro;
  ro.service_cidr = o.service_cluster_ip_range;
  auto dash = o.service_node_port_range.find('-');
  try {
    ro.node_port_min = std::stoi(o.service_node_port_range.substr(0, dash));
    ro.node_port_max = std::stoi(o.service_node_port_range.substr(dash + 1));
  } catch (...) {
    return Error(ErrorCode::Invalid,
                 "--service-node-port-range '" + o.service_node_port_range + "': want <min>-<max>");
  }
  ro.authorization_modes.clear();
  std::string modes = o.authorization_mode;
  for (std::size_t start = 0; start <= modes.size();) {
    std::size_t comma = std::min(modes.find(',', start), modes.size());
    std::string m = modes.substr(start, comma - start);
    start = comma + 1;
    if (m != "Node" && m != "RBAC" && m != "AlwaysAllow" && m != "AlwaysDeny")
      return Error(ErrorCode::Invalid, "--authorization-mode: authorization-mode \"" + m +
                                           "\" is not a valid mode (Node, RBAC, AlwaysAllow, "
                                           "AlwaysDeny)");
    if (std::find(ro.authorization_modes.begin(), ro.authorization_modes.end(), m) !=
        ro.authorization_modes.end())
      return Error(ErrorCode::Invalid, "--authorization-mode: authorization-mode \"" + m +
                                           "\" has mode specified more than once");
    ro.authorization_modes.push_back(m);
  }
  ro.defaulting.not_ready_toleration_seconds = o.not_ready_toleration_seconds;
  ro.defaulting.unreachable_toleration_seconds = o.unreachable_toleration_seconds;
  return ro;
}

// The serving certificate's names: the host's, the `kubernetes` Service's (DNS and its
// ClusterIP, the first address of the service CIDR), the advertise address and loopback.
PkiOptions pkiOptionsFor(const ApiServerOptions& o, const std::vector<std::string>& ips,
                         const std::string& advertise) {
  PkiOptions po;
  po.dir = o.data_dir + "/pki";
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  po.dns_sans = {"kubernetes", "kubernetes.default", "kubernetes.default.svc",
                 "kubernetes.default.svc.cluster.local", "localhost"};
  if (host[0]) po.dns_sans.push_back(host);
  po.ip_sans = ips;
  std::uint32_t base = 0;
  unsigned a, b, c, d;
  if (std::sscanf(o.service_cluster_ip_range.c_str(), "%u.%u.%u.%u", &a, &b, &c, &d) == 4) {
    base = (a << 24) | (b << 16) | (c << 8) | d;
    int bits =
        std::atoi(o.service_cluster_ip_range.c_str() + o.service_cluster_ip_range.find('/') + 1);
    if (bits > 0 && bits < 32) base &= ~0u << (32 - bits);
    std::uint32_t first = base + 1;
    po.ip_sans.push_back(std::to_string(first >> 24) + "." + std::to_string((first >> 16) & 255) +
                         "." + std::to_string((first >> 8) & 255) + "." +
                         std::to_string(first & 255));
  }
  if (std::find(po.ip_sans.begin(), po.ip_sans.end(), advertise) == po.ip_sans.end())
    po.ip_sans.push_back(advertise);
  if (std::find(po.ip_sans.begin(), po.ip_sans.end(), "127.0.0.1") == po.ip_sans.end())
    po.ip_sans.push_back("127.0.0.1");
  return po;
}

// The store --storage names; SQLite databases of older skiff versions get the current key layout.
Result<store::StorePtr> openStore(const ApiServerOptions& o) {
  store::Options so;
  so.retain_revisions = o.store_retain_revisions;
  so.fsync_every_write = o.store_fsync;
  if (o.storage == "etcd") {
    store::EtcdOptions eo;
    eo.servers = o.etcd_servers;
    eo.prefix = o.etcd_prefix;
    eo.ca_file = o.etcd_cafile;
    eo.cert_file = o.etcd_certfile;
    eo.key_file = o.etcd_keyfile;
    eo.compaction_interval = o.etcd_compaction_interval;
    if (!o.etcd_transport.empty()) {
      SKIFF_ASSIGN_OR_RETURN(eo.transport, store::parseEtcdTransport(o.etcd_transport));
    }
    SKIFF_ASSIGN_OR_RETURN(auto s, store::openEtcdStore(eo, so));
    SKIFF_LOG_INFO(lg(), "Store on etcd", skiff::log::kv("servers", eo.servers.size()),
                   skiff::log::kv("transport", store::etcdTransportName(eo.transport)),
                   skiff::log::kv("prefix", eo.prefix),
                   skiff::log::kv("revision", s->currentRevision()));
    return s;
  }
  if (o.storage != "sqlite")
    return Error(ErrorCode::Invalid, "--storage '" + o.storage + "': want sqlite or etcd");
  SKIFF_ASSIGN_OR_RETURN(auto s, store::openSqliteStore(o.data_dir + "/store.db", so));
  SKIFF_ASSIGN_OR_RETURN(int moved, api::migrateLegacyStorageKeys(*s, api::kDefaultStoragePrefix));
  if (moved > 0) {
    SKIFF_LOG_INFO(lg(), "Store keys moved to kube-apiserver's layout",
                   skiff::log::kv("keys", moved));
  }
  return s;
}

ServerOptions serverOptionsFor(const ApiServerOptions& o, const PkiFiles& pki) {
  ServerOptions so;
  so.bind_address = o.bind_address;
  so.port = o.secure_port;
  so.cert_file = pki.server_cert;
  so.key_file = pki.server_key;
  so.client_ca_file = pki.ca_cert;
  so.proxy_client_cert = pki.kubelet_client_cert;
  so.proxy_client_key = pki.kubelet_client_key;
  so.threads = o.threads;
  return so;
}

class ApiServerImpl : public ApiServer {
 public:
  ApiClient& client() override { return *client_; }
  std::unique_ptr<ApiClient> clientFor(const std::string& identity) override {
    return api::newInProcessClient(*registry_, api::componentIdentity(identity), auditor_.get());
  }
  int port() const override { return server_->port(); }
  const std::string& advertiseAddress() const override { return advertise_; }
  const std::string& rootCaPem() const override { return ca_pem_; }
  void stop() override {
    if (stopped_.exchange(true)) return;
    if (lease_thread_.joinable()) {
      {
        std::lock_guard lock(lease_mu_);
        lease_stop_ = true;
      }
      lease_cv_.notify_all();
      lease_thread_.join();
      // The `kubernetes` endpoints stop naming this server at once, not a TTL later.
      if (auto r = registry_->removeMasterEndpoint(advertise_, secure_port_); !r)
        SKIFF_LOG_WARN(lg(), "Removing this server from the kubernetes endpoints failed",
                       skiff::log::kv("err", r.error().message()));
    }
    if (server_) server_->stop();
    if (scraper_) scraper_->stop();
    if (crds_) crds_->stop();
  }
  ~ApiServerImpl() override { stop(); }

  Result<void> start(const ApiServerOptions& o) {
    std::error_code ec;
    std::filesystem::create_directories(o.data_dir, ec);
    if (ec)
      return Error(ErrorCode::Internal, "create data dir '" + o.data_dir + "': " + ec.message());
    // Addresses.
    std::vector<std::string> ips = hostIPv4s();
    advertise_ = advertiseAddressFor(o, ips);
    SKIFF_TRY(openRegistry(o, ips));
    SKIFF_TRY(startApiServices(o));
    SKIFF_TRY(serveHttps(o));
    SKIFF_TRY(writeAdminKubeconfig(o));
    secure_port_ = o.secure_port;
    lease_thread_ = std::thread([this] { renewMasterLease(); });
    ready_ = true;
    SKIFF_LOG_INFO(lg(), "API server serving", skiff::log::kv("address", o.bind_address),
                   skiff::log::kv("port", server_->port()),
                   skiff::log::kv("advertiseAddress", advertise_),
                   skiff::log::kv("kubeconfig", o.kubeconfig_out));
    return ok();
  }

 private:
  // The store, the PKI, and the registry over them with its bootstrap objects and RBAC policy.
  Result<void> openRegistry(const ApiServerOptions& o, const std::vector<std::string>& ips) {
    // Store and registry.
    SKIFF_ASSIGN_OR_RETURN(store_, openStore(o));
    SKIFF_ASSIGN_OR_RETURN(api::RegistryOptions ro, registryOptionsFor(o));
    ro.storage_prefix = o.storage == "etcd" ? o.etcd_prefix : api::kDefaultStoragePrefix;
    // PKI before the registry uses it to sign node CSRs.
    PkiOptions po = pkiOptionsFor(o, ips, advertise_);
    SKIFF_ASSIGN_OR_RETURN(pki_, ensurePki(po));
    PkiFiles pki = pki_;
    ro.sign_csr = [pki](const std::string& csr, std::int64_t secs) {
      return signNodeClientCsr(pki, csr, secs);
    };
    ro.sign_client_csr = [pki](const std::string& csr, std::int64_t secs) {
      return signClientCsr(pki, csr, secs);
    };
    SKIFF_ASSIGN_OR_RETURN(std::string sa_pem, readFile(pki_.sa_key));
    SKIFF_ASSIGN_OR_RETURN(auto sa_key, serviceaccount::RsaKey::fromPrivatePem(sa_pem));
    sa_tokens_ = std::make_shared<const serviceaccount::TokenIssuer>(std::move(sa_key));
    ro.service_account_tokens = sa_tokens_;
    SKIFF_ASSIGN_OR_RETURN(ca_pem_, readFile(pki_.ca_cert));
    ro.root_ca_pem = ca_pem_;
    ro.service_account_admission = true;
    registry_ = std::make_unique<api::Registry>(*store_, ro);
    SKIFF_TRY(registry_->bootstrap(advertise_, o.secure_port));
    SKIFF_TRY(api::ensureLocalPathStorageClass(*registry_));
    SKIFF_TRY(admission::ensureSystemPriorityClasses(*registry_));
    SKIFF_ASSIGN_OR_RETURN(rbac::ReconcileReport policy,
                           rbac::reconcileBootstrapPolicy(*registry_));
    SKIFF_LOG_INFO(
        lg(), "Bootstrap RBAC policy reconciled", skiff::log::kv("created", policy.created),
        skiff::log::kv("updated", policy.updated), skiff::log::kv("unchanged", policy.unchanged));
    return ok();
  }

  // What serves beside the core registry: CRDs, admission and audit, the in-process client,
  // metrics.k8s.io, kube-dns and the front proxy's authentication info.
  Result<void> startApiServices(const ApiServerOptions& o) {
    // CustomResourceDefinitions: names, Established, serving and cleanup (apiextensions);
    // custom objects change version through their CRD's conversion webhook.
    registry_->setCustomConverter(apiextensions::newWebhookConverter(*registry_));
    crds_ = apiextensions::startCrdController(*registry_);
    SKIFF_ASSIGN_OR_RETURN(auditor_, setUpAdmissionAndAudit(o, *registry_));
    client_ = api::newInProcessClient(*registry_, api::apiServerIdentity(), auditor_.get());
    // metrics.k8s.io from the agents' /stats/summary (kubectl top, the HPA controller).
    scraper_ = std::make_unique<metrics::Scraper>(
        *client_, metrics::ScraperOptions{pki_.kubelet_client_cert, pki_.kubelet_client_key});
    registry_->setMetricsSource(scraper_->source());
    scraper_->start();
    // kube-system/kube-dns: the cluster DNS address each agent serves node-locally (issue 18).
    if (auto dns_ip = clusterDnsIpFor(o.service_cluster_ip_range); !dns_ip) {
      SKIFF_LOG_WARN(lg(), "No cluster DNS Service, ignoring",
                     skiff::log::kv("err", dns_ip.error().message()));
    } else if (auto r = ensureKubeDnsService(*client_, *dns_ip); !r) {
      SKIFF_LOG_WARN(lg(), "Creating the kube-dns Service failed, ignoring",
                     skiff::log::kv("err", r.error().message()));
    }
    // How aggregated API servers authenticate what the aggregator relays to them.
    SKIFF_ASSIGN_OR_RETURN(std::string front_proxy_ca, readFile(pki_.front_proxy_ca_cert));
    if (auto r = ensureAuthenticationInfo(*client_, ca_pem_, front_proxy_ca); !r) {
      SKIFF_LOG_WARN(lg(), "Publishing extension-apiserver-authentication failed, ignoring",
                     skiff::log::kv("err", r.error().message()));
    }
    return ok();
  }

  // Authentication, the request handler (with the aggregator) and the HTTPS server.
  Result<void> serveHttps(const ApiServerOptions& o) {
    // Authentication.
    std::map<std::string, api::TokenEntry> tokens;
    if (!o.token_auth_file.empty()) {
      SKIFF_ASSIGN_OR_RETURN(std::string text, readFile(o.token_auth_file));
      auto parsed = api::parseTokenFile(text);
      if (!parsed)
        return std::move(parsed).error().wrap("--token-auth-file '" + o.token_auth_file + "'");
      tokens = std::move(parsed).value();
    }
    authn_ = std::make_unique<api::Authenticator>(*registry_, std::move(tokens), sa_tokens_);
    api::registerTokenReview(*registry_, *authn_);
    api::HandlerOptions ho;
    ho.server_address = advertise_ + ":" + std::to_string(o.secure_port);
    ho.ready = [this] { return ready_.load(); };
    ho.anonymous_auth = o.anonymous_auth;
    ho.service_account_tokens = sa_tokens_;
    ho.jwks_uri = "https://" + ho.server_address + "/openid/v1/jwks";
    aggregator::AggregatorOptions ao;
    SKIFF_ASSIGN_OR_RETURN(ao.proxy_client_cert_pem, readFile(pki_.front_proxy_client_cert));
    SKIFF_ASSIGN_OR_RETURN(ao.proxy_client_key_pem, readFile(pki_.front_proxy_client_key));
    ho.aggregator = aggregator::newApiAggregator(*registry_, ao);
    handler_ = std::make_unique<api::Handler>(*registry_, *authn_, ho);
    handler_->setAuditor(auditor_.get());
    ServerOptions so2 = serverOptionsFor(o, pki_);
    SKIFF_ASSIGN_OR_RETURN(server_, startHttpsServer(so2, *handler_));
    return ok();
  }

  Result<void> writeAdminKubeconfig(const ApiServerOptions& o) {
    // The admin kubeconfig (k3s style): loopback when bound to all addresses.
    std::string host_for_kc = o.bind_address == "0.0.0.0" ? "127.0.0.1" : o.bind_address;
    const std::string& ca_pem = ca_pem_;
    SKIFF_ASSIGN_OR_RETURN(std::string cert_pem, readFile(pki_.admin_cert));
    SKIFF_ASSIGN_OR_RETURN(std::string key_pem, readFile(pki_.admin_key));
    SKIFF_TRY(writeKubeconfig(o.kubeconfig_out,
                              "https://" + host_for_kc + ":" + std::to_string(server_->port()),
                              ca_pem, cert_pem, key_pem));
    return ok();
  }

  store::StorePtr store_;
  std::unique_ptr<api::Registry> registry_;
  std::unique_ptr<apiextensions::CrdController> crds_;  // stopped before the registry goes
  std::unique_ptr<ApiClient> client_;
  std::unique_ptr<metrics::Scraper> scraper_;
  std::unique_ptr<api::Authenticator> authn_;
  std::unique_ptr<audit::Auditor> auditor_;  // outlives the handler and the server
  std::unique_ptr<api::Handler> handler_;
  std::unique_ptr<HttpsServer> server_;
  PkiFiles pki_;
  std::shared_ptr<const serviceaccount::TokenIssuer> sa_tokens_;
  std::string ca_pem_;
  std::string advertise_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopped_{false};
  // The master lease behind the `kubernetes` endpoints (Registry::reconcileMasterEndpoints).
  int secure_port_ = 0;
  std::mutex lease_mu_;
  std::condition_variable lease_cv_;
  bool lease_stop_ = false;
  std::thread lease_thread_;

  void renewMasterLease() {
    std::unique_lock lock(lease_mu_);
    while (!lease_cv_.wait_for(lock, api::kMasterLeaseRenewEvery, [this] { return lease_stop_; })) {
      lock.unlock();
      auto r = registry_->reconcileMasterEndpoints(
          advertise_, secure_port_, std::chrono::system_clock::now(), api::kMasterLeaseTtl);
      if (!r)
        SKIFF_LOG_WARN(lg(), "Renewing the master lease failed",
                       skiff::log::kv("err", r.error().message()));
      lock.lock();
    }
  }
};

}  // namespace

Result<std::unique_ptr<ApiServer>> startApiServer(const ApiServerOptions& options) {
  auto s = std::make_unique<ApiServerImpl>();
  SKIFF_TRY(s->start(options));
  return std::unique_ptr<ApiServer>(std::move(s));
}

}  // namespace skiff::master
