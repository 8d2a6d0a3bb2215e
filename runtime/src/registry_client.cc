// Registry v2 pull (distribution spec) over Boost.Beast: plain HTTP for loopback/insecure
// registries, HTTPS with OpenSSL otherwise. Flow:
//   GET /v2/<repo>/manifests/<ref> (Accept: OCI + Docker manifest and index types)
//   401 + WWW-Authenticate: Bearer realm=..,service=..,scope=.. -> anonymous GET realm -> token
//   index/manifest list -> the entry for this node's platform -> GET that manifest by digest
//   GET /v2/<repo>/blobs/<digest> for the config and each layer, streamed into the stage dir
// Digests are verified by ImageStoreImpl::install (blobs) and here (manifests fetched by digest).
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>

#include "digest.h"
#include "image_store_impl.h"
#include "skiff/common/unique_fd.h"

namespace skiff::runtime {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;

// Parses `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="..."`.
std::map<std::string, std::string> parseAuthChallenge(const std::string& header) {
  std::map<std::string, std::string> out;
  std::size_t sp = header.find(' ');
  if (sp == std::string::npos) return out;
  out["scheme"] = header.substr(0, sp);
  std::size_t pos = sp + 1;
  while (pos < header.size()) {
    while (pos < header.size() && (header[pos] == ' ' || header[pos] == ',')) ++pos;
    std::size_t eq = header.find('=', pos);
    if (eq == std::string::npos) break;
    std::string key = header.substr(pos, eq - pos);
    pos = eq + 1;
    std::string val;
    if (pos < header.size() && header[pos] == '"') {
      std::size_t end = header.find('"', pos + 1);
      if (end == std::string::npos) break;
      val = header.substr(pos + 1, end - pos - 1);
      pos = end + 1;
    } else {
      std::size_t end = header.find(',', pos);
      val = header.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      pos = end == std::string::npos ? header.size() : end;
    }
    out[key] = val;
  }
  return out;
}

namespace {

constexpr std::uint64_t kMaxManifest = 4u << 20;
constexpr const char* kAcceptManifests =
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

struct Url {
  bool https = true;
  std::string host;
  std::string port;
  std::string target = "/";
};

Result<Url> parseUrl(const std::string& s) {
  Url u;
  std::string rest;
  if (s.rfind("https://", 0) == 0)
    rest = s.substr(8);
  else if (s.rfind("http://", 0) == 0) {
    u.https = false;
    rest = s.substr(7);
  } else
    return Error(ErrorCode::Invalid, "bad URL '" + s + "'");
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = hostport.rfind(':');
  if (colon != std::string::npos && hostport.find(']') == std::string::npos) {
    u.host = hostport.substr(0, colon);
    u.port = hostport.substr(colon + 1);
  } else {
    u.host = hostport;
  }
  if (u.port.empty()) u.port = u.https ? "443" : "80";
  if (u.host.empty()) return Error(ErrorCode::Invalid, "bad URL '" + s + "'");
  return u;
}

std::string urlEncode(const std::string& s) {
  std::string out;
  char b[4];
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out += static_cast<char>(c);
    else {
      std::snprintf(b, sizeof b, "%%%02X", c);
      out += b;
    }
  }
  return out;
}

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

class HttpClient {
 public:
  explicit HttpClient(const RegistryOptions& o) : o_(o), ssl_(net::ssl::context::tls_client) {
    ssl_.set_default_verify_paths();
    if (!o.ca_file.empty()) ssl_.load_verify_file(o.ca_file, ec_);
    ssl_.set_verify_mode(o.skip_tls_verify ? net::ssl::verify_none : net::ssl::verify_peer);
  }

  // GET `url`; the body goes to `file_fd` (if >= 0, up to `limit` bytes) or into the response.
  Result<Response> get(const std::string& url_text,
                       const std::map<std::string, std::string>& headers, int file_fd,
                       std::uint64_t limit) {
    std::string current = url_text;
    for (int redirects = 0; redirects < 5; ++redirects) {
      SKIFF_ASSIGN_OR_RETURN(Url u, parseUrl(current));
      SKIFF_ASSIGN_OR_RETURN(Response r, once(u, headers, file_fd, limit));
      if (r.status == 301 || r.status == 302 || r.status == 303 || r.status == 307 ||
          r.status == 308) {
        std::string loc = r.headers["location"];
        if (loc.empty()) return Error(ErrorCode::Unavailable, "redirect without a location");
        if (loc[0] == '/')
          loc = std::string(u.https ? "https://" : "http://") + u.host + ":" + u.port + loc;
        if (file_fd >= 0 && (::ftruncate(file_fd, 0) != 0 || ::lseek(file_fd, 0, SEEK_SET) != 0))
          return Error::fromErrno(errno, "reset blob file");
        current = loc;
        continue;
      }
      return r;
    }
    return Error(ErrorCode::Unavailable, "GET '" + url_text + "': too many redirects");
  }

