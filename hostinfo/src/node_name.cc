#include "skiff/hostinfo/node_name.h"

#include <algorithm>

#include "skiff/common/split_list.h"
#include "text.h"

namespace skiff::hostinfo {
namespace {

constexpr std::size_t kDns1123SubdomainMaxLength = 253;
constexpr std::string_view kDns1123SubdomainErrorMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

bool alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*
bool matchesSubdomain(std::string_view s) {
  if (s.empty()) return false;
  for (const std::string_view label : splitAt(s, '.')) {
    if (label.empty() || !alnum(label.front()) || !alnum(label.back())) return false;
    for (char c : label) {
      if (!alnum(c) && c != '-') return false;
    }
  }
  return true;
}

}  // namespace

Result<void> validateDns1123Subdomain(std::string_view name) {
  if (name.size() > kDns1123SubdomainMaxLength) {
    return Error(ErrorCode::Invalid, "must be no more than 253 characters");
  }
  if (!matchesSubdomain(name))
    return Error(ErrorCode::Invalid, std::string(kDns1123SubdomainErrorMsg));
  return {};
}

Result<std::string> resolveNodeName(const std::optional<std::string>& hostname_override,
                                    std::string_view hostname) {
  std::string name(detail::trim(hostname_override && !hostname_override->empty()
                                    ? std::string_view(*hostname_override)
                                    : hostname));
  if (name.empty()) return Error(ErrorCode::Invalid, "empty hostname is invalid");
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  if (auto ok = validateDns1123Subdomain(name); !ok) {
    return Error(ErrorCode::Invalid, "invalid node name '" + name + "': " + ok.error().message());
  }
  return name;
}

}  // namespace skiff::hostinfo
