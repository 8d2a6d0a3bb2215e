// netproxy_sync_bench [--skiff-only] [--proxy-mode iptables|nftables] [--shard-size N]
//                     [services=10000] [endpoints=5] [rounds=5]
//
// --proxy-mode nftables first measures the nftables mode (skiff's netlink batches vs `nft -f` of
// the same ruleset / the same one-Service change as text, and vs `nft -f` of the same Services
// in one unsharded table as kube-proxy lays them out; the RSS growth), then runs the iptables
// mode below on the same cluster in the same run. --shard-size: Services per shard table.
// --skiff-only (nftables): only skiff's own syncs, for profiling.
//
// Measures, inside network namespaces it creates and deletes (root required):
//  1. full sync of the whole rule set: skiff (ServiceProxy over libiptc) vs
//     `iptables-legacy-restore` of the same rules rendered as text by the same code;
//  2. one changed Service (one endpoint replaced) at that scale: skiff's partial sync vs
//     `iptables-legacy-restore --noflush` of exactly the chains that changed;
//  3. the proxy's retained state, and the process's peak RSS.
// and prints where skiff's time goes (xtables lock, table fetch, user-space build, commit).

#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "skiff/common/log.h"
#include "skiff/common/run_command.h"
#include "skiff/common/unique_fd.h"
#include "skiff/netproxy/nft_rules.h"
#include "skiff/netproxy/proxy_rules.h"
#include "skiff/netproxy/service_proxy.h"
#include "skiff/netproxy/service_tracker.h"
#include "skiff/netproxy/sys/iptables.h"
#include "skiff/netproxy/sys/nftables.h"
#include "skiff/netproxy/testing/fake_nftables.h"

using namespace skiff;
using namespace skiff::netproxy;
using Clock = std::chrono::steady_clock;

