#pragma once

// A streaming tar reader for image archives and layers: ustar, POSIX pax (path, linkpath, size,
// uid, gid, mtime, SCHILY.xattr.*) and the GNU long name/long link extensions (what `docker save`,
// buildkit and GNU tar write). It only parses; it never touches the filesystem, so the caller
// decides what a safe path is (layer_unpack.h).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "skiff/common/result.h"

namespace skiff::runtime {

// A byte source. read() returns 0 at EOF.
class ByteReader {
 public:
  virtual ~ByteReader() = default;
  virtual Result<std::size_t> read(char* buf, std::size_t n) = 0;
};

// A file read through a fd (not owned).
std::unique_ptr<ByteReader> fdReader(int fd);
// gzip-decompressing wrapper (zlib); Invalid on corrupt data or a truncated stream.
std::unique_ptr<ByteReader> gzipReader(std::unique_ptr<ByteReader> inner);
// zstd-decompressing wrapper (libzstd; concatenated frames are one stream); Invalid on corrupt
// data or a truncated stream.
std::unique_ptr<ByteReader> zstdReader(std::unique_ptr<ByteReader> inner);
// Wraps `inner`, feeding every byte read into `observer` (digest computation on the fly).
std::unique_ptr<ByteReader> observingReader(std::unique_ptr<ByteReader> inner,
                                            std::function<void(const char*, std::size_t)> observer);

enum class TarType { File, HardLink, Symlink, CharDevice, BlockDevice, Directory, Fifo };

struct TarEntry {
  std::string path;  // as stored (may start with "./")
  TarType type = TarType::File;
  std::string linkname;  // symlink target / hardlink target
  std::uint32_t mode = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::int64_t mtime = 0;
  std::uint64_t size = 0;  // of the content (regular files only)
  std::uint32_t devmajor = 0;
  std::uint32_t devminor = 0;
  std::map<std::string, std::string> xattrs;
};

class TarReader {
 public:
  explicit TarReader(ByteReader& in) : in_(in) {}
  // The next entry, or nullopt at the end of the archive. The previous entry's unread content is
  // skipped. Invalid for a bad checksum, a truncated header or an unsupported type.
  Result<std::optional<TarEntry>> next();
  // Reads up to n bytes of the current entry's content; 0 at its end.
  Result<std::size_t> readContent(char* buf, std::size_t n);

 private:
  Result<void> readExact(char* buf, std::size_t n);
  Result<void> skip(std::uint64_t n);
  Result<std::string> readAll(std::uint64_t size);

  ByteReader& in_;
  std::uint64_t remaining_ = 0;  // content bytes left in the current entry
  std::uint64_t padding_ = 0;    // padding after the content
};

}  // namespace skiff::runtime
