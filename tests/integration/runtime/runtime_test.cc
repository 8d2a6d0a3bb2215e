// The runtime against the real kernel, on both backends (runtime.Backends/RuntimeTest.*/native
// and .../runc): isolation defaults, cgroups and OOM, stop/exec/stats/logs, re-adoption after the
// process owning the Runtime is SIGKILLed, and rollback of failed creates.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "skiff/common/file.h"
#include "skiff/runtime/runtime.h"
#include "test_env.h"

namespace skiff::runtime {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class RuntimeTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (!testing::isRoot())
      GTEST_SKIP() << "needs root (CAP_SYS_ADMIN for namespaces, mounts, cgroups)";
    env_ = std::make_unique<testing::TestEnv>();
    options_.backend = GetParam();
    options_.state_dir = env_->dir() + "/state";
    options_.log_dir = env_->dir() + "/logs";
    options_.cgroup_parent = env_->cgroupParent();
    options_.shim_path = SKIFF_SHIM;
    auto cgroups = hostinfo::detectCgroups({});
    ASSERT_TRUE(cgroups) << cgroups.error().message();
    options_.cgroup_mode = cgroups->mode;
    auto rt = createRuntime(options_);
    ASSERT_TRUE(rt) << rt.error().message();
    rt_ = std::move(*rt);
    auto im = rt_->images().importArchive(SKIFF_BUSYBOX_IMAGE);
    ASSERT_TRUE(im) << im.error().message();
  }

  void TearDown() override {
    if (rt_) {
      if (auto l = rt_->listPodSandbox()) {
        for (const auto& s : *l)
          EXPECT_TRUE(rt_->removePodSandbox(s.id)) << "remove sandbox " << s.id;
      }
      rt_.reset();
    }
    if (env_) {
      auto left = testing::mountsUnder(env_->dir() + "/");
      EXPECT_TRUE(left.empty()) << "mounts left behind, first: " << left[0];
    }
    env_.reset();
  }

  std::string sandbox(const std::string& name = "pod", QosClass qos = QosClass::BestEffort) {
    PodSandboxConfig c;
    c.metadata = {name, "uid-" + name, "default", 0};
    c.hostname = name + "-host";
    c.qos = qos;
    auto id = rt_->runPodSandbox(c);
    EXPECT_TRUE(id) << id.error().message();
    return id ? *id : "";
  }

  ContainerConfig shell(const std::string& name, const std::string& script) {
    ContainerConfig c;
    c.name = name;
    c.image = "busybox";
    c.command = {"sh", "-c", script};
    return c;
  }

  std::string start(const std::string& sb, const ContainerConfig& c) {
    auto id = rt_->createContainer(sb, c);
    EXPECT_TRUE(id) << id.error().message();
    if (!id) return "";
    auto s = rt_->startContainer(*id);
    EXPECT_TRUE(s) << s.error().message();
    return *id;
  }

  // Runs a container to completion; returns its status.
  ContainerStatus runToExit(const ContainerConfig& c, const std::string& sb = "") {
    std::string s = sb.empty() ? sandbox("run-" + c.name) : sb;
    std::string id = start(s, c);
    auto st = rt_->waitContainer(id, 20s);
    EXPECT_TRUE(st) << (st ? "" : st.error().message());
    return st ? *st : ContainerStatus{};
  }

  // The container's stdout as written to its CRI log (F lines joined by newlines).
  std::string output(const ContainerStatus& st, const char* stream = "stdout") {
    auto t = readFile(st.log_path);
    if (!t) return "";
    std::string out;
    std::istringstream in(*t);
    for (std::string line; std::getline(in, line);) {
      std::size_t a = line.find(' '), b = line.find(' ', a + 1), c = line.find(' ', b + 1);
      if (c == std::string::npos || line.compare(a + 1, b - a - 1, stream) != 0) continue;
      out += line.substr(c + 1);
      if (line[b + 1] == 'F') out += "\n";
    }
    return out;
  }

  std::unique_ptr<testing::TestEnv> env_;
  RuntimeOptions options_;
  RuntimePtr rt_;
};

