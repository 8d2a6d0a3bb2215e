#include "skiff/master/api/registry.h"
#include "skiff/master/testing/registry_fixture.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

class RegistryTest : public ::skiff::master::testing::RegistryFixture {
 protected:
  const ResourceInfo& res(const std::string& g, const std::string& v, const std::string& r) {
    const ResourceInfo* i = findResource(g, v, r);
    EXPECT_NE(i, nullptr);
    return *i;
  }
  json deployment(const std::string& name) {
    return {
        {"apiVersion", "apps/v1"},
        {"kind", "Deployment"},
        {"metadata", {{"name", name}}},
        {"spec",
         {{"selector", {{"matchLabels", {{"app", name}}}}},
          {"template",
           {{"metadata", {{"labels", {{"app", name}}}}},
            {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "nginx:1"}}})}}}}}}}};
  }

  // NodePort Services in default, `each` from each of `masters` at the same time (thread t
  // through masters[t], names <prefix><t>-<i>); returns how many creates failed.
  int createNodePortServices(const std::vector<Registry*>& masters, const std::string& prefix,
                             int each) {
    auto& svc = res("", "v1", "services");
    std::atomic<int> failed{0};
    std::vector<std::thread> ts;
    for (std::size_t t = 0; t < masters.size(); ++t) {
      ts.emplace_back([&, t] {
        for (int i = 0; i < each; ++i) {
          json s = {{"metadata", {{"name", prefix + std::to_string(t) + "-" + std::to_string(i)}}},
                    {"spec", {{"type", "NodePort"}, {"ports", json::array({{{"port", 80}}})}}}};
          auto made = masters[t]->create(svc, "default", s, opts_);
          if (!made) {
            ADD_FAILURE() << made.error().message();
            ++failed;
          }
        }
      });
    }
    for (auto& t : ts) t.join();
    return failed.load();
  }

  // Every ClusterIP, and every first port's nodePort, of the Services in default.
  void serviceAddresses(std::set<std::string>* ips, std::set<int>* ports) {
    auto list = reg_->list(res("", "v1", "services"), "default", {});
    ASSERT_TRUE(list);
    for (const auto& s : (*list)["items"]) {
      ips->insert(s["spec"]["clusterIP"].get<std::string>());
      if (s["spec"]["ports"][0].contains("nodePort"))
        ports->insert(s["spec"]["ports"][0]["nodePort"].get<int>());
    }
  }

  WriteOptions opts_ = adminWrites();
};

TEST_F(RegistryTest, CreateSetsMetadataAndDefaults) {
  auto& d = res("apps", "v1", "deployments");
  auto r = reg_->create(d, "default", deployment("web"), opts_);
  ASSERT_TRUE(r) << r.error().message();
  const json& o = r->object;
  EXPECT_TRUE(r->created);
  EXPECT_EQ(o["metadata"]["generation"], 1);
  EXPECT_EQ(o["metadata"]["uid"].get<std::string>().size(), 36u);
  EXPECT_EQ(o["spec"]["replicas"], 1);
  EXPECT_EQ(o["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], "25%");
  EXPECT_EQ(o["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent");
  auto dup = reg_->create(d, "default", deployment("web"), opts_);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().message(), "deployments.apps \"web\" already exists");
  auto missing_ns = reg_->create(d, "nope", deployment("x"), opts_);
  ASSERT_FALSE(missing_ns);
  EXPECT_EQ(missing_ns.error().message(), "namespaces \"nope\" not found");
}

TEST_F(RegistryTest, ValidationMessagesNameFieldPaths) {
  json bad = deployment("bad");
  bad["spec"]["template"]["spec"]["containers"] = json::array();
  auto r = reg_->create(res("apps", "v1", "deployments"), "default", bad, opts_);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(ErrorCode::Invalid));
  EXPECT_EQ(r.error().message(),
            "Deployment.apps \"bad\" is invalid: spec.template.spec.containers: Required value");
}

TEST_F(RegistryTest, UpdateConflictsOnStaleResourceVersionAndBumpsGeneration) {
  auto& d = res("apps", "v1", "deployments");
  auto c = reg_->create(d, "default", deployment("web"), opts_);
  ASSERT_TRUE(c);
  json next = c->object;
  next["spec"]["replicas"] = 5;
  auto u = reg_->update(d, "default", "web", next, opts_);
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->object["metadata"]["generation"], 2);
  auto stale = reg_->update(d, "default", "web", next, opts_);
  ASSERT_FALSE(stale);
  EXPECT_TRUE(stale.error().is(ErrorCode::Conflict));
  // Metadata-only changes keep the generation.
  json labels = u->object;
  labels["metadata"]["labels"] = {{"x", "y"}};
  auto l = reg_->update(d, "default", "web", labels, opts_);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->object["metadata"]["generation"], 2);
}

