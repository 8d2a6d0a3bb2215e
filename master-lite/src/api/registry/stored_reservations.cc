#include "stored_reservations.h"

#include <nlohmann/json.hpp>

namespace skiff::master::api {

using json = nlohmann::json;

Result<bool> StoredReservations::reserve(const std::string& value, const std::string& owner) {
  auto since = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch());
  json v = {{"owner", owner}, {"taken", since.count()}};
  auto kv = store_.create(prefix_ + value, v.dump());
  if (kv) return true;
  if (kv.error().is(ErrorCode::AlreadyExists)) return false;
  return std::move(kv).error().wrap("reserve " + prefix_ + value);
}

Result<void> StoredReservations::release(const std::string& value, const std::string& owner) {
  auto cur = store_.get(prefix_ + value);
  if (!cur) {
    if (cur.error().is(ErrorCode::NotFound)) return ok();
    return std::move(cur).error().wrap("release " + prefix_ + value);
  }
  if (!owner.empty()) {
    json v = json::parse(cur->value, nullptr, false);
    if (v.is_object() && v.value("owner", "") != owner) return ok();
  }
  // On the revision read: a key taken again in between stays with its new owner.
  auto kv = store_.remove(prefix_ + value, cur->mod_revision);
  if (kv || kv.error().is(ErrorCode::NotFound) || kv.error().is(ErrorCode::Conflict)) return ok();
  return std::move(kv).error().wrap("release " + prefix_ + value);
}

Result<std::map<std::string, StoredReservations::Entry>> StoredReservations::list() {
  auto all = store_.list(prefix_);
  if (!all) return std::move(all).error();
  std::map<std::string, Entry> out;
  for (const auto& kv : all->items) {
    json v = json::parse(kv.value, nullptr, false);
    Entry e{"", Clock::now()};
    if (v.is_object() && v.value("owner", json()).is_string() &&
        v.value("taken", json()).is_number_integer()) {
      e.owner = v["owner"].get<std::string>();
      e.taken = Clock::time_point(std::chrono::seconds(v["taken"].get<long long>()));
    }
    out[kv.key.substr(prefix_.size())] = std::move(e);
  }
  return out;
}

}  // namespace skiff::master::api
