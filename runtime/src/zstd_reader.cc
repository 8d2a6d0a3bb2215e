// zstd-decompressing ByteReader (Debian's libzstd): layers with media type ...tar+zstd and
// `*.tar.zst` image archives.
#include <zstd.h>

#include <memory>
#include <string>

#include "skiff/runtime/tar_reader.h"

namespace skiff::runtime {
namespace {

class ZstdReader : public ByteReader {
 public:
  explicit ZstdReader(std::unique_ptr<ByteReader> in)
      : in_(std::move(in)), ds_(ZSTD_createDStream()) {
    if (ds_ != nullptr) ZSTD_initDStream(ds_);
  }
  ~ZstdReader() override { ZSTD_freeDStream(ds_); }
  ZstdReader(const ZstdReader&) = delete;
  ZstdReader& operator=(const ZstdReader&) = delete;

  Result<std::size_t> read(char* buf, std::size_t n) override {
    if (ds_ == nullptr) return Error(ErrorCode::Internal, "decompress zstd: out of memory");
    if (n == 0) return std::size_t{0};
    ZSTD_outBuffer out{buf, n, 0};
    while (out.pos == 0) {
      if (in_pos_ == in_len_) {
        SKIFF_ASSIGN_OR_RETURN(std::size_t got, in_->read(inbuf_, sizeof inbuf_));
        if (got == 0) {
          // A clean end only between frames (the last call returned 0: frame complete).
          if (frame_done_) return std::size_t{0};
          return Error(ErrorCode::Invalid, "decompress zstd: unexpected end of stream");
        }
        in_len_ = got;
        in_pos_ = 0;
      }
      ZSTD_inBuffer in{inbuf_, in_len_, in_pos_};
      std::size_t rc = ZSTD_decompressStream(ds_, &out, &in);
      in_pos_ = in.pos;
      if (ZSTD_isError(rc))
        return Error(ErrorCode::Invalid, std::string("decompress zstd: ") + ZSTD_getErrorName(rc));
      frame_done_ = rc == 0;
    }
    return out.pos;
  }

 private:
  std::unique_ptr<ByteReader> in_;
  ZSTD_DStream* ds_;
  bool frame_done_ = true;
  std::size_t in_pos_ = 0, in_len_ = 0;
  char inbuf_[64 * 1024];
};

}  // namespace

std::unique_ptr<ByteReader> zstdReader(std::unique_ptr<ByteReader> inner) {
  return std::make_unique<ZstdReader>(std::move(inner));
}

}  // namespace skiff::runtime
