// The Runtime implementation shared by both backends. What differs per backend is small: how the
// shim starts the container (skiff-init vs `runc create`), how it is started (start fifo vs
// `runc start`) and deleted (`runc delete`). Everything else (images, rootfs, cgroups, logs,
// exit records, exec, stats, re-adoption) is common.
//
// State on disk under <state_dir>:
//   sandboxes/<id>/sandbox.json, net, ipc, uts   (ns files held by bind mounts)
//   containers/<id>/state.json                   written by the runtime (config, pids)
//   containers/<id>/exit                         written by the shim when the init exits
//   containers/<id>/{spec.json|config.json, rootfs/, upper/, work/, start.fifo, runc.log}
//   runc/                                        runc --root
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "attach_session.h"
#include "digest.h"
#include "launch_spec.h"
#include "oci_config.h"
#include "process_util.h"
#include "seccomp_profile.h"
#include "skiff/common/file.h"
#include "skiff/common/log.h"
#include "skiff/common/scope_exit.h"
#include "skiff/common/spawn.h"
#include "skiff/common/unique_fd.h"
#include "skiff/runtime/layer_unpack.h"
#include "skiff/runtime/runtime.h"
#include "skiff/runtime/sys/cgroups.h"

namespace skiff::runtime {
namespace {

using json = nlohmann::json;
using log::kv;

Result<void> mkdirs(const std::string& path, mode_t mode = 0700) {
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    std::string cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
      return Error::fromErrno(errno, "create directory '" + cur + "'");
  }
  return ok();
}

std::string dirName(const std::string& p) { return p.substr(0, p.rfind('/')); }

// Reads a file of the image rootfs with symlinks resolved inside it (an image's /etc/passwd may
// be a symlink; it must never lead to the host's).
std::string readInRoot(const std::string& root, const std::string& path) {
  UniqueFd rfd(::open(root.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!rfd) return "";
  struct open_how how {};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, rfd.get(), path.c_str(), &how, sizeof how)));
  if (!fd) return "";
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0 && out.size() < (4u << 20))
    out.append(buf, static_cast<std::size_t>(n));
  return out;
}

bool isNumber(const std::string& s) {
  return !s.empty() && s.size() < 11 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

struct ResolvedUser {
  std::uint32_t uid = 0, gid = 0;
  std::vector<std::uint32_t> groups;
  std::string home = "/";
};

// "uid", "uid:gid", "name", "name:group" against the image's /etc/passwd and /etc/group, with
// the supplementary groups listing the user (what runc's user.GetExecUser does).
Result<ResolvedUser> resolveUser(const std::string& rootfs, const std::string& spec) {
  ResolvedUser u;
  std::string user = spec, group;
  if (auto c = spec.find(':'); c != std::string::npos) {
    user = spec.substr(0, c);
    group = spec.substr(c + 1);
  }
  std::string passwd = readInRoot(rootfs, "/etc/passwd");
  std::string groups = readInRoot(rootfs, "/etc/group");
  std::string name;
  bool found = false;
  std::istringstream pin(passwd);
  for (std::string line; std::getline(pin, line);) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    for (std::string x; std::getline(ls, x, ':');) f.push_back(x);
    if (f.size() < 7 || !isNumber(f[2]) || !isNumber(f[3])) continue;
    if ((user.empty() && f[2] == "0") || f[0] == user || (isNumber(user) && f[2] == user)) {
      u.uid = static_cast<std::uint32_t>(std::stoul(f[2]));
      u.gid = static_cast<std::uint32_t>(std::stoul(f[3]));
      u.home = f[5].empty() ? "/" : f[5];
      name = f[0];
      found = true;
      break;
    }
  }
  if (!found) {
    if (user.empty()) user = "0";
    if (!isNumber(user))
      return Error(ErrorCode::Invalid,
                   "unable to find user " + user + ": no matching entries in passwd file");
    u.uid = static_cast<std::uint32_t>(std::stoul(user));
    u.gid = u.uid == 0 ? 0 : u.uid;
    if (u.uid != 0) u.gid = 0;  // runc: a numeric uid not in passwd runs with gid 0
  }
  std::istringstream gin(groups);
  bool group_found = group.empty();
  for (std::string line; std::getline(gin, line);) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    for (std::string x; std::getline(ls, x, ':');) f.push_back(x);
    if (f.size() < 3 || !isNumber(f[2])) continue;
    std::uint32_t gid = static_cast<std::uint32_t>(std::stoul(f[2]));
    if (!group.empty() && (f[0] == group || (isNumber(group) && f[2] == group))) {
      u.gid = gid;
      group_found = true;
    }
    if (!name.empty() && f.size() >= 4) {
      std::stringstream ms(f[3]);
      for (std::string m; std::getline(ms, m, ',');)
        if (m == name) u.groups.push_back(gid);
    }
  }
  if (!group_found) {
    if (!isNumber(group))
      return Error(ErrorCode::Invalid,
                   "unable to find group " + group + ": no matching entries in group file");
    u.gid = static_cast<std::uint32_t>(std::stoul(group));
  }
  return u;
}

struct SandboxRecord {
  std::string id;
  PodSandboxConfig config;
  std::int64_t created_at_ns = 0;
  bool ready = true;
  std::string dir;
  std::string netns, ipcns, utsns;  // held ns files
};

