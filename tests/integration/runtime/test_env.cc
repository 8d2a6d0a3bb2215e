#include "test_env.h"

#include <openssl/evp.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace skiff::runtime::testing {

namespace fs = std::filesystem;

bool isRoot() { return ::geteuid() == 0; }

std::vector<std::string> mountsUnder(const std::string& prefix) {
  std::ifstream in("/proc/self/mountinfo");
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::string id, parent, dev, root, mp;
    ls >> id >> parent >> dev >> root >> mp;
    if (mp.rfind(prefix, 0) == 0) out.push_back(mp);
  }
  return out;
}

int unmountUnder(const std::string& prefix) {
  auto m = mountsUnder(prefix);
  std::sort(m.begin(), m.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  int n = 0;
  for (const auto& p : m)
    if (::umount2(p.c_str(), MNT_DETACH) == 0) ++n;
  return n;
}

void removeCgroupTree(const std::string& rel) {
  std::error_code ec;
  for (const auto& h : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    fs::path top = h.path() / rel;
    if (!fs::exists(top, ec)) continue;
    std::vector<fs::path> dirs;
    for (auto it = fs::recursive_directory_iterator(top, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec))
      if (it->is_directory(ec)) dirs.push_back(it->path());
    dirs.push_back(top);
    std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
      return a.string().size() > b.string().size();
    });
    for (const auto& d : dirs) {
      for (int i = 0; i < 100 && ::rmdir(d.c_str()) != 0 && errno == EBUSY; ++i) {
        std::ifstream procs(d / "cgroup.procs");
        int pid;
        while (procs >> pid) ::kill(pid, SIGKILL);
        ::usleep(10000);
      }
    }
  }
}

TestEnv::TestEnv() {
  char tmpl[] = "/tmp/skiff-rt-XXXXXX";
  if (::mkdtemp(tmpl)) dir_ = tmpl;
  static std::atomic<int> n{0};
  cgroup_parent_ = "skiff-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
  removeCgroupTree(cgroup_parent_);  // leftovers of a crashed run with a recycled pid
}

TestEnv::~TestEnv() {
  if (dir_.empty()) return;
  unmountUnder(dir_ + "/");
  removeCgroupTree(cgroup_parent_);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  std::string s;
  char b[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    s += b;
  }
  return s;
}

std::string ociArchive(const std::vector<std::string>& layers, const OciArchiveOptions& opts) {
  using json = nlohmann::json;
  TarBuilder t;
  t.dir("blobs/").dir("blobs/sha256/");
  json diff_ids = json::array(), descs = json::array();
  for (const auto& l : layers) {
    std::string d = sha256Hex(l);
    diff_ids.push_back("sha256:" + d);
    descs.push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                     {"digest", "sha256:" + d},
                     {"size", l.size()}});
    std::string content = l;
    if (opts.corrupt_layer) content[content.size() / 3] ^= 0x5a;
    t.file("blobs/sha256/" + d, content);
  }
  std::string config = json{{"architecture", "amd64"},
                            {"os", "linux"},
                            {"config", {{"Cmd", opts.cmd}}},
                            {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}}
                           .dump();
  std::string manifest = json{
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"config",
       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
        {"digest", "sha256:" + sha256Hex(config)},
        {"size", config.size()}}},
      {"layers", descs}}.dump();
  t.file("blobs/sha256/" + sha256Hex(config), config);
  t.file("blobs/sha256/" + sha256Hex(manifest), manifest);
  std::string index = json{{"schemaVersion", 2},
                           {"manifests",
                            {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                              {"digest", "sha256:" + sha256Hex(manifest)},
                              {"size", manifest.size()},
                              {"annotations", {{"io.containerd.image.name", opts.name}}}}}}}
                          .dump();
  t.file("index.json", index).file("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
  return t.finish();
}

std::string dockerSaveArchive(const std::vector<std::string>& layers, const std::string& repo_tag) {
  using json = nlohmann::json;
  TarBuilder t;
  json diff_ids = json::array(), paths = json::array();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    std::string d = sha256Hex(layers[i]);
    diff_ids.push_back("sha256:" + d);
    t.dir(d + "/").file(d + "/layer.tar", layers[i]).file(d + "/VERSION", "1.0");
    paths.push_back(d + "/layer.tar");
  }
  std::string config = json{{"architecture", "amd64"},
                            {"os", "linux"},
                            {"config", {{"Cmd", {"sh"}}}},
                            {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}}
                           .dump();
  std::string cfg_name = sha256Hex(config) + ".json";
  t.file(cfg_name, config);
  t.file("manifest.json",
         json::array({{{"Config", cfg_name}, {"RepoTags", {repo_tag}}, {"Layers", paths}}}).dump());
  return t.finish();
}

void writeFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

}  // namespace skiff::runtime::testing
