// The OpenAPI documents: the generated built-in definitions are whole (every reference resolves,
// every served kind has one) and the v2/v3 documents carry what kubectl reads from them.
#include <gtest/gtest.h>

#include <map>

#include "builtin_definitions.h"
#include "skiff/master/api/resources.h"
#include "skiff/master/openapi/openapi.h"

namespace skiff::master::openapi {
namespace {

const char* const kPodPath = "/api/v1/namespaces/{namespace}/pods/{name}";

json v3(const std::string& path) {
  auto doc = v3Document(path);
  if (!doc) return json();
  return json::parse(doc->body);
}

TEST(BuiltinDefinitionsTest, EveryDefinitionParsesAndEveryReferenceResolves) {
  const auto& defs = BuiltinDefinitions::get();
  ASSERT_GT(defs.all().size(), 500u);
  for (const auto& [name, text] : defs.all()) {
    json s = json::parse(text);  // throws on a broken line
    EXPECT_TRUE(s.is_object()) << name;
    for (const auto& ref : referencedNames(text)) {
      EXPECT_TRUE(defs.all().count(ref)) << name << " refers to the missing " << ref;
    }
  }
}

TEST(BuiltinDefinitionsTest, EveryServedBuiltinKindHasADefinition) {
  const auto& defs = BuiltinDefinitions::get();
  for (const auto& r : api::allResources()) {
    EXPECT_NE(defs.kindDefinition({r.group, r.version, r.kind}), "")
        << r.groupVersion() << " " << r.kind;
    for (const auto& s : r.subresources) {
      EXPECT_NE(defs.kindDefinition({s.group, s.version, s.kind}), "")
          << r.resource << "/" << s.name << ": " << s.group << "/" << s.version << " " << s.kind;
    }
  }
}

TEST(BuiltinDefinitionsTest, RefusesTextThatIsNotTheGeneratorsOutput) {
  EXPECT_THROW(BuiltinDefinitions("{\"definitions\": {\nnot json\n},\n"), std::runtime_error);
  BuiltinDefinitions small(
      "{\"definitions\": {\n"
      "\"a.A\": {\"properties\":{\"b\":{\"$ref\":\"#/definitions/a.B\"}},\"type\":\"object\"},\n"
      "\"a.B\": {\"type\":\"string\"}\n"
      "},\n"
      "\"v3OneOf\": {\"a.B\":[\"string\",\"number\"]}}\n");
  EXPECT_EQ(small.closure({"a.A"}), (std::vector<std::string>{"a.A", "a.B"}));
  EXPECT_EQ(small.v3OneOf("a.B"), (std::vector<std::string>{"string", "number"}));
}

TEST(OpenApiV3Test, CoreDocumentDescribesPodsAsKubectlExplainReadsThem) {
  json doc = v3("api/v1");
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["openapi"], "3.0.0");
  const json& schemas = doc["components"]["schemas"];
  const json& pod = schemas["io.k8s.api.core.v1.Pod"];
  EXPECT_EQ(pod["x-kubernetes-group-version-kind"],
            json::parse(R"([{"group":"","kind":"Pod","version":"v1"}])"));
  // A $ref beside a description is wrapped in allOf, as kube-openapi's v3.
  EXPECT_EQ(pod["properties"]["spec"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.api.core.v1.PodSpec");
  EXPECT_NE(pod["properties"]["spec"]["description"].get<std::string>().find("desired behavior"),
            std::string::npos);
  const json& containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
  EXPECT_EQ(containers["x-kubernetes-patch-merge-key"], "name");
  EXPECT_EQ(containers["x-kubernetes-list-type"], "map");
  EXPECT_EQ(schemas["io.k8s.api.core.v1.PodSpec"]["required"], json::array({"containers"}));
  const json& pull = schemas["io.k8s.api.core.v1.Container"]["properties"]["imagePullPolicy"];
  EXPECT_EQ(pull["enum"], json::array({"Always", "IfNotPresent", "Never"}));
  EXPECT_EQ(schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["oneOf"],
            json::parse(R"([{"type":"integer"},{"type":"string"}])"));
  EXPECT_FALSE(schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"].contains("type"));
  // kubectl apply's --validate looks for fieldValidation on the kind's PATCH.
  const json& patch = doc["paths"][kPodPath]["patch"];
  EXPECT_EQ(patch["x-kubernetes-group-version-kind"]["kind"], "Pod");
  bool field_validation = false;
  for (const auto& p : patch["parameters"]) field_validation |= p["name"] == "fieldValidation";
  EXPECT_TRUE(field_validation);
  // Other groups' kinds are not in the core document.
  EXPECT_FALSE(schemas.contains("io.k8s.api.apps.v1.Deployment"));
}

TEST(OpenApiV3Test, GroupDocumentsCarryWhatTheirKindsReference) {
  json doc = v3("apis/apps/v1");
  const json& schemas = doc["components"]["schemas"];
  EXPECT_TRUE(schemas.contains("io.k8s.api.apps.v1.Deployment"));
  EXPECT_TRUE(schemas.contains("io.k8s.api.apps.v1.DeploymentList"));
  EXPECT_TRUE(schemas.contains("io.k8s.api.core.v1.PodSpec"));
  EXPECT_TRUE(schemas.contains("io.k8s.api.autoscaling.v1.Scale"));  // deployments/scale
  EXPECT_TRUE(schemas.contains("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"));
  EXPECT_TRUE(doc["paths"].contains("/apis/apps/v1/namespaces/{namespace}/deployments/{name}"));
  EXPECT_TRUE(v3("apis/rbac.authorization.k8s.io/v1")["paths"].contains(
      "/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}"));
}

TEST(OpenApiV3Test, IndexListsEveryGroupVersionWithItsDocumentsHash) {
  json index = v3Index();
  for (const char* p : {"api/v1", "apis/apps/v1", "apis/batch/v1", "apis/networking.k8s.io/v1",
                        "apis/apiextensions.k8s.io/v1"}) {
    ASSERT_TRUE(index["paths"].contains(p)) << p;
    auto doc = v3Document(p);
    ASSERT_TRUE(doc) << p;
    EXPECT_EQ(index["paths"][p]["serverRelativeURL"],
              "/openapi/v3/" + std::string(p) + "?hash=" + documentHash(doc->body));
  }
  EXPECT_EQ(documentHash("").size(), 128u);
}

TEST(OpenApiV3Test, UnknownPathsHaveNoDocument) {
  for (const char* p : {"", "api", "api/v2", "apis/apps", "apis/apps/v9", "apis/nope/v1",
                        "apis//v1", "apis/apps/v1/extra", "api/v1/x"}) {
    EXPECT_FALSE(v3Document(p)) << p;
  }
}

TEST(OpenApiV2Test, CarriesEveryDefinitionAndTheDryRunParameterKubectlDiffLooksFor) {
  json doc = json::parse(v2Json());
  EXPECT_EQ(doc["swagger"], "2.0");
  EXPECT_TRUE(doc["definitions"].contains("io.k8s.api.apps.v1.Deployment"));
  EXPECT_EQ(doc["definitions"]["io.k8s.api.core.v1.Pod"]["properties"]["spec"]["$ref"],
            "#/definitions/io.k8s.api.core.v1.PodSpec");
  const json& patch =
      doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
  bool dry_run = false;
  for (const auto& p : patch["parameters"]) dry_run |= p["name"] == "dryRun";
  EXPECT_TRUE(dry_run);
  EXPECT_EQ(patch["x-kubernetes-group-version-kind"]["group"], "apps");
}

TEST(UnknownFieldsTest, ReportsEveryUnknownFieldByTheKindsDefinition) {
  json d = json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment", "extra": 1,
    "metadata": {"name": "d", "labels": {"any-key": "v"}, "nam": "x"},
    "spec": {"replica": 2, "selector": {"matchLabels": {"a": "b"}},
      "template": {"metadata": {"labels": {"a": "b"}},
        "spec": {"containers": [{"name": "c", "image": "i", "imag": "typo",
          "ports": [{"containerPort": 80, "containerPrt": 81}],
          "resources": {"limits": {"cpu": "1", "anything": "2"}}}]}}}})");
  auto unknown = unknownFields("apps", "v1", "Deployment", d);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(*unknown,
            (std::vector<std::string>{"extra", "metadata.nam", "spec.replica",
                                      "spec.template.spec.containers[0].imag",
                                      "spec.template.spec.containers[0].ports[0].containerPrt"}));
  // int-or-string, RawExtension (anything below), maps of strings: nothing unknown.
  json svc = json::parse(R"({"spec": {"ports": [{"port": 80, "targetPort": "http"}]}})");
  EXPECT_TRUE(unknownFields("", "v1", "Service", svc)->empty());
  json rev = json::parse(R"({"data": {"whatever": {"deep": 1}}, "revision": 1})");
  EXPECT_TRUE(unknownFields("apps", "v1", "ControllerRevision", rev)->empty());
  EXPECT_FALSE(unknownFields("example.com", "v1", "Widget", svc));
  EXPECT_EQ(unknownMetadataFields(json::parse(R"({"name": "a", "labelz": {}})")),
            std::vector<std::string>{"metadata.labelz"});
}

// Just enough of a protobuf reader to walk the gnostic Document: field -> values of the
// length-delimited fields at one level.
std::multimap<int, std::string> fields(std::string_view b) {
  std::multimap<int, std::string> out;
  std::size_t i = 0;
  auto varint = [&] {
    std::uint64_t v = 0;
    for (int shift = 0; i < b.size(); shift += 7) {
      auto c = static_cast<unsigned char>(b[i++]);
      v |= std::uint64_t(c & 0x7f) << shift;
      if (!(c & 0x80)) break;
    }
    return v;
  };
  while (i < b.size()) {
    std::uint64_t tag = varint();
    int wire = tag & 7;
    if (wire == 0) {
      varint();
    } else if (wire == 1) {
      i += 8;
    } else if (wire == 2) {
      std::size_t n = varint();
      out.emplace(int(tag >> 3), std::string(b.substr(i, n)));
      i += n;
    } else {
      ADD_FAILURE() << "wire type " << wire;
      break;
    }
  }
  return out;
}

std::string first(const std::multimap<int, std::string>& m, int field) {
  auto it = m.find(field);
  return it == m.end() ? "" : it->second;
}

TEST(OpenApiV2Test, ProtobufDocumentIsGnosticsOpenApiV2) {
  std::string pb = v2ProtobufDocument();
  auto doc = fields(pb);
  EXPECT_EQ(first(doc, 1), "2.0");  // swagger
  // definitions (9) -> NamedSchema (1) {name = 1, value = 2}
  bool pod = false;
  auto defs = fields(first(doc, 9));
  for (auto [it, end] = defs.equal_range(1); it != end; ++it) {
    auto named = fields(it->second);
    if (first(named, 1) != "io.k8s.api.core.v1.Pod") continue;
    pod = true;
    auto schema = fields(first(named, 2));
    EXPECT_NE(first(schema, 4).find("collection of containers"), std::string::npos);
    // vendor_extension (31) NamedAny {name, Any{yaml = 2}}
    auto ext = fields(first(schema, 31));
    EXPECT_EQ(first(ext, 1), "x-kubernetes-group-version-kind");
    EXPECT_EQ(first(fields(first(ext, 2)), 2),
              "[{\"group\":\"\",\"kind\":\"Pod\",\"version\":\"v1\"}]\n");
  }
  EXPECT_TRUE(pod);
  // paths (8) -> NamedPathItem (2) -> PathItem.patch (8) -> Operation.parameters (8)
  bool dry_run = false;
  auto paths = fields(first(doc, 8));
  for (auto [it, end] = paths.equal_range(2); it != end; ++it) {
    auto named = fields(it->second);
    if (first(named, 1) != kPodPath) continue;
    auto op = fields(first(fields(first(named, 2)), 8));
    for (auto [p, pend] = op.equal_range(8); p != pend; ++p) {
      auto query = fields(first(fields(first(fields(first(fields(p->second), 1)), 2)), 3));
      dry_run |= first(query, 4) == "dryRun";
    }
  }
  EXPECT_TRUE(dry_run);
}

}  // namespace
}  // namespace skiff::master::openapi