namespace {

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

struct Netns {
  std::string name;
  explicit Netns(std::string n) : name(std::move(n)) {
    sh("ip netns del " + name + " 2>/dev/null");
    if (sh("ip netns add " + name) != 0) {
      std::fprintf(stderr, "cannot create netns %s (need root)\n", name.c_str());
      std::exit(2);
    }
  }
  ~Netns() { sh("ip netns del " + name); }
};

struct Enter {
  UniqueFd home;
  explicit Enter(const std::string& path) {
    home.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    UniqueFd t(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!t || ::setns(t.get(), CLONE_NEWNET) != 0) {
      std::perror("setns");
      std::exit(2);
    }
  }
  ~Enter() { (void)::setns(home.get(), CLONE_NEWNET); }
};

// One whole-list sync of `proxy` inside the namespace `netns`, timed into `took_ms`; a failure
// is printed.
std::optional<SyncResult> timedSync(ServiceProxy& proxy, const std::string& netns,
                                    const std::vector<ServicePort>& ports, const EndpointMap& eps,
                                    double& took_ms) {
  Enter in("/run/netns/" + netns);
  auto t0 = Clock::now();
  auto r = proxy.sync(ports, eps);
  took_ms = ms(Clock::now() - t0);
  if (!r) {
    std::fprintf(stderr, "skiff sync failed: %s\n", r.error().message().c_str());
    return std::nullopt;
  }
  return *r;
}

void buildCluster(int services, int eps_per, std::vector<ServicePort>& ports, EndpointMap& eps) {
  for (int s = 0; s < services; ++s) {
    ServicePort sp;
    sp.id = {"ns" + std::to_string(s % 50), "svc" + std::to_string(s), "http"};
    sp.cluster_ip = Ipv4{0x0a600000u + 1 + static_cast<uint32_t>(s)};  // 10.96.0.1...
    sp.port = 80;
    auto& list = eps[sp.key()];
    for (int e = 0; e < eps_per; ++e) {
      Endpoint ep;
      ep.ip = Ipv4{0x0af40000u + static_cast<uint32_t>(s * eps_per + e) + 2};  // 10.244.x.y
      ep.port = 8080;
      list.push_back(ep);
    }
    ports.push_back(std::move(sp));
  }
}

// The API objects behind buildCluster's ports, as the agent's informers hand them to the
// proxy's change tracker: a v1 Service and one discovery.k8s.io/v1 EndpointSlice per Service.
nlohmann::json serviceJson(const ServicePort& sp) {
  return {{"metadata", {{"namespace", sp.id.ns}, {"name", sp.id.name}}},
          {"spec",
           {{"clusterIP", sp.cluster_ip.str()},
            {"ports", {{{"name", sp.id.port}, {"port", sp.port}, {"protocol", "TCP"}}}}}}};
}

nlohmann::json sliceJson(const ServicePort& sp, const std::vector<Endpoint>& list) {
  nlohmann::json eps = nlohmann::json::array();
  for (const Endpoint& e : list) {
    eps.push_back({{"addresses", {e.ip.str()}}, {"conditions", {{"ready", e.ready}}}});
  }
  return {
      {"metadata",
       {{"namespace", sp.id.ns},
        {"name", sp.id.name + "-abcde"},
        {"labels", {{"kubernetes.io/service-name", sp.id.name}}}}},
      {"addressType", "IPv4"},
      {"ports",
       {{{"name", sp.id.port}, {"port", list.empty() ? 8080 : list[0].port}, {"protocol", "TCP"}}}},
      {"endpoints", eps}};
}

// The chains whose content differs between two rule sets (the reference's --noflush input).
std::vector<sys::TableChange> diff(const Ruleset& before, const Ruleset& after) {
  std::vector<sys::TableChange> out;
  for (auto [b, a] :
       {std::pair{&before.filter, &after.filter}, std::pair{&before.nat, &after.nat}}) {
    std::map<std::string, std::string> old;
    for (const Chain& c : b->chains) {
      std::string text;
      for (const Rule& r : c.rules) text += render(r) + "\n";
      old[c.name] = std::move(text);
    }
    sys::TableChange t;
    t.table = a->name;
    for (const Chain& c : a->chains) {
      std::string text;
      for (const Rule& r : c.rules) text += render(r) + "\n";
      auto it = old.find(c.name);
      if (it == old.end() || it->second != text) t.write.push_back(c);
      if (it != old.end()) old.erase(it);
    }
    for (auto& [name, text] : old) t.remove.push_back(name);
    if (!t.empty()) out.push_back(std::move(t));
  }
  return out;
}

double restore(const std::string& netns, const std::string& text, bool noflush) {
  std::vector<std::string> argv = {"ip", "netns", "exec", netns, "iptables-legacy-restore", "-w"};
  if (noflush) argv.push_back("--noflush");
  auto t0 = Clock::now();
  auto r = runCommand(argv, {.stdin_data = text, .merge_stderr = true});
  double took = ms(Clock::now() - t0);
  if (!r || r->exit_code != 0) {
    std::fprintf(stderr, "iptables-legacy-restore failed: %s\n",
                 r ? r->out.c_str() : r.error().message().c_str());
    std::exit(1);
  }
  return took;
}

std::size_t countRules(const Ruleset& rs) {
  std::size_t n = rs.filter.jumps.size() + rs.nat.jumps.size();
  for (const auto* t : {&rs.filter, &rs.nat}) {
    for (const Chain& c : t->chains) n += c.rules.size();
  }
  return n;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

// Resident set size of this process, from /proc/self/status (VmRSS, KiB).
long rssKib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

double nftLoad(const std::string& netns, const std::string& text) {
  std::string path = "/tmp/netproxy-bench-" + std::to_string(::getpid()) + ".nft";
  std::ofstream(path) << text;
  auto t0 = Clock::now();
  auto r = runCommand({"ip", "netns", "exec", netns, "nft", "-f", path}, {.merge_stderr = true});
  double took = ms(Clock::now() - t0);
  ::unlink(path.c_str());
  if (!r || r->exit_code != 0) {
    std::fprintf(stderr, "nft -f failed: %s\n", r ? r->out.c_str() : r.error().message().c_str());
    std::exit(1);
  }
  return took;
}

// nftables mode: skiff's netlink batches vs `nft -f` of the same changes as text, in two
// namespaces; the one-Service batch is what a second proxy (on the fake) sent for that change.
std::string nftText(const std::vector<nft::Batch>& batches) {
  std::string text;
  for (const nft::Batch& b : batches) text += nft::nftText(b);
  return text;
}

// `nft -f` of the same Services in a single shard (one table holding every Service chain, as
// kube-proxy's nftables mode has them), in a namespace of its own: the reference.
double unshardedLoad(const ProxyConfig& cfg, const std::vector<ServicePort>& ports,
                     const EndpointMap& eps) {
  Netns one("snp-bench-nftone");
  return nftLoad(one.name, nftText(nftrules::fullBatches(cfg, ports, eps, ports.size() + 1)));
}

// The members of every `{ ... }` list (a map's `elements = { ... }`, possibly over several
// lines, and a rule's anonymous `vmap { ... }`) in sorted order, on one line: the kernel lists a
// hash set's elements in its hash table's order, which is seeded per set.
std::string sortLists(const std::string& block) {
  std::string out;
  std::size_t pos = 0;
  for (;;) {
    std::size_t open = block.find("{ ", pos);
    if (open == std::string::npos) break;
    std::size_t close = block.find('}', open);
    if (close == std::string::npos) break;
    out.append(block, pos, open + 2 - pos);
    std::vector<std::string> items;
    std::istringstream in(block.substr(open + 2, close - open - 2));
    for (std::string item; std::getline(in, item, ',');) {
      auto b = item.find_first_not_of(" \t\n"), e = item.find_last_not_of(" \t\n");
      if (b != std::string::npos) items.push_back(item.substr(b, e - b + 1));
    }
    std::sort(items.begin(), items.end());
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
    out += " }";
    pos = close + 1;
  }
  return out + block.substr(pos);
}

// `nft list ruleset` normalised for comparison: tables in name order, the chains, maps and sets
// of each table in name order, every element list sorted. The kernel lists tables and chains in
// the order they were created, and skiff (shards first, main last, for a large full sync) and
// nft -f of the same text create them in different orders, which says nothing about their
// contents.
std::string listRuleset(const std::string& netns) {
  auto r = runCommand({"ip", "netns", "exec", netns, "nft", "list", "ruleset"});
  if (!r || r->exit_code != 0) return "(nft list ruleset failed)";
  struct Table {
    std::string header;
    std::vector<std::string> blocks;
  };
  std::vector<Table> tables;
  std::istringstream in(r->out);
  bool in_block = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("table ", 0) == 0 || tables.empty()) {
      tables.push_back({line + "\n", {}});
      in_block = false;
    } else if (line.size() > 1 && line[0] == '\t' && line[1] != '\t' && line != "\t}") {
      tables.back().blocks.push_back(line + "\n");  // "\tchain x {", "\tmap y {", ...
      in_block = true;
    } else if (in_block && !line.empty() && line != "}") {
      tables.back().blocks.back() += line + "\n";
    }
  }
  std::vector<std::string> texts;
  for (Table& t : tables) {
    for (std::string& b : t.blocks) b = sortLists(b);
    std::sort(t.blocks.begin(), t.blocks.end());
    std::string text = t.header;
    for (const std::string& b : t.blocks) text += b;
    texts.push_back(std::move(text));
  }
  std::sort(texts.begin(), texts.end());
  std::string out;
  for (const auto& t : texts) out += t;
  return out;
}