// What the runtime keeps of a container's config once it is created: what its status reports
// and state.json restores after a restart. The rest (env, mounts, resources...) went into the
// container's spec and is not needed again; keeping it cost about 4 KB per container.
struct ContainerMeta {
  std::string name;
  std::uint32_t attempt = 0;
  std::string image;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

struct ContainerRecord {
  std::string id;
  std::string sandbox_id;
  ContainerMeta config;
  std::string image_id;
  std::string dir;
  std::string log_path;
  std::string cgroup;  // relative cgroup path
  int init_pid = 0;
  std::uint64_t init_start = 0;
  int shim_pid = 0;
  std::int64_t created_at_ns = 0;
  std::int64_t started_at_ns = 0;
  Backend backend = Backend::Native;
};

json mapToJson(const std::map<std::string, std::string>& m) { return json(m); }

json sandboxToJson(const SandboxRecord& s) {
  const auto& c = s.config;
  return json{{"id", s.id},
              {"name", c.metadata.name},
              {"uid", c.metadata.uid},
              {"namespace", c.metadata.namespace_},
              {"attempt", c.metadata.attempt},
              {"hostname", c.hostname},
              {"hostNetwork", c.host_network},
              {"qos", static_cast<int>(c.qos)},
              {"labels", mapToJson(c.labels)},
              {"annotations", mapToJson(c.annotations)},
              {"created", s.created_at_ns},
              {"ready", s.ready},
              {"netns", s.netns},
              {"ipcns", s.ipcns},
              {"utsns", s.utsns}};
}

SandboxRecord sandboxFromJson(const json& j, const std::string& dir) {
  SandboxRecord s;
  s.id = j.at("id").get<std::string>();
  s.dir = dir;
  auto& c = s.config;
  c.metadata.name = j.at("name").get<std::string>();
  c.metadata.uid = j.at("uid").get<std::string>();
  c.metadata.namespace_ = j.at("namespace").get<std::string>();
  c.metadata.attempt = j.at("attempt").get<std::uint32_t>();
  c.hostname = j.at("hostname").get<std::string>();
  c.host_network = j.at("hostNetwork").get<bool>();
  c.qos = static_cast<QosClass>(j.at("qos").get<int>());
  c.labels = j.at("labels").get<std::map<std::string, std::string>>();
  c.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
  s.created_at_ns = j.at("created").get<std::int64_t>();
  s.ready = j.at("ready").get<bool>();
  s.netns = j.at("netns").get<std::string>();
  s.ipcns = j.at("ipcns").get<std::string>();
  s.utsns = j.at("utsns").get<std::string>();
  c.netns_path = s.netns;
  return s;
}

json containerToJson(const ContainerRecord& r) {
  const auto& c = r.config;
  return json{{"id", r.id},
              {"sandboxId", r.sandbox_id},
              {"name", c.name},
              {"attempt", c.attempt},
              {"image", c.image},
              {"imageId", r.image_id},
              {"labels", mapToJson(c.labels)},
              {"annotations", mapToJson(c.annotations)},
              {"logPath", r.log_path},
              {"cgroup", r.cgroup},
              {"initPid", r.init_pid},
              {"initStart", r.init_start},
              {"shimPid", r.shim_pid},
              {"created", r.created_at_ns},
              {"started", r.started_at_ns},
              {"backend", std::string(backendName(r.backend))}};
}

ContainerRecord containerFromJson(const json& j, const std::string& dir) {
  ContainerRecord r;
  r.id = j.at("id").get<std::string>();
  r.dir = dir;
  r.sandbox_id = j.at("sandboxId").get<std::string>();
  r.config.name = j.at("name").get<std::string>();
  r.config.attempt = j.at("attempt").get<std::uint32_t>();
  r.config.image = j.at("image").get<std::string>();
  r.image_id = j.at("imageId").get<std::string>();
  r.config.labels = j.at("labels").get<std::map<std::string, std::string>>();
  r.config.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
  r.log_path = j.at("logPath").get<std::string>();
  r.cgroup = j.at("cgroup").get<std::string>();
  r.init_pid = j.at("initPid").get<int>();
  r.init_start = j.at("initStart").get<std::uint64_t>();
  r.shim_pid = j.at("shimPid").get<int>();
  r.created_at_ns = j.at("created").get<std::int64_t>();
  r.started_at_ns = j.at("started").get<std::int64_t>();
  r.backend = j.at("backend").get<std::string>() == "runc" ? Backend::Runc : Backend::Native;
  return r;
}

struct ExitRecord {
  int exit_code = 0;
  std::int64_t finished_ns = 0;
  long oom_kills = 0;
  int signal = 0;
  std::string start_error;
};

std::optional<ExitRecord> readExit(const std::string& dir) {
  auto t = readFile(dir + "/exit", 64 * 1024);
  if (!t || t->empty() || t->back() != '\n') return std::nullopt;  // absent or still being written
  ExitRecord e;
  std::istringstream in(*t);
  if (!(in >> e.exit_code >> e.finished_ns >> e.oom_kills >> e.signal)) return std::nullopt;
  std::getline(in, e.start_error);
  if (!e.start_error.empty() && e.start_error[0] == ' ') e.start_error.erase(0, 1);
  return e;
}

std::string findBinary(const std::string& configured, const char* name) {
  if (!configured.empty()) return configured;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = 0;
    std::string dir = dirName(self);
    // Build tree: binaries live in runtime/ next to the others' dirs.
    for (const std::string& cand :
         {dir + "/" + name, dir + "/../runtime/" + name, dir + "/../../runtime/" + name,
          dir + "/../../../runtime/" + name, dir + "/../lib/skiff/" + name}) {
      if (::access(cand.c_str(), X_OK) == 0) {
        char real[4096];
        if (::realpath(cand.c_str(), real)) return real;
      }
    }
  }
  for (const std::string& cand :
       {std::string("/usr/lib/skiff/") + name, std::string("/usr/local/bin/") + name,
        std::string("/usr/bin/") + name})
    if (::access(cand.c_str(), X_OK) == 0) return cand;
  return name;
}

class ExecSessionImpl : public ExecSession {
 public:
  ExecSessionImpl(pid_t pid, UniqueFd in, UniqueFd out, UniqueFd err, bool tty)
      : pid_(pid), in_(std::move(in)), out_(std::move(out)), err_(std::move(err)), tty_(tty) {}
  ~ExecSessionImpl() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
    }
  }
  int stdinFd() const override { return in_.get(); }
  int stdoutFd() const override { return out_.get(); }
  int stderrFd() const override { return err_.get(); }
  void closeStdin() override {
    if (tty_) {
      // EOF on a terminal is ^D at the start of a line.
      if (in_) (void)!::write(in_.get(), "\x04", 1);
      return;
    }
    in_.reset();
  }
  Result<void> resize(std::uint16_t cols, std::uint16_t rows) override {
    if (!tty_) return Error(ErrorCode::Invalid, "resize: the exec session has no TTY");
    struct winsize ws {};
    ws.ws_col = cols;
    ws.ws_row = rows;
    if (::ioctl(out_.get(), TIOCSWINSZ, &ws) != 0)
      return Error::fromErrno(errno, "resize terminal");
    return ok();
  }
  Result<int> wait() override {
    if (pid_ <= 0) return Error(ErrorCode::Conflict, "exec session already waited for");
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0) {
      if (errno != EINTR) return Error::fromErrno(errno, "wait for exec");
    }
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

 private:
  pid_t pid_;
  UniqueFd in_, out_, err_;
  bool tty_;
};

