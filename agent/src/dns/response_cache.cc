#include "skiff/agent/dns/response_cache.h"

#include <algorithm>

namespace skiff::agent::dns {

std::string ResponseCache::key(const std::string& name, std::uint16_t type, std::uint16_t klass,
                               bool edns, bool dnssec_ok) {
  return name + '/' + std::to_string(type) + '/' + std::to_string(klass) + (edns ? "/e" : "/-") +
         (dnssec_ok ? "d" : "-");
}

std::optional<ResponseCache::Hit> ResponseCache::get(const std::string& key,
                                                     Clock::time_point now) {
  std::lock_guard lk(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) return std::nullopt;
  if (now >= it->second.expires) {
    lru_.erase(it->second.lru);
    map_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  auto age = std::chrono::duration_cast<std::chrono::seconds>(now - it->second.stored).count();
  return Hit{it->second.reply, static_cast<std::uint32_t>(age), it->second.negative};
}

void ResponseCache::put(const std::string& key, std::vector<std::uint8_t> wire, std::uint32_t ttl,
                        bool negative, Clock::time_point now) {
  ttl = std::min(ttl, max_ttl_);
  if (ttl == 0 || capacity_ == 0) return;
  auto reply = std::make_shared<CachedReply>();
  reply->mapped = mapTtls(wire.data(), wire.size(), &reply->ttls);
  reply->wire = std::move(wire);
  std::lock_guard lk(mu_);
  auto it = map_.find(key);
  if (it != map_.end()) {
    lru_.erase(it->second.lru);
    map_.erase(it);
  }
  while (map_.size() >= capacity_) {
    map_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(key);
  map_.emplace(
      key, Entry{std::move(reply), now, now + std::chrono::seconds(ttl), negative, lru_.begin()});
}

std::size_t ResponseCache::size() const {
  std::lock_guard lk(mu_);
  return map_.size();
}

}  // namespace skiff::agent::dns
