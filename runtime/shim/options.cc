// The shim's command line (see shim_main.cc for the usage line).
#include <cstdlib>

#include "shim.h"

namespace skiff::shim {

bool parseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](std::string& v) {
      if (i + 1 >= argc) return false;
      v = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--dir") {
      if (!next(o.dir)) return false;
    } else if (a == "--log") {
      if (!next(o.log)) return false;
    } else if (a == "--oom-file") {
      if (!next(o.oom_file)) return false;
    } else if (a == "--stdin")
      o.stdin_open = true;
    else if (a == "--stdin-once")
      o.stdin_once = true;
    else if (a == "--tty")
      o.tty = true;
    else if (a == "--log-max-size") {
      if (!next(v)) return false;
      o.log_max_size = std::strtoull(v.c_str(), nullptr, 10);
    } else if (a == "--log-max-files") {
      if (!next(v)) return false;
      o.log_max_files = std::atoi(v.c_str());
    } else if (a == "--sync-fd") {
      if (!next(v)) return false;
      o.sync_fd = std::atoi(v.c_str());
    } else if (a == "--native") {
      o.native = true;
      if (!next(o.init_path) || !next(o.spec)) return false;
    } else if (a == "--runc") {
      o.native = false;
      if (!next(o.runc) || !next(o.runc_root) || !next(o.bundle) || !next(o.id)) return false;
    } else
      return false;
  }
  return !o.dir.empty() && !o.log.empty() && o.sync_fd >= 0 &&
         (o.native ? !o.spec.empty() : !o.id.empty());
}

}  // namespace skiff::shim
