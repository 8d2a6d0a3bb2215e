// The etcd v3 Store (store.h openEtcdStore), over the JSON gateway (etcd_client.h).
//
// Writes are single transactions whose compare carries the Store's precondition: a create
// compares create_revision == 0, an update or delete compares mod_revision with the expected
// one (or that the key exists), so the Store's NotFound/AlreadyExists/Conflict come from etcd
// itself and two masters can never both win. resourceVersion is etcd's revision.
//
// Events: one etcd watch over the whole prefix (with prev_kv and progress notifications) feeds
// an in-memory window of recent events (EtcdWatchCache); Store watches are served from it, as
// kube-apiserver's cacher serves watches. The etcd watch is resumed from the last revision seen
// after any failure, on the next member.
//
// A write whose outcome is unknown (sent, no answer) is never blindly repeated: the key is read
// back and compared with what was written, and only a write that is known not to have happened
// is sent again.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <thread>

#include "etcd_client.h"
#include "etcd_common.h"
#include "etcd_watch_cache.h"
#include "key_range.h"
#include "skiff/common/base64.h"
#include "skiff/master/store/store.h"

namespace skiff::master::store {
namespace {

using json = nlohmann::json;

std::string b64(const std::string& s) { return base64Encode(s); }

Result<std::string> unb64(const json& obj, const char* field) {
  return base64Field(obj, field, "reply from etcd");
}

json compareFor(const std::string& key, std::int64_t expected) {
  if (expected != 0) {
    return {{"key", b64(key)},
            {"target", "MOD"},
            {"result", "EQUAL"},
            {"mod_revision", std::to_string(expected)}};
  }
  return {{"key", b64(key)}, {"target", "CREATE"}, {"result", "GREATER"}, {"create_revision", "0"}};
}

class EtcdStore : public Store {
 public:
  EtcdStore(std::unique_ptr<EtcdClient> client, EtcdOptions eo, Options o)
      : client_(std::move(client)), eo_(std::move(eo)), cache_(o.retain_revisions) {}

  ~EtcdStore() override {
    stopping_ = true;
    {
      std::lock_guard l(compactor_mu_);
      compactor_cv_.notify_all();
    }
    if (compactor_.joinable()) compactor_.join();
    cache_.stop();
  }

  Result<void> init() {
    // The current revision, which also proves a member answers.
    SKIFF_ASSIGN_OR_RETURN(json reply,
                           client_->call("/v3/kv/range",
                                         {{"key", b64(ns(eo_.prefix))},
                                          {"range_end", b64(etcdRangeEnd(ns(eo_.prefix)))},
                                          {"count_only", true}},
                                         true));
    std::int64_t rev = etcdHeaderRevision(reply);
    if (rev <= 0)
      return Error(ErrorCode::Internal, "malformed reply from etcd: no header revision");
    noteRevision(rev);
    SKIFF_ASSIGN_OR_RETURN(json newest,
                           client_->call("/v3/kv/range",
                                         {{"key", b64(ns(eo_.prefix))},
                                          {"range_end", b64(etcdRangeEnd(ns(eo_.prefix)))},
                                          {"limit", "1"},
                                          {"keys_only", true},
                                          {"sort_order", "DESCEND"},
                                          {"sort_target", "MOD"}},
                                         true));
    SKIFF_ASSIGN_OR_RETURN(auto last, parseKvs(newest, "kvs"));
    std::int64_t newest_rev = last.empty() ? 0 : last.front().mod_revision;
    SKIFF_TRY(cache_.start(*client_, ns(eo_.prefix), eo_.key_namespace, rev, newest_rev,
                           eo_.request_timeout));
    if (eo_.compaction_interval.count() > 0) compactor_ = std::thread([this] { compactLoop(); });
    return ok();
  }

  Result<KeyValue> get(const std::string& key) override {
    SKIFF_ASSIGN_OR_RETURN(json reply,
                           client_->call("/v3/kv/range", {{"key", b64(ns(key))}}, true));
    noteRevision(etcdHeaderRevision(reply));
    SKIFF_ASSIGN_OR_RETURN(auto kvs, parseKvs(reply, "kvs"));
    if (kvs.empty()) return Error(ErrorCode::NotFound, "key '" + key + "' not found");
    return std::move(kvs.front());
  }

