#pragma once

// ustar archives built in memory, for the tests of the tar reader and of image import.

#include <cstddef>
#include <string>

namespace skiff::runtime::testing {

// One 512-byte ustar header block (checksum filled in). `size` is what the header says; the
// content, if any, follows it padded to 512 bytes (tarPad).
std::string tarHeader(const std::string& path, char type, std::size_t size, unsigned mode,
                      unsigned uid, unsigned gid, const std::string& link = "", unsigned major = 0,
                      unsigned minor = 0);
// `content` padded with NULs to a whole number of 512-byte blocks.
std::string tarPad(std::string content);

class TarBuilder {
 public:
  TarBuilder& file(const std::string& path, const std::string& content, unsigned mode = 0644,
                   unsigned uid = 0, unsigned gid = 0);
  TarBuilder& dir(const std::string& path, unsigned mode = 0755);
  TarBuilder& symlink(const std::string& path, const std::string& target);
  TarBuilder& hardlink(const std::string& path, const std::string& target);
  TarBuilder& charDevice(const std::string& path, unsigned major, unsigned minor);
  // The archive: the entries and the two zero blocks that end it.
  std::string finish() const;

 private:
  std::string out_;
};

}  // namespace skiff::runtime::testing