int runNftables(const std::vector<ServicePort>& ports_in, EndpointMap eps, int services,
                int eps_per, int rounds, std::size_t shard_size, bool skiff_only) {
  std::vector<ServicePort> ports = ports_in;
  ProxyConfig cfg;
  cfg.hostname = "bench-node";
  cfg.cluster_cidr = *Cidr::parse("10.244.0.0/16");
  auto full = nftrules::fullBatches(cfg, ports, eps, shard_size);
  std::string text = nftText(full);
  std::size_t rules = 0, chains = 0;
  for (const nft::Batch& b : full) {
    for (const nft::Op& op : b.ops) {
      rules += std::holds_alternative<nft::op::AddRule>(op);
      chains += std::holds_alternative<nft::op::AddChain>(op);
    }
  }
  std::printf(
      "nftables rule set: %d services x %d endpoints = %zu rules, %zu chains in %zu tables "
      "(%zu Services per shard table; nft text %.1f MiB)\n",
      services, eps_per, rules, chains, full.size(), shard_size, text.size() / 1048576.0);

  double one_table = skiff_only ? 0 : unshardedLoad(cfg, ports, eps);
  Netns ref("snp-bench-nftref");
  double ref_full = skiff_only ? 0 : nftLoad(ref.name, text);
  Netns ns("snp-bench-nft");
  auto seam = sys::makeNetlinkNftables();
  testing::FakeNftables fake;
  NftProxyOptions opt;
  opt.shard_size = shard_size;
  long rss0 = rssKib();
  auto proxy = makeNftablesProxy(cfg, *seam, nullptr, opt);
  auto shadow = makeNftablesProxy(cfg, fake, nullptr, opt);
  double skiff_full = 0;
  auto synced = timedSync(*proxy, ns.name, ports, eps, skiff_full);
  if (!synced) return 1;
  SyncResult first = *synced;
  long rss1 = rssKib();
  if (!shadow->sync(ports, eps)) return 1;
  std::printf("\nfull sync: skiff %.0f ms vs nft -f %.0f ms (ratio %.1fx)\n", skiff_full, ref_full,
              ref_full / skiff_full);
  std::printf(
      "  vs nft -f of the same Services in one table (kube-proxy's layout) %.0f ms (ratio "
      "%.1fx)\n",
      one_table, one_table / skiff_full);
  std::printf(
      "  skiff: build+diff %.0f ms | libnftnl encode %.0f ms | kernel %.0f ms | %zu "
      "netlink messages\n",
      ms(first.build), ms(first.nft.encode), ms(first.nft.kernel), first.nft.messages);

  // The one-Service changes go the agent's way: the informers' objects in the change tracker
  // (loaded here, untimed, as the agent's first list), then per change the EndpointSlice event,
  // the tracker's hand-over of the changed Service and the proxy's sync of it, timed together.
  ServiceTracker tracker;
  {
    std::vector<nlohmann::json> svc_objs, slice_objs;
    for (const ServicePort& sp : ports) {
      svc_objs.push_back(serviceJson(sp));
      slice_objs.push_back(sliceJson(sp, eps[sp.key()]));
    }
    tracker.replaceServices(svc_objs);
    tracker.replaceSlices(slice_objs);
  }
  ServiceView view;
  tracker.takeInto(view);
  if (view.allPorts().size() != ports.size() || view.endpoints != eps) {
    std::fprintf(stderr, "the tracker's view differs from the cluster it was given\n");
    return 1;
  }
  std::vector<double> skiff_one, ref_one;
  SyncResult last;
  for (int round = 0; round < rounds; ++round) {
    const ServicePort& sp = ports[static_cast<std::size_t>(services / 2 + round)];
    auto& list = eps[sp.key()];
    list[0].ip = Ipv4{0x0b000000u + static_cast<uint32_t>(round) + 1};  // 11.0.0.x
    fake.clearBatches();
    if (!shadow->sync(ports, eps) || fake.transactions().size() != 1) return 1;
    ref_one.push_back(skiff_only ? 0 : nftLoad(ref.name, nftText(fake.transactions()[0])));
    nlohmann::json event = sliceJson(sp, list);  // what the watch delivered
    Enter in("/run/netns/" + ns.name);
    auto t0 = Clock::now();
    tracker.setSlice(event);
    ServiceChanges changed = tracker.takeInto(view);
    auto r = proxy->syncChanges(view, changed);
    skiff_one.push_back(ms(Clock::now() - t0));
    if (!r) {
      std::fprintf(stderr, "skiff sync failed: %s\n", r.error().message().c_str());
      return 1;
    }
    if (changed.all || changed.services.size() != 1 || r->full) {
      std::fprintf(stderr, "expected one changed Service and an incremental sync\n");
      return 1;
    }
    last = *r;
  }
  double s1 = median(skiff_one), r1 = median(ref_one);
  std::printf(
      "\none changed Service (median of %d): skiff %.2f ms vs nft -f %.1f ms (ratio %.1fx)\n"
      "  (skiff: the EndpointSlice event into the change tracker, its hand-over and the sync)\n",
      rounds, s1, r1, r1 / s1);
  std::printf(
      "  skiff sent %zu netlink messages to %zu table(s) (%zu chains written, %zu removed, %zu "
      "rules); build+diff %.2f ms, encode %.2f ms, kernel %.2f ms\n",
      last.nft.messages, last.nft_tables, last.chains_written, last.chains_removed,
      last.rules_written, ms(last.build), ms(last.nft.encode), ms(last.nft.kernel));
  if (skiff_only) {
    std::printf("proxy state kept between syncs: %.1f MiB; RSS growth %.1f MiB\n",
                proxy->stateBytes() / 1048576.0, (rss1 - rss0) / 1024.0);
    return 0;
  }
  std::string a = listRuleset(ref.name), b = listRuleset(ns.name);
  bool same = a == b && a.find("table ip skiff") != std::string::npos;
  if (!same) {  // for a diff
    std::ofstream("/tmp/netproxy-bench-nft-f.txt") << a;
    std::ofstream("/tmp/netproxy-bench-skiff.txt") << b;
    std::printf(
        "(normalised listings: /tmp/netproxy-bench-nft-f.txt, "
        "/tmp/netproxy-bench-skiff.txt)\n");
  }
  std::printf("\nkernel tables identical (nft -f vs skiff) after the run: %s\n",
              same ? "yes" : "NO");
  std::printf(
      "proxy state kept between syncs: %.1f MiB; RSS growth for %d Services (proxy "
      "created + first full sync): %.1f MiB\n",
      proxy->stateBytes() / 1048576.0, services, (rss1 - rss0) / 1024.0);
  return same ? 0 : 1;
}

