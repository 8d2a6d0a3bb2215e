#include "skiff/runtime/testing/tar_builder.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace skiff::runtime::testing {

std::string tarHeader(const std::string& path, char type, std::size_t size, unsigned mode,
                      unsigned uid, unsigned gid, const std::string& link, unsigned major,
                      unsigned minor) {
  std::string h(512, '\0');
  std::memcpy(h.data(), path.data(), std::min<std::size_t>(path.size(), 100));
  std::snprintf(h.data() + 100, 8, "%07o", mode);
  std::snprintf(h.data() + 108, 8, "%07o", uid);
  std::snprintf(h.data() + 116, 8, "%07o", gid);
  std::snprintf(h.data() + 124, 12, "%011zo", size);
  std::snprintf(h.data() + 136, 12, "%011o", 0);
  h[156] = type;
  std::memcpy(h.data() + 157, link.data(), std::min<std::size_t>(link.size(), 100));
  std::memcpy(h.data() + 257,
              "ustar\0"
              "00",
              8);
  std::snprintf(h.data() + 329, 8, "%07o", major);
  std::snprintf(h.data() + 337, 8, "%07o", minor);
  std::memset(h.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h.data() + 148, 8, "%06o", sum);
  return h;
}

std::string tarPad(std::string content) {
  content.resize((content.size() + 511) / 512 * 512, '\0');
  return content;
}

TarBuilder& TarBuilder::file(const std::string& path, const std::string& content, unsigned mode,
                             unsigned uid, unsigned gid) {
  out_ += tarHeader(path, '0', content.size(), mode, uid, gid);
  out_ += tarPad(content);
  return *this;
}
TarBuilder& TarBuilder::dir(const std::string& path, unsigned mode) {
  out_ += tarHeader(path, '5', 0, mode, 0, 0);
  return *this;
}
TarBuilder& TarBuilder::symlink(const std::string& path, const std::string& target) {
  out_ += tarHeader(path, '2', 0, 0777, 0, 0, target);
  return *this;
}
TarBuilder& TarBuilder::hardlink(const std::string& path, const std::string& target) {
  out_ += tarHeader(path, '1', 0, 0644, 0, 0, target);
  return *this;
}
TarBuilder& TarBuilder::charDevice(const std::string& path, unsigned major, unsigned minor) {
  out_ += tarHeader(path, '3', 0, 0666, 0, 0, "", major, minor);
  return *this;
}
std::string TarBuilder::finish() const { return out_ + std::string(1024, '\0'); }

}  // namespace skiff::runtime::testing