class RuntimeImpl : public Runtime {
 public:
  RuntimeImpl(RuntimeOptions o, ImageStorePtr images, sys::CgroupManagerPtr cg)
      : o_(std::move(o)),
        images_(std::move(images)),
        cg_(std::move(cg)),
        log_(log::get("runtime")) {
    shim_ = findBinary(o_.shim_path, "skiff-shim");
    init_ = findBinary("", "skiff-init");
  }

  Result<void> recover() {
    SKIFF_TRY(mkdirs(o_.state_dir + "/sandboxes"));
    SKIFF_TRY(mkdirs(o_.state_dir + "/containers"));
    SKIFF_TRY(mkdirs(o_.state_dir + "/runc"));
    for (const char* kind : {"sandboxes", "containers"}) {
      std::string base = o_.state_dir + "/" + kind;
      std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(base.c_str()), ::closedir);
      if (!d) return Error::fromErrno(errno, "open '" + base + "'");
      while (struct dirent* e = ::readdir(d.get())) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        std::string dir = base + "/" + name;
        std::string file = dir + (kind[0] == 's' ? "/sandbox.json" : "/state.json");
        auto text = readFile(file, 1 << 20);
        if (!text) {
          // A create that died before recording its state: nothing runs there.
          SKIFF_LOG_WARN(log_, "Removing incomplete state directory", kv("dir", dir));
          (void)::umount2((dir + "/rootfs").c_str(), MNT_DETACH);
          (void)removeTree(dir);
          continue;
        }
        json j = json::parse(*text, nullptr, false);
        try {
          if (kind[0] == 's') {
            auto s = sandboxFromJson(j, dir);
            sandboxes_[s.id] = s;
          } else {
            auto c = containerFromJson(j, dir);
            if (auto st = readFile(dir + "/started", 64))
              c.started_at_ns = std::strtoll(st->c_str(), nullptr, 10);
            containers_[c.id] = c;
            images_->markUsed(c.image_id, 1);
          }
        } catch (const std::exception& ex) {
          SKIFF_LOG_WARN(log_, "Ignoring unreadable state", kv("file", file),
                         kv("err", std::string(ex.what())));
        }
      }
    }
    if (!containers_.empty())
      SKIFF_LOG_INFO(log_, "Re-adopted containers", kv("count", containers_.size()),
                     kv("sandboxes", sandboxes_.size()));
    return ok();
  }

  Backend backend() const override { return o_.backend; }
  ImageStore& images() override { return *images_; }

  // ---- sandboxes ----

  Result<std::string> runPodSandbox(const PodSandboxConfig& config) override {
    if (config.metadata.name.empty() || config.metadata.uid.empty())
      return Error(ErrorCode::Invalid, "run pod sandbox: metadata name and uid are required");
    SandboxRecord s;
    s.id = randomId();
    s.config = config;
    s.created_at_ns = nowNs();
    s.dir = o_.state_dir + "/sandboxes/" + s.id;
    SKIFF_TRY(mkdirs(s.dir));
    ScopeExit rollback([&] {
      teardownSandboxNs(s);
      (void)removeTree(s.dir);
    });
    if (!config.host_network)
      s.netns = config.netns_path.empty() ? s.dir + "/net" : config.netns_path;
    s.ipcns = s.dir + "/ipc";
    s.utsns = s.dir + "/uts";
    s.config.netns_path = s.netns;
    SKIFF_TRY(createNamespaces(s));
    std::string text = sandboxToJson(s).dump();
    SKIFF_TRY(writeFileReplace(s.dir + "/sandbox.json", text, 0600));
    rollback.dismiss();
    std::lock_guard lk(mu_);
    sandboxes_[s.id] = s;
    SKIFF_LOG_INFO(log_, "Pod sandbox created",
                   kv("pod", config.metadata.namespace_ + "/" + config.metadata.name),
                   kv("podSandboxID", s.id));
    return s.id;
  }

  Result<void> stopPodSandbox(const std::string& id_in,
                              std::chrono::milliseconds timeout) override {
    SKIFF_ASSIGN_OR_RETURN(SandboxRecord s, findSandbox(id_in));
    for (const auto& c : containersOf(s.id)) SKIFF_TRY(stopContainer(c, timeout));
    std::lock_guard lk(mu_);
    auto it = sandboxes_.find(s.id);
    if (it == sandboxes_.end()) return ok();
    it->second.ready = false;
    return writeFileReplace(s.dir + "/sandbox.json", sandboxToJson(it->second).dump(), 0600);
  }

  Result<bool> removePodSandbox(const std::string& id_in) override {
    auto found = findSandbox(id_in);
    if (!found)
      return found.error().is(ErrorCode::NotFound) ? Result<bool>(false)
                                                   : Result<bool>(std::move(found).error());
    SandboxRecord s = *found;
    for (const auto& c : containersOf(s.id)) SKIFF_TRY(removeContainer(c));
    teardownSandboxNs(s);
    // The pod cgroup goes with its last container.
    (void)cg_->remove(podCgroup(s));
    SKIFF_TRY(removeTree(s.dir));
    std::lock_guard lk(mu_);
    sandboxes_.erase(s.id);
    SKIFF_LOG_INFO(log_, "Pod sandbox removed", kv("podSandboxID", s.id));
    return true;
  }

  Result<PodSandboxStatus> podSandboxStatus(const std::string& id) override {
    SKIFF_ASSIGN_OR_RETURN(SandboxRecord s, findSandbox(id));
    return toStatus(s);
  }

  Result<std::vector<PodSandboxStatus>> listPodSandbox(
      const std::map<std::string, std::string>& label_selector) override {
    std::lock_guard lk(mu_);
    std::vector<PodSandboxStatus> out;
    for (const auto& [id, s] : sandboxes_) {
      bool match = std::all_of(label_selector.begin(), label_selector.end(), [&](const auto& kv) {
        auto it = s.config.labels.find(kv.first);
        return it != s.config.labels.end() && it->second == kv.second;
      });
      if (match) out.push_back(toStatus(s));
    }
    return out;
  }

  // ---- containers ----

  Result<std::string> createContainer(const std::string& sandbox_id,
                                      const ContainerConfig& config) override {
    SKIFF_ASSIGN_OR_RETURN(SandboxRecord sb, findSandbox(sandbox_id));
    if (config.name.empty()) return Error(ErrorCode::Invalid, "create container: name is required");
    // The name is reserved for the duration of the create, so two concurrent creates of the same
    // container (a retrying caller) cannot both succeed.
    const std::string reservation =
        sb.id + "/" + config.name + "/" + std::to_string(config.attempt);
    {
      std::lock_guard lk(mu_);
      bool taken = reserved_.count(reservation) > 0;
      for (const auto& [id, c] : containers_)
        taken = taken || (c.sandbox_id == sb.id && c.config.name == config.name &&
                          c.config.attempt == config.attempt);
      if (taken)
        return Error(ErrorCode::AlreadyExists, "create container '" + config.name +
                                                   "': name already in use in sandbox (attempt " +
                                                   std::to_string(config.attempt) + ")");
      reserved_.insert(reservation);
    }
    ScopeExit unreserve([&] {
      std::lock_guard lk(mu_);
      reserved_.erase(reservation);
    });
    auto image = images_->get(config.image);
    if (!image) return std::move(image).error().wrap("create container '" + config.name + "'");
    SKIFF_ASSIGN_OR_RETURN(auto layers, images_->layerDirs(*image));
    SKIFF_ASSIGN_OR_RETURN(auto caps, effectiveCapabilities(config));

    ContainerRecord r;
    r.id = randomId();
    r.sandbox_id = sb.id;
    r.config = {config.name, config.attempt, config.image, config.labels, config.annotations};
    r.image_id = image->id;
    r.backend = o_.backend;
    r.created_at_ns = nowNs();
    r.dir = o_.state_dir + "/containers/" + r.id;
    r.cgroup = podCgroup(sb) + "/" + r.id;
    const auto& md = sb.config.metadata;
    r.log_path = o_.log_dir + "/" + md.namespace_ + "_" + md.name + "_" + md.uid + "/" +
                 config.name + "/" + std::to_string(config.attempt) + ".log";

    // Everything below is undone unless the create completes (DESIGN: a failed create leaves
    // nothing behind).
    bool mounted = false, cgroup_made = false;
    ScopeExit rollback([&] {
      if (r.init_pid > 0) ::kill(r.init_pid, SIGKILL);
      if (r.backend == Backend::Runc)
        (void)runCommand(
            {o_.runc_path, "--root", o_.state_dir + "/runc", "delete", "--force", r.id},
            std::chrono::seconds(10));
      if (mounted) (void)::umount2((r.dir + "/rootfs").c_str(), MNT_DETACH);
      if (cgroup_made || r.backend == Backend::Runc) (void)cg_->remove(r.cgroup);
      (void)removeTree(r.dir);
    });
    SKIFF_TRY(mkdirs(r.dir + "/rootfs"));
    SKIFF_TRY(mkdirs(r.dir + "/upper"));
    SKIFF_TRY(mkdirs(r.dir + "/work"));
    ::chmod((r.dir + "/upper").c_str(), 0755);
    ::chmod(r.dir.c_str(), 0711);
    SKIFF_TRY(mkdirs(dirName(r.log_path), 0755));
    {
      std::string lower;
      for (const auto& l : layers) lower += (lower.empty() ? "" : ":") + l;
      std::string opts =
          "lowerdir=" + lower + ",upperdir=" + r.dir + "/upper,workdir=" + r.dir + "/work";
      if (::mount("overlay", (r.dir + "/rootfs").c_str(), "overlay", 0, opts.c_str()) != 0)
        return Error::fromErrno(errno, "mount overlay rootfs for '" + config.name + "'");
      mounted = true;
    }

    LaunchSpec spec;
    spec.id = r.id;
    spec.rootfs = r.dir + "/rootfs";
    std::string user_spec = config.user.empty() ? image->config.user : config.user;
    auto user = resolveUser(spec.rootfs, user_spec);
    if (!user) return std::move(user).error().wrap("create container '" + config.name + "'");
    spec.uid = user->uid;
    spec.gid = user->gid;
    spec.additional_gids = user->groups;
    for (auto g : config.supplemental_groups)
      if (std::find(spec.additional_gids.begin(), spec.additional_gids.end(), g) ==
          spec.additional_gids.end())
        spec.additional_gids.push_back(g);
    // Kubernetes: command replaces Entrypoint, args replace Cmd.
    if (!config.command.empty()) {
      spec.args = config.command;
      spec.args.insert(spec.args.end(), config.args.begin(), config.args.end());
    } else {
      spec.args = image->config.entrypoint;
      const auto& cmd = config.args.empty() ? image->config.cmd : config.args;
      spec.args.insert(spec.args.end(), cmd.begin(), cmd.end());
    }
    if (spec.args.empty())
      return Error(ErrorCode::Invalid,
                   "create container '" + config.name + "': no command specified");
    spec.env = mergeEnv(image->config.env, config.env,
                        sb.config.hostname.empty() ? md.name : sb.config.hostname, user->home);
    spec.cwd = !config.working_dir.empty()
                   ? config.working_dir
                   : (image->config.working_dir.empty() ? "/" : image->config.working_dir);
    if (spec.cwd[0] != '/')
      return Error(ErrorCode::Invalid,
                   "create container '" + config.name + "': workingDir must be absolute");
    spec.netns = sb.netns;
    spec.ipcns = sb.ipcns;
    spec.utsns = sb.utsns;
    spec.mounts = config.mounts;
    for (const auto& m : spec.mounts)
      if (m.container_path.empty() || m.container_path[0] != '/')
        return Error(ErrorCode::Invalid, "create container '" + config.name + "': mount path '" +
                                             m.container_path + "' must be absolute");
    if (!config.privileged) {
      spec.masked_paths = defaultMaskedPaths();
      spec.readonly_paths = defaultReadonlyPaths();
    }
    spec.capabilities = caps;
    spec.privileged = config.privileged;
    spec.no_new_privs = config.no_new_privs;
    spec.seccomp = !config.seccomp_unconfined;
    if (spec.seccomp && !spec.privileged && o_.backend == Backend::Native) {
      SKIFF_ASSIGN_OR_RETURN(spec.seccomp_program, seccompProgramFile(caps));
    }
    spec.readonly_rootfs = config.readonly_rootfs;
    if (config.oom_score_adj < -1000 || config.oom_score_adj > 1000)
      return Error(ErrorCode::Invalid, "create container '" + config.name + "': oom_score_adj " +
                                           std::to_string(config.oom_score_adj) +
                                           " out of [-1000, 1000]");
    spec.oom_score_adj = config.oom_score_adj;
    spec.rlimits = config.rlimits;
    spec.start_fifo = r.dir + "/start.fifo";

    std::vector<std::string> shim_args = {shim_,
                                          "--dir",
                                          r.dir,
                                          "--log",
                                          r.log_path,
                                          "--log-max-size",
                                          std::to_string(o_.container_log_max_size),
                                          "--log-max-files",
                                          std::to_string(o_.container_log_max_files),
                                          "--sync-fd",
                                          "3",
                                          "--oom-file",
                                          cg_->oomFile(r.cgroup)};
    if (config.stdin_open) shim_args.push_back("--stdin");
    if (config.stdin_open && config.stdin_once) shim_args.push_back("--stdin-once");
    if (config.tty) shim_args.push_back("--tty");
    if (o_.backend == Backend::Native) {
      SKIFF_TRY(cg_->create(r.cgroup, config.resources, config.privileged));
      cgroup_made = true;
      spec.cgroup_procs = cg_->joinFiles(r.cgroup);
      SKIFF_TRY(writeFileNew(r.dir + "/spec.json", toJson(spec).dump(), 0600));
      if (::mkfifo(spec.start_fifo.c_str(), 0622) != 0)
        return Error::fromErrno(errno, "create start fifo");
      ::chmod(spec.start_fifo.c_str(), 0622);
      shim_args.insert(shim_args.end(), {"--native", init_, r.dir + "/spec.json"});
    } else {
      // exec needs the process spec too (exec joins the namespaces itself).
      spec.cgroup_procs = cg_->joinFiles(r.cgroup);
      SKIFF_TRY(writeFileNew(r.dir + "/spec.json", toJson(spec).dump(), 0600));
      SKIFF_TRY(writeFileNew(r.dir + "/config.json",
                             ociConfig(spec, "/" + r.cgroup, config.resources).dump(1), 0600));
      shim_args.insert(shim_args.end(),
                       {"--runc", o_.runc_path, o_.state_dir + "/runc", r.dir, r.id});
    }

    int sync[2];
    if (::pipe2(sync, O_CLOEXEC) != 0) return Error::fromErrno(errno, "create sync pipe");
    UniqueFd sync_r(sync[0]), sync_w(sync[1]);
    SKIFF_TRY(spawnDetached(shim_args, sync_w.get()));
    sync_w.reset();
    SKIFF_ASSIGN_OR_RETURN(std::string msg, readUntilEof(sync_r.get(), std::chrono::seconds(60)));
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    if (msg.rfind("ok ", 0) != 0) {
      std::string why = msg.rfind("error ", 0) == 0
                            ? msg.substr(6)
                            : (msg.empty() ? "shim exited without a report" : msg);
      return Error(ErrorCode::Internal, "create container '" + config.name + "': " + why);
    }
    {
      std::istringstream in(msg.substr(3));
      in >> r.init_pid >> r.shim_pid;
    }
    r.init_start = processStartTime(r.init_pid);
    // state.json is written once; until it exists, recover() treats the dir as debris.
    SKIFF_TRY(writeFileNew(r.dir + "/state.json", containerToJson(r).dump(), 0600));
    rollback.dismiss();
    images_->markUsed(r.image_id, 1);
    std::lock_guard lk(mu_);
    containers_[r.id] = r;
    SKIFF_LOG_INFO(log_, "Container created", kv("container", config.name), kv("containerID", r.id),
                   kv("backend", std::string(backendName(r.backend))));
    return r.id;
  }

  Result<void> startContainer(const std::string& id_in) override {
    SKIFF_ASSIGN_OR_RETURN(ContainerRecord r, findContainer(id_in));
    ContainerStatus st = statusOf(r);
    if (st.state != ContainerState::Created)
      return Error(ErrorCode::Conflict, "start container '" + r.config.name + "': container is " +
                                            std::string(containerStateName(st.state)));
    // Recorded before the process runs: a short-lived container may exit before start returns.
    r.started_at_ns = nowNs();
    if (r.backend == Backend::Native) {
      UniqueFd fifo(::open((r.dir + "/start.fifo").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
      if (!fifo)
        return Error::fromErrno(errno, "start container '" + r.config.name + "': open start fifo");
      struct pollfd p {
        fifo.get(), POLLIN, 0
      };
      int rc = ::poll(&p, 1, 10000);
      char b = 0;
      if (rc <= 0 || ::read(fifo.get(), &b, 1) != 1)
        return Error(ErrorCode::Internal,
                     "start container '" + r.config.name + "': the container init did not respond");
      ::unlink((r.dir + "/start.fifo").c_str());
    } else {
      SKIFF_ASSIGN_OR_RETURN(
          RunResult res, runCommand({o_.runc_path, "--root", o_.state_dir + "/runc", "start", r.id},
                                    std::chrono::seconds(30)));
      if (res.exit_code != 0)
        return Error(ErrorCode::Internal,
                     "start container '" + r.config.name + "': runc start: " + res.err);
    }
    // A separate record rather than a rewrite of state.json: never a window without valid state.
    SKIFF_TRY(writeFileNew(r.dir + "/started", std::to_string(r.started_at_ns), 0600));
    std::lock_guard lk(mu_);
    containers_[r.id] = r;
    SKIFF_LOG_INFO(log_, "Container started", kv("container", r.config.name),
                   kv("containerID", r.id));
    return ok();
  }

  Result<void> stopContainer(const std::string& id_in, std::chrono::milliseconds timeout) override {
    SKIFF_ASSIGN_OR_RETURN(ContainerRecord r, findContainer(id_in));
    ContainerStatus st = statusOf(r);
    if (st.state == ContainerState::Exited || st.state == ContainerState::Unknown) return ok();
    if (st.state == ContainerState::Running && timeout.count() > 0) {
      ::kill(r.init_pid, SIGTERM);
      if (waitExit(r, timeout)) return ok();
    }
    if (processAlive(r.init_pid, r.init_start)) ::kill(r.init_pid, SIGKILL);
    if (!waitExit(r, std::chrono::seconds(10)))
      return Error(ErrorCode::Timeout,
                   "stop container '" + r.config.name + "': still running 10s after SIGKILL");
    SKIFF_LOG_INFO(log_, "Container stopped", kv("containerID", r.id));
    return ok();
  }

  Result<bool> removeContainer(const std::string& id_in) override {
    auto found = findContainer(id_in);
    if (!found)
      return found.error().is(ErrorCode::NotFound) ? Result<bool>(false)
                                                   : Result<bool>(std::move(found).error());
    ContainerRecord r = *found;
    SKIFF_TRY(stopContainer(r.id, std::chrono::milliseconds(0)));
    if (r.backend == Backend::Runc)
      (void)runCommand({o_.runc_path, "--root", o_.state_dir + "/runc", "delete", "--force", r.id},
                       std::chrono::seconds(30));
    if (::umount2((r.dir + "/rootfs").c_str(), MNT_DETACH) != 0 && errno != EINVAL &&
        errno != ENOENT)
      return Error::fromErrno(errno, "remove container: unmount rootfs");
    SKIFF_TRY(cg_->remove(r.cgroup));
    SKIFF_TRY(removeTree(r.dir));
    images_->markUsed(r.image_id, -1);
    std::lock_guard lk(mu_);
    containers_.erase(r.id);
    SKIFF_LOG_INFO(log_, "Container removed", kv("containerID", r.id));
    return true;
  }

  Result<std::vector<ContainerStatus>> listContainers(const ContainerFilter& filter) override {
    std::vector<ContainerRecord> all;
    {
      std::lock_guard lk(mu_);
      for (const auto& [id, c] : containers_) {
        if (!filter.sandbox_id.empty() && c.sandbox_id.rfind(filter.sandbox_id, 0) != 0) continue;
        all.push_back(c);
      }
    }
    std::vector<ContainerStatus> out;
    for (const auto& c : all) {
      ContainerStatus s = statusOf(c);
      if (filter.state && s.state != *filter.state) continue;
      out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.created_at_ns < b.created_at_ns; });
    return out;
  }

  Result<ContainerStatus> containerStatus(const std::string& id) override {
    SKIFF_ASSIGN_OR_RETURN(ContainerRecord r, findContainer(id));
    return statusOf(r);
  }

  Result<ContainerStatus> waitContainer(const std::string& id,
                                        std::chrono::milliseconds timeout) override {
    SKIFF_ASSIGN_OR_RETURN(ContainerRecord r, findContainer(id));
    if (!waitExit(r, timeout))
      return Error(ErrorCode::Timeout, "container '" + r.config.name + "' still running");
    return statusOf(r);
  }

  Result<ExecSyncResult> execSync(const std::string& id, const std::vector<std::string>& cmd,
                                  std::chrono::milliseconds timeout) override {
    SKIFF_ASSIGN_OR_RETURN(ContainerRecord r, findContainer(id));
    SKIFF_TRY(checkRunning(r, "exec"));
    if (cmd.empty()) return Error(ErrorCode::Invalid, "exec: empty command");
    std::vector<std::string> argv = {init_, "exec", r.dir + "/spec.json",
                                     std::to_string(r.init_pid), "--"};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    SKIFF_ASSIGN_OR_RETURN(RunResult res, runCommand(argv, timeout));
    return ExecSyncResult{res.exit_code, std::move(res.out), std::move(res.err)};
  }

  Result<std::unique_ptr<ExecSession>> exec(const std::string& id,
                                            const ExecOptions& opts) override {
    SKIFF_ASSIGN_OR_RETURN(ContainerRecord r, findContainer(id));
    SKIFF_TRY(checkRunning(r, "exec"));
    if (opts.cmd.empty()) return Error(ErrorCode::Invalid, "exec: empty command");
    std::vector<std::string> argv = {init_, "exec", r.dir + "/spec.json",
                                     std::to_string(r.init_pid)};
    for (const auto& e : opts.env) {
      if (e.find('=') == std::string::npos || e[0] == '=')
        return Error(ErrorCode::Invalid, "exec: bad env '" + e + "'");
      argv.insert(argv.end(), {"-e", e});
    }
    argv.push_back("--");
    argv.insert(argv.end(), opts.cmd.begin(), opts.cmd.end());
    UniqueFd in_w, out_r, err_r;
    int child_in = -1, child_out = -1, child_err = -1;
    UniqueFd keep_in, keep_out, keep_err;
    if (opts.tty) {
      // The pty comes from the container's own devpts instance (as runc's console socket does),
      // so the process sees /dev/pts/N inside the container.
      std::string ptmx = "/proc/" + std::to_string(r.init_pid) + "/root/dev/pts/ptmx";
      int master = ::open(ptmx.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (master < 0) return Error::fromErrno(errno, "exec: open '" + ptmx + "'");
      int unlock = 0;
      if (::ioctl(master, TIOCSPTLCK, &unlock) != 0) {
        ::close(master);
        return Error::fromErrno(errno, "exec: unlock pty");
      }
      int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (slave < 0) {
        ::close(master);
        return Error::fromErrno(errno, "exec: open pty peer");
      }
      keep_in.reset(slave);
      child_in = child_out = child_err = slave;
      in_w.reset(master);
      out_r.reset(::fcntl(master, F_DUPFD_CLOEXEC, 0));
    } else {
      int p[2];
      if (opts.stdin_open) {
        if (::pipe2(p, O_CLOEXEC) != 0) return Error::fromErrno(errno, "pipe");
        keep_in.reset(p[0]);
        in_w.reset(p[1]);
        child_in = p[0];
      }
      if (::pipe2(p, O_CLOEXEC) != 0) return Error::fromErrno(errno, "pipe");
      out_r.reset(p[0]);
      keep_out.reset(p[1]);
      child_out = p[1];
      if (::pipe2(p, O_CLOEXEC) != 0) return Error::fromErrno(errno, "pipe");
      err_r.reset(p[0]);
      keep_err.reset(p[1]);
      child_err = p[1];
    }
    // A tty session gets a session of its own, as the pty's foreground process would.
    SKIFF_ASSIGN_OR_RETURN(pid_t pid, spawnProcess(argv, {.stdin_fd = child_in,
                                                          .stdout_fd = child_out,
                                                          .stderr_fd = child_err,
                                                          .new_session = opts.tty}));
    return std::unique_ptr<ExecSession>(std::make_unique<ExecSessionImpl>(
        pid, std::move(in_w), std::move(out_r), std::move(err_r), opts.tty));
  }

  Result<std::unique_ptr<ExecSession>> attach(const std::string& id, bool stdin_open) override {
    SKIFF_ASSIGN_OR_RETURN(ContainerRecord r, findContainer(id));
    // A created container's shim already serves attach: attaching before the start sees all
    // of the output.
    auto state = statusOf(r).state;
    if (state != ContainerState::Running && state != ContainerState::Created)
      return Error(ErrorCode::Conflict, "attach: container '" + r.config.name + "' is not running");
    return connectAttach(r.dir, r.config.name, stdin_open);
  }

  Result<ContainerStats> containerStats(const std::string& id) override {
    SKIFF_ASSIGN_OR_RETURN(ContainerRecord r, findContainer(id));
    SKIFF_ASSIGN_OR_RETURN(sys::CgroupUsage u, cg_->usage(r.cgroup));
    ContainerStats s;
    s.id = r.id;
    s.timestamp_ns = nowNs();
    s.cpu_usage_core_ns = u.cpu_usage_ns;
    s.memory_usage_bytes = u.memory_usage_bytes;
    s.memory_working_set_bytes = u.memory_working_set_bytes;
    return s;
  }

 private:
  // The default seccomp profile for `caps`, compiled once per capability set (per runtime) into
  // <state_dir>/seccomp/<program digest>.bpf, which skiff-init loads as is.
  Result<std::string> seccompProgramFile(const std::vector<std::string>& caps) {
    std::string key;
    for (const auto& c : caps) key += c + ",";
    {
      std::lock_guard lk(mu_);
      if (auto it = seccomp_files_.find(key); it != seccomp_files_.end()) return it->second;
    }
    SKIFF_ASSIGN_OR_RETURN(std::string program, compileDefaultSeccomp(caps));
    std::string dir = o_.state_dir + "/seccomp";
    SKIFF_TRY(mkdirs(dir));
    // Named by content: an existing file of that name holds the same program.
    std::string path = dir + "/" + digestHex(sha256Digest(program)).substr(0, 32) + ".bpf";
    // Creates in parallel may both write it: each renames a whole file of its own over the
    // path (writeFileReplace), and the content is the same.
    if (::access(path.c_str(), F_OK) != 0) SKIFF_TRY(writeFileReplace(path, program, 0600));
    std::lock_guard lk(mu_);
    seccomp_files_[key] = path;
    return path;
  }

  std::string podCgroup(const SandboxRecord& s) const {
    std::string base = o_.cgroup_parent.empty() ? "kubepods" : o_.cgroup_parent + "/kubepods";
    switch (s.config.qos) {
      case QosClass::Guaranteed:
        return base + "/pod" + s.config.metadata.uid;
      case QosClass::Burstable:
        return base + "/burstable/pod" + s.config.metadata.uid;
      case QosClass::BestEffort:
        return base + "/besteffort/pod" + s.config.metadata.uid;
    }
    return base;
  }

  static std::vector<std::string> mergeEnv(const std::vector<std::string>& image_env,
                                           const std::vector<std::string>& extra,
                                           const std::string& hostname, const std::string& home) {
    std::vector<std::string> out;
    auto set = [&](const std::string& kvs) {
      auto eq = kvs.find('=');
      std::string k = kvs.substr(0, eq);
      for (auto& e : out)
        if (e.substr(0, e.find('=')) == k) {
          e = kvs;
          return;
        }
      out.push_back(kvs);
    };
    set("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    set("HOSTNAME=" + hostname);
    for (const auto& e : image_env) set(e);
    for (const auto& e : extra) set(e);
    bool has_home = std::any_of(out.begin(), out.end(),
                                [](const std::string& e) { return e.rfind("HOME=", 0) == 0; });
    if (!has_home) set("HOME=" + home);
    return out;
  }

  Result<void> createNamespaces(const SandboxRecord& s) {
    // Prepare everything before fork: the child only makes syscalls.
    std::vector<std::pair<std::string, std::string>> binds;  // /proc/self/ns/x -> file
    int flags = CLONE_NEWIPC | CLONE_NEWUTS;
    if (!s.netns.empty()) {
      flags |= CLONE_NEWNET;
      binds.emplace_back("/proc/self/ns/net", s.netns);
      SKIFF_TRY(mkdirs(dirName(s.netns), 0755));
    }
    binds.emplace_back("/proc/self/ns/ipc", s.ipcns);
    binds.emplace_back("/proc/self/ns/uts", s.utsns);
    for (const auto& [src, dst] : binds) {
      UniqueFd f(::open(dst.c_str(), O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, 0444));
      if (!f) return Error::fromErrno(errno, "create namespace file '" + dst + "'");
    }
    std::string hostname = s.config.hostname.empty() ? s.config.metadata.name : s.config.hostname;
    if (hostname.size() > 64) hostname.resize(64);
    // The child reports the step that failed and its errno; the message is built here, since
    // the child may only make syscalls (runInVforkChild).
    struct Failure {
      int err;
      const char* what;
    } failure{0, nullptr};
    auto child = [&]() -> int {
      auto die = [&](const char* what) {
        failure = {errno, what};
        return 1;
      };
      if (::unshare(flags) != 0) return die("unshare namespaces");
      if (::sethostname(hostname.data(), hostname.size()) != 0) return die("set hostname");
      if (flags & CLONE_NEWNET) {
        // Bring up lo in the new namespace (what the CNI loopback plugin does).
        int sk = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr {};
        std::memcpy(ifr.ifr_name, "lo", 3);
        if (sk < 0 || ::ioctl(sk, SIOCGIFFLAGS, &ifr) != 0) return die("get lo flags");
        ifr.ifr_flags |= IFF_UP;
        if (::ioctl(sk, SIOCSIFFLAGS, &ifr) != 0) return die("bring lo up");
        ::close(sk);
      }
      for (const auto& [src, dst] : binds)
        if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) != 0)
          return die("bind namespace");
      return 0;
    };
    SKIFF_ASSIGN_OR_RETURN(int status, runInVforkChild(child));
    if (failure.what != nullptr)
      return Error::fromErrno(failure.err,
                              std::string("create sandbox namespaces: ") + failure.what);
    if (status != 0)
      return Error(ErrorCode::Internal, "create sandbox namespaces: helper exited with status " +
                                            std::to_string(status));
    return ok();
  }

  void teardownSandboxNs(const SandboxRecord& s) {
    for (const auto& f : {s.netns, s.ipcns, s.utsns}) {
      if (f.empty()) continue;
      (void)::umount2(f.c_str(), MNT_DETACH);
      (void)::unlink(f.c_str());
    }
  }

  PodSandboxStatus toStatus(const SandboxRecord& s) const {
    PodSandboxStatus st;
    st.id = s.id;
    st.metadata = s.config.metadata;
    st.state = s.ready ? SandboxState::Ready : SandboxState::NotReady;
    st.created_at_ns = s.created_at_ns;
    st.netns_path = s.netns;
    const auto& md = s.config.metadata;
    st.log_directory = o_.log_dir + "/" + md.namespace_ + "_" + md.name + "_" + md.uid;
    st.labels = s.config.labels;
    st.annotations = s.config.annotations;
    return st;
  }

  std::vector<std::string> containersOf(const std::string& sandbox) {
    std::lock_guard lk(mu_);
    std::vector<std::string> out;
    for (const auto& [id, c] : containers_)
      if (c.sandbox_id == sandbox) out.push_back(id);
    return out;
  }

  template <typename M>
  static Result<typename M::mapped_type> findIn(const M& m, const std::string& id,
                                                const char* what) {
    if (auto it = m.find(id); it != m.end()) return it->second;
    if (id.size() >= 4) {
      const typename M::mapped_type* hit = nullptr;
      int n = 0;
      for (const auto& [k, v] : m)
        if (k.rfind(id, 0) == 0) {
          hit = &v;
          ++n;
        }
      if (n == 1) return *hit;
      if (n > 1)
        return Error(ErrorCode::Invalid,
                     std::string(what) + " id prefix '" + id + "' is ambiguous");
    }
    return Error(ErrorCode::NotFound, std::string(what) + " '" + id + "' not found");
  }

  Result<SandboxRecord> findSandbox(const std::string& id) {
    std::lock_guard lk(mu_);
    return findIn(sandboxes_, id, "pod sandbox");
  }

  Result<ContainerRecord> findContainer(const std::string& id) {
    std::lock_guard lk(mu_);
    auto r = findIn(containers_, id, "container");
    if (r) return r;
    // Also by name (the CLI's convenience), when unique.
    const ContainerRecord* hit = nullptr;
    int n = 0;
    for (const auto& [k, c] : containers_)
      if (c.config.name == id) {
        hit = &c;
        ++n;
      }
    if (n == 1) return *hit;
    return r;
  }

  Result<void> checkRunning(const ContainerRecord& r, const char* what) {
    if (statusOf(r).state != ContainerState::Running)
      return Error(ErrorCode::Conflict,
                   std::string(what) + ": container '" + r.config.name + "' is not running");
    return ok();
  }

  // Waits for the shim's exit record. The shim exits right after writing it, so a pidfd of the
  // shim wakes us (re-checking at least every 50 ms, should the pid be stale). Not inotify:
  // closing an inotify instance waits for an SRCU grace period, 5-20 ms here, on every wait.
  bool waitExit(const ContainerRecord& r, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    UniqueFd pidfd(r.shim_pid > 0 ? static_cast<int>(::syscall(SYS_pidfd_open, r.shim_pid, 0))
                                  : -1);
    while (true) {
      auto st = statusOf(r).state;
      if (st == ContainerState::Exited || st == ContainerState::Unknown) return true;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      int wait_ms = static_cast<int>(std::min<std::int64_t>(left.count(), 50));
      if (pidfd) {
        struct pollfd p {
          pidfd.get(), POLLIN, 0
        };
        if (::poll(&p, 1, wait_ms) > 0) pidfd.reset();  // exited: from now on the record decides
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(wait_ms, 5)));
      }
    }
  }

  ContainerStatus statusOf(const ContainerRecord& r) {
    ContainerStatus s;
    s.id = r.id;
    s.sandbox_id = r.sandbox_id;
    s.name = r.config.name;
    s.attempt = r.config.attempt;
    s.image = r.config.image;
    s.image_ref = r.image_id;
    s.created_at_ns = r.created_at_ns;
    s.started_at_ns = r.started_at_ns;
    s.log_path = r.log_path;
    s.labels = r.config.labels;
    s.annotations = r.config.annotations;
    if (auto e = readExit(r.dir)) {
      s.state = ContainerState::Exited;
      s.exit_code = e->exit_code;
      s.finished_at_ns = e->finished_ns;
      if (e->oom_kills > 0 && (e->signal == SIGKILL || e->exit_code == 137)) {
        s.reason = "OOMKilled";
      } else if (r.started_at_ns == 0 || !e->start_error.empty()) {
        s.reason = "StartError";
        s.message = e->start_error;
      } else {
        s.reason = e->exit_code == 0 ? "Completed" : "Error";
      }
      return s;
    }
    if (processAlive(r.init_pid, r.init_start) || processAlive(r.shim_pid, 0)) {
      s.pid = r.init_pid;
      s.state = r.started_at_ns == 0 ? ContainerState::Created : ContainerState::Running;
      // runc: between `runc start` and our record the init may already run.
      return s;
    }
    // Neither an exit record nor a live shim: the shim was killed (or the host rebooted).
    s.state = ContainerState::Exited;
    s.exit_code = 255;
    s.reason = "Unknown";
    s.message = "the container's shim is gone without recording an exit status";
    return s;
  }

  RuntimeOptions o_;
  ImageStorePtr images_;
  sys::CgroupManagerPtr cg_;
  std::shared_ptr<spdlog::logger> log_;
  std::string shim_, init_;
  std::mutex mu_;
  std::map<std::string, SandboxRecord> sandboxes_;
  std::map<std::string, ContainerRecord> containers_;
  std::set<std::string> reserved_;                    // sandbox/name/attempt of creates in progress
  std::map<std::string, std::string> seccomp_files_;  // capability set -> compiled program file
};

}  // namespace