 private:
  template <typename Stream>
  Result<Response> exchange(Stream& stream, const Url& u,
                            const std::map<std::string, std::string>& headers, int file_fd,
                            std::uint64_t limit) {
    http::request<http::empty_body> req{http::verb::get, u.target, 11};
    req.set(http::field::host, u.host + ((u.port == "80" || u.port == "443") ? "" : ":" + u.port));
    req.set(http::field::user_agent, "skiff/0.1");
    for (const auto& [k, v] : headers) req.set(k, v);
    beast::error_code ec;
    http::write(stream, req, ec);
    if (ec)
      return Error(ErrorCode::Unavailable, "send request to '" + u.host + "': " + ec.message());
    beast::flat_buffer buf;
    Response out;
    if (file_fd >= 0) {
      http::response_parser<http::buffer_body> p;
      p.body_limit(limit);
      http::read_header(stream, buf, p, ec);
      if (ec)
        return Error(ErrorCode::Unavailable,
                     "read response from '" + u.host + "': " + ec.message());
      out.status = p.get().result_int();
      for (const auto& f : p.get())
        out.headers[toLower(std::string(f.name_string()))] = std::string(f.value());
      bool to_file = out.status == 200;
      std::string small;
      char chunk[64 * 1024];
      while (!p.is_done()) {
        p.get().body().data = chunk;
        p.get().body().size = sizeof chunk;
        http::read(stream, buf, p, ec);
        if (ec == http::error::need_buffer) ec = {};
        if (ec)
          return Error(ErrorCode::Unavailable, "read body from '" + u.host + "': " + ec.message());
        std::size_t n = sizeof chunk - p.get().body().size;
        if (to_file) {
          std::size_t off = 0;
          while (off < n) {
            ssize_t w = ::write(file_fd, chunk + off, n - off);
            if (w < 0) return Error::fromErrno(errno, "write blob");
            off += static_cast<std::size_t>(w);
          }
        } else if (small.size() < 64 * 1024) {
          small.append(chunk, n);
        }
      }
      out.body = std::move(small);
      return out;
    }
    http::response_parser<http::string_body> p;
    p.body_limit(limit);
    http::read(stream, buf, p, ec);
    if (ec)
      return Error(ErrorCode::Unavailable, "read response from '" + u.host + "': " + ec.message());
    out.status = p.get().result_int();
    for (const auto& f : p.get())
      out.headers[toLower(std::string(f.name_string()))] = std::string(f.value());
    out.body = std::move(p.get().body());
    return out;
  }

  Result<Response> once(const Url& u, const std::map<std::string, std::string>& headers,
                        int file_fd, std::uint64_t limit) {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    auto results = resolver.resolve(u.host, u.port, ec);
    if (ec) return Error(ErrorCode::Unavailable, "resolve '" + u.host + "': " + ec.message());
    if (!u.https) {
      beast::tcp_stream stream(ioc);
      stream.expires_after(o_.timeout);
      stream.connect(results, ec);
      if (ec)
        return Error(ErrorCode::Unavailable,
                     "connect to '" + u.host + ":" + u.port + "': " + ec.message());
      auto r = exchange(stream, u, headers, file_fd, limit);
      stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      return r;
    }
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ssl_);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), u.host.c_str()))
      return Error(ErrorCode::Internal, "set TLS SNI for '" + u.host + "'");
    stream.set_verify_callback(net::ssl::host_name_verification(u.host));
    beast::get_lowest_layer(stream).expires_after(o_.timeout);
    beast::get_lowest_layer(stream).connect(results, ec);
    if (ec)
      return Error(ErrorCode::Unavailable,
                   "connect to '" + u.host + ":" + u.port + "': " + ec.message());
    stream.handshake(net::ssl::stream_base::client, ec);
    if (ec)
      return Error(ErrorCode::Unavailable, "TLS handshake with '" + u.host + "': " + ec.message());
    auto r = exchange(stream, u, headers, file_fd, limit);
    stream.shutdown(ec);  // peers often close without close_notify; not an error for us
    return r;
  }

  static std::string toLower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  RegistryOptions o_;
  net::ssl::context ssl_;
  beast::error_code ec_;
};

class Puller {
 public:
  Puller(const ImageRef& ref, const RegistryOptions& o) : ref_(ref), o_(o), http_(o) {
    base_ = std::string(o.insecure_http ? "http://" : "https://") + ref.registryHost() + "/v2/" +
            ref.repository;
  }

