#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <random>
#include <set>

#include "digest.h"
#include "image_store_impl.h"
#include "skiff/common/file.h"
#include "skiff/common/scope_exit.h"
#include "skiff/common/unique_fd.h"
#include "skiff/runtime/layer_unpack.h"
#include "skiff/runtime/tar_reader.h"

namespace skiff::runtime {
namespace {

using json = nlohmann::json;

constexpr std::uint64_t kMaxJsonBlob = 4u << 20;  // manifests and configs

std::int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<void> mkdirs(const std::string& path, mode_t mode = 0700) {
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

bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

// nlohmann throws on type mismatches; confine that to this adapter (STYLE.md §4).
template <typename F>
auto jsonTry(std::string_view what, F&& f) -> Result<decltype(f())> {
  try {
    return f();
  } catch (const std::exception& e) {
    return Error(ErrorCode::Invalid, std::string(what) + ": " + e.what());
  }
}

std::vector<std::string> strings(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_array())
    for (const auto& v : j[key]) out.push_back(v.get<std::string>());
  return out;
}

json imageToJson(const Image& im) {
  return json{{"id", im.id},
              {"names", im.names},
              {"manifestDigest", im.manifest_digest},
              {"diffIDs", im.diff_ids},
              {"size", im.size},
              {"lastUsed", im.last_used_ns},
              {"created", im.created_at_ns},
              {"config",
               {{"Entrypoint", im.config.entrypoint},
                {"Cmd", im.config.cmd},
                {"Env", im.config.env},
                {"WorkingDir", im.config.working_dir},
                {"User", im.config.user},
                {"os", im.config.os},
                {"architecture", im.config.architecture}}}};
}

Image imageFromJson(const json& j) {
  Image im;
  im.id = j.at("id").get<std::string>();
  im.names = strings(j, "names");
  im.manifest_digest = j.value("manifestDigest", "");
  im.diff_ids = strings(j, "diffIDs");
  im.size = j.value("size", std::uint64_t{0});
  im.last_used_ns = j.value("lastUsed", std::int64_t{0});
  im.created_at_ns = j.value("created", std::int64_t{0});
  const auto& c = j.at("config");
  im.config.entrypoint = strings(c, "Entrypoint");
  im.config.cmd = strings(c, "Cmd");
  im.config.env = strings(c, "Env");
  im.config.working_dir = c.value("WorkingDir", "");
  im.config.user = c.value("User", "");
  im.config.os = c.value("os", "linux");
  im.config.architecture = c.value("architecture", "");
  return im;
}

Result<std::pair<ImageConfig, std::vector<std::string>>> parseImageConfig(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Error(ErrorCode::Invalid, "parse image config: not a JSON object");
  return jsonTry("parse image config", [&] {
    ImageConfig c;
    c.os = j.value("os", "linux");
    c.architecture = j.value("architecture", "");
    if (j.contains("config") && j["config"].is_object()) {
      const auto& cc = j["config"];
      c.entrypoint = strings(cc, "Entrypoint");
      c.cmd = strings(cc, "Cmd");
      c.env = strings(cc, "Env");
      c.working_dir = cc.value("WorkingDir", "");
      c.user = cc.value("User", "");
    }
    std::vector<std::string> diff_ids = strings(j.at("rootfs"), "diff_ids");
    return std::make_pair(c, diff_ids);
  });
}

bool isGzipFile(int fd) {
  unsigned char m[2] = {0, 0};
  ssize_t n = ::pread(fd, m, 2, 0);
  return n == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

}  // namespace

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

Result<void> ImageStoreImpl::open() {
  SKIFF_TRY(mkdirs(root_ + "/blobs/sha256"));
  SKIFF_TRY(mkdirs(root_ + "/layers/sha256"));
  // Debris of an interrupted import or pull: never half-installed, just staging.
  (void)removeTree(root_ + "/tmp");
  SKIFF_TRY(mkdirs(root_ + "/tmp"));
  std::string db = root_ + "/images.json";
  if (!exists(db)) return ok();
  SKIFF_ASSIGN_OR_RETURN(std::string text, readFile(db));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array())
    return Error(ErrorCode::Invalid, "parse '" + db + "': not a JSON array");
  for (const auto& e : j) {
    auto im = jsonTry("parse '" + db + "'", [&] { return imageFromJson(e); });
    if (!im) return std::move(im).error();
    images_[im->id] = *im;
  }
  return ok();
}

std::string ImageStoreImpl::blobPath(const std::string& d) const {
  return root_ + "/blobs/sha256/" + digestHex(d);
}
std::string ImageStoreImpl::layerPath(const std::string& d) const {
  return root_ + "/layers/sha256/" + digestHex(d);
}

Result<std::string> ImageStoreImpl::makeTempDir(const std::string& prefix) {
  std::string tmpl = root_ + "/tmp/" + prefix + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    return Error::fromErrno(errno, "create temp dir under '" + root_ + "/tmp'");
  return tmpl;
}

Result<void> ImageStoreImpl::save() {
  json arr = json::array();
  for (const auto& [id, im] : images_) arr.push_back(imageToJson(im));
  return writeFileAtomic(root_ + "/images.json", arr.dump(1), 0600);
}

Result<Image> ImageStoreImpl::install(const StagedImage& st) {
  auto staged = [&](const std::string& d) { return st.blob_dir + "/" + digestHex(d); };
  // 1. Verify every blob we are about to keep.
  auto verify = [&](const std::string& d) -> Result<void> {
    if (!isValidDigest(d)) return Error(ErrorCode::Invalid, "bad digest '" + d + "'");
    if (!exists(staged(d))) {
      if (exists(blobPath(d))) return ok();
      return Error(ErrorCode::NotFound, "blob " + d + " missing from the image");
    }
    SKIFF_ASSIGN_OR_RETURN(std::string got, sha256File(staged(d)));
    if (got != d)
      return Error(ErrorCode::Invalid, "blob digest mismatch: expected " + d + ", got " + got);
    return ok();
  };
  SKIFF_TRY(verify(st.manifest_digest));
  SKIFF_TRY(verify(st.config.digest));
  for (const auto& l : st.layers) SKIFF_TRY(verify(l.digest));

  std::string config_path =
      exists(staged(st.config.digest)) ? staged(st.config.digest) : blobPath(st.config.digest);
  SKIFF_ASSIGN_OR_RETURN(std::string config_text, readFile(config_path, kMaxJsonBlob));
  SKIFF_ASSIGN_OR_RETURN(auto parsed, parseImageConfig(config_text));
  auto& [config, diff_ids] = parsed;
  if (diff_ids.size() != st.layers.size())
    return Error(ErrorCode::Invalid, "image config lists " + std::to_string(diff_ids.size()) +
                                         " diff ids for " + std::to_string(st.layers.size()) +
                                         " layers");

  // 2. Unpack missing layers into staging, checking each diff id on the decompressed stream.
  std::vector<std::pair<std::string, std::string>> new_layers;  // staged dir -> final dir
  ScopeExit drop_layers([&] {
    for (auto& [tmp, fin] : new_layers) (void)removeTree(tmp);
  });
  std::set<std::string> seen;
  for (std::size_t i = 0; i < st.layers.size(); ++i) {
    const std::string& diff_id = diff_ids[i];
    if (!isValidDigest(diff_id)) return Error(ErrorCode::Invalid, "bad diff id '" + diff_id + "'");
    if (exists(layerPath(diff_id)) || seen.count(diff_id)) continue;
    seen.insert(diff_id);
    SKIFF_ASSIGN_OR_RETURN(std::string dir, makeTempDir("layer"));
    new_layers.emplace_back(dir, layerPath(diff_id));
    std::string blob = exists(staged(st.layers[i].digest)) ? staged(st.layers[i].digest)
                                                           : blobPath(st.layers[i].digest);
    UniqueFd fd(::open(blob.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return Error::fromErrno(errno, "open layer blob '" + blob + "'");
    std::unique_ptr<ByteReader> in = fdReader(fd.get());
    if (isGzipFile(fd.get()))
      in = gzipReader(std::move(in));
    else if (st.layers[i].media_type.find("zstd") != std::string::npos)
      return Error(ErrorCode::Unsupported,
                   "layer " + st.layers[i].digest + ": zstd layers are not supported");
    Sha256 h;
    auto hashed =
        observingReader(std::move(in), [&h](const char* p, std::size_t n) { h.update(p, n); });
    TarReader tar(*hashed);
    auto r = unpackLayer(tar, dir);
    if (!r) return std::move(r).error().wrap("unpack layer " + st.layers[i].digest);
    // Drain the trailing blocks so the digest covers the whole stream.
    char buf[4096];
    while (true) {
      SKIFF_ASSIGN_OR_RETURN(std::size_t n, hashed->read(buf, sizeof buf));
      if (n == 0) break;
    }
    std::string got = h.digest();
    if (got != diff_id)
      return Error(ErrorCode::Invalid, "layer " + st.layers[i].digest +
                                           ": diff id mismatch: expected " + diff_id + ", got " +
                                           got);
  }

  // 3. Commit: blobs, layers, then the record.
  std::lock_guard lk(mu_);
  auto commitBlob = [&](const std::string& d) -> Result<void> {
    if (exists(blobPath(d)) || !exists(staged(d))) return ok();
    if (::rename(staged(d).c_str(), blobPath(d).c_str()) != 0)
      return Error::fromErrno(errno, "store blob " + d);
    return ok();
  };
  SKIFF_TRY(commitBlob(st.manifest_digest));
  SKIFF_TRY(commitBlob(st.config.digest));
  for (const auto& l : st.layers) SKIFF_TRY(commitBlob(l.digest));
  for (auto& [tmp, fin] : new_layers) {
    if (exists(fin)) continue;  // a concurrent import won
    if (::rename(tmp.c_str(), fin.c_str()) != 0)
      return Error::fromErrno(errno, "store layer '" + fin + "'");
  }
  Image im;
  im.id = st.config.digest;
  if (auto it = images_.find(im.id); it != images_.end()) im = it->second;
  im.manifest_digest = st.manifest_digest;
  im.diff_ids = diff_ids;
  im.config = config;
  im.size = 0;
  for (const auto& l : st.layers) {
    struct stat sb {};
    if (::stat(blobPath(l.digest).c_str(), &sb) == 0)
      im.size += static_cast<std::uint64_t>(sb.st_size);
  }
  if (im.created_at_ns == 0) im.created_at_ns = nowNs();
  im.last_used_ns = nowNs();
  for (const auto& n : st.names) {
    // A name moves to the new image (docker tag semantics).
    for (auto& [id, other] : images_) {
      if (id == im.id) continue;
      other.names.erase(std::remove(other.names.begin(), other.names.end(), n), other.names.end());
    }
    if (std::find(im.names.begin(), im.names.end(), n) == im.names.end()) im.names.push_back(n);
  }
  images_[im.id] = im;
  SKIFF_TRY(save());
  return im;
}

Result<std::vector<Image>> ImageStoreImpl::importArchive(const std::string& path,
                                                         const std::string& name_override) {
  SKIFF_ASSIGN_OR_RETURN(std::string stage, makeTempDir("import"));
  ScopeExit cleanup([&] { (void)removeTree(stage); });
  std::string x = stage + "/archive";
  std::string blobs = stage + "/blobs";
  SKIFF_TRY(mkdirs(x));
  SKIFF_TRY(mkdirs(blobs));
  {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return Error::fromErrno(errno, "open archive '" + path + "'");
    std::unique_ptr<ByteReader> in = fdReader(fd.get());
    if (isGzipFile(fd.get())) in = gzipReader(std::move(in));
    TarReader tar(*in);
    // The outer archive goes through the same confined unpacker as layers.
    auto r = unpackLayer(tar, x, UnpackOptions{.allow_devices = false, .apply_ownership = false});
    if (!r) return std::move(r).error().wrap("import '" + path + "'");
  }
  std::vector<StagedImage> todo;
  auto normalise = [](const std::string& n) -> Result<std::string> {
    SKIFF_ASSIGN_OR_RETURN(ImageRef ref, parseImageRef(n));
    return ref.str();
  };
  auto resolveManifest = [&](Descriptor d, std::vector<std::string> names) -> Result<void> {
    // An index inside the index: pick our platform.
    for (int depth = 0; depth < 4; ++depth) {
      if (!isValidDigest(d.digest))
        return Error(ErrorCode::Invalid, "bad manifest digest '" + d.digest + "'");
      std::string p = x + "/blobs/sha256/" + digestHex(d.digest);
      SKIFF_ASSIGN_OR_RETURN(std::string text, readFile(p, kMaxJsonBlob));
      if (sha256Digest(text) != d.digest)
        return Error(ErrorCode::Invalid, "blob digest mismatch for manifest " + d.digest);
      json j = json::parse(text, nullptr, false);
      if (j.is_object() && j.contains("manifests")) {
        SKIFF_ASSIGN_OR_RETURN(d, selectPlatform(text, "linux", nodeArchitecture()));
        continue;
      }
      SKIFF_ASSIGN_OR_RETURN(auto m, parseManifest(text));
      StagedImage s;
      s.blob_dir = blobs;
      s.manifest_digest = d.digest;
      s.config = m.first;
      s.layers = m.second;
      s.names = std::move(names);
      // Move the blobs this image needs into the staging blob dir (by digest name).
      std::vector<std::string> need{d.digest, s.config.digest};
      for (const auto& l : s.layers) need.push_back(l.digest);
      for (const auto& dg : need) {
        std::string src = x + "/blobs/sha256/" + digestHex(dg);
        std::string dst = blobs + "/" + digestHex(dg);
        if (exists(src) && !exists(dst) && ::link(src.c_str(), dst.c_str()) != 0)
          return Error::fromErrno(errno, "stage blob " + dg);
      }
      todo.push_back(std::move(s));
      return ok();
    }
    return Error(ErrorCode::Invalid, "image index nested too deeply");
  };

  if (exists(x + "/index.json")) {
    SKIFF_ASSIGN_OR_RETURN(std::string text, readFile(x + "/index.json", kMaxJsonBlob));
    json idx = json::parse(text, nullptr, false);
    if (idx.is_discarded() || !idx.contains("manifests") || !idx["manifests"].is_array())
      return Error(ErrorCode::Invalid, "import '" + path + "': index.json has no manifests");
    for (const auto& m : idx["manifests"]) {
      SKIFF_ASSIGN_OR_RETURN(Descriptor d, parseDescriptor(m));
      std::vector<std::string> names;
      auto r = jsonTry("parse index.json", [&] {
        std::vector<std::string> n;
        if (m.contains("annotations")) {
          const auto& a = m["annotations"];
          if (a.contains("io.containerd.image.name"))
            n.push_back(a["io.containerd.image.name"].get<std::string>());
          else if (a.contains("org.opencontainers.image.ref.name")) {
            std::string ref = a["org.opencontainers.image.ref.name"].get<std::string>();
            // A bare tag ("latest") names nothing on its own.
            if (ref.find('/') != std::string::npos || ref.find(':') != std::string::npos)
              n.push_back(ref);
          }
        }
        return n;
      });
      if (!r) return std::move(r).error();
      for (const auto& n : *r) {
        SKIFF_ASSIGN_OR_RETURN(std::string nn, normalise(n));
        names.push_back(nn);
      }
      SKIFF_TRY(resolveManifest(d, names));
    }
  } else if (exists(x + "/manifest.json")) {
    // docker save (legacy layout): layers are plain tars named by path; digests are computed.
    SKIFF_ASSIGN_OR_RETURN(std::string text, readFile(x + "/manifest.json", kMaxJsonBlob));
    json arr = json::parse(text, nullptr, false);
    if (arr.is_discarded() || !arr.is_array())
      return Error(ErrorCode::Invalid, "import '" + path + "': bad manifest.json");
    for (const auto& e : arr) {
      auto parsed = jsonTry("parse manifest.json", [&] {
        return std::make_tuple(e.at("Config").get<std::string>(), strings(e, "RepoTags"),
                               strings(e, "Layers"));
      });
      if (!parsed) return std::move(parsed).error();
      auto& [cfg, tags, layer_paths] = *parsed;
      auto stageFile = [&](const std::string& rel, Descriptor& d) -> Result<void> {
        if (rel.find("..") != std::string::npos || rel.empty() || rel[0] == '/')
          return Error(ErrorCode::Invalid,
                       "import '" + path + "': bad path '" + rel + "' in manifest.json");
        std::string src = x + "/" + rel;
        SKIFF_ASSIGN_OR_RETURN(d.digest, sha256File(src));
        struct stat sb {};
        if (::stat(src.c_str(), &sb) != 0) return Error::fromErrno(errno, "stat '" + rel + "'");
        d.size = static_cast<std::uint64_t>(sb.st_size);
        std::string dst = blobs + "/" + digestHex(d.digest);
        if (!exists(dst) && ::link(src.c_str(), dst.c_str()) != 0)
          return Error::fromErrno(errno, "stage '" + rel + "'");
        return ok();
      };
      StagedImage s;
      s.blob_dir = blobs;
      s.config.media_type = "application/vnd.oci.image.config.v1+json";
      SKIFF_TRY(stageFile(cfg, s.config));
      for (const auto& lp : layer_paths) {
        Descriptor d;
        SKIFF_TRY(stageFile(lp, d));
        d.media_type = "application/vnd.oci.image.layer.v1.tar";
        s.layers.push_back(d);
      }
      json man{{"schemaVersion", 2},
               {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
               {"config",
                {{"mediaType", s.config.media_type},
                 {"digest", s.config.digest},
                 {"size", s.config.size}}},
               {"layers", json::array()}};
      for (const auto& l : s.layers)
        man["layers"].push_back(
            {{"mediaType", l.media_type}, {"digest", l.digest}, {"size", l.size}});
      std::string mtext = man.dump();
      s.manifest_digest = sha256Digest(mtext);
      SKIFF_TRY(writeFileAtomic(blobs + "/" + digestHex(s.manifest_digest), mtext, 0600));
      for (const auto& t : tags) {
        SKIFF_ASSIGN_OR_RETURN(std::string nn, normalise(t));
        s.names.push_back(nn);
      }
      todo.push_back(std::move(s));
    }
  } else {
    return Error(
        ErrorCode::Invalid,
        "import '" + path +
            "': neither an OCI layout (index.json) nor a docker save archive (manifest.json)");
  }
  if (todo.empty())
    return Error(ErrorCode::Invalid, "import '" + path + "': no images in the archive");
  if (!name_override.empty()) {
    if (todo.size() != 1)
      return Error(ErrorCode::Invalid,
                   "import '" + path + "': a name needs a single-image archive");
    SKIFF_ASSIGN_OR_RETURN(std::string nn, normalise(name_override));
    todo[0].names = {nn};
  }
  std::vector<Image> out;
  for (const auto& s : todo) {
    auto r = install(s);
    if (!r) return std::move(r).error().wrap("import '" + path + "'");
    out.push_back(*r);
  }
  return out;
}

Result<Image> ImageStoreImpl::pull(const std::string& ref_text, const RegistryOptions& opts) {
  SKIFF_ASSIGN_OR_RETURN(ImageRef ref, parseImageRef(ref_text));
  SKIFF_ASSIGN_OR_RETURN(std::string stage, makeTempDir("pull"));
  ScopeExit cleanup([&] { (void)removeTree(stage); });
  auto staged = fetchFromRegistry(ref, opts, stage);
  if (!staged) return std::move(staged).error().wrap("pull '" + ref.str() + "'");
  if (ref.tag.empty())
    staged->names = {ref.str()};
  else
    staged->names = {ref.name() + ":" + ref.tag};
  auto r = install(*staged);
  if (!r) return std::move(r).error().wrap("pull '" + ref.str() + "'");
  return r;
}

Result<Image> ImageStoreImpl::findLocked(const std::string& q) {
  if (q.empty()) return Error(ErrorCode::Invalid, "empty image reference");
  std::string norm;
  if (auto r = parseImageRef(q)) norm = r->str();
  std::string as_id = q.rfind("sha256:", 0) == 0 ? q : "sha256:" + q;
  const Image* prefix_hit = nullptr;
  int prefix_hits = 0;
  for (const auto& [id, im] : images_) {
    if (id == q || id == as_id) return im;
    for (const auto& n : im.names) {
      if (n == norm || n == q) return im;
    }
    // name@sha256:... matches by manifest digest.
    if (auto r = parseImageRef(q); r && !r->digest.empty() && r->digest == im.manifest_digest) {
      for (const auto& n : im.names)
        if (n.rfind(r->name(), 0) == 0) return im;
    }
    if (q.size() >= 4 && as_id.size() >= 11 && id.rfind(as_id, 0) == 0) {
      prefix_hit = &im;
      ++prefix_hits;
    }
  }
  if (prefix_hits == 1) return *prefix_hit;
  return Error(ErrorCode::NotFound, "image '" + q + "' not found");
}

Result<Image> ImageStoreImpl::get(const std::string& q) {
  std::lock_guard lk(mu_);
  return findLocked(q);
}

Result<std::vector<Image>> ImageStoreImpl::list() {
  std::lock_guard lk(mu_);
  std::vector<Image> out;
  for (const auto& [id, im] : images_) out.push_back(im);
  return out;
}

void ImageStoreImpl::removeImageLocked(const std::string& id) {
  auto it = images_.find(id);
  if (it == images_.end()) return;
  Image gone = it->second;
  images_.erase(it);
  std::set<std::string> blobs_used, layers_used;
  for (const auto& [oid, im] : images_) {
    blobs_used.insert(im.id);
    blobs_used.insert(im.manifest_digest);
    for (const auto& d : im.diff_ids) layers_used.insert(d);
    if (auto t = readFile(blobPath(im.manifest_digest), kMaxJsonBlob)) {
      if (auto m = parseManifest(*t))
        for (const auto& l : m->second) blobs_used.insert(l.digest);
    }
  }
  std::vector<std::string> blobs{gone.id, gone.manifest_digest};
  if (auto t = readFile(blobPath(gone.manifest_digest), kMaxJsonBlob)) {
    if (auto m = parseManifest(*t))
      for (const auto& l : m->second) blobs.push_back(l.digest);
  }
  for (const auto& b : blobs)
    if (!blobs_used.count(b)) ::unlink(blobPath(b).c_str());
  for (const auto& d : gone.diff_ids)
    if (!layers_used.count(d)) (void)removeTree(layerPath(d));
}

Result<bool> ImageStoreImpl::remove(const std::string& q) {
  std::lock_guard lk(mu_);
  auto found = findLocked(q);
  if (!found) {
    if (found.error().is(ErrorCode::NotFound)) return false;
    return std::move(found).error();
  }
  Image& im = images_[found->id];
  std::string norm;
  if (auto r = parseImageRef(q)) norm = r->str();
  auto name_it = std::find(im.names.begin(), im.names.end(), norm);
  bool by_name = name_it != im.names.end();
  if (by_name && im.names.size() > 1) {
    im.names.erase(name_it);
    SKIFF_TRY(save());
    return true;
  }
  if (pins_[im.id] > 0)
    return Error(ErrorCode::Conflict, "remove image '" + q + "': in use by " +
                                          std::to_string(pins_[im.id]) + " container(s)");
  removeImageLocked(im.id);
  SKIFF_TRY(save());
  return true;
}

Result<std::vector<std::string>> ImageStoreImpl::layerDirs(const Image& image) {
  std::vector<std::string> out;
  for (auto it = image.diff_ids.rbegin(); it != image.diff_ids.rend(); ++it) {
    std::string p = layerPath(*it);
    if (!exists(p))
      return Error(ErrorCode::NotFound, "layer " + *it + " of image " + image.id + " is missing");
    out.push_back(p);
  }
  return out;
}

void ImageStoreImpl::markUsed(const std::string& id, int delta) {
  std::lock_guard lk(mu_);
  pins_[id] += delta;
  if (pins_[id] <= 0) pins_.erase(id);
  // Last-used only orders GC; it is persisted with the next save, not on every container start.
  if (auto it = images_.find(id); it != images_.end() && delta > 0)
    it->second.last_used_ns = nowNs();
}

Result<ImageGcResult> ImageStoreImpl::garbageCollect(const ImageGcPolicy& policy,
                                                     const DiskUsageFn& usage_fn,
                                                     std::chrono::system_clock::time_point now) {
  if (policy.low_threshold_percent > policy.high_threshold_percent ||
      policy.high_threshold_percent > 100 || policy.low_threshold_percent < 0)
    return Error(ErrorCode::Invalid, "image GC: thresholds must satisfy 0 <= low <= high <= 100");
  SKIFF_ASSIGN_OR_RETURN(DiskUsage du, usage_fn());
  ImageGcResult res;
  if (du.capacity_bytes == 0) return res;
  std::uint64_t used = du.capacity_bytes - std::min(du.available_bytes, du.capacity_bytes);
  // kubelet: usagePercent = 100 - available*100/capacity; act when >= high.
  int usage_percent = static_cast<int>(100 - du.available_bytes * 100 / du.capacity_bytes);
  if (usage_percent < policy.high_threshold_percent) return res;
  std::uint64_t target =
      du.capacity_bytes * static_cast<std::uint64_t>(policy.low_threshold_percent) / 100;
  std::uint64_t to_free = used > target ? used - target : 0;
  res.wanted_bytes = to_free;

  std::lock_guard lk(mu_);
  std::vector<Image> candidates;
  std::int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  for (const auto& [id, im] : images_) {
    if (pins_.count(id)) continue;
    if (now_ns - im.created_at_ns <
        std::chrono::duration_cast<std::chrono::nanoseconds>(policy.min_age).count())
      continue;
    candidates.push_back(im);
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const Image& a, const Image& b) { return a.last_used_ns < b.last_used_ns; });
  for (const auto& im : candidates) {
    if (res.freed_bytes >= to_free) break;
    removeImageLocked(im.id);
    res.removed.push_back(im.id);
    res.freed_bytes += im.size;
  }
  if (!res.removed.empty()) SKIFF_TRY(save());
  return res;
}

DiskUsageFn statvfsDiskUsage(std::string path) {
  return [path = std::move(path)]() -> Result<DiskUsage> {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0) return Error::fromErrno(errno, "statvfs '" + path + "'");
    return DiskUsage{static_cast<std::uint64_t>(st.f_blocks) * st.f_frsize,
                     static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize};
  };
}

Result<bool> importIfMissing(ImageStore& store, const std::string& archive,
                             const std::string& ref) {
  if (store.get(ref)) return false;
  SKIFF_ASSIGN_OR_RETURN(auto imported, store.importArchive(archive));
  (void)imported;
  if (!store.get(ref))
    return Error(ErrorCode::NotFound, "archive '" + archive + "' does not contain '" + ref + "'");
  return true;
}

std::string bundledBusyboxArchive() {
  if (const char* env = std::getenv("SKIFF_BUSYBOX_IMAGE"); env && *env) return env;
  for (const char* p :
       {SKIFF_INSTALL_PREFIX "/share/skiff/images/busybox-oci.tar", SKIFF_BUILD_BUSYBOX_IMAGE})
    if (exists(p)) return p;
  return "";
}

Result<ImageStorePtr> openImageStore(const std::string& root) {
  auto s = std::make_unique<ImageStoreImpl>(root);
  SKIFF_TRY(s->open());
  return ImageStorePtr(std::move(s));
}

}  // namespace skiff::runtime