TEST_F(RegistryTest, StatusSubresourceIsSeparate) {
  auto& d = res("apps", "v1", "deployments");
  ASSERT_TRUE(reg_->create(d, "default", deployment("web"), opts_));
  auto s = reg_->patch(d, "default", "web", PatchKind::Merge,
                       json{{"status", {{"readyReplicas", 1}}}, {"spec", {{"replicas", 9}}}}, opts_,
                       "status");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->object["status"]["readyReplicas"], 1);
  EXPECT_EQ(s->object["spec"]["replicas"], 1);
  auto m = reg_->patch(d, "default", "web", PatchKind::Merge,
                       json{{"status", {{"readyReplicas", 7}}}}, opts_);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->object["status"]["readyReplicas"], 1);
}

// As upstream's status strategies: a /status write keeps its annotation and label changes
// (only the spec is reset), except a Deployment's labels; system fields stay the stored ones.
TEST_F(RegistryTest, StatusWriteKeepsMetadataChangesAsUpstream) {
  auto& d = res("apps", "v1", "deployments");
  auto created = reg_->create(d, "default", deployment("web"), opts_);
  ASSERT_TRUE(created);
  auto s = reg_->patch(d, "default", "web", PatchKind::Merge,
                       json{{"metadata",
                             {{"annotations", {{"patchedstatus", "true"}}},
                              {"labels", {{"extra", "x"}}},
                              {"uid", "forged"}}},
                            {"status", {{"readyReplicas", 1}}}},
                       opts_, "status");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->object["metadata"]["annotations"]["patchedstatus"], "true");
  EXPECT_FALSE(s->object["metadata"].contains("labels") &&
               s->object["metadata"]["labels"].contains("extra"));
  EXPECT_EQ(s->object["metadata"]["uid"], created->object["metadata"]["uid"]);

  auto& ing = res("networking.k8s.io", "v1", "ingresses");
  json i = {
      {"apiVersion", "networking.k8s.io/v1"},
      {"kind", "Ingress"},
      {"metadata", {{"name", "in"}}},
      {"spec", {{"defaultBackend", {{"service", {{"name", "s"}, {"port", {{"number", 80}}}}}}}}}};
  ASSERT_TRUE(reg_->create(ing, "default", i, opts_));
  auto is =
      reg_->patch(ing, "default", "in", PatchKind::Merge,
                  json{{"metadata", {{"labels", {{"l", "v"}}}}},
                       {"status", {{"loadBalancer", {{"ingress", {{{"ip", "192.0.2.1"}}}}}}}}},
                  opts_, "status");
  ASSERT_TRUE(is) << is.error().message();
  EXPECT_EQ(is->object["metadata"]["labels"]["l"], "v");
  EXPECT_EQ(is->object["status"]["loadBalancer"]["ingress"][0]["ip"], "192.0.2.1");
}

// The per-kind status strategies: a Pod keeps its stored owner references (its labels may
// change), a VolumeAttachment keeps all stored metadata (ResetObjectMetaForStatus).
TEST_F(RegistryTest, StatusWriteKeepsWhatEachKindsStatusStrategyKeeps) {
  auto& p = res("", "v1", "pods");
  json owner = {{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", "rs"}, {"uid", "u1"}};
  json pod = {{"metadata", {{"name", "p"}, {"ownerReferences", json::array({owner})}}},
              {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "x"}}})}}}};
  ASSERT_TRUE(reg_->create(p, "default", pod, opts_));
  json forged = owner;
  forged["uid"] = "u2";
  auto ps = reg_->patch(
      p, "default", "p", PatchKind::Merge,
      json{{"metadata", {{"labels", {{"l", "v"}}}, {"ownerReferences", json::array({forged})}}},
           {"status", {{"phase", "Running"}}}},
      opts_, "status");
  ASSERT_TRUE(ps) << ps.error().message();
  EXPECT_EQ(ps->object["status"]["phase"], "Running");
  EXPECT_EQ(ps->object["metadata"]["labels"]["l"], "v");
  EXPECT_EQ(ps->object["metadata"]["ownerReferences"], json::array({owner}));

  auto& va = res("storage.k8s.io", "v1", "volumeattachments");
  json a = {{"apiVersion", "storage.k8s.io/v1"},
            {"kind", "VolumeAttachment"},
            {"metadata", {{"name", "va"}}},
            {"spec",
             {{"attacher", "csi.example.com"},
              {"nodeName", "n1"},
              {"source", {{"persistentVolumeName", "pv1"}}}}}};
  ASSERT_TRUE(reg_->create(va, "", a, opts_));
  auto vs =
      reg_->patch(va, "", "va", PatchKind::Merge,
                  json{{"metadata", {{"labels", {{"l", "v"}}}}}, {"status", {{"attached", true}}}},
                  opts_, "status");
  ASSERT_TRUE(vs) << vs.error().message();
  EXPECT_EQ(vs->object["status"]["attached"], true);
  EXPECT_FALSE(vs->object["metadata"].contains("labels"));
}

TEST_F(RegistryTest, ScaleSubresource) {
  auto& d = res("apps", "v1", "deployments");
  ASSERT_TRUE(reg_->create(d, "default", deployment("web"), opts_));
  auto s = reg_->patch(d, "default", "web", PatchKind::Merge, json{{"spec", {{"replicas", 3}}}},
                       opts_, "scale");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->object["kind"], "Scale");
  EXPECT_EQ(s->object["apiVersion"], "autoscaling/v1");
  EXPECT_EQ(s->object["spec"]["replicas"], 3);
  EXPECT_EQ(s->object["status"]["selector"], "app=web");
  EXPECT_EQ((*reg_->get(d, "default", "web"))["metadata"]["generation"], 2);
}

