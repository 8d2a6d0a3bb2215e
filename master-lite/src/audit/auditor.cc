// One audited request: the Event built at RequestReceived, completed with the response
// (k8s.io/apiserver pkg/endpoints/filters/audit.go, pkg/audit/request.go).
#include "skiff/master/audit/auditor.h"

#include <unistd.h>

#include <algorithm>
#include <exception>

#include "skiff/common/file.h"
#include "skiff/common/log.h"
#include "skiff/master/api/protobuf.h"
#include "skiff/master/audit/event.h"

namespace skiff::master::audit {
namespace {

using json = nlohmann::json;

EventUser eventUser(const api::UserInfo& u) { return {u.name, u.groups}; }

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// X-Forwarded-For entries, then X-Real-Ip, then the peer (utilnet.SourceIPs).
std::vector<std::string> sourceIps(const api::HttpRequest& req) {
  std::vector<std::string> ips;
  std::string xff = req.header("x-forwarded-for");
  for (std::size_t pos = 0; !xff.empty() && pos != std::string::npos;) {
    std::size_t comma = xff.find(',', pos);
    std::string ip = trim(xff.substr(pos, comma == std::string::npos ? comma : comma - pos));
    if (!ip.empty()) ips.push_back(ip);
    pos = comma == std::string::npos ? comma : comma + 1;
  }
  std::string real = trim(req.header("x-real-ip"));
  if (!real.empty() && std::find(ips.begin(), ips.end(), real) == ips.end()) ips.push_back(real);
  if (!req.remote_addr.empty() && std::find(ips.begin(), ips.end(), req.remote_addr) == ips.end())
    ips.push_back(req.remote_addr);
  return ips;
}

// A JSON body, null for an empty or non-JSON one (protobuf bodies are not decoded here).
json jsonBody(const std::string& body) {
  if (body.empty() || (body[0] != '{' && body[0] != '[')) return json();
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? json() : j;
}

// The request's object: JSON as sent, or a Kubernetes protobuf envelope (typed clients such as
// kubectl create configmap) decoded to JSON.
json requestBody(const std::string& body, bool protobuf) {
  if (!protobuf) return jsonBody(body);
  auto decoded = api::decodeKubernetesProtobuf(body);
  return decoded ? std::move(decoded).value() : json();
}

// The raw bodies of a request, turned into the event's objects on the writer's thread.
struct Bodies {
  std::string request;
  bool request_protobuf = false;
  bool name_from_request = false;  // objectRef.name from a created object's metadata.name
  bool request_object = false;     // level Request and above
  bool has_response = false;
  int code = 0;
  std::string response;  // kept for failures (Status) and at RequestResponse
  bool response_object = false;
};

void fillFromBodies(Event& ev, const Bodies& b, bool omit_managed_fields) {
  if (!b.request.empty()) {
    json body = requestBody(b.request, b.request_protobuf);
    const json& meta = body.is_object() && body.contains("metadata") ? body["metadata"] : json();
    if (b.name_from_request && ev.object_ref && meta.is_object())
      ev.object_ref->name = meta.value("name", "");
    if (b.request_object && !body.is_null()) {
      if (omit_managed_fields) omitManagedFields(body);
      ev.request_object = std::move(body);
    }
  }
  if (!b.has_response) return;
  json body = b.response.empty() ? json() : jsonBody(b.response);
  ev.response_status = responseStatusOf(b.code, body);
  if (b.response_object && !body.is_null()) {
    if (omit_managed_fields) omitManagedFields(body);
    ev.response_object = std::move(body);
  }
}

class Record;

// Ends a watch's audit record when the stream is done (the connection closed or timed out).
class AuditedStream final : public api::ResponseStream {
 public:
  AuditedStream(std::unique_ptr<api::ResponseStream> inner, std::shared_ptr<Record> rec)
      : inner_(std::move(inner)), rec_(std::move(rec)) {}
  ~AuditedStream() override;
  bool read(std::string& out) override { return inner_->read(out); }
  void setNotify(std::function<void()> fn) override { inner_->setNotify(std::move(fn)); }
  std::chrono::steady_clock::time_point deadline() const override { return inner_->deadline(); }
  std::string idle() override { return inner_->idle(); }

 private:
  std::unique_ptr<api::ResponseStream> inner_;
  std::shared_ptr<Record> rec_;
};

class Record final : public api::AuditRecord {
 public:
  Record(Auditor& auditor, Decision d, Event ev)
      : auditor_(auditor), d_(std::move(d)), ev_(std::move(ev)) {}

  // Queues the event of stage `s`; the bodies are parsed and the line encoded on the writer's
  // thread, so a request pays for copies, not for JSON work.
  void emitStage(Stage s, std::shared_ptr<const Bodies> bodies = nullptr) {
    if (d_.omit_stages.count(s)) return;
    ev_.stage = s;
    ev_.stage_time = auditor_.now();
    auditor_.emit([ev = ev_, bodies = std::move(bodies), omit = d_.omit_managed_fields]() mutable {
      if (bodies) fillFromBodies(ev, *bodies, omit);
      return encodeEvent(ev);
    });
  }

  // A request whose handling threw never reaches finish(): its record ends with the Panic
  // stage and a 500, as kube-apiserver's audit filter records a panicking handler.
  ~Record() override {
    if (finished_ || std::uncaught_exceptions() == 0) return;
    nlohmann::ordered_json st;
    st["metadata"] = nlohmann::ordered_json::object();
    st["status"] = "Failure";
    st["message"] = "APIServer panic'd: exception";
    st["reason"] = "InternalError";
    st["code"] = 500;
    ev_.response_status = std::move(st);
    emitStage(Stage::Panic);
  }

