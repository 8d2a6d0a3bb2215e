// CronJob controller (pkg/controller/cronjob, v2): at each scheduled time creates a Job named
// <cronjob>-<minutes since the epoch>, honouring suspend, startingDeadlineSeconds and
// concurrencyPolicy (Allow, Forbid, Replace), tracks active Jobs, and keeps at most
// successfulJobsHistoryLimit (3) / failedJobsHistoryLimit (1) finished ones.

#include <algorithm>

#include "skiff/master/controllers/controllers.h"
#include "skiff/master/controllers/cron_schedule.h"
#include "skiff/master/informer/event_recorder.h"
#include "skiff/master/informer/meta.h"
#include "skiff/master/informer/options.h"
#include "util.h"
#include "workload_controller.h"

namespace skiff::master {

namespace {

std::string jobFinished(const json& job) {
  for (const auto& c : meta::at(job, {"status", "conditions"})) {
    std::string t = c.value("type", "");
    if ((t == "Complete" || t == "Failed") && c.value("status", "") == "True") return t;
  }
  return "";
}

class CronJobController : public WorkloadController {
 public:
  CronJobController(ApiClient& client, std::shared_ptr<Clock> clock)
      : WorkloadController("cronjob", client, std::move(clock), gvr::kCronJobs, "CronJob",
                           gvr::kJobs) {}

  // Schedules are also checked on a timer in case a wake-up was lost.
  Duration resyncPeriod() const override { return std::chrono::seconds(10); }
  void resync() override {
    if (objects_ == nullptr) return;
    for (const auto& cj : objects_->list()) queue().add(meta::key(cj));
  }

  Result<void> syncLive(json cj) override {
    std::string ns = meta::ns(cj);
    TimePoint now = clock().now();

    SKIFF_ASSIGN_OR_RETURN(ObjectList jobs, client_.list(gvr::kJobs, ns, ListOptions{}));
    std::vector<json> mine, active;
    for (const auto& j : jobs.items) {
      auto ref = meta::controllerRef(j);
      if (!ref || ref->value("uid", "") != meta::uid(cj)) continue;
      mine.push_back(j);
      if (jobFinished(j).empty() && !meta::isDeleting(j)) active.push_back(j);
    }
    json status = ctl::statusOf(cj);
    json next = status;

    auto sched = CronSchedule::parse(meta::str(cj, {"spec", "schedule"}));
    if (!sched) {
      recorder_.event(cj, "Warning", "UnparseableSchedule", sched.error().message());
      return {};  // not retried: only a spec change can fix it
    }
    bool suspended = meta::boolean(cj, {"spec", "suspend"});
    if (!suspended) {
      TimePoint earliest;
      std::string last = meta::str(cj, {"status", "lastScheduleTime"});
      if (last.empty() || !parseTime(last, &earliest)) {
        parseTime(meta::str(cj, {"metadata", "creationTimestamp"}), &earliest);
      }
      const json& sds = meta::at(cj, {"spec", "startingDeadlineSeconds"});
      if (sds.is_number()) {
        earliest = std::max(earliest, now - std::chrono::seconds(sds.get<std::int64_t>()));
      }
      // The most recent missed time in (earliest, now].
      std::optional<TimePoint> due;
      int missed = 0;
      for (auto t = sched->next(earliest); t && *t <= now && missed < 100000; t = sched->next(*t)) {
        due = t;
        ++missed;
      }
      if (missed > 100) {
        recorder_.event(cj, "Warning", "TooManyMissedTimes",
                        "too many missed start times: " + std::to_string(missed) +
                            ". Set or decrease .spec.startingDeadlineSeconds or check clock skew");
      }
      if (due) SKIFF_TRY(startJob(cj, *due, active, next));
      if (auto n = sched->next(now))
        queue().addAfter(meta::key(cj), *n - now + std::chrono::seconds(1));
    }
    // Active list and history limits.
    json refs = json::array();
    for (const auto& j : active) {
      if (meta::isDeleting(j)) continue;
      refs.push_back({{"apiVersion", "batch/v1"},
                      {"kind", "Job"},
                      {"name", meta::name(j)},
                      {"namespace", ns},
                      {"uid", meta::uid(j)},
                      {"resourceVersion", meta::resourceVersion(j)}});
    }
    if (refs.empty()) {
      next.erase("active");
    } else {
      next["active"] = refs;
    }
    std::string last_success;
    for (const auto& j : mine) {
      if (jobFinished(j) == "Complete") {
        last_success = std::max(last_success, meta::str(j, {"status", "completionTime"}));
      }
    }
    if (!last_success.empty()) next["lastSuccessfulTime"] = last_success;
    SKIFF_TRY(trimHistory(cj, mine, "Complete",
                          meta::integer(cj, {"spec", "successfulJobsHistoryLimit"}, 3)));
    SKIFF_TRY(
        trimHistory(cj, mine, "Failed", meta::integer(cj, {"spec", "failedJobsHistoryLimit"}, 1)));
    if (next == status) return {};
    return ctl::updateStatus(client_, gvr::kCronJobs, cj, std::move(next));
  }

