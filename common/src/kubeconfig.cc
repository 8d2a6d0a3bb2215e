#include "skiff/common/kubeconfig.h"

#include <nlohmann/json.hpp>

#include "skiff/common/base64.h"
#include "skiff/common/file.h"
#include "skiff/common/yaml.h"

namespace skiff {
namespace {

using nlohmann::json;

const json* findNamed(const json& doc, const char* list, const std::string& name) {
  if (!doc.contains(list) || !doc[list].is_array()) return nullptr;
  for (const auto& e : doc[list]) {
    if (e.is_object() && e.value("name", "") == name) return &e;
  }
  return nullptr;
}

std::string str(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key)) return "";
  const auto& v = obj[key];
  return v.is_string() ? v.get<std::string>() : "";
}

bool truthy(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key)) return false;
  const auto& v = obj[key];
  return (v.is_boolean() && v.get<bool>()) || (v.is_string() && v.get<std::string>() == "true");
}

// `field-data` (base64) wins over `field` (a path), as in client-go.
Result<std::string> dataOrFile(const json& obj, const std::string& field,
                               const std::string& base_dir) {
  std::string data = str(obj, (field + "-data").c_str());
  if (!data.empty()) {
    auto decoded = base64Decode(data);
    if (!decoded) return std::move(decoded).error().wrap("decode '" + field + "-data'");
    return decoded;
  }
  std::string path = str(obj, field.c_str());
  if (path.empty()) return std::string();
  if (path.front() != '/') path = base_dir + "/" + path;
  return readFile(path, 1u << 20);
}

}  // namespace

Result<Kubeconfig> parseKubeconfig(std::string_view text, const std::string& base_dir) {
  SKIFF_ASSIGN_OR_RETURN(json doc, yamlToJson(text));
  if (!doc.is_object()) return Error(ErrorCode::Invalid, "parse kubeconfig: not a mapping");
  std::string ctx_name = str(doc, "current-context");
  const json* ctx = nullptr;
  if (!ctx_name.empty()) {
    ctx = findNamed(doc, "contexts", ctx_name);
    if (ctx == nullptr) {
      return Error(ErrorCode::Invalid,
                   "parse kubeconfig: current-context '" + ctx_name + "' not found");
    }
  } else if (doc.contains("contexts") && doc["contexts"].is_array() &&
             doc["contexts"].size() == 1) {
    ctx = &doc["contexts"][0];
  }
  std::string cluster_name, user_name;
  if (ctx != nullptr && ctx->contains("context")) {
    cluster_name = str((*ctx)["context"], "cluster");
    user_name = str((*ctx)["context"], "user");
  }
  const json* cluster = findNamed(doc, "clusters", cluster_name);
  if (cluster == nullptr && doc.contains("clusters") && doc["clusters"].is_array() &&
      doc["clusters"].size() == 1) {
    cluster = &doc["clusters"][0];
  }
  if (cluster == nullptr || !cluster->contains("cluster")) {
    return Error(ErrorCode::Invalid, "parse kubeconfig: no cluster for the current context");
  }
  const json& c = (*cluster)["cluster"];
  Kubeconfig out;
  out.server = str(c, "server");
  if (out.server.empty())
    return Error(ErrorCode::Invalid, "parse kubeconfig: cluster has no server");
  out.insecure_skip_tls_verify = truthy(c, "insecure-skip-tls-verify");
  SKIFF_ASSIGN_OR_RETURN(out.ca_pem, dataOrFile(c, "certificate-authority", base_dir));
  const json* user = findNamed(doc, "users", user_name);
  if (user == nullptr && doc.contains("users") && doc["users"].is_array() &&
      doc["users"].size() == 1) {
    user = &doc["users"][0];
  }
  if (user != nullptr && user->contains("user")) {
    const json& u = (*user)["user"];
    SKIFF_ASSIGN_OR_RETURN(out.client_cert_pem, dataOrFile(u, "client-certificate", base_dir));
    SKIFF_ASSIGN_OR_RETURN(out.client_key_pem, dataOrFile(u, "client-key", base_dir));
    out.token = str(u, "token");
    if (out.token.empty() && !str(u, "tokenFile").empty()) {
      std::string p = str(u, "tokenFile");
      if (p.front() != '/') p = base_dir + "/" + p;
      SKIFF_ASSIGN_OR_RETURN(out.token, readFile(p, 64u << 10));
      while (!out.token.empty() && (out.token.back() == '\n' || out.token.back() == '\r')) {
        out.token.pop_back();
      }
    }
    if (out.client_cert_pem.empty() != out.client_key_pem.empty()) {
      return Error(ErrorCode::Invalid,
                   "parse kubeconfig: client certificate and key must be given together");
    }
  }
  return out;
}

Result<Kubeconfig> loadKubeconfig(const std::string& path) {
  auto text = readFile(path, 4u << 20);
  if (!text) return std::move(text).error().wrap("load kubeconfig");
  std::string dir = ".";
  if (auto slash = path.rfind('/'); slash != std::string::npos) dir = path.substr(0, slash);
  auto cfg = parseKubeconfig(*text, dir);
  if (!cfg) return std::move(cfg).error().wrap("load kubeconfig '" + path + "'");
  return cfg;
}

std::string renderKubeconfig(const Kubeconfig& cfg) {
  std::string out = "apiVersion: v1\nkind: Config\nclusters:\n- name: default\n  cluster:\n";
  out += "    server: \"" + cfg.server + "\"\n";
  if (!cfg.ca_pem.empty()) {
    out += "    certificate-authority-data: " + base64Encode(cfg.ca_pem) + "\n";
  }
  if (cfg.insecure_skip_tls_verify) out += "    insecure-skip-tls-verify: true\n";
  out += "users:\n- name: default\n  user:\n";
  if (!cfg.client_cert_pem.empty()) {
    out += "    client-certificate-data: " + base64Encode(cfg.client_cert_pem) + "\n";
    out += "    client-key-data: " + base64Encode(cfg.client_key_pem) + "\n";
  }
  if (!cfg.token.empty()) out += "    token: \"" + cfg.token + "\"\n";
  if (cfg.client_cert_pem.empty() && cfg.token.empty()) out += "    {}\n";
  out += "contexts:\n- name: default\n  context:\n    cluster: default\n    user: default\n";
  out += "current-context: default\n";
  return out;
}

}  // namespace skiff