TEST_F(RegistryTest, OldDeploymentVersionsAreStoredAsAppsV1) {
  auto& old = res("apps", "v1beta1", "deployments");
  json d = deployment("seed");
  d["apiVersion"] = "apps/v1beta1";
  d["spec"].erase("selector");
  auto r = reg_->create(old, "default", d, opts_);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->object["apiVersion"], "apps/v1beta1");
  auto v1 = reg_->get(res("apps", "v1", "deployments"), "default", "seed");
  ASSERT_TRUE(v1);
  EXPECT_EQ((*v1)["apiVersion"], "apps/v1");
  EXPECT_EQ((*v1)["spec"]["selector"]["matchLabels"]["app"], "seed");
}

TEST_F(RegistryTest, GracefulPodDeletion) {
  auto& p = res("", "v1", "pods");
  json pod = {{"metadata", {{"name", "p"}}},
              {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "x"}}})}}}};
  ASSERT_TRUE(reg_->create(p, "default", pod, opts_));
  // Unscheduled: gone at once.
  auto d1 = reg_->remove(p, "default", "p", {}, opts_);
  ASSERT_TRUE(d1);
  EXPECT_TRUE(d1->deleted_now);
  pod["spec"]["nodeName"] = "n1";
  ASSERT_TRUE(reg_->create(p, "default", pod, opts_));
  auto d2 = reg_->remove(p, "default", "p", {}, opts_);
  ASSERT_TRUE(d2);
  EXPECT_FALSE(d2->deleted_now);
  EXPECT_EQ(d2->object["metadata"]["deletionGracePeriodSeconds"], 30);
  DeleteOptions now;
  now.grace_period_seconds = 0;
  auto d3 = reg_->remove(p, "default", "p", now, opts_);
  ASSERT_TRUE(d3);
  EXPECT_FALSE(reg_->get(p, "default", "p"));
}

// An admission plugin that records which operations reached its admit and validate.
class RecordingPlugin : public AdmissionPlugin {
 public:
  using Op = AdmissionAttributes::Operation;
  explicit RecordingPlugin(std::set<Op> handled) : handled_(std::move(handled)) {}
  bool handles(Op op) const override { return handled_.count(op) > 0; }
  Result<void> admit(const AdmissionAttributes& a, json&, AdmissionNotes&) override {
    admitted.push_back(a.operation);
    return ok();
  }
  Result<void> validate(const AdmissionAttributes& a, AdmissionNotes&) override {
    validated.push_back(a.operation);
    return ok();
  }
  std::vector<Op> admitted, validated;

 private:
  std::set<Op> handled_;
};

// AdmissionPlugin::handles: a plugin sees only the operations it declares, so that a DELETE
// (the garbage collector's, a namespace's contents) or a CONNECT skips the plugins that act on
// creates and updates only; a plugin that declares DELETE and CONNECT still sees them.
TEST_F(RegistryTest, AdmissionPluginsSeeOnlyTheOperationsTheyHandle) {
  using Op = AdmissionAttributes::Operation;
  auto create_only = std::make_shared<RecordingPlugin>(std::set<Op>{Op::Create});
  auto every = std::make_shared<RecordingPlugin>(
      std::set<Op>{Op::Create, Op::Update, Op::Delete, Op::Connect});
  reg_->addAdmissionPlugin(create_only);
  reg_->addAdmissionPlugin(every);
  auto& cm = res("", "v1", "configmaps");
  auto made = reg_->create(cm, "default", json{{"metadata", {{"name", "c"}}}}, opts_);
  ASSERT_TRUE(made) << made.error().message();
  json next = made->object;
  next["data"] = {{"k", "v"}};
  ASSERT_TRUE(reg_->update(cm, "default", "c", next, opts_));
  ASSERT_TRUE(reg_->remove(cm, "default", "c", {}, opts_));
  ASSERT_TRUE(reg_->admitConnect(res("", "v1", "pods"), "default", "p", "exec",
                                 json{{"kind", "PodExecOptions"}}, opts_));

  EXPECT_EQ(create_only->admitted, std::vector<Op>{Op::Create});
  EXPECT_EQ(create_only->validated, std::vector<Op>{Op::Create});
  std::vector<Op> all = {Op::Create, Op::Update, Op::Delete, Op::Connect};
  EXPECT_EQ(every->admitted, all);
  EXPECT_EQ(every->validated, all);
}

