// etcd's v3 gRPC API behind the JSON-shaped EtcdClient (etcd_client.h). Requests and replies are
// converted with protobuf's JSON mapping using the proto field names, which is exactly what etcd's
// gateway speaks (int64 as strings, bytes in base64, zero values omitted), so the store above is
// the same for both transports. One channel (one HTTP/2 connection) per member, created lazily
// by gRPC; every call carries the request timeout as its deadline.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <optional>

#include "etcd_client.h"
#include "etcd_rpc.grpc.pb.h"
#include "skiff/common/file.h"

namespace skiff::master::store {
namespace {

using json = nlohmann::json;
namespace pb = etcdserverpb;

// etcd's rpctypes.MetadataRequireLeaderKey.
constexpr char kRequireLeader[] = "hasleader";

struct Member {
  EtcdEndpoint endpoint;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::KV::Stub> kv;
  std::unique_ptr<pb::Watch::Stub> watch;
  std::unique_ptr<pb::Lease::Stub> lease;
};

Result<void> fromJson(const json& body, google::protobuf::Message& msg) {
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = false;  // the gateway ignores them; a misspelt field is our bug
  auto st = google::protobuf::util::JsonStringToMessage(body.dump(), &msg, o);
  if (!st.ok()) {
    return Error(ErrorCode::Internal,
                 "encode " + msg.GetTypeName() + " for etcd: " + std::string(st.message()));
  }
  return ok();
}

Result<json> toJson(const google::protobuf::Message& msg) {
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;  // mod_revision, as the gateway (OrigName) writes it
  std::string text;
  auto st = google::protobuf::util::MessageToJsonString(msg, &text, o);
  if (!st.ok()) {
    return Error(ErrorCode::Internal,
                 "decode " + msg.GetTypeName() + " from etcd: " + std::string(st.message()));
  }
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return Error(ErrorCode::Internal, "decode reply from etcd: not an object");
  return j;
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// etcd's error statuses (etcdserver/api/v3rpc/rpctypes) and gRPC's own, in etcd_client.h's terms.
// A gRPC UNAVAILABLE is "not delivered" only when etcd said so or no connection was there to send
// it on (clientv3's isSafeRetryMutableRPC draws the same line); a connection lost mid-call may
// have carried the request, which makes it a Timeout.
Error statusError(const grpc::Status& st, const EtcdEndpoint& ep) {
  const std::string& msg = st.error_message();
  std::string what = "etcd " + ep.url() + ": ";
  if (contains(msg, "required revision has been compacted"))
    return Error(ErrorCode::Gone, what + msg);
  if (contains(msg, "request timed out")) return Error(ErrorCode::Timeout, what + msg);
  switch (st.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Error(ErrorCode::Timeout, what + "no reply within the request timeout");
    case grpc::StatusCode::UNAVAILABLE:
      if (msg.rfind("etcdserver:", 0) == 0) return Error(ErrorCode::Unavailable, what + msg);
      if (contains(msg, "Connection refused")) {
        // etcd's own clients (Go) say it this way.
        return Error(ErrorCode::Unavailable,
                     "dial tcp " + ep.host + ":" + ep.port + ": connect: connection refused");
      }
      if (contains(msg, "failed to connect to all addresses"))
        return Error(ErrorCode::Unavailable, what + msg);
      return Error(ErrorCode::Timeout, what + "connection lost during the request: " + msg);
    case grpc::StatusCode::RESOURCE_EXHAUSTED:  // "etcdserver: too many requests"
      return Error(ErrorCode::Unavailable, what + msg);
    case grpc::StatusCode::CANCELLED:
      return Error(ErrorCode::Cancelled, what + msg);
    default:
      return Error(ErrorCode::Internal,
                   what + "status " + std::to_string(st.error_code()) + ": " + msg.substr(0, 300));
  }
}

// One unary RPC with its request already encoded: invoke() may run once per member tried.
struct Prepared {
  std::function<grpc::Status(Member&, grpc::ClientContext&)> invoke;
  std::function<Result<json>()> reply;
};

template <typename S, typename Req, typename Resp>
Result<Prepared> prepare(std::unique_ptr<S> Member::*stub,
                         grpc::Status (S::*method)(grpc::ClientContext*, const Req&, Resp*),
                         const json& body) {
  auto req = std::make_shared<Req>();
  auto resp = std::make_shared<Resp>();
  SKIFF_TRY(fromJson(body, *req));
  return Prepared{[=](Member& m, grpc::ClientContext& ctx) {
                    resp->Clear();
                    return ((*(m.*stub)).*method)(&ctx, *req, resp.get());
                  },
                  [resp] { return toJson(*resp); }};
}

// The gateway's paths (etcd 3.4's api/v3 routes) as their RPCs.
Result<Prepared> prepareFor(const std::string& path, const json& body) {
  if (path == "/v3/kv/range") return prepare(&Member::kv, &pb::KV::Stub::Range, body);
  if (path == "/v3/kv/txn") return prepare(&Member::kv, &pb::KV::Stub::Txn, body);
  if (path == "/v3/kv/put") return prepare(&Member::kv, &pb::KV::Stub::Put, body);
  if (path == "/v3/kv/deleterange") return prepare(&Member::kv, &pb::KV::Stub::DeleteRange, body);
  if (path == "/v3/kv/compaction") return prepare(&Member::kv, &pb::KV::Stub::Compact, body);
  if (path == "/v3/lease/grant") return prepare(&Member::lease, &pb::Lease::Stub::LeaseGrant, body);
  if (path == "/v3/lease/revoke" || path == "/v3/kv/lease/revoke")
    return prepare(&Member::lease, &pb::Lease::Stub::LeaseRevoke, body);
  return Error(ErrorCode::Internal, "etcd request '" + path + "': no gRPC method for it");
}

// Waits until the member's channel is connected; false when it fails or the deadline passes.
// A channel already failing is not waited for: gRPC retries it in the background, and the caller
// moves on to the next member as it would after a refused connection.
bool connected(grpc::Channel& ch, std::chrono::system_clock::time_point deadline) {
  grpc_connectivity_state s = ch.GetState(/*try_to_connect=*/true);
  while (s != GRPC_CHANNEL_READY) {
    if (s == GRPC_CHANNEL_TRANSIENT_FAILURE || s == GRPC_CHANNEL_SHUTDOWN) return false;
    if (!ch.WaitForStateChange(s, deadline)) return false;
    s = ch.GetState(true);
  }
  return true;
}

class GrpcWatchStream : public EtcdWatchStream {
 public:
  using Stream = grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse>;
  GrpcWatchStream(std::unique_ptr<grpc::ClientContext> ctx, std::unique_ptr<Stream> stream,
                  EtcdEndpoint ep)
      : ctx_(std::move(ctx)), stream_(std::move(stream)), endpoint_(std::move(ep)) {}
  ~GrpcWatchStream() override {
    ctx_->TryCancel();
    if (finished_) return;
    pb::WatchResponse drain;
    while (stream_->Read(&drain)) {
    }
    (void)stream_->Finish();  // CANCELLED: we asked for it
  }

  Result<json> next() override {
    pb::WatchResponse r;
    if (closed_) return Error(ErrorCode::Cancelled, "watch closed");
    if (!stream_->Read(&r)) {
      if (closed_) return Error(ErrorCode::Cancelled, "watch closed");
      grpc::Status st = stream_->Finish();
      finished_ = true;
      return Error(ErrorCode::Unavailable,
                   "watch stream from etcd " + endpoint_.url() + " ended: " + st.error_message());
    }
    if (closed_) return Error(ErrorCode::Cancelled, "watch closed");
    return toJson(r);
  }

  // Thread-safe: a blocked Read() returns false once the call is cancelled.
  void close() override {
    closed_ = true;
    ctx_->TryCancel();
  }

 private:
  std::unique_ptr<grpc::ClientContext> ctx_;
  std::unique_ptr<Stream> stream_;
  EtcdEndpoint endpoint_;
  std::atomic<bool> closed_{false};
  bool finished_ = false;
};

class GrpcEtcdClient : public EtcdClient {
 public:
  GrpcEtcdClient(std::vector<EtcdEndpoint> eps, EtcdClientOptions o)
      : endpoints_(std::move(eps)), options_(std::move(o)) {}

  Result<void> connectAll() {
    std::shared_ptr<grpc::ChannelCredentials> tls;
    grpc::ChannelArguments args;
    // A LIST of every pod is one Range reply: as large as the gateway's body limit.
    args.SetMaxReceiveMessageSize(512 << 20);
    args.SetMaxSendMessageSize(-1);
    // A member that comes back is found within a second, not gRPC's default two minutes.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    // Also the connect timeout (TCP + HTTP/2 handshake): an etcd that is still starting accepts
    // connections and answers them only ~10 s later; trying again after 1 s finds it sooner.
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1000);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // After a failed connection gRPC re-resolves the name before trying again, at most this
    // often: its default (30 s) kept a restarted member away for ten seconds and more.
    args.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, 500);
    // A member that vanished without closing the connection (power loss, partition) is noticed
    // by the watch, which otherwise waits on it forever. etcd allows pings every 5 s.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
    for (const auto& ep : endpoints_) {
      if (ep.tls && !tls) {
        SKIFF_ASSIGN_OR_RETURN(tls, tlsCredentials());
      }
      auto m = std::make_unique<Member>();
      m->endpoint = ep;
      std::string target =
          (ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host) + ":" + ep.port;
      m->channel = grpc::CreateCustomChannel(
          target, ep.tls ? tls : grpc::InsecureChannelCredentials(), args);
      m->kv = pb::KV::NewStub(m->channel);
      m->watch = pb::Watch::NewStub(m->channel);
      m->lease = pb::Lease::NewStub(m->channel);
      members_.push_back(std::move(m));
    }
    return ok();
  }

