#include "skiff/runtime/tar_reader.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace skiff::runtime {
namespace {

constexpr std::size_t kBlock = 512;
constexpr std::uint64_t kMaxMetaSize = 1u << 20;  // pax/GNU long-name records

class FdReader : public ByteReader {
 public:
  explicit FdReader(int fd) : fd_(fd) {}
  Result<std::size_t> read(char* buf, std::size_t n) override {
    while (true) {
      ssize_t r = ::read(fd_, buf, n);
      if (r >= 0) return static_cast<std::size_t>(r);
      if (errno != EINTR) return Error::fromErrno(errno, "read archive");
    }
  }

 private:
  int fd_;
};

class GzipReader : public ByteReader {
 public:
  explicit GzipReader(std::unique_ptr<ByteReader> in) : in_(std::move(in)) {
    std::memset(&zs_, 0, sizeof zs_);
    ok_ = ::inflateInit2(&zs_, 15 + 32) == Z_OK;  // +32: gzip or zlib header
  }
  ~GzipReader() override {
    if (ok_) ::inflateEnd(&zs_);
  }
  Result<std::size_t> read(char* buf, std::size_t n) override {
    if (!ok_) return Error(ErrorCode::Internal, "inflateInit failed");
    if (done_ || n == 0) return std::size_t{0};
    zs_.next_out = reinterpret_cast<Bytef*>(buf);
    zs_.avail_out = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
    while (zs_.avail_out == static_cast<uInt>(std::min<std::size_t>(n, 1u << 30))) {
      if (zs_.avail_in == 0) {
        SKIFF_ASSIGN_OR_RETURN(std::size_t got, in_->read(inbuf_, sizeof inbuf_));
        if (got == 0) return Error(ErrorCode::Invalid, "decompress gzip: unexpected end of stream");
        zs_.next_in = reinterpret_cast<Bytef*>(inbuf_);
        zs_.avail_in = static_cast<uInt>(got);
      }
      int rc = ::inflate(&zs_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        // Concatenated gzip members are legal; pigz writes them.
        std::size_t produced = std::min<std::size_t>(n, 1u << 30) - zs_.avail_out;
        if (zs_.avail_in == 0) {
          SKIFF_ASSIGN_OR_RETURN(std::size_t got, in_->read(inbuf_, sizeof inbuf_));
          if (got == 0) {
            done_ = true;
            return produced;
          }
          zs_.next_in = reinterpret_cast<Bytef*>(inbuf_);
          zs_.avail_in = static_cast<uInt>(got);
        }
        ::inflateReset(&zs_);
        if (produced > 0) return produced;
        continue;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR)
        return Error(ErrorCode::Invalid,
                     std::string("decompress gzip: ") + (zs_.msg ? zs_.msg : "corrupt data"));
    }
    return std::min<std::size_t>(n, 1u << 30) - zs_.avail_out;
  }

 private:
  std::unique_ptr<ByteReader> in_;
  z_stream zs_;
  bool ok_ = false;
  bool done_ = false;
  char inbuf_[64 * 1024];
};

class ObservingReader : public ByteReader {
 public:
  ObservingReader(std::unique_ptr<ByteReader> in, std::function<void(const char*, std::size_t)> f)
      : in_(std::move(in)), f_(std::move(f)) {}
  Result<std::size_t> read(char* buf, std::size_t n) override {
    SKIFF_ASSIGN_OR_RETURN(std::size_t got, in_->read(buf, n));
    if (got > 0) f_(buf, got);
    return got;
  }

