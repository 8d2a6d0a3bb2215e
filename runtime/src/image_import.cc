// Archive import (`docker save` and OCI image-layout archives, plain, gzip or zstd): the outer
// archive is unpacked into staging, its manifests resolved, and each image handed to install().
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "digest.h"
#include "image_store_impl.h"
#include "skiff/common/file.h"
#include "skiff/common/scope_exit.h"
#include "skiff/runtime/layer_unpack.h"
#include "skiff/runtime/tar_reader.h"

namespace skiff::runtime {

using json = nlohmann::json;
using namespace store_detail;

namespace {

// An archive being imported: its unpacked content (x), the staging blob dir, the images found.
struct ArchiveStage {
  std::string path, x, blobs;
  std::vector<StagedImage> todo;
};

Result<std::string> normalise(const std::string& n) {
  SKIFF_ASSIGN_OR_RETURN(ImageRef ref, parseImageRef(n));
  return ref.str();
}

Result<void> resolveManifest(ArchiveStage& a, Descriptor d, std::vector<std::string> names) {
  // An index inside the index: pick our platform.
  for (int depth = 0; depth < 4; ++depth) {
    if (!isValidDigest(d.digest))
      return Error(ErrorCode::Invalid, "bad manifest digest '" + d.digest + "'");
    std::string p = a.x + "/blobs/sha256/" + digestHex(d.digest);
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
    s.blob_dir = a.blobs;
    s.manifest_digest = d.digest;
    s.config = m.first;
    s.layers = m.second;
    s.names = std::move(names);
    // Move the blobs this image needs into the staging blob dir (by digest name).
    std::vector<std::string> need{d.digest, s.config.digest};
    for (const auto& l : s.layers) need.push_back(l.digest);
    for (const auto& dg : need) {
      std::string src = a.x + "/blobs/sha256/" + digestHex(dg);
      std::string dst = a.blobs + "/" + digestHex(dg);
      if (pathExists(src) && !pathExists(dst) && ::link(src.c_str(), dst.c_str()) != 0)
        return Error::fromErrno(errno, "stage blob " + dg);
    }
    a.todo.push_back(std::move(s));
    return ok();
  }
  return Error(ErrorCode::Invalid, "image index nested too deeply");
}

// OCI image layout: index.json names the manifests (and the images, by annotation).
Result<void> stageOciLayout(ArchiveStage& a) {
  SKIFF_ASSIGN_OR_RETURN(std::string text, readFile(a.x + "/index.json", kMaxJsonBlob));
  json idx = json::parse(text, nullptr, false);
  if (idx.is_discarded() || !idx.contains("manifests") || !idx["manifests"].is_array())
    return Error(ErrorCode::Invalid, "import '" + a.path + "': index.json has no manifests");
  for (const auto& m : idx["manifests"]) {
    SKIFF_ASSIGN_OR_RETURN(Descriptor d, parseDescriptor(m));
    std::vector<std::string> names;
    auto r = jsonTry("parse index.json", [&] {
      std::vector<std::string> n;
      if (m.contains("annotations")) {
        const auto& ann = m["annotations"];
        if (ann.contains("io.containerd.image.name"))
          n.push_back(ann["io.containerd.image.name"].get<std::string>());
        else if (ann.contains("org.opencontainers.image.ref.name")) {
          std::string ref = ann["org.opencontainers.image.ref.name"].get<std::string>();
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
    SKIFF_TRY(resolveManifest(a, d, names));
  }
  return ok();
}

// `docker save` (legacy layout): layers are plain tars named by path; digests are computed.
Result<void> stageDockerSave(ArchiveStage& a) {
  SKIFF_ASSIGN_OR_RETURN(std::string text, readFile(a.x + "/manifest.json", kMaxJsonBlob));
  json arr = json::parse(text, nullptr, false);
  if (arr.is_discarded() || !arr.is_array())
    return Error(ErrorCode::Invalid, "import '" + a.path + "': bad manifest.json");
  for (const auto& e : arr) {
    auto parsed = jsonTry("parse manifest.json", [&] {
      return std::make_tuple(e.at("Config").get<std::string>(), jsonStrings(e, "RepoTags"),
                             jsonStrings(e, "Layers"));
    });
    if (!parsed) return std::move(parsed).error();
    auto& [cfg, tags, layer_paths] = *parsed;
    auto stageFile = [&](const std::string& rel, Descriptor& d) -> Result<void> {
      if (rel.find("..") != std::string::npos || rel.empty() || rel[0] == '/')
        return Error(ErrorCode::Invalid,
                     "import '" + a.path + "': bad path '" + rel + "' in manifest.json");
      std::string src = a.x + "/" + rel;
      SKIFF_ASSIGN_OR_RETURN(d.digest, sha256File(src));
      struct stat sb {};
      if (::stat(src.c_str(), &sb) != 0) return Error::fromErrno(errno, "stat '" + rel + "'");
      d.size = static_cast<std::uint64_t>(sb.st_size);
      std::string dst = a.blobs + "/" + digestHex(d.digest);
      if (!pathExists(dst) && ::link(src.c_str(), dst.c_str()) != 0)
        return Error::fromErrno(errno, "stage '" + rel + "'");
      return ok();
    };
    StagedImage s;
    s.blob_dir = a.blobs;
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
    SKIFF_TRY(writeFileAtomic(a.blobs + "/" + digestHex(s.manifest_digest), mtext, 0600));
    for (const auto& t : tags) {
      SKIFF_ASSIGN_OR_RETURN(std::string nn, normalise(t));
      s.names.push_back(nn);
    }
    a.todo.push_back(std::move(s));
  }
  return ok();
}

}  // namespace

Result<std::vector<Image>> ImageStoreImpl::importArchive(const std::string& path,
                                                         const std::string& name_override) {
  SKIFF_ASSIGN_OR_RETURN(std::string stage, makeTempDir("import"));
  ScopeExit cleanup([&] { (void)removeTree(stage); });
  ArchiveStage a{path, stage + "/archive", stage + "/blobs", {}};
  SKIFF_TRY(mkdirs(a.x));
  SKIFF_TRY(mkdirs(a.blobs));
  {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return Error::fromErrno(errno, "open archive '" + path + "'");
    std::unique_ptr<ByteReader> in = fdReader(fd.get());
    SKIFF_ASSIGN_OR_RETURN(in, decompressing(std::move(in), sniffCompression(fd.get())));
    TarReader tar(*in);
    // The outer archive goes through the same confined unpacker as layers.
    auto r = unpackLayer(tar, a.x, UnpackOptions{.allow_devices = false, .apply_ownership = false});
    if (!r) return std::move(r).error().wrap("import '" + path + "'");
  }
  if (pathExists(a.x + "/index.json")) {
    SKIFF_TRY(stageOciLayout(a));
  } else if (pathExists(a.x + "/manifest.json")) {
    SKIFF_TRY(stageDockerSave(a));
  } else {
    return Error(
        ErrorCode::Invalid,
        "import '" + path +
            "': neither an OCI layout (index.json) nor a docker save archive (manifest.json)");
  }
  if (a.todo.empty())
    return Error(ErrorCode::Invalid, "import '" + path + "': no images in the archive");
  if (!name_override.empty()) {
    if (a.todo.size() != 1)
      return Error(ErrorCode::Invalid,
                   "import '" + path + "': a name needs a single-image archive");
    SKIFF_ASSIGN_OR_RETURN(std::string nn, normalise(name_override));
    a.todo[0].names = {nn};
  }
  std::vector<Image> out;
  for (const auto& s : a.todo) {
    auto r = install(s);
    if (!r) return std::move(r).error().wrap("import '" + path + "'");
    // The names this archive gave (the record may carry others, from earlier imports or pulls).
    r->names = s.names;
    out.push_back(*r);
  }
  return out;
}

}  // namespace skiff::runtime
