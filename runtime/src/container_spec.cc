#include "container_spec.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "skiff/common/unique_fd.h"

namespace skiff::runtime {
namespace {

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

std::vector<std::string> splitColons(const std::string& line) {
  std::vector<std::string> f;
  std::stringstream ls(line);
  for (std::string x; std::getline(ls, x, ':');) f.push_back(x);
  return f;
}

// The passwd entry of `user` (a name, a uid, or empty for uid 0); its name, or "" if none.
std::string findPasswdEntry(const std::string& passwd, const std::string& user, ResolvedUser& u) {
  std::istringstream pin(passwd);
  for (std::string line; std::getline(pin, line);) {
    auto f = splitColons(line);
    if (f.size() < 7 || !isNumber(f[2]) || !isNumber(f[3])) continue;
    if ((user.empty() && f[2] == "0") || f[0] == user || (isNumber(user) && f[2] == user)) {
      u.uid = static_cast<std::uint32_t>(std::stoul(f[2]));
      u.gid = static_cast<std::uint32_t>(std::stoul(f[3]));
      u.home = f[5].empty() ? "/" : f[5];
      return f[0];
    }
  }
  return "";
}

}  // namespace

Result<ResolvedUser> resolveUser(const std::string& rootfs, const std::string& spec) {
  ResolvedUser u;
  std::string user = spec, group;
  if (auto c = spec.find(':'); c != std::string::npos) {
    user = spec.substr(0, c);
    group = spec.substr(c + 1);
  }
  std::string name = findPasswdEntry(readInRoot(rootfs, "/etc/passwd"), user, u);
  if (name.empty()) {
    if (user.empty()) user = "0";
    if (!isNumber(user))
      return Error(ErrorCode::Invalid,
                   "unable to find user " + user + ": no matching entries in passwd file");
    u.uid = static_cast<std::uint32_t>(std::stoul(user));
    u.gid = 0;  // runc: a numeric uid not in passwd runs with gid 0
  }
  std::istringstream gin(readInRoot(rootfs, "/etc/group"));
  bool group_found = group.empty();
  for (std::string line; std::getline(gin, line);) {
    auto f = splitColons(line);
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

std::vector<std::string> mergeEnv(const std::vector<std::string>& image_env,
                                  const std::vector<std::string>& extra,
                                  const std::string& hostname, const std::string& home) {
  std::vector<std::string> out;
  auto set = [&](const std::string& kvs) {
    std::string k = kvs.substr(0, kvs.find('='));
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

Result<LaunchSpec> buildLaunchSpec(const ContainerConfig& config, const Image& image,
                                   const PodSandboxConfig& sandbox, const std::string& rootfs,
                                   std::vector<std::string> capabilities) {
  const std::string what = "create container '" + config.name + "'";
  LaunchSpec spec;
  spec.rootfs = rootfs;
  auto user = resolveUser(rootfs, config.user.empty() ? image.config.user : config.user);
  if (!user) return std::move(user).error().wrap(what);
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
    spec.args = image.config.entrypoint;
    const auto& cmd = config.args.empty() ? image.config.cmd : config.args;
    spec.args.insert(spec.args.end(), cmd.begin(), cmd.end());
  }
  if (spec.args.empty()) return Error(ErrorCode::Invalid, what + ": no command specified");
  spec.env =
      mergeEnv(image.config.env, config.env,
               sandbox.hostname.empty() ? sandbox.metadata.name : sandbox.hostname, user->home);
  spec.cwd = !config.working_dir.empty()
                 ? config.working_dir
                 : (image.config.working_dir.empty() ? "/" : image.config.working_dir);
  if (spec.cwd[0] != '/') return Error(ErrorCode::Invalid, what + ": workingDir must be absolute");
  spec.mounts = config.mounts;
  for (const auto& m : spec.mounts)
    if (m.container_path.empty() || m.container_path[0] != '/')
      return Error(ErrorCode::Invalid,
                   what + ": mount path '" + m.container_path + "' must be absolute");
  if (!config.privileged) {
    spec.masked_paths = defaultMaskedPaths();
    spec.readonly_paths = defaultReadonlyPaths();
  }
  spec.capabilities = std::move(capabilities);
  spec.privileged = config.privileged;
  spec.no_new_privs = config.no_new_privs;
  spec.seccomp = !config.seccomp_unconfined;
  spec.readonly_rootfs = config.readonly_rootfs;
  if (config.oom_score_adj < -1000 || config.oom_score_adj > 1000)
    return Error(
        ErrorCode::Invalid,
        what + ": oom_score_adj " + std::to_string(config.oom_score_adj) + " out of [-1000, 1000]");
  spec.oom_score_adj = config.oom_score_adj;
  spec.rlimits = config.rlimits;
  return spec;
}

}  // namespace skiff::runtime