  Result<ListResult> list(const std::string& prefix, const std::string& start_after,
                          std::int64_t limit) override {
    bool after = !start_after.empty() && start_after >= prefix;
    json req = {{"key", b64(ns(after ? start_after + std::string(1, '\0') : prefix))},
                {"range_end", b64(etcdRangeEnd(ns(prefix)))}};
    if (limit > 0) req["limit"] = std::to_string(limit);
    SKIFF_ASSIGN_OR_RETURN(json reply, client_->call("/v3/kv/range", req, true));
    ListResult out;
    out.revision = etcdHeaderRevision(reply);
    noteRevision(out.revision);
    SKIFF_ASSIGN_OR_RETURN(out.items, parseKvs(reply, "kvs"));
    out.more = reply.value("more", false);
    return out;
  }

  Result<KeyValue> create(const std::string& key, const std::string& value) override {
    json txn = {{"compare", json::array({{{"key", b64(ns(key))},
                                          {"target", "CREATE"},
                                          {"result", "EQUAL"},
                                          {"create_revision", "0"}}})},
                {"success",
                 json::array({{{"request_put", {{"key", b64(ns(key))}, {"value", b64(value)}}}}})}};
    for (int attempt = 0;; ++attempt) {
      auto reply = client_->call("/v3/kv/txn", txn, false);
      if (reply) {
        std::int64_t rev = etcdHeaderRevision(*reply);
        noteRevision(rev);
        if (!reply->value("succeeded", false))
          return Error(ErrorCode::AlreadyExists, "key '" + key + "' already exists");
        cache_.waitFor(rev, eo_.request_timeout);
        return KeyValue{key, value, rev, rev};
      }
      if (!reply.error().is(ErrorCode::Timeout) || attempt >= 2) return std::move(reply).error();
      // Unknown outcome: ours if the key now holds our value; absent means it did not happen.
      auto now = get(key);
      if (now && now->value == value) return waited(std::move(now).value());
      if (now) return Error(ErrorCode::AlreadyExists, "key '" + key + "' already exists");
      if (!now.error().is(ErrorCode::NotFound)) return std::move(now).error();
    }
  }

  Result<KeyValue> update(const std::string& key, const std::string& value,
                          std::int64_t expected) override {
    json txn = {
        {"compare", json::array({compareFor(ns(key), expected)})},
        {"success",
         json::array({{{"request_put",
                        {{"key", b64(ns(key))}, {"value", b64(value)}, {"prev_kv", true}}}}})},
        {"failure", json::array({{{"request_range", {{"key", b64(ns(key))}}}}})}};
    for (int attempt = 0;; ++attempt) {
      auto reply = client_->call("/v3/kv/txn", txn, false);
      if (reply) {
        SKIFF_ASSIGN_OR_RETURN(json r0, compareHeld(*reply, key));
        SKIFF_ASSIGN_OR_RETURN(auto prev, parseKv(r0.value("prev_kv", json::object())));
        std::int64_t rev = etcdHeaderRevision(*reply);
        cache_.waitFor(rev, eo_.request_timeout);
        return KeyValue{key, value, prev.create_revision, rev};
      }
      if (!reply.error().is(ErrorCode::Timeout) || attempt >= 2) return std::move(reply).error();
      auto now = get(key);
      if (!now) return std::move(now).error();
      if (now->value == value && (expected == 0 || now->mod_revision != expected))
        return waited(std::move(now).value());
      if (expected != 0 && now->mod_revision != expected)
        return Error(ErrorCode::Conflict, "key '" + key + "' was modified");
    }
  }

  Result<KeyValue> remove(const std::string& key, std::int64_t expected) override {
    json txn = {
        {"compare", json::array({compareFor(ns(key), expected)})},
        {"success",
         json::array({{{"request_delete_range", {{"key", b64(ns(key))}, {"prev_kv", true}}}}})},
        {"failure", json::array({{{"request_range", {{"key", b64(ns(key))}}}}})}};
    for (int attempt = 0;; ++attempt) {
      auto reply = client_->call("/v3/kv/txn", txn, false);
      if (reply) {
        SKIFF_ASSIGN_OR_RETURN(json r0, compareHeld(*reply, key));
        SKIFF_ASSIGN_OR_RETURN(auto prevs, parseKvs(r0, "prev_kvs"));
        if (prevs.empty())
          return Error(ErrorCode::Internal,
                       "delete '" + key + "': etcd returned no previous value");
        std::int64_t rev = etcdHeaderRevision(*reply);
        cache_.waitFor(rev, eo_.request_timeout);
        return KeyValue{key, prevs.front().value, prevs.front().create_revision, rev};
      }
      if (!reply.error().is(ErrorCode::Timeout) || attempt >= 2) return std::move(reply).error();
      // Unknown outcome: still there unchanged means it did not happen; gone means it may have
      // (or someone else deleted it): the old value is unknown, so say so.
      auto now = get(key);
      if (now && expected != 0 && now->mod_revision != expected)
        return Error(ErrorCode::Conflict, "key '" + key + "' was modified");
      if (!now && now.error().is(ErrorCode::NotFound)) {
        return Error(ErrorCode::Timeout,
                     "delete '" + key +
                         "': etcd did not answer and the key is gone; the delete "
                         "may have been applied");
      }
      if (!now) return std::move(now).error();
    }
  }

