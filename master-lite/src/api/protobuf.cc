#include "skiff/master/api/protobuf.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include "skiff/common/base64.h"
#include "skiff/master/api/defaults.h"
#include "skiff/master/api/object_util.h"

namespace skiff::master::api {
namespace {

enum class ProtoType { String, Bytes, Bool, Int32, Int64, Double, Message, Map };

struct ProtoField {
  int number;
  const char* name;  // the JSON name; "" for a Go-embedded (inline) struct
  ProtoType type;
  const char* message;  // for Message
  bool repeated;
  ProtoType map_value;  // for Map (keys are strings)
  const char* map_value_message;
  // A scalar whose zero value Go's JSON form leaves out (non-pointer, omitempty): gogo-protobuf
  // writes it anyway (stdin: false), so the decoder drops it. A pointer field's zero is a value
  // the client set (storageClassName: "", replicas: 0) and is kept, as is a non-omitempty one.
  bool omit_empty;
};

struct ProtoMessage {
  const char* name;
  const ProtoField* fields;
  int count;
};

#include "proto/proto_schema.inc"

const ProtoMessage* findMessage(const std::string& name) {
  static const std::map<std::string, const ProtoMessage*> index = [] {
    std::map<std::string, const ProtoMessage*> m;
    for (const auto& msg : kMessages) m[msg.name] = &msg;
    return m;
  }();
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}

Error malformed(const std::string& why) {
  return Error(ErrorCode::BadRequest,
               "the body of the request could not be decoded as protobuf: " + why);
}

class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool done() const { return pos_ >= b_.size(); }
  Result<std::uint64_t> varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= b_.size()) return malformed("truncated varint");
      auto c = static_cast<unsigned char>(b_[pos_++]);
      v |= static_cast<std::uint64_t>(c & 0x7f) << shift;
      if (!(c & 0x80)) return v;
    }
    return malformed("varint too long");
  }
  Result<std::string_view> bytes() {
    SKIFF_ASSIGN_OR_RETURN(std::uint64_t n, varint());
    if (n > b_.size() - pos_) return malformed("truncated field");
    auto out = b_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  Result<std::uint64_t> fixed(int n) {
    if (pos_ + static_cast<std::size_t>(n) > b_.size()) return malformed("truncated fixed field");
    std::uint64_t v = 0;
    std::memcpy(&v, b_.data() + pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return v;
  }
  Result<void> skip(int wire) {
    switch (wire) {
      case 0:
        return varint().has_value() ? ok() : Result<void>(malformed("bad varint"));
      case 1:
        return fixed(8).has_value() ? ok() : Result<void>(malformed("bad fixed64"));
      case 2:
        return bytes().has_value() ? ok() : Result<void>(malformed("bad bytes"));
      case 5:
        return fixed(4).has_value() ? ok() : Result<void>(malformed("bad fixed32"));
      default:
        return malformed("unsupported wire type " + std::to_string(wire));
    }
  }

 private:
  std::string_view b_;
  std::size_t pos_ = 0;
};

Result<json> decodeMessage(const std::string& name, std::string_view data, int depth);

bool isZero(const json& v) {
  return (v.is_boolean() && !v.get<bool>()) || (v.is_number() && v == 0) ||
         (v.is_string() && v.get_ref<const std::string&>().empty());
}

Result<json> decodeScalar(ProtoType t, int wire, Reader& r) {
  switch (t) {
    case ProtoType::String: {
      if (wire != 2) return malformed("string with wire type " + std::to_string(wire));
      SKIFF_ASSIGN_OR_RETURN(auto s, r.bytes());
      return json(std::string(s));
    }
    case ProtoType::Bytes: {
      if (wire != 2) return malformed("bytes with wire type " + std::to_string(wire));
      SKIFF_ASSIGN_OR_RETURN(auto s, r.bytes());
      return json(base64Encode(std::string(s)));
    }
    case ProtoType::Bool: {
      SKIFF_ASSIGN_OR_RETURN(auto v, r.varint());
      return json(v != 0);
    }
    case ProtoType::Int32: {
      SKIFF_ASSIGN_OR_RETURN(auto v, r.varint());
      return json(static_cast<std::int32_t>(static_cast<std::int64_t>(v)));
    }
    case ProtoType::Int64: {
      SKIFF_ASSIGN_OR_RETURN(auto v, r.varint());
      return json(static_cast<std::int64_t>(v));
    }
    case ProtoType::Double: {
      SKIFF_ASSIGN_OR_RETURN(auto v, r.fixed(8));
      double d;
      std::memcpy(&d, &v, sizeof d);
      return json(d);
    }
    default:
      return malformed("not a scalar");
  }
}

// apimachinery's special messages have JSON forms of their own.
Result<json> decodeSpecial(const std::string& name, std::string_view data, int depth,
                           bool* handled) {
  *handled = true;
  if (name == "k8s.io.apimachinery.pkg.apis.meta.v1.Time" ||
      name == "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime") {
    Reader r(data);
    std::int64_t secs = 0, nanos = 0;
    while (!r.done()) {
      SKIFF_ASSIGN_OR_RETURN(auto tag, r.varint());
      if ((tag >> 3) <= 2 && (tag & 7) == 0) {
        SKIFF_ASSIGN_OR_RETURN(auto v, r.varint());
        ((tag >> 3) == 1 ? secs : nanos) = static_cast<std::int64_t>(v);
      } else {
        SKIFF_TRY(r.skip(static_cast<int>(tag & 7)));
      }
    }
    if (secs == 0 && nanos == 0) return json();
    // From the seconds themselves: a nanosecond time_point cannot hold the years Go can send
    // (a Lease's acquireTime of time.Time{}+2s is year 1), and Go writes the year in four
    // digits ("0001-01-01T00:00:02.000000Z").
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    if (::gmtime_r(&t, &tm) == nullptr) return malformed("time out of range");
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    std::string text(buf, static_cast<std::size_t>(n));
    // metav1.MicroTime's JSON form: RFC 3339 with exactly six fractional digits.
    if (name.ends_with("MicroTime")) {
      std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(nanos / 1000 % 1000000));
      text += buf;
    }
    return json(text + "Z");
  }
  if (name == "k8s.io.apimachinery.pkg.util.intstr.IntOrString") {
    SKIFF_ASSIGN_OR_RETURN(json v, decodeMessage(name + ".raw", data, depth));
    if (v.value("type", 0) == 1) return json(v.value("strVal", ""));
    return json(v.value("intVal", 0));
  }
  if (name == "k8s.io.apimachinery.pkg.api.resource.Quantity") {
    SKIFF_ASSIGN_OR_RETURN(json v, decodeMessage(name + ".raw", data, depth));
    return json(v.value("string", ""));
  }
  if (name == "k8s.io.apimachinery.pkg.runtime.RawExtension" ||
      name == "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1") {
    SKIFF_ASSIGN_OR_RETURN(json v, decodeMessage(name + ".raw", data, depth));
    return v;
  }
  *handled = false;
  return json();
}