// The iptables-mode run (the original bench): returns its exit status; `prefix` labels its
// summary lines when it runs beside the nftables mode.
int runIptables(const std::vector<ServicePort>& ports_in, EndpointMap eps, int services,
                int eps_per, int rounds, const char* prefix) {
  std::vector<ServicePort> ports = ports_in;
  ProxyConfig cfg;
  cfg.hostname = "bench-node";
  cfg.cluster_cidr = *Cidr::parse("10.244.0.0/16");

  auto tb = Clock::now();
  Ruleset full = buildRuleset(cfg, ports, eps);
  double build_ms = ms(Clock::now() - tb);
  std::string text = renderRestoreFull(full);
  std::printf(
      "rule set: %d services x %d endpoints = %zu rules, %zu chains (restore text %.1f MiB); "
      "buildRuleset %.0f ms\n",
      services, eps_per, countRules(full), full.nat.chains.size() + full.filter.chains.size(),
      text.size() / 1048576.0, build_ms);

  // ---- full sync ---------------------------------------------------------------------------
  Netns ref("snp-bench-ref");
  double ref_full = restore(ref.name, text, false);

  Netns ns("snp-bench-skiff");
  auto ipt = sys::makeLegacyIptables();
  auto proxy = makeIptablesProxy(cfg, *ipt, nullptr);
  double skiff_full = 0;
  auto synced = timedSync(*proxy, ns.name, ports, eps, skiff_full);
  if (!synced) return 1;
  SyncResult first = *synced;
  std::printf("\n%sfull sync: skiff %.0f ms vs iptables-legacy-restore %.0f ms (ratio %.2fx)\n",
              prefix, skiff_full, ref_full, ref_full / skiff_full);
  std::printf(
      "  skiff: build+diff %.0f ms | filter: fetch %.1f build %.1f commit %.1f ms | "
      "nat: fetch %.1f build %.0f commit %.0f ms\n",
      ms(first.build), ms(first.filter.fetch), ms(first.filter.build), ms(first.filter.commit),
      ms(first.nat.fetch), ms(first.nat.build), ms(first.nat.commit));

  // ---- one changed Service -----------------------------------------------------------------
  std::vector<double> skiff_one, ref_one;
  SyncResult last;
  Ruleset before = full;
  for (int round = 0; round < rounds; ++round) {
    // Replace one endpoint of a service in the middle of the table.
    auto& list = eps[ports[static_cast<std::size_t>(services / 2 + round)].key()];
    list[0].ip = Ipv4{0x0b000000u + static_cast<uint32_t>(round) + 1};  // 11.0.0.x
    Ruleset after = buildRuleset(cfg, ports, eps);
    auto changes = diff(before, after);
    ref_one.push_back(restore(ref.name, renderRestoreNoflush(changes), true));
    Enter in("/run/netns/" + ns.name);
    auto t0 = Clock::now();
    auto r = proxy->sync(ports, eps);
    skiff_one.push_back(ms(Clock::now() - t0));
    if (!r) {
      std::fprintf(stderr, "skiff sync failed: %s\n", r.error().message().c_str());
      return 1;
    }
    last = *r;
    before = std::move(after);
  }
  double s1 = median(skiff_one), r1 = median(ref_one);
  std::printf(
      "\n%sone changed Service (median of %d): skiff %.0f ms vs iptables-legacy-restore --noflush "
      "%.0f ms (ratio %.2fx)\n",
      prefix, rounds, s1, r1, r1 / s1);
  std::printf(
      "  skiff wrote %zu chains / %zu rules, removed %zu; build+diff %.0f ms | nat: lock %.1f "
      "fetch %.0f build %.1f commit %.0f ms\n",
      last.chains_written, last.rules_written, last.chains_removed, ms(last.build),
      ms(last.nat.lock_wait), ms(last.nat.fetch), ms(last.nat.build), ms(last.nat.commit));

  // Cross-check: both namespaces hold the same nat table.
  auto a = runCommand({"ip", "netns", "exec", ref.name, "iptables-legacy-save", "-t", "nat"});
  auto b = runCommand({"ip", "netns", "exec", ns.name, "iptables-legacy-save", "-t", "nat"});
  auto strip = [](const std::string& s) {
    std::string out;
    std::size_t pos = 0;
    while (pos < s.size()) {
      auto nl = s.find('\n', pos);
      std::string line = s.substr(pos, nl - pos);
      pos = nl == std::string::npos ? s.size() : nl + 1;
      if (!line.empty() && line[0] != '#' && line[0] != ':') out += line + "\n";
    }
    return out;
  };
  bool same = a && b && strip(a->out) == strip(b->out);
  std::printf("\nkernel nat tables identical after the run: %s\n", same ? "yes" : "NO");

  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  std::printf(
      "proxy state kept between syncs: %.1f MiB; process peak RSS %.0f MiB "
      "(includes the two transient %zu-rule sets and the restore text)\n",
      proxy->stateBytes() / 1048576.0, ru.ru_maxrss / 1024.0, countRules(full));
  double fetch = ms(last.nat.fetch) + ms(last.filter.fetch);
  double commit = ms(last.nat.commit) + ms(last.filter.commit);
  double user = ms(last.build) + ms(last.nat.build) + ms(last.filter.build);
  double total = fetch + commit + user;
  std::printf(
      "\nwhere the one-Service time goes (last round): table fetch (iptc_init: copy + parse the "
      "whole table) %.0f%%, kernel replace (iptc_commit: compile + IPT_SO_SET_REPLACE of the "
      "whole table) %.0f%%, skiff user-space build/diff/edit %.0f%%. The first two are O(all "
      "rules) for any iptables-legacy writer, restore --noflush included.\n",
      100 * fetch / total, 100 * commit / total, 100 * user / total);
  return same ? 0 : 1;
}

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string mode = "iptables";
  long shard_size = static_cast<long>(kDefaultNftShardSize);
  bool skiff_only = false;
  while (!args.empty() && args[0] == "--skiff-only") {
    skiff_only = true;  // nftables: skiff's syncs only, no nft -f or iptables reference
    args.erase(args.begin());
  }
  while (args.size() >= 2 && (args[0] == "--proxy-mode" || args[0] == "--shard-size")) {
    if (args[0] == "--proxy-mode") {
      mode = args[1];
    } else {
      shard_size = std::atol(args[1].c_str());
    }
    args.erase(args.begin(), args.begin() + 2);
  }
  if ((mode != "iptables" && mode != "nftables") || shard_size <= 0) {
    std::fprintf(stderr,
                 "usage: netproxy_sync_bench [--skiff-only] [--proxy-mode iptables|nftables] "
                 "[--shard-size N] [services] [endpoints] [rounds]\n");
    return 2;
  }
  int services = args.size() > 0 ? std::atoi(args[0].c_str()) : 10000;
  int eps_per = args.size() > 1 ? std::atoi(args[1].c_str()) : 5;
  int rounds = args.size() > 2 ? std::atoi(args[2].c_str()) : 5;
  // Each round changes another Service from the middle on: at least 2 x rounds Services.
  if (args.size() > 3 || services < 2 || eps_per < 1 || rounds < 1 || services < 2 * rounds) {
    std::fprintf(stderr,
                 "netproxy_sync_bench: want services >= 2 x rounds, endpoints >= 1, rounds >= 1 "
                 "(options before the numbers)\n");
    return 2;
  }
  if (::geteuid() != 0) {
    std::printf("netproxy_sync_bench: needs root (network namespaces, iptables); skipped\n");
    return 0;
  }
  skiff::log::setup("warn", true);
  std::vector<ServicePort> ports;
  EndpointMap eps;
  buildCluster(services, eps_per, ports, eps);
  if (mode == "iptables") return runIptables(ports, eps, services, eps_per, rounds, "");
  int rc = runNftables(ports, eps, services, eps_per, rounds, static_cast<std::size_t>(shard_size),
                       skiff_only);
  if (rc != 0 || skiff_only) return rc;
  std::printf("\n---- the same cluster in iptables mode (libiptc), same run ----\n");
  return runIptables(ports, eps, services, eps_per, rounds, "iptables mode: ");
}