 private:
  std::unique_ptr<ByteReader> in_;
  std::function<void(const char*, std::size_t)> f_;
};

// Octal (with optional spaces/NULs) or GNU base-256 numeric field.
Result<std::uint64_t> parseNumber(const char* f, std::size_t n, std::string_view what) {
  if (n > 0 && (static_cast<unsigned char>(f[0]) & 0x80)) {
    std::uint64_t v = static_cast<unsigned char>(f[0]) & 0x3f;
    for (std::size_t i = 1; i < n; ++i) {
      if (v >> 56)
        return Error(ErrorCode::Invalid, "read tar header: " + std::string(what) + " overflows");
      v = (v << 8) | static_cast<unsigned char>(f[i]);
    }
    return v;
  }
  std::uint64_t v = 0;
  std::size_t i = 0;
  while (i < n && (f[i] == ' ' || f[i] == '\0')) ++i;
  for (; i < n && f[i] >= '0' && f[i] <= '7'; ++i) {
    if (v >> 60)
      return Error(ErrorCode::Invalid, "read tar header: " + std::string(what) + " overflows");
    v = v * 8 + static_cast<std::uint64_t>(f[i] - '0');
  }
  for (; i < n; ++i) {
    if (f[i] != ' ' && f[i] != '\0')
      return Error(ErrorCode::Invalid, "read tar header: bad " + std::string(what) + " field");
  }
  return v;
}

std::string field(const char* f, std::size_t n) { return std::string(f, strnlen(f, n)); }

Result<void> parsePax(const std::string& data, std::map<std::string, std::string>& out) {
  std::size_t pos = 0;
  while (pos < data.size()) {
    std::size_t sp = data.find(' ', pos);
    if (sp == std::string::npos)
      return Error(ErrorCode::Invalid, "read pax header: missing length");
    std::size_t len = 0;
    for (std::size_t i = pos; i < sp; ++i) {
      if (data[i] < '0' || data[i] > '9' || len > kMaxMetaSize)
        return Error(ErrorCode::Invalid, "read pax header: bad length");
      len = len * 10 + static_cast<std::size_t>(data[i] - '0');
    }
    if (len <= sp - pos + 1 || pos + len > data.size() || data[pos + len - 1] != '\n')
      return Error(ErrorCode::Invalid, "read pax header: bad record");
    std::string rec = data.substr(sp + 1, pos + len - 1 - (sp + 1));
    auto eq = rec.find('=');
    if (eq == std::string::npos)
      return Error(ErrorCode::Invalid, "read pax header: record without '='");
    out[rec.substr(0, eq)] = rec.substr(eq + 1);
    pos += len;
  }
  return ok();
}

// The header checksum: the sum of its bytes, the checksum field counted as spaces.
Result<void> verifyChecksum(const char* h) {
  SKIFF_ASSIGN_OR_RETURN(std::uint64_t chk, parseNumber(h + 148, 8, "checksum"));
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < kBlock; ++i)
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
  if (sum != chk)
    return Error(ErrorCode::Invalid,
                 "read tar archive: header checksum mismatch (corrupt archive)");
  return ok();
}

// Name, link target, mode, owner, mtime and device numbers from a header block; a GNU long
// name or link (gnu_name, gnu_link) replaces the header's.
Result<void> headerFields(const char* h, const std::string& gnu_name, const std::string& gnu_link,
                          TarEntry& e) {
  std::string name = field(h, 100);
  bool ustar = std::memcmp(h + 257, "ustar", 5) == 0;
  if (ustar && h[345] != '\0' && std::memcmp(h + 257, "ustar\0", 6) == 0)
    name = field(h + 345, 155) + "/" + name;
  e.path = !gnu_name.empty() ? gnu_name : name;
  e.linkname = !gnu_link.empty() ? gnu_link : field(h + 157, 100);
  SKIFF_ASSIGN_OR_RETURN(std::uint64_t mode, parseNumber(h + 100, 8, "mode"));
  SKIFF_ASSIGN_OR_RETURN(std::uint64_t uid, parseNumber(h + 108, 8, "uid"));
  SKIFF_ASSIGN_OR_RETURN(std::uint64_t gid, parseNumber(h + 116, 8, "gid"));
  SKIFF_ASSIGN_OR_RETURN(std::uint64_t mtime, parseNumber(h + 136, 12, "mtime"));
  e.mode = static_cast<std::uint32_t>(mode & 07777);
  e.uid = static_cast<std::uint32_t>(uid);
  e.gid = static_cast<std::uint32_t>(gid);
  e.mtime = static_cast<std::int64_t>(mtime);
  if (ustar) {
    SKIFF_ASSIGN_OR_RETURN(std::uint64_t maj, parseNumber(h + 329, 8, "devmajor"));
    SKIFF_ASSIGN_OR_RETURN(std::uint64_t min, parseNumber(h + 337, 8, "devminor"));
    e.devmajor = static_cast<std::uint32_t>(maj);
    e.devminor = static_cast<std::uint32_t>(min);
  }
  return ok();
}

// The pax records of the entry override the header's fields (size included).
Result<void> applyPax(const std::map<std::string, std::string>& pax, TarEntry& e,
                      std::uint64_t& size) {
  for (auto& [k, v] : pax) {
    try {
      if (k == "path")
        e.path = v;
      else if (k == "linkpath")
        e.linkname = v;
      else if (k == "size")
        size = std::stoull(v);
      else if (k == "uid")
        e.uid = static_cast<std::uint32_t>(std::stoul(v));
      else if (k == "gid")
        e.gid = static_cast<std::uint32_t>(std::stoul(v));
      else if (k == "mtime")
        e.mtime = std::stoll(v);
      else if (k.rfind("SCHILY.xattr.", 0) == 0)
        e.xattrs[k.substr(13)] = v;
    } catch (...) {
      return Error(ErrorCode::Invalid, "read pax header: bad value for '" + k + "'");
    }
  }
  return ok();
}

// The type flags this reader knows: '\0' (pre-POSIX) and '7' (contiguous) are plain files too.
struct TypeFlag {
  char flag;
  TarType type;
};
constexpr TypeFlag kTypeFlags[] = {
    {'0', TarType::File},        {'\0', TarType::File},     {'7', TarType::File},
    {'1', TarType::HardLink},    {'2', TarType::Symlink},   {'3', TarType::CharDevice},
    {'4', TarType::BlockDevice}, {'5', TarType::Directory}, {'6', TarType::Fifo},
};

