#pragma once

// The kubelet's ServiceAccount token cache (pkg/kubelet/token/token_manager.go): a projected
// volume's serviceAccountToken source is fetched with a TokenRequest once and served from the
// cache until it needs a refresh, so the periodic volume resync rewrites the token file (with
// the atomic ..data swap) only when a new token was issued.
//
// A token needs a refresh once 80 % of its requested life has passed (it is within 20 % of the
// status.expirationTimestamp the API server reported), or once it is 24 hours old. A failed
// refresh keeps serving the cached token while it has not expired, as the kubelet does.
// Thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "skiff/common/result.h"

namespace skiff::agent {

struct TokenRequestSpec {
  std::string ns;
  std::string service_account;
  std::string audience;  // "" = the API server's audiences
  std::int64_t expiration_seconds = 3607;
  std::string pod_name;
  std::string pod_uid;
};

struct IssuedServiceAccountToken {
  std::string token;
  std::chrono::system_clock::time_point expiration;  // status.expirationTimestamp
};

class ServiceAccountTokenManager {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  using Fetch = std::function<Result<IssuedServiceAccountToken>(const TokenRequestSpec&)>;

  // `clock` null: the system clock.
  explicit ServiceAccountTokenManager(Fetch fetch, Clock clock = nullptr);

  // The cached token for `spec`, or a new one when there is none or it needs a refresh.
  Result<std::string> getServiceAccountToken(const TokenRequestSpec& spec);
  // Drops every token of the pod (its volumes were torn down).
  void deleteServiceAccountTokens(const std::string& pod_uid);
  // Whether `t`, requested for `expiration_seconds`, needs a refresh at `now`: older than 24 h,
  // or within 20 % of its life plus `jitter` of expiring (the kubelet picks a jitter of up to
  // kMaxRefreshJitter per check, so many pods' tokens do not renew in the same second).
  static bool requiresRefresh(const IssuedServiceAccountToken& t, std::int64_t expiration_seconds,
                              std::chrono::system_clock::time_point now,
                              std::chrono::seconds jitter = std::chrono::seconds(0));
  static constexpr std::chrono::seconds kMaxRefreshJitter{10};
  std::size_t sizeForTest() const;

 private:
  using Key = std::tuple<std::string, std::string, std::string, std::int64_t, std::string>;
  Fetch fetch_;
  Clock clock_;
  mutable std::mutex mu_;
  std::map<Key, IssuedServiceAccountToken> cache_;
};

}  // namespace skiff::agent
