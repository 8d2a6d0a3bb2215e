// kube-system/extension-apiserver-authentication (authentication_info.h).
#include "authentication_info.h"

namespace skiff::master {

Result<void> ensureAuthenticationInfo(ApiClient& client, const std::string& client_ca_pem,
                                      const std::string& front_proxy_ca_pem) {
  const std::string ns = "kube-system", name = "extension-apiserver-authentication";
  // Upstream's keys; the lists are JSON arrays in strings.
  json data = {{"client-ca-file", client_ca_pem},
               {"requestheader-client-ca-file", front_proxy_ca_pem},
               {"requestheader-allowed-names", R"(["front-proxy-client"])"},
               {"requestheader-username-headers", R"(["X-Remote-User"])"},
               {"requestheader-group-headers", R"(["X-Remote-Group"])"},
               {"requestheader-extra-headers-prefix", R"(["X-Remote-Extra-"])"}};
  auto cur = client.get(gvr::kConfigMaps, ns, name);
  if (!cur) {
    if (cur.error().code() != ErrorCode::NotFound)
      return std::move(cur).error().wrap("read configmap '" + ns + "/" + name + "'");
    json cm = {{"apiVersion", "v1"},
               {"kind", "ConfigMap"},
               {"metadata", {{"name", name}, {"namespace", ns}}},
               {"data", data}};
    auto made = client.create(gvr::kConfigMaps, ns, cm);
    if (!made && made.error().code() != ErrorCode::AlreadyExists)
      return std::move(made).error().wrap("create configmap '" + ns + "/" + name + "'");
    return ok();
  }
  if (cur->value("data", json::object()) == data) return ok();
  json cm = *cur;
  cm["data"] = data;
  auto upd = client.update(gvr::kConfigMaps, ns, cm);
  if (!upd) return std::move(upd).error().wrap("update configmap '" + ns + "/" + name + "'");
  return ok();
}

}  // namespace skiff::master
