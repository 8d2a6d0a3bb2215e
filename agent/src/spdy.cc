// SPDY/3.1 frames and header blocks (see spdy.h).
#include "skiff/agent/spdy.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace skiff::agent::spdy {
namespace {

uint32_t be32(const std::string& b, std::size_t at) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(b[at])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(b[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(b[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(b[at + 3]));
}

void put32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

// The 8-byte control frame header: C bit + version, type, flags, 24-bit length.
std::string controlHeader(FrameType type, uint8_t flags, std::size_t length) {
  std::string out;
  out.reserve(8 + length);
  put32(out, 0x80000000u | (static_cast<uint32_t>(kVersion) << 16) | static_cast<uint16_t>(type));
  put32(out, (static_cast<uint32_t>(flags) << 24) | static_cast<uint32_t>(length));
  return out;
}

// Payload sizes per control type: exactly `exact` bytes, or (exact 0) at least `min`.
struct Shape {
  FrameType type;
  std::size_t exact, min;
};
constexpr Shape kShapes[] = {
    {FrameType::SynStream, 0, 10}, {FrameType::SynReply, 0, 4},     {FrameType::RstStream, 8, 8},
    {FrameType::Settings, 0, 4},   {FrameType::Ping, 4, 4},         {FrameType::GoAway, 8, 8},
    {FrameType::Headers, 0, 4},    {FrameType::WindowUpdate, 8, 8},
};

// The shape of a known control type; nullptr for the others.
const Shape* shapeOf(uint16_t type) {
  for (const auto& s : kShapes) {
    if (static_cast<uint16_t>(s.type) == type) return &s;
  }
  return nullptr;
}

// RST_STREAM and GOAWAY carry the same 8 bytes: a 31-bit stream id and a 32-bit status.
std::string streamStatusFrame(FrameType type, uint32_t stream_id, uint32_t status) {
  std::string out = controlHeader(type, 0, 8);
  put32(out, stream_id & 0x7FFFFFFF);
  put32(out, status);
  return out;
}

std::string zError(const char* what, int rc, const z_stream& z) {
  return std::string(what) + ": " +
         (z.msg != nullptr ? z.msg : ("zlib error " + std::to_string(rc)));
}

}  // namespace

Result<std::optional<Frame>> FrameReader::next() {
  for (;;) {
    if (buffered() < 8) return std::optional<Frame>();
    const std::size_t at = pos_;
    uint32_t w0 = be32(buf_, at), w1 = be32(buf_, at + 4);
    std::size_t length = w1 & 0xFFFFFF;
    if (buffered() < 8 + length) return std::optional<Frame>();
    Frame f;
    f.flags = static_cast<uint8_t>(w1 >> 24);
    const std::size_t body = at + 8;
    pos_ = body + length;
    if ((w0 & 0x80000000u) == 0) {  // data frame
      f.type = FrameType::Data;
      f.stream_id = w0 & 0x7FFFFFFF;
      if (f.stream_id == 0) return Error(ErrorCode::BadRequest, "spdy: data frame on stream 0");
      f.payload.assign(buf_, body, length);
    } else {
      uint16_t version = static_cast<uint16_t>((w0 >> 16) & 0x7FFF);
      uint16_t type = static_cast<uint16_t>(w0 & 0xFFFF);
      if (version != kVersion) {
        return Error(ErrorCode::Unsupported,
                     "spdy: unsupported version " + std::to_string(version));
      }
      const Shape* shape = shapeOf(type);
      if (shape == nullptr) continue;  // unknown (or NOOP/CREDENTIAL): ignore, as the spec says
      if ((shape->exact != 0 && length != shape->exact) || length < shape->min) {
        return Error(ErrorCode::BadRequest, "spdy: control frame type " + std::to_string(type) +
                                                " has a bad length " + std::to_string(length));
      }
      f.type = static_cast<FrameType>(type);
      switch (f.type) {
        case FrameType::SynStream:
          f.stream_id = be32(buf_, body) & 0x7FFFFFFF;
          // associated-to stream (4), priority + slot (2), then the header block
          f.payload.assign(buf_, body + 10, length - 10);
          break;
        case FrameType::SynReply:
        case FrameType::Headers:
          f.stream_id = be32(buf_, body) & 0x7FFFFFFF;
          f.payload.assign(buf_, body + 4, length - 4);
          break;
        case FrameType::RstStream:
        case FrameType::GoAway:
        case FrameType::WindowUpdate:
          f.stream_id = be32(buf_, body) & 0x7FFFFFFF;
          f.value = be32(buf_, body + 4) & (f.type == FrameType::WindowUpdate ? 0x7FFFFFFFu : ~0u);
          break;
        case FrameType::Ping:
          f.value = be32(buf_, body);
          break;
        default:  // SETTINGS: nothing here uses them
          break;
      }
      if ((f.type == FrameType::SynStream || f.type == FrameType::SynReply ||
           f.type == FrameType::RstStream || f.type == FrameType::Headers) &&
          f.stream_id == 0) {
        return Error(ErrorCode::BadRequest,
                     "spdy: control frame type " + std::to_string(type) + " on stream 0");
      }
    }
    // Keep the buffer from growing without bound on a long connection.
    if (pos_ > 64 * 1024 && pos_ * 2 > buf_.size()) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    return std::optional<Frame>(std::move(f));
  }
}

std::string encodeData(uint32_t stream_id, std::string_view data, bool fin) {
  std::string out;
  out.reserve(8 + data.size());
  put32(out, stream_id & 0x7FFFFFFF);
  put32(out,
        (static_cast<uint32_t>(fin ? kFlagFin : 0) << 24) | static_cast<uint32_t>(data.size()));
  out.append(data);
  return out;
}

std::string encodeSynStream(uint32_t stream_id, std::string_view header_block, bool fin) {
  std::string out =
      controlHeader(FrameType::SynStream, fin ? kFlagFin : 0, 10 + header_block.size());
  put32(out, stream_id & 0x7FFFFFFF);
  put32(out, 0);        // associated-to stream
  out.append(2, '\0');  // priority 0, slot 0
  out.append(header_block);
  return out;
}

std::string encodeSynReply(uint32_t stream_id, std::string_view header_block, bool fin) {
  std::string out = controlHeader(FrameType::SynReply, fin ? kFlagFin : 0, 4 + header_block.size());
  put32(out, stream_id & 0x7FFFFFFF);
  out.append(header_block);
  return out;
}

std::string encodeRstStream(uint32_t stream_id, uint32_t status) {
  return streamStatusFrame(FrameType::RstStream, stream_id, status);
}

std::string encodePing(uint32_t id) {
  std::string out = controlHeader(FrameType::Ping, 0, 4);
  put32(out, id);
  return out;
}

std::string encodeGoAway(uint32_t last_good_stream_id, uint32_t status) {
  return streamStatusFrame(FrameType::GoAway, last_good_stream_id, status);
}

const std::string* findHeader(const Headers& h, std::string_view lower_name) {
  for (const auto& [k, v] : h) {
    if (k == lower_name) return &v;
  }
  return nullptr;
}

const std::string& headerDictionary() {
  // SPDY/3 §2.6.10.1: length-prefixed words, then one run of status codes, reason phrases,
  // dates and common values.
  static const std::string dict = [] {
    static constexpr std::array<std::string_view, 65> kWords = {"options",
                                                                "head",
                                                                "post",
                                                                "put",
                                                                "delete",
                                                                "trace",
                                                                "accept",
                                                                "accept-charset",
                                                                "accept-encoding",
                                                                "accept-language",
                                                                "accept-ranges",
                                                                "age",
                                                                "allow",
                                                                "authorization",
                                                                "cache-control",
                                                                "connection",
                                                                "content-base",
                                                                "content-encoding",
                                                                "content-language",
                                                                "content-length",
                                                                "content-location",
                                                                "content-md5",
                                                                "content-range",
                                                                "content-type",
                                                                "date",
                                                                "etag",
                                                                "expect",
                                                                "expires",
                                                                "from",
                                                                "host",
                                                                "if-match",
                                                                "if-modified-since",
                                                                "if-none-match",
                                                                "if-range",
                                                                "if-unmodified-since",
                                                                "last-modified",
                                                                "location",
                                                                "max-forwards",
                                                                "pragma",
                                                                "proxy-authenticate",
                                                                "proxy-authorization",
                                                                "range",
                                                                "referer",
                                                                "retry-after",
                                                                "server",
                                                                "te",
                                                                "trailer",
                                                                "transfer-encoding",
                                                                "upgrade",
                                                                "user-agent",
                                                                "vary",
                                                                "via",
                                                                "warning",
                                                                "www-authenticate",
                                                                "method",
                                                                "get",
                                                                "status",
                                                                "200 OK",
                                                                "version",
                                                                "HTTP/1.1",
                                                                "url",
                                                                "public",
                                                                "set-cookie",
                                                                "keep-alive",
                                                                "origin"};
    std::string d;
    for (auto w : kWords) {
      put32(d, static_cast<uint32_t>(w.size()));
      d.append(w);
    }
    d +=
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504"
        "505203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 "
        "Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 "
        "Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, "
        "Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/"
        "xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,"
        "sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";
    return d;
  }();
  return dict;
}

HeaderCompressor::HeaderCompressor() {
  // Go's framer writes with zlib.NewWriterLevelDict(BestCompression, dictionary).
  ok_ = deflateInit(&z_, Z_BEST_COMPRESSION) == Z_OK;
  if (ok_) {
    const auto& d = headerDictionary();
    ok_ = deflateSetDictionary(&z_, reinterpret_cast<const Bytef*>(d.data()),
                               static_cast<uInt>(d.size())) == Z_OK;
  }
}

HeaderCompressor::~HeaderCompressor() { deflateEnd(&z_); }

Result<std::string> HeaderCompressor::compress(const Headers& headers) {
  if (!ok_) return Error(ErrorCode::Internal, "spdy: header compressor did not initialise");
  std::string plain;
  put32(plain, static_cast<uint32_t>(headers.size()));
  for (const auto& [k, v] : headers) {
    std::string name = k;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    put32(plain, static_cast<uint32_t>(name.size()));
    plain += name;
    put32(plain, static_cast<uint32_t>(v.size()));
    plain += v;
  }
  std::string out;
  z_.next_in = reinterpret_cast<Bytef*>(plain.data());
  z_.avail_in = static_cast<uInt>(plain.size());
  std::array<char, 4096> chunk{};
  do {
    z_.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z_.avail_out = static_cast<uInt>(chunk.size());
    int rc = deflate(&z_, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      ok_ = false;
      return Error(ErrorCode::Internal, zError("spdy: compress header block", rc, z_));
    }
    out.append(chunk.data(), chunk.size() - z_.avail_out);
  } while (z_.avail_out == 0);
  return out;
}

HeaderDecompressor::HeaderDecompressor() { ok_ = inflateInit(&z_) == Z_OK; }

HeaderDecompressor::~HeaderDecompressor() { inflateEnd(&z_); }

Result<Headers> HeaderDecompressor::decompress(std::string_view block) {
  if (!ok_) return Error(ErrorCode::Internal, "spdy: header decompressor is unusable");
  std::string plain;
  z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(block.data()));
  z_.avail_in = static_cast<uInt>(block.size());
  std::array<char, 4096> chunk{};
  for (;;) {
    z_.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z_.avail_out = static_cast<uInt>(chunk.size());
    int rc = inflate(&z_, Z_SYNC_FLUSH);
    if (rc == Z_NEED_DICT) {
      const auto& d = headerDictionary();
      rc = inflateSetDictionary(&z_, reinterpret_cast<const Bytef*>(d.data()),
                                static_cast<uInt>(d.size()));
      if (rc != Z_OK) {
        ok_ = false;
        return Error(ErrorCode::BadRequest,
                     "spdy: header block wants a dictionary other than SPDY/3's");
      }
      continue;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      ok_ = false;  // the shared stream is broken for every later block too
      return Error(ErrorCode::BadRequest, zError("spdy: decompress header block", rc, z_));
    }
    plain.append(chunk.data(), chunk.size() - z_.avail_out);
    if (plain.size() > kMaxHeaderBlock) {
      ok_ = false;
      return Error(ErrorCode::TooLarge, "spdy: header block is larger than " +
                                            std::to_string(kMaxHeaderBlock) + " bytes");
    }
    if (z_.avail_in == 0 && z_.avail_out != 0) break;
    if (rc == Z_BUF_ERROR && z_.avail_in == 0) break;
  }

  Headers out;
  auto bad = [](const std::string& why) {
    return Error(ErrorCode::BadRequest, "spdy: header block: " + why);
  };
  if (plain.size() < 4) return bad("shorter than its pair count");
  uint32_t count = be32(plain, 0);
  std::size_t at = 4;
  auto field = [&](std::string& into) -> bool {
    if (plain.size() - at < 4) return false;
    uint32_t n = be32(plain, at);
    at += 4;
    if (plain.size() - at < n) return false;
    into.assign(plain, at, n);
    at += n;
    return true;
  };
  for (uint32_t i = 0; i < count; ++i) {
    std::string name, value;
    if (!field(name) || !field(value))
      return bad("pair " + std::to_string(i) + " runs past its end");
    if (name.empty()) return bad("empty header name");
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.emplace_back(std::move(name), std::move(value));
  }
  if (at != plain.size()) return bad("trailing bytes after " + std::to_string(count) + " pairs");
  return out;
}

}  // namespace skiff::agent::spdy