  Result<json> call(const std::string& path, const json& body, bool idempotent) override {
    SKIFF_ASSIGN_OR_RETURN(Prepared rpc, prepareFor(path, body));
    std::optional<Error> last;
    for (std::size_t attempt = 0; attempt < members_.size() + 1; ++attempt) {
      std::size_t idx = current_.load();
      Member& m = *members_[idx];
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + options_.request_timeout);
      // clientv3.WithRequireLeader: a member without a leader answers "etcdserver: no leader"
      // at once (nothing written, try the next) instead of holding the request to the deadline.
      // The gateway's own requests carry it too, which is why it failed over that fast.
      ctx.AddMetadata(kRequireLeader, "true");
      grpc::Status st = rpc.invoke(m, ctx);
      if (st.ok()) return rpc.reply();
      Error e = statusError(st, m.endpoint);
      // Same policy as the gateway client: a definite answer ends it; an ambiguous failure
      // after sending ends a write; anything else moves on to the next member.
      if (e.is(ErrorCode::Gone) || e.is(ErrorCode::Internal) || e.is(ErrorCode::Cancelled))
        return e;
      if (!idempotent && e.is(ErrorCode::Timeout)) return e;
      rotate(idx);
      last = std::move(e);
    }
    return std::move(*last).wrap("etcd: no member could serve the request (" +
                                 std::to_string(members_.size()) + " tried)");
  }

