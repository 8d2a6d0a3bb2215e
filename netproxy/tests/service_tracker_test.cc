// The change tracker: objects converted as they arrive, a Service marked only when what the
// proxy uses changed, and the view it keeps equal to a conversion of everything from scratch.

#include "skiff/netproxy/service_tracker.h"

#include <gtest/gtest.h>

#include <set>

namespace skiff::netproxy {
namespace {

using nlohmann::json;

json service(const std::string& name, const std::string& cip, int port,
             const std::string& rv = "1") {
  return {{"metadata", {{"namespace", "ns"}, {"name", name}, {"resourceVersion", rv}}},
          {"spec", {{"clusterIP", cip}, {"ports", {{{"name", "http"}, {"port", port}}}}}}};
}

json slice(const std::string& name, const std::string& svc, std::vector<std::string> ips) {
  json eps = json::array();
  for (const std::string& ip : ips) {
    eps.push_back({{"addresses", {ip}}, {"conditions", {{"ready", true}}}});
  }
  return {
      {"metadata",
       {{"namespace", "ns"}, {"name", name}, {"labels", {{"kubernetes.io/service-name", svc}}}}},
      {"addressType", "IPv4"},
      {"ports", {{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}}}},
      {"endpoints", eps}};
}

std::vector<std::string> ipsOf(const ServiceView& v, const std::string& key) {
  std::vector<std::string> out;
  auto it = v.endpoints.find(key);
  if (it == v.endpoints.end()) return out;
  for (const Endpoint& e : it->second) out.push_back(e.ip.str());
  return out;
}

// A tracker and the view its changes are taken into, as the proxy's sync loop holds them.
class ServiceTrackerTest : public ::testing::Test {
 protected:
  ServiceTracker tracker_;
  ServiceView view_;
};

TEST_F(ServiceTrackerTest, FirstTakeIsEverythingThenOnlyRealChanges) {
  tracker_.setService(service("web", "10.96.0.10", 80));
  tracker_.setService(service("db", "10.96.0.11", 5432));
  tracker_.setSlice(slice("web-abc", "web", {"10.244.1.2"}));
  ServiceChanges c = tracker_.takeInto(view_);
  EXPECT_TRUE(c.all);
  ASSERT_EQ(view_.ports.size(), 2u);
  EXPECT_EQ(view_.ports.at("ns/web")[0].port, 80);
  EXPECT_EQ(ipsOf(view_, "ns/web:http/tcp"), (std::vector<std::string>{"10.244.1.2"}));

  // A new resourceVersion, a status or an annotation: nothing the proxy uses.
  json same = service("web", "10.96.0.10", 80, "2");
  same["metadata"]["annotations"] = {{"note", "x"}};
  same["status"] = {{"loadBalancer", json::object()}};
  tracker_.setService(same);
  tracker_.setSlice(slice("web-abc", "web", {"10.244.1.2"}));
  c = tracker_.takeInto(view_);
  EXPECT_FALSE(c.all);
  EXPECT_TRUE(c.services.empty());

  // A port change marks its Service only; an endpoint change likewise.
  tracker_.setService(service("db", "10.96.0.11", 5433));
  tracker_.setSlice(slice("web-abc", "web", {"10.244.1.3"}));
  c = tracker_.takeInto(view_);
  EXPECT_EQ(c.services, (std::set<std::string>{"ns/db", "ns/web"}));
  EXPECT_EQ(view_.ports.at("ns/db")[0].port, 5433);
  EXPECT_EQ(ipsOf(view_, "ns/web:http/tcp"), (std::vector<std::string>{"10.244.1.3"}));

  // Deleted, and headless (no rules): both gone from the view, both marked.
  tracker_.removeService(service("db", "10.96.0.11", 5433));
  tracker_.setService(service("web", "None", 80));
  c = tracker_.takeInto(view_);
  EXPECT_EQ(c.services, (std::set<std::string>{"ns/db", "ns/web"}));
  EXPECT_TRUE(view_.ports.empty());
}

TEST_F(ServiceTrackerTest, SlicesMergeInNameOrderAndMoveWithTheirLabel) {
  tracker_.setService(service("web", "10.96.0.10", 80));
  tracker_.setService(service("api", "10.96.0.12", 80));
  tracker_.setSlice(slice("web-b", "web", {"10.244.2.2"}));
  tracker_.setSlice(slice("web-a", "web", {"10.244.1.1"}));
  tracker_.takeInto(view_);
  EXPECT_EQ(ipsOf(view_, "ns/web:http/tcp"),
            (std::vector<std::string>{"10.244.1.1", "10.244.2.2"}));

  // web-b is relabelled to api: both Services change, each keeps only its own endpoints.
  tracker_.setSlice(slice("web-b", "api", {"10.244.2.2"}));
  ServiceChanges c = tracker_.takeInto(view_);
  EXPECT_EQ(c.services, (std::set<std::string>{"ns/api", "ns/web"}));
  EXPECT_EQ(ipsOf(view_, "ns/web:http/tcp"), (std::vector<std::string>{"10.244.1.1"}));
  EXPECT_EQ(ipsOf(view_, "ns/api:http/tcp"), (std::vector<std::string>{"10.244.2.2"}));

  // The last slice of web goes: its endpoints leave the view.
  tracker_.removeSlice(slice("web-a", "web", {}));
  c = tracker_.takeInto(view_);
  EXPECT_EQ(c.services, (std::set<std::string>{"ns/web"}));
  EXPECT_FALSE(view_.endpoints.count("ns/web:http/tcp"));
}

TEST_F(ServiceTrackerTest, RelistMarksWhatDiffersAndTheViewEqualsAFreshConversion) {
  std::vector<json> svcs = {service("a", "10.96.0.1", 80), service("b", "10.96.0.2", 80),
                            service("c", "10.96.0.3", 80)};
  std::vector<json> slices = {slice("a-1", "a", {"10.244.0.1"}), slice("b-1", "b", {"10.244.0.2"})};
  tracker_.replaceServices(svcs);
  tracker_.replaceSlices(slices);
  tracker_.takeInto(view_);

  // The relist after a watch expired: b gone, c changed, a as it was, a slice for c appeared.
  svcs = {service("a", "10.96.0.1", 80, "9"), service("c", "10.96.0.3", 81)};
  slices = {slice("a-1", "a", {"10.244.0.1"}), slice("c-1", "c", {"10.244.0.3"})};
  tracker_.replaceServices(svcs);
  tracker_.replaceSlices(slices);
  ServiceChanges c = tracker_.takeInto(view_);
  EXPECT_FALSE(c.all);
  EXPECT_EQ(c.services, (std::set<std::string>{"ns/b", "ns/c"}));

  ConvertedServices fresh = servicesFromJson(svcs);
  ConvertedEndpoints fresh_eps = endpointsFromJson(slices);
  EXPECT_EQ(view_.allPorts(), fresh.ports);
  EXPECT_EQ(view_.endpoints, fresh_eps.endpoints);
}

TEST_F(ServiceTrackerTest, SkippedObjectsAreCountedUntilFixedAndMarkAllResends) {
  tracker_.setService(service("bad", "not-an-ip", 80));
  json v6 = slice("x", "web", {"fd00::1"});
  v6["addressType"] = "IPv6";
  tracker_.setSlice(v6);
  EXPECT_EQ(tracker_.skipped(), 2u);
  tracker_.setService(service("bad", "10.96.0.9", 80));
  tracker_.removeSlice(v6);
  EXPECT_EQ(tracker_.skipped(), 0u);
  tracker_.takeInto(view_);
  EXPECT_FALSE(tracker_.takeInto(view_).all);
  tracker_.markAll();
  ServiceChanges c = tracker_.takeInto(view_);
  EXPECT_TRUE(c.all);
  EXPECT_EQ(view_.ports.size(), 1u);
}

TEST(ServiceViewTest, AllPortsListsServicesInNameOrder) {
  ConvertedServices c =
      servicesFromJson({service("b", "10.96.0.2", 80), service("a", "10.96.0.1", 80),
                        service("c", "10.96.0.3", 80)});
  ServiceView v;
  for (const ServicePort& sp : c.ports) v.ports[serviceOf(sp)].push_back(sp);
  std::vector<std::string> names;
  for (const ServicePort& sp : v.allPorts()) names.push_back(sp.id.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c"}));
}

}  // namespace
}  // namespace skiff::netproxy
