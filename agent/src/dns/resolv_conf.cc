#include "skiff/agent/dns/resolv_conf.h"

#include <algorithm>
#include <sstream>

#include "skiff/common/file.h"

namespace skiff::agent::dns {

ResolvConf parseResolvConf(const std::string& text) {
  ResolvConf rc;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto hash = line.find_first_of("#;");
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream ls(line);
    std::string key;
    if (!(ls >> key)) continue;
    std::vector<std::string> f;
    for (std::string w; ls >> w;) f.push_back(w);
    if (key == "nameserver" && !f.empty()) {
      rc.nameservers.push_back(f[0]);
    } else if (key == "search" || key == "domain") {
      rc.searches.clear();
      for (auto s : f) {
        if (s.size() > 1 && s.back() == '.') s.pop_back();
        if (s != ".") rc.searches.push_back(s);
      }
    } else if (key == "options") {
      for (const auto& o : f) rc.options.push_back(o);
    }
  }
  return rc;
}

Result<ResolvConf> loadHostResolvConf(const std::string& path, const std::string& root) {
  SKIFF_ASSIGN_OR_RETURN(std::string text, readFile(root + path, 1u << 20));
  ResolvConf rc = parseResolvConf(text);
  bool stub_only = !rc.nameservers.empty() &&
                   std::all_of(rc.nameservers.begin(), rc.nameservers.end(),
                               [](const std::string& s) { return s == "127.0.0.53"; });
  if (stub_only) {
    auto real = readFile(root + "/run/systemd/resolve/resolv.conf", 1u << 20);
    if (real) rc = parseResolvConf(*real);
  }
  return rc;
}

std::vector<std::string> upstreamsFrom(const ResolvConf& rc, const std::vector<std::string>& own,
                                       std::vector<std::string>* dropped) {
  std::vector<std::string> out;
  for (const auto& ns : rc.nameservers) {
    if (std::find(own.begin(), own.end(), ns) != own.end()) {
      if (dropped) dropped->push_back(ns);
      continue;
    }
    if (std::find(out.begin(), out.end(), ns) == out.end()) out.push_back(ns);
  }
  return out;
}

}  // namespace skiff::agent::dns
