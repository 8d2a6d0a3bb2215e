// Runs inside a container (static, bind-mounted in) and reports what the kernel says to the
// syscalls a default container must not be able to make: one "name=result" per line.
#include <errno.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char* name, long rc) {
  printf("%s=%s\n", name, rc == 0 ? "ok" : (errno == EPERM ? "EPERM" : strerrorname_np(errno)));
}

int main() {
  report("mount", mount("tmpfs", "/tmp", "tmpfs", 0, nullptr));
  report("unshare", unshare(CLONE_NEWNS));
  report("unshare_net", unshare(CLONE_NEWNET));
  report("init_module", syscall(SYS_init_module, nullptr, 0, ""));
  report("finit_module", syscall(SYS_finit_module, -1, "", 0));
  report("delete_module", syscall(SYS_delete_module, "nonexistent", 0));
  report("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
  report("add_key", syscall(SYS_add_key, "user", "skiff", "x", 1, KEY_SPEC_SESSION_KEYRING));
  report("kexec_load", syscall(SYS_kexec_load, 0, 0, nullptr, 0));
  report("reboot", syscall(SYS_reboot, 0, 0, 0, nullptr));
  report("swapoff", syscall(SYS_swapoff, "/nonexistent"));
  report("settimeofday", syscall(SYS_settimeofday, nullptr, nullptr));
  return 0;
}
