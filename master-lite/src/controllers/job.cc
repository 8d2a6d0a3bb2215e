// Job controller (pkg/controller/job): runs pods until `completions` succeed (at most
// `parallelism` at a time), fails the Job after `backoffLimit` failed pods or after
// `activeDeadlineSeconds`, sets Complete/Failed conditions and completionTime, and deletes a
// finished Job after ttlSecondsAfterFinished (the TTL-after-finished controller).

#include <algorithm>

#include "skiff/master/controllers/controllers.h"
#include "skiff/master/informer/event_recorder.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/informer/options.h"
#include "util.h"
#include "workload_controller.h"

namespace skiff::master {

namespace {

bool finished(const json& job, std::string* type = nullptr) {
  for (const auto& c : meta::at(job, {"status", "conditions"})) {
    std::string t = c.value("type", "");
    if ((t == "Complete" || t == "Failed") && c.value("status", "") == "True") {
      if (type) *type = t;
      return true;
    }
  }
  return false;
}

// The Job's pods by state: active ones (to scale), and counts of the rest.
struct JobPods {
  std::vector<json> active;
  std::int64_t succeeded = 0, failed = 0, ready = 0, terminating = 0;
};

JobPods countPods(const json& job, const std::vector<json>& pods) {
  JobPods out;
  for (const auto& p : pods) {
    auto ref = meta::controllerRef(p);
    if (!ref || ref->value("uid", "") != meta::uid(job)) continue;
    std::string phase = meta::str(p, {"status", "phase"});
    if (phase == "Succeeded") {
      ++out.succeeded;
    } else if (phase == "Failed") {
      ++out.failed;
    } else if (meta::isDeleting(p)) {
      ++out.terminating;
    } else {
      out.active.push_back(p);
      if (ctl::isReady(p)) ++out.ready;
    }
  }
  return out;
}

// spec.selector; a Job that has none (never through the API, which generates it) selects the
// pods it labels with its uid, as the generated selector does.
LabelSelector selectorOf(const json& job) {
  if (meta::at(job, {"spec", "selector"}).is_object()) return ctl::workloadSelector(job);
  auto generated = LabelSelector::fromJson(
      json{{"matchLabels", {{"batch.kubernetes.io/controller-uid", meta::uid(job)}}}});
  return generated ? *generated : LabelSelector::nothing();
}

class JobController : public WorkloadController {
 public:
  JobController(ApiClient& client, std::shared_ptr<Clock> clock, ApiClient& ttl_client)
      : WorkloadController("job", client, std::move(clock), gvr::kJobs, "Job"),
        ttl_client_(ttl_client) {}

