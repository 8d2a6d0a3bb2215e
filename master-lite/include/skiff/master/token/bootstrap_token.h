#pragma once

// Bootstrap tokens as kubeadm makes them (`kubeadm token create`): a token "<id>.<secret>"
// ([a-z0-9]{6}.[a-z0-9]{16}) stored as the Secret kube-system/bootstrap-token-<id> of type
// bootstrap.kubernetes.io/token, which the API server's bootstrap authenticator accepts until
// its `expiration`. Pure functions: the clock and the randomness are passed in, so the tests
// need neither a server nor sleeps.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"
#include "skiff/common/rfc3339.h"  // formatRfc3339, used for expirations

namespace skiff::master::token {

using Clock = std::chrono::system_clock;

struct BootstrapToken {
  std::string id;      // [a-z0-9]{6}, public (names the Secret)
  std::string secret;  // [a-z0-9]{16}
  std::string str() const { return id + "." + secret; }
};

// "abcdef.0123456789abcdef" -> token; anything else is an Invalid error naming the format.
Result<BootstrapToken> parseBootstrapToken(const std::string& text);

// `random_bytes(n)` fills n bytes (OpenSSL's RAND_bytes in the binary, a fixed sequence in
// tests). Characters are drawn without modulo bias.
using RandomBytes = std::function<Result<std::string>(std::size_t)>;
Result<BootstrapToken> generateBootstrapToken(const RandomBytes& random_bytes);
// RAND_bytes from OpenSSL's CSPRNG.
RandomBytes systemRandom();

// A Go duration as kubeadm's --ttl takes it: "24h", "1h30m", "90s", "24h0m0s"; "0" = never
// expires. Units h, m, s, ms; negative or malformed values are Invalid.
Result<std::chrono::seconds> parseTtl(const std::string& text);

struct TokenOptions {
  std::chrono::seconds ttl{24 * 3600};  // 0: no expiration
  std::string description;
  std::vector<std::string> usages{"signing", "authentication"};
  std::vector<std::string> groups{"system:bootstrappers:skiff:default-node-token"};
};

// Checks usages (signing, authentication) and groups (system:bootstrappers:...).
Result<void> validateTokenOptions(const TokenOptions& options);

// The Secret object to create (data base64-encoded, as `kubectl get -o yaml` shows it).
nlohmann::json bootstrapTokenSecret(const BootstrapToken& token, const TokenOptions& options,
                                    Clock::time_point now);

// One row of `token list`, read back from a Secret; nullopt when the Secret is not a
// well-formed bootstrap token (kubeadm skips those too).
struct TokenInfo {
  BootstrapToken token;
  std::optional<Clock::time_point> expires;  // nullopt: never
  std::vector<std::string> usages;
  std::string description;
  std::vector<std::string> groups;
};
std::optional<TokenInfo> tokenFromSecret(const nlohmann::json& secret);

// kubeadm's table: TOKEN TTL EXPIRES USAGES DESCRIPTION EXTRA GROUPS.
std::string formatTokenTable(const std::vector<TokenInfo>& tokens, Clock::time_point now);

// The one line an operator runs on a new node.
std::string joinCommand(const std::string& server_url, const BootstrapToken& token,
                        const std::string& ca_cert_hash);

}  // namespace skiff::master::token