  Result<std::unique_ptr<EtcdWatchStream>> watch(const json& create_request) override {
    pb::WatchRequest req;
    SKIFF_TRY(fromJson(json{{"create_request", create_request}}, req));
    std::optional<Error> last;
    for (std::size_t i = 0; i < members_.size(); ++i) {
      std::size_t idx = (current_.load() + i) % members_.size();
      Member& m = *members_[idx];
      if (!connected(*m.channel, std::chrono::system_clock::now() + options_.request_timeout)) {
        last = Error(ErrorCode::Unavailable, "watch: connect to etcd " + m.endpoint.url() +
                                                 ": no connection within the request timeout");
        continue;
      }
      auto ctx = std::make_unique<grpc::ClientContext>();
      // As kube-apiserver's watches: a member cut off from the leader ends the stream instead
      // of going silent, and the watch moves on.
      ctx->AddMetadata(kRequireLeader, "true");
      auto stream = m.watch->Watch(ctx.get());
      if (!stream->Write(req)) {
        last = statusError(stream->Finish(), m.endpoint).wrap("watch");
        continue;
      }
      current_ = idx;
      return std::unique_ptr<EtcdWatchStream>(
          std::make_unique<GrpcWatchStream>(std::move(ctx), std::move(stream), m.endpoint));
    }
    return *last;
  }

  const std::vector<EtcdEndpoint>& endpoints() const override { return endpoints_; }

 private:
  Result<std::shared_ptr<grpc::ChannelCredentials>> tlsCredentials() {
    grpc::SslCredentialsOptions so;
    auto load = [](const std::string& path, std::string& into) -> Result<void> {
      if (path.empty()) return ok();
      SKIFF_ASSIGN_OR_RETURN(into, readFile(path));
      return ok();
    };
    auto r = load(options_.ca_file, so.pem_root_certs);  // empty: gRPC's default roots
    if (r) r = load(options_.cert_file, so.pem_cert_chain);
    if (r) r = load(options_.key_file, so.pem_private_key);
    if (!r) return std::move(r).error().wrap("load etcd client TLS files");
    return grpc::SslCredentials(so);
  }

  void rotate(std::size_t failed) {
    current_.compare_exchange_strong(failed, (failed + 1) % members_.size());
  }

  std::vector<EtcdEndpoint> endpoints_;
  EtcdClientOptions options_;
  std::vector<std::unique_ptr<Member>> members_;
  std::atomic<std::size_t> current_{0};
};

}  // namespace

Result<std::unique_ptr<EtcdClient>> newGrpcEtcdClient(std::vector<EtcdEndpoint> endpoints,
                                                      const EtcdClientOptions& options) {
  auto c = std::make_unique<GrpcEtcdClient>(std::move(endpoints), options);
  SKIFF_TRY(c->connectAll());
  return std::unique_ptr<EtcdClient>(std::move(c));
}

}  // namespace skiff::master::store