TEST_P(RuntimeTest, ROOT_ContainersAreCreatedInParallel) {
  // The agent's pod workers create containers concurrently; on a fresh runtime they all need
  // the same seccomp program at once (the native backend writes it on first use).
  constexpr int kPods = 4;
  std::vector<std::string> sandboxes;
  for (int i = 0; i < kPods; ++i) sandboxes.push_back(sandbox("par" + std::to_string(i)));
  std::vector<std::string> errors(kPods);
  std::vector<std::thread> workers;
  for (int i = 0; i < kPods; ++i) {
    workers.emplace_back([&, i] {
      auto id = rt_->createContainer(sandboxes[i], shell("c", "exit 0"));
      if (!id) errors[i] = id.error().message();
    });
  }
  for (auto& w : workers) w.join();
  for (int i = 0; i < kPods; ++i) EXPECT_EQ(errors[i], "") << "pod " << i;
}

TEST_P(RuntimeTest, ROOT_RunsToCompletionWithCriLogs) {
  auto st = runToExit(shell("c", "echo hello; echo oops >&2; printf partial; exit 3"));
  EXPECT_EQ(st.state, ContainerState::Exited);
  EXPECT_EQ(st.exit_code, 3);
  EXPECT_EQ(st.reason, "Error");
  EXPECT_GT(st.finished_at_ns, st.started_at_ns);
  EXPECT_EQ(st.log_path, options_.log_dir + "/default_run-c_uid-run-c/c/0.log");
  auto text = readFile(st.log_path);
  ASSERT_TRUE(text);
  std::regex line(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) [FP] .*)");
  std::istringstream in(*text);
  int n = 0;
  for (std::string l; std::getline(in, l); ++n) EXPECT_TRUE(std::regex_match(l, line)) << l;
  EXPECT_EQ(n, 3);
  EXPECT_EQ(output(st), "hello\npartial");  // no newline: a partial record
  EXPECT_EQ(output(st, "stderr"), "oops\n");
}

TEST_P(RuntimeTest, ROOT_ListsSandboxesByLabel) {
  PodSandboxConfig c;
  c.metadata = {"a", "uid-a", "default", 0};
  c.labels = {{"io.kubernetes.pod.uid", "uid-a"}, {"tier", "web"}};
  ASSERT_TRUE(rt_->runPodSandbox(c));
  std::string b = sandbox("b");
  auto all = rt_->listPodSandbox();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);
  auto web = rt_->listPodSandbox({{"io.kubernetes.pod.uid", "uid-a"}, {"tier", "web"}});
  ASSERT_TRUE(web);
  ASSERT_EQ(web->size(), 1u);
  EXPECT_EQ(web->front().metadata.name, "a");
  EXPECT_TRUE(rt_->listPodSandbox({{"tier", "db"}})->empty());
  EXPECT_TRUE(rt_->listPodSandbox({{"io.kubernetes.pod.uid", "uid-a"}, {"tier", "db"}})->empty());
}

TEST_P(RuntimeTest, ROOT_HostPidsInvisible) {
  auto st = runToExit(shell("c", "ls /proc | grep -cE '^[0-9]+$'; cat /proc/1/comm; exit 0"));
  EXPECT_EQ(st.exit_code, 0);
  std::istringstream in(output(st));
  int pids = 0;
  std::string comm;
  in >> pids >> comm;
  EXPECT_LE(pids, 4) << "the container sees host processes";
  EXPECT_EQ(comm, "sh");
}

TEST_P(RuntimeTest, ROOT_PrivilegedSyscallsFail) {
  ContainerConfig c;
  c.name = "probe";
  c.image = "busybox";
  c.command = {"/probe"};
  c.mounts.push_back({"/probe", SKIFF_SYSCALL_PROBE, true});
  auto st = runToExit(c);
  ASSERT_EQ(st.exit_code, 0) << output(st, "stderr");
  std::string out = output(st);
  for (const char* s :
       {"mount", "unshare", "unshare_net", "init_module", "finit_module", "delete_module", "keyctl",
        "add_key", "kexec_load", "reboot", "swapoff", "settimeofday"})
    EXPECT_NE(out.find(std::string(s) + "=EPERM\n"), std::string::npos) << s << " not refused:\n"
                                                                        << out;
}

