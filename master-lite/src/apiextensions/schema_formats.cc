// String formats (kube-openapi strfmt as apiextensions-apiserver registers them) and the
// x-kubernetes-list-type uniqueness rules.
#include <arpa/inet.h>

#include <map>
#include <regex>

#include "schema_internal.h"
#include "skiff/common/base64.h"

namespace skiff::master::apiextensions {
namespace {

// The format expressions are literals: each is compiled once per thread.
bool matches(const char* re, const std::string& v) {
  thread_local std::map<const char*, std::regex> cache;
  auto it = cache.find(re);
  if (it == cache.end()) it = cache.emplace(re, std::regex(re, std::regex::ECMAScript)).first;
  return std::regex_match(v, it->second);
}

bool isIp(const std::string& v, int family) {
  unsigned char buf[16];
  return inet_pton(family, v.c_str(), buf) == 1;
}

bool isCidr(const std::string& v) {
  auto slash = v.find('/');
  if (slash == std::string::npos || slash + 1 >= v.size()) return false;
  std::string ip = v.substr(0, slash), bits = v.substr(slash + 1);
  if (!std::all_of(bits.begin(), bits.end(), ::isdigit) || bits.size() > 3) return false;
  int n = std::stoi(bits);
  if (isIp(ip, AF_INET)) return n <= 32;
  return isIp(ip, AF_INET6) && n <= 128;
}

}  // namespace

bool formatMatches(const std::string& f, const std::string& v) {
  if (f == "date") return matches("^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$", v);
  if (f == "date-time" || f == "datetime") {
    return matches(
        "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:"
        "([0-5][0-9]|60)(\\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$",
        v);
  }
  if (f == "uuid")
    return matches(
        "^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$", v);
  if (f == "byte") return static_cast<bool>(base64Decode(v));
  if (f == "ipv4") return isIp(v, AF_INET);
  if (f == "ipv6") return isIp(v, AF_INET6);
  if (f == "cidr") return isCidr(v);
  if (f == "mac") return matches("^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$", v);
  if (f == "hostname") {
    return v.size() <= 255 &&
           matches(
               "^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}"
               "[a-zA-Z0-9])?)*\\.?$",
               v);
  }
  if (f == "email") return matches("^[^@\\s]+@[^@\\s]+$", v);
  if (f == "uri") return matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*$|^/.*$", v);
  if (f == "duration") {
    return matches("^[-+]?(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|ms|s|m|h|d|w))+$", v) ||
           v == "0";
  }
  if (f == "hexcolor") return matches("^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$", v);
  return true;
}

void checkListType(const nlohmann::json& s, const nlohmann::json& list, const std::string& path,
                   api::FieldErrors& errs) {
  std::string type = s.value("x-kubernetes-list-type", "");
  using Type = api::FieldError::Type;
  if (type == "set") {
    for (std::size_t i = 0; i < list.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (list[i] == list[j]) {
          errs.push_back({Type::Duplicate, path + "[" + std::to_string(i) + "]", list[i], ""});
          break;
        }
      }
    }
    return;
  }
  if (type != "map" || !s.contains("x-kubernetes-list-map-keys")) return;
  const auto& keys = s["x-kubernetes-list-map-keys"];
  std::vector<nlohmann::json> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_object()) continue;
    nlohmann::json k = nlohmann::json::object();
    for (const auto& key : keys) {
      std::string name = key.get<std::string>();
      if (list[i].contains(name)) k[name] = list[i][name];
    }
    if (std::find(seen.begin(), seen.end(), k) != seen.end()) {
      errs.push_back({Type::Duplicate, path + "[" + std::to_string(i) + "]", k, ""});
    } else {
      seen.push_back(k);
    }
  }
}

}  // namespace skiff::master::apiextensions