 private:
  Result<void> startJob(const json& cj, TimePoint due, std::vector<json>& active, json& status) {
    std::string ns = meta::ns(cj);
    std::int64_t minutes =
        std::chrono::duration_cast<std::chrono::minutes>(due.time_since_epoch()).count();
    std::string job_name = meta::name(cj) + "-" + std::to_string(minutes);
    for (const auto& j : active) {
      if (meta::name(j) == job_name) return {};  // already started
    }
    std::string policy = meta::str(cj, {"spec", "concurrencyPolicy"});
    if (policy == "Forbid" && !active.empty()) {
      recorder_.event(cj, "Normal", "JobAlreadyActive",
                      "Not starting job because prior execution is running and concurrency "
                      "policy is Forbid");
      return {};
    }
    if (policy == "Replace") {
      for (const auto& j : active) {
        SKIFF_TRY(ctl::ignoreNotFound(
            client_.remove(gvr::kJobs, ns, meta::name(j), opts::propagation("Background"))));
        recorder_.event(cj, "Normal", "SuccessfulDelete", "Deleted job " + meta::name(j));
      }
      active.clear();
    }
    json tmpl = meta::at(cj, {"spec", "jobTemplate"});
    json job = {
        {"apiVersion", "batch/v1"},
        {"kind", "Job"},
        {"metadata",
         {{"name", job_name},
          {"namespace", ns},
          {"ownerReferences", json::array({meta::makeControllerRef(cj, "batch/v1", "CronJob")})}}},
        {"spec", meta::at(tmpl, {"spec"})}};
    for (const char* f : {"labels", "annotations"}) {
      if (meta::at(tmpl, {"metadata", f}).is_object()) job["metadata"][f] = tmpl["metadata"][f];
    }
    job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] =
        formatTime(due);
    auto r = client_.create(gvr::kJobs, ns, job);
    if (!r && !r.error().is(ErrorCode::AlreadyExists)) {
      recorder_.event(cj, "Warning", "FailedCreate", "Error creating job: " + r.error().message());
      return std::move(r).error();
    }
    if (r) {
      recorder_.event(cj, "Normal", "SuccessfulCreate", "Created job " + job_name);
      active.push_back(*r);
    }
    status["lastScheduleTime"] = formatTime(due);
    return {};
  }

  Result<void> trimHistory(const json& cj, const std::vector<json>& jobs, const std::string& kind,
                           std::int64_t limit) {
    std::vector<json> done;
    for (const auto& j : jobs) {
      if (jobFinished(j) == kind && !meta::isDeleting(j)) done.push_back(j);
    }
    if (static_cast<std::int64_t>(done.size()) <= limit) return {};
    std::sort(done.begin(), done.end(), [](const json& a, const json& b) {
      return meta::str(a, {"metadata", "creationTimestamp"}) <
             meta::str(b, {"metadata", "creationTimestamp"});
    });
    for (std::size_t i = 0; i + static_cast<std::size_t>(limit) < done.size(); ++i) {
      SKIFF_TRY(ctl::ignoreNotFound(client_.remove(gvr::kJobs, meta::ns(cj), meta::name(done[i]),
                                                   opts::propagation("Background"))));
      recorder_.event(cj, "Normal", "SuccessfulDelete", "Deleted job " + meta::name(done[i]));
    }
    return {};
  }
};

}  // namespace

const ControllerFactory newCronJobController = makeController<CronJobController>;

}  // namespace skiff::master
