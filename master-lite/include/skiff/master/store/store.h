#pragma once

// The key-value store under the API server (DESIGN.md "Store"): etcd's model in a small interface.
// One global revision counter increases by one on every successful write; each key remembers the
// revision that created it and the one that last modified it. Watches replay committed events in
// revision order from any revision not yet compacted away, then deliver live ones.
//
// SQLite (embedded, default) implements it today; an etcd v3 backend must pass the same
// conformance suite (master-lite/tests/store/store_conformance.h).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "skiff/common/result.h"

namespace skiff::master::store {

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
};

struct ListResult {
  std::vector<KeyValue> items;
  std::int64_t revision = 0;  // the store revision the list was read at
  bool more = false;          // `limit` cut the list short
};

// One write of a transaction (Store::commit), with its precondition.
struct TxnOp {
  enum class Kind { Create, Update };
  Kind kind = Kind::Create;
  std::string key;
  std::string value;
  // Update only: the key's mod_revision must be this one (0: any; the key must exist).
  std::int64_t expected_mod_revision = 0;
};

enum class EventType { Put, Delete };

struct Event {
  EventType type;
  // For Put: the new value, mod_revision = the event's revision. For Delete: the last value,
  // mod_revision = the revision of the delete.
  KeyValue kv;
  std::optional<std::string> prev_value;  // the value before this event (none for a create)
};

// Called with committed events in revision order, from the writer's thread while the store's
// write lock is held: it must not block and must not call back into the store.
// Events are shared (not copied) between watchers: a fan-out to 1,000 watchers costs 1,000
// pointer copies.
using EventPtr = std::shared_ptr<const Event>;
using WatchHandler = std::function<void(const EventPtr&)>;

class Watch {
 public:
  virtual ~Watch() = default;
  // After stop() returns the handler is never called again. Idempotent.
  virtual void stop() = 0;
};
using WatchPtr = std::unique_ptr<Watch>;

struct Options {
  // Events older than the current revision minus this many revisions are compacted away;
  // a watch from before them gets Gone (410 Expired at the API).
  std::int64_t retain_revisions = 10000;
  // Durability: true = every acknowledged write is fsynced (power-loss safe); false = written
  // to the OS before acknowledging (survives kill -9 of the process, not power loss).
  bool fsync_every_write = true;
};

// Thread-safe.
class Store {
 public:
  virtual ~Store() = default;

  // NotFound when the key is absent.
  virtual Result<KeyValue> get(const std::string& key) = 0;
  // Keys starting with `prefix` and strictly greater than `start_after`, in key order; at most
  // `limit` (0 = all).
  virtual Result<ListResult> list(const std::string& prefix, const std::string& start_after = "",
                                  std::int64_t limit = 0) = 0;
  // AlreadyExists when the key is present.
  virtual Result<KeyValue> create(const std::string& key, const std::string& value) = 0;
  // NotFound when absent; Conflict when expected_mod_revision != 0 and differs from the key's.
  virtual Result<KeyValue> update(const std::string& key, const std::string& value,
                                  std::int64_t expected_mod_revision) = 0;
  // Returns the deleted value with mod_revision = the delete's revision. NotFound / Conflict as
  // update.
  virtual Result<KeyValue> remove(const std::string& key, std::int64_t expected_mod_revision) = 0;
  // All of `ops` or none of them, as one etcd Txn (compares, then puts): each op's precondition
  // is checked as create() and update() check theirs, against the state before the
  // transaction, and the first op whose precondition fails gives the error (AlreadyExists,
  // NotFound, Conflict) with nothing written. On success, each op's KeyValue in op order;
  // watchers get one event per op, in op order, before commit() returns, and no other write
  // comes between them. Revisions: etcd gives every op of a transaction the transaction's
  // revision; SQLite gives them consecutive ones; either way they never decrease in op order
  // and the last op's mod_revision is the store's revision after the commit. A key appears at
  // most once (Invalid otherwise); no ops is Invalid.
  virtual Result<std::vector<KeyValue>> commit(const std::vector<TxnOp>& ops) = 0;
  // Delivers every event on keys under `prefix` with revision > from_revision, then live events.
  // Gone when from_revision is older than the compacted revision.
  virtual Result<WatchPtr> watch(const std::string& prefix, std::int64_t from_revision,
                                 WatchHandler handler) = 0;

  virtual std::int64_t currentRevision() = 0;
  // The oldest revision a watch may start from (exclusive).
  virtual std::int64_t compactedRevision() = 0;
  // Drops history up to and including `revision` (the current value of every key is kept).
  virtual Result<void> compact(std::int64_t revision) = 0;
};
using StorePtr = std::unique_ptr<Store>;

// Opens (creating if needed) the SQLite database at `path` in WAL mode.
Result<StorePtr> openSqliteStore(const std::string& path, const Options& options = {});

// etcd v3 (kube-apiserver's --etcd-* flags). The store follows every key under `prefix` with one
// etcd watch and keeps the last Options::retain_revisions events in memory (kube-apiserver's
// watch cache): watches are served from that window, older revisions are Gone. A write returns
// after its event has reached this store's watchers, so the Store contract above (events seen by
// the time the write returns) holds; writes made by other processes sharing the etcd arrive
// through the same watch. Options::fsync_every_write does not apply (etcd always fsyncs).
//
// The store reaches etcd through its gRPC API or through the JSON gateway every etcd member also
// serves on its client URLs (skiff-master --etcd-transport): the same requests and semantics,
// only the encoding differs (src/store/etcd_client.h has the measured comparison).
enum class EtcdTransport { Grpc, Gateway };
// "grpc" or "gateway"; Invalid otherwise.
Result<EtcdTransport> parseEtcdTransport(const std::string& name);
const char* etcdTransportName(EtcdTransport t);

// How to reach etcd: what its client needs of the options below.
struct EtcdConnection {
  std::vector<std::string> servers;  // http(s)://host:port, tried in turn
  EtcdTransport transport = EtcdTransport::Grpc;
  std::string ca_file, cert_file, key_file;
  std::chrono::milliseconds request_timeout{5000};
};

struct EtcdOptions : EtcdConnection {
  std::string prefix = "/registry";  // the keys this store serves and watches
  // Prepended to every key in etcd and stripped on the way back (tests share one etcd).
  std::string key_namespace;
  // kube-apiserver's --etcd-compaction-interval: every interval, compact to the revision seen
  // at the previous tick, coordinated between masters through the `compact_rev_key` key.
  // 0 = never.
  std::chrono::milliseconds compaction_interval{std::chrono::minutes(5)};
};
Result<StorePtr> openEtcdStore(const EtcdOptions& etcd, const Options& options = {});

}  // namespace skiff::master::store
