#include "skiff/master/api/object_util.h"

#include <openssl/rand.h>

#include <cstdio>
#include <ctime>
#include <initializer_list>
#include <regex>

#include "skiff/common/rfc3339.h"
#include "skiff/master/json_at.h"

namespace skiff::master::api {

std::string formatTime(Clock::time_point t) { return formatRfc3339(t); }

Clock::time_point parseTime(const std::string& s) {
  return parseRfc3339(s).value_or(Clock::time_point{});
}

std::string newUid() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

std::string randomSuffix(std::size_t n) {
  static const char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  unsigned char b[32];
  RAND_bytes(b, sizeof b);
  for (std::size_t i = 0; i < n && i < sizeof b; ++i) out += kAlphabet[b[i] % 27];
  return out;
}

namespace {

// One of apimachinery's name formats (pkg/util/validation): a length limit and a regex, with the
// mismatch message its RegexError builds from the description, the examples and the regex.
class NameFormat {
 public:
  NameFormat(std::size_t max_len, const std::string& fmt, const char* description,
             std::initializer_list<const char*> examples)
      : max_len_(max_len), re_("^" + fmt + "$"), mismatch_(description) {
    mismatch_ += " (e.g. ";
    const char* sep = "";
    for (const char* e : examples) {
      mismatch_ = mismatch_ + sep + "'" + e + "', ";
      sep = " or ";
    }
    mismatch_ += "regex used for validation is '" + fmt + "')";
  }

  // "" when `v` is at most max_len long and matches, else upstream's message for the first check
  // it fails.
  std::string check(const std::string& v) const {
    if (v.size() > max_len_) {
      return "must be no more than " + std::to_string(max_len_) + " characters";
    }
    if (!std::regex_match(v, re_)) return mismatch_;
    return "";
  }

 private:
  std::size_t max_len_;
  std::regex re_;
  std::string mismatch_;
};

constexpr const char* kDns1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";

}  // namespace

std::string checkDns1123Subdomain(const std::string& v) {
  static const NameFormat format(
      253, std::string(kDns1123LabelFmt) + "(\\." + kDns1123LabelFmt + ")*",
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
      "'.', and must start and end with an alphanumeric character",
      {"example.com"});
  return format.check(v);
}

std::string checkDns1123Label(const std::string& v) {
  static const NameFormat format(
      63, kDns1123LabelFmt,
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
      "must start and end with an alphanumeric character",
      {"my-name", "123-abc"});
  return format.check(v);
}

std::string checkDns1035Label(const std::string& v) {
  static const NameFormat format(
      63, "[a-z]([-a-z0-9]*[a-z0-9])?",
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
      "alphabetic character, and end with an alphanumeric character",
      {"my-name", "abc-123"});
  return format.check(v);
}

std::string humanDuration(std::chrono::seconds d) {
  long long s = d.count();
  if (s < 0) s = 0;
  auto fmt = [](long long a, const char* ua, long long b, const char* ub) {
    std::string out = std::to_string(a) + ua;
    if (b != 0) out += std::to_string(b) + ub;
    return out;
  };
  if (s < 120) return std::to_string(s) + "s";
  long long m = s / 60;
  if (m < 10) return fmt(m, "m", s % 60, "s");
  if (m < 180) return std::to_string(m) + "m";
  long long h = m / 60;
  if (h < 8) return fmt(h, "h", m % 60, "m");
  if (h < 48) return std::to_string(h) + "h";
  if (h < 192) return fmt(h / 24, "d", h % 24, "h");
  if (h < 24 * 365 * 2) return std::to_string(h / 24) + "d";
  if (h < 24 * 365 * 8) return fmt(h / 24 / 365, "y", (h / 24) % 365, "d");
  return std::to_string(h / 24 / 365) + "y";
}

const json& at(const json& obj, std::initializer_list<const char*> path) {
  return jsonAt(obj, path);
}

std::string str(const json& obj, std::initializer_list<const char*> path) {
  const json& v = at(obj, path);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return "";
}

}  // namespace skiff::master::api
