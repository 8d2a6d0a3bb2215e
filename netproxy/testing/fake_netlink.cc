#include "skiff/netproxy/testing/fake_netlink.h"

#include <algorithm>

#include <fmt/format.h>

namespace skiff::netproxy::testing {

FakeNetworkWorld::FakeNetworkWorld() { addNamespace(""); }

void FakeNetworkWorld::addNamespace(const std::string& path) {
  Namespace n;
  n.links["lo"].info = sys::LinkInfo{"lo", 1, "", false, 0};
  namespaces_[path] = std::move(n);
}

void FakeNetworkWorld::removeNamespace(const std::string& path) {
  // Like the kernel: veths inside die, and so do their peers elsewhere.
  if (auto* n = ns(path)) {
    for (auto& [name, l] : n->links) {
      if (!l.peer.empty()) {
        if (auto* other = ns(l.peer_ns)) other->links.erase(l.peer);
      }
    }
  }
  namespaces_.erase(path);
}

FakeNetworkWorld::Namespace* FakeNetworkWorld::ns(const std::string& path) {
  auto it = namespaces_.find(path);
  return it == namespaces_.end() ? nullptr : &it->second;
}

#define FAKE_FAIL(method) \
  if (auto f = world_.takeFailure(method)) return std::move(*f)

Result<FakeNetworkWorld::Namespace*> FakeNetlink::here() {
  auto* n = world_.ns(path_);
  if (!n) return Error(ErrorCode::NotFound, ENOENT, fmt::format("netns '{}' is gone", path_));
  return n;
}

Result<FakeNetworkWorld::Link*> FakeNetlink::link(const std::string& name, const char* what) {
  SKIFF_ASSIGN_OR_RETURN(auto* n, here());
  auto it = n->links.find(name);
  if (it == n->links.end()) {
    return Error(ErrorCode::NotFound, ENODEV, fmt::format("{} '{}': No such device", what, name));
  }
  return &it->second;
}

Result<std::optional<sys::LinkInfo>> FakeNetlink::getLink(const std::string& name) {
  SKIFF_ASSIGN_OR_RETURN(auto* n, here());
  auto it = n->links.find(name);
  if (it == n->links.end()) return std::optional<sys::LinkInfo>();
  return std::optional<sys::LinkInfo>(it->second.info);
}

Result<bool> FakeNetlink::createLink(const std::string& name, const std::string& kind) {
  SKIFF_ASSIGN_OR_RETURN(auto* n, here());
  if (n->links.count(name)) return false;
  n->links[name].info = sys::LinkInfo{name, world_.next_index++, kind, false, 0};
  return true;
}

Result<bool> FakeNetlink::createBridge(const std::string& name) {
  FAKE_FAIL("createBridge");
  return createLink(name, "bridge");
}

Result<bool> FakeNetlink::createDummy(const std::string& name) {
  FAKE_FAIL("createDummy");
  return createLink(name, "dummy");
}

Result<void> FakeNetlink::createVeth(const sys::VethPair& pair) {
  FAKE_FAIL("createVeth");
  SKIFF_ASSIGN_OR_RETURN(auto* n, here());
  if (pair.name.size() > 15 || pair.peer.size() > 15) {
    return Error(ErrorCode::Invalid, EINVAL, "create veth: name longer than IFNAMSIZ");
  }
  std::string peer_path = pair.peer_netns.empty() ? path_ : pair.peer_netns;
  auto* pn = world_.ns(peer_path);
  if (!pn) {
    return Error(ErrorCode::NotFound, ENOENT,
                 fmt::format("open network namespace '{}': No such file or directory", peer_path));
  }
  if (n->links.count(pair.name) || pn->links.count(pair.peer) ||
      (n == pn && pair.name == pair.peer)) {
    return Error(ErrorCode::AlreadyExists, EEXIST,
                 fmt::format("create veth '{}': File exists", pair.name));
  }
  int master = 0;
  if (!pair.master.empty()) {
    auto br = n->links.find(pair.master);
    if (br == n->links.end() || br->second.info.kind != "bridge") {
      return Error(ErrorCode::NotFound, ENODEV,
                   fmt::format("create veth '{}': no bridge '{}'", pair.name, pair.master));
    }
    master = br->second.info.index;
  }
  auto& a = n->links[pair.name];
  a.info = sys::LinkInfo{pair.name, world_.next_index++, "veth", pair.up, master};
  a.peer_ns = peer_path;
  a.peer = pair.peer;
  auto& b = pn->links[pair.peer];
  b.info = sys::LinkInfo{pair.peer, world_.next_index++, "veth", false, 0};
  b.peer_ns = path_;
  b.peer = pair.name;
  return ok();
}

Result<bool> FakeNetlink::deleteLink(const std::string& name) {
  FAKE_FAIL("deleteLink");
  SKIFF_ASSIGN_OR_RETURN(auto* n, here());
  auto it = n->links.find(name);
  if (it == n->links.end()) return false;
  if (!it->second.peer.empty()) {
    if (auto* other = world_.ns(it->second.peer_ns)) other->links.erase(it->second.peer);
  }
  int idx = it->second.info.index;
  n->links.erase(name);
  std::erase_if(n->routes, [&](const sys::Route& r) { return r.dev == name; });
  for (auto& [other, l] : n->links) {
    if (l.info.master == idx) l.info.master = 0;
  }
  return true;
}

Result<void> FakeNetlink::setUp(const std::string& name) {
  FAKE_FAIL("setUp");
  SKIFF_ASSIGN_OR_RETURN(auto* l, link(name, "set link up"));
  l->info.up = true;
  return ok();
}

Result<void> FakeNetlink::setHairpin(const std::string& name, bool on) {
  FAKE_FAIL("setHairpin");
  SKIFF_ASSIGN_OR_RETURN(auto* l, link(name, "set hairpin"));
  if (l->info.master == 0) {
    return Error(ErrorCode::Invalid, EOPNOTSUPP,
                 fmt::format("set hairpin on '{}': not a bridge port", name));
  }
  l->hairpin = on;
  return ok();
}

Result<bool> FakeNetlink::addAddress(const std::string& name, const Cidr& address) {
  FAKE_FAIL("addAddress");
  SKIFF_ASSIGN_OR_RETURN(auto* l, link(name, "add address"));
  if (std::find(l->addresses.begin(), l->addresses.end(), address) != l->addresses.end())
    return false;
  l->addresses.push_back(address);
  return true;
}

Result<std::vector<Cidr>> FakeNetlink::listAddresses(const std::string& name) {
  SKIFF_ASSIGN_OR_RETURN(auto* l, link(name, "list addresses"));
  return l->addresses;
}

Result<bool> FakeNetlink::deleteAddress(const std::string& name, const Cidr& address) {
  FAKE_FAIL("deleteAddress");
  SKIFF_ASSIGN_OR_RETURN(auto* l, link(name, "delete address"));
  return std::erase(l->addresses, address) > 0;
}

Result<void> FakeNetlink::replaceRoute(const sys::Route& route) {
  FAKE_FAIL("replaceRoute");
  SKIFF_ASSIGN_OR_RETURN(auto* n, here());
  if (!route.dev.empty() && !n->links.count(route.dev)) {
    return Error(ErrorCode::NotFound, ENODEV, "replace route: No such device");
  }
  std::erase_if(n->routes, [&](const sys::Route& r) { return r.dst == route.dst; });
  n->routes.push_back(route);
  return ok();
}

Result<bool> FakeNetlink::deleteRoute(const sys::Route& route) {
  FAKE_FAIL("deleteRoute");
  SKIFF_ASSIGN_OR_RETURN(auto* n, here());
  auto before = n->routes.size();
  std::erase_if(n->routes, [&](const sys::Route& r) { return r.dst == route.dst; });
  return n->routes.size() != before;
}

Result<std::vector<sys::Route>> FakeNetlink::listRoutes(int protocol) {
  SKIFF_ASSIGN_OR_RETURN(auto* n, here());
  std::vector<sys::Route> out;
  for (const auto& r : n->routes) {
    if (protocol < 0 || r.protocol == protocol) out.push_back(r);
  }
  return out;
}

Result<void> FakeNetlink::writeSysctl(const std::string& key, const std::string& value) {
  FAKE_FAIL("writeSysctl");
  SKIFF_ASSIGN_OR_RETURN(auto* n, here());
  n->sysctls[key] = value;
  return ok();
}

}  // namespace skiff::netproxy::testing
