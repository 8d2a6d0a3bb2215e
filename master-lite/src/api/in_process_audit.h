#pragma once

// Audit records for in-process calls. kube-apiserver audits every request
// kube-controller-manager, kube-scheduler and its own loopback client send it; skiff's
// controllers, scheduler and API-server work call the registry directly, so the in-process
// client describes each call as the HTTP request it stands for (method, path, user agent,
// loopback source) and hands it to the same auditor and policy as the handler.

#include <memory>
#include <optional>
#include <string>

#include "skiff/master/api/handler.h"

namespace skiff::master::api {

// The user agent client-go sends for `identity`: "<component>/<version> (linux/amd64)
// kubernetes/skiff", with "/<controller>" for a controller's own client as kube-controller-
// manager's client builder adds.
std::string inProcessUserAgent(const InProcessIdentity& identity);

class InProcessAudit {
 public:
  InProcessAudit(RequestAuditor* auditor, UserInfo user, std::string user_agent)
      : auditor_(auditor), user_(std::move(user)), user_agent_(std::move(user_agent)) {}

  // One audited call; empty when there is no auditor or the policy says None for it.
  struct Call {
    std::unique_ptr<HttpRequest> request;  // the record refers to it until finished
    std::unique_ptr<AuditRecord> record;
    RequestAuditInfo info;
  };
  // `query` without "?", e.g. "watch=true" or "dryRun=All"; `body` the object sent, if any.
  std::optional<Call> begin(const std::string& verb, const ResourceInfo& r,
                            const std::string& subresource, const std::string& ns,
                            const std::string& name, const nlohmann::json* body,
                            const std::string& query = "") const;
  // Records the authorizer's decision (before the call runs).
  static void decided(std::optional<Call>& call, const Result<void>& allowed);
  // Completes the record with the call's outcome: the object (2xx) or the error's Status.
  static void finish(std::optional<Call>& call, const Result<nlohmann::json>& result,
                     bool created = false);
  // A watch's record: ResponseStarted now, ResponseComplete when the returned holder is
  // destroyed (the watch stops). Null when the call is not audited.
  static std::unique_ptr<ResponseStream> finishWatch(std::optional<Call>& call);

 private:
  RequestAuditor* auditor_;
  UserInfo user_;
  std::string user_agent_;
};

}  // namespace skiff::master::api