TEST_F(RegistryTest, FinalizersHoldDeletionUntilRemoved) {
  auto& cm = res("", "v1", "configmaps");
  ASSERT_TRUE(reg_->create(cm, "default",
                           json{{"metadata", {{"name", "c"}, {"finalizers", {"x/y"}}}}}, opts_));
  auto d = reg_->remove(cm, "default", "c", {}, opts_);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->deleted_now);
  EXPECT_TRUE(d->object["metadata"].contains("deletionTimestamp"));
  auto p = reg_->patch(cm, "default", "c", PatchKind::Merge,
                       json{{"metadata", {{"finalizers", nullptr}}}}, opts_);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_FALSE(reg_->get(cm, "default", "c"));
  // Foreground propagation adds its finalizer for the garbage collector.
  ASSERT_TRUE(reg_->create(cm, "default", json{{"metadata", {{"name", "f"}}}}, opts_));
  DeleteOptions fg;
  fg.propagation_policy = "Foreground";
  auto f = reg_->remove(cm, "default", "f", fg, opts_);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->object["metadata"]["finalizers"], json({"foregroundDeletion"}));
}

// Which policy finalizer a delete leaves, as upstream's deletionFinalizersForGarbageCollection:
// the request's orphanDependents or propagationPolicy, else a policy finalizer the object has,
// else the kind's default (Orphan for v1 ReplicationControllers, Background for the rest).
TEST_F(RegistryTest, DeletePolicyFinalizersFollowRequestThenObjectThenKind) {
  auto& cm = res("", "v1", "configmaps");
  auto& rc = res("", "v1", "replicationcontrollers");
  const json rc_spec = json::parse(R"({"selector": {"app": "x"}, "template": {
      "metadata": {"labels": {"app": "x"}},
      "spec": {"containers": [{"name": "c", "image": "busybox"}]}}})");
  auto finalizersAfter = [&](const ResourceInfo& r, const std::string& name, json fins,
                             const DeleteOptions& del) {
    json obj = {{"metadata", {{"name", name}, {"finalizers", fins}}}};
    if (&r == &rc) obj["spec"] = rc_spec;
    auto c = reg_->create(r, "default", obj, opts_);
    EXPECT_TRUE(c) << c.error().message();
    auto d = reg_->remove(r, "default", name, del, opts_);
    EXPECT_TRUE(d) << d.error().message();
    return d ? d->object["metadata"].value("finalizers", json::array()) : json();
  };
  DeleteOptions none, orphan_false, background, orphan;
  orphan_false.orphan_dependents = false;
  background.propagation_policy = "Background";
  orphan.propagation_policy = "Orphan";
  // A ReplicationController deleted with no policy orphans its pods (the Python client's delete).
  EXPECT_EQ(finalizersAfter(rc, "rc1", {"x/y"}, none), json({"x/y", "orphan"}));
  EXPECT_EQ(finalizersAfter(rc, "rc2", {"x/y"}, background), json({"x/y"}));
  // The object's own policy finalizer outlives a delete naming none; a request's policy wins.
  EXPECT_EQ(finalizersAfter(cm, "c1", {"x/y", "orphan"}, none), json({"x/y", "orphan"}));
  EXPECT_EQ(finalizersAfter(cm, "c2", {"x/y", "orphan"}, orphan_false), json({"x/y"}));
  EXPECT_EQ(finalizersAfter(cm, "c3", {"x/y", "foregroundDeletion"}, orphan),
            json({"x/y", "orphan"}));
  EXPECT_EQ(finalizersAfter(cm, "c4", {"x/y"}, none), json({"x/y"}));
}

// The admission reads namespaces from a cache the store's watch keeps current: each step
// below sees the namespace change made just before it.
TEST_F(RegistryTest, NamespaceTerminationBlocksNewContent) {
  auto& ns = res("", "v1", "namespaces");
  auto& cm = res("", "v1", "configmaps");
  auto early = reg_->create(cm, "t", json{{"metadata", {{"name", "early"}}}}, opts_);
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().message(), "namespaces \"t\" not found");
  ASSERT_TRUE(reg_->create(ns, "", json{{"metadata", {{"name", "t"}}}}, opts_));
  ASSERT_TRUE(reg_->create(cm, "t", json{{"metadata", {{"name", "before"}}}}, opts_));
  auto d = reg_->remove(ns, "", "t", {}, opts_);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->object["status"]["phase"], "Terminating");
  auto c =
      reg_->create(res("", "v1", "configmaps"), "t", json{{"metadata", {{"name", "x"}}}}, opts_);
  ASSERT_FALSE(c);
  EXPECT_TRUE(c.error().is(ErrorCode::Forbidden));
  json fin = *reg_->get(ns, "", "t");
  fin["spec"]["finalizers"] = json::array();
  ASSERT_TRUE(reg_->update(ns, "", "t", fin, opts_, "finalize"));
  EXPECT_FALSE(reg_->get(ns, "", "t"));
  auto after = reg_->create(cm, "t", json{{"metadata", {{"name", "after"}}}}, opts_);
  ASSERT_FALSE(after);
  EXPECT_TRUE(after.error().is(ErrorCode::NotFound)) << after.error().message();
  // Made again, it takes content again.
  ASSERT_TRUE(reg_->create(ns, "", json{{"metadata", {{"name", "t"}}}}, opts_));
  EXPECT_TRUE(reg_->create(cm, "t", json{{"metadata", {{"name", "again"}}}}, opts_));
  auto sys = reg_->remove(ns, "", "kube-system", {}, opts_);
  ASSERT_FALSE(sys);
  EXPECT_TRUE(sys.error().is(ErrorCode::Forbidden));
}