  void finish(const api::RequestAuditInfo& info, api::HttpResponse& resp) override;
  void completeStream() { emitStage(Stage::ResponseComplete); }

  Auditor& auditor_;
  Decision d_;
  Event ev_;
  const api::HttpRequest* req_ = nullptr;
  bool finished_ = false;
};

AuditedStream::~AuditedStream() {
  inner_.reset();
  rec_->completeStream();
}

// What the response and the handler added since RequestReceived.
void Record::finish(const api::RequestAuditInfo& info, api::HttpResponse& resp) {
  finished_ = true;
  if (!info.authz_decision.empty()) {
    ev_.annotations["authorization.k8s.io/decision"] = info.authz_decision;
    ev_.annotations["authorization.k8s.io/reason"] = info.authz_reason;
  }
  for (const auto& [k, v] : info.notes.audit_annotations) ev_.annotations[k] = v;
  if (!ev_.impersonated_user && info.impersonated_user)
    ev_.impersonated_user = eventUser(*info.impersonated_user);
  if (ev_.user.username.empty() && !info.user.name.empty()) ev_.user = eventUser(info.user);
  auto b = std::make_shared<Bodies>();
  b->name_from_request = ev_.object_ref && ev_.object_ref->name.empty();
  b->request_object = atLeast(d_.level, Level::Request);
  if (req_ && (b->name_from_request || b->request_object)) {
    b->request = req_->body;
    b->request_protobuf = req_->header("content-type").find("protobuf") != std::string::npos;
  }
  req_ = nullptr;
  if (resp.stream) {
    ev_.response_status = responseStatusOf(resp.status, json());
    emitStage(Stage::ResponseStarted, b);
    auto shared = std::make_shared<Record>(auditor_, d_, ev_);
    shared->finished_ = true;  // its end is the stream's, recorded as ResponseComplete
    resp.stream = std::make_unique<AuditedStream>(std::move(resp.stream), shared);
    return;
  }
  b->has_response = true;
  b->code = resp.status;
  b->response_object = atLeast(d_.level, Level::RequestResponse) &&
                       resp.content_type.find("json") != std::string::npos;
  if (resp.status >= 400 || b->response_object) b->response = resp.body;
  emitStage(Stage::ResponseComplete, std::move(b));
}

}  // namespace

Auditor::Auditor(Policy policy, AsyncWriter::Sink sink, std::size_t queue_capacity, SystemClock now)
    : policy_(std::move(policy)),
      now_(now ? std::move(now) : SystemClock([] { return std::chrono::system_clock::now(); })),
      writer_(std::make_unique<AsyncWriter>(std::move(sink), queue_capacity)) {}

Auditor::~Auditor() {
  writer_.reset();  // writes what is queued
}

// A full queue means the disk is slower than the requests: drop (kube-apiserver's batch
// backend does the same) and say so now and then, not per event.
void Auditor::emit(AsyncWriter::MakeLine make) {
  if (writer_->push(std::move(make))) return;
  std::uint64_t n = writer_->dropped();
  if (n == 1 || n % 1000 == 0) {
    static const auto lg = skiff::log::get("master");
    SKIFF_LOG_WARN(lg, "Audit log queue full, dropping events", skiff::log::kv("dropped", n));
  }
}
void Auditor::flush() { writer_->flush(); }
std::uint64_t Auditor::dropped() const { return writer_->dropped(); }

std::unique_ptr<api::AuditRecord> Auditor::begin(const api::HttpRequest& req,
                                                 const api::RequestAuditInfo& info) {
  RequestAttributes a{info.user.name, info.user.groups, info.verb,        info.resource_request,
                      info.api_group, info.resource,    info.subresource, info.ns,
                      info.name,      info.path};
  Decision d = evaluatePolicy(policy_, a);
  if (d.level == Level::None) return nullptr;
  Event ev;
  ev.level = d.level;
  ev.audit_id = info.audit_id;
  ev.request_uri = req.target;
  ev.verb = info.verb;
  ev.user = eventUser(info.user);
  ev.source_ips = sourceIps(req);
  ev.user_agent = req.header("user-agent");
  if (info.resource_request) {
    ev.object_ref = ObjectRef{info.resource,  info.ns,          info.name, "",
                              info.api_group, info.api_version, "",        info.subresource};
  }
  ev.request_received = now_();
  auto rec = std::make_unique<Record>(*this, std::move(d), std::move(ev));
  rec->req_ = &req;
  rec->emitStage(Stage::RequestReceived);
  return rec;
}

Result<std::unique_ptr<Auditor>> newAuditor(const AuditOptions& options) {
  if (options.log.path.empty()) return std::unique_ptr<Auditor>();
  if (options.policy_file.empty())
    return Error(ErrorCode::Invalid, "--audit-log-path requires --audit-policy-file");
  SKIFF_ASSIGN_OR_RETURN(Policy policy, loadPolicyFile(options.policy_file));
  AsyncWriter::Sink sink;
  if (options.log.path == "-") {
    sink = [](const std::string& line) { return writeAll(STDOUT_FILENO, line, "stdout"); };
  } else {
    SKIFF_ASSIGN_OR_RETURN(std::unique_ptr<RotatingFile> file, RotatingFile::open(options.log));
    std::shared_ptr<RotatingFile> shared = std::move(file);
    sink = [shared](const std::string& line) { return shared->write(line); };
  }
  return std::make_unique<Auditor>(std::move(policy), std::move(sink), options.queue_capacity,
                                   options.log.now);
}

}  // namespace skiff::master::audit
