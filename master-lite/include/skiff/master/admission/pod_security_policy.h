#pragma once

// The Pod Security Standards as k8s.io/pod-security-admission evaluates them: levels
// (privileged, baseline, restricted), versions ("latest", "v1.x"), the namespace labels that pick
// them, and the checks of each level with upstream's reasons and details. Pure functions over
// the pod's JSON (metadata + spec); no I/O, thread-safe.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace skiff::master::admission {

enum class Level { Privileged, Baseline, Restricted };

// "privileged", "baseline", "restricted".
const char* levelName(Level l);
// -1, 0, 1 as upstream's api.CompareLevels.
int compareLevels(Level a, Level b);

// A policy version: "latest" or v1.<minor>.
struct Version {
  bool latest = true;
  int minor = 0;

  static Version v1(int minor) { return Version{false, minor}; }
  std::string str() const;
  // Latest is newer than every numbered version.
  bool olderThan(const Version& o) const;
  bool operator==(const Version& o) const { return latest == o.latest && minor == o.minor; }
};

struct LevelVersion {
  Level level = Level::Privileged;
  Version version;
  // "restricted:latest", "baseline:v1.25".
  std::string str() const;
  bool operator==(const LevelVersion& o) const { return level == o.level && version == o.version; }
  // Two privileged policies are equivalent whatever their versions.
  bool equivalent(const LevelVersion& o) const;
};

struct Policy {
  LevelVersion enforce, audit, warn;
  bool fullyPrivileged() const;
  bool equivalent(const Policy& o) const;
};

// Upstream's label names.
inline constexpr const char* kEnforceLabel = "pod-security.kubernetes.io/enforce";
inline constexpr const char* kEnforceVersionLabel = "pod-security.kubernetes.io/enforce-version";
inline constexpr const char* kAuditLabel = "pod-security.kubernetes.io/audit";
inline constexpr const char* kAuditVersionLabel = "pod-security.kubernetes.io/audit-version";
inline constexpr const char* kWarnLabel = "pod-security.kubernetes.io/warn";
inline constexpr const char* kWarnVersionLabel = "pod-security.kubernetes.io/warn-version";

// Parses a level; false for anything but the three names (error text:
// "must be one of privileged, baseline, restricted").
bool parseLevel(const std::string& s, Level& out);
// Parses "latest" or "v1.<n>"; false otherwise (error text: `must be "latest" or "v1.x"`).
bool parseVersion(const std::string& s, Version& out);

// One invalid label: the field path, the bad value and upstream's detail.
struct LabelError {
  std::string label;
  std::string value;
  std::string detail;
  // metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "x": must be one of ...
  std::string message() const;
};

// The policy a namespace's labels select, starting from `defaults` (api.PolicyToEvaluate):
// an invalid enforce level evaluates as restricted, invalid audit/warn levels fail open to
// privileged, and warn follows a stricter enforce level when warn is not labelled.
Policy policyFromLabels(const std::map<std::string, std::string>& labels, const Policy& defaults,
                        std::vector<LabelError>* errors);

// The outcome of one check on one pod.
struct CheckResult {
  bool allowed = true;
  std::string reason;  // "privileged"
  std::string detail;  // `container "c" must not set securityContext.privileged=true`
};

// All failed checks of one evaluation, in upstream's order (baseline checks by ID, then
// restricted checks by ID).
struct AggregateResult {
  bool allowed = true;
  std::vector<std::string> reasons, details;
  // "reason1, reason2"
  std::string forbiddenReason() const;
  // "reason1 (detail1), reason2 (detail2)"
  std::string forbiddenDetail() const;
};

// What "latest" evaluates as: the checks of the Kubernetes release skiff serves (v1.32), as
// kube-apiserver's "latest" is its own release's. The check tables also carry the versions of
// checks upstream added after it (ported ahead); a v1.32 server does not apply those, even to a
// namespace that asks for v1.35.
Version maxCheckVersion();

// Evaluates the pod (its metadata and spec, as JSON) against one level and version: the
// checks that applied at that version, newer versions (and latest) evaluated as this server's
// release.
AggregateResult evaluatePod(const LevelVersion& lv, const nlohmann::json& pod_metadata,
                            const nlohmann::json& pod_spec);
// The same, as a server of release v1.<release_minor> would (tests of the checks ported ahead).
AggregateResult evaluatePodAtRelease(const LevelVersion& lv, int release_minor,
                                     const nlohmann::json& pod_metadata,
                                     const nlohmann::json& pod_spec);

}  // namespace skiff::master::admission
