// CustomResourceDefinitions through the registry: validation of the CRD, the controller's
// conditions and serving, custom objects validated/defaulted/pruned by their schema, tables,
// scale, several versions, and deletion.
#include <gtest/gtest.h>

#include "skiff/master/api/registry.h"
#include "skiff/master/api/tables.h"
#include "skiff/master/apiextensions/apiextensions.h"
#include "skiff/master/openapi/openapi.h"
#include "skiff/master/testing/registry_fixture.h"

namespace skiff::master::apiextensions {
namespace {

using api::findResource;
using api::ResourceInfo;

json widgetCrd(const std::string& group = "example.com") {
  return json::parse(R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
  "metadata":{"name":"widgets.)" +
                     group + R"("},
  "spec":{"group":")" +
                     group + R"(","scope":"Namespaced",
    "names":{"plural":"widgets","singular":"widget","kind":"Widget","shortNames":["wdg"]},
    "versions":[
      {"name":"v1","served":true,"storage":true,
       "subresources":{"status":{},"scale":{"specReplicasPath":".spec.replicas","statusReplicasPath":".status.replicas"}},
       "additionalPrinterColumns":[{"name":"Size","type":"integer","jsonPath":".spec.size"},
                                   {"name":"Color","type":"string","jsonPath":".spec.color"}],
       "schema":{"openAPIV3Schema":{"type":"object","properties":{
         "spec":{"type":"object","properties":{
           "size":{"type":"integer","minimum":1,"maximum":10,"default":3},
           "replicas":{"type":"integer"},
           "color":{"type":"string","enum":["red","blue"]}}},
         "status":{"type":"object","properties":{"ready":{"type":"boolean"},"replicas":{"type":"integer"}}}}}}},
      {"name":"v1beta1","served":true,"storage":false,
       "schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}})");
}

class CrdTest : public ::skiff::master::testing::RegistryFixture {
 protected:
  void setUpRegistry() override {
    ctl_ = startCrdController(*reg_, false);
    opts_.user = {"admin", {"system:masters"}};
  }
  void TearDown() override {
    ctl_.reset();
    for (const char* n : {"widgets.example.com", "things.example.com", "gadgets.example.com"})
      api::removeCustomResources(n);
    RegistryFixture::TearDown();
  }
  const ResourceInfo& crds() {
    return *findResource("apiextensions.k8s.io", "v1", "customresourcedefinitions");
  }
  Result<api::WriteResult> createCrd(const json& crd) {
    auto r = reg_->create(crds(), "", crd, opts_);
    ctl_->sync();
    return r;
  }
  json widget(const std::string& name, const json& spec) {
    return {{"apiVersion", "example.com/v1"},
            {"kind", "Widget"},
            {"metadata", {{"name", name}}},
            {"spec", spec}};
  }
  std::string condition(const std::string& name, const std::string& type) {
    auto c = reg_->get(crds(), "", name);
    if (!c) return "";
    for (const auto& x : (*c)["status"].value("conditions", json::array()))
      if (x["type"] == type)
        return x["status"].get<std::string>() + "/" + x["reason"].get<std::string>();
    return "";
  }

  std::unique_ptr<CrdController> ctl_;
  api::WriteOptions opts_;
};

// The conformance test "custom resource defaulting for requests and from storage works": a
// default added to the schema later shows on objects stored before it, in get, list (also the
// HTTP list's text) and watch.
TEST_F(CrdTest, DefaultsAddedLaterApplyOnRead) {
  json crd = widgetCrd();
  crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
     ["size"]
         .erase("default");
  ASSERT_TRUE(createCrd(crd));
  const ResourceInfo* r = findResource("example.com", "v1", "widgets");
  ASSERT_NE(r, nullptr);
  auto made = reg_->create(*r, "default", widget("w", {{"color", "red"}}), opts_);
  ASSERT_TRUE(made) << made.error().message();
  EXPECT_FALSE(made->object["spec"].contains("size"));

  auto now = reg_->get(crds(), "", "widgets.example.com");
  ASSERT_TRUE(now);
  json next = *now;
  next["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
      ["size"]["default"] = 5;
  ASSERT_TRUE(reg_->update(crds(), "", "widgets.example.com", next, opts_));
  ctl_->sync();
  r = findResource("example.com", "v1", "widgets");
  ASSERT_NE(r, nullptr);
  auto got = reg_->get(*r, "default", "w");
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ((*got)["spec"]["size"], 5);
  auto text = reg_->listText(*r, "default", {});
  ASSERT_TRUE(text) << text.error().message();
  EXPECT_EQ(json::parse(*text)["items"][0]["spec"]["size"], 5);
}

TEST_F(CrdTest, EstablishedAndServedLive) {
  EXPECT_EQ(findResource("example.com", "v1", "widgets"), nullptr);
  ASSERT_TRUE(createCrd(widgetCrd()));
  EXPECT_EQ(condition("widgets.example.com", "NamesAccepted"), "True/NoConflicts");
  EXPECT_EQ(condition("widgets.example.com", "Established"), "True/InitialNamesAccepted");
  auto crd = reg_->get(crds(), "", "widgets.example.com");
  EXPECT_EQ((*crd)["status"]["storedVersions"], json::array({"v1"}));
  EXPECT_EQ((*crd)["status"]["acceptedNames"]["listKind"], "WidgetList");
  EXPECT_EQ((*crd)["spec"]["conversion"]["strategy"], "None");
  const ResourceInfo* w = findResource("example.com", "v1", "widgets");
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->namespaced);
  EXPECT_EQ(w->short_names, std::vector<std::string>{"wdg"});
  EXPECT_TRUE(w->hasSubresource("status"));
  EXPECT_TRUE(w->hasSubresource("scale"));
  bool grouped = false;
  for (const auto& g : api::servedGroups()) {
    if (g.name == "example.com") grouped = g.versions == std::vector<std::string>{"v1", "v1beta1"};
  }
  EXPECT_TRUE(grouped);
}

TEST_F(CrdTest, ObjectsAreDefaultedValidatedAndPruned) {
  ASSERT_TRUE(createCrd(widgetCrd()));
  const ResourceInfo& w = *findResource("example.com", "v1", "widgets");
  auto w1 = reg_->create(w, "default", widget("w1", {{"color", "red"}}), opts_);
  ASSERT_TRUE(w1) << w1.error().message();
  EXPECT_EQ(w1->object["spec"]["size"], 3);
  EXPECT_EQ(w1->object["metadata"]["generation"], 1);
  auto w2 = reg_->create(w, "default", widget("w2", {{"color", "red"}, {"size", 20}}), opts_);
  ASSERT_FALSE(w2);
  EXPECT_EQ(w2.error().message(),
            "Widget.example.com \"w2\" is invalid: spec.size: Invalid value: 20: spec.size in "
            "body should be less than or equal to 10");
  auto bad = reg_->create(w, "default", widget("w4", {{"color", "green"}, {"size", "x"}}), opts_);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            "Widget.example.com \"w4\" is invalid: [spec.color: Unsupported value: \"green\": "
            "supported values: \"red\", \"blue\", spec.size: Invalid value: \"string\": spec.size "
            "in body must be of type integer: \"string\"]");
  auto w3 = reg_->create(w, "default", widget("w3", {{"color", "blue"}, {"extra", "x"}}), opts_);
  ASSERT_TRUE(w3);
  EXPECT_FALSE(w3->object["spec"].contains("extra"));
  // The v1beta1 view of the same object: apiVersion rewritten (conversion None).
  const ResourceInfo& wb = *findResource("example.com", "v1beta1", "widgets");
  auto old = reg_->get(wb, "default", "w3");
  ASSERT_TRUE(old);
  EXPECT_EQ((*old)["apiVersion"], "example.com/v1beta1");
  EXPECT_EQ((*old)["spec"]["color"], "blue");
}

TEST_F(CrdTest, StatusIsASubresourceAndTablesUseTheColumns) {
  ASSERT_TRUE(createCrd(widgetCrd()));
  const ResourceInfo& w = *findResource("example.com", "v1", "widgets");
  json obj = widget("w1", {{"size", 5}, {"color", "blue"}});
  obj["status"] = {{"ready", true}};
  auto c = reg_->create(w, "default", obj, opts_);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->object.contains("status"));
  json st = c->object;
  st["status"] = {{"ready", true}, {"replicas", 2}};
  ASSERT_TRUE(reg_->update(w, "default", "w1", st, opts_, "status"));
  auto got = reg_->get(w, "default", "w1");
  EXPECT_EQ((*got)["status"]["ready"], true);
  json cols = api::tableColumns(w);
  ASSERT_EQ(cols.size(), 3u);
  EXPECT_EQ(cols[1]["name"], "Size");
  EXPECT_EQ(cols[2]["name"], "Color");
  json row = api::tableRow(w, *got, api::Clock::now(), api::TableObject::None);
  EXPECT_EQ(row["cells"], json::array({"w1", 5, "blue"}));
  // scale: spec.replicas and status.replicas by the CRD's paths.
  auto scale = reg_->get(w, "default", "w1", "scale");
  ASSERT_TRUE(scale);
  EXPECT_EQ((*scale)["status"]["replicas"], 2);
  json s = *scale;
  s["spec"]["replicas"] = 4;
  ASSERT_TRUE(reg_->update(w, "default", "w1", s, opts_, "scale"));
  EXPECT_EQ((*reg_->get(w, "default", "w1"))["spec"]["replicas"], 4);
}

TEST_F(CrdTest, InvalidDefinitionsAreRefused) {
  json crd = widgetCrd();
  crd["metadata"]["name"] = "widgets.wrong.com";
  auto r = reg_->create(crds(), "", crd, opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("metadata.name: Invalid value: \"widgets.wrong.com\": must be "
                                     "spec.names.plural+\".\"+spec.group"),
            std::string::npos);
  crd = widgetCrd();
  crd["spec"]["versions"][1]["storage"] = true;
  r = reg_->create(crds(), "", crd, opts_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("must have exactly one version marked as storage version"),
            std::string::npos);
  crd = widgetCrd();
  crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"].erase("type");
  r = reg_->create(crds(), "", crd, opts_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "CustomResourceDefinition.apiextensions.k8s.io \"widgets.example.com\" is invalid: "
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must "
            "not be empty for specified object fields");
}

TEST_F(CrdTest, ConflictingNamesAreNotAccepted) {
  ASSERT_TRUE(createCrd(widgetCrd()));
  json other = widgetCrd();
  other["metadata"]["name"] = "gadgets.example.com";
  other["spec"]["names"] = {{"plural", "gadgets"}, {"kind", "Widget"}};
  ASSERT_TRUE(createCrd(other));
  // The singular defaults to "widget" (the lower-case kind), checked before the kind.
  EXPECT_EQ(condition("gadgets.example.com", "NamesAccepted"), "False/SingularConflict");
  other["metadata"]["name"] = "things.example.com";
  other["spec"]["names"] = {{"plural", "things"}, {"singular", "thing"}, {"kind", "Widget"}};
  ASSERT_TRUE(createCrd(other));
  EXPECT_EQ(condition("things.example.com", "NamesAccepted"), "False/KindConflict");
  EXPECT_EQ(condition("gadgets.example.com", "Established"), "False/NotAccepted");
  EXPECT_EQ(findResource("example.com", "v1", "gadgets"), nullptr);
}

TEST_F(CrdTest, DeletingTheDefinitionDeletesItsObjects) {
  ASSERT_TRUE(createCrd(widgetCrd()));
  const ResourceInfo* w = findResource("example.com", "v1", "widgets");
  ASSERT_TRUE(reg_->create(*w, "default", widget("w1", {{"color", "red"}}), opts_));
  auto d = reg_->remove(crds(), "", "widgets.example.com", {}, opts_);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->deleted_now);
  EXPECT_EQ(condition("widgets.example.com", "Terminating"), "True/InstanceDeletionPending");
  ctl_->sync();  // deletes the objects
  ctl_->sync();  // none left: the finalizer goes, and with it the CRD
  EXPECT_FALSE(reg_->get(crds(), "", "widgets.example.com"));
  EXPECT_EQ(findResource("example.com", "v1", "widgets"), nullptr);
  EXPECT_FALSE(reg_->get(*w, "default", "w1"));
}

TEST_F(CrdTest, OpenApiDocumentsDescribeTheKind) {
  ASSERT_TRUE(createCrd(widgetCrd()));
  json index = openapi::v3Index();
  EXPECT_TRUE(index["paths"].contains("apis/example.com/v1"));
  auto text = openapi::v3Document("apis/example.com/v1");
  ASSERT_TRUE(text);
  json doc = json::parse(text->body);
  const json& schemas = doc["components"]["schemas"];
  const json& s = schemas["com.example.v1.Widget"];
  EXPECT_EQ(s["properties"]["spec"]["properties"]["size"]["type"], "integer");
  EXPECT_EQ(s["x-kubernetes-group-version-kind"][0]["kind"], "Widget");
  // metadata is the built-in ObjectMeta, carried in the document with what it references.
  EXPECT_EQ(s["properties"]["metadata"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
  EXPECT_TRUE(schemas.contains("io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry"));
  EXPECT_TRUE(doc["paths"].contains("/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"));
  EXPECT_FALSE(openapi::v3Document("apis/example.com/v9"));
  json v2 = json::parse(openapi::v2Json())["definitions"];
  EXPECT_EQ(v2["com.example.v1.Widget"]["properties"]["spec"]["properties"]["size"]["maximum"], 10);
  // A root that preserves unknown fields is only {type: object} in v2, as upstream: kubectl's
  // client-side validation would refuse any field not listed.
  EXPECT_EQ(v2["com.example.v1beta1.Widget"],
            json::parse(R"({"type":"object","x-kubernetes-group-version-kind":
                [{"group":"example.com","kind":"Widget","version":"v1beta1"}]})"));
}

}  // namespace
}  // namespace skiff::master::apiextensions
