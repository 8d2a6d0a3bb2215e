#pragma once

// The default seccomp profile: the syscalls Docker/containerd's default profile refuses to a
// container without CAP_SYS_ADMIN (mount, unshare, setns, keyctl, module loading, kexec, bpf,
// reboot, clock setting, ...). Expressed as a deny list with EPERM (ENOSYS for clone3, so libc
// falls back to clone, whose namespace flags are then refused by argument).

#include <string>
#include <vector>

#include "skiff/common/result.h"

namespace skiff::runtime {

struct SeccompRule {
  std::string syscall;
  int errno_value;
};

// The rules for a container holding `capabilities` (CAP_SYS_ADMIN lifts the admin group, etc.).
std::vector<SeccompRule> defaultSeccompRules(const std::vector<std::string>& capabilities);

// Loads the filter into the calling thread (libseccomp); syscalls unknown to this arch are skipped.
Result<void> loadDefaultSeccomp(const std::vector<std::string>& capabilities);

// The same filter compiled to classic BPF (struct sock_filter[] as bytes), not loaded: the
// runtime compiles it once per capability set and skiff-init only loads it.
Result<std::string> compileDefaultSeccomp(const std::vector<std::string>& capabilities);
// Loads a program compileDefaultSeccomp produced (seccomp(SECCOMP_SET_MODE_FILTER); needs
// CAP_SYS_ADMIN or no_new_privs, as libseccomp's load).
Result<void> loadSeccompProgram(const std::string& program);

}  // namespace skiff::runtime