TEST_P(RuntimeTest, ROOT_MaskedAndReadOnlyPaths) {
  auto st =
      runToExit(shell("c",
                      "for f in /proc/kcore /proc/keys /proc/timer_list; do [ -e $f ] && echo "
                      "\"$f=$(wc -c < $f)\"; done;"
                      "ls /sys/firmware | wc -l;"
                      "touch /sys/kernel/x 2>/dev/null && echo sys-writable;"
                      "echo 1 > /proc/sys/vm/drop_caches 2>/dev/null && echo procsys-writable;"
                      "echo ok"));
  std::string out = output(st);
  EXPECT_EQ(out.find("writable"), std::string::npos) << out;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) {
    if (l.rfind("/proc/", 0) == 0) {
      EXPECT_EQ(l.substr(l.find('=')), "=0") << l << " is not masked";
    }
  }
  EXPECT_NE(out.find("\n0\nok\n"), std::string::npos) << "/sys/firmware not masked:\n" << out;
}

TEST_P(RuntimeTest, ROOT_DefaultCapabilitiesAndNoNewPrivs) {
  auto st =
      runToExit(shell("c", "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status"));
  std::string out = output(st);
  // chown dac_override fowner fsetid kill setgid setuid setpcap net_bind_service net_raw
  // sys_chroot mknod audit_write setfcap: containerd's default set.
  EXPECT_NE(out.find("CapEff:\t00000000a80425fb\n"), std::string::npos) << out;
  EXPECT_NE(out.find("CapBnd:\t00000000a80425fb\n"), std::string::npos) << out;
  EXPECT_NE(out.find("NoNewPrivs:\t1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Seccomp:\t2\n"), std::string::npos) << out;

  ContainerConfig c = shell("c2", "grep CapEff /proc/self/status");
  c.cap_add = {"NET_ADMIN"};
  c.cap_drop = {"CAP_MKNOD"};
  // + CAP_NET_ADMIN (bit 12), - CAP_MKNOD (bit 27).
  EXPECT_EQ(output(runToExit(c)), "CapEff:\t00000000a00435fb\n");
}

