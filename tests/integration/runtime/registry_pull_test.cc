// Registry v2 pull against a real `docker-registry` (Debian's distribution 2.8) on a loopback
// port with its own config and storage dir. The test pushes images with a tiny pusher (blob
// upload POST+PUT, manifest PUT), then pulls: OCI manifest, Docker schema2, an index with
// several platforms, by tag and by digest, gzip layers.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "skiff/common/file.h"
#include "skiff/common/testing/free_port.h"
#include "skiff/runtime/image_store.h"
#include "test_env.h"

namespace skiff::runtime {
namespace {

namespace fs = std::filesystem;
namespace beast = boost::beast;
namespace http = beast::http;
using json = nlohmann::json;
using testing::TarBuilder;

struct HttpReply {
  int status = 0;
  std::string location;
  std::string body;
};

HttpReply request(int port, http::verb verb, const std::string& target,
                  const std::string& body = "",
                  const std::string& content_type = "application/octet-stream") {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::resolver res(ioc);
  beast::tcp_stream s(ioc);
  beast::error_code ec;
  s.connect(res.resolve("127.0.0.1", std::to_string(port), ec), ec);
  if (ec) return {};
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(http::field::content_type, content_type);
  req.body() = body;
  req.prepare_payload();
  http::write(s, req, ec);
  beast::flat_buffer buf;
  http::response<http::string_body> resp;
  http::read(s, buf, resp, ec);
  return {static_cast<int>(resp.result_int()), std::string(resp[http::field::location]),
          resp.body()};
}

class RegistryPullTest : public ::testing::Test {
 protected:
  // TLS: a self-signed certificate for 127.0.0.1, trusted through RegistryOptions::ca_file.
  virtual bool tls() const { return false; }

  void SetUp() override {
    if (!testing::isRoot()) GTEST_SKIP() << "needs root (layer ownership, whiteouts)";
    if (::access("/usr/bin/docker-registry", X_OK) != 0)
      GTEST_SKIP() << "docker-registry not installed";
    env_ = std::make_unique<testing::TestEnv>();
    port_ = skiff::testing::freeLoopbackPort();
    std::string cfg = env_->dir() + "/registry.yml";
    std::string tls_cfg;
    if (tls()) {
      cert_ = env_->dir() + "/cert.pem";
      std::string key = env_->dir() + "/key.pem";
      std::string cmd =
          "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext "
          "subjectAltName=IP:127.0.0.1 -keyout " +
          key + " -out " + cert_ + " >/dev/null 2>&1";
      ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl req failed";
      tls_cfg = "  tls:\n    certificate: " + cert_ + "\n    key: " + key + "\n";
    }
    testing::writeFile(
        cfg,
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  "
        "filesystem:\n    rootdirectory: " +
            env_->dir() +
            "/registry-data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:" +
            std::to_string(port_) + "\n" + tls_cfg);
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      std::string log = env_->dir() + "/registry.log";
      // The registry writes its access log to stdout and the rest to stderr: keep both.
      if (std::freopen(log.c_str(), "w", stdout) == nullptr) ::_exit(126);
      ::dup2(1, 2);
      ::execl("/usr/bin/docker-registry", "docker-registry", "serve", cfg.c_str(), nullptr);
      ::_exit(127);
    }
    if (tls()) {
      // The pusher speaks plain HTTP; wait for the TLS port by pulling a missing tag instead.
      RegistryOptions o;
      o.ca_file = cert_;
      for (int i = 0; i < 200; ++i) {
        auto r = openImageStore(env_->dir() + "/probe-images");
        ASSERT_TRUE(r);
        auto p = (*r)->pull(ref("none/none:x"), o);
        if (!p && p.error().is(ErrorCode::NotFound)) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
      }
    } else {
      for (int i = 0; i < 200 && request(port_, http::verb::get, "/v2/").status != 200; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
      ASSERT_EQ(request(port_, http::verb::get, "/v2/").status, 200) << "registry did not come up";
    }
    auto s = openImageStore(env_->dir() + "/images");
    ASSERT_TRUE(s);
    store_ = std::move(*s);
  }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st;
      ::waitpid(pid_, &st, 0);
    }
    store_.reset();
    env_.reset();
  }

