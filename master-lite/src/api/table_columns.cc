// Table column definitions per kind, as kubectl prints them (upstream's
// pkg/printers/internalversion/printers.go columnDefinitions); the rows are in tables.cc.
#include <map>
#include <vector>

#include "skiff/master/api/storage.h"
#include "skiff/master/api/tables.h"
#include "skiff/master/apiextensions/apiextensions.h"
#include "tables_ext.h"

namespace skiff::master::api {
namespace {

struct Col {
  const char* name;
  const char* type;
  const char* format;
  int priority;
  const char* description;
};

const Col kName{"Name", "string", "name", 0,
                "Name must be unique within a namespace. Is required when creating resources, "
                "although some resources may allow a client to request the generation of an "
                "appropriate name automatically. Name is primarily intended for creation "
                "idempotence and configuration definition. Cannot be updated. More info: "
                "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"};
const Col kAge{
    "Age", "string", "", 0,
    "CreationTimestamp is a timestamp representing the server time when this object was created. "
    "It is not guaranteed to be set in happens-before order across separate operations. Clients "
    "may not set this value. It is represented in RFC3339 form and is in UTC."};

Col c(const char* name, const char* type = "string", int priority = 0, const char* desc = "") {
  return {name, type, "", priority, desc};
}

// The workload kinds' wide columns for their pod template.
const Col kContainers = c("Containers", "string", 1, "Names of each container in the template.");
const Col kImages =
    c("Images", "string", 1, "Images referenced by each container in the template.");

// Kinds not listed get Name and Age.
const std::map<std::string, std::vector<Col>> kColumnsByKind{
    {"Pod",
     {kName,
      c("Ready", "string", 0, "The aggregate readiness state of this pod for accepting traffic."),
      c("Status", "string", 0, "The aggregate status of the containers in this pod."),
      c("Restarts", "string", 0,
        "The number of times the containers in this pod have been restarted and when the last "
        "container in this pod has restarted."),
      kAge,
      c("IP", "string", 1,
        "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet "
        "allocated."),
      c("Node", "string", 1, "NodeName is a request to schedule this pod onto a specific node."),
      c("Nominated Node", "string", 1,
        "nominatedNodeName is set only when this pod preempts other pods on the node."),
      c("Readiness Gates", "string", 1,
        "If specified, all readiness gates will be evaluated for pod readiness.")}},
    {"Node",
     {kName, c("Status", "string", 0, "The status of the node"),
      c("Roles", "string", 0, "The roles of the node"), kAge,
      c("Version", "string", 0, "Kubelet Version reported by the node."),
      c("Internal-IP", "string", 1, "List of internal IPs in the node."),
      c("External-IP", "string", 1, "List of external IPs in the node."),
      c("OS-Image", "string", 1, "OS Image reported by the node from /etc/os-release."),
      c("Kernel-Version", "string", 1, "Kernel Version reported by the node from 'uname -r'."),
      c("Container-Runtime", "string", 1,
        "ContainerRuntime Version reported by the node through runtime remote API.")}},
    {"Deployment",
     {kName, c("Ready", "string", 0, "Number of the pod with ready state"),
      c("Up-to-date", "string", 0,
        "Total number of non-terminated pods targeted by this deployment that have the desired "
        "template spec."),
      c("Available", "string", 0,
        "Total number of available pods (ready for at least minReadySeconds) targeted by this "
        "deployment."),
      kAge, kContainers, kImages,
      c("Selector", "string", 1,
        "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be "
        "the ones affected by this deployment.")}},
    {"ReplicaSet",
     {kName, c("Desired", "integer", 0, "Replicas is the number of desired replicas."),
      c("Current", "integer", 0, "Replicas is the most recently observed number of replicas."),
      c("Ready", "integer", 0, "The number of ready replicas for this replica set."), kAge,
      kContainers, kImages,
      c("Selector", "string", 1,
        "Selector is a label query over pods that should match the replica count.")}},
    {"StatefulSet",
     {kName, c("Ready", "string", 0, "Number of the pod with ready state"), kAge, kContainers,
      kImages}},
    {"DaemonSet",
     {kName,
      c("Desired", "integer", 0,
        "The total number of nodes that should be running the daemon pod (including nodes "
        "correctly running the daemon pod)."),
      c("Current", "integer", 0,
        "The number of nodes that are running at least 1 daemon pod and are supposed to run the "
        "daemon pod."),
      c("Ready", "integer", 0,
        "The number of nodes that should be running the daemon pod and have one or more of the "
        "daemon pod running and ready."),
      c("Up-to-date", "integer", 0,
        "The total number of nodes that are running updated daemon pod"),
      c("Available", "integer", 0,
        "The number of nodes that should be running the daemon pod and have one or more of the "
        "daemon pod running and available (ready for at least spec.minReadySeconds)"),
      c("Node Selector", "string", 0,
        "NodeSelector is a selector which must be true for the pod to fit on a node. Selector "
        "which must match a node's labels for the pod to be scheduled on that node."),
      kAge, kContainers, kImages,
      c("Selector", "string", 1, "A label query over pods that are managed by the daemon set.")}},
    {"Job",
     {kName, c("Status", "string", 0, "Status of the job."),
      c("Completions", "string", 0,
        "The desired number of successfully finished pods the job should be run with."),
      c("Duration", "string", 0, "Time required to complete the job."), kAge, kContainers, kImages,
      c("Selector", "string", 1, "A label query over pods that should match the pod count.")}},
    {"CronJob",
     {kName,
      c("Schedule", "string", 0,
        "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
      c("Timezone", "string", 0,
        "The time zone name for the given schedule, see "
        "https://en.wikipedia.org/wiki/List_of_tz_database_time_zones."),
      c("Suspend", "boolean", 0,
        "This flag tells the controller to suspend subsequent executions, it does not apply to "
        "already started executions."),
      c("Active", "integer", 0, "A list of pointers to currently running jobs."),
      c("Last Schedule", "string", 0,
        "Information when was the last time the job was successfully scheduled."),
      kAge, kContainers, kImages,
      c("Selector", "string", 1, "A label query over pods that should match the pod count.")}},
    {"Service",
     {kName, c("Type", "string", 0, "type determines how the Service is exposed."),
      c("Cluster-IP", "string", 0,
        "clusterIP is the IP address of the service and is usually assigned randomly by the "
        "master."),
      c("External-IP", "string", 0,
        "externalIPs is a list of IP addresses for which nodes in the cluster will also accept "
        "traffic for this service."),
      c("Port(s)", "string", 0, "The list of ports that are exposed by this service."), kAge,
      c("Selector", "string", 1,
        "Route service traffic to pods with label keys and values matching this selector.")}},
    {"Endpoints",
     {kName,
      c("Endpoints", "string", 0, "Endpoints is the list of endpoints in the endpoints object."),
      kAge}},
    {"EndpointSlice",
     {kName,
      c("AddressType", "string", 0,
        "addressType specifies the type of address carried by this EndpointSlice."),
      c("Ports", "string", 0,
        "ports specifies the list of network ports exposed by each endpoint in this slice."),
      c("Endpoints", "string", 0, "endpoints is a list of unique endpoints in this slice."), kAge}},
    {"Namespace", {kName, c("Status", "string", 0, "The status of the namespace"), kAge}},
    {"ConfigMap", {kName, c("Data", "integer", 0, "Number of data in the ConfigMap"), kAge}},
    {"Secret",
     {kName, c("Type", "string", 0, "The type of the secret"),
      c("Data", "integer", 0, "The number of data in the secret"), kAge}},
    {"ServiceAccount",
     {kName,
      c("Secrets", "integer", 0,
        "Secrets is a list of the secrets in the same namespace that pods running using this "
        "ServiceAccount are allowed to use."),
      kAge}},
    {"Event",
     {c("Last Seen", "string", 0, "Time when last event occurred"),
      c("Type", "string", 0,
        "Type of this event (Normal, Warning), new types could be added in the future."),
      c("Reason", "string", 0,
        "This should be a short, machine understandable string that gives the reason for the "
        "transition into the object's current status."),
      c("Object", "string", 0, "The object that this event is about."),
      c("Subobject", "string", 1, "The subobject that this event is about."),
      c("Source", "string", 1,
        "The component reporting this event. Should be a short machine understandable string."),
      c("Message", "string", 0, "A human-readable description of the status of this operation."),
      c("First Seen", "string", 1,
        "The time at which the event was first recorded. (Time of server receipt is in "
        "TypeMeta.)"),
      c("Count", "string", 1, "The number of times this event has occurred."),
      {"Name", "string", "name", 1, "Name must be unique within a namespace."}}},
    {"Lease",
     {kName,
      c("Holder", "string", 0,
        "holderIdentity contains the identity of the holder of a current lease."),
      kAge}},
    {"ControllerRevision",
     {kName, c("Controller", "string", 0, "Controller of the object"),
      c("Revision", "string", 0,
        "Revision indicates the revision of the state represented by Data."),
      kAge}},
    {"PriorityClass",
     {kName, c("Value", "integer", 0, "The value of this priority class."),
      c("Global-Default", "boolean", 0,
        "globalDefault specifies whether this PriorityClass should be considered as the default "
        "priority."),
      kAge,
      c("PreemptionPolicy", "string", 0,
        "preemptionPolicy is the Policy for preempting pods with lower priority.")}},
    {"CertificateSigningRequest",
     {kName, kAge, c("SignerName", "string", 0, "The name of the signer."),
      c("Requestor", "string", 0, "Name of the user requesting the certificate."),
      c("RequestedDuration", "string", 0, "The requested duration."),
      c("Condition", "string", 0, "Condition of the CSR.")}},
    {"LimitRange", {kName, c("Created At", "date", 0, "Creation timestamp")}},
    {"Role", {kName, c("Created At", "date", 0, kAge.description)}},
    {"RoleBinding",
     {kName, c("Role", "string", 0, "Role is used to reference the Role or ClusterRole."), kAge,
      c("Users", "string", 1, "Users in the roleBinding"),
      c("Groups", "string", 1, "Groups in the roleBinding"),
      c("ServiceAccounts", "string", 1, "ServiceAccounts in the roleBinding")}},
    {"ResourceQuota",
     {kName, kAge,
      c("Request", "string", 0,
        "Request represents a minimum amount of cpu/memory that a container may consume."),
      c("Limit", "string", 0,
        "Limits control the maximum amount of cpu/memory that a container may use independent of "
        "contention on the node.")}},
    {"HorizontalPodAutoscaler",
     {kName, c("Reference", "string", 0, "Reference to the target resource of the scaling"),
      c("Targets", "string", 0, "The current and target values of the metrics"),
      c("MinPods", "string", 0, "The lower limit for the number of pods"),
      c("MaxPods", "integer", 0, "The upper limit for the number of pods"),
      c("Replicas", "integer", 0, "The current number of replicas"), kAge}},
    {"PodDisruptionBudget",
     {kName,
      c("Min Available", "string", 0,
        "The minimum number of pods that must be available simultaneously."),
      c("Max Unavailable", "string", 0,
        "The maximum number of pods that may be unavailable simultaneously."),
      c("Allowed Disruptions", "integer", 0,
        "Calculated number of pods that may be disrupted at this time"),
      kAge}},
};

}  // namespace

json tableColumns(const ResourceInfo& r) {
  if (auto cols = storageTableColumns(r.kind);
      cols && (r.group.empty() || r.group == "storage.k8s.io"))
    return *cols;
  if (auto ext = extensionTableColumns(r)) return *ext;
  if (r.custom) return apiextensions::customTableColumns(r);
  const auto& m = kColumnsByKind;
  std::string key = r.kind;
  if (r.kind == "ReplicationController") key = "ReplicaSet";
  if (r.kind == "ClusterRole") key = "Role";
  if (r.kind == "ClusterRoleBinding") key = "RoleBinding";
  if (r.kind == "Event" && !r.group.empty()) key = "";
  auto it = m.find(key);
  static const std::vector<Col> kDefault{kName, kAge};
  const auto& cols = it == m.end() ? kDefault : it->second;
  json out = json::array();
  for (const auto& col : cols) {
    out.push_back({{"name", col.name},
                   {"type", col.type},
                   {"format", col.format},
                   {"description", col.description},
                   {"priority", col.priority}});
  }
  return out;
}

}  // namespace skiff::master::api
