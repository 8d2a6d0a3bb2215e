#include "skiff/agent/token_manager.h"

#include <random>

namespace skiff::agent {
namespace {

constexpr auto kMaxTtl = std::chrono::hours(24);

// Whole seconds in [0, kMaxRefreshJitter], as the kubelet's rand.Float64()*maxJitter.
std::chrono::seconds refreshJitter() {
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> d(
      0, static_cast<int>(ServiceAccountTokenManager::kMaxRefreshJitter.count()));
  return std::chrono::seconds(d(rng));
}

}  // namespace

ServiceAccountTokenManager::ServiceAccountTokenManager(Fetch fetch, Clock clock)
    : fetch_(std::move(fetch)), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::system_clock::now(); };
}

bool ServiceAccountTokenManager::requiresRefresh(const IssuedServiceAccountToken& t,
                                                 std::int64_t expiration_seconds,
                                                 std::chrono::system_clock::time_point now,
                                                 std::chrono::seconds jitter) {
  auto iat = t.expiration - std::chrono::seconds(expiration_seconds);
  if (now >= iat + kMaxTtl) return true;
  return now >= t.expiration - std::chrono::seconds(expiration_seconds * 20 / 100) - jitter;
}

Result<std::string> ServiceAccountTokenManager::getServiceAccountToken(const TokenRequestSpec& s) {
  Key key{s.ns, s.service_account, s.audience, s.expiration_seconds, s.pod_uid};
  auto now = clock_();
  {
    std::lock_guard lk(mu_);
    // Expired entries go (the kubelet's cleanup loop).
    for (auto it = cache_.begin(); it != cache_.end();) {
      it = now > it->second.expiration ? cache_.erase(it) : std::next(it);
    }
    auto it = cache_.find(key);
    if (it != cache_.end() &&
        !requiresRefresh(it->second, s.expiration_seconds, now, refreshJitter()))
      return it->second.token;
  }
  auto fresh = fetch_(s);
  std::lock_guard lk(mu_);
  if (!fresh) {
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second.token;  // still valid: retry on the next sync
    return std::move(fresh).error();
  }
  cache_[key] = *fresh;
  return fresh->token;
}

void ServiceAccountTokenManager::deleteServiceAccountTokens(const std::string& pod_uid) {
  std::lock_guard lk(mu_);
  for (auto it = cache_.begin(); it != cache_.end();) {
    it = std::get<4>(it->first) == pod_uid ? cache_.erase(it) : std::next(it);
  }
}

std::size_t ServiceAccountTokenManager::sizeForTest() const {
  std::lock_guard lk(mu_);
  return cache_.size();
}

}  // namespace skiff::agent