  std::string pushBlob(const std::string& repo, const std::string& data) {
    std::string digest = "sha256:" + testing::sha256Hex(data);
    HttpReply up = request(port_, http::verb::post, "/v2/" + repo + "/blobs/uploads/");
    EXPECT_EQ(up.status, 202) << up.body;
    std::string loc = up.location;
    if (auto p = loc.find("/v2/"); p != std::string::npos) loc = loc.substr(p);
    loc += (loc.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + digest;
    HttpReply put = request(port_, http::verb::put, loc, data);
    EXPECT_EQ(put.status, 201) << put.body;
    return digest;
  }

  // Pushes a one-layer image; returns its manifest (text).
  std::string pushImage(const std::string& repo, const std::string& layer_tar,
                        const std::string& arch, bool gzip_layer_docker, const std::string& tag) {
    std::string layer = layer_tar;
    std::string config =
        json{{"architecture", arch},
             {"os", "linux"},
             {"config", {{"Cmd", {"sh"}}}},
             {"rootfs",
              {{"type", "layers"}, {"diff_ids", {"sha256:" + testing::sha256Hex(layer_tar)}}}}}
            .dump();
    std::string cd = pushBlob(repo, config);
    std::string ld = pushBlob(repo, layer);
    std::string mt = gzip_layer_docker ? "application/vnd.docker.distribution.manifest.v2+json"
                                       : "application/vnd.oci.image.manifest.v1+json";
    std::string manifest = json{
        {"schemaVersion", 2},
        {"mediaType", mt},
        {"config",
         {{"mediaType", gzip_layer_docker ? "application/vnd.docker.container.image.v1+json"
                                          : "application/vnd.oci.image.config.v1+json"},
          {"digest", cd},
          {"size", config.size()}}},
        {"layers",
         {{{"mediaType", gzip_layer_docker ? "application/vnd.docker.image.rootfs.diff.tar"
                                           : "application/vnd.oci.image.layer.v1.tar"},
           {"digest", ld},
           {"size",
            layer.size()}}}}}.dump();
    HttpReply r =
        request(port_, http::verb::put, "/v2/" + repo + "/manifests/" + tag, manifest, mt);
    EXPECT_EQ(r.status, 201) << r.body;
    return manifest;
  }

  std::string ref(const std::string& repo_tag) {
    return "127.0.0.1:" + std::to_string(port_) + "/" + repo_tag;
  }

  std::unique_ptr<testing::TestEnv> env_;
  ImageStorePtr store_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string cert_;
  RegistryOptions plain_ = [] {
    RegistryOptions o;
    o.insecure_http = true;
    return o;
  }();
};

TEST_F(RegistryPullTest, ROOT_PullsOciAndDockerManifestsByTagAndDigest) {
  std::string oci =
      pushImage("team/oci", TarBuilder().file("hello", "oci\n").finish(), "amd64", false, "v1");
  pushImage("team/docker", TarBuilder().file("hello", "docker\n").finish(), "amd64", true, "v2");
  auto a = store_->pull(ref("team/oci:v1"), plain_);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->names, std::vector<std::string>{ref("team/oci:v1")});
  EXPECT_EQ(a->manifest_digest, "sha256:" + testing::sha256Hex(oci));
  auto dirs = store_->layerDirs(*a);
  ASSERT_TRUE(dirs);
  EXPECT_TRUE(fs::exists((*dirs)[0] + "/hello"));
  auto b = store_->pull(ref("team/docker:v2"), plain_);
  ASSERT_TRUE(b) << b.error().message();
  auto c = store_->pull(ref("team/oci@sha256:" + testing::sha256Hex(oci)), plain_);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->id, a->id);
  auto missing = store_->pull(ref("team/oci:nope"), plain_);
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().is(ErrorCode::NotFound)) << missing.error().message();
}

