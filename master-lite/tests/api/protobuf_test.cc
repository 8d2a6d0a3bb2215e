// Protobuf request bodies as client-go sends them (application/vnd.kubernetes.protobuf), built
// field by field from k8s.io/api's generated.proto: Go-embedded structs (Volume.volumeSource,
// Probe.handler, the LocalObjectReference of a configMap volume) are nested messages on the
// wire but flattened in JSON.
#include <gtest/gtest.h>

#include <string>

#include "skiff/master/api/protobuf.h"

namespace skiff::master::api {
namespace {

using json = nlohmann::json;

std::string varint(std::uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
// A length-delimited field (strings, bytes, messages).
std::string field(int number, const std::string& payload) {
  return varint(static_cast<std::uint64_t>(number) << 3 | 2) + varint(payload.size()) + payload;
}
std::string intField(int number, std::uint64_t v) {
  return varint(static_cast<std::uint64_t>(number) << 3) + varint(v);
}
std::string envelope(const std::string& api_version, const std::string& kind,
                     const std::string& raw) {
  std::string type_meta = field(1, api_version) + field(2, kind);
  return std::string("k8s\0", 4) + field(1, type_meta) + field(2, raw);
}

// A typed client deletes with DeleteOptions under its own group-version (metav1's kinds are in
// every group-version): `kubectl delete --cascade=orphan`, the garbage collector conformance
// tests' Orphan policy, preconditions and grace periods all travel this way.
TEST(ProtobufTest, DeleteOptionsUnderAnyGroupVersion) {
  std::string opts =
      intField(1, 0) + field(2, field(1, "uid-1") + field(2, "42")) + field(4, "Orphan");
  for (const char* gv : {"v1", "apps/v1"}) {
    auto got = decodeKubernetesProtobuf(envelope(gv, "DeleteOptions", opts));
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ((*got)["propagationPolicy"], "Orphan") << gv;
    EXPECT_EQ((*got)["gracePeriodSeconds"], 0) << gv;
    EXPECT_EQ((*got)["preconditions"], json({{"uid", "uid-1"}, {"resourceVersion", "42"}}));
  }
}

// The Lease conformance test's times: time.Time{} + 2 s is year 1, negative Unix seconds.
TEST(ProtobufTest, TimesBeforeTheEpochAndYearOne) {
  std::string spec = field(1, "holder") + intField(2, 30) +
                     field(3, intField(1, static_cast<std::uint64_t>(-62135596798LL))) +
                     field(4, intField(1, static_cast<std::uint64_t>(-62135596795LL)));
  std::string lease = field(1, field(1, "lease")) + field(2, spec);
  auto got = decodeKubernetesProtobuf(envelope("coordination.k8s.io/v1", "Lease", lease));
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ((*got)["spec"]["acquireTime"], "0001-01-01T00:00:02.000000Z");
  EXPECT_EQ((*got)["spec"]["renewTime"], "0001-01-01T00:00:05.000000Z");
}

TEST(ProtobufTest, EmbeddedStructsAreFlattenedIntoTheirParent) {
  std::string empty_dir_volume = field(1, "scratch") + field(2, field(2, ""));
  std::string cm_volume =
      field(1, "config") + field(2, field(19, field(1, field(1, "app-config"))));
  std::string probe = field(1, field(1, field(1, "true"))) + intField(2, 5);
  std::string container = field(1, "c") + field(2, "busybox") + field(11, probe);
  std::string spec = field(1, empty_dir_volume) + field(1, cm_volume) + field(2, container);
  std::string pod = field(1, field(1, "p")) + field(2, spec);

  auto got = decodeKubernetesProtobuf(envelope("v1", "Pod", pod));
  ASSERT_TRUE(got) << got.error().message();
  const json& s = (*got)["spec"];
  EXPECT_EQ(s["volumes"][0], json::parse(R"({"name": "scratch", "emptyDir": {}})"));
  EXPECT_EQ(s["volumes"][1],
            json::parse(R"({"name": "config", "configMap": {"name": "app-config"}})"));
  EXPECT_EQ(s["containers"][0]["readinessProbe"],
            json::parse(R"({"exec": {"command": ["true"]}, "initialDelaySeconds": 5})"));
  EXPECT_EQ((*got)["kind"], "Pod");
}

// metav1.MicroTime (events.k8s.io eventTime) keeps six fractional digits; metav1.Time none.
TEST(ProtobufTest, MicroTimeHasMicroseconds) {
  std::string micro = intField(1, 1505828956) + intField(2, 123456789);
  std::string meta = field(1, "e") + field(8, intField(1, 1505828956));  // creationTimestamp
  std::string event = field(1, meta) + field(2, micro) + field(4, "Scheduled");
  auto got = decodeKubernetesProtobuf(envelope("events.k8s.io/v1", "Event", event));
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ((*got)["eventTime"], "2017-09-19T13:49:16.123456Z");
  EXPECT_EQ((*got)["metadata"]["creationTimestamp"], "2017-09-19T13:49:16Z");
}

// Fields whose protobuf name is not their JSON name (`protobuf:"bytes,2,rep,name=Webhooks"` on
// `json:"webhooks"`): the decoder writes the JSON name. With the protobuf name, a webhook
// configuration client-go created had no "webhooks" and was never called.
TEST(ProtobufTest, FieldsGetTheirJsonNameNotTheirProtobufName) {
  std::string rule =
      field(1, "CREATE") + field(2, field(1, "") + field(2, "v1") + field(3, "pods"));
  std::string hook = field(1, "deny.example.com") + field(3, rule);
  auto got = decodeKubernetesProtobuf(envelope("admissionregistration.k8s.io/v1",
                                               "ValidatingWebhookConfiguration",
                                               field(1, field(1, "cfg")) + field(2, hook)));
  ASSERT_TRUE(got) << got.error().message();
  ASSERT_TRUE(got->contains("webhooks")) << got->dump();
  const json& w = (*got)["webhooks"][0];
  EXPECT_EQ(w["name"], "deny.example.com");
  EXPECT_EQ(w["rules"][0]["resources"], json::array({"pods"}));
  EXPECT_EQ(w["rules"][0]["operations"], json::array({"CREATE"}));
  // BoundObjectReference.uid (protobuf name uID): a TokenRequest bound to a pod.
  std::string bound = field(1, "Pod") + field(3, "p") + field(4, "1234");
  auto token = decodeKubernetesProtobuf(
      envelope("authentication.k8s.io/v1", "TokenRequest", field(2, field(3, bound))));
  ASSERT_TRUE(token) << token.error().message();
  EXPECT_EQ((*token)["spec"]["boundObjectRef"]["uid"], "1234") << token->dump();
}

// gogo-protobuf writes a non-pointer field even when zero, a pointer field only when set. Go's
// JSON form leaves out the zero of a non-pointer omitempty field (stdin: false, hostPort: 0),
// keeps a pointer field's zero (storageClassName: "" asks for no class, replicas: 0) and a
// non-omitempty field's (containerPort). The stored object must be that JSON form.
TEST(ProtobufTest, ZeroValuesAsGoJsonWritesThem) {
  std::string port = intField(2, 0) + intField(3, 0) + field(4, "TCP");
  std::string container = field(1, "c") + field(2, "busybox") + field(6, port) + intField(16, 0) +
                          intField(17, 0) + intField(18, 0);
  std::string pod = field(1, field(1, "p")) + field(2, field(2, container));
  auto got = decodeKubernetesProtobuf(envelope("v1", "Pod", pod));
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ((*got)["spec"]["containers"][0], json::parse(R"({"name": "c", "image": "busybox",
                            "ports": [{"containerPort": 0, "protocol": "TCP"}]})"));

  std::string claim = field(1, field(1, "pvc")) + field(2, field(5, "") + field(3, ""));
  auto pvc = decodeKubernetesProtobuf(envelope("v1", "PersistentVolumeClaim", claim));
  ASSERT_TRUE(pvc) << pvc.error().message();
  EXPECT_EQ((*pvc)["spec"], json::parse(R"({"storageClassName": ""})"));

  std::string deploy = field(1, field(1, "d")) + field(2, intField(1, 0) + intField(5, 0));
  auto d = decodeKubernetesProtobuf(envelope("apps/v1", "Deployment", deploy));
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ((*d)["spec"], json::parse(R"({"replicas": 0})"));
}

TEST(ProtobufTest, TruncatedBodyIsBadRequest) {
  std::string body = envelope("v1", "Pod", field(1, field(1, "p")));
  body.resize(body.size() - 2);
  auto got = decodeKubernetesProtobuf(body);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), ErrorCode::BadRequest);
}

}  // namespace
}  // namespace skiff::master::api
