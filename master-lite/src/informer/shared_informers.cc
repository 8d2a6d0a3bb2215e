#include "skiff/master/informer/shared_informers.h"

#include "skiff/master/informer/meta.h"

namespace skiff::master {

Informer& SharedInformers::get(const GroupVersionResource& r) {
  std::lock_guard lock(mu_);
  std::string k = r.group + "/" + r.resource;
  auto it = informers_.find(k);
  if (it != informers_.end()) return *it->second;
  auto inf = std::make_unique<Informer>(client_, r);
  // managedFields are for apply and for people; no controller reads them, and they were over
  // 40% of a cached pod (upstream's controller manager and scheduler drop them the same way).
  // An update built from a cached object keeps the stored managedFields: the API server
  // carries them over when the body has none.
  inf->setTransform([](json& o) {
    if (o.is_object() && o.contains("metadata") && o["metadata"].is_object())
      o["metadata"].erase("managedFields");
  });
  inf->addIndex(kByOwner, [](const json& o) {
    std::vector<std::string> out;
    const json& refs = meta::at(o, {"metadata", "ownerReferences"});
    if (refs.is_array()) {
      for (const auto& ref : refs) out.push_back(ref.value("uid", ""));
    }
    return out;
  });
  if (r == gvr::kPods) {
    inf->addIndex(kByNode, [](const json& o) {
      std::string n = meta::str(o, {"spec", "nodeName"});
      return n.empty() ? std::vector<std::string>{} : std::vector<std::string>{n};
    });
    inf->addIndex(kOrphansByNamespace, [](const json& o) {
      return meta::controllerRef(o) ? std::vector<std::string>{}
                                    : std::vector<std::string>{meta::ns(o)};
    });
  }
  Informer* raw = inf.get();
  informers_[k] = std::move(inf);
  order_.push_back(raw);
  return *raw;
}

Result<void> SharedInformers::start(bool background) {
  std::vector<Informer*> all;
  {
    std::lock_guard lock(mu_);
    all = order_;
  }
  for (Informer* i : all) {
    if (!i->hasSynced()) SKIFF_TRY(i->start(background));
  }
  return {};
}

void SharedInformers::stop() {
  std::vector<Informer*> all;
  {
    std::lock_guard lock(mu_);
    all = order_;
  }
  for (Informer* i : all) i->stop();
}

}  // namespace skiff::master
