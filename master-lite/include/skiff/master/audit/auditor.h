#pragma once

// kube-apiserver's audit log (--audit-policy-file, --audit-log-path and rotation flags): every
// request is matched against the policy; at Metadata and above an Event is written at
// RequestReceived, ResponseStarted (watches) and ResponseComplete unless the policy omits the
// stage; Request adds the request body, RequestResponse the response body. Events are queued
// and written by one thread (a full queue drops events and counts them, never blocks requests).

#include <cstdint>
#include <memory>
#include <string>

#include "skiff/common/result.h"
#include "skiff/master/api/handler.h"
#include "skiff/master/audit/log_writer.h"
#include "skiff/master/audit/policy.h"

namespace skiff::master::audit {

struct AuditOptions {
  std::string policy_file;  // required when log.path is set
  RotationOptions log;      // log.path "" = no audit log
  std::size_t queue_capacity = 10000;
};

class Auditor : public api::RequestAuditor {
 public:
  // Events go to `sink` (one JSON line per call) from the writer thread.
  Auditor(Policy policy, AsyncWriter::Sink sink, std::size_t queue_capacity, SystemClock now);
  ~Auditor() override;

  std::unique_ptr<api::AuditRecord> begin(const api::HttpRequest& req,
                                          const api::RequestAuditInfo& info) override;
  // Waits until every event so far is written (tests, shutdown).
  void flush();
  std::uint64_t dropped() const;

  // Used by the records: queue one event line (made on the writer's thread).
  void emit(AsyncWriter::MakeLine make);
  std::chrono::system_clock::time_point now() const { return now_(); }

 private:
  Policy policy_;
  SystemClock now_;
  std::unique_ptr<AsyncWriter> writer_;
};

// The auditor the flags ask for: null when no log path is set; an error for a missing or bad
// policy file or a log file that cannot be opened.
Result<std::unique_ptr<Auditor>> newAuditor(const AuditOptions& options);

}  // namespace skiff::master::audit
