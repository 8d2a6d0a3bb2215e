#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "skiff/common/testing/injected_failures.h"
#include "skiff/netproxy/sys/netlink.h"

namespace skiff::netproxy::testing {

// A world of fake network namespaces that FakeNetlink instances act on. Keeps state the way the
// kernel does (links with kind/up/master/hairpin, veth pairs spanning namespaces, addresses,
// routes, sysctls) and enforces its rules that matter to callers: unique names per namespace,
// deleting one veth end deletes both, routes need their device.
class FakeNetworkWorld {
 public:
  struct Link {
    sys::LinkInfo info;
    bool hairpin = false;
    std::string peer_ns;  // veth only
    std::string peer;
    std::vector<Cidr> addresses;
  };
  struct Namespace {
    std::map<std::string, Link> links;
    std::vector<sys::Route> routes;
    std::map<std::string, std::string> sysctls;
  };

  FakeNetworkWorld();
  // Adds a namespace (with "lo", down) at `path`; "" is the node's namespace, present from start.
  void addNamespace(const std::string& path);
  void removeNamespace(const std::string& path);
  Namespace* ns(const std::string& path);

  // Makes the next call of `method` (e.g. "setUp") anywhere fail with this error.
  void failNextForTest(const std::string& method, Error e) {
    failures_.failNext(method, std::move(e));
  }
  std::optional<Error> takeFailure(const std::string& method) { return failures_.take(method); }

  int next_index = 100;

 private:
  std::map<std::string, Namespace> namespaces_;
  skiff::testing::InjectedFailures failures_;
};

class FakeNetlink : public sys::Netlink {
 public:
  FakeNetlink(FakeNetworkWorld& world, std::string ns_path)
      : world_(world), path_(std::move(ns_path)) {}

  // sys::Netlink
  Result<std::optional<sys::LinkInfo>> getLink(const std::string& name) override;
  Result<bool> createBridge(const std::string& name) override;
  Result<bool> createDummy(const std::string& name) override;
  Result<void> createVeth(const sys::VethPair& pair) override;
  Result<bool> deleteLink(const std::string& name) override;
  Result<void> setUp(const std::string& name) override;
  Result<void> setHairpin(const std::string& name, bool on) override;
  Result<bool> addAddress(const std::string& name, const Cidr& address) override;
  Result<std::vector<Cidr>> listAddresses(const std::string& name) override;
  Result<bool> deleteAddress(const std::string& name, const Cidr& address) override;
  Result<void> replaceRoute(const sys::Route& route) override;
  Result<bool> deleteRoute(const sys::Route& route) override;
  Result<std::vector<sys::Route>> listRoutes(int protocol) override;
  Result<void> writeSysctl(const std::string& key, const std::string& value) override;

 private:
  Result<FakeNetworkWorld::Namespace*> here();
  // A link of `kind` ("bridge", "dummy") in this namespace; false when the name is taken.
  Result<bool> createLink(const std::string& name, const std::string& kind);
  Result<FakeNetworkWorld::Link*> link(const std::string& name, const char* what);
  FakeNetworkWorld& world_;
  std::string path_;
};

}  // namespace skiff::netproxy::testing
