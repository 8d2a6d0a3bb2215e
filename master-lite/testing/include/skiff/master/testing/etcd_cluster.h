#pragma once

// A throwaway etcd cluster for tests: `members` etcd processes on free loopback ports, data in
// `dir`, stopped by pid (SIGTERM, then SIGKILL) when the object goes. Needs Debian's etcd-server
// (`etcd` on PATH); available() says why not. With `tls`, clients must use https and present a
// certificate signed by tls.ca (peers stay on plain http).

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "skiff/common/spawn.h"
#include "skiff/master/store/store.h"

namespace skiff::master::testing {

inline int freeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct EtcdClusterTls {
  std::string cert_file, key_file, ca_file;  // the members' serving pair and the clients' CA
};

class EtcdCluster {
 public:
  // "" when an etcd binary is on PATH, else the reason tests skip.
  static std::string unavailable() {
    return std::system("command -v etcd >/dev/null 2>&1") == 0
               ? ""
               : "etcd is not installed (Debian's etcd-server; scripts/deps installs it)";
  }

  EtcdCluster(std::string dir, int members, const EtcdClusterTls* tls = nullptr)
      : dir_(std::move(dir)) {
    std::string initial;
    for (int i = 0; i < members; ++i) {
      Member m;
      m.name = "m" + std::to_string(i);
      m.client =
          (tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(freeLoopbackPort());
      m.peer = "http://127.0.0.1:" + std::to_string(freeLoopbackPort());
      initial += (initial.empty() ? "" : ",") + m.name + "=" + m.peer;
      members_.push_back(m);
    }
    for (auto& m : members_) {
      m.argv = {"etcd",
                "--name",
                m.name,
                "--data-dir",
                dir_ + "/" + m.name,
                "--listen-client-urls",
                m.client,
                "--advertise-client-urls",
                m.client,
                "--listen-peer-urls",
                m.peer,
                "--initial-advertise-peer-urls",
                m.peer,
                "--initial-cluster",
                initial,
                "--initial-cluster-state",
                "new",
                "--experimental-watch-progress-notify-interval",
                "1s"};
      if (tls) {
        m.argv.insert(m.argv.end(), {"--cert-file", tls->cert_file, "--key-file", tls->key_file,
                                     "--trusted-ca-file", tls->ca_file, "--client-cert-auth"});
      }
      startMember(m);
    }
  }
  ~EtcdCluster() {
    for (auto& m : members_) stopMember(m);
  }
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  std::vector<std::string> clientUrls() const {
    std::vector<std::string> out;
    for (const auto& m : members_) out.push_back(m.client);
    return out;
  }
  std::size_t size() const { return members_.size(); }
  void stop(std::size_t i) { stopMember(members_[i]); }
  void kill9(std::size_t i) {
    if (members_[i].pid > 0) {
      ::kill(members_[i].pid, SIGKILL);
      (void)waitForExit(members_[i].pid);
      members_[i].pid = -1;
    }
  }
  void restart(std::size_t i) {
    auto& m = members_[i];
    stopMember(m);
    auto state = std::find(m.argv.begin(), m.argv.end(), "--initial-cluster-state");
    *(state + 1) = "existing";
    startMember(m);
  }

  // Opens a store on the cluster, retrying while the members elect a leader (up to 20 s).
  Result<store::StorePtr> open(store::EtcdOptions eo = {}, const store::Options& o = {}) {
    eo.servers = clientUrls();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (true) {
      auto s = store::openEtcdStore(eo, o);
      if (s || std::chrono::steady_clock::now() > deadline) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

 private:
  struct Member {
    std::string name, client, peer;
    std::vector<std::string> argv;
    pid_t pid = -1;
  };
  void startMember(Member& m) {
    int log = ::open((dir_ + "/" + m.name + ".log").c_str(),
                     O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    SpawnOptions so;
    so.stdout_fd = log;
    so.stderr_fd = log;
    so.search_path = true;
    auto pid = spawnProcess(m.argv, so);
    if (log >= 0) ::close(log);
    m.pid = pid ? *pid : -1;
  }
  void stopMember(Member& m) {
    if (m.pid <= 0) return;
    ::kill(m.pid, SIGTERM);
    for (int i = 0; i < 50; ++i) {
      if (::waitpid(m.pid, nullptr, WNOHANG) == m.pid) {
        m.pid = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(m.pid, SIGKILL);
    (void)waitForExit(m.pid);
    m.pid = -1;
  }

  std::string dir_;
  std::vector<Member> members_;
};

}  // namespace skiff::master::testing
