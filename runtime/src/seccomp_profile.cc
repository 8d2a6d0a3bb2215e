#include "seccomp_profile.h"

#include <linux/filter.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace skiff::runtime {
namespace {

bool has(const std::vector<std::string>& caps, const char* c) {
  return std::find(caps.begin(), caps.end(), c) != caps.end();
}

}  // namespace

std::vector<SeccompRule> defaultSeccompRules(const std::vector<std::string>& caps) {
  std::vector<SeccompRule> r;
  auto deny = [&](std::initializer_list<const char*> names) {
    for (const char* n : names) r.push_back({n, EPERM});
  };
  // Never allowed in Docker's default profile (obsolete or host-wide).
  deny({"acct",
        "add_key",
        "request_key",
        "keyctl",
        "uselib",
        "lookup_dcookie",
        "nfsservctl",
        "create_module",
        "get_kernel_syms",
        "query_module",
        "_sysctl",
        "sysfs",
        "ustat",
        "vm86",
        "vm86old",
        "userfaultfd",
        "kexec_file_load",
        "kexec_load",
        "open_by_handle_at",
        "name_to_handle_at",
        "fsconfig",
        "fsmount",
        "fsopen",
        "fspick",
        "move_mount",
        "open_tree",
        "mount_setattr"});
  if (!has(caps, "CAP_SYS_ADMIN"))
    deny({"mount", "umount", "umount2", "unshare", "setns", "pivot_root", "quotactl", "quotactl_fd",
          "lookup_dcookie", "perf_event_open", "fanotify_init", "bpf", "swapon", "swapoff",
          "syslog", "setdomainname", "sethostname"});
  if (!has(caps, "CAP_SYS_MODULE")) deny({"init_module", "finit_module", "delete_module"});
  if (!has(caps, "CAP_SYS_BOOT")) deny({"reboot"});
  if (!has(caps, "CAP_SYS_TIME"))
    deny({"settimeofday", "stime", "clock_settime", "clock_settime64", "adjtimex", "clock_adjtime",
          "clock_adjtime64"});
  if (!has(caps, "CAP_SYS_RAWIO")) deny({"iopl", "ioperm"});
  if (!has(caps, "CAP_SYS_PTRACE"))
    deny({"kcmp", "process_vm_readv", "process_vm_writev", "ptrace"});
  if (!has(caps, "CAP_SYS_NICE")) deny({"move_pages", "mbind", "set_mempolicy", "get_mempolicy"});
  if (!has(caps, "CAP_SYS_PACCT")) deny({"acct"});
  // clone3 carries flags in memory seccomp cannot read: ENOSYS makes glibc use clone().
  r.push_back({"clone3", ENOSYS});
  return r;
}

namespace {

using SeccompCtx = std::unique_ptr<void, void (*)(scmp_filter_ctx)>;

Result<SeccompCtx> buildFilter(const std::vector<std::string>& caps) {
  SeccompCtx ctx(seccomp_init(SCMP_ACT_ALLOW), seccomp_release);
  if (!ctx) return Error(ErrorCode::Internal, "seccomp_init failed");
  for (const auto& rule : defaultSeccompRules(caps)) {
    int nr = seccomp_syscall_resolve_name(rule.syscall.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    int rc = seccomp_rule_add(ctx.get(),
                              SCMP_ACT_ERRNO(static_cast<std::uint16_t>(rule.errno_value)), nr, 0);
    if (rc < 0 && rc != -EEXIST)
      return Error::fromErrno(-rc, "add seccomp rule for '" + rule.syscall + "'");
  }
  if (!has(caps, "CAP_SYS_ADMIN")) {
    // clone() with any namespace flag: the same refusal as unshare().
    // clone() with any namespace flag set: the same refusal as unshare(). One rule per flag
    // (libseccomp ORs rules; a masked compare per bit means "this flag is set").
    int rc = 0;
    for (std::uint64_t bit :
         {std::uint64_t(CLONE_NEWNS), std::uint64_t(CLONE_NEWUTS), std::uint64_t(CLONE_NEWIPC),
          std::uint64_t(CLONE_NEWUSER), std::uint64_t(CLONE_NEWPID), std::uint64_t(CLONE_NEWNET),
          std::uint64_t(CLONE_NEWCGROUP)}) {
      rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                            SCMP_A0(SCMP_CMP_MASKED_EQ, bit, bit));
      if (rc < 0 && rc != -EEXIST) return Error::fromErrno(-rc, "add seccomp rule for clone flags");
    }
  }
  return ctx;
}

}  // namespace

Result<void> loadDefaultSeccomp(const std::vector<std::string>& caps) {
  SKIFF_ASSIGN_OR_RETURN(SeccompCtx ctx, buildFilter(caps));
  int rc = seccomp_load(ctx.get());
  if (rc < 0) return Error::fromErrno(-rc, "load seccomp filter");
  return ok();
}

Result<std::string> compileDefaultSeccomp(const std::vector<std::string>& caps) {
  SKIFF_ASSIGN_OR_RETURN(SeccompCtx ctx, buildFilter(caps));
  int fd = ::memfd_create("seccomp-bpf", MFD_CLOEXEC);
  if (fd < 0) return Error::fromErrno(errno, "compile seccomp filter: memfd");
  std::unique_ptr<int, void (*)(int*)> guard(&fd, [](int* f) { ::close(*f); });
  int rc = seccomp_export_bpf(ctx.get(), fd);
  if (rc < 0) return Error::fromErrno(-rc, "compile seccomp filter");
  std::string out;
  char buf[4096];
  ssize_t n;
  ::lseek(fd, 0, SEEK_SET);
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  if (out.empty() || out.size() % sizeof(struct sock_filter) != 0)
    return Error(ErrorCode::Internal,
                 "compile seccomp filter: bad program size " + std::to_string(out.size()));
  return out;
}

Result<void> loadSeccompProgram(const std::string& program) {
  if (program.empty() || program.size() % sizeof(struct sock_filter) != 0 ||
      program.size() / sizeof(struct sock_filter) > BPF_MAXINSNS)
    return Error(ErrorCode::Invalid,
                 "load seccomp program: bad size " + std::to_string(program.size()));
  std::vector<struct sock_filter> insns(program.size() / sizeof(struct sock_filter));
  std::memcpy(insns.data(), program.data(), program.size());
  struct sock_fprog prog {};
  prog.len = static_cast<unsigned short>(insns.size());
  prog.filter = insns.data();
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
    return Error::fromErrno(errno, "load seccomp program");
  return ok();
}

}  // namespace skiff::runtime