  // One etcd Txn: a compare per op (create_revision == 0 for a create; for an update the
  // key's mod_revision, or that it exists), a put per op; on failure a range per key tells
  // which precondition failed. Every op gets the transaction's revision.
  Result<std::vector<KeyValue>> commit(const std::vector<TxnOp>& ops) override {
    if (ops.empty()) return Error(ErrorCode::Invalid, "commit: no operations");
    json compares = json::array(), puts = json::array(), ranges = json::array();
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const TxnOp& op = ops[i];
      for (std::size_t j = 0; j < i; ++j) {
        if (ops[j].key == op.key)
          return Error(ErrorCode::Invalid, "commit: key '" + op.key + "' twice");
      }
      bool create = op.kind == TxnOp::Kind::Create;
      compares.push_back(create ? json{{"key", b64(ns(op.key))},
                                       {"target", "CREATE"},
                                       {"result", "EQUAL"},
                                       {"create_revision", "0"}}
                                : compareFor(ns(op.key), op.expected_mod_revision));
      puts.push_back(
          {{"request_put",
            {{"key", b64(ns(op.key))}, {"value", b64(op.value)}, {"prev_kv", !create}}}});
      ranges.push_back({{"request_range", {{"key", b64(ns(op.key))}}}});
    }
    json txn = {{"compare", std::move(compares)},
                {"success", std::move(puts)},
                {"failure", std::move(ranges)}};
    for (int attempt = 0;; ++attempt) {
      auto reply = client_->call("/v3/kv/txn", txn, false);
      if (reply) {
        std::int64_t rev = etcdHeaderRevision(*reply);
        noteRevision(rev);
        auto responses = reply->find("responses");
        if (responses == reply->end() || !responses->is_array() ||
            responses->size() != ops.size()) {
          return Error(ErrorCode::Internal, "commit: malformed txn reply from etcd");
        }
        if (!reply->value("succeeded", false)) return failedPrecondition(ops, *responses);
        std::vector<KeyValue> out;
        for (std::size_t i = 0; i < ops.size(); ++i) {
          std::int64_t created = rev;
          if (ops[i].kind == TxnOp::Kind::Update) {
            const json& r = (*responses)[i];
            if (!r.is_object() || r.empty())
              return Error(ErrorCode::Internal, "commit: malformed txn reply from etcd");
            SKIFF_ASSIGN_OR_RETURN(auto prev,
                                   parseKv(r.begin().value().value("prev_kv", json::object())));
            created = prev.create_revision;
          }
          out.push_back(KeyValue{ops[i].key, ops[i].value, created, rev});
        }
        cache_.waitFor(rev, eo_.request_timeout);
        return out;
      }
      if (!reply.error().is(ErrorCode::Timeout) || attempt >= 2) return std::move(reply).error();
      // Unknown outcome: it happened if every key holds what we wrote (at one revision); it did
      // not if every precondition still holds (then it is sent again); otherwise the first
      // precondition that fails now is the answer.
      std::vector<KeyValue> now;
      for (const auto& op : ops) {
        auto kv = get(op.key);
        if (!kv && !kv.error().is(ErrorCode::NotFound)) return std::move(kv).error();
        now.push_back(kv ? std::move(kv).value() : KeyValue{op.key, "", 0, 0});
      }
      bool ours = true;
      for (std::size_t i = 0; i < ops.size(); ++i) {
        ours = ours && now[i].mod_revision != 0 && now[i].value == ops[i].value &&
               now[i].mod_revision == now[0].mod_revision;
      }
      if (ours) {
        (void)waited(now.back());
        return now;
      }
      SKIFF_TRY(checkPreconditions(ops, now));
    }
  }

