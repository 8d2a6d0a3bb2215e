// Validation of PersistentVolumes, PersistentVolumeClaims and StorageClasses (storage.h), with
// the field paths and messages of pkg/apis/core/validation and pkg/apis/storage/validation.
#include <algorithm>

#include "skiff/common/quantity.h"
#include "skiff/master/api/storage.h"

namespace skiff::master::api {
namespace {

using Type = FieldError::Type;

const std::vector<std::string> kAccessModes{"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce",
                                            "ReadWriteOncePod"};

std::string supported(const std::vector<std::string>& values) {
  std::string d = "supported values: ";
  for (std::size_t i = 0; i < values.size(); ++i) d += (i ? ", " : "") + json(values[i]).dump();
  return d;
}

void notSupported(FieldErrors& errs, const std::string& f, const json& v,
                  const std::vector<std::string>& values) {
  errs.push_back({Type::NotSupported, f, v, supported(values)});
}

bool oneOf(const json& v, const std::vector<std::string>& values) {
  return v.is_string() &&
         std::find(values.begin(), values.end(), v.get<std::string>()) != values.end();
}

// A quantity that must be > 0 (ValidatePositiveQuantityValue); a string that is not a quantity
// gets the parser's message.
void positiveQuantity(FieldErrors& errs, const std::string& f, const json& v) {
  std::string text = v.is_string() ? v.get<std::string>() : v.is_number() ? v.dump() : "";
  auto q = Quantity::parse(text);
  if (!q) {
    errs.push_back({Type::Invalid, f, v, q.error().message()});
    return;
  }
  if (q->sign() <= 0) errs.push_back({Type::Invalid, f, v, "must be greater than zero"});
}

void accessModes(FieldErrors& errs, const json& spec, const std::string& detail) {
  const json& modes = spec.value("accessModes", json::array());
  if (!modes.is_array() || modes.empty()) {
    errs.push_back({Type::Required, "spec.accessModes", nullptr, detail});
    return;
  }
  bool rwop = false;
  for (const auto& m : modes) {
    if (!oneOf(m, kAccessModes)) notSupported(errs, "spec.accessModes", m, kAccessModes);
    if (m == "ReadWriteOncePod") rwop = true;
  }
  if (rwop && modes.size() > 1) {
    errs.push_back({Type::Forbidden, "spec.accessModes", nullptr,
                    "may not use ReadWriteOncePod with other access modes"});
  }
}

void noBacksteps(FieldErrors& errs, const std::string& f, const json& path) {
  std::string p = path.is_string() ? path.get<std::string>() : "";
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    if (p.compare(start, end - start, "..") == 0 && end - start == 2) {
      errs.push_back({Type::Invalid, f, path, "must not contain '..'"});
      return;
    }
    start = end + 1;
  }
}

void volumeSource(FieldErrors& errs, const json& spec) {
  static const std::vector<std::string> kSources{"hostPath",
                                                 "local",
                                                 "nfs",
                                                 "csi",
                                                 "iscsi",
                                                 "fc",
                                                 "rbd",
                                                 "cephfs",
                                                 "glusterfs",
                                                 "cinder",
                                                 "azureDisk",
                                                 "azureFile",
                                                 "awsElasticBlockStore",
                                                 "gcePersistentDisk",
                                                 "vsphereVolume",
                                                 "portworxVolume",
                                                 "scaleIO",
                                                 "storageos",
                                                 "flexVolume",
                                                 "flocker",
                                                 "quobyte",
                                                 "photonPersistentDisk"};
  int n = 0;
  for (const auto& s : kSources) {
    if (!spec.contains(s) || spec[s].is_null()) continue;
    if (++n > 1) {
      errs.push_back(
          {Type::Forbidden, "spec." + s, nullptr, "may not specify more than 1 volume type"});
    }
  }
  if (n == 0) errs.push_back({Type::Required, "spec", nullptr, "must specify a volume type"});
  for (const char* s : {"hostPath", "local"}) {
    if (!spec.contains(s) || !spec[s].is_object()) continue;
    const json& path = spec[s].value("path", json());
    std::string f = std::string("spec.") + s + ".path";
    if (!path.is_string() || path.get<std::string>().empty()) {
      errs.push_back({Type::Required, f, nullptr, ""});
      continue;
    }
    noBacksteps(errs, f, path);
  }
  if (spec.contains("local") && spec["local"].is_object() &&
      !at(spec, {"nodeAffinity", "required"}).is_object()) {
    errs.push_back(
        {Type::Required, "spec.nodeAffinity", nullptr, "Local volume requires node affinity"});
  }
}

}  // namespace

