// `skiff-master token create` prints the command that joins a node:
//   skiff-agent --server https://<advertise-address>:<port> --token <id>.<secret>
//     --ca-cert-hash sha256:<hex>   (one line)
// The token is a bootstrap-token Secret (kube-system/bootstrap-token-<id>) created through the
// API with the admin kubeconfig, so the running master's authenticator sees it at once.
#include "token_cmd.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "skiff/common/ca_cert_hash.h"
#include "skiff/master/token/admin_client.h"
#include "skiff/master/token/bootstrap_token.h"

namespace skiff::master::cmd {
namespace {

using nlohmann::json;
namespace tk = skiff::master::token;

constexpr const char* kSecretsPath = "/api/v1/namespaces/kube-system/secrets";

struct TokenFlags {
  std::string kubeconfig = "/etc/skiff/admin.kubeconfig";
  // create
  std::string token;
  std::string ttl = "24h0m0s";
  std::string description;
  std::vector<std::string> usages{"signing", "authentication"};
  std::vector<std::string> groups{"system:bootstrappers:skiff:default-node-token"};
  bool print_join_command = true;
  bool token_only = false;
  // delete
  std::vector<std::string> ids;
};

int fail(const Error& e) {
  std::fprintf(stderr, "skiff-master token: %s\n", e.message().c_str());
  return 1;
}

// The address agents should use: the `kubernetes` Endpoints hold the master's advertise
// address and secure port (the admin kubeconfig may point at loopback).
std::string joinServer(const tk::AdminKubeconfig& kc) {
  auto ep = tk::apiRequest(kc, "GET", "/api/v1/namespaces/default/endpoints/kubernetes", nullptr);
  if (ep && (*ep)["subsets"].is_array() && !(*ep)["subsets"].empty()) {
    const json& s = (*ep)["subsets"][0];
    if (s.value("addresses", json::array()).size() > 0 &&
        s.value("ports", json::array()).size() > 0) {
      std::string ip = s["addresses"][0].value("ip", "");
      int port = s["ports"][0].value("port", 0);
      if (!ip.empty() && port > 0) {
        bool v6 = ip.find(':') != std::string::npos;
        return "https://" + (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
      }
    }
  }
  return kc.server;
}

int runCreate(const TokenFlags& f) {
  tk::TokenOptions o;
  auto ttl = tk::parseTtl(f.ttl);
  if (!ttl) return fail(ttl.error());
  o.ttl = *ttl;
  o.description = f.description;
  o.usages = f.usages;
  o.groups = f.groups;
  if (auto v = tk::validateTokenOptions(o); !v) return fail(v.error());
  auto token = f.token.empty() ? tk::generateBootstrapToken(tk::systemRandom())
                               : tk::parseBootstrapToken(f.token);
  if (!token) return fail(token.error());
  auto kc = tk::loadAdminKubeconfig(f.kubeconfig);
  if (!kc) return fail(kc.error());
  json secret = tk::bootstrapTokenSecret(*token, o, tk::Clock::now());
  auto created = tk::apiRequest(*kc, "POST", kSecretsPath, &secret);
  if (!created) {
    if (created.error().is(ErrorCode::AlreadyExists)) {
      return fail(
          Error(ErrorCode::AlreadyExists, "a token with id \"" + token->id + "\" already exists"));
    }
    return fail(created.error().wrap("create bootstrap token"));
  }
  if (f.token_only) {
    std::printf("%s\n", token->str().c_str());
    return 0;
  }
  auto hash = skiff::caCertHash(kc->ca_pem);
  if (!hash) return fail(hash.error());
  std::printf("%s\n", tk::joinCommand(joinServer(*kc), *token, *hash).c_str());
  return 0;
}

int runList(const TokenFlags& f) {
  auto kc = tk::loadAdminKubeconfig(f.kubeconfig);
  if (!kc) return fail(kc.error());
  auto list = tk::apiRequest(
      *kc, "GET",
      std::string(kSecretsPath) + "?fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken", nullptr);
  if (!list) return fail(list.error().wrap("list bootstrap tokens"));
  std::vector<tk::TokenInfo> tokens;
  for (const auto& item : list->value("items", json::array())) {
    if (auto t = tk::tokenFromSecret(item)) tokens.push_back(*t);
  }
  if (tokens.empty()) return 0;  // kubeadm prints nothing either
  std::fputs(tk::formatTokenTable(tokens, tk::Clock::now()).c_str(), stdout);
  return 0;
}

int runDelete(const TokenFlags& f) {
  auto kc = tk::loadAdminKubeconfig(f.kubeconfig);
  if (!kc) return fail(kc.error());
  int rc = 0;
  for (const auto& arg : f.ids) {
    // Either the token id or the whole token, as kubeadm accepts.
    std::string id = arg.size() == 23 ? arg.substr(0, 6) : arg;
    if (id.size() != 6 ||
        id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") != std::string::npos) {
      std::fprintf(stderr, "skiff-master token: \"%s\" is neither a token id nor a token\n",
                   arg.c_str());
      rc = 1;
      continue;
    }
    auto del = tk::apiRequest(*kc, "DELETE", std::string(kSecretsPath) + "/bootstrap-token-" + id,
                              nullptr);
    if (!del) {
      std::fprintf(stderr, "skiff-master token: delete bootstrap token \"%s\": %s\n", id.c_str(),
                   del.error().message().c_str());
      rc = 1;
      continue;
    }
    std::printf("bootstrap token \"%s\" deleted\n", id.c_str());
  }
  return rc;
}

}  // namespace

Subcommand addTokenCommand(CLI::App& app) {
  auto f = std::make_shared<TokenFlags>();
  CLI::App* token = app.add_subcommand("token", "Manage bootstrap tokens that join nodes");
  token->add_option("--kubeconfig", f->kubeconfig, "admin kubeconfig of the running master")
      ->capture_default_str();
  token->require_subcommand(1);
  token->fallthrough();  // `token create --kubeconfig F` works as well as `token --kubeconfig F
                         // create`

  CLI::App* create = token->add_subcommand(
      "create", "Create a bootstrap token and print the skiff-agent command that joins a node");
  create->add_option("token", f->token, "the token to create (default: a random one)");
  create->add_option("--ttl", f->ttl, "how long the token is valid (0: never expires)")
      ->capture_default_str();
  create->add_option("--description", f->description, "a human-friendly description");
  create->add_option("--usages", f->usages, "signing, authentication")
      ->delimiter(',')
      ->capture_default_str();
  create->add_option("--groups", f->groups, "extra groups the token authenticates as")
      ->delimiter(',')
      ->capture_default_str();
  create->add_flag("--print-join-command", f->print_join_command,
                   "print the whole join command (the default; kept for kubeadm's users)");
  create->add_flag("--token-only", f->token_only, "print only the token");

  CLI::App* list = token->add_subcommand("list", "List bootstrap tokens");
  CLI::App* del = token->add_subcommand("delete", "Delete bootstrap tokens (by id or token)");
  del->add_option("ids", f->ids, "token ids or tokens")->required();

  auto run = [f, create, list, del]() -> int {
    if (create->parsed()) return runCreate(*f);
    if (list->parsed()) return runList(*f);
    if (del->parsed()) return runDelete(*f);
    return 1;
  };
  return {token, run};
}

}  // namespace skiff::master::cmd