  Result<void> syncLive(json job) override {
    std::string ns = meta::ns(job);
    TimePoint now = clock().now();
    if (finished(job)) return ttlAfterFinished(job, now);

    SKIFF_ASSIGN_OR_RETURN(ObjectList pods, client_.list(gvr::kPods, ns, ListOptions{}));
    // The ControllerRefManager's claim: matching orphans are adopted, owned pods that no longer
    // match are released.
    SKIFF_ASSIGN_OR_RETURN(
        std::vector<json> owned,
        ctl::claimObjects(client_, gvr::kPods, job, meta::makeControllerRef(job, "batch/v1", "Job"),
                          selectorOf(job), pods.items));
    JobPods counted = countPods(job, owned);
    std::vector<json>& active = counted.active;
    const std::int64_t succeeded = counted.succeeded, failed = counted.failed;
    const std::int64_t ready = counted.ready, terminating = counted.terminating;
    bool suspended = meta::boolean(job, {"spec", "suspend"});
    json status = ctl::statusOf(job);
    json next = status;
    if (!suspended && !next.contains("startTime")) next["startTime"] = formatTime(now);
    std::optional<std::int64_t> completions;
    if (meta::at(job, {"spec", "completions"}).is_number()) {
      completions = meta::integer(job, {"spec", "completions"});
    }
    std::int64_t parallelism = meta::integer(job, {"spec", "parallelism"}, 1);
    std::int64_t backoff_limit = meta::integer(job, {"spec", "backoffLimit"}, 6);
    json conds = next.contains("conditions") ? next["conditions"] : json::array();

    std::string fail_reason, fail_message;
    if (failed > backoff_limit) {
      fail_reason = "BackoffLimitExceeded";
      fail_message = "Job has reached the specified backoff limit";
    } else if (auto ads = meta::at(job, {"spec", "activeDeadlineSeconds"});
               ads.is_number() && next.contains("startTime")) {
      TimePoint start;
      if (parseTime(next["startTime"].get<std::string>(), &start)) {
        TimePoint deadline = start + std::chrono::seconds(ads.get<std::int64_t>());
        if (now >= deadline) {
          fail_reason = "DeadlineExceeded";
          fail_message = "Job was active longer than specified deadline";
        } else {
          queue().addAfter(meta::key(job), deadline - now);
        }
      }
    }
    std::int64_t active_count = 0;
    bool complete = completions ? succeeded >= *completions : (succeeded > 0 && active.empty());
    if (!fail_reason.empty()) {
      for (const auto& p : active) SKIFF_TRY(removePod(p));
      ctl::setCondition(conds,
                        ctl::condition("FailureTarget", "True", fail_reason, fail_message, now));
      ctl::setCondition(conds, ctl::condition("Failed", "True", fail_reason, fail_message, now));
      recorder_.event(job, "Warning", fail_reason, fail_message);
    } else if (complete) {
      for (const auto& p : active) SKIFF_TRY(removePod(p));
      ctl::setCondition(conds, ctl::condition("SuccessCriteriaMet", "True", "CompletionsReached",
                                              "Reached expected number of succeeded pods", now));
      ctl::setCondition(conds, ctl::condition("Complete", "True", "CompletionsReached",
                                              "Reached expected number of succeeded pods", now));
      next["completionTime"] = formatTime(now);
      recorder_.event(job, "Normal", "Completed", "Job completed");
    } else if (!suspended) {
      std::int64_t want = completions ? std::min(parallelism, *completions - succeeded)
                                      : (succeeded > 0 ? 0 : parallelism);
      want = std::max<std::int64_t>(want, 0);
      std::int64_t have = static_cast<std::int64_t>(active.size());
      for (std::int64_t i = have; i < want; ++i) SKIFF_TRY(createPod(job));
      for (std::int64_t i = want; i < have; ++i)
        SKIFF_TRY(removePod(active[static_cast<std::size_t>(i)]));
      active_count = want;
    } else {
      for (const auto& p : active) SKIFF_TRY(removePod(p));
    }
    next["active"] = active_count;
    next["succeeded"] = succeeded;
    next["failed"] = failed;
    next["ready"] = ready;
    next["terminating"] = terminating;
    next["uncountedTerminatedPods"] = json::object();
    if (!conds.empty()) next["conditions"] = conds;
    if (next != status) {
      json obj = job;
      obj["status"] = next;
      auto r = client_.update(gvr::kJobs, ns, obj, "status");
      if (!r && !r.error().is(ErrorCode::NotFound)) return std::move(r).error();
      if (r && finished(*r)) return ttlAfterFinished(*r, now);
    }
    return {};
  }

 private:
  Result<void> createPod(const json& job) {
    json tmpl = meta::at(job, {"spec", "template"});
    std::string uid = meta::uid(job);
    std::string name = meta::name(job);
    json pod =
        ctl::podFromTemplate(tmpl, meta::makeControllerRef(job, "batch/v1", "Job"), name + "-");
    for (const auto& [k, v] :
         std::map<std::string, std::string>{{"controller-uid", uid},
                                            {"job-name", name},
                                            {"batch.kubernetes.io/controller-uid", uid},
                                            {"batch.kubernetes.io/job-name", name}}) {
      pod["metadata"]["labels"][k] = v;
    }
    return createPodFor(job, pod);
  }

  Result<void> ttlAfterFinished(const json& job, TimePoint now) {
    const json& ttl = meta::at(job, {"spec", "ttlSecondsAfterFinished"});
    if (!ttl.is_number()) return {};
    TimePoint finish = now;
    std::string ct = meta::str(job, {"status", "completionTime"});
    if (ct.empty()) {
      for (const auto& c : meta::at(job, {"status", "conditions"})) {
        if (c.value("type", "") == "Failed") ct = c.value("lastTransitionTime", "");
      }
    }
    parseTime(ct, &finish);
    TimePoint expire = finish + std::chrono::seconds(ttl.get<std::int64_t>());
    if (now < expire) {
      queue().addAfter(meta::key(job), expire - now);
      return {};
    }
    DeleteOptions d = opts::propagation("Foreground");
    d.precondition_uid = meta::uid(job);
    return ctl::ignoreNotFound(ttl_client_.remove(gvr::kJobs, meta::ns(job), meta::name(job), d));
  }

  ApiClient& ttl_client_;  // the TTL-after-finished controller's deletes
};

}  // namespace

std::unique_ptr<Controller> newJobController(ApiClient& client, std::shared_ptr<Clock> clock,
                                             ApiClient* ttl_client) {
  return std::make_unique<JobController>(client, std::move(clock),
                                         ttl_client ? *ttl_client : client);
}

}  // namespace skiff::master