TEST_F(RegistryTest, ConcurrentServiceCreatesGetDistinctIps) {
  auto& svc = res("", "v1", "services");
  EXPECT_EQ(createNodePortServices({reg_, reg_, reg_, reg_}, "s", 10), 0);
  std::set<std::string> ips;
  std::set<int> ports;
  serviceAddresses(&ips, &ports);
  EXPECT_EQ(ips.size(), 41u);  // + kubernetes
  EXPECT_TRUE(ips.count("10.96.0.1"));
  EXPECT_EQ(ports.size(), 40u);
  // Released on delete and reusable.
  std::string ip = (*reg_->get(svc, "default", "s0-0"))["spec"]["clusterIP"];
  ASSERT_TRUE(reg_->remove(svc, "default", "s0-0", {}, opts_));
  json again = {{"metadata", {{"name", "again"}}},
                {"spec", {{"clusterIP", ip}, {"ports", json::array({{{"port", 80}}})}}}};
  auto a = reg_->create(svc, "default", again, opts_);
  ASSERT_TRUE(a) << a.error().message();
}

// The conformance test "should be able to change the type from NodePort to ExternalName": the
// client changes type and externalName and leaves the allocated fields as they were; the
// update wipes them (dropTypeDependentFields) and gives the address and port back.
TEST_F(RegistryTest, ATypeChangeDropsWhatTheNewTypeCannotHave) {
  auto& svc = res("", "v1", "services");
  json s = {{"metadata", {{"name", "np"}}},
            {"spec", {{"type", "NodePort"}, {"ports", json::array({{{"port", 80}}})}}}};
  auto made = reg_->create(svc, "default", s, opts_);
  ASSERT_TRUE(made) << made.error().message();
  json next = made->object;
  next["spec"]["type"] = "ExternalName";
  next["spec"]["externalName"] = "foo.example.com";
  auto changed = reg_->update(svc, "default", "np", next, opts_);
  ASSERT_TRUE(changed) << changed.error().message();
  const json& spec = changed->object["spec"];
  EXPECT_FALSE(spec.contains("clusterIP"));
  EXPECT_FALSE(spec.contains("clusterIPs"));
  EXPECT_FALSE(spec["ports"][0].contains("nodePort"));
  EXPECT_FALSE(spec.contains("externalTrafficPolicy"));
  // Both were given back: another Service can ask for them.
  json again = {
      {"metadata", {{"name", "again"}}},
      {"spec",
       {{"type", "NodePort"},
        {"clusterIP", made->object["spec"]["clusterIP"]},
        {"ports", json::array({{{"port", 80},
                                {"nodePort", made->object["spec"]["ports"][0]["nodePort"]}}})}}}};
  auto reused = reg_->create(svc, "default", again, opts_);
  EXPECT_TRUE(reused) << reused.error().message();
}

// Two masters on one store (one etcd): each allocation is a stored reservation, so concurrent
// creates on both never share an address or port, and what one master releases the other can
// hand out again.
TEST_F(RegistryTest, ServicesFromTwoMastersOnOneStoreGetDistinctIpsAndPorts) {
  Registry second(*store_, RegistryOptions{});
  auto& svc = res("", "v1", "services");
  ASSERT_EQ(createNodePortServices({reg_, &second}, "m", 20), 0);
  std::set<std::string> ips;
  std::set<int> ports;
  serviceAddresses(&ips, &ports);
  EXPECT_EQ(ips.size(), 41u);  // + kubernetes
  EXPECT_EQ(ports.size(), 40u);
  auto keys = store_->list("/registry/ranges/skiff/serviceips/");
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->items.size(), 41u);
  // Released on the first master, taken on the second by asking for it.
  std::string ip = (*reg_->get(svc, "default", "m0-0"))["spec"]["clusterIP"];
  int port = (*reg_->get(svc, "default", "m0-0"))["spec"]["ports"][0]["nodePort"];
  ASSERT_TRUE(reg_->remove(svc, "default", "m0-0", {}, opts_));
  json again = {{"metadata", {{"name", "again"}}},
                {"spec",
                 {{"type", "NodePort"},
                  {"clusterIP", ip},
                  {"ports", json::array({{{"port", 80}, {"nodePort", port}}})}}}};
  auto a = second.create(svc, "default", again, opts_);
  ASSERT_TRUE(a) << a.error().message();
  // Taken means taken, whichever master is asked.
  json dup = again;
  dup["metadata"]["name"] = "dup";
  auto d = reg_->create(svc, "default", dup, opts_);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("failed to allocate IP " + ip +
                                     ": provided IP is already allocated"),
            std::string::npos)
      << d.error().message();
  // The refused create gave back nothing it did not hold.
  EXPECT_TRUE(store_->get("/registry/ranges/skiff/serviceips/" + ip));
}

