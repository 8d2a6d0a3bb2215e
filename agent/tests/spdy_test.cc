#include "skiff/agent/spdy.h"

#include <gtest/gtest.h>
#include <zlib.h>

namespace skiff::agent::spdy {
namespace {

std::vector<Frame> readAll(const std::string& bytes) {
  FrameReader r;
  r.feed(bytes);
  std::vector<Frame> out;
  for (;;) {
    auto f = r.next();
    EXPECT_TRUE(f) << f.error().message();
    if (!f || !*f) break;
    out.push_back(std::move(**f));
  }
  return out;
}

TEST(SpdyTest, DictionaryIsTheSpdy3One) {
  // zlib checks the dictionary's Adler-32 against the one the peer's stream names, so a wrong
  // byte here would make every real client's first header block fail to inflate.
  const auto& d = headerDictionary();
  EXPECT_EQ(d.size(), 1423u);
  EXPECT_EQ(adler32(1, reinterpret_cast<const Bytef*>(d.data()), static_cast<uInt>(d.size())),
            0xe3c6a7c2u);
}

TEST(SpdyTest, HeaderBlocksShareOneZlibStreamPerDirection) {
  HeaderCompressor c;
  HeaderDecompressor d;
  Headers first = {{"StreamType", "error"}, {"port", "8080"}, {"requestID", "0"}};
  Headers second = {{"streamtype", "data"}, {"port", "8080"}, {"requestid", "0"}};
  auto b1 = c.compress(first);
  auto b2 = c.compress(second);
  ASSERT_TRUE(b1 && b2);
  // The second block leans on the first one's history: it cannot be read on its own.
  EXPECT_LT(b2->size(), b1->size());
  auto h1 = d.decompress(*b1);
  auto h2 = d.decompress(*b2);
  ASSERT_TRUE(h1) << h1.error().message();
  ASSERT_TRUE(h2) << h2.error().message();
  ASSERT_EQ(h1->size(), 3u);
  EXPECT_EQ(*findHeader(*h1, "streamtype"), "error");  // names are lower-cased on the wire
  EXPECT_EQ(*findHeader(*h1, "requestid"), "0");
  EXPECT_EQ(*findHeader(*h2, "streamtype"), "data");
  auto empty = c.compress({});
  ASSERT_TRUE(empty);
  auto h3 = d.decompress(*empty);
  ASSERT_TRUE(h3);
  EXPECT_TRUE(h3->empty());
}

TEST(SpdyTest, FramesRoundTripEvenWhenFedByteByByte) {
  std::string wire = encodeSynStream(1, "hdr", false) + encodeSynReply(1, "rep", true) +
                     encodeData(3, "hello", true) + encodeRstStream(5, kRefusedStream) +
                     encodePing(7) + encodeGoAway(9, kProtocolError) + encodeData(3, "", false);
  FrameReader r;
  std::vector<Frame> got;
  for (char c : wire) {
    r.feed(std::string_view(&c, 1));
    auto f = r.next();
    ASSERT_TRUE(f) << f.error().message();
    if (*f) got.push_back(std::move(**f));
  }
  ASSERT_EQ(got.size(), 7u);
  EXPECT_EQ(got[0].type, FrameType::SynStream);
  EXPECT_EQ(got[0].stream_id, 1u);
  EXPECT_EQ(got[0].payload, "hdr");
  EXPECT_FALSE(got[0].fin());
  EXPECT_EQ(got[1].type, FrameType::SynReply);
  EXPECT_TRUE(got[1].fin());
  EXPECT_EQ(got[1].payload, "rep");
  EXPECT_EQ(got[2].type, FrameType::Data);
  EXPECT_EQ(got[2].stream_id, 3u);
  EXPECT_EQ(got[2].payload, "hello");
  EXPECT_TRUE(got[2].fin());
  EXPECT_EQ(got[3].type, FrameType::RstStream);
  EXPECT_EQ(got[3].value, kRefusedStream);
  EXPECT_EQ(got[4].type, FrameType::Ping);
  EXPECT_EQ(got[4].value, 7u);
  EXPECT_EQ(got[5].type, FrameType::GoAway);
  EXPECT_EQ(got[5].stream_id, 9u);
  EXPECT_EQ(got[6].payload, "");
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(SpdyTest, UnknownControlFramesAreSkipped) {
  // A NOOP (type 5, SPDY/2) and a made-up type 42 between two real frames.
  std::string noop = {'\x80', '\x03', '\x00', '\x05', '\x00', '\x00', '\x00', '\x00'};
  std::string odd = {'\x80', '\x03', '\x00', '\x2a', '\x00', '\x00', '\x00', '\x02', 'x', 'y'};
  auto got = readAll(encodePing(1) + noop + odd + encodePing(3));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].value, 3u);
}

TEST(SpdyTest, MalformedFramesAreErrors) {
  auto firstError = [](const std::string& bytes) -> std::string {
    FrameReader r;
    r.feed(bytes);
    auto f = r.next();
    return f ? "no error" : f.error().message();
  };
  std::string v2ping = {'\x80', '\x02', '\x00', '\x06', '\x00', '\x00', '\x00', '\x04', 0, 0, 0, 1};
  EXPECT_EQ(firstError(v2ping), "spdy: unsupported version 2");
  std::string short_rst = {'\x80', '\x03', '\x00', '\x03', '\x00', '\x00',
                           '\x00', '\x04', 0,      0,      0,      1};
  EXPECT_EQ(firstError(short_rst), "spdy: control frame type 3 has a bad length 4");
  EXPECT_EQ(firstError(encodeData(0, "x", false)), "spdy: data frame on stream 0");
  EXPECT_EQ(firstError(encodeSynStream(0, "", false)), "spdy: control frame type 1 on stream 0");
}

TEST(SpdyTest, BadHeaderBlocksAreRefused) {
  {
    HeaderDecompressor d;
    auto h = d.decompress("not zlib at all");
    ASSERT_FALSE(h);
    EXPECT_NE(h.error().message().find("spdy: decompress header block"), std::string::npos);
    // The stream is broken for good: later blocks fail too, rather than decode garbage.
    HeaderCompressor c;
    auto b = c.compress({{"a", "b"}});
    ASSERT_TRUE(b);
    EXPECT_FALSE(d.decompress(*b));
  }
  {
    HeaderCompressor c;
    HeaderDecompressor d;
    auto bomb = c.compress({{"x", std::string(kMaxHeaderBlock + 1, 'a')}});
    ASSERT_TRUE(bomb);
    EXPECT_LT(bomb->size(), 4096u);
    auto h = d.decompress(*bomb);
    ASSERT_FALSE(h);
    EXPECT_TRUE(h.error().is(ErrorCode::TooLarge));
  }
  {
    // A pair count larger than the pairs present: compress a hand-made plain block.
    std::string plain = {0, 0, 0, 2, 0, 0, 0, 1, 'a', 0, 0, 0, 1, 'b'};
    z_stream z{};
    ASSERT_EQ(deflateInit(&z, Z_BEST_COMPRESSION), Z_OK);
    const auto& dict = headerDictionary();
    deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dict.data()),
                         static_cast<uInt>(dict.size()));
    std::string out(256, '\0');
    z.next_in = reinterpret_cast<Bytef*>(plain.data());
    z.avail_in = static_cast<uInt>(plain.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    ASSERT_EQ(deflate(&z, Z_SYNC_FLUSH), Z_OK);
    out.resize(out.size() - z.avail_out);
    deflateEnd(&z);
    HeaderDecompressor d;
    auto h = d.decompress(out);
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().message(), "spdy: header block: pair 1 runs past its end");
  }
}

}  // namespace
}  // namespace skiff::agent::spdy
