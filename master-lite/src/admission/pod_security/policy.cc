// Levels, versions, namespace labels and the evaluation of a pod against one level and version
// (pod-security-admission api/helpers.go and policy/registry.go).
#include <algorithm>
#include <regex>
#include <set>

#include "checks.h"
#include "skiff/common/enum_names.h"
#include "skiff/common/version.h"
#include "skiff/master/admission/pod_security_policy.h"

namespace skiff::master::admission {

namespace {
constexpr EnumName<Level> kLevels[] = {{Level::Privileged, "privileged"},
                                       {Level::Baseline, "baseline"},
                                       {Level::Restricted, "restricted"}};
}  // namespace

const char* levelName(Level l) { return nameOf(kLevels, l, "privileged"); }

int compareLevels(Level a, Level b) {
  int x = static_cast<int>(a), y = static_cast<int>(b);
  return x == y ? 0 : (x < y ? -1 : 1);
}

std::string Version::str() const { return latest ? "latest" : "v1." + std::to_string(minor); }

bool Version::olderThan(const Version& o) const {
  if (latest) return false;
  if (o.latest) return true;
  return minor < o.minor;
}

std::string LevelVersion::str() const {
  return std::string(levelName(level)) + ":" + version.str();
}

bool LevelVersion::equivalent(const LevelVersion& o) const {
  return (level == Level::Privileged && o.level == Level::Privileged) || *this == o;
}

bool Policy::fullyPrivileged() const {
  return enforce.level == Level::Privileged && audit.level == Level::Privileged &&
         warn.level == Level::Privileged;
}

bool Policy::equivalent(const Policy& o) const {
  return enforce.equivalent(o.enforce) && audit.equivalent(o.audit) && warn.equivalent(o.warn);
}

bool parseLevel(const std::string& s, Level& out) { return valueOf(kLevels, s, out); }

bool parseVersion(const std::string& s, Version& out) {
  if (s == "latest") {
    out = Version{};
    return true;
  }
  static const std::regex re("^v1\\.([0-9]|[1-9][0-9]*)$");
  std::smatch m;
  if (!std::regex_match(s, m, re) || m[1].length() > 9) return false;
  out = Version::v1(std::stoi(m[1].str()));
  return true;
}

std::string LabelError::message() const {
  return "metadata.labels[" + label + "]: Invalid value: " + checks::goQuote(value) + ": " + detail;
}

namespace {

constexpr const char* kLevelDetail = "must be one of privileged, baseline, restricted";
constexpr const char* kVersionDetail = "must be \"latest\" or \"v1.x\"";

const std::string* labelValue(const std::map<std::string, std::string>& labels, const char* k) {
  auto it = labels.find(k);
  return it == labels.end() ? nullptr : &it->second;
}

// Applies one level label; false when present and invalid (the error is recorded).
bool applyLevel(const std::map<std::string, std::string>& labels, const char* key, Level& level,
                std::vector<LabelError>* errors, bool& present) {
  const std::string* v = labelValue(labels, key);
  present = v != nullptr;
  if (!v) return true;
  if (parseLevel(*v, level)) return true;
  if (errors) errors->push_back({key, *v, kLevelDetail});
  return false;
}

void applyVersion(const std::map<std::string, std::string>& labels, const char* key,
                  Version& version, std::vector<LabelError>* errors, bool& present) {
  const std::string* v = labelValue(labels, key);
  present = v != nullptr;
  if (!v) return;
  if (!parseVersion(*v, version)) {
    version = Version{};
    if (errors) errors->push_back({key, *v, kVersionDetail});
  }
}

}  // namespace

Policy policyFromLabels(const std::map<std::string, std::string>& labels, const Policy& defaults,
                        std::vector<LabelError>* errors) {
  Policy p = defaults;
  bool has_enforce = false, has_warn = false, has_warn_version = false, unused = false;
  // An invalid enforce level evaluates as restricted (fail closed) and does not default warn.
  if (!applyLevel(labels, kEnforceLabel, p.enforce.level, errors, has_enforce)) {
    p.enforce.level = Level::Restricted;
    has_enforce = false;
  }
  applyVersion(labels, kEnforceVersionLabel, p.enforce.version, errors, unused);
  if (!applyLevel(labels, kAuditLabel, p.audit.level, errors, unused))
    p.audit.level = Level::Privileged;
  applyVersion(labels, kAuditVersionLabel, p.audit.version, errors, unused);
  if (!applyLevel(labels, kWarnLabel, p.warn.level, errors, has_warn))
    p.warn.level = Level::Privileged;
  applyVersion(labels, kWarnVersionLabel, p.warn.version, errors, has_warn_version);
  if (!has_warn && has_enforce && compareLevels(p.enforce.level, p.warn.level) > 0) {
    p.warn.level = p.enforce.level;
    if (!has_warn_version) p.warn.version = p.enforce.version;
  }
  return p;
}

std::string AggregateResult::forbiddenReason() const { return checks::join(reasons, ", "); }

std::string AggregateResult::forbiddenDetail() const {
  std::string out;
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    if (i) out += ", ";
    out += reasons[i];
    if (!details[i].empty()) out += " (" + details[i] + ")";
  }
  return out;
}