// The repair pass at a master's first allocation: a reservation no Service holds goes once it is
// older than the grace period (a create refused after allocation), a recent one stays (another
// master's Service may be about to be stored).
TEST_F(RegistryTest, ATakenGeneratedNameIsGeneratedAgainEightTimesInAll) {
  // Upstream's RetryGenerateName: the create runs again with a new suffix; what the refused
  // attempts allocated (a Service's address) goes back.
  std::vector<std::string> suffixes;
  std::size_t next = 0;
  RegistryOptions o;
  o.name_suffix = [&] { return suffixes[std::min(next++, suffixes.size() - 1)]; };
  Registry reg(*store_, o);
  auto& svc = res("", "v1", "services");
  json s = {{"metadata", {{"generateName", "web-"}}},
            {"spec", {{"ports", json::array({{{"port", 80}}})}}}};
  suffixes = {"aaaaa"};
  ASSERT_TRUE(reg.create(svc, "default", s, opts_));
  suffixes = {"aaaaa", "aaaaa", "aaaaa", "bbbbb"};
  next = 0;
  auto made = reg.create(svc, "default", s, opts_);
  ASSERT_TRUE(made) << made.error().message();
  EXPECT_EQ(made->object["metadata"]["name"], "web-bbbbb");
  EXPECT_EQ(next, 4u);
  std::set<std::string> ips;
  std::set<int> ports;
  serviceAddresses(&ips, &ports);
  auto kept = store_->list("/registry/ranges/skiff/serviceips/");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->items.size(), ips.size());  // no address of a refused attempt is held
  // Eight taken names in a row: the 409 names the last one, as upstream's.
  suffixes = {"aaaaa"};
  next = 0;
  auto taken = reg.create(svc, "default", s, opts_);
  ASSERT_FALSE(taken);
  EXPECT_TRUE(taken.error().is(ErrorCode::AlreadyExists));
  EXPECT_EQ(taken.error().message(), "services \"web-aaaaa\" already exists");
  EXPECT_EQ(next, 8u);
  // A name the client chose is never changed.
  json named = {{"metadata", {{"name", "web-aaaaa"}, {"generateName", "web-"}}},
                {"spec", {{"ports", json::array({{{"port", 80}}})}}}};
  next = 0;
  EXPECT_FALSE(reg.create(svc, "default", named, opts_));
  EXPECT_EQ(next, 0u);
}

TEST_F(RegistryTest, UpdatesWithoutResourceVersionNeverConflict) {
  // Upstream's unconditional update (the ResourceQuota conformance test's Update sends no
  // resourceVersion while the quota controller writes status): a write landing between the
  // read and the write makes the server read and apply again, not answer 409.
  auto& rq = res("", "v1", "resourcequotas");
  json q = {{"metadata", {{"name", "q"}}}, {"spec", {{"hard", {{"pods", "1"}}}}}};
  ASSERT_TRUE(reg_->create(rq, "default", q, opts_));
  std::atomic<int> failed{0};
  auto writer = [&](bool status) {
    for (int i = 0; i < 150; ++i) {
      json o = q;
      if (status)
        o["status"] = {{"hard", {{"pods", "1"}}}, {"used", {{"pods", std::to_string(i)}}}};
      else
        o["spec"]["hard"]["pods"] = std::to_string(i + 2);
      auto w = reg_->update(rq, "default", "q", o, opts_, status ? "status" : "");
      if (!w) {
        ADD_FAILURE() << w.error().message();
        ++failed;
      }
    }
  };
  std::thread a(writer, false), b(writer, true);
  a.join();
  b.join();
  EXPECT_EQ(failed.load(), 0);
  // One that names a resourceVersion still gets the 409 when it is stale.
  json stale = q;
  stale["metadata"]["resourceVersion"] = "1";
  auto w = reg_->update(rq, "default", "q", stale, opts_);
  ASSERT_FALSE(w);
  EXPECT_TRUE(w.error().is(ErrorCode::Conflict));
}

TEST_F(RegistryTest, ServiceReservationsAreRepaired) {
  const std::string prefix = "/registry/ranges/skiff/serviceips/";
  ASSERT_TRUE(store_->create(prefix + "10.96.0.50", R"({"owner":"default/gone","taken":1})"));
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  ASSERT_TRUE(store_->create(prefix + "10.96.0.51",
                             R"({"owner":"default/soon","taken":)" + std::to_string(now) + "}"));
  Registry fresh(*store_, RegistryOptions{});
  auto& svc = res("", "v1", "services");
  auto svcWith = [](const std::string& name, const std::string& ip) {
    return json{{"metadata", {{"name", name}}},
                {"spec", {{"clusterIP", ip}, {"ports", json::array({{{"port", 80}}})}}}};
  };
  auto old = fresh.create(svc, "default", svcWith("a", "10.96.0.50"), opts_);
  EXPECT_TRUE(old) << old.error().message();
  auto recent = fresh.create(svc, "default", svcWith("b", "10.96.0.51"), opts_);
  ASSERT_FALSE(recent);
  EXPECT_NE(recent.error().message().find("provided IP is already allocated"), std::string::npos);
  // The kubernetes Service's address (stored at bootstrap) is reserved.
  EXPECT_TRUE(store_->get(prefix + "10.96.0.1"));
}

