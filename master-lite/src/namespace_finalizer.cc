// Fallback namespace finalization (see api_server.h): polls Terminating namespaces, deletes
// their content through the API (so graceful deletion and finalizers apply) and removes the
// `kubernetes` finalizer once nothing is left, as the namespace controller does.
#include "skiff/common/log.h"
#include "skiff/master/api/resources.h"
#include "skiff/master/api_server.h"
#include "skiff/master/poll_loop.h"

namespace skiff::master {
namespace {

class Finalizer : public NamespaceFinalizer {
 public:
  explicit Finalizer(ApiClient& c) : client_(c) {
    loop_.start([this] {
      sweep();
      return std::chrono::milliseconds(500);
    });
  }
  ~Finalizer() override { stop(); }
  void stop() override { loop_.stop(); }

 private:
  void sweep() {
    auto nss = client_.list(gvr::kNamespaces, "", {});
    if (!nss) return;
    for (const auto& ns : nss->items) {
      const json& meta = ns.value("metadata", json::object());
      if (!meta.contains("deletionTimestamp")) continue;
      const json& fin = ns.value("/spec/finalizers"_json_pointer, json::array());
      if (std::find(fin.begin(), fin.end(), "kubernetes") == fin.end()) continue;
      std::string name = meta.value("name", "");
      bool remaining = false;
      for (const api::ResourceInfo* rp : api::servedResources()) {
        const api::ResourceInfo& r = *rp;
        if (!r.namespaced || r.version != r.storage_version || r.group == "extensions") continue;
        if (r.group == "metrics.k8s.io") continue;  // not stored: the metrics API's reads
        GroupVersionResource g{r.group, r.version, r.resource};
        auto items = client_.list(g, name, {});
        if (!items) continue;
        for (const auto& it : items->items) {
          remaining = true;
          if (it.contains("/metadata/deletionTimestamp"_json_pointer)) continue;
          DeleteOptions del;
          del.propagation_policy = "Background";
          (void)client_.remove(g, name, it.value("/metadata/name"_json_pointer, std::string()),
                               del);
        }
      }
      if (remaining) continue;
      json body = ns;
      body["spec"]["finalizers"] = json::array();
      for (const auto& f : fin) {
        if (f != "kubernetes") body["spec"]["finalizers"].push_back(f);
      }
      auto res = client_.update(gvr::kNamespaces, "", body, "finalize");
      static const auto lgr = skiff::log::get("master");
      if (res) SKIFF_LOG_INFO(lgr, "Namespace finalized", skiff::log::kv("namespace", name));
    }
  }

  ApiClient& client_;
  PollLoop loop_;
};

}  // namespace

std::unique_ptr<NamespaceFinalizer> startNamespaceFinalizer(ApiClient& client) {
  return std::make_unique<Finalizer>(client);
}

}  // namespace skiff::master