  Result<WatchPtr> watch(const std::string& prefix, std::int64_t from,
                         WatchHandler handler) override {
    return cache_.watch(prefix, from, std::move(handler));
  }

  std::int64_t currentRevision() override {
    return std::max(seen_revision_.load(), cache_.dispatched());
  }
  std::int64_t compactedRevision() override { return cache_.compacted(); }

  Result<void> compact(std::int64_t revision) override {
    revision = std::min(revision, currentRevision());
    if (revision <= cache_.compacted()) return ok();
    // etcd keeps the revision it is compacted at; the Store drops `revision` itself.
    std::int64_t at = std::min(revision + 1, currentRevision());
    auto r = client_->call("/v3/kv/compaction", {{"revision", std::to_string(at)}}, true);
    if (!r && !r.error().is(ErrorCode::Gone)) return std::move(r).error().wrap("compact etcd");
    cache_.compactTo(revision);
    return ok();
  }

 private:
  std::string ns(const std::string& key) const { return eo_.key_namespace + key; }

  void noteRevision(std::int64_t rev) {
    std::int64_t cur = seen_revision_.load();
    while (rev > cur && !seen_revision_.compare_exchange_weak(cur, rev)) {
    }
  }

  Result<KeyValue> waited(KeyValue kv) {
    noteRevision(kv.mod_revision);
    cache_.waitFor(kv.mod_revision, eo_.request_timeout);
    return kv;
  }

  Result<KeyValue> parseKv(const json& kv) {
    if (!kv.is_object()) return Error(ErrorCode::Internal, "malformed key-value from etcd");
    SKIFF_ASSIGN_OR_RETURN(std::string key, unb64(kv, "key"));
    SKIFF_ASSIGN_OR_RETURN(std::string value, unb64(kv, "value"));
    if (key.compare(0, eo_.key_namespace.size(), eo_.key_namespace) != 0)
      return Error(ErrorCode::Internal, "key from etcd outside the namespace");
    return KeyValue{key.substr(eo_.key_namespace.size()), std::move(value),
                    etcdInt(kv, "create_revision"), etcdInt(kv, "mod_revision")};
  }

  Result<std::vector<KeyValue>> parseKvs(const json& reply, const char* field) {
    std::vector<KeyValue> out;
    auto it = reply.find(field);
    if (it == reply.end()) return out;  // the gateway omits empty lists
    if (!it->is_array()) return Error(ErrorCode::Internal, "malformed reply from etcd: kvs");
    out.reserve(it->size());
    for (const auto& kv : *it) {
      SKIFF_ASSIGN_OR_RETURN(KeyValue parsed, parseKv(kv));
      out.push_back(std::move(parsed));
    }
    return out;
  }

  // The single op response of a txn: {"response_put": ...} / {"response_range": ...}.
  Result<json> txnFirst(const json& reply, const std::string& key) {
    auto it = reply.find("responses");
    if (it == reply.end() || !it->is_array() || it->empty() || !(*it)[0].is_object() ||
        (*it)[0].empty()) {
      return Error(ErrorCode::Internal, "write '" + key + "': malformed txn reply from etcd");
    }
    return (*it)[0].begin().value();
  }

  // The op response of a one-key conditional write's txn when its compare held; otherwise why
  // it failed, from the failure branch's range: NotFound when the key is absent, Conflict when
  // it was modified.
  Result<json> compareHeld(const json& reply, const std::string& key) {
    SKIFF_ASSIGN_OR_RETURN(json r0, txnFirst(reply, key));
    if (reply.value("succeeded", false)) return r0;
    SKIFF_ASSIGN_OR_RETURN(auto kvs, parseKvs(r0, "kvs"));
    if (kvs.empty()) return Error(ErrorCode::NotFound, "key '" + key + "' not found");
    return Error(ErrorCode::Conflict, "key '" + key + "' was modified");
  }