// Pulls, archive imports and image GC at once, each through its own store instance (as the agent
// and `skiff-agent ctr` are separate processes): no operation fails for another's sake, and every
// image listed afterwards is whole (each blob's digest verified, each layer present).
TEST_F(RegistryPullTest, ROOT_PullsImportsAndImageGcAtOnceLeaveEveryImageIntact) {
  const std::string root = env_->dir() + "/images";
  for (int i = 0; i < 4; ++i)
    pushImage("race/p" + std::to_string(i),
              TarBuilder().dir("etc/").file("etc/p", "pulled " + std::to_string(i) + "\n").finish(),
              "amd64", i % 2 == 1, "v1");
  std::vector<std::string> archives;
  for (int i = 0; i < 4; ++i) {
    std::string p = env_->dir() + "/a" + std::to_string(i) + ".tar";
    testing::writeFile(
        p, testing::ociArchive({TarBuilder().file("i", "imported " + std::to_string(i)).finish()},
                               {.name = "example.com/race/a:" + std::to_string(i)}));
    archives.push_back(p);
  }
  auto puller = openImageStore(root), importer = openImageStore(root),
       collector = openImageStore(root);
  ASSERT_TRUE(puller && importer && collector);
  std::atomic<bool> done{false};
  std::atomic<int> failures{0}, collected{0};
  DiskUsageFn full = [] { return Result<DiskUsage>(DiskUsage{1000, 0}); };
  ImageGcPolicy policy{.min_age = std::chrono::seconds(0)};
  std::thread gc([&] {
    while (!done) {
      auto r = (*collector)->garbageCollect(policy, full, std::chrono::system_clock::now());
      if (!r) ++failures;
      if (r) collected += static_cast<int>(r->removed.size());
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  std::thread pulls([&] {
    for (int round = 0; round < 3; ++round)
      for (int i = 0; i < 4; ++i)
        if (!(*puller)->pull(ref("race/p" + std::to_string(i) + ":v1"), plain_)) ++failures;
  });
  for (int round = 0; round < 3; ++round)
    for (const auto& a : archives)
      if (!(*importer)->importArchive(a)) ++failures;
  pulls.join();
  done = true;
  gc.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(collected.load(), 0) << "GC never overlapped the pulls and imports";
  auto fresh = openImageStore(root);
  ASSERT_TRUE(fresh);
  auto list = (*fresh)->list();
  ASSERT_TRUE(list);
  for (const auto& im : *list) {
    std::vector<std::string> blobs{im.id, im.manifest_digest};
    auto manifest = readFile(root + "/blobs/sha256/" + im.manifest_digest.substr(7));
    ASSERT_TRUE(manifest) << im.id;
    for (const auto& l : json::parse(*manifest)["layers"]) blobs.push_back(l["digest"]);
    for (const auto& b : blobs) {
      auto data = readFile(root + "/blobs/sha256/" + b.substr(7), 64u << 20);
      ASSERT_TRUE(data) << "image " << im.id << " lost blob " << b;
      EXPECT_EQ("sha256:" + testing::sha256Hex(*data), b);
    }
    EXPECT_TRUE((*fresh)->layerDirs(im)) << im.id;
  }
  EXPECT_TRUE(fs::is_empty(root + "/tmp"));
  // And everything can still be had again.
  ASSERT_TRUE((*fresh)->pull(ref("race/p0:v1"), plain_));
  ASSERT_TRUE((*fresh)->importArchive(archives[0]));
}

TEST_F(RegistryPullTest, ROOT_ResolvesIndexToThisPlatform) {
  std::string mine = pushImage("multi/app", TarBuilder().file("arch", "mine\n").finish(), "amd64",
                               false, "amd64-only");
  std::string other = pushImage("multi/app", TarBuilder().file("arch", "other\n").finish(), "arm64",
                                false, "arm64-only");
  RegistryOptions o = plain_;
  o.platform_arch = "amd64";
  json index = {{"schemaVersion", 2},
                {"mediaType", "application/vnd.oci.image.index.v1+json"},
                {"manifests",
                 {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                   {"digest", "sha256:" + testing::sha256Hex(other)},
                   {"size", other.size()},
                   {"platform", {{"os", "linux"}, {"architecture", "arm64"}}}},
                  {{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                   {"digest", "sha256:" + testing::sha256Hex(mine)},
                   {"size", mine.size()},
                   {"platform", {{"os", "linux"}, {"architecture", "amd64"}}}}}}};
  HttpReply r = request(port_, http::verb::put, "/v2/multi/app/manifests/latest", index.dump(),
                        "application/vnd.oci.image.index.v1+json");
  ASSERT_EQ(r.status, 201) << r.body;
  auto im = store_->pull(ref("multi/app"), o);
  ASSERT_TRUE(im) << im.error().message();
  EXPECT_EQ(im->manifest_digest, "sha256:" + testing::sha256Hex(mine));
  EXPECT_EQ(im->config.architecture, "amd64");
  o.platform_arch = "s390x";
  auto none = store_->pull(ref("multi/app"), o);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("no manifest for platform linux/s390x"), std::string::npos)
      << none.error().message();
}

// Over HTTPS the test cannot push with its plain-HTTP pusher, so it checks the TLS handshake,
// CA trust and the registry's answers: a missing image is NotFound (not a TLS error), and an
// untrusted certificate is refused.
class RegistryTlsTest : public RegistryPullTest {
 protected:
  bool tls() const override { return true; }
};

TEST_F(RegistryTlsTest, ROOT_VerifiesTheRegistryCertificate) {
  RegistryOptions trusted;
  trusted.ca_file = cert_;
  auto missing = store_->pull(ref("team/app:v1"), trusted);
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().is(ErrorCode::NotFound)) << missing.error().message();
  auto untrusted = store_->pull(ref("team/app:v1"), RegistryOptions{});
  ASSERT_FALSE(untrusted);
  EXPECT_NE(untrusted.error().message().find("TLS handshake"), std::string::npos)
      << untrusted.error().message();
}

}  // namespace
}  // namespace skiff::runtime