Result<json> decodeMessage(const std::string& qualified, std::string_view data, int depth) {
  if (depth > 64) return malformed("nesting too deep");
  bool raw = qualified.size() > 4 && qualified.compare(qualified.size() - 4, 4, ".raw") == 0;
  std::string name = raw ? qualified.substr(0, qualified.size() - 4) : qualified;
  if (!raw) {
    bool handled = false;
    auto special = decodeSpecial(name, data, depth, &handled);
    if (handled) return special;
  }
  const ProtoMessage* msg = findMessage(name);
  if (!msg)
    return Error(ErrorCode::Unsupported, "protobuf message " + name + " is not known to skiff");
  json out = json::object();
  Reader r(data);
  while (!r.done()) {
    SKIFF_ASSIGN_OR_RETURN(auto tag, r.varint());
    int number = static_cast<int>(tag >> 3), wire = static_cast<int>(tag & 7);
    const ProtoField* f = nullptr;
    for (int i = 0; i < msg->count; ++i) {
      if (msg->fields[i].number == number) f = &msg->fields[i];
    }
    if (!f) {
      SKIFF_TRY(r.skip(wire));
      continue;
    }
    if (raw && (name == "k8s.io.apimachinery.pkg.runtime.RawExtension" ||
                name == "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1")) {
      SKIFF_ASSIGN_OR_RETURN(auto bytes, r.bytes());
      json v = json::parse(bytes, nullptr, false);
      if (v.is_discarded()) return malformed("embedded JSON");
      return v;
    }
    json value;
    if (f->type == ProtoType::Message) {
      if (wire != 2)
        return malformed(std::string(f->name) + ": message with wire type " + std::to_string(wire));
      SKIFF_ASSIGN_OR_RETURN(auto bytes, r.bytes());
      SKIFF_ASSIGN_OR_RETURN(value, decodeMessage(f->message, bytes, depth + 1));
      if (f->name[0] == '\0') {  // a Go-embedded struct: its fields belong to this object
        for (auto& [k, v] : value.items()) out[k] = std::move(v);
        continue;
      }
    } else if (f->type == ProtoType::Map) {
      SKIFF_ASSIGN_OR_RETURN(auto entry, r.bytes());
      Reader er(entry);
      std::string key;
      json v;
      while (!er.done()) {
        SKIFF_ASSIGN_OR_RETURN(auto etag, er.varint());
        int en = static_cast<int>(etag >> 3), ew = static_cast<int>(etag & 7);
        if (en == 1) {
          SKIFF_ASSIGN_OR_RETURN(auto k, er.bytes());
          key = std::string(k);
        } else if (en == 2 && f->map_value == ProtoType::Message) {
          SKIFF_ASSIGN_OR_RETURN(auto b, er.bytes());
          SKIFF_ASSIGN_OR_RETURN(v, decodeMessage(f->map_value_message, b, depth + 1));
        } else if (en == 2) {
          SKIFF_ASSIGN_OR_RETURN(v, decodeScalar(f->map_value, ew, er));
        } else {
          SKIFF_TRY(er.skip(ew));
        }
      }
      if (v.is_null())
        v = f->map_value == ProtoType::String || f->map_value == ProtoType::Bytes ? json("")
                                                                                  : json();
      if (!out.contains(f->name)) out[f->name] = json::object();
      out[f->name][key] = v;
      continue;
    } else if (f->repeated && wire == 2 && f->type != ProtoType::String &&
               f->type != ProtoType::Bytes) {
      // Packed repeated scalars.
      SKIFF_ASSIGN_OR_RETURN(auto packed, r.bytes());
      Reader pr(packed);
      if (!out.contains(f->name)) out[f->name] = json::array();
      while (!pr.done()) {
        SKIFF_ASSIGN_OR_RETURN(json item,
                               decodeScalar(f->type, f->type == ProtoType::Double ? 1 : 0, pr));
        out[f->name].push_back(item);
      }
      continue;
    } else {
      SKIFF_ASSIGN_OR_RETURN(value, decodeScalar(f->type, wire, r));
    }
    if (f->repeated) {
      if (!out.contains(f->name)) out[f->name] = json::array();
      out[f->name].push_back(std::move(value));
    } else if (!value.is_null() &&
               !(f->omit_empty && f->type != ProtoType::Message && isZero(value))) {
      out[f->name] = std::move(value);
    }
  }
  return out;
}

