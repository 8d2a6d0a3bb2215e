#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <memory>

#include "skiff/agent/dns/wire.h"

namespace skiff::agent::dns {

// One cached upstream reply, shared by the entry and the hits being served from it, with where
// its TTLs are (so a hit is aged by patching bytes, without parsing; `mapped` false when the
// walk failed and the slow path must rewrite it).
struct CachedReply {
  std::vector<std::uint8_t> wire;
  TtlMap ttls;
  bool mapped = false;
};

// Forwarded replies, positive and negative, kept until their TTL (capped: kubeadm's Corefile
// runs `cache 30`) runs out, at most `capacity` entries, least recently used evicted first.
// Keyed by question (name, type, class) and the EDNS/DO bits the reply depends on.
// Thread-safe. Time is passed in, so tests need no clock.
class ResponseCache {
 public:
  using Clock = std::chrono::steady_clock;
  struct Hit {
    std::shared_ptr<const CachedReply> reply;
    std::uint32_t age_seconds = 0;
    bool negative = false;
  };
  ResponseCache(std::size_t capacity, std::uint32_t max_ttl)
      : capacity_(capacity), max_ttl_(max_ttl) {}
  static std::string key(const std::string& name, std::uint16_t type, std::uint16_t klass,
                         bool edns, bool dnssec_ok);
  std::optional<Hit> get(const std::string& key, Clock::time_point now);
  void put(const std::string& key, std::vector<std::uint8_t> wire, std::uint32_t ttl, bool negative,
           Clock::time_point now);
  std::size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<const CachedReply> reply;
    Clock::time_point stored, expires;
    bool negative;
    std::list<std::string>::iterator lru;
  };
  std::size_t capacity_;
  std::uint32_t max_ttl_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;
  std::list<std::string> lru_;  // front = most recent
};

}  // namespace skiff::agent::dns
