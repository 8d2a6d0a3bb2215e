// Lease-based leader election (leader_elector.h), after client-go's
// tools/leaderelection/leaderelection.go (tryAcquireOrRenew, renew, release).
#include "skiff/master/leaderelection/leader_elector.h"

#include <unistd.h>

#include <fstream>
#include <random>

#include "skiff/common/log.h"

namespace skiff::master {
namespace {

using json = nlohmann::json;

const std::shared_ptr<spdlog::logger>& lg() {
  static const auto l = skiff::log::get("master");
  return l;
}

std::int64_t seconds(Duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

}  // namespace

LeaderElector::LeaderElector(ApiClient& client, LeaderElectionConfig config)
    : client_(client), cfg_(std::move(config)) {
  if (!cfg_.clock) cfg_.clock = realClock();
}

LeaderElector::~LeaderElector() { stop(); }

Result<bool> LeaderElector::tryAcquireOrRenew() {
  TimePoint now = cfg_.clock->now();
  std::string now_text = formatMicroTime(now);
  auto got = client_.get(gvr::kLeases, cfg_.lock_namespace, cfg_.lock_name);
  if (!got) {
    if (!got.error().is(ErrorCode::NotFound)) return std::move(got).error();
    json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", cfg_.lock_name}, {"namespace", cfg_.lock_namespace}}},
                  {"spec",
                   {{"holderIdentity", cfg_.identity},
                    {"leaseDurationSeconds", seconds(cfg_.lease_duration)},
                    {"acquireTime", now_text},
                    {"renewTime", now_text},
                    {"leaseTransitions", 0}}}};
    auto created = client_.create(gvr::kLeases, cfg_.lock_namespace, lease);
    if (!created) {
      if (created.error().is(ErrorCode::AlreadyExists)) return false;
      return std::move(created).error();
    }
    std::lock_guard l(mu_);
    observed_ = lease["spec"];
    observed_time_ = now;
    return true;
  }
  json lease = std::move(got).value();
  json spec = lease.value("spec", json::object());
  std::string holder = spec.value("holderIdentity", "");
  {
    std::lock_guard l(mu_);
    if (spec != observed_) {
      observed_ = spec;
      observed_time_ = now;
    }
    auto duration = std::chrono::seconds(spec.value("leaseDurationSeconds", 15));
    if (!holder.empty() && holder != cfg_.identity && !cfg_.force_acquire &&
        observed_time_ + duration > now) {
      return false;  // held by another, not expired
    }
  }
  json next = spec;
  next["holderIdentity"] = cfg_.identity;
  next["leaseDurationSeconds"] = seconds(cfg_.lease_duration);
  next["renewTime"] = now_text;
  if (holder != cfg_.identity) {
    next["acquireTime"] = now_text;
    next["leaseTransitions"] = spec.value("leaseTransitions", 0) + 1;
  }
  lease["spec"] = next;
  auto updated = client_.update(gvr::kLeases, cfg_.lock_namespace, lease);
  if (!updated) {
    if (updated.error().is(ErrorCode::Conflict)) return false;
    return std::move(updated).error();
  }
  std::lock_guard l(mu_);
  observed_ = next;
  observed_time_ = now;
  return true;
}

void LeaderElector::step() {
  auto r = tryAcquireOrRenew();
  TimePoint now = cfg_.clock->now();
  bool started = false, stopped = false;
  std::string holder;
  {
    std::lock_guard l(mu_);
    holder = observed_.is_object() ? observed_.value("holderIdentity", "") : "";
    if (r && *r) {
      last_renew_ = now;
      if (!leader_) started = leader_ = true;
    } else if (leader_ && now - last_renew_ >= cfg_.renew_deadline) {
      leader_ = false;
      stopped = true;
    }
  }
  if (!r) {
    SKIFF_LOG_WARN(lg(), "Leader election attempt failed, will retry",
                   skiff::log::kv("lease", cfg_.lock_namespace + "/" + cfg_.lock_name),
                   skiff::log::kv("err", r.error().message()));
  }
  if (holder != last_holder_ && !holder.empty()) {
    last_holder_ = holder;
    SKIFF_LOG_INFO(lg(), "New leader elected",
                   skiff::log::kv("lease", cfg_.lock_namespace + "/" + cfg_.lock_name),
                   skiff::log::kv("holder", holder));
    if (cfg_.on_new_leader) cfg_.on_new_leader(holder);
  }
  if (started) {
    SKIFF_LOG_INFO(lg(), "Successfully acquired lease",
                   skiff::log::kv("lease", cfg_.lock_namespace + "/" + cfg_.lock_name),
                   skiff::log::kv("identity", cfg_.identity));
    if (cfg_.on_started_leading) cfg_.on_started_leading();
  }
  if (stopped) {
    SKIFF_LOG_ERROR(lg(), "Leader election lost",
                    skiff::log::kv("lease", cfg_.lock_namespace + "/" + cfg_.lock_name));
    if (cfg_.on_stopped_leading) cfg_.on_stopped_leading();
  }
}

bool LeaderElector::isLeader() const {
  std::lock_guard l(mu_);
  return leader_;
}

void LeaderElector::start() {
  thread_ = std::thread([this] {
    while (true) {
      step();
      std::unique_lock l(mu_);
      if (cv_.wait_for(l, cfg_.retry_period, [&] { return stopping_; })) return;
    }
  });
}

void LeaderElector::stop() {
  {
    std::lock_guard l(mu_);
    if (stopping_ && !thread_.joinable() && !leader_) return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  bool was_leader;
  {
    std::lock_guard l(mu_);
    was_leader = leader_;
    leader_ = false;
  }
  if (!was_leader) return;
  if (cfg_.on_stopped_leading) cfg_.on_stopped_leading();
  if (auto r = release(); !r) {
    SKIFF_LOG_WARN(lg(), "Releasing the lease failed, ignoring",
                   skiff::log::kv("lease", cfg_.lock_namespace + "/" + cfg_.lock_name),
                   skiff::log::kv("err", r.error().message()));
  }
}

// client-go's release(): an empty holder with a one-second duration.
Result<bool> LeaderElector::release() {
  SKIFF_ASSIGN_OR_RETURN(json lease,
                         client_.get(gvr::kLeases, cfg_.lock_namespace, cfg_.lock_name));
  json& spec = lease["spec"];
  if (!spec.is_object() || spec.value("holderIdentity", "") != cfg_.identity) return false;
  std::string now = formatMicroTime(cfg_.clock->now());
  spec["holderIdentity"] = "";
  spec["leaseDurationSeconds"] = 1;
  spec["renewTime"] = now;
  spec["acquireTime"] = now;
  SKIFF_TRY(client_.update(gvr::kLeases, cfg_.lock_namespace, lease));
  return true;
}

std::string leaderElectionIdentity() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
    std::snprintf(host, sizeof host, "localhost");
  std::random_device rd;
  std::mt19937_64 gen((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  std::uint64_t a = gen(), b = gen();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char uuid[40];
  std::snprintf(uuid, sizeof uuid, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return std::string(host) + "_" + uuid;
}

}  // namespace skiff::master