namespace {

int newestCheckMinor() {
  static const int minor = [] {
    int max_minor = 0;
    for (const auto* table : {&checks::baselineChecks(), &checks::restrictedChecks()}) {
      for (const checks::Check& c : *table)
        max_minor = std::max(max_minor, c.versions.back().min_minor);
    }
    return max_minor;
  }();
  return minor;
}

}  // namespace

Version maxCheckVersion() { return Version::v1(std::min(newestCheckMinor(), kKubeMinor)); }

namespace {

// The implementation of `c` in force at v1.<minor>, null before its first version.
const checks::VersionedCheck* atVersion(const checks::Check& c, int minor) {
  const checks::VersionedCheck* found = nullptr;
  for (const checks::VersionedCheck& v : c.versions) {
    if (v.min_minor <= minor) found = &v;
  }
  return found;
}

void record(AggregateResult& agg, CheckResult r) {
  if (r.allowed) return;
  agg.allowed = false;
  agg.reasons.push_back(r.reason.empty() ? "unknown forbidden reason" : std::move(r.reason));
  agg.details.push_back(std::move(r.detail));
}

}  // namespace

AggregateResult evaluatePod(const LevelVersion& lv, const nlohmann::json& pod_metadata,
                            const nlohmann::json& pod_spec) {
  return evaluatePodAtRelease(lv, kKubeMinor, pod_metadata, pod_spec);
}

AggregateResult evaluatePodAtRelease(const LevelVersion& lv, int release_minor,
                                     const nlohmann::json& pod_metadata,
                                     const nlohmann::json& pod_spec) {
  AggregateResult agg;
  if (lv.level == Level::Privileged) return agg;
  const Version newest = Version::v1(std::min(newestCheckMinor(), release_minor));
  Version v = lv.version;
  if (newest.olderThan(v)) v = newest;
  std::set<std::string> overridden;
  std::vector<const checks::VersionedCheck*> restricted;
  if (lv.level == Level::Restricted) {
    for (const checks::Check& c : checks::restrictedChecks()) {
      const checks::VersionedCheck* vc = atVersion(c, v.minor);
      restricted.push_back(vc);
      if (vc) overridden.insert(vc->overrides.begin(), vc->overrides.end());
    }
  }
  for (const checks::Check& c : checks::baselineChecks()) {
    const checks::VersionedCheck* vc = atVersion(c, v.minor);
    if (vc && !overridden.count(c.id)) record(agg, vc->fn(pod_metadata, pod_spec));
  }
  for (const checks::VersionedCheck* vc : restricted) {
    if (vc) record(agg, vc->fn(pod_metadata, pod_spec));
  }
  return agg;
}

}  // namespace skiff::master::admission