  Result<StagedImage> run(const std::string& stage) {
    std::string arch = o_.platform_arch.empty() ? nodeArchitecture() : o_.platform_arch;
    std::string reference = ref_.digest.empty() ? ref_.tag : ref_.digest;
    SKIFF_ASSIGN_OR_RETURN(auto fetched, fetchManifest(reference, ref_.digest));
    auto [text, digest] = fetched;
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return Error(ErrorCode::Invalid, "manifest is not JSON");
    if (j.contains("manifests")) {
      SKIFF_ASSIGN_OR_RETURN(Descriptor d, selectPlatform(text, o_.platform_os, arch));
      SKIFF_ASSIGN_OR_RETURN(fetched, fetchManifest(d.digest, d.digest));
      std::tie(text, digest) = fetched;
    }
    SKIFF_ASSIGN_OR_RETURN(auto m, parseManifest(text));
    StagedImage s;
    s.blob_dir = stage;
    s.manifest_digest = digest;
    s.config = m.first;
    s.layers = m.second;
    {
      UniqueFd fd(::open((stage + "/" + digestHex(digest)).c_str(),
                         O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return Error::fromErrno(errno, "stage manifest");
    }
    SKIFF_TRY(fetchBlob(s.config, stage));
    for (const auto& l : s.layers) SKIFF_TRY(fetchBlob(l, stage));
    return s;
  }

 private:
  // GET with the anonymous token dance on 401.
  Result<Response> authedGet(const std::string& url, std::map<std::string, std::string> headers,
                             int fd, std::uint64_t limit) {
    if (!token_.empty()) headers["Authorization"] = "Bearer " + token_;
    SKIFF_ASSIGN_OR_RETURN(Response r, http_.get(url, headers, fd, limit));
    if (r.status != 401 || !token_.empty()) return r;
    auto ch = parseAuthChallenge(r.headers["www-authenticate"]);
    if (ch["scheme"] != "Bearer" || ch["realm"].empty())
      return Error(ErrorCode::Unauthorized,
                   "registry requires authentication ('" + r.headers["www-authenticate"] + "')");
    std::string turl =
        ch["realm"] + (ch["realm"].find('?') == std::string::npos ? "?" : "&") +
        "service=" + urlEncode(ch["service"]) + "&scope=" +
        urlEncode(ch["scope"].empty() ? "repository:" + ref_.repository + ":pull" : ch["scope"]);
    SKIFF_ASSIGN_OR_RETURN(Response t, http_.get(turl, {}, -1, 1 << 20));
    if (t.status != 200)
      return Error(ErrorCode::Unauthorized,
                   "get anonymous token: HTTP " + std::to_string(t.status));
    json tj = json::parse(t.body, nullptr, false);
    if (tj.is_object() && tj.contains("token") && tj["token"].is_string())
      token_ = tj["token"];
    else if (tj.is_object() && tj.contains("access_token") && tj["access_token"].is_string())
      token_ = tj["access_token"];
    else
      return Error(ErrorCode::Unauthorized, "get anonymous token: no token in the reply");
    headers["Authorization"] = "Bearer " + token_;
    if (fd >= 0 && (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0))
      return Error::fromErrno(errno, "reset blob file");
    return http_.get(url, headers, fd, limit);
  }

  Result<std::pair<std::string, std::string>> fetchManifest(const std::string& reference,
                                                            const std::string& expect) {
    SKIFF_ASSIGN_OR_RETURN(Response r, authedGet(base_ + "/manifests/" + reference,
                                                 {{"Accept", kAcceptManifests}}, -1, kMaxManifest));
    if (r.status == 404)
      return Error(ErrorCode::NotFound, "manifest '" + reference + "' not found");
    if (r.status != 200)
      return Error(ErrorCode::Unavailable,
                   "get manifest '" + reference + "': HTTP " + std::to_string(r.status));
    std::string digest = sha256Digest(r.body);
    if (!expect.empty() && digest != expect)
      return Error(ErrorCode::Invalid,
                   "manifest digest mismatch: expected " + expect + ", got " + digest);
    return std::make_pair(std::move(r.body), digest);
  }

  Result<void> fetchBlob(const Descriptor& d, const std::string& stage) {
    std::string path = stage + "/" + digestHex(d.digest);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return Error::fromErrno(errno, "create '" + path + "'");
    // The descriptor's size bounds the download (plus slack for registries that omit it).
    std::uint64_t limit = d.size > 0 ? d.size : (64ull << 30);
    SKIFF_ASSIGN_OR_RETURN(Response r,
                           authedGet(base_ + "/blobs/" + d.digest, {}, fd.get(), limit));
    if (r.status != 200)
      return Error(ErrorCode::Unavailable,
                   "get blob " + d.digest + ": HTTP " + std::to_string(r.status));
    return ok();
  }

  ImageRef ref_;
  RegistryOptions o_;
  HttpClient http_;
  std::string base_;
  std::string token_;
};

}  // namespace

Result<StagedImage> fetchFromRegistry(const ImageRef& ref, const RegistryOptions& opts,
                                      const std::string& stage_dir) {
  try {
    Puller p(ref, opts);
    return p.run(stage_dir);
  } catch (const std::exception& e) {  // Asio may still throw from constructors (e.g. ssl context)
    return Error(ErrorCode::Internal, std::string("registry client: ") + e.what());
  }
}

}  // namespace skiff::runtime
