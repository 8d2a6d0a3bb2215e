#pragma once

// A small client of etcd v3, in the shape of its JSON gateway (POST /v3/kv/range, /v3/kv/txn,
// /v3/kv/compaction, /v3/watch with JSON bodies: int64 fields as strings, bytes in base64), over
// one of two transports (EtcdOptions::transport, skiff-master --etcd-transport):
//   grpc    — etcd's gRPC API (etcd_grpc_client.cc; stubs generated from our own subset of etcd
//             3.4's .proto, etcd_rpc.proto, since Debian packages none usable), each message
//             converted to and from the gateway's JSON so that the store is the same for both;
//   gateway — the grpc-gateway every etcd 3.4 member serves on its client URLs, over Boost.Beast
//             HTTP/1.1 (etcd_client.cc).
// gRPC is the default, by the API benchmark (bench/api/api_bench.py, 10,000 pods, 2 cores, both
// in one run, three runs): LIST of every pod 590-609 ms against 930-1001 ms on one member and
// 786-818 against 1178-1218 ms on three; mutating p50/p99 with no consistent winner (each was
// ahead in some run); master RSS the same within run-to-run noise (420-470 MiB either way), with
// 7 more threads.
// The JSON conversion is not where gRPC's time goes: protobuf to JSON text costs ~35 ms for those
// 10,000 pods (the JSON parse after it, ~100 ms, the gateway pays too). The gateway also needs the
// member's certificate to allow client auth (it dials the member's own gRPC with it); gRPC does
// not.
//
// Thread-safe. Requests go to the endpoint that answered last; a member that cannot be reached
// is skipped for the next one. Error codes tell the caller whether a write may have happened:
//   Unavailable — the request was not delivered (connect failed) or etcd refused it (no leader):
//                 nothing was written, retrying is safe;
//   Timeout     — the request was sent and no answer came in time, or the connection was lost
//                 after sending (or etcd said "request timed out"): the write may or may not
//                 have been applied; re-read before retrying;
//   Gone        — the revision asked for has been compacted;
//   Internal    — a malformed reply or any other failure.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skiff/common/result.h"
#include "skiff/master/store/store.h"

namespace skiff::master::store {

// A store's EtcdOptions are its client's options too (openEtcdStore, migrate).
using EtcdClientOptions = EtcdConnection;

struct EtcdEndpoint {
  bool tls = false;
  std::string host, port;
  std::string url() const { return (tls ? "https://" : "http://") + host + ":" + port; }
};

// Parses one --etcd-servers entry.
Result<EtcdEndpoint> parseEtcdEndpoint(const std::string& url);

// One /v3/watch stream (one HTTP response that never ends): each next() returns the next
// WatchResponse (the object under "result"). close() may be called from another thread and makes
// a blocked next() return Cancelled.
class EtcdWatchStream {
 public:
  virtual ~EtcdWatchStream() = default;
  virtual Result<nlohmann::json> next() = 0;
  virtual void close() = 0;
};

class EtcdClient {
 public:
  virtual ~EtcdClient() = default;
  // POSTs `body` to `path` and returns the parsed reply. `idempotent` requests (reads) are
  // retried on the next member after any transport failure; others only when nothing was sent.
  virtual Result<nlohmann::json> call(const std::string& path, const nlohmann::json& body,
                                      bool idempotent) = 0;
  // Opens a watch with this WatchCreateRequest on the first member that answers, starting from
  // the member after the one used last (so a reconnect moves on).
  virtual Result<std::unique_ptr<EtcdWatchStream>> watch(const nlohmann::json& create_request) = 0;
  virtual const std::vector<EtcdEndpoint>& endpoints() const = 0;
};

// The client of options.transport, after checking the servers and TLS flags.
Result<std::unique_ptr<EtcdClient>> newEtcdClient(const EtcdClientOptions& options);
// The two transports (etcd_client.cc, etcd_grpc_client.cc), for endpoints already parsed.
Result<std::unique_ptr<EtcdClient>> newGatewayEtcdClient(std::vector<EtcdEndpoint> endpoints,
                                                         const EtcdClientOptions& options);
Result<std::unique_ptr<EtcdClient>> newGrpcEtcdClient(std::vector<EtcdEndpoint> endpoints,
                                                      const EtcdClientOptions& options);

// int64 fields arrive as strings ("12") from the gateway and are omitted when zero.
std::int64_t etcdInt(const nlohmann::json& obj, const char* field);
// The store revision a reply was made at (its header's), 0 when absent.
std::int64_t etcdHeaderRevision(const nlohmann::json& reply);

}  // namespace skiff::master::store
