// kubectl columns of the storage kinds (printPersistentVolume, printPersistentVolumeClaim,
// printStorageClass, printCSIDriver, printCSINode, printVolumeAttachment in
// pkg/printers/internalversion/printers.go).
#include <map>

#include "skiff/common/quantity.h"
#include "skiff/master/api/storage.h"
#include "skiff/master/volume/volume.h"

namespace skiff::master::api {
namespace {

struct Col {
  const char* name;
  const char* type;
  int priority;
  const char* description;
};

const Col kName{"Name", "string", 0,
                "Name must be unique within a namespace. Is required when creating resources, "
                "although some resources may allow a client to request the generation of an "
                "appropriate name automatically. Name is primarily intended for creation "
                "idempotence and configuration definition. Cannot be updated. More info: "
                "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"};
const Col kAge{"Age", "string", 0,
               "CreationTimestamp is a timestamp representing the server time when this object "
               "was created. It is not guaranteed to be set in happens-before order across "
               "separate operations. Clients may not set this value. It is represented in "
               "RFC3339 form and is in UTC."};

const std::map<std::string, std::vector<Col>> kColumns{
    {"PersistentVolume",
     {kName,
      {"Capacity", "string", 0,
       "capacity is the description of the persistent volume's resources and capacity."},
      {"Access Modes", "string", 0, "accessModes contains all ways the volume can be mounted."},
      {"Reclaim Policy", "string", 0,
       "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released "
       "from its claim."},
      {"Status", "string", 0,
       "phase indicates if a volume is available, bound to a claim, or released by a claim."},
      {"Claim", "string", 0,
       "claimRef is part of a bi-directional binding between PersistentVolume and "
       "PersistentVolumeClaim."},
      {"StorageClass", "string", 0,
       "storageClassName is the name of StorageClass to which this persistent volume belongs."},
      {"VolumeAttributesClass", "string", 0,
       "Name of VolumeAttributesClass to which this persistent volume belongs."},
      {"Reason", "string", 0,
       "reason is a brief CamelCase string that describes any failure and is meant for machine "
       "parsing and tidy display in the CLI."},
      kAge,
      {"VolumeMode", "string", 1,
       "volumeMode defines if a volume is intended to be used with a formatted filesystem or to "
       "remain in raw block state."}}},
    {"PersistentVolumeClaim",
     {kName,
      {"Status", "string", 0, "phase represents the current phase of PersistentVolumeClaim."},
      {"Volume", "string", 0,
       "volumeName is the binding reference to the PersistentVolume backing this claim."},
      {"Capacity", "string", 0,
       "capacity represents the actual resources of the underlying volume."},
      {"Access Modes", "string", 0,
       "accessModes contains the desired access modes the volume should have."},
      {"StorageClass", "string", 0,
       "storageClassName is the name of the StorageClass required by the claim."},
      {"VolumeAttributesClass", "string", 0,
       "volumeAttributesClassName may be used to set the VolumeAttributesClass used by this "
       "claim."},
      kAge,
      {"VolumeMode", "string", 1,
       "volumeMode defines what type of volume is required by the claim."}}},
    {"StorageClass",
     {kName,
      {"Provisioner", "string", 0, "provisioner indicates the type of the provisioner."},
      {"ReclaimPolicy", "string", 0,
       "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of "
       "this storage class."},
      {"VolumeBindingMode", "string", 0,
       "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound."},
      {"AllowVolumeExpansion", "string", 0,
       "allowVolumeExpansion shows whether the storage class allow volume expand."},
      kAge}},
    {"CSIDriver",
     {kName,
      {"AttachRequired", "boolean", 0,
       "attachRequired indicates this CSI volume driver requires an attach operation."},
      {"PodInfoOnMount", "boolean", 0,
       "podInfoOnMount indicates this CSI volume driver requires additional pod information during "
       "mount operations."},
      {"StorageCapacity", "boolean", 0,
       "storageCapacity indicates that the CSI volume driver wants pod scheduling to consider the "
       "storage capacity."},
      {"TokenRequests", "string", 0,
       "tokenRequests indicates the CSI driver needs pods' service account tokens it is mounting "
       "volume for to do necessary authentication."},
      {"RequiresRepublish", "boolean", 0,
       "requiresRepublish indicates the CSI driver wants NodePublishVolume being periodically "
       "called to reflect any possible change in the mounted volume."},
      {"Modes", "string", 0, "Defines what kind of volumes this CSI volume driver supports."},
      kAge}},
    {"CSINode",
     {kName,
      {"Drivers", "integer", 0,
       "Drivers indicates the number of CSI drivers registered on the node"},
      kAge}},
    {"VolumeAttachment",
     {kName,
      {"Attacher", "string", 0,
       "attacher indicates the name of the volume driver that MUST handle this request."},
      {"PV", "string", 0, "Name of the persistent volume to attach."},
      {"Node", "string", 0, "nodeName represents the node that the volume should be attached to."},
      {"Attached", "boolean", 0, "attached indicates the volume is successfully attached."},
      kAge}},
};

std::string ageOf(const json& obj, Clock::time_point now) {
  std::string ts = str(obj, {"metadata", "creationTimestamp"});
  if (ts.empty()) return "<unknown>";
  return humanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - parseTime(ts)));
}