TEST_P(RuntimeTest, ROOT_PrivilegedDropsTheDefaults) {
  ContainerConfig c = shell(
      "priv",
      "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status; mount -t tmpfs t /tmp && echo mounted; "
      "grep -c . /proc/self/status >/dev/null; touch /sys/kernel/x 2>&1 | grep -q Read-only || "
      "echo sys-rw");
  c.privileged = true;
  auto st = runToExit(c);
  std::string out = output(st);
  EXPECT_NE(out.find("Seccomp:\t0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("NoNewPrivs:\t0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("mounted\n"), std::string::npos) << out << output(st, "stderr");
  EXPECT_NE(out.find("sys-rw\n"), std::string::npos) << out;
}

TEST_P(RuntimeTest, ROOT_MemoryHogIsOomKilled) {
  ContainerConfig c = shell("hog", "tail /dev/zero");
  c.resources.memory_limit_bytes = 16 << 20;
  auto st = runToExit(c);
  EXPECT_EQ(st.exit_code, 137);
  EXPECT_EQ(st.reason, "OOMKilled");
}

TEST_P(RuntimeTest, ROOT_CgroupLimitsUnderQosHierarchy) {
  std::string sb = sandbox("limits", QosClass::Burstable);
  ContainerConfig c = shell("c", "sleep 30");
  c.resources = {512, 50000, 100000, 64 << 20, 64};
  std::string id = start(sb, c);
  std::string base =
      "/sys/fs/cgroup/%s/" + env_->cgroupParent() + "/kubepods/burstable/poduid-limits/" + id;
  auto path = [&](const char* ctrl, const char* file) {
    std::string p = base;
    p.replace(p.find("%s"), 2, ctrl);
    return p + "/" + file;
  };
  auto read = [&](const char* ctrl, const char* file) {
    auto t = readFile(path(ctrl, file));
    return t ? t->substr(0, t->find('\n')) : "<missing " + path(ctrl, file) + ">";
  };
  EXPECT_EQ(read("cpu", "cpu.shares"), "512");
  EXPECT_EQ(read("cpu", "cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(read("memory", "memory.limit_in_bytes"), std::to_string(64 << 20));
  EXPECT_EQ(read("pids", "pids.max"), "64");
  auto st = rt_->containerStatus(id);
  ASSERT_TRUE(st);
  // In every hierarchy (the native init joins by thread through `tasks`: the whole process).
  for (const char* ctrl : {"cpu", "cpuacct", "memory", "pids", "devices"}) {
    if (!fs::exists(path(ctrl, ""))) continue;
    EXPECT_NE(readFile(path(ctrl, "cgroup.procs")).value_or("").find(std::to_string(st->pid)),
              std::string::npos)
        << ctrl;
  }
  // Its cgroup namespace is rooted there.
  auto self = rt_->execSync(id, {"grep", ":memory:", "/proc/1/cgroup"}, 10s);
  ASSERT_TRUE(self) << self.error().message();
  EXPECT_NE(self->stdout_data.find(":memory:/\n"), std::string::npos) << self->stdout_data;
  auto stats = rt_->containerStats(id);
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_GT(stats->memory_working_set_bytes, 0u);
  EXPECT_GT(stats->cpu_usage_core_ns, 0u);
  ASSERT_TRUE(rt_->removeContainer(id));
  EXPECT_FALSE(fs::exists(path("memory", "")));
}

TEST_P(RuntimeTest, ROOT_StopSendsTermThenKillAfterGrace) {
  std::string sb = sandbox();
  // pid 1 without a handler ignores SIGTERM: only the SIGKILL after the grace period stops it.
  std::string stubborn = start(sb, shell("stubborn", "sleep 1000"));
  std::string polite =
      start(sb, shell("polite", "trap 'exit 0' TERM; while true; do sleep 0.05; done"));
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(rt_->stopContainer(stubborn, 300ms));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 300ms);
  auto s1 = rt_->containerStatus(stubborn);
  EXPECT_EQ(s1->exit_code, 137);
  ASSERT_TRUE(rt_->stopContainer(polite, 10s));
  auto s2 = rt_->containerStatus(polite);
  EXPECT_EQ(s2->exit_code, 0);
  EXPECT_EQ(s2->reason, "Completed");
  EXPECT_TRUE(rt_->stopContainer(polite, 1s)) << "stop is idempotent";
}

TEST_P(RuntimeTest, ROOT_ExecJoinsTheContainer) {
  std::string sb = sandbox("ex");
  std::string id = start(sb, shell("c", "echo data > /tmp/f; exec sleep 30"));
  ASSERT_FALSE(id.empty());
  // "Started" means the process runs, not that its shell got as far as the sleep: under load an
  // exec can land first (it saw /proc/1/comm "sh" and no /tmp/f). Wait for the sleep.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    auto comm = rt_->execSync(id, {"cat", "/proc/1/comm"}, 10s);
    if (comm && comm->stdout_data == "sleep\n") break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "the container never reached its sleep";
    std::this_thread::sleep_for(20ms);
  }
  auto r = rt_->execSync(
      id,
      {"sh", "-c",
       "hostname; cat /tmp/f; cat /proc/1/comm; grep NoNewPrivs /proc/self/status; exit 7"},
      10s);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_code, 7);
  EXPECT_EQ(r->stdout_data, "ex-host\ndata\nsleep\nNoNewPrivs:\t1\n");

  ExecOptions eo;
  eo.cmd = {"sh", "-c", "echo $EXTRA; cat"};
  eo.env = {"EXTRA=set-by-exec"};
  eo.stdin_open = true;
  auto s = rt_->exec(id, eo);
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_EQ(::write((*s)->stdinFd(), "abc\n", 4), 4);
  (*s)->closeStdin();
  char buf[64];
  std::string got;
  ssize_t n;
  while ((n = ::read((*s)->stdoutFd(), buf, sizeof buf)) > 0)
    got.append(buf, static_cast<std::size_t>(n));
  EXPECT_EQ(got, "set-by-exec\nabc\n");
  EXPECT_EQ(*(*s)->wait(), 0);

  ExecOptions tty;
  tty.cmd = {"sh", "-c", "sleep 0.2; stty size; tty"};
  tty.tty = true;
  auto t = rt_->exec(id, tty);
  ASSERT_TRUE(t) << t.error().message();
  ASSERT_TRUE((*t)->resize(100, 40));
  std::string out;
  while ((n = ::read((*t)->stdoutFd(), buf, sizeof buf)) > 0)
    out.append(buf, static_cast<std::size_t>(n));
  EXPECT_EQ(*(*t)->wait(), 0);
  EXPECT_NE(out.find("40 100"), std::string::npos) << out;
  EXPECT_NE(out.find("/dev/pts/"), std::string::npos) << out;
}

