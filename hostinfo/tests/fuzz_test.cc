// Feeds every parser random bytes, every prefix of a real file and randomly mutated real files
// (fixed seed, a few thousand inputs; CI runs it under ASan/UBSan). A parser must return a value
// or an error with a message; it must never crash, hang or read out of bounds.
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "skiff/common/quantity.h"
#include "skiff/hostinfo/cgroups.h"
#include "skiff/hostinfo/cpu_list.h"
#include "skiff/hostinfo/cpuinfo.h"
#include "skiff/hostinfo/meminfo.h"
#include "skiff/hostinfo/node_name.h"
#include "skiff/hostinfo/os_release.h"
#include "skiff/hostinfo/resource_flags.h"
#include "test_util.h"

namespace skiff::hostinfo {
namespace {

struct Parser {
  const char* name;
  std::string seed;  // a real input to truncate and mutate
  std::function<std::string(std::string_view)> run;  // "" on success, else the error message
};

template <typename R>
std::string outcome(const R& r) {
  return r ? std::string() : r.error().message();
}

std::vector<Parser> parsers() {
  const std::string deb = "debian12-x86_64-hybrid";
  return {
      {"cpuinfo-x86", test::fixtureFile(deb, "/proc/cpuinfo"),
       [](std::string_view s) { return outcome(parseCpuInfo(s, "/proc/cpuinfo")); }},
      {"cpuinfo-arm", test::fixtureFile("raspios-bookworm-arm64", "/proc/cpuinfo"),
       [](std::string_view s) { return outcome(parseCpuInfo(s, "/proc/cpuinfo")); }},
      {"cpuinfo-s390x", test::fixtureFile("cpuinfo", "/s390x"),
       [](std::string_view s) { return outcome(parseCpuInfo(s, "/proc/cpuinfo")); }},
      {"meminfo", test::fixtureFile(deb, "/proc/meminfo"),
       [](std::string_view s) { return outcome(parseMemInfo(s, "/proc/meminfo")); }},
      {"os-release", test::fixtureFile("rhel9-x86_64", "/etc/os-release"),
       [](std::string_view s) { return outcome(parseOsRelease(s, "/etc/os-release")); }},
      {"mountinfo", test::fixtureFile("container-cpuset-memcg", "/proc/self/mountinfo"),
       [](std::string_view s) { return outcome(parseMountInfo(s, "/proc/self/mountinfo")); }},
      {"cgroups", test::fixtureFile(deb, "/proc/cgroups"),
       [](std::string_view s) { return outcome(parseProcCgroups(s, "/proc/cgroups")); }},
      {"self-cgroup", test::fixtureFile(deb, "/proc/self/cgroup"),
       [](std::string_view s) { return outcome(parseProcSelfCgroup(s, "/proc/self/cgroup")); }},
      {"cpu-list", "0-3,8,10-11\n",
       [](std::string_view s) { return outcome(parseCpuList(s, "cpuset.cpus")); }},
      {"quantity", "1.5Gi",
       [](std::string_view s) {
         auto q = Quantity::parse(s);
         if (q) {
           (void)q->toString();
           (void)q->milliValue();
           (void)q->add(*q);
         }
         return outcome(q);
       }},
      {"reserved", "cpu=100m,memory=256Mi,ephemeral-storage=1Gi",
       [](std::string_view s) { return outcome(parseReservedFlag(s, "--kube-reserved")); }},
      {"eviction", kDefaultEvictionHard,
       [](std::string_view s) { return outcome(parseEvictionThresholds(s)); }},
      {"node-name", "worker-1.example.com",
       [](std::string_view s) { return outcome(resolveNodeName(std::string(s), "h")); }},
  };
}

TEST(FuzzTest, ParsersSurviveTruncatedRandomAndMutatedInput) {
  std::mt19937 rng(20241123);
  std::size_t inputs = 0;
  for (const auto& p : parsers()) {
    SCOPED_TRACE(p.name);
    ASSERT_FALSE(p.seed.empty());
    EXPECT_EQ(p.run(p.seed), "") << "the seed input itself must parse";
    auto check = [&](std::string_view input) {
      ++inputs;
      std::string err = p.run(input);
      // An error always says something; success needs no check beyond not crashing.
      if (!err.empty()) {
        EXPECT_GT(err.size(), 5u);
      }
    };
    // Every prefix (for long files, every 7th plus the last 64).
    for (std::size_t n = 0; n <= p.seed.size(); ++n) {
      if (p.seed.size() > 400 && n % 7 != 0 && n + 64 < p.seed.size()) continue;
      check(std::string_view(p.seed).substr(0, n));
    }
    // Random bytes, random printable text.
    for (int i = 0; i < 150; ++i) {
      std::string s(rng() % 200, '\0');
      for (auto& c : s) c = static_cast<char>(rng() % 256);
      check(s);
      for (auto& c : s) c = "0123456789-.:,<=%eEKMGTimnuk \t\n#\"'\\/abc"[rng() % 40];
      check(s);
    }
    // Mutations of the real input: flip, insert, delete bytes.
    for (int i = 0; i < 150; ++i) {
      std::string s = p.seed;
      for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
        const std::size_t at = s.empty() ? 0 : rng() % s.size();
        switch (rng() % 3) {
          case 0: if (!s.empty()) s[at] = static_cast<char>(rng() % 256); break;
          case 1: s.insert(at, 1, static_cast<char>(rng() % 256)); break;
          default: if (!s.empty()) s.erase(at, 1); break;
        }
      }
      check(s);
    }
  }
  EXPECT_GT(inputs, 3000u);
}

}  // namespace
}  // namespace skiff::hostinfo