// Several API servers: the `kubernetes` endpoints list every server whose lease is live
// (kube-apiserver's lease reconciler), a server that stops renewing drops out after the TTL, and
// one that shuts down cleanly drops out at once.
TEST_F(RegistryTest, KubernetesEndpointsFollowTheMasterLeases) {
  using std::chrono::seconds;
  auto t0 = std::chrono::system_clock::now();
  auto addresses = [&] {
    std::vector<std::string> out;
    auto ep = reg_->get(res("", "v1", "endpoints"), "default", "kubernetes");
    EXPECT_TRUE(ep);
    for (const auto& a : (*ep)["subsets"][0]["addresses"]) out.push_back(a["ip"]);
    auto slice =
        reg_->get(res("discovery.k8s.io", "v1", "endpointslices"), "default", "kubernetes");
    EXPECT_TRUE(slice);
    EXPECT_EQ((*slice)["endpoints"].size(), out.size());
    return out;
  };
  // The fixture bootstrapped 192.0.2.10; a second master comes up.
  ASSERT_TRUE(reg_->reconcileMasterEndpoints("192.0.2.11", 6443, t0, seconds(15)));
  EXPECT_EQ(addresses(), (std::vector<std::string>{"192.0.2.10", "192.0.2.11"}));
  // 192.0.2.10 stops renewing: 20 s later only the renewing server is listed.
  ASSERT_TRUE(reg_->reconcileMasterEndpoints("192.0.2.11", 6443, t0 + seconds(20), seconds(15)));
  EXPECT_EQ(addresses(), (std::vector<std::string>{"192.0.2.11"}));
  EXPECT_FALSE(store_->get("/registry/masterleases/192.0.2.10"));
  // A third joins; the second shuts down cleanly and leaves at once.
  auto now = std::chrono::system_clock::now();
  ASSERT_TRUE(reg_->reconcileMasterEndpoints("192.0.2.11", 6443, now, seconds(15)));
  ASSERT_TRUE(reg_->reconcileMasterEndpoints("192.0.2.12", 6443, now, seconds(15)));
  EXPECT_EQ(addresses(), (std::vector<std::string>{"192.0.2.11", "192.0.2.12"}));
  ASSERT_TRUE(reg_->removeMasterEndpoint("192.0.2.11", 6443));
  EXPECT_EQ(addresses(), (std::vector<std::string>{"192.0.2.12"}));
}

TEST_F(RegistryTest, WatchSelectorTransitionsAndResume) {
  auto& cm = res("", "v1", "configmaps");
  Selection sel;
  sel.label_selector = "app=x";
  sel.resource_version = std::to_string(store_->currentRevision());
  auto w = reg_->watch(cm, "default", sel);
  ASSERT_TRUE(w);
  ASSERT_TRUE(reg_->create(cm, "default", json{{"metadata", {{"name", "a"}}}}, opts_));
  ASSERT_TRUE(reg_->patch(cm, "default", "a", PatchKind::Merge,
                          json{{"metadata", {{"labels", {{"app", "x"}}}}}}, opts_));
  ASSERT_TRUE(
      reg_->patch(cm, "default", "a", PatchKind::Merge, json{{"data", {{"k", "v"}}}}, opts_));
  ASSERT_TRUE(reg_->patch(cm, "default", "a", PatchKind::Merge,
                          json{{"metadata", {{"labels", {{"app", "y"}}}}}}, opts_));
  auto items = (*w)->next();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].type, WatchEventType::Added);
  EXPECT_EQ(items[1].type, WatchEventType::Modified);
  EXPECT_EQ(items[2].type, WatchEventType::Deleted);
  EXPECT_EQ(items[0].object["kind"], "ConfigMap");
  EXPECT_TRUE(items[0].encoded.empty()) << "an object consumer gets no wire line";
  // A consumer of the encoded lines only gets no copy of the object, and the line is the API
  // server's: type first, then the object with its kind and resourceVersion.
  Selection from_now;
  from_now.resource_version = std::to_string(store_->currentRevision());
  auto lines = reg_->watch(cm, "default", from_now);
  ASSERT_TRUE(lines);
  (*lines)->encodedOnly();
  ASSERT_TRUE(
      reg_->patch(cm, "default", "a", PatchKind::Merge, json{{"data", {{"k", "w"}}}}, opts_));
  auto encoded = (*lines)->next();
  ASSERT_EQ(encoded.size(), 1u);
  EXPECT_TRUE(encoded[0].object.is_null());
  EXPECT_TRUE(encoded[0].encoded.starts_with(R"({"type":"MODIFIED","object":{)"))
      << encoded[0].encoded;
  EXPECT_EQ(encoded[0].encoded.back(), '\n');
  json line = json::parse(encoded[0].encoded);
  EXPECT_EQ(line["object"]["data"]["k"], "w");
  EXPECT_EQ(line["object"]["kind"], "ConfigMap");
  EXPECT_EQ(line["object"]["metadata"]["resourceVersion"],
            std::to_string(store_->currentRevision()));
  // The shared line of one event carries each watcher's own event type: a selector watch sees
  // the object leave its selection as DELETED while a plain watch sees MODIFIED.
  Selection leaving;
  leaving.label_selector = "app=y";
  leaving.resource_version = std::to_string(store_->currentRevision());
  auto sel_lines = reg_->watch(cm, "default", leaving);
  Selection plain;
  plain.resource_version = leaving.resource_version;
  auto plain_lines = reg_->watch(cm, "default", plain);
  ASSERT_TRUE(sel_lines && plain_lines);
  (*sel_lines)->encodedOnly();
  (*plain_lines)->encodedOnly();
  ASSERT_TRUE(reg_->patch(cm, "default", "a", PatchKind::Merge,
                          json{{"metadata", {{"labels", {{"app", "z"}}}}}}, opts_));
  auto left = (*sel_lines)->next();
  auto changed = (*plain_lines)->next();
  ASSERT_EQ(left.size(), 1u);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(json::parse(left[0].encoded)["type"], "DELETED");
  EXPECT_EQ(json::parse(changed[0].encoded)["type"], "MODIFIED");
  EXPECT_EQ(json::parse(left[0].encoded)["object"], json::parse(changed[0].encoded)["object"]);
  // Initial events for resourceVersion "".
  Selection all;
  auto w2 = reg_->watch(cm, "default", all);
  ASSERT_TRUE(w2);
  auto init = (*w2)->next();
  ASSERT_EQ(init.size(), 1u);
  EXPECT_EQ(init[0].type, WatchEventType::Added);
}