// Reads fd until EOF (or `until` appears) into a string.
std::string readAll(int fd, const std::string& until = "") {
  std::string got;
  char buf[256];
  ssize_t n;
  while ((until.empty() || got.find(until) == std::string::npos) &&
         (n = ::read(fd, buf, sizeof buf)) > 0)
    got.append(buf, static_cast<std::size_t>(n));
  return got;
}

TEST_P(RuntimeTest, ROOT_AttachToStdinOnceContainer) {
  std::string sb = sandbox("att");
  ContainerConfig c = shell(
      "c", "echo started; while read l; do echo got-$l; echo err-$l >&2; done; echo bye; exit 4");
  c.stdin_open = true;
  c.stdin_once = true;
  auto id = rt_->createContainer(sb, c);
  ASSERT_TRUE(id) << id.error().message();
  // Attached before the start: the first line is not missed.
  auto s = rt_->attach(*id, true);
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_TRUE(rt_->startContainer(*id));
  EXPECT_EQ(readAll((*s)->stdoutFd(), "started\n"), "started\n");
  // A second, output-only session sees the same output; it cannot take stdin.
  auto watcher = rt_->attach(*id, false);
  ASSERT_TRUE(watcher) << watcher.error().message();
  EXPECT_EQ((*watcher)->stdinFd(), -1);
  ASSERT_EQ(::write((*s)->stdinFd(), "one\n", 4), 4);
  EXPECT_EQ(readAll((*s)->stdoutFd(), "got-one\n"), "got-one\n");
  EXPECT_EQ(readAll((*s)->stderrFd(), "err-one\n"), "err-one\n");
  EXPECT_EQ(readAll((*watcher)->stdoutFd(), "got-one\n"), "got-one\n");
  // The watcher detaches: the container keeps running.
  (*watcher)->detach();
  EXPECT_EQ(readAll((*watcher)->stdoutFd()), "");
  EXPECT_FALSE((*watcher)->wait());
  EXPECT_EQ(rt_->containerStatus(*id)->state, ContainerState::Running);
  // stdin_once: closing the session's stdin is EOF for the container.
  (*s)->closeStdin();
  EXPECT_EQ(readAll((*s)->stdoutFd()), "bye\n");
  auto code = (*s)->wait();
  ASSERT_TRUE(code) << code.error().message();
  EXPECT_EQ(*code, 4);
  auto st = rt_->waitContainer(*id, 10s);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->exit_code, 4);
  // Everything still went to the CRI log.
  EXPECT_EQ(output(*st), "started\ngot-one\nbye\n");
  EXPECT_EQ(output(*st, "stderr"), "err-one\n");
  EXPECT_FALSE(rt_->attach(*id, false)) << "attach to an exited container";
}

TEST_P(RuntimeTest, ROOT_AttachToTtyContainerResizes) {
  std::string sb = sandbox("atty");
  ContainerConfig c = shell("c", "read l; stty size; [ -t 0 ] && echo is-a-tty; tty; echo got-$l");
  c.stdin_open = true;
  c.tty = true;
  std::string id = start(sb, c);
  ASSERT_FALSE(id.empty());
  auto s = rt_->attach(id, true);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ((*s)->stderrFd(), -1) << "a TTY merges the streams";
  ASSERT_TRUE((*s)->resize(120, 33));
  ASSERT_EQ(::write((*s)->stdinFd(), "x\r", 2), 2);
  std::string out = readAll((*s)->stdoutFd());
  EXPECT_NE(out.find("33 120"), std::string::npos) << out;
  EXPECT_NE(out.find("is-a-tty"), std::string::npos) << out;
  EXPECT_NE(out.find("got-x"), std::string::npos) << out;
  // Native: the pty comes from the container's own devpts (runc backend: the shim's, from the
  // host's devpts, which the container cannot name).
  if (GetParam() == Backend::Native) {
    EXPECT_NE(out.find("/dev/pts/0"), std::string::npos) << out;
  }
  EXPECT_EQ(*(*s)->wait(), 0);
  // Without stdin_open/tty there is no stdin to attach to.
  std::string plain = start(sb, shell("p", "sleep 30"));
  auto refused = rt_->attach(plain, true);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is(ErrorCode::Invalid)) << refused.error().message();
}

