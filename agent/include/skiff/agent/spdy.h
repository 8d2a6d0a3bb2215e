#pragma once

// SPDY/3.1 framing, the part kubectl's port-forward speaks (client-go's httpstream/spdy on top of
// moby/spdystream): control frames SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY,
// HEADERS, WINDOW_UPDATE, data frames with FIN, and name/value header blocks compressed with one
// zlib stream per direction, primed with the SPDY/3 dictionary
// (https://www.chromium.org/spdy/spdy-protocol/spdy-protocol-draft3-1/).
//
// spdystream does no flow control: it never sends WINDOW_UPDATE and ignores the ones it gets, so
// neither side here tracks windows.

#include <zlib.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "skiff/common/result.h"

namespace skiff::agent::spdy {

constexpr uint16_t kVersion = 3;
constexpr uint8_t kFlagFin = 0x01;
// The largest frame payload the 24-bit length allows.
constexpr std::size_t kMaxPayload = 0xFFFFFF;
// Decompressed header blocks above this are refused (a zlib bomb, or a broken peer).
constexpr std::size_t kMaxHeaderBlock = 256 * 1024;

enum class FrameType : uint16_t {
  Data = 0,  // not a control type: data frames have no type field
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
};

// RST_STREAM status codes (SPDY/3 §2.6.3).
enum RstStatus : uint32_t {
  kProtocolError = 1,
  kInvalidStream = 2,
  kRefusedStream = 3,
  kCancel = 5,
  kInternalError = 6,
};

// One decoded frame. Which fields mean something depends on the type.
struct Frame {
  FrameType type = FrameType::Data;
  uint8_t flags = 0;
  uint32_t stream_id = 0;  // data, SYN_STREAM, SYN_REPLY, RST_STREAM, HEADERS, WINDOW_UPDATE;
                           // GOAWAY: the last good stream
  uint32_t value = 0;      // RST_STREAM/GOAWAY: status; PING: id; WINDOW_UPDATE: delta
  std::string payload;     // data: the bytes; SYN_*/HEADERS: the compressed header block
  bool fin() const { return (flags & kFlagFin) != 0; }
};

// Splits a byte stream into frames. Unknown control frame types are skipped, as the spec asks;
// anything else malformed is an error and the connection should be dropped.
class FrameReader {
 public:
  void feed(std::string_view bytes) { buf_.append(bytes); }
  // The next whole frame, nullopt when more bytes are needed.
  Result<std::optional<Frame>> next();
  std::size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  std::size_t pos_ = 0;
};

std::string encodeData(uint32_t stream_id, std::string_view data, bool fin);
std::string encodeSynStream(uint32_t stream_id, std::string_view header_block, bool fin);
std::string encodeSynReply(uint32_t stream_id, std::string_view header_block, bool fin);
std::string encodeRstStream(uint32_t stream_id, uint32_t status);
std::string encodePing(uint32_t id);
std::string encodeGoAway(uint32_t last_good_stream_id, uint32_t status);

// Header names are lower-case on the wire; values may hold several NUL-separated values.
using Headers = std::vector<std::pair<std::string, std::string>>;
const std::string* findHeader(const Headers& h, std::string_view lower_name);

// The 1423-byte SPDY/3 zlib dictionary.
const std::string& headerDictionary();

// One direction's zlib stream and whether it is still usable: the stream carries state from block
// to block, so one failure breaks every later block. Not copyable (a z_stream points into its own
// allocations); each direction sets it up and ends it itself.
class ZStreamOwner {
 protected:
  ZStreamOwner() = default;
  ~ZStreamOwner() = default;
  ZStreamOwner(const ZStreamOwner&) = delete;
  ZStreamOwner& operator=(const ZStreamOwner&) = delete;

  z_stream z_{};
  bool ok_ = false;
};

// One direction's header compression state. Blocks must be (de)compressed in the order their
// frames go on the wire.
class HeaderCompressor : private ZStreamOwner {
 public:
  HeaderCompressor();
  ~HeaderCompressor();
  Result<std::string> compress(const Headers& headers);
};

class HeaderDecompressor : private ZStreamOwner {
 public:
  HeaderDecompressor();
  ~HeaderDecompressor();
  Result<Headers> decompress(std::string_view block);
};

}  // namespace skiff::agent::spdy