FieldErrors validatePersistentVolume(const json& pv, const json* old) {
  FieldErrors errs;
  const json& spec = pv.value("spec", json::object());
  accessModes(errs, spec, "");
  const json& cap = spec.value("capacity", json::object());
  if (!cap.is_object() || cap.empty()) {
    errs.push_back({Type::Required, "spec.capacity", nullptr, ""});
  } else {
    for (const auto& [k, v] : cap.items()) {
      if (k != "storage") notSupported(errs, "spec.capacity", k, {"storage"});
    }
    if (cap.contains("storage")) positiveQuantity(errs, "spec.capacity[storage]", cap["storage"]);
  }
  const json& policy = spec.value("persistentVolumeReclaimPolicy", json());
  if (!oneOf(policy, {"Delete", "Recycle", "Retain"}))
    notSupported(errs, "spec.persistentVolumeReclaimPolicy", policy,
                 {"Delete", "Recycle", "Retain"});
  const json& mode = spec.value("volumeMode", json());
  if (!oneOf(mode, {"Block", "Filesystem"}))
    notSupported(errs, "spec.volumeMode", mode, {"Block", "Filesystem"});
  volumeSource(errs, spec);
  if (old) {
    // ValidatePersistentVolumeUpdate: the source and volumeMode are immutable.
    const json& was = old->value("spec", json::object());
    if (spec.value("volumeMode", json()) != was.value("volumeMode", json()))
      errs.push_back({Type::Invalid, "spec.volumeMode", mode, "field is immutable"});
    for (const char* s : {"hostPath", "local"}) {
      if (spec.value(s, json()) != was.value(s, json()))
        errs.push_back({Type::Forbidden, "spec.persistentvolumesource", nullptr,
                        "spec.persistentvolumesource is forbidden."});
    }
  }
  return errs;
}

namespace {

std::optional<std::int64_t> bytesOf(const json& v) {
  if (!v.is_string()) return std::nullopt;
  auto q = Quantity::parse(v.get<std::string>());
  if (!q) return std::nullopt;
  return q->value();
}

// A smaller request is allowed only while it stays above status.capacity (1.32's
// RecoverVolumeExpansionFailure: a user may take back part of an expansion that failed).
void shrinkBelowCapacity(FieldErrors& errs, const json& storage, const json& old) {
  auto now = bytesOf(storage);
  auto was = bytesOf(at(old, {"spec", "resources", "requests", "storage"}));
  if (!now || !was || *now >= *was) return;
  auto capacity = bytesOf(at(old, {"status", "capacity", "storage"}));
  if (!capacity || *now <= *capacity) {
    errs.push_back({Type::Forbidden, "spec.resources.requests.storage", nullptr,
                    "field can not be less than status.capacity"});
  }
}

}  // namespace

FieldErrors validatePersistentVolumeClaim(const json& pvc, const json* old) {
  FieldErrors errs;
  const json& spec = pvc.value("spec", json::object());
  accessModes(errs, spec, "at least 1 access mode is required");
  const json& storage = at(spec, {"resources", "requests", "storage"});
  if (storage.is_null()) {
    errs.push_back({Type::Required, "spec.resources[storage]", nullptr, ""});
  } else {
    positiveQuantity(errs, "spec.resources.requests[storage]", storage);
  }
  const json& mode = spec.value("volumeMode", json());
  if (!oneOf(mode, {"Block", "Filesystem"}))
    notSupported(errs, "spec.volumeMode", mode, {"Block", "Filesystem"});
  if (old) {
    // ValidatePersistentVolumeClaimUpdate: only a bound claim's storage request changes (and
    // volumeName once set from empty, which the binder does).
    json a = spec, b = old->value("spec", json::object());
    bool bound = at(*old, {"status", "phase"}) == "Bound";
    if (bound && a.contains("resources") && a["resources"].contains("requests")) {
      const json& was_storage = at(b, {"resources", "requests", "storage"});
      if (was_storage.is_null()) {
        a["resources"]["requests"].erase("storage");
      } else {
        a["resources"]["requests"]["storage"] = was_storage;
      }
    }
    if (b.value("volumeName", "").empty()) a.erase("volumeName"), b.erase("volumeName");
    if (a != b) {
      errs.push_back({Type::Forbidden, "spec", nullptr,
                      "spec is immutable after creation except resources.requests and "
                      "volumeAttributesClassName for bound claims"});
    }
    shrinkBelowCapacity(errs, storage, *old);
  }
  return errs;
}

FieldErrors validateStorageClass(const json& sc, const json* old) {
  FieldErrors errs;
  const json& prov = sc.value("provisioner", json());
  if (!prov.is_string() || prov.get<std::string>().empty())
    errs.push_back({Type::Required, "provisioner", nullptr, ""});
  const json& policy = sc.value("reclaimPolicy", json());
  if (!oneOf(policy, {"Delete", "Retain"}))
    notSupported(errs, "reclaimPolicy", policy, {"Delete", "Retain"});
  const json& mode = sc.value("volumeBindingMode", json());
  if (!oneOf(mode, {"Immediate", "WaitForFirstConsumer"}))
    notSupported(errs, "volumeBindingMode", mode, {"Immediate", "WaitForFirstConsumer"});
  if (old) {
    if (sc.value("parameters", json()) != old->value("parameters", json()))
      errs.push_back(
          {Type::Forbidden, "parameters", nullptr, "updates to parameters are forbidden."});
    if (prov != old->value("provisioner", json()))
      errs.push_back(
          {Type::Forbidden, "provisioner", nullptr, "updates to provisioner are forbidden."});
    if (policy != old->value("reclaimPolicy", json()))
      errs.push_back(
          {Type::Forbidden, "reclaimPolicy", nullptr, "updates to reclaimPolicy are forbidden."});
    if (mode != old->value("volumeBindingMode", json()))
      errs.push_back({Type::Invalid, "volumeBindingMode", mode, "field is immutable"});
  }
  return errs;
}

}  // namespace skiff::master::api