TEST_P(RuntimeTest, ROOT_UserGroupsWorkdirEnvAndVolumes) {
  std::string host = env_->dir() + "/vol";
  fs::create_directories(host);
  testing::writeFile(host + "/in", "from host\n");
  ContainerConfig c = shell("c",
                            "id; pwd; echo $GREETING; cat /ro/in; touch /ro/x 2>/dev/null || echo "
                            "ro-refused; echo w > /rw/out");
  c.user = "www-data";
  c.supplemental_groups = {100};
  c.working_dir = "/tmp";
  c.env = {"GREETING=hi"};
  c.mounts = {{"/ro", host, true}, {"/rw", host, false}};
  ::chmod(host.c_str(), 0777);
  auto st = runToExit(c);
  EXPECT_EQ(
      output(st),
      "uid=33(www-data) gid=33(www-data) groups=100(users)\n/tmp\nhi\nfrom host\nro-refused\n");
  EXPECT_EQ(readFile(host + "/out").value_or(""), "w\n");
  ContainerConfig n = shell("n", "id -u; id -g");
  n.user = "1234:5678";
  EXPECT_EQ(output(runToExit(n)), "1234\n5678\n");
}

TEST_P(RuntimeTest, ROOT_LogRotationBySize) {
  options_.container_log_max_size = 4096;
  options_.container_log_max_files = 3;
  rt_.reset();
  auto rt = createRuntime(options_);
  ASSERT_TRUE(rt);
  rt_ = std::move(*rt);
  auto st = runToExit(shell("chatty",
                            "i=0; while [ $i -lt 400 ]; do echo "
                            "line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done"));
  EXPECT_EQ(st.exit_code, 0);
  int files = 0;
  for (const auto& e : fs::directory_iterator(fs::path(st.log_path).parent_path())) {
    ++files;
    EXPECT_LE(fs::file_size(e.path()), 4096u + 200u) << e.path();
  }
  EXPECT_EQ(files, 3);
  EXPECT_NE(readFile(st.log_path).value_or("").find("line-399-"), std::string::npos);
}

TEST_P(RuntimeTest, ROOT_FailedCreateLeavesNothingBehind) {
  std::string sb = sandbox();
  ContainerConfig c = shell("bad", "true");
  c.user = "no-such-user";
  auto r = rt_->createContainer(sb, c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("no-such-user"), std::string::npos);
  ContainerConfig v = shell("badvol", "true");
  v.mounts = {{"/data", env_->dir() + "/does-not-exist", false}};
  auto r2 = rt_->createContainer(sb, v);
  ASSERT_FALSE(r2);
  EXPECT_TRUE(fs::is_empty(options_.state_dir + "/containers"));
  EXPECT_TRUE(testing::mountsUnder(options_.state_dir + "/containers/").empty());
  for (const char* ctrl : {"memory", "cpu", "pids"}) {
    std::string pod = "/sys/fs/cgroup/" + std::string(ctrl) + "/" + env_->cgroupParent() +
                      "/kubepods/besteffort/poduid-pod";
    if (!fs::exists(pod)) continue;
    for (const auto& e : fs::directory_iterator(pod))
      EXPECT_FALSE(e.is_directory()) << "cgroup left: " << e.path();
  }
  EXPECT_TRUE(rt_->listContainers()->empty());
}

TEST_P(RuntimeTest, ROOT_ReadoptsContainersAfterOwnerIsKilled) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t owner = ::fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    // The "agent": owns a Runtime, starts a container, then gets SIGKILLed.
    ::close(p[0]);
    rt_.release();  // not ours to tear down in the child
    auto rt = createRuntime(options_);
    if (!rt) ::_exit(1);
    PodSandboxConfig sc;
    sc.metadata = {"adopt", "uid-adopt", "default", 0};
    auto sb = (*rt)->runPodSandbox(sc);
    if (!sb) ::_exit(2);
    ContainerConfig c = shell("c", "while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 42");
    auto id = (*rt)->createContainer(*sb, c);
    if (!id || !(*rt)->startContainer(*id)) ::_exit(3);
    (void)!::write(p[1], id->data(), id->size());
    ::close(p[1]);
    while (true) ::pause();
  }
  ::close(p[1]);
  char buf[128];
  ssize_t n = ::read(p[0], buf, sizeof buf);
  ::close(p[0]);
  ::kill(owner, SIGKILL);
  int status;
  ::waitpid(owner, &status, 0);
  ASSERT_EQ(n, 64) << "owner failed to start the container";
  std::string id(buf, 64);

  auto again = createRuntime(options_);
  ASSERT_TRUE(again) << again.error().message();
  rt_ = std::move(*again);
  auto list = rt_->listContainers();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, id);
  EXPECT_EQ((*list)[0].state, ContainerState::Running);
  auto ex = rt_->execSync(id, {"touch", "/tmp/go"}, 10s);
  ASSERT_TRUE(ex) << ex.error().message();
  auto st = rt_->waitContainer(id, 10s);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->exit_code, 42);
  EXPECT_EQ(st->reason, "Error");
}

