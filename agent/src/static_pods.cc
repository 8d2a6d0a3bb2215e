#include "skiff/agent/static_pods.h"

#include <openssl/sha.h>

#include <algorithm>
#include <filesystem>

#include "skiff/common/file.h"
#include "skiff/common/yaml.h"

namespace skiff::agent {

using nlohmann::json;

StaticPodScan scanStaticPods(const std::string& dir, const std::string& node_name) {
  StaticPodScan out;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return out;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string ext = e.path().extension().string();
    std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name.front() == '.') continue;  // kubelet ignores dotfiles
    if (ext == ".yaml" || ext == ".yml" || ext == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    auto text = readFile(f.string(), 1u << 20);
    if (!text) {
      out.errors.push_back(f.string() + ": " + text.error().message());
      continue;
    }
    auto doc = yamlToJson(*text);
    if (!doc || !doc->is_object() || doc->value("kind", "") != "Pod" ||
        !doc->contains("metadata") || (*doc)["metadata"].value("name", "").empty()) {
      out.errors.push_back(f.string() + ": " +
                           (doc ? "not a Pod with metadata.name" : doc.error().message()));
      continue;
    }
    json pod = *doc;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    std::string seed = node_name + "\n" + f.string() + "\n" + *text;
    SHA256(reinterpret_cast<const unsigned char*>(seed.data()), seed.size(), digest);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hash;
    for (int i = 0; i < 16; ++i) {
      hash.push_back(kHex[digest[i] >> 4]);
      hash.push_back(kHex[digest[i] & 15]);
    }
    auto& md = pod["metadata"];
    md["name"] = md["name"].get<std::string>() + "-" + node_name;
    if (!md.contains("namespace")) md["namespace"] = "default";
    md["uid"] = hash;
    md["annotations"]["kubernetes.io/config.source"] = "file";
    md["annotations"]["kubernetes.io/config.hash"] = hash;
    pod["spec"]["nodeName"] = node_name;
    if (!pod["spec"].contains("restartPolicy")) pod["spec"]["restartPolicy"] = "Always";
    if (!pod["spec"].contains("terminationGracePeriodSeconds")) {
      pod["spec"]["terminationGracePeriodSeconds"] = 30;
    }
    pod["status"] = {{"phase", "Pending"}};
    out.pods.push_back(std::move(pod));
  }
  return out;
}

}  // namespace skiff::agent