  // The first op whose precondition fails against `now` (each key's current value; revision 0
  // = absent), as create()/update() report it.
  static Result<void> checkPreconditions(const std::vector<TxnOp>& ops,
                                         const std::vector<KeyValue>& now) {
    for (std::size_t i = 0; i < ops.size(); ++i) {
      bool present = now[i].mod_revision != 0;
      if (ops[i].kind == TxnOp::Kind::Create) {
        if (present)
          return Error(ErrorCode::AlreadyExists, "key '" + ops[i].key + "' already exists");
      } else if (!present) {
        return Error(ErrorCode::NotFound, "key '" + ops[i].key + "' not found");
      } else if (ops[i].expected_mod_revision != 0 &&
                 now[i].mod_revision != ops[i].expected_mod_revision) {
        return Error(ErrorCode::Conflict, "key '" + ops[i].key + "' was modified");
      }
    }
    return ok();
  }

  // A failed commit's ranges (one per op) say which precondition failed.
  Result<std::vector<KeyValue>> failedPrecondition(const std::vector<TxnOp>& ops,
                                                   const json& responses) {
    std::vector<KeyValue> now;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const json& r = responses[i];
      if (!r.is_object() || r.empty())
        return Error(ErrorCode::Internal, "commit: malformed txn reply from etcd");
      SKIFF_ASSIGN_OR_RETURN(auto kvs, parseKvs(r.begin().value(), "kvs"));
      now.push_back(kvs.empty() ? KeyValue{ops[i].key, "", 0, 0} : std::move(kvs.front()));
    }
    SKIFF_TRY(checkPreconditions(ops, now));
    // Not reached: the ranges are read in the failed transaction itself.
    return Error(ErrorCode::Conflict, "commit: keys were modified concurrently");
  }

  // kube-apiserver's compactor (staging/src/k8s.io/apiserver/pkg/storage/etcd3/compact.go):
  // the masters agree through the version of `compact_rev_key`; the one whose txn wins compacts
  // to the revision it saw one interval earlier.
  void compactLoop() {
    std::int64_t version = 0, prev_rev = 0;
    const std::string key = ns("compact_rev_key");
    while (!stopping_) {
      {
        std::unique_lock l(compactor_mu_);
        compactor_cv_.wait_for(l, eo_.compaction_interval, [&] { return stopping_.load(); });
      }
      if (stopping_) return;
      json txn = {
          {"compare", json::array({{{"key", b64(key)},
                                    {"target", "VERSION"},
                                    {"result", "EQUAL"},
                                    {"version", std::to_string(version)}}})},
          {"success",
           json::array(
               {{{"request_put", {{"key", b64(key)}, {"value", b64(std::to_string(prev_rev))}}}}})},
          {"failure", json::array({{{"request_range", {{"key", b64(key)}}}}})}};
      auto reply = client_->call("/v3/kv/txn", txn, false);
      if (!reply) {
        SKIFF_LOG_WARN(lg(), "Compaction round failed, will retry",
                       skiff::log::kv("err", reply.error().message()));
        continue;
      }
      std::int64_t cur = etcdHeaderRevision(*reply);
      if (!reply->value("succeeded", false)) {
        auto r0 = txnFirst(*reply, key);
        const json* kvs = r0 ? &(*r0)["kvs"] : nullptr;
        version = kvs && kvs->is_array() && !kvs->empty() ? etcdInt((*kvs)[0], "version") : 0;
      } else {
        ++version;
        if (prev_rev > 0) {
          if (auto c = compact(prev_rev); !c) {
            SKIFF_LOG_WARN(lg(), "Compaction failed, will retry",
                           skiff::log::kv("err", c.error().message()));
          } else {
            SKIFF_LOG_INFO(lg(), "Compacted etcd", skiff::log::kv("revision", prev_rev));
          }
        }
      }
      prev_rev = cur;
    }
  }

  std::unique_ptr<EtcdClient> client_;
  EtcdOptions eo_;
  EtcdWatchCache cache_;
  std::atomic<std::int64_t> seen_revision_{0};
  std::atomic<bool> stopping_{false};
  std::mutex compactor_mu_;
  std::condition_variable compactor_cv_;
  std::thread compactor_;
};

}  // namespace

Result<StorePtr> openEtcdStore(const EtcdOptions& etcd, const Options& options) {
  SKIFF_ASSIGN_OR_RETURN(auto client, newEtcdClient(etcd));
  auto store = std::make_unique<EtcdStore>(std::move(client), etcd, options);
  std::string where;
  for (const auto& s : etcd.servers) where += (where.empty() ? "" : ",") + s;
  if (auto r = store->init(); !r)
    return std::move(r).error().wrap("open etcd store '" + where + "'");
  return StorePtr(std::move(store));
}

}  // namespace skiff::master::store
