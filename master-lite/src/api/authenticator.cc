// Authentication of bearer tokens: the static token file and bootstrap tokens.
#include "skiff/master/api/authenticator.h"

#include <algorithm>
#include <sstream>

#include "skiff/common/base64.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::api {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t b = s.find_first_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b);
}

// CSV fields, with "double quoted" fields that may contain commas.
std::vector<std::string> csv(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(trim(cur));
  return out;
}

Error unauthorized() { return Error(ErrorCode::Unauthorized, "Unauthorized"); }

}  // namespace

bool looksLikeJwt(const std::string& token);  // authenticator_serviceaccount.cc

Result<std::map<std::string, TokenEntry>> parseTokenFile(const std::string& text) {
  std::map<std::string, TokenEntry> out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    auto f = csv(line);
    if (f.size() < 3 || f[0].empty() || f[1].empty()) {
      return Error(ErrorCode::Invalid, "token file line " + std::to_string(n) +
                                           ": want token,user,uid[,\"group1,group2\"]");
    }
    TokenEntry e{{f[1], {}}, f[2]};
    if (f.size() > 3) {
      std::string g;
      std::istringstream gs(f[3]);
      while (std::getline(gs, g, ',')) {
        g = trim(g);
        if (!g.empty()) e.user.groups.push_back(g);
      }
    }
    e.user.groups.push_back("system:authenticated");
    out[f[0]] = e;
  }
  return out;
}

Result<UserInfo> Authenticator::authenticateToken(const std::string& token) {
  if (sa_tokens_ && looksLikeJwt(token) && !tokens_.count(token)) {
    std::vector<std::string> matched;
    auto u = authenticateServiceAccount(token, {}, matched);
    if (!u) return unauthorized();  // the reason is not told to the client
    return u;
  }
  return authenticateOther(token);
}

const std::vector<std::string>& Authenticator::apiAudiences() const {
  static const std::vector<std::string> kDefault = {serviceaccount::kDefaultIssuer};
  return sa_tokens_ ? sa_tokens_->apiAudiences() : kDefault;
}

Authenticator::Review Authenticator::reviewToken(const std::string& token,
                                                 const std::vector<std::string>& audiences) {
  Review r;
  Result<UserInfo> u = unauthorized();
  if (sa_tokens_ && looksLikeJwt(token) && !tokens_.count(token)) {
    u = authenticateServiceAccount(token, audiences, r.audiences);
    if (!u && u.error().message().rfind("token audiences ", 0) == 0) r.error = u.error().message();
  } else {
    // Audience-agnostic: valid only where the asked audiences meet the API server's.
    for (const auto& a : audiences.empty() ? apiAudiences() : audiences) {
      const auto& api = apiAudiences();
      if (std::find(api.begin(), api.end(), a) != api.end()) r.audiences.push_back(a);
    }
    if (!r.audiences.empty()) u = authenticateOther(token);
  }
  if (u) {
    r.authenticated = true;
    r.user = std::move(*u);
  } else {
    r.audiences.clear();
    if (!u.error().is(ErrorCode::Unauthorized)) r.error = u.error().message();
  }
  return r;
}

// Static and bootstrap tokens.
Result<UserInfo> Authenticator::authenticateOther(const std::string& token) {
  if (auto it = tokens_.find(token); it != tokens_.end()) return it->second.user;
  // Bootstrap token "abcdef.0123456789abcdef" -> secret kube-system/bootstrap-token-abcdef.
  auto dot = token.find('.');
  if (dot != 6 || token.size() != 23) return unauthorized();
  std::string id = token.substr(0, 6), secret = token.substr(7);
  for (char c : token) {
    if (c != '.' && !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return unauthorized();
  }
  auto s =
      registry_.get(*findResource("", "v1", "secrets"), "kube-system", "bootstrap-token-" + id);
  if (!s) return unauthorized();
  const json& data = s->value("data", json::object());
  auto field = [&](const char* k) {
    return data.contains(k) && data[k].is_string()
               ? base64Decode(data[k].get<std::string>()).value_or("")
               : std::string();
  };
  if (s->value("type", "") != "bootstrap.kubernetes.io/token") return unauthorized();
  if (field("token-id") != id || field("token-secret") != secret) return unauthorized();
  if (field("usage-bootstrap-authentication") != "true") return unauthorized();
  std::string exp = field("expiration");
  if (!exp.empty() && parseTime(exp) < Clock::now()) return unauthorized();
  if (!str(*s, {"metadata", "deletionTimestamp"}).empty()) return unauthorized();
  UserInfo u{"system:bootstrap:" + id, {"system:bootstrappers", "system:authenticated"}};
  std::string extra = field("auth-extra-groups");
  std::istringstream gs(extra);
  std::string g;
  while (std::getline(gs, g, ',')) {
    if (g.rfind("system:bootstrappers:", 0) == 0) u.groups.push_back(g);
  }
  return u;
}

}  // namespace skiff::master::api
