// Start latency of a busybox `true` container, create -> exit:
//   native   skiff runtime, native backend (createContainer + startContainer + wait)
//   runc-be  skiff runtime, runc backend (same API, runc create/start underneath)
//   runc run `runc run` on an equivalent OCI bundle (the reference the issue names)
//   floor    `unshare --pid --fork --mount --uts --ipc --net true` (namespaces alone)
// all measured in the same run, N iterations each, reporting median and p99.
// Usage: skiff_runtime_bench [iterations]   (root)
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/log.h"
#include "skiff/common/spawn.h"
#include "skiff/runtime/runtime.h"

using namespace skiff::runtime;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Stats {
  double median, p99;
};

Stats stats(std::vector<double> v) {
  if (v.empty()) return {0, 0};
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
  };
  return {at(0.5), at(0.99)};
}

int runArgv(const std::vector<std::string>& argv) {
  auto pid = skiff::spawnProcess(argv, {.stdout_fd = 1, .stderr_fd = 2, .search_path = true});
  return pid ? skiff::waitForExit(*pid) : 127;
}

std::vector<double> benchRuntime(Backend b, const std::string& dir, const std::string& images,
                                 int n, const std::string& cgparent) {
  RuntimeOptions o;
  o.backend = b;
  o.state_dir = dir + "/state";
  o.image_dir = images;
  o.log_dir = dir + "/logs";
  o.cgroup_parent = cgparent;
  auto cgroups = skiff::hostinfo::detectCgroups({});
  if (cgroups) o.cgroup_mode = cgroups->mode;
  auto rt = createRuntime(o);
  if (!rt) {
    std::fprintf(stderr, "runtime: %s\n", rt.error().message().c_str());
    std::exit(1);
  }
  PodSandboxConfig sc;
  sc.metadata = {"bench", "bench-uid", "default", 0};
  auto sb = (*rt)->runPodSandbox(sc);
  if (!sb) std::exit(1);
  std::vector<double> out;
  for (int i = 0; i < n + 2; ++i) {
    ContainerConfig c;
    c.name = "true";
    c.attempt = static_cast<std::uint32_t>(i);
    c.image = "busybox";
    c.command = {"true"};
    auto t0 = Clock::now();
    auto id = (*rt)->createContainer(*sb, c);
    if (!id) {
      std::fprintf(stderr, "create: %s\n", id.error().message().c_str());
      std::exit(1);
    }
    auto tc = Clock::now();
    if (auto s = (*rt)->startContainer(*id); !s) std::exit(1);
    auto ts = Clock::now();
    auto st = (*rt)->waitContainer(*id, std::chrono::seconds(30));
    auto t1 = Clock::now();
    if (std::getenv("SKIFF_BENCH_DETAIL") && st) {
      // Within wait: start -> the shim reaped the init (exec, run, exit, namespace teardown),
      // then reaped -> waitContainer saw the exit record.
      auto real_now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
      double run = static_cast<double>(st->finished_at_ns - st->started_at_ns) / 1e6;
      double notice =
          static_cast<double>(real_now - st->finished_at_ns) / 1e6 - ms(Clock::now() - t1);
      std::fprintf(
          stderr, "%s create %.2f start %.2f wait %.2f (run+exit %.2f, exit noticed %.2f)\n",
          std::string(backendName(b)).c_str(), ms(tc - t0), ms(ts - tc), ms(t1 - ts), run, notice);
    }
    if (!st || st->exit_code != 0) {
      std::fprintf(stderr, "container failed\n");
      std::exit(1);
    }
    if (i >= 2) out.push_back(ms(t1 - t0));  // two warm-up runs
    (void)(*rt)->removeContainer(*id);
  }
  (void)(*rt)->removePodSandbox(*sb);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (::geteuid() != 0) {
    std::puts("skipped: needs root");
    return 0;
  }
  skiff::log::setup("warn", true);
  int n = argc > 1 ? std::atoi(argv[1]) : 50;
  char tmpl[] = "/tmp/skiff-bench-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string cgparent = "skiff-bench-" + std::to_string(::getpid());
  {
    auto store = openImageStore(dir + "/images");
    if (!store || !(*store)->importArchive(SKIFF_BUSYBOX_IMAGE)) return 1;
  }

  // SKIFF_BENCH_ONLY=native|runc-backend|runc-run|floor runs one mode (e.g. under `perf stat`
  // to compare CPU time per start, which a loaded machine does not distort).
  std::string only = std::getenv("SKIFF_BENCH_ONLY") ? std::getenv("SKIFF_BENCH_ONLY") : "";
  auto want = [&](const char* m) { return only.empty() || only == m; };
  std::vector<double> zero{0.0};
  auto native = want("native")
                    ? benchRuntime(Backend::Native, dir + "/n", dir + "/images", n, cgparent)
                    : zero;
  auto runcbe = want("runc-backend")
                    ? benchRuntime(Backend::Runc, dir + "/r", dir + "/images", n, cgparent)
                    : zero;

  // runc run: the same rootfs (the unpacked busybox layer, read-only) and an equivalent config.
  std::string bundle = dir + "/bundle";
  fs::create_directories(bundle);
  std::string layer;
  for (const auto& e : fs::directory_iterator(dir + "/images/layers/sha256")) layer = e.path();
  runArgv({"runc", "spec", "--bundle", bundle});
  nlohmann::json spec;
  {
    std::ifstream in(bundle + "/config.json");
    in >> spec;
  }
  spec["root"] = {{"path", layer}, {"readonly", true}};
  spec["process"]["terminal"] = false;
  spec["process"]["args"] = {"true"};
  spec["linux"]["cgroupsPath"] = "/" + cgparent + "/runc-run";
  {
    std::ofstream out(bundle + "/config.json");
    out << spec.dump();
  }
  std::vector<double> runc = zero;
  if (want("runc-run")) runc.clear();
  for (int i = 0; want("runc-run") && i < n + 2; ++i) {
    std::string id = "skiff-bench-" + std::to_string(i);
    auto t0 = Clock::now();
    int rc = runArgv({"runc", "--root", dir + "/runc-root", "run", "--bundle", bundle, id});
    auto t1 = Clock::now();
    if (rc != 0) {
      std::fprintf(stderr, "runc run failed: %d\n", rc);
      return 1;
    }
    if (i >= 2) runc.push_back(ms(t1 - t0));
  }
  std::vector<double> floor = zero;
  if (want("floor")) floor.clear();
  for (int i = 0; want("floor") && i < n + 2; ++i) {
    auto t0 = Clock::now();
    runArgv({"unshare", "--pid", "--fork", "--mount", "--uts", "--ipc", "--net", "true"});
    auto t1 = Clock::now();
    if (i >= 2) floor.push_back(ms(t1 - t0));
  }

  Stats sn = stats(native), sb = stats(runcbe), sr = stats(runc), sf = stats(floor);
  std::printf("busybox `true`, create -> exit, %d runs each (ms)\n", n);
  std::printf("%-34s %8s %8s\n", "", "median", "p99");
  std::printf("%-34s %8.2f %8.2f\n", "skiff native backend", sn.median, sn.p99);
  std::printf("%-34s %8.2f %8.2f\n", "skiff runc backend", sb.median, sb.p99);
  std::printf("%-34s %8.2f %8.2f\n", "runc run (reference)", sr.median, sr.p99);
  std::printf("%-34s %8.2f %8.2f\n", "floor: unshare -pfmuin true", sf.median, sf.p99);
  std::printf("ratio runc run / native (median): %.1fx   target: native <= 10 ms and >= 5x\n",
              sr.median / sn.median);

  // Cleanup: runc run removed its containers; remove the temp tree and cgroups.
  for (const auto& h : fs::directory_iterator("/sys/fs/cgroup")) {
    fs::path top = h.path() / cgparent;
    if (!fs::exists(top)) continue;
    std::vector<fs::path> dirs;
    for (auto& e : fs::recursive_directory_iterator(top))
      if (e.is_directory()) dirs.push_back(e.path());
    dirs.push_back(top);
    std::sort(dirs.begin(), dirs.end(),
              [](auto& a, auto& b) { return a.string().size() > b.string().size(); });
    for (auto& d : dirs) ::rmdir(d.c_str());
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