// The header's type flag as an entry type; Unsupported for the others (path names the entry).
Result<TarType> entryType(char type, const std::string& path) {
  for (const auto& t : kTypeFlags) {
    if (t.flag == type) return t.type;
  }
  return Error(ErrorCode::Unsupported, std::string("read tar archive: unsupported entry type '") +
                                           type + "' for '" + path + "'");
}

}  // namespace

std::unique_ptr<ByteReader> fdReader(int fd) { return std::make_unique<FdReader>(fd); }
std::unique_ptr<ByteReader> gzipReader(std::unique_ptr<ByteReader> inner) {
  return std::make_unique<GzipReader>(std::move(inner));
}
std::unique_ptr<ByteReader> observingReader(
    std::unique_ptr<ByteReader> inner, std::function<void(const char*, std::size_t)> observer) {
  return std::make_unique<ObservingReader>(std::move(inner), std::move(observer));
}

Result<void> TarReader::readExact(char* buf, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    SKIFF_ASSIGN_OR_RETURN(std::size_t got, in_.read(buf + done, n - done));
    if (got == 0) return Error(ErrorCode::Invalid, "read tar archive: unexpected end of archive");
    done += got;
  }
  return ok();
}

Result<void> TarReader::skip(std::uint64_t n) {
  char buf[16 * 1024];
  while (n > 0) {
    std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(n, sizeof buf));
    SKIFF_TRY(readExact(buf, chunk));
    n -= chunk;
  }
  return ok();
}

Result<std::string> TarReader::readAll(std::uint64_t size) {
  if (size > kMaxMetaSize)
    return Error(ErrorCode::Invalid, "read tar archive: metadata record too large");
  std::string s(static_cast<std::size_t>(size), '\0');
  SKIFF_TRY(readExact(s.data(), s.size()));
  std::uint64_t pad = (kBlock - size % kBlock) % kBlock;
  SKIFF_TRY(skip(pad));
  return s;
}

Result<std::size_t> TarReader::readContent(char* buf, std::size_t n) {
  if (remaining_ == 0) return std::size_t{0};
  std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(n, remaining_));
  SKIFF_TRY(readExact(buf, chunk));
  remaining_ -= chunk;
  return chunk;
}

Result<std::optional<TarEntry>> TarReader::next() {
  SKIFF_TRY(skip(remaining_ + padding_));
  remaining_ = padding_ = 0;
  std::map<std::string, std::string> pax;
  std::string gnu_name, gnu_link;
  char h[kBlock];
  while (true) {
    // A clean end of input before any header is tolerated (some writers omit the zero blocks).
    std::size_t done = 0;
    while (done < kBlock) {
      SKIFF_ASSIGN_OR_RETURN(std::size_t got, in_.read(h + done, kBlock - done));
      if (got == 0) break;
      done += got;
    }
    if (done == 0 && pax.empty() && gnu_name.empty() && gnu_link.empty())
      return std::optional<TarEntry>{};
    if (done < kBlock) return Error(ErrorCode::Invalid, "read tar archive: truncated header");
    bool zero = std::all_of(h, h + kBlock, [](char c) { return c == 0; });
    if (zero) return std::optional<TarEntry>{};

    SKIFF_TRY(verifyChecksum(h));

    SKIFF_ASSIGN_OR_RETURN(std::uint64_t size, parseNumber(h + 124, 12, "size"));
    char type = h[156];
    if (type == 'x' || type == 'g') {
      SKIFF_ASSIGN_OR_RETURN(std::string data, readAll(size));
      if (type == 'x') SKIFF_TRY(parsePax(data, pax));
      continue;
    }
    if (type == 'L' || type == 'K') {
      SKIFF_ASSIGN_OR_RETURN(std::string data, readAll(size));
      data = data.substr(0, strnlen(data.c_str(), data.size()));
      (type == 'L' ? gnu_name : gnu_link) = data;
      continue;
    }

    TarEntry e;
    SKIFF_TRY(headerFields(h, gnu_name, gnu_link, e));
    SKIFF_TRY(applyPax(pax, e, size));
    SKIFF_ASSIGN_OR_RETURN(e.type, entryType(type, e.path));
    if (e.type == TarType::File) {
      e.size = size;
      remaining_ = size;
    } else {
      // Header-only types (as Go's archive/tar treats them): a size field there is ignored.
      remaining_ = 0;
    }
    padding_ = (kBlock - remaining_ % kBlock) % kBlock;
    if (e.path.empty())
      return Error(ErrorCode::Invalid, "read tar archive: entry with an empty name");
    return std::optional<TarEntry>(std::move(e));
  }
}

}  // namespace skiff::runtime