std::string quantityText(const json& v) {
  if (!v.is_string()) return v.is_number() ? v.dump() : "0";
  auto q = Quantity::parse(v.get<std::string>());
  return q ? q->toString() : v.get<std::string>();
}

std::string orDefault(const std::string& s, const char* d) { return s.empty() ? d : s; }

bool terminating(const json& obj) { return !at(obj, {"metadata", "deletionTimestamp"}).is_null(); }

json pvRow(const json& pv, Clock::time_point now) {
  const json& spec = pv.value("spec", json::object());
  std::string claim;
  if (spec.contains("claimRef") && spec["claimRef"].is_object())
    claim = spec["claimRef"].value("namespace", "") + "/" + spec["claimRef"].value("name", "");
  std::string phase = terminating(pv) ? "Terminating" : str(pv, {"status", "phase"});
  return json::array(
      {str(pv, {"metadata", "name"}), quantityText(at(spec, {"capacity", "storage"})),
       volume::accessModesString(spec.value("accessModes", json::array())),
       spec.value("persistentVolumeReclaimPolicy", ""), phase, claim, volume::volumeClass(pv),
       orDefault(spec.value("volumeAttributesClassName", ""), "<unset>"),
       str(pv, {"status", "reason"}), ageOf(pv, now),
       orDefault(spec.value("volumeMode", ""), "<unset>")});
}

json pvcRow(const json& pvc, Clock::time_point now) {
  const json& spec = pvc.value("spec", json::object());
  std::string phase = terminating(pvc) ? "Terminating" : str(pvc, {"status", "phase"});
  std::string capacity, modes;
  if (!spec.value("volumeName", "").empty()) {
    modes = volume::accessModesString(at(pvc, {"status", "accessModes"}));
    capacity = quantityText(at(pvc, {"status", "capacity", "storage"}));
  }
  return json::array({str(pvc, {"metadata", "name"}), phase, spec.value("volumeName", ""), capacity,
                      modes, volume::claimClass(pvc),
                      orDefault(spec.value("volumeAttributesClassName", ""), "<unset>"),
                      ageOf(pvc, now), orDefault(spec.value("volumeMode", ""), "<unset>")});
}

json scRow(const json& sc, Clock::time_point now) {
  std::string name = str(sc, {"metadata", "name"});
  if (volume::isDefaultClass(sc)) name += " (default)";
  return json::array({name, sc.value("provisioner", ""), sc.value("reclaimPolicy", "Delete"),
                      sc.value("volumeBindingMode", "Immediate"),
                      sc.value("allowVolumeExpansion", false) ? "true" : "false", ageOf(sc, now)});
}

json csiDriverRow(const json& d, Clock::time_point now) {
  const json& spec = d.value("spec", json::object());
  std::string tokens = "<unset>";
  if (spec.contains("tokenRequests") && spec["tokenRequests"].is_array()) {
    tokens.clear();
    for (const auto& t : spec["tokenRequests"]) {
      tokens += (tokens.empty() ? "" : ",") + t.value("audience", "");
    }
  }
  std::string modes;
  for (const auto& m : spec.value("volumeLifecycleModes", json::array())) {
    if (m.is_string()) modes += (modes.empty() ? "" : ",") + m.get<std::string>();
  }
  return json::array({str(d, {"metadata", "name"}), spec.value("attachRequired", true),
                      spec.value("podInfoOnMount", false), spec.value("storageCapacity", false),
                      tokens, spec.value("requiresRepublish", false), orDefault(modes, "<none>"),
                      ageOf(d, now)});
}

}  // namespace

std::optional<json> storageTableColumns(const std::string& kind) {
  auto it = kColumns.find(kind);
  if (it == kColumns.end()) return std::nullopt;
  json out = json::array();
  for (const auto& col : it->second) {
    out.push_back({{"name", col.name},
                   {"type", col.type},
                   {"format", std::string(col.name) == "Name" ? "name" : ""},
                   {"description", col.description},
                   {"priority", col.priority}});
  }
  return out;
}

std::optional<json> storageTableRow(const std::string& kind, const json& obj,
                                    Clock::time_point now) {
  if (kind == "PersistentVolume") return pvRow(obj, now);
  if (kind == "PersistentVolumeClaim") return pvcRow(obj, now);
  if (kind == "StorageClass") return scRow(obj, now);
  if (kind == "CSIDriver") return csiDriverRow(obj, now);
  if (kind == "CSINode") {
    return json::array({str(obj, {"metadata", "name"}),
                        static_cast<long long>(at(obj, {"spec", "drivers"}).is_array()
                                                   ? at(obj, {"spec", "drivers"}).size()
                                                   : 0),
                        ageOf(obj, now)});
  }
  if (kind == "VolumeAttachment") {
    const json& spec = obj.value("spec", json::object());
    return json::array(
        {str(obj, {"metadata", "name"}), spec.value("attacher", ""),
         str(spec, {"source", "persistentVolumeName"}), spec.value("nodeName", ""),
         str(obj, {"status", "attached"}) == "true" || at(obj, {"status", "attached"}) == true,
         ageOf(obj, now)});
  }
  return std::nullopt;
}

}  // namespace skiff::master::api
