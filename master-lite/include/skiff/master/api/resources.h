#pragma once

// The built-in resource types the API server serves: names, kinds, scope, verbs and
// subresources, as discovery advertises them (reference/kube-api-surface.md §1).

#include <memory>
#include <string>
#include <vector>

namespace skiff::master::api {

// What a resource served from a CustomResourceDefinition carries beyond the table entry: its
// version's schema, printer columns, scale paths (skiff/master/apiextensions/custom_resource.h).
struct CustomResourceInfo;

struct SubresourceInfo {
  std::string name;   // "status", "scale", "log", ...
  std::string group;  // group/version/kind of what the subresource takes and returns
  std::string version;
  std::string kind;
  std::vector<std::string> verbs;
};

struct ResourceInfo {
  std::string group;  // "" = core
  std::string version;
  std::string resource;  // plural, lower case
  std::string singular;
  std::string kind;
  bool namespaced = true;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  std::vector<SubresourceInfo> subresources;
  // The group/version objects are stored as (a served old version such as apps/v1beta1 is
  // stored as apps/v1). Equal to group/version for current versions.
  std::string storage_version;
  // metadata.generation is maintained (bumped on every spec change).
  bool has_generation = false;
  // A deprecation warning sent with every response for this group-version (Warning header).
  std::string deprecation;
  // The verbs served, when not the standard ones: {"create"} for the review kinds, which are
  // answered and never stored (SubjectAccessReview, TokenReview, ...).
  std::vector<std::string> verbs;
  // Set for resources served from a CustomResourceDefinition, null for built-in kinds.
  std::shared_ptr<const CustomResourceInfo> custom;

  std::string groupVersion() const { return group.empty() ? version : group + "/" + version; }
  // "deployments.apps", "pods": how Status messages name the resource.
  std::string qualifiedResource() const {
    return group.empty() ? resource : resource + "." + group;
  }
  // "Deployment.apps", "Pod": how Invalid messages name the kind.
  std::string qualifiedKind() const { return group.empty() ? kind : kind + "." + group; }
  const SubresourceInfo* subresource(const std::string& name) const;
  // `verbs`, or the standard verbs when it is empty.
  const std::vector<std::string>& servedVerbs() const;
  // Create-only and never stored (a review).
  bool createOnly() const { return verbs.size() == 1 && verbs[0] == "create"; }
  bool hasSubresource(const std::string& name) const { return subresource(name) != nullptr; }
};

struct GroupInfo {
  std::string name;                   // "" = core
  std::vector<std::string> versions;  // preferred first
};

// Every built-in resource, in discovery order.
const std::vector<ResourceInfo>& allResources();
// Built-in groups in discovery order (core first).
const std::vector<GroupInfo>& allGroups();

// What is served now: the built-in table plus the resources of established
// CustomResourceDefinitions (added and removed while the server runs). Thread-safe; the
// pointers stay valid for the life of the process, also after their CRD is gone.
std::vector<const ResourceInfo*> servedResources();
// Built-in groups, then the groups only custom resources serve (versions in Kubernetes' version
// priority, preferred first).
std::vector<GroupInfo> servedGroups();
// Serves the resources of one CustomResourceDefinition (one entry per served version),
// replacing what it served before. Custom resources never shadow a built-in one.
void setCustomResources(const std::string& crd_name, std::vector<ResourceInfo> resources);
// Stops serving the resources of a CustomResourceDefinition.
void removeCustomResources(const std::string& crd_name);
// Kubernetes' version ordering (v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > other): negative when
// `a` has the higher priority.
int compareKubeVersions(const std::string& a, const std::string& b);

// Built-in or custom.
const ResourceInfo* findResource(const std::string& group, const std::string& version,
                                 const std::string& resource);
// The resource with this kind in this group/version (for apply with kind only).
const ResourceInfo* findByKind(const std::string& group, const std::string& version,
                               const std::string& kind);

// The standard verbs of a collection resource.
inline const std::vector<std::string>& standardVerbs() {
  static const std::vector<std::string> v{"create", "delete", "deletecollection", "get",
                                          "list",   "patch",  "update",           "watch"};
  return v;
}

}  // namespace skiff::master::api
