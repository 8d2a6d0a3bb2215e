// skiff-init: turns a prepared overlay rootfs into a running container (native backend), or runs
// an exec inside a running one. Started by skiff-shim (container) or by the runtime (exec); it
// applies the spec the runtime wrote and holds no policy of its own.
//
//   skiff-init run  <spec.json> <error fd> [<console fd>]
//                                                pid 1 of the container's new PID namespace; with
//                                                <console fd> (a unix socket) it makes a pty of
//                                                the container's devpts its stdio and sends the
//                                                master to the shim
//   skiff-init exec <spec.json> <init pid> [-e KEY=VALUE]... -- cmd...
//
// Errors before exec are written to <error fd> (the shim reports them as the create error);
// "ready\n" is written when the process waits for startContainer on the start fifo.
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "fd_passing.h"
#include "launch_spec.h"
#include "seccomp_profile.h"
#include "skiff/common/file.h"
#include "skiff/common/split_list.h"
#include "skiff/common/unique_fd.h"
#include "skiff/runtime/sys/capability_plan.h"
#include "skiff/runtime/sys/init_ops.h"
#include "skiff/runtime/sys/rootfs_apply.h"
#include "skiff/runtime/sys/rootfs_plan.h"

namespace skiff::runtime {
namespace {

int g_err_fd = -1;

[[noreturn]] void fail(const std::string& msg, int code = 1) {
  std::string line = msg + "\n";
  if (g_err_fd >= 0)
    (void)!::write(g_err_fd, line.data(), line.size());
  else
    (void)!::write(2, line.data(), line.size());
  ::_exit(code);
}

void check(const Result<void>& r, const std::string& what) {
  if (!r) fail(what + ": " + r.error().message());
}

void sysCheck(int rc, const std::string& what) {
  if (rc < 0) fail(what + ": " + std::strerror(errno));
}

// Opens `path` inside `root` (symlinks resolved as if root were /), creating missing directories
// (or a file when `file`), so an image's symlinks can never redirect a mount to the host.
UniqueFd openInRoot(int rootfd, const std::string& path, bool create, bool file) {
  struct open_how how {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(::syscall(SYS_openat2, rootfd, path.c_str(), &how, sizeof how));
  if (fd >= 0 || !create || errno != ENOENT) return UniqueFd(fd);
  // Create components one by one, each resolved in root.
  std::string cur;
  std::size_t pos = 0;
  while (pos < path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    std::string comp = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (comp.empty()) continue;
    bool last = pos >= path.size();
    cur += "/" + comp;
    int r = static_cast<int>(::syscall(SYS_openat2, rootfd, cur.c_str(), &how, sizeof how));
    if (r >= 0) {
      ::close(r);
      continue;
    }
    std::string parent = cur.substr(0, cur.rfind('/'));
    struct open_how ph = how;
    ph.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    UniqueFd pfd(static_cast<int>(
        ::syscall(SYS_openat2, rootfd, parent.empty() ? "/" : parent.c_str(), &ph, sizeof ph)));
    if (!pfd) return UniqueFd();
    std::string pproc = "/proc/self/fd/" + std::to_string(pfd.get());
    UniqueFd real(::open(pproc.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!real) return UniqueFd();
    if (last && file) {
      int f = ::openat(real.get(), comp.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (f >= 0) ::close(f);
    } else if (::mkdirat(real.get(), comp.c_str(), 0755) != 0 && errno != EEXIST) {
      return UniqueFd();
    }
  }
  return UniqueFd(static_cast<int>(::syscall(SYS_openat2, rootfd, path.c_str(), &how, sizeof how)));
}

std::string fdPath(const UniqueFd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); }

void mountAt(int rootfd, const std::string& dest, const char* src, const char* type,
             unsigned long flags, const char* data, bool file = false) {
  UniqueFd t = openInRoot(rootfd, dest, true, file);
  if (!t) fail("mount " + dest + ": resolve target: " + std::strerror(errno));
  sysCheck(::mount(src, fdPath(t).c_str(), type, flags, data),
           "mount " + std::string(type ? type : "bind") + " on " + dest);
}

void bindVolume(int rootfd, const sys::RootfsStep& m) {
  struct stat st {};
  if (::stat(m.source.c_str(), &st) != 0)
    fail("volume '" + m.source + "': " + std::strerror(errno));
  UniqueFd t = openInRoot(rootfd, m.target, true, !S_ISDIR(st.st_mode));
  if (!t) fail("volume target '" + m.target + "': " + std::strerror(errno));
  sysCheck(::mount(m.source.c_str(), fdPath(t).c_str(), nullptr, MS_BIND | MS_REC, nullptr),
           "bind '" + m.source + "'");
  // Re-resolve: the old fd names the covered file, not the new bind mount on top of it.
  UniqueFd b = openInRoot(rootfd, m.target, false, false);
  if (!b) fail("volume target '" + m.target + "': " + std::strerror(errno));
  std::string target = fdPath(b);
  sysCheck(::mount(nullptr, target.c_str(), nullptr, MS_PRIVATE | MS_REC, nullptr),
           "make '" + m.target + "' private");
  if (m.readonly) {
    sysCheck(::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC,
                     nullptr),
             "remount '" + m.target + "' read-only");
  }
}

// Executes sys::rootfsPlan: one syscall (or two) per step, no decisions of its own.
void setupRootfs(const LaunchSpec& s) {
  sysCheck(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "make / private");
  UniqueFd root(::open(s.rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!root) fail("open rootfs '" + s.rootfs + "': " + std::strerror(errno));
  int r = root.get();
  sys::RootfsRequest req;
  req.privileged = s.privileged;
  req.readonly_rootfs = s.readonly_rootfs;
  req.volumes = s.mounts;
  req.masked_paths = s.masked_paths;
  req.readonly_paths = s.readonly_paths;
  using K = sys::RootfsStep::Kind;
  for (const auto& st : sys::rootfsPlan(req)) {
    switch (st.kind) {
      case K::Mount:
        mountAt(r, st.target, st.source.c_str(), st.fstype.c_str(), st.flags,
                st.data.empty() ? nullptr : st.data.c_str());
        break;
      case K::Mknod: {
        UniqueFd dir = openInRoot(r, st.target.substr(0, st.target.rfind('/')), false, false);
        UniqueFd d(::open(fdPath(dir).c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
        std::string name = st.target.substr(st.target.rfind('/') + 1);
        sysCheck(::mknodat(d.get(), name.c_str(), S_IFCHR | 0666, ::makedev(st.major, st.minor)),
                 "mknod " + st.target);
        sysCheck(::fchmodat(d.get(), name.c_str(), 0666, 0), "chmod " + st.target);
        break;
      }
      case K::Symlink: {
        UniqueFd dir = openInRoot(r, st.target.substr(0, st.target.rfind('/')), false, false);
        UniqueFd d(::open(fdPath(dir).c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
        std::string name = st.target.substr(st.target.rfind('/') + 1);
        sysCheck(::symlinkat(st.source.c_str(), d.get(), name.c_str()), "symlink " + st.target);
        break;
      }
      case K::BindVolume:
        bindVolume(r, st);
        break;
      case K::PivotRoot:
        sysCheck(::chdir(s.rootfs.c_str()), "chdir rootfs");
        // pivot_root(".", ".") then detach the old root stacked on top (runc's trick: no temp dir).
        sysCheck(static_cast<int>(::syscall(SYS_pivot_root, ".", ".")), "pivot_root");
        sysCheck(::umount2(".", MNT_DETACH), "detach old root");
        sysCheck(::chdir("/"), "chdir /");
        root.reset();
        break;
      case K::Mask:
      case K::ReadOnly:
      case K::ReadOnlyRoot:
        // What to mount depends on what the path is: decided in sys::applyPathStep.
        if (auto r = sys::applyPathStep(sys::realInitOps(), st); !r) fail(r.error().message());
        break;
    }
  }
}

int rlimitResource(const std::string& n) {
  static const std::pair<const char*, int> table[] = {
      {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
      {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME}};
  for (auto& [name, v] : table)
    if (n == name) return v;
  return -1;
}

bool capSupported(int cap) { return CAP_IS_SUPPORTED(cap); }

// Rlimits, user, capabilities, no_new_privs, seccomp: the process-level part shared by run/exec.
void applyProcessSecurity(const LaunchSpec& s) {
  // OOM score first: lowering it needs CAP_SYS_RESOURCE, dropped below.
  {
    std::string adj = std::to_string(s.oom_score_adj);
    int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0) fail(std::string("open oom_score_adj: ") + std::strerror(errno));
    ssize_t n = ::write(fd, adj.data(), adj.size());
    int saved = errno;
    ::close(fd);
    // Lowering needs CAP_SYS_RESOURCE, which a nested or unprivileged host may not grant: the
    // process then keeps the score it inherited rather than not starting at all.
    if (n != static_cast<ssize_t>(adj.size()) && saved != EACCES && saved != EPERM)
      fail(std::string("set oom_score_adj: ") + std::strerror(saved));
  }
  for (const auto& rl : s.rlimits) {
    int res = rlimitResource(rl.type);
    if (res < 0) fail("unknown rlimit '" + rl.type + "'");
    struct rlimit lim {
      rl.soft, rl.hard
    };
    sysCheck(::setrlimit(res, &lim), "setrlimit " + rl.type);
  }
  // Bounding set first (needs CAP_SETPCAP, which we still have).
  std::vector<int> keep_values;
  for (const auto& name : s.capabilities) {
    cap_value_t v;
    if (cap_from_name(name.c_str(), &v) == 0) keep_values.push_back(v);
  }
  sys::CapabilityPlan plan = sys::capabilityPlan(keep_values, CAP_LAST_CAP, s.uid, capSupported);
  check(sys::dropBoundingSet(sys::realInitOps(), plan), "capabilities");
  if (s.seccomp && !s.privileged) {
    // The runtime's precompiled program when readable, else compile here.
    auto program = s.seccomp_program.empty()
                       ? Result<std::string>(Error(ErrorCode::NotFound, "none"))
                       : readFile(s.seccomp_program, 1u << 20);
    check(program ? loadSeccompProgram(*program) : loadDefaultSeccomp(s.capabilities), "seccomp");
  }
  // Keep permitted caps across setuid so an explicit cap_add works for uid 0 only (Docker
  // semantics: a non-root user starts with no effective capabilities).
  std::vector<gid_t> groups(s.additional_gids.begin(), s.additional_gids.end());
  sysCheck(::setgroups(groups.size(), groups.data()), "setgroups");
  sysCheck(::setresgid(s.gid, s.gid, s.gid), "setgid");
  sysCheck(::setresuid(s.uid, s.uid, s.uid), "setuid");
  cap_t caps = cap_init();
  std::vector<cap_value_t> keep(plan.process_caps.begin(), plan.process_caps.end());
  if (!keep.empty()) {
    cap_set_flag(caps, CAP_PERMITTED, static_cast<int>(keep.size()), keep.data(), CAP_SET);
    cap_set_flag(caps, CAP_EFFECTIVE, static_cast<int>(keep.size()), keep.data(), CAP_SET);
    cap_set_flag(caps, CAP_INHERITABLE, static_cast<int>(keep.size()), keep.data(), CAP_SET);
  }
  if (cap_set_proc(caps) != 0) fail(std::string("set capabilities: ") + std::strerror(errno));
  cap_free(caps);
  if (s.no_new_privs && !s.privileged)
    sysCheck(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs");
}

std::string lookPath(const std::string& file, const std::vector<std::string>& env) {
  if (file.find('/') != std::string::npos) return file;
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  for (const std::string_view entry : splitAt(path, ':')) {
    const std::string dir = entry.empty() ? "." : std::string(entry);
    std::string cand = dir + "/" + file;
    struct stat st {};
    if (::stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(cand.c_str(), X_OK) == 0)
      return cand;
  }
  return "";
}

[[noreturn]] void execute(const std::vector<std::string>& args,
                          const std::vector<std::string>& env) {
  std::string bin = lookPath(args[0], env);
  if (bin.empty()) fail("exec: \"" + args[0] + "\": executable file not found in $PATH", 127);
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::execve(bin.c_str(), argv.data(), envp.data());
  fail("exec \"" + args[0] + "\": " + std::strerror(errno), errno == ENOENT ? 127 : 126);
}

void joinNs(const std::string& path, int type, const char* what) {
  if (path.empty()) return;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) fail(std::string("open ") + what + " namespace '" + path + "': " + std::strerror(errno));
  sysCheck(::setns(fd.get(), type), std::string("join ") + what + " namespace");
}

// Writes "0" (the calling thread) to each join file: v1 `tasks` move just this thread, which
// for our single-threaded process is the whole process, and skip the global cgroup threadgroup
// rwsem whose write side waits for an RCU grace period (~10 ms on every container start).
void joinCgroups(const std::vector<std::string>& procs) {
  for (const auto& p : procs) {
    UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) fail("open '" + p + "': " + std::strerror(errno));
    if (::write(fd.get(), "0", 1) != 1) fail("join cgroup '" + p + "': " + std::strerror(errno));
  }
}

LaunchSpec loadSpec(const char* path) {
  auto text = readFile(path, 4u << 20);
  if (!text) fail("read spec: " + text.error().message());
  auto spec = launchSpecFromJson(*text);
  if (!spec) fail(spec.error().message());
  return *spec;
}

// The container's TTY, as runc's console socket: a pty of the container's own devpts (so `tty`
// names a /dev/pts entry that exists inside), the peer as our stdio, the master to the shim.
void setupConsole(int console_fd, const LaunchSpec& s) {
  UniqueFd master(::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) fail(std::string("open /dev/pts/ptmx: ") + std::strerror(errno));
  int unlock = 0;
  sysCheck(::ioctl(master.get(), TIOCSPTLCK, &unlock), "unlock pty");
  UniqueFd slave(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) fail(std::string("open pty peer: ") + std::strerror(errno));
  (void)::fchown(slave.get(), s.uid, s.gid);
  char byte = 'm';
  int fd = master.get();
  sysCheck(static_cast<int>(sendFds(console_fd, &byte, 1, &fd, 1)),
           "send the pty master to the shim");
  ::close(console_fd);
  for (int std_fd : {0, 1, 2}) sysCheck(::dup2(slave.get(), std_fd), "pty as stdio");
}

[[noreturn]] void runContainer(const char* spec_path, int console_fd) {
  LaunchSpec s = loadSpec(spec_path);
  // We are pid 1 of a new PID namespace in a new mount namespace (the shim cloned us), and
  // single-threaded, which joinCgroups relies on.
  joinCgroups(s.cgroup_procs);
  // The cgroup namespace is rooted at the cgroup we are in now; before seccomp, which refuses
  // unshare.
  sysCheck(::unshare(CLONE_NEWCGROUP), "unshare cgroup namespace");
  joinNs(s.netns, CLONE_NEWNET, "network");
  joinNs(s.ipcns, CLONE_NEWIPC, "ipc");
  joinNs(s.utsns, CLONE_NEWUTS, "uts");
  UniqueFd fifo(::open(s.start_fifo.c_str(), O_PATH | O_CLOEXEC));
  if (!fifo) fail("open start fifo: " + std::string(std::strerror(errno)));
  setupRootfs(s);
  if (console_fd >= 0) setupConsole(console_fd, s);
  ::setsid();
  // With a TTY the shim gave us a pty as stdio: make it our controlling terminal (job control,
  // ^C as SIGINT).
  if (::isatty(0)) (void)::ioctl(0, TIOCSCTTY, 0);
  applyProcessSecurity(s);
  if (::chdir(s.cwd.c_str()) != 0)
    fail("chdir to cwd (\"" + s.cwd + "\") set in config.json failed: " + std::strerror(errno));
  if (::write(g_err_fd, "ready\n", 6) != 6) ::_exit(1);
  // Block until startContainer opens the fifo for reading (runc's exec.fifo).
  UniqueFd w(::open(fdPath(fifo).c_str(), O_WRONLY | O_CLOEXEC));
  if (!w) fail("open start fifo for writing: " + std::string(std::strerror(errno)));
  if (::write(w.get(), "0", 1) != 1) fail("signal start: " + std::string(std::strerror(errno)));
  w.reset();
  fifo.reset();
  execute(s.args, s.env);
}

[[noreturn]] void execInContainer(const char* spec_path, int pid,
                                  const std::vector<std::string>& cmd,
                                  const std::vector<std::string>& extra_env) {
  LaunchSpec s = loadSpec(spec_path);
  for (const auto& e : extra_env) {
    std::string key = e.substr(0, e.find('='));
    auto it = std::find_if(s.env.begin(), s.env.end(),
                           [&](const std::string& x) { return x.substr(0, x.find('=')) == key; });
    if (it != s.env.end())
      *it = e;
    else
      s.env.push_back(e);
  }
  // Open every namespace first: after joining the mount namespace /proc/<pid> may differ.
  std::string base = "/proc/" + std::to_string(pid) + "/ns/";
  std::vector<std::pair<UniqueFd, int>> ns;
  for (auto [n, t] : {std::pair{"ipc", CLONE_NEWIPC}, std::pair{"uts", CLONE_NEWUTS},
                      std::pair{"net", CLONE_NEWNET}, std::pair{"pid", CLONE_NEWPID},
                      std::pair{"cgroup", CLONE_NEWCGROUP}, std::pair{"mnt", CLONE_NEWNS}}) {
    UniqueFd fd(::open((base + n).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
      fail(std::string("open ") + n + " namespace of pid " + std::to_string(pid) + ": " +
           std::strerror(errno));
    ns.emplace_back(std::move(fd), t);
  }
  joinCgroups(s.cgroup_procs);
  for (auto& [fd, t] : ns) sysCheck(::setns(fd.get(), t), "join namespace");
  // The PID namespace applies to children: fork, and relay the child's exit status.
  pid_t child = ::fork();
  if (child < 0) fail("fork: " + std::string(std::strerror(errno)));
  if (child == 0) {
    ::setsid();
    if (::isatty(0)) (void)::ioctl(0, TIOCSCTTY, 0);
    applyProcessSecurity(s);
    if (::chdir(s.cwd.c_str()) != 0) (void)::chdir("/");
    execute(cmd, s.env);
  }
  // Forward termination signals to the exec'd process.
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) ::signal(sig, SIG_IGN);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) ::_exit(128 + WTERMSIG(status));
  ::_exit(WEXITSTATUS(status));
}

}  // namespace
}  // namespace skiff::runtime

int main(int argc, char** argv) {
  using namespace skiff::runtime;
  if (argc >= 4 && std::strcmp(argv[1], "run") == 0) {
    g_err_fd = std::atoi(argv[3]);
    runContainer(argv[2], argc >= 5 ? std::atoi(argv[4]) : -1);
  }
  if (argc >= 6 && std::strcmp(argv[1], "exec") == 0) {
    std::vector<std::string> env;
    int i = 4;
    while (i + 1 < argc && std::strcmp(argv[i], "-e") == 0) {
      env.push_back(argv[i + 1]);
      i += 2;
    }
    if (i < argc && std::strcmp(argv[i], "--") == 0 && i + 1 < argc) {
      std::vector<std::string> cmd(argv + i + 1, argv + argc);
      execInContainer(argv[2], std::atoi(argv[3]), cmd, env);
    }
  }
  std::fputs(
      "usage: skiff-init run <spec.json> <error fd> [<console fd>] | exec <spec.json> <pid> [-e "
      "K=V]... -- cmd...\n",
      stderr);
  return 2;
}