// The kinds every group-version carries from meta/v1 (metav1.AddToGroupVersion): a typed
// client sends DeleteOptions under its own group-version ("v1", "apps/v1").
bool isMetaKind(const std::string& kind) {
  return kind == "DeleteOptions" || kind == "CreateOptions" || kind == "UpdateOptions" ||
         kind == "PatchOptions" || kind == "GetOptions" || kind == "ListOptions";
}

std::string packageFor(const std::string& api_version) {
  std::string group = api_version.find('/') == std::string::npos
                          ? ""
                          : api_version.substr(0, api_version.find('/'));
  std::string version = api_version.substr(api_version.find('/') + 1);
  if (group.empty()) return "k8s.io.api.core." + version;
  auto dot = group.find('.');
  return "k8s.io.api." + group.substr(0, dot) + "." + version;
}

}  // namespace

Result<json> decodeKubernetesProtobuf(std::string_view body) {
  if (body.size() < 4 || body.substr(0, 4) != std::string_view("k8s\0", 4)) {
    return malformed("missing the k8s\\0 prefix");
  }
  Reader r(body.substr(4));
  std::string api_version, kind;
  std::string_view raw;
  while (!r.done()) {
    SKIFF_ASSIGN_OR_RETURN(auto tag, r.varint());
    int n = static_cast<int>(tag >> 3), w = static_cast<int>(tag & 7);
    if (n == 1 && w == 2) {  // TypeMeta
      SKIFF_ASSIGN_OR_RETURN(auto tm, r.bytes());
      Reader tr(tm);
      while (!tr.done()) {
        SKIFF_ASSIGN_OR_RETURN(auto t, tr.varint());
        if ((t & 7) != 2) {
          SKIFF_TRY(tr.skip(static_cast<int>(t & 7)));
          continue;
        }
        SKIFF_ASSIGN_OR_RETURN(auto s, tr.bytes());
        if ((t >> 3) == 1) api_version = std::string(s);
        if ((t >> 3) == 2) kind = std::string(s);
      }
    } else if (n == 2 && w == 2) {
      SKIFF_ASSIGN_OR_RETURN(raw, r.bytes());
    } else {
      SKIFF_TRY(r.skip(w));
    }
  }
  if (kind.empty() || api_version.empty()) return malformed("no apiVersion/kind");
  std::string message = (isMetaKind(kind) ? std::string("k8s.io.apimachinery.pkg.apis.meta.v1")
                                          : packageFor(api_version)) +
                        "." + kind;
  if (!findMessage(message)) {
    return Error(ErrorCode::Unsupported, "skiff cannot decode protobuf " + api_version + " " +
                                             kind + "; send application/json");
  }
  SKIFF_ASSIGN_OR_RETURN(json obj, decodeMessage(message, raw, 0));
  obj["apiVersion"] = api_version;
  obj["kind"] = kind;
  return obj;
}

}  // namespace skiff::master::api
