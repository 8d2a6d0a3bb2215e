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

std::optional<Error> FakeNetworkWorld::takeFailure(const std::string& method) {
  auto it = fail_.find(method);
  if (it == fail_.end()) return std::nullopt;
  Error e = std::move(it->second);
  fail_.erase(it);
  return e;
}

#define FAKE_FAIL(method)                                        \
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

Result<bool> FakeNetlink::createBridge(const std::string& name) {
  FAKE_FAIL("createBridge");
  SKIFF_ASSIGN_OR_RETURN(auto* n, here());
  if (n->links.count(name)) return false;
  n->links[name].info = sys::LinkInfo{name, world_.next_index++, "bridge", false, 0};
  return true;
}

Result<void> FakeNetlink::createVeth(const std::string& name, const std::string& peer, int) {
  FAKE_FAIL("createVeth");
  SKIFF_ASSIGN_OR_RETURN(auto* n, here());
  if (name.size() > 15 || peer.size() > 15) {
    return Error(ErrorCode::Invalid, EINVAL, "create veth: name longer than IFNAMSIZ");
  }
  if (n->links.count(name) || n->links.count(peer)) {
    return Error(ErrorCode::AlreadyExists, EEXIST, fmt::format("create veth '{}': File exists", name));
  }
  auto& a = n->links[name];
  a.info = sys::LinkInfo{name, world_.next_index++, "veth", false, 0};
  a.peer_ns = path_;
  a.peer = peer;
  auto& b = n->links[peer];
  b.info = sys::LinkInfo{peer, world_.next_index++, "veth", false, 0};
  b.peer_ns = path_;
  b.peer = name;
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

Result<void> FakeNetlink::setMaster(const std::string& name, const std::string& bridge) {
  FAKE_FAIL("setMaster");
  SKIFF_ASSIGN_OR_RETURN(auto* br, link(bridge, "set master"));
  if (br->info.kind != "bridge") return Error(ErrorCode::Invalid, EINVAL, "set master: not a bridge");
  int idx = br->info.index;
  SKIFF_ASSIGN_OR_RETURN(auto* l, link(name, "set master"));
  l->info.master = idx;
  return ok();
}

Result<void> FakeNetlink::setHairpin(const std::string& name, bool on) {
  FAKE_FAIL("setHairpin");
  SKIFF_ASSIGN_OR_RETURN(auto* l, link(name, "set hairpin"));
  if (l->info.master == 0) {
    return Error(ErrorCode::Invalid, EOPNOTSUPP, fmt::format("set hairpin on '{}': not a bridge port", name));
  }
  l->hairpin = on;
  return ok();
}

Result<void> FakeNetlink::moveToNetns(const std::string& name, const std::string& netns_path) {
  FAKE_FAIL("moveToNetns");
  auto* target = world_.ns(netns_path);
  if (!target) {
    return Error(ErrorCode::NotFound, ENOENT,
                 fmt::format("open network namespace '{}': No such file or directory", netns_path));
  }
  SKIFF_ASSIGN_OR_RETURN(auto* n, here());
  auto it = n->links.find(name);
  if (it == n->links.end()) return Error(ErrorCode::NotFound, ENODEV, "move link: No such device");
  if (target->links.count(name)) return Error(ErrorCode::AlreadyExists, EEXIST, "move link: File exists");
  FakeNetworkWorld::Link l = std::move(it->second);
  n->links.erase(it);
  l.info.up = false;
  l.info.master = 0;
  l.addresses.clear();
  if (!l.peer.empty()) {
    if (auto* other = world_.ns(l.peer_ns)) other->links[l.peer].peer_ns = netns_path;
  }
  target->links[name] = std::move(l);
  return ok();
}

Result<void> FakeNetlink::rename(const std::string& name, const std::string& new_name) {
  FAKE_FAIL("rename");
  SKIFF_ASSIGN_OR_RETURN(auto* n, here());
  auto it = n->links.find(name);
  if (it == n->links.end()) return Error(ErrorCode::NotFound, ENODEV, "rename link: No such device");
  if (it->second.info.up) return Error(ErrorCode::Conflict, EBUSY, "rename link: Device or resource busy");
  if (n->links.count(new_name)) return Error(ErrorCode::AlreadyExists, EEXIST, "rename link: File exists");
  FakeNetworkWorld::Link l = std::move(it->second);
  n->links.erase(it);
  l.info.name = new_name;
  if (!l.peer.empty()) {
    if (auto* other = world_.ns(l.peer_ns)) other->links[l.peer].peer = new_name;
  }
  n->links[new_name] = std::move(l);
  return ok();
}

Result<bool> FakeNetlink::addAddress(const std::string& name, const Cidr& address) {
  FAKE_FAIL("addAddress");
  SKIFF_ASSIGN_OR_RETURN(auto* l, link(name, "add address"));
  if (std::find(l->addresses.begin(), l->addresses.end(), address) != l->addresses.end()) return false;
  l->addresses.push_back(address);
  return true;
}

Result<std::vector<Cidr>> FakeNetlink::listAddresses(const std::string& name) {
  SKIFF_ASSIGN_OR_RETURN(auto* l, link(name, "list addresses"));
  return l->addresses;
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
