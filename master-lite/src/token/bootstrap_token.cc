#include "skiff/master/token/bootstrap_token.h"

#include <openssl/rand.h>

#include <algorithm>
#include <ctime>
#include <memory>
#include <sstream>

#include "skiff/common/base64.h"
#include "skiff/common/rfc3339.h"

namespace skiff::master::token {
namespace {

using nlohmann::json;

constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kSecretType = "bootstrap.kubernetes.io/token";

bool allTokenChars(std::string_view s) {
  return s.find_first_not_of(kAlphabet) == std::string_view::npos;
}

std::vector<std::string> splitComma(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

std::string joinComma(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// kubeadm's TTL column (ShortHumanDuration): 59s, 59m, 23h, 3d, 2y.
std::string shortHuman(std::chrono::seconds d) {
  long long s = d.count();
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 48 * 3600) return std::to_string(s / 3600) + "h";
  if (s < 365LL * 24 * 3600 * 8) return std::to_string(s / 86400) + "d";
  return std::to_string(s / (365LL * 86400)) + "y";
}

}  // namespace

Result<BootstrapToken> parseBootstrapToken(const std::string& text) {
  if (text.size() != 23 || text[6] != '.' || !allTokenChars(text.substr(0, 6)) ||
      !allTokenChars(text.substr(7))) {
    return Error(ErrorCode::Invalid, "the bootstrap token \"" + text +
                                         "\" was not of the form \"[a-z0-9]{6}.[a-z0-9]{16}\"");
  }
  return BootstrapToken{text.substr(0, 6), text.substr(7)};
}

Result<BootstrapToken> generateBootstrapToken(const RandomBytes& random_bytes) {
  // 252 = 7 * 36: bytes at or above it are redrawn so every character is equally likely.
  auto draw = [&](std::size_t n) -> Result<std::string> {
    std::string out;
    while (out.size() < n) {
      SKIFF_ASSIGN_OR_RETURN(std::string bytes, random_bytes(n));
      for (unsigned char b : bytes) {
        if (b >= 252 || out.size() == n) continue;
        out.push_back(kAlphabet[b % kAlphabet.size()]);
      }
    }
    return out;
  };
  SKIFF_ASSIGN_OR_RETURN(std::string id, draw(6));
  SKIFF_ASSIGN_OR_RETURN(std::string secret, draw(16));
  return BootstrapToken{id, secret};
}

RandomBytes systemRandom() {
  return [](std::size_t n) -> Result<std::string> {
    std::string out(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
      return Error(ErrorCode::Internal, "generate token: the system random source failed");
    }
    return out;
  };
}

Result<std::chrono::seconds> parseTtl(const std::string& text) {
  auto bad = [&] {
    return Error(ErrorCode::Invalid,
                 "invalid --ttl \"" + text + "\": want a duration such as 24h, 1h30m, 90s or 0");
  };
  if (text == "0") return std::chrono::seconds(0);
  if (text.empty()) return bad();
  long long total_ms = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == start || i - start > 9) return bad();
    long long n = std::stoll(text.substr(start, i - start));
    std::size_t ustart = i;
    while (i < text.size() && (text[i] < '0' || text[i] > '9')) ++i;
    std::string unit = text.substr(ustart, i - ustart);
    if (unit == "h")
      total_ms += n * 3600'000;
    else if (unit == "m")
      total_ms += n * 60'000;
    else if (unit == "s")
      total_ms += n * 1000;
    else if (unit == "ms")
      total_ms += n;
    else
      return bad();
  }
  // Bootstrap Secrets store whole seconds; round sub-second parts up so "500ms" still expires.
  return std::chrono::seconds((total_ms + 999) / 1000);
}

Result<void> validateTokenOptions(const TokenOptions& o) {
  if (o.usages.empty())
    return Error(ErrorCode::Invalid, "a bootstrap token needs at least one usage");
  for (const auto& u : o.usages) {
    if (u != "signing" && u != "authentication") {
      return Error(ErrorCode::Invalid, "invalid bootstrap token usage \"" + u +
                                           "\": valid values are [signing authentication]");
    }
  }
  for (const auto& g : o.groups) {
    if (g.rfind("system:bootstrappers:", 0) != 0 || g.size() <= 21 ||
        g.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789:-") != std::string::npos) {
      return Error(ErrorCode::Invalid, "invalid extra group \"" + g +
                                           "\": it must match system:bootstrappers:[a-z0-9:-]+");
    }
  }
  if (o.ttl.count() < 0) return Error(ErrorCode::Invalid, "--ttl must not be negative");
  return ok();
}

json bootstrapTokenSecret(const BootstrapToken& t, const TokenOptions& o, Clock::time_point now) {
  json data = {{"token-id", base64Encode(t.id)}, {"token-secret", base64Encode(t.secret)}};
  if (!o.description.empty()) data["description"] = base64Encode(o.description);
  if (o.ttl.count() > 0) data["expiration"] = base64Encode(formatRfc3339(now + o.ttl));
  for (const auto& u : o.usages) data["usage-bootstrap-" + u] = base64Encode("true");
  if (!o.groups.empty()) data["auth-extra-groups"] = base64Encode(joinComma(o.groups));
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", "bootstrap-token-" + t.id}, {"namespace", "kube-system"}}},
          {"type", kSecretType},
          {"data", data}};
}

std::optional<TokenInfo> tokenFromSecret(const json& s) {
  if (!s.is_object() || s.value("type", "") != kSecretType) return std::nullopt;
  const json data = s.value("data", json::object());
  if (!data.is_object()) return std::nullopt;
  auto field = [&](const char* k) -> std::string {
    if (!data.contains(k) || !data[k].is_string()) return "";
    auto decoded = base64Decode(data[k].get<std::string>());
    return decoded ? *decoded : std::string();
  };
  auto tok = parseBootstrapToken(field("token-id") + "." + field("token-secret"));
  if (!tok) return std::nullopt;
  TokenInfo info{
      *tok, std::nullopt, {}, field("description"), splitComma(field("auth-extra-groups"))};
  std::string exp = field("expiration");
  if (!exp.empty()) {
    info.expires = parseRfc3339(exp);
    if (!info.expires) return std::nullopt;
  }
  for (const char* u : {"authentication", "signing"}) {
    if (field((std::string("usage-bootstrap-") + u).c_str()) == "true") info.usages.push_back(u);
  }
  return info;
}

std::string formatTokenTable(const std::vector<TokenInfo>& tokens, Clock::time_point now) {
  std::vector<std::vector<std::string>> rows = {
      {"TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS"}};
  for (const auto& t : tokens) {
    std::string ttl = "<forever>", expires = "<never>";
    if (t.expires) {
      auto left = std::chrono::duration_cast<std::chrono::seconds>(*t.expires - now);
      ttl = left.count() <= 0 ? "<invalid>" : shortHuman(left);
      expires = formatRfc3339(*t.expires);
    }
    rows.push_back({t.token.str(), ttl, expires, t.usages.empty() ? "<none>" : joinComma(t.usages),
                    t.description.empty() ? "<none>" : t.description,
                    t.groups.empty() ? "<none>" : joinComma(t.groups)});
  }
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 3, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string joinCommand(const std::string& server_url, const BootstrapToken& token,
                        const std::string& ca_cert_hash) {
  return "skiff-agent --server " + server_url + " --token " + token.str() + " --ca-cert-hash " +
         ca_cert_hash;
}

}  // namespace skiff::master::token