// Controllers update objects read from caches that dropped managedFields: an update without
// them keeps the stored ones, as the API server does (an empty list would clear them).
TEST_F(RegistryTest, UpdateWithoutManagedFieldsKeepsTheStoredOnes) {
  auto& d = res("apps", "v1", "deployments");
  auto created = reg_->create(d, "default", deployment("web"), opts_);
  ASSERT_TRUE(created) << created.error().message();
  json stored_fields = created->object["metadata"]["managedFields"];
  ASSERT_FALSE(stored_fields.empty());
  json trimmed = created->object;
  trimmed["metadata"].erase("managedFields");
  trimmed["spec"]["replicas"] = 3;
  auto updated = reg_->update(d, "default", "web", trimmed, opts_);
  ASSERT_TRUE(updated) << updated.error().message();
  json now = *reg_->get(d, "default", "web");
  ASSERT_TRUE(now["metadata"]["managedFields"].is_array());
  EXPECT_EQ(now["metadata"]["managedFields"].size(), stored_fields.size());
  EXPECT_EQ(now["metadata"]["managedFields"][0]["manager"], stored_fields[0]["manager"]);
  EXPECT_EQ(now["spec"]["replicas"], 3);
}

TEST_F(RegistryTest, ServerSideApplyConflictsAndForce) {
  auto& d = res("apps", "v1", "deployments");
  WriteOptions a = opts_;
  a.field_manager = "kubectl";
  json applied = deployment("web");
  applied["metadata"]["namespace"] = "default";
  auto c = reg_->patch(d, "default", "web", PatchKind::Apply, applied, a);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->created);
  WriteOptions other = opts_;
  other.field_manager = "scaler";
  ASSERT_TRUE(
      reg_->patch(d, "default", "web", PatchKind::Merge, json{{"spec", {{"replicas", 4}}}}, other));
  applied["spec"]["replicas"] = 2;
  auto conflict = reg_->patch(d, "default", "web", PatchKind::Apply, applied, a);
  ASSERT_FALSE(conflict);
  EXPECT_TRUE(conflict.error().is(ErrorCode::Conflict));
  EXPECT_NE(conflict.error().message().find("conflict with \"scaler\""), std::string::npos)
      << conflict.error().message();
  a.force = true;
  auto forced = reg_->patch(d, "default", "web", PatchKind::Apply, applied, a);
  ASSERT_TRUE(forced) << forced.error().message();
  EXPECT_EQ(forced->object["spec"]["replicas"], 2);
}

TEST_F(RegistryTest, InProcessClientSharesTheRegistryPath) {
  auto client = newInProcessClient(*reg_);
  auto bad = client->create(gvr::kDeployments, "default",
                            json{{"metadata", {{"name", "x"}}}, {"spec", json::object()}});
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(ErrorCode::Invalid));
  std::mutex mu;
  std::condition_variable cv;
  std::vector<WatchEvent> seen;
  auto w = client->watch(gvr::kConfigMaps, "default", {}, [&](const WatchEvent& e) {
    std::lock_guard l(mu);
    seen.push_back(e);
    cv.notify_all();
  });
  ASSERT_TRUE(w);
  ASSERT_TRUE(client->create(gvr::kConfigMaps, "default", json{{"metadata", {{"name", "c"}}}}));
  std::unique_lock l(mu);
  ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(5), [&] { return !seen.empty(); }));
  EXPECT_EQ(seen[0].type, WatchEventType::Added);
  EXPECT_EQ(seen[0].object["metadata"]["name"], "c");
}

}  // namespace
}  // namespace skiff::master::api
