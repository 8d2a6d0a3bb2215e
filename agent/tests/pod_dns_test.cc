#include "skiff/agent/pod_dns.h"

#include <gtest/gtest.h>

namespace skiff::agent {
namespace {

using nlohmann::json;

json pod(json spec = json::object()) {
  return {{"metadata", {{"namespace", "team"}, {"name", "web-0"}}}, {"spec", spec}};
}

dns::ResolvConf host() {
  dns::ResolvConf h;
  h.nameservers = {"192.0.2.1", "192.0.2.2"};
  h.searches = {"corp.example"};
  h.options = {"timeout:2"};
  return h;
}

const std::vector<std::string> kDns = {"10.96.0.10"};

TEST(PodDnsTest, ClusterFirstIsTheKubeletFile) {
  auto f = podResolvConf(pod(), kDns, "cluster.local", host());
  EXPECT_EQ(f.resolv_conf,
            "search team.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
            "nameserver 10.96.0.10\noptions ndots:5\n");
  EXPECT_TRUE(f.events.empty());
}

TEST(PodDnsTest, HostNetworkClusterFirstBehavesAsDefault) {
  auto f = podResolvConf(pod({{"hostNetwork", true}}), kDns, "cluster.local", host());
  EXPECT_EQ(f.resolv_conf,
            "search corp.example\nnameserver 192.0.2.1\nnameserver 192.0.2.2\noptions timeout:2\n");
  auto w = podResolvConf(pod({{"hostNetwork", true}, {"dnsPolicy", "ClusterFirstWithHostNet"}}),
                         kDns, "cluster.local", host());
  EXPECT_NE(w.resolv_conf.find("nameserver 10.96.0.10\n"), std::string::npos);
}

TEST(PodDnsTest, DefaultUsesTheHost) {
  auto f = podResolvConf(pod({{"dnsPolicy", "Default"}}), kDns, "cluster.local", host());
  EXPECT_EQ(f.resolv_conf,
            "search corp.example\nnameserver 192.0.2.1\nnameserver 192.0.2.2\noptions timeout:2\n");
}

TEST(PodDnsTest, NoneTakesOnlyDnsConfig) {
  json spec = {{"dnsPolicy", "None"},
               {"dnsConfig",
                {{"nameservers", {"1.2.3.4"}},
                 {"searches", {"ns1.svc.cluster-domain.example", "my.dns.search.suffix"}},
                 {"options", {{{"name", "ndots"}, {"value", "2"}}, {{"name", "edns0"}}}}}}};
  auto f = podResolvConf(pod(spec), kDns, "cluster.local", host());
  EXPECT_EQ(f.resolv_conf,
            "search ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 1.2.3.4\n"
            "options ndots:2 edns0\n");
}

TEST(PodDnsTest, DnsConfigMergesIntoClusterFirst) {
  json spec = {
      {"dnsConfig",
       {{"nameservers", {"10.96.0.10", "192.0.2.9"}},
        {"searches", {"cluster.local", "extra.example"}},
        {"options", {{{"name", "ndots"}, {"value", "1"}}, {{"name", "single-request"}}}}}}};
  auto f = podResolvConf(pod(spec), kDns, "cluster.local", host());
  EXPECT_EQ(f.resolv_conf,
            "search team.svc.cluster.local svc.cluster.local cluster.local corp.example "
            "extra.example\nnameserver 10.96.0.10\nnameserver 192.0.2.9\n"
            "options ndots:1 single-request\n");
}

TEST(PodDnsTest, LimitsCutWithAnEvent) {
  json searches = json::array();
  for (int i = 0; i < 40; ++i) searches.push_back("d" + std::to_string(i) + ".example");
  json spec = {
      {"dnsConfig", {{"searches", searches}, {"nameservers", {"1.1.1.1", "2.2.2.2", "3.3.3.3"}}}}};
  auto f = podResolvConf(pod(spec), kDns, "cluster.local", host());
  ASSERT_EQ(f.events.size(), 2u);
  EXPECT_EQ(f.events[0].reason, "DNSConfigForming");
  EXPECT_EQ(f.events[0].message,
            "Nameserver limits were exceeded, some nameservers have been omitted, the applied "
            "nameserver line is: 10.96.0.10 1.1.1.1 2.2.2.2");
  EXPECT_EQ(f.events[1].message.rfind("Search Line limits were exceeded", 0), 0u);
  auto line = f.resolv_conf.substr(0, f.resolv_conf.find('\n'));
  EXPECT_EQ(std::count(line.begin(), line.end(), ' '), 32);  // "search" + 32 domains

  json longs = json::array();
  for (int i = 0; i < 10; ++i) longs.push_back(std::string(250, static_cast<char>('a' + i)));
  auto g =
      podResolvConf(pod({{"dnsConfig", {{"searches", longs}}}}), kDns, "cluster.local", host());
  auto gl = g.resolv_conf.substr(7, g.resolv_conf.find('\n') - 7);
  EXPECT_LE(gl.size(), 2048u);
  EXPECT_EQ(g.events.size(), 1u);
}

TEST(PodDnsTest, MissingClusterDnsFallsBackToDefaultWithEvent) {
  auto f = podResolvConf(pod(), {}, "cluster.local", host());
  EXPECT_EQ(f.resolv_conf.find("nameserver 192.0.2.1"), f.resolv_conf.find("nameserver"));
  ASSERT_EQ(f.events.size(), 1u);
  EXPECT_EQ(f.events[0].reason, "MissingClusterDNS");
}

TEST(PodDnsTest, HostsFileAsTheKubeletWritesIt) {
  json spec = {{"hostname", "db-0"},
               {"subdomain", "db"},
               {"hostAliases",
                {{{"ip", "127.0.0.1"}, {"hostnames", {"foo.local", "bar.local"}}},
                 {{"ip", "10.1.2.3"}, {"hostnames", {"foo.remote"}}}}}};
  EXPECT_EQ(podHostsFile(pod(spec), {"10.244.1.5"}, "cluster.local", ""),
            "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
            "ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\n"
            "fe00::2\tip6-allrouters\n10.244.1.5\tdb-0.db.team.svc.cluster.local\tdb-0\n"
            "\n# Entries added by HostAliases.\n127.0.0.1\tfoo.local\tbar.local\n"
            "10.1.2.3\tfoo.remote\n");
  auto plain = podHostsFile(pod(), {"10.244.1.6"}, "cluster.local", "");
  EXPECT_NE(plain.find("\n10.244.1.6\tweb-0\n"), std::string::npos);
  EXPECT_EQ(plain.find("HostAliases"), std::string::npos);
  auto hn = podHostsFile(pod({{"hostNetwork", true}}), {}, "cluster.local", "127.0.0.1 node\n");
  EXPECT_EQ(hn, "# Kubernetes-managed hosts file (host network).\n127.0.0.1 node\n");
}

TEST(PodDnsTest, HostnameFqdnAndTruncation) {
  json spec = {{"hostname", "db-0"}, {"subdomain", "db"}, {"setHostnameAsFQDN", true}};
  EXPECT_EQ(podUtsHostname(pod(spec), "cluster.local"), "db-0.db.team.svc.cluster.local");
  spec["setHostnameAsFQDN"] = false;
  EXPECT_EQ(podUtsHostname(pod(spec), "cluster.local"), "db-0");
  json p = pod();
  p["metadata"]["name"] = std::string(62, 'a') + "-bbb";
  EXPECT_EQ(podHostnameAndDomain(p, "cluster.local").first, std::string(62, 'a'));
}

}  // namespace
}  // namespace skiff::agent