TEST_P(RuntimeTest, ROOT_SandboxNamespacesAreSharedAndHeld) {
  std::string sb = sandbox("shared");
  auto sst = rt_->podSandboxStatus(sb);
  ASSERT_TRUE(sst);
  ASSERT_FALSE(sst->netns_path.empty());
  std::string a = start(sb, shell("a", "sleep 30"));
  std::string b = start(sb, shell("b", "sleep 30"));
  auto dup = rt_->createContainer(sb, shell("a", "true"));
  ASSERT_FALSE(dup);
  EXPECT_TRUE(dup.error().is(ErrorCode::AlreadyExists)) << dup.error().message();
  auto ns = [&](const std::string& id, const char* which) {
    auto r = rt_->execSync(id, {"readlink", std::string("/proc/self/ns/") + which}, 10s);
    return r ? r->stdout_data : "";
  };
  for (const char* w : {"net", "ipc", "uts"}) {
    EXPECT_EQ(ns(a, w), ns(b, w)) << w;
    EXPECT_NE(ns(a, w), "") << w;
  }
  EXPECT_NE(ns(a, "mnt"), ns(b, "mnt"));
  EXPECT_NE(ns(a, "net"), fs::read_symlink("/proc/self/ns/net").string() + "\n")
      << "must not be the host netns";
  auto lo = rt_->execSync(a, {"cat", "/sys/class/net/lo/operstate"}, 10s);
  ASSERT_TRUE(lo);
  EXPECT_NE(lo->stdout_data, "down\n");
  ASSERT_TRUE(rt_->stopPodSandbox(sb, 0ms));
  EXPECT_EQ(rt_->podSandboxStatus(sb)->state, SandboxState::NotReady);
  ASSERT_TRUE(rt_->removePodSandbox(sb));
  EXPECT_FALSE(fs::exists(sst->netns_path));
  EXPECT_FALSE(*rt_->removePodSandbox(sb)) << "remove is idempotent";
}

TEST_P(RuntimeTest, ROOT_ShimIsTheSubreaperParentAndStaysSmall) {
  std::string id = start(sandbox(), shell("c", "sleep 30 & wait"));
  auto st = rt_->containerStatus(id);
  ASSERT_TRUE(st);
  auto stat = readFile("/proc/" + std::to_string(st->pid) + "/stat");
  ASSERT_TRUE(stat);
  std::istringstream in(stat->substr(stat->rfind(')') + 2));
  std::string state;
  int ppid = 0;
  in >> state >> ppid;
  auto comm = readFile("/proc/" + std::to_string(ppid) + "/comm");
  EXPECT_EQ(comm.value_or(""), "skiff-shim\n");
  auto status = readFile("/proc/" + std::to_string(ppid) + "/status");
  ASSERT_TRUE(status);
  auto p = status->find("VmRSS:");
  ASSERT_NE(p, std::string::npos);
  long rss_kb = std::strtol(status->c_str() + p + 6, nullptr, 10);
  RecordProperty("shim_rss_kb", static_cast<int>(rss_kb));
  EXPECT_LT(rss_kb, 1024) << "skiff-shim RSS";
  EXPECT_NE(status->find("NoNewPrivs"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, RuntimeTest, ::testing::Values(Backend::Native, Backend::Runc),
                         [](const ::testing::TestParamInfo<Backend>& i) {
                           return std::string(backendName(i.param));
                         });

}  // namespace
}  // namespace skiff::runtime
