#include "skiff/agent/probe_manager.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

#include "skiff/agent/http_transport.h"
#include "skiff/common/enum_names.h"
#include "skiff/common/log.h"
#include "tcp_dial.h"

namespace skiff::agent {

using nlohmann::json;

namespace {

int resolvePort(const json& port, const json& container) {
  if (port.is_number_integer()) return port.get<int>();
  if (port.is_string()) {
    std::string name = port.get<std::string>();
    for (const auto& p : container.value("ports", json::array())) {
      if (p.value("name", "") == name) return p.value("containerPort", 0);
    }
    return std::atoi(name.c_str());
  }
  return 0;
}

// scheme: HTTPS. TLS without verifying the serving certificate, as the kubelet's prober does
// (a probe asks whether the container answers, not who it is).
bool httpsGet(const std::string& host, int port, const std::string& path, const json& h,
              int timeout, std::string& output) {
  std::string url = "https://" + host + ":" + std::to_string(port) + path;
  TlsOptions tls;
  tls.insecure_skip_verify = true;
  auto transport = makeHttpsTransport(ServerAddress{host, std::to_string(port)}, tls, "");
  if (!transport) {
    output = "Get \"" + url + "\": " + transport.error().message();
    return false;
  }
  HttpRequest req;
  req.target = path;
  req.timeout = std::chrono::seconds(timeout);
  req.headers = {{"User-Agent", "kube-probe/1.32"}, {"Accept", "*/*"}};
  for (const auto& hd : h.value("httpHeaders", json::array())) {
    req.headers.emplace_back(hd.value("name", ""), hd.value("value", ""));
  }
  auto resp = (*transport)->send(req);
  if (!resp) {
    output = "Get \"" + url + "\": " + resp.error().message();
    return false;
  }
  // 200 <= code < 400 is success (kubelet's prober).
  if (resp->status >= 200 && resp->status < 400) return true;
  output = "HTTP probe failed with statuscode: " + std::to_string(resp->status);
  return false;
}

class RealProbeRunner final : public ProbeRunner {
 public:
  explicit RealProbeRunner(ContainerRuntime& rt) : rt_(rt) {}
  bool run(const json& probe, const json& container, const std::string& cid,
           const std::string& pod_ip, std::string& output) override {
    int timeout = std::max(1, probe.value("timeoutSeconds", 1));
    if (probe.contains("exec")) {
      std::vector<std::string> cmd;
      for (const auto& c : probe["exec"].value("command", json::array())) {
        if (c.is_string()) cmd.push_back(c.get<std::string>());
      }
      auto r = rt_.execSync(cid, cmd, std::chrono::seconds(timeout));
      if (!r) {
        output = r.error().is(ErrorCode::Timeout) ? "command timed out" : r.error().message();
        return false;
      }
      output = r->out + r->err;
      return r->exit_code == 0;
    }
    if (probe.contains("tcpSocket")) {
      const json& t = probe["tcpSocket"];
      std::string host = t.value("host", pod_ip);
      int fd =
          dialTcp(host, resolvePort(t.value("port", json(0)), container), timeout * 1000, output);
      if (fd < 0) return false;
      ::close(fd);
      return true;
    }
    if (probe.contains("httpGet")) {
      const json& h = probe["httpGet"];
      std::string host = h.value("host", pod_ip);
      int port = resolvePort(h.value("port", json(0)), container);
      std::string path = h.value("path", "/");
      if (h.value("scheme", "HTTP") == "HTTPS")
        return httpsGet(host, port, path, h, timeout, output);
      std::string why;
      int fd = dialTcp(host, port, timeout * 1000, why);
      if (fd < 0) {
        output = "Get \"http://" + host + ":" + std::to_string(port) + path + "\": " + why;
        return false;
      }
      std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + host +
                        "\r\nUser-Agent: kube-probe/1.32\r\nAccept: */*\r\nConnection: close\r\n";
      for (const auto& hd : h.value("httpHeaders", json::array())) {
        req += hd.value("name", "") + ": " + hd.value("value", "") + "\r\n";
      }
      req += "\r\n";
      (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
      std::string resp;
      char buf[512];
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
      while (resp.find("\r\n") == std::string::npos &&
             std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) != 1) continue;
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        resp.append(buf, static_cast<std::size_t>(n));
      }
      ::close(fd);
      // "HTTP/1.1 200 OK": 200 <= code < 400 is success (kubelet's prober).
      auto sp = resp.find(' ');
      if (sp == std::string::npos) {
        output = "Get \"http://" + host + ":" + std::to_string(port) + path +
                 "\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)";
        return false;
      }
      int code = std::atoi(resp.c_str() + sp + 1);
      if (code >= 200 && code < 400) return true;
      output = "HTTP probe failed with statuscode: " + std::to_string(code);
      return false;
    }
    output = "probe type not supported";  // grpc probes
    return false;
  }

 private:
  ContainerRuntime& rt_;
};

}  // namespace

std::unique_ptr<ProbeRunner> makeProbeRunner(ContainerRuntime& runtime) {
  return std::make_unique<RealProbeRunner>(runtime);
}

constexpr EnumName<ProbeType> kProbeTypes[] = {{ProbeType::Liveness, "Liveness"},
                                               {ProbeType::Readiness, "Readiness"},
                                               {ProbeType::Startup, "Startup"}};

const char* probeTypeName(ProbeType t) { return nameOf(kProbeTypes, t, ""); }

void ProbeManager::setFailureHook(FailureHook hook) {
  std::lock_guard lk(mu_);
  on_failure_ = std::move(hook);
}

ProbeManager::ProbeManager(ProbeRunner& runner, std::function<void(const std::string&)> on_change)
    : runner_(runner), on_change_(std::move(on_change)) {}

