#include "skiff/master/store/migrate.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "etcd_client.h"
#include "key_range.h"
#include "skiff/common/base64.h"

namespace skiff::master::store {

namespace {

using json = nlohmann::json;

// etcd's default --max-request-bytes is 1.5 MiB and --max-txn-ops 128: transactions stay well
// under both.
constexpr std::size_t kMaxTxnOps = 100;
constexpr std::size_t kMaxTxnBytes = 1 << 20;
constexpr std::size_t kMaxObjectBytes = 1536 * 1024 - 4096;  // what one put can carry
// The scratch key the revision is raised with: no leading '/', so no --etcd-prefix holds it
// (kube-apiserver keeps its compact_rev_key outside the prefix the same way).
constexpr const char* kScratchKey = "skiff_migrate_rev_key";

Result<std::int64_t> countUnder(EtcdClient& etcd, const std::string& prefix) {
  json req = {{"key", base64Encode(prefix)},
              {"range_end", base64Encode(etcdRangeEnd(prefix))},
              {"count_only", true}};
  SKIFF_ASSIGN_OR_RETURN(json reply, etcd.call("/v3/kv/range", req, true));
  return etcdInt(reply, "count");
}

// Writes the scratch key from `writers` threads until etcd's revision reaches `target`.
Result<std::int64_t> raiseRevision(EtcdClient& etcd, std::int64_t target, int writers) {
  std::atomic<std::int64_t> seen{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::optional<Error> error;
  json put = {{"key", base64Encode(kScratchKey)}, {"value", base64Encode("x")}};
  auto work = [&] {
    while (!failed && seen.load() < target) {
      auto reply = etcd.call("/v3/kv/put", put, false);
      if (!reply) {
        std::lock_guard l(mu);
        if (!error) error = std::move(reply).error();
        failed = true;
        return;
      }
      std::int64_t rev = etcdHeaderRevision(*reply);
      std::int64_t prev = seen.load();
      while (rev > prev && !seen.compare_exchange_weak(prev, rev)) {
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < std::max(1, writers); ++i) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  if (error) return std::move(*error).wrap("raise the etcd revision");
  json del = {{"key", base64Encode(kScratchKey)}};
  SKIFF_ASSIGN_OR_RETURN(json reply, etcd.call("/v3/kv/deleterange", del, false));
  return etcdHeaderRevision(reply);
}

// One transaction creating `batch` (each only if absent).
Result<std::int64_t> putBatch(EtcdClient& etcd, const std::vector<const KeyValue*>& batch,
                              const std::vector<std::string>& keys) {
  json compare = json::array(), success = json::array();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    std::string k = base64Encode(keys[i]);
    compare.push_back(
        {{"key", k}, {"target", "CREATE"}, {"result", "EQUAL"}, {"create_revision", "0"}});
    success.push_back({{"request_put", {{"key", k}, {"value", base64Encode(batch[i]->value)}}}});
  }
  SKIFF_ASSIGN_OR_RETURN(
      json reply, etcd.call("/v3/kv/txn", {{"compare", compare}, {"success", success}}, false));
  if (!reply.value("succeeded", false)) {
    return Error(ErrorCode::AlreadyExists,
                 "copy into etcd: a key of the batch from '" + keys.front() +
                     "' appeared in etcd during the migration (is a master already using it?)");
  }
  return etcdHeaderRevision(reply);
}

}  // namespace

Result<MigrateResult> migrateToEtcd(Store& from, const EtcdOptions& to,
                                    const MigrateOptions& options) {
  if (options.from_prefix.empty() || options.to_prefix.empty() ||
      options.to_prefix.front() != '/') {
    return Error(ErrorCode::Invalid, "the key prefixes must start with '/'");
  }
  MigrateResult res;
  // Read and check everything before writing anything.
  SKIFF_ASSIGN_OR_RETURN(ListResult all, from.list(""));
  res.source_revision = std::max(from.currentRevision(), all.revision);
  std::vector<const KeyValue*> order;
  for (const KeyValue& kv : all.items) {
    if (!kv.key.starts_with(options.from_prefix + "/")) {
      return Error(ErrorCode::Invalid, fmt::format("key '{}' of the source is outside '{}/'",
                                                   kv.key, options.from_prefix));
    }
    if (kv.value.size() > kMaxObjectBytes) {
      return Error(ErrorCode::TooLarge,
                   fmt::format("'{}' is {} bytes, more than etcd takes in one request", kv.key,
                               kv.value.size()));
    }
    res.bytes += kv.value.size();
    order.push_back(&kv);
  }
  std::stable_sort(order.begin(), order.end(), [](const KeyValue* a, const KeyValue* b) {
    return a->mod_revision < b->mod_revision;
  });

  SKIFF_ASSIGN_OR_RETURN(auto etcd, newEtcdClient(to));
  const std::string target = options.to_prefix + "/";
  SKIFF_ASSIGN_OR_RETURN(std::int64_t present, countUnder(*etcd, target));
  if (present > 0) {
    return Error(ErrorCode::AlreadyExists,
                 fmt::format("etcd already holds {} keys under '{}': the target must be "
                             "empty (another cluster, or a migration done before?)",
                             present, target));
  }

  options.progress(
      fmt::format("raising etcd's revision past {} (the source's last)", res.source_revision));
  SKIFF_ASSIGN_OR_RETURN(std::int64_t before,
                         raiseRevision(*etcd, res.source_revision, options.revision_writers));

  options.progress(fmt::format("copying {} objects ({} bytes)", order.size(), res.bytes));
  std::vector<const KeyValue*> batch;
  std::vector<std::string> keys;
  std::size_t batch_bytes = 0;
  auto flush = [&]() -> Result<void> {
    if (batch.empty()) return ok();
    SKIFF_ASSIGN_OR_RETURN(std::int64_t rev, putBatch(*etcd, batch, keys));
    if (res.first_revision == 0) res.first_revision = rev;
    res.target_revision = rev;
    res.objects += batch.size();
    batch.clear();
    keys.clear();
    batch_bytes = 0;
    return ok();
  };
  for (const KeyValue* kv : order) {
    if (batch.size() == kMaxTxnOps || batch_bytes + kv->value.size() > kMaxTxnBytes) {
      SKIFF_TRY(flush());
    }
    batch.push_back(kv);
    keys.push_back(options.to_prefix + kv->key.substr(options.from_prefix.size()));
    batch_bytes += kv->value.size() + kv->key.size();
  }
  SKIFF_TRY(flush());

  SKIFF_ASSIGN_OR_RETURN(std::int64_t copied, countUnder(*etcd, target));
  if (copied != static_cast<std::int64_t>(order.size())) {
    return Error(ErrorCode::Internal,
                 fmt::format("check the copy: etcd holds {} keys under '{}' after copying {}",
                             copied, target, order.size()));
  }
  // Watches from before the copy are Gone: clients relist once.
  auto compacted = etcd->call("/v3/kv/compaction", {{"revision", std::to_string(before)}}, true);
  if (!compacted) return std::move(compacted).error().wrap("compact etcd");
  if (res.target_revision == 0) res.target_revision = before;
  return res;
}

}  // namespace skiff::master::store
