// Starting `/bin/true` and waiting for it from a process shaped like the agent with pods: a
// 20 MB heap that 4 threads keep writing. The reference is fork()+execv, what the agent did
// for exec probes and exec sessions before spawnProcess; both run here, in the same process.
// The minor faults per start are the parent's (getrusage): with fork they are the
// copy-on-write faults its threads take on pages they write after each fork.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "skiff/common/spawn.h"

namespace {

long minorFaults() {
  rusage r{};
  ::getrusage(RUSAGE_SELF, &r);
  return r.ru_minflt;
}

void BM_ForkExec(benchmark::State& state) {
  char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
  long faults = minorFaults();
  for (auto _ : state) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execv(argv[0], argv);
      ::_exit(127);
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
  }
  state.counters["parent_faults"] = benchmark::Counter(static_cast<double>(minorFaults() - faults),
                                                       benchmark::Counter::kAvgIterations);
}

void BM_SpawnProcess(benchmark::State& state) {
  long faults = minorFaults();
  for (auto _ : state) {
    auto pid = skiff::spawnProcess({"/bin/true"});
    if (!pid) {
      state.SkipWithError(pid.error().message().c_str());
      break;
    }
    skiff::waitForExit(*pid);
  }
  state.counters["parent_faults"] = benchmark::Counter(static_cast<double>(minorFaults() - faults),
                                                       benchmark::Counter::kAvgIterations);
}

BENCHMARK(BM_ForkExec)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_SpawnProcess)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  // The busy heap: one write per page every millisecond from each of 4 threads.
  std::vector<char> heap(20 << 20, 1);
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      while (!stop) {
        for (std::size_t i = static_cast<std::size_t>(t) * 4096; i < heap.size(); i += 4 * 4096)
          heap[i]++;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  stop = true;
  for (auto& w : writers) w.join();
  return 0;
}
