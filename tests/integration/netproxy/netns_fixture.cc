#include "netns_fixture.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

namespace skiff::netproxy::itest {

bool isRoot() { return ::geteuid() == 0; }

Cmd sh(const std::string& command) {
  std::string full = command + " 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = ::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TestNetns::TestNetns(std::string name) : name_(std::move(name)) {
  sh("ip netns pids " + name_ + " 2>/dev/null | xargs -r kill -9");
  sh("ip netns del " + name_ + " 2>/dev/null");
  sh("ip netns add " + name_);
  sh("ip netns exec " + name_ + " ip link set lo up");
}

TestNetns::~TestNetns() {
  sh("ip netns pids " + name_ + " | xargs -r kill -9");
  sh("ip netns del " + name_);
}

Cmd TestNetns::exec(const std::string& command) const {
  return sh("ip netns exec " + name_ + " " + command);
}

EnterNetns::EnterNetns(const std::string& path) {
  home_.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  UniqueFd target(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ok_ = home_ && target && ::setns(target.get(), CLONE_NEWNET) == 0;
}

EnterNetns::~EnterNetns() {
  if (home_) (void)::setns(home_.get(), CLONE_NEWNET);
}

Background::Background(const std::string& netns, const std::vector<std::string>& argv) {
  std::vector<std::string> full = {"ip", "netns", "exec", netns};
  full.insert(full.end(), argv.begin(), argv.end());
  std::vector<char*> args;
  for (auto& a : full) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::setpgid(0, 0);
    ::execvp("ip", args.data());
    ::_exit(127);
  }
}

Background::~Background() {
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);  // its own process group: socat's forked children too
    ::kill(pid_, SIGKILL);
    int st;
    ::waitpid(pid_, &st, 0);
  }
}

std::unique_ptr<Background> startReplyServer(const TestNetns& ns, uint16_t port,
                                             const std::string& reply) {
  auto bg = std::make_unique<Background>(
      ns.name(),
      std::vector<std::string>{"socat", "TCP-LISTEN:" + std::to_string(port) + ",fork,reuseaddr",
                               "SYSTEM:echo " + reply});
  for (int i = 0; i < 200; ++i) {
    auto r = ns.exec("ss -Htln sport = :" + std::to_string(port));
    if (r.out.find("LISTEN") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return bg;
}

std::string tcpGet(const TestNetns& ns, const std::string& ip, uint16_t port, std::string* err,
                   int timeout_s) {
  auto r = ns.exec("timeout " + std::to_string(timeout_s) + " socat -T" +
                   std::to_string(timeout_s) + " -u TCP:" + ip + ":" + std::to_string(port) +
                   ",connect-timeout=" + std::to_string(timeout_s) + " STDOUT");
  if (r.code != 0) {
    if (err) *err = r.out;
    return "";
  }
  std::string out = r.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string hostFingerprint() {
  return sh("ip -o link | wc -l").out + sh("iptables-legacy-save 2>/dev/null | grep -c KUBE").out;
}

}  // namespace skiff::netproxy::itest
