#include <sched.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>

#include <cerrno>
#include <vector>

#include "skiff/hostinfo/sys/host_sys.h"

namespace skiff::hostinfo::sys {
namespace {

class RealHostSys final : public HostSys {
 public:
  // skiff::hostinfo::sys::HostSys
  Result<Uname> uname() override {
    struct utsname u {};
    if (::uname(&u) != 0) return Error::fromErrno(errno, "uname");
    return Uname{u.sysname, u.nodename, u.release, u.version, u.machine};
  }

  Result<std::vector<int>> schedGetAffinity() override {
    // Start with the glibc default set size and grow for hosts with more than 1024 CPUs.
    for (int ncpus = CPU_SETSIZE; ncpus <= (1 << 20); ncpus *= 2) {
      cpu_set_t* set = CPU_ALLOC(ncpus);
      if (set == nullptr) return Error::fromErrno(ENOMEM, "sched_getaffinity");
      const std::size_t size = CPU_ALLOC_SIZE(ncpus);
      CPU_ZERO_S(size, set);
      if (::sched_getaffinity(0, size, set) != 0) {
        int e = errno;
        CPU_FREE(set);
        if (e == EINVAL) continue;  // set too small for the kernel's cpumask
        return Error::fromErrno(e, "sched_getaffinity");
      }
      std::vector<int> cpus;
      for (int cpu = 0; cpu < ncpus; ++cpu) {
        if (CPU_ISSET_S(cpu, size, set)) cpus.push_back(cpu);
      }
      CPU_FREE(set);
      return cpus;
    }
    return Error(ErrorCode::Internal, "sched_getaffinity: cpu mask larger than 1048576 cpus");
  }

  Result<FsStats> statfs(const std::string& path) override {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0) return Error::fromErrno(errno, "statfs '" + path + "'");
    const std::uint64_t frsize = st.f_frsize;
    return FsStats{st.f_blocks * frsize, st.f_bfree * frsize, st.f_bavail * frsize, st.f_files,
                   st.f_ffree};
  }
};

}  // namespace

HostSysPtr makeRealHostSys() { return std::make_unique<RealHostSys>(); }

}  // namespace skiff::hostinfo::sys
