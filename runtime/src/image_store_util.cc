// The image store's shared helpers: manifest and index parsing, compression sniffing, paths.
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>

#include "digest.h"
#include "image_store_impl.h"

namespace skiff::runtime {

using json = nlohmann::json;

namespace store_detail {

Result<void> mkdirs(const std::string& path, mode_t mode) {
  std::string cur;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
      return Error::fromErrno(errno, "create directory '" + cur + "'");
  }
  return ok();
}

bool pathExists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

std::vector<std::string> jsonStrings(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_array())
    for (const auto& v : j[key]) out.push_back(v.get<std::string>());
  return out;
}

Compression sniffCompression(int fd) {
  unsigned char m[4] = {0, 0, 0, 0};
  ssize_t n = ::pread(fd, m, 4, 0);
  if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b) return Compression::Gzip;
  if (n == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
    return Compression::Zstd;
  return Compression::None;
}

Result<std::unique_ptr<ByteReader>> decompressing(std::unique_ptr<ByteReader> in, Compression c) {
  switch (c) {
    case Compression::None:
      return in;
    case Compression::Gzip:
      return gzipReader(std::move(in));
    case Compression::Zstd:
      return zstdReader(std::move(in));
  }
  return in;
}

}  // namespace store_detail

using namespace store_detail;

std::string nodeArchitecture() {
  struct utsname u {};
  ::uname(&u);
  std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  if (m.rfind("armv7", 0) == 0) return "arm";
  if (m == "i686" || m == "i386") return "386";
  return m;
}

Result<Descriptor> parseDescriptor(const json& j) {
  auto d = jsonTry("parse descriptor", [&] {
    Descriptor d;
    d.media_type = j.value("mediaType", "");
    d.digest = j.at("digest").get<std::string>();
    d.size = j.value("size", std::uint64_t{0});
    return d;
  });
  if (d && !isValidDigest(d->digest))
    return Error(ErrorCode::Invalid, "parse descriptor: bad digest '" + d->digest + "'");
  return d;
}

Result<std::pair<Descriptor, std::vector<Descriptor>>> parseManifest(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Error(ErrorCode::Invalid, "parse manifest: not a JSON object");
  if (j.value("schemaVersion", 0) != 2)
    return Error(ErrorCode::Unsupported, "parse manifest: only schemaVersion 2 is supported");
  if (!j.contains("config") || !j.contains("layers") || !j["layers"].is_array())
    return Error(ErrorCode::Invalid, "parse manifest: missing config or layers");
  SKIFF_ASSIGN_OR_RETURN(Descriptor config, parseDescriptor(j["config"]));
  std::vector<Descriptor> layers;
  for (const auto& l : j["layers"]) {
    SKIFF_ASSIGN_OR_RETURN(Descriptor d, parseDescriptor(l));
    if (!isValidDigest(d.digest))
      return Error(ErrorCode::Invalid, "parse manifest: bad layer digest '" + d.digest + "'");
    layers.push_back(d);
  }
  if (!isValidDigest(config.digest))
    return Error(ErrorCode::Invalid, "parse manifest: bad config digest");
  return std::make_pair(config, layers);
}

Result<Descriptor> selectPlatform(const std::string& text, const std::string& os,
                                  const std::string& arch) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.contains("manifests") || !j["manifests"].is_array())
    return Error(ErrorCode::Invalid, "parse image index: no manifests");
  for (const auto& m : j["manifests"]) {
    if (!m.contains("platform")) continue;
    auto r = jsonTry("parse image index", [&] {
      return m["platform"].value("os", "") == os && m["platform"].value("architecture", "") == arch;
    });
    if (r && *r) return parseDescriptor(m);
  }
  // An index without platforms (single-image OCI archives) names its only manifest.
  if (j["manifests"].size() == 1 && !j["manifests"][0].contains("platform"))
    return parseDescriptor(j["manifests"][0]);
  return Error(ErrorCode::NotFound, "no manifest for platform " + os + "/" + arch);
}

}  // namespace skiff::runtime
