#pragma once

// One informer per resource shared by every controller in the process (client-go's
// SharedInformerFactory). Each informer indexes objects by the uid of every owner their
// ownerReferences name, controller or not ("owner": the garbage collector finds an owner's
// dependents there); pods are also indexed by spec.nodeName ("node") and, when no controller
// owns them, by namespace ("orphans"), so a workload controller finds its candidates without
// copying the namespace.

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "skiff/master/informer/informer.h"

namespace skiff::master {

class SharedInformers {
 public:
  explicit SharedInformers(ApiClient& client) : client_(client) {}
  ~SharedInformers() { stop(); }

  // Creates the informer on first use; register handlers before start().
  Informer& get(const GroupVersionResource& r);
  // Starts every informer created so far (lists synchronously).
  Result<void> start(bool background = true);
  void stop();

  static constexpr const char* kByOwner = "owner";
  static constexpr const char* kByNode = "node";
  static constexpr const char* kOrphansByNamespace = "orphans";

 private:
  ApiClient& client_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Informer>> informers_;
  std::vector<Informer*> order_;
};

}  // namespace skiff::master