ProbeManager::~ProbeManager() { stop(); }

std::string ProbeManager::key(const std::string& cid, ProbeType t) {
  return cid + "/" + std::to_string(static_cast<int>(t));
}

void ProbeManager::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ProbeView ProbeManager::view(const json& pod, const PodRuntimeView& rt) {
  ProbeView out;
  std::string uid = pod["metadata"].value("uid", "");
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lk(mu_);
  for (const char* field : {"containers", "initContainers"}) {
    if (!pod["spec"].contains(field)) continue;
    for (const auto& c : pod["spec"][field]) {
      std::string name = c.value("name", "");
      out.has_readiness[name] = c.contains("readinessProbe");
      out.has_startup[name] = c.contains("startupProbe");
      const ContainerInfo* cur = rt.latest(name);
      if (cur == nullptr || cur->state != ContainerState::Running) continue;
      auto ensure = [&](const char* probe_field, ProbeType t) {
        if (!c.contains(probe_field)) return;
        std::string k = key(cur->id, t);
        auto it = workers_.find(k);
        if (it == workers_.end()) {
          Worker w;
          w.uid = uid;
          w.container_id = cur->id;
          w.type = t;
          w.probe = c[probe_field];
          w.container = c;
          w.pod_ip = rt.pod_ip;
          // initialDelaySeconds counts from the container's start.
          auto started =
              std::chrono::system_clock::time_point(std::chrono::nanoseconds(cur->started_at_ns));
          auto delay = std::chrono::seconds(w.probe.value("initialDelaySeconds", 0));
          auto since = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
              std::chrono::system_clock::now() - started);
          w.next = now + (since < delay ? delay - since : std::chrono::steady_clock::duration(0));
          it = workers_.emplace(k, std::move(w)).first;
          if (!threaded_) {
            threaded_ = true;
            thread_ = std::thread([this] { loop(); });
          }
          cv_.notify_all();
        } else if (!rt.pod_ip.empty()) {
          it->second.pod_ip = rt.pod_ip;
        }
        if (it->second.result) {
          if (t == ProbeType::Readiness) out.ready[cur->id] = *it->second.result;
          if (t == ProbeType::Startup) out.started[cur->id] = *it->second.result;
        }
      };
      ensure("startupProbe", ProbeType::Startup);
      ensure("livenessProbe", ProbeType::Liveness);
      ensure("readinessProbe", ProbeType::Readiness);
    }
  }
  return out;
}

bool ProbeManager::shouldRestart(const std::string& cid) {
  std::lock_guard lk(mu_);
  for (ProbeType t : {ProbeType::Liveness, ProbeType::Startup}) {
    auto it = workers_.find(key(cid, t));
    if (it != workers_.end() && it->second.result && !*it->second.result) return true;
  }
  return false;
}

void ProbeManager::forget(const std::string& cid) {
  std::lock_guard lk(mu_);
  for (ProbeType t : {ProbeType::Liveness, ProbeType::Readiness, ProbeType::Startup}) {
    workers_.erase(key(cid, t));
  }
}

void ProbeManager::runDueForTest(std::chrono::steady_clock::time_point now) { runDue(now); }

void ProbeManager::runDue(std::chrono::steady_clock::time_point now) {
  std::vector<Worker> due;
  {
    std::lock_guard lk(mu_);
    for (auto& [k, w] : workers_) {
      if (w.next > now) continue;
      // Liveness/readiness wait for the startup probe (kubelet: started == true).
      if (w.type != ProbeType::Startup) {
        auto s = workers_.find(key(w.container_id, ProbeType::Startup));
        if (s != workers_.end() && !(s->second.result && *s->second.result)) {
          w.next = now + std::chrono::seconds(std::max(1, w.probe.value("periodSeconds", 10)));
          continue;
        }
      }
      // A startup probe that succeeded is not run again.
      if (w.type == ProbeType::Startup && w.result && *w.result) continue;
      due.push_back(w);
      w.next = now + std::chrono::seconds(std::max(1, w.probe.value("periodSeconds", 10)));
    }
  }
  for (auto& w : due) {
    std::string output;
    bool okr = runner_.run(w.probe, w.container, w.container_id, w.pod_ip, output);
    bool changed = false;
    FailureHook on_failure;
    {
      std::lock_guard lk(mu_);
      auto it = workers_.find(key(w.container_id, w.type));
      if (it == workers_.end()) continue;
      Worker& cur = it->second;
      if (okr) {
        ++cur.successes;
        cur.failures = 0;
      } else {
        ++cur.failures;
        cur.successes = 0;
      }
      int succ_th = std::max(1, cur.probe.value("successThreshold", 1));
      int fail_th = std::max(1, cur.probe.value("failureThreshold", 3));
      std::optional<bool> next = cur.result;
      if (cur.successes >= succ_th) next = true;
      if (cur.failures >= fail_th) next = false;
      if (!cur.result && cur.type == ProbeType::Readiness && !okr) next = false;
      if (next != cur.result) {
        cur.result = next;
        changed = true;
      }
      on_failure = on_failure_;
    }
    if (!okr && on_failure) on_failure(w.uid, w.container.value("name", ""), w.type, output);
    if (changed && on_change_) on_change_(w.uid);
  }
}

void ProbeManager::loop() {
  std::unique_lock lk(mu_);
  while (!stopping_) {
    auto next = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    for (const auto& [_, w] : workers_) next = std::min(next, w.next);
    cv_.wait_until(lk, next, [&] { return stopping_; });
    if (stopping_) break;
    lk.unlock();
    runDue(std::chrono::steady_clock::now());
    lk.lock();
  }
}

}  // namespace skiff::agent
