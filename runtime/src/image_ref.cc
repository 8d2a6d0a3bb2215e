#include "skiff/runtime/image_ref.h"

#include <algorithm>
#include <cctype>

namespace skiff::runtime {
namespace {

bool isHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// distribution/reference: path components are [a-z0-9]+ separated by '.', '_', "__" or '-'s.
bool validComponent(std::string_view c) {
  if (c.empty()) return false;
  if (!std::isalnum(static_cast<unsigned char>(c.front())) ||
      !std::isalnum(static_cast<unsigned char>(c.back())))
    return false;
  for (char ch : c) {
    if (!(std::islower(static_cast<unsigned char>(ch)) ||
          std::isdigit(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-'))
      return false;
  }
  return true;
}

bool validTag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  if (!(std::isalnum(static_cast<unsigned char>(t[0])) || t[0] == '_')) return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

}  // namespace

bool isValidDigest(std::string_view d) {
  return d.size() == 71 && d.substr(0, 7) == "sha256:" && isHex(d.substr(7));
}

std::string ImageRef::name() const { return domain + "/" + repository; }

std::string ImageRef::str() const {
  std::string s = name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::string ImageRef::registryHost() const {
  return domain == "docker.io" ? "registry-1.docker.io" : domain;
}

Result<ImageRef> parseImageRef(std::string_view in) {
  auto bad = [&](std::string_view why) {
    return Error(ErrorCode::Invalid,
                 "parse image reference '" + std::string(in) + "': " + std::string(why));
  };
  if (in.empty()) return bad("empty");
  if (in.size() > 4096) return bad("too long");
  ImageRef r;
  std::string_view rest = in;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    r.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (!isValidDigest(r.digest)) return bad("invalid digest '" + r.digest + "'");
  }
  // A tag follows the last ':' after the last '/' (a ':' before it is a registry port).
  auto slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    r.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!validTag(r.tag)) return bad("invalid tag '" + r.tag + "'");
  }
  std::string_view path = rest;
  auto first_slash = rest.find('/');
  if (first_slash != std::string_view::npos) {
    std::string_view first = rest.substr(0, first_slash);
    if (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
        first == "localhost" || std::any_of(first.begin(), first.end(), [](char c) {
          return std::isupper(static_cast<unsigned char>(c));
        })) {
      r.domain = std::string(first);
      path = rest.substr(first_slash + 1);
    }
  }
  if (auto c = r.domain.find(':'); c != std::string::npos) {
    std::string_view port = std::string_view(r.domain).substr(c + 1);
    if (port.empty() || !std::all_of(port.begin(), port.end(), [](char ch) {
          return std::isdigit(static_cast<unsigned char>(ch));
        }))
      return bad("invalid registry port in '" + r.domain + "'");
  }
  if (r.domain.empty()) r.domain = "docker.io";
  if (r.domain == "index.docker.io") r.domain = "docker.io";
  r.repository = std::string(path);
  if (r.domain == "docker.io" && r.repository.find('/') == std::string::npos)
    r.repository = "library/" + r.repository;
  // Validate repository components.
  std::string_view repo = r.repository;
  while (true) {
    auto p = repo.find('/');
    if (!validComponent(repo.substr(0, p)))
      return bad("invalid repository name '" + r.repository +
                 "' (lower-case letters, digits, '.', '_', '-')");
    if (p == std::string_view::npos) break;
    repo = repo.substr(p + 1);
  }
  if (r.repository.size() + r.domain.size() > 255) return bad("name too long");
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  return r;
}

}  // namespace skiff::runtime