std::string_view backendName(Backend b) { return b == Backend::Runc ? "runc" : "native"; }

Result<Backend> parseBackend(std::string_view name) {
  if (name == "native") return Backend::Native;
  if (name == "runc") return Backend::Runc;
  return Error(ErrorCode::Invalid,
               "unknown runtime backend '" + std::string(name) + "' (native, runc)");
}

std::string_view containerStateName(ContainerState s) {
  switch (s) {
    case ContainerState::Created:
      return "Created";
    case ContainerState::Running:
      return "Running";
    case ContainerState::Exited:
      return "Exited";
    case ContainerState::Unknown:
      return "Unknown";
  }
  return "Unknown";
}

Result<RuntimePtr> createRuntime(const RuntimeOptions& options) {
  RuntimeOptions o = options;
  if (o.state_dir.empty()) return Error(ErrorCode::Invalid, "runtime: state dir is required");
  if (o.image_dir.empty()) o.image_dir = o.state_dir + "/images";
  SKIFF_TRY(mkdirs(o.state_dir));
  SKIFF_TRY(mkdirs(o.log_dir, 0755));
  SKIFF_ASSIGN_OR_RETURN(ImageStorePtr images, openImageStore(o.image_dir));
  auto version = sys::detectCgroupVersion(o.cgroup_root);
  SKIFF_TRY(sys::checkCgroupRoot(o.cgroup_root, version));
  auto cg = sys::makeCgroupManager(o.cgroup_root, version);
  auto rt = std::make_unique<RuntimeImpl>(o, std::move(images), std::move(cg));
  SKIFF_TRY(rt->recover());
  return RuntimePtr(std::move(rt));
}

}  // namespace skiff::runtime
