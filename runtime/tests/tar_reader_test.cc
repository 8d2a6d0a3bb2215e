#include "skiff/runtime/tar_reader.h"

#include <gtest/gtest.h>

#include <cstring>

namespace skiff::runtime {
namespace {

class StringReader : public ByteReader {
 public:
  explicit StringReader(std::string s) : s_(std::move(s)) {}
  Result<std::size_t> read(char* buf, std::size_t n) override {
    std::size_t k = std::min(n, s_.size() - pos_);
    std::memcpy(buf, s_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string s_;
  std::size_t pos_ = 0;
};

// Builds a ustar header block for tests.
std::string header(const std::string& name, char type, std::size_t size,
                   const std::string& link = "") {
  std::string h(512, '\0');
  std::memcpy(h.data(), name.data(), std::min<std::size_t>(name.size(), 100));
  std::snprintf(h.data() + 100, 8, "%07o", 0644);
  std::snprintf(h.data() + 108, 8, "%07o", 1000);
  std::snprintf(h.data() + 116, 8, "%07o", 1000);
  std::snprintf(h.data() + 124, 12, "%011zo", size);
  std::snprintf(h.data() + 136, 12, "%011o", 0);
  h[156] = type;
  std::memcpy(h.data() + 157, link.data(), std::min<std::size_t>(link.size(), 100));
  std::memcpy(h.data() + 257,
              "ustar\0"
              "00",
              8);
  std::memset(h.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h.data() + 148, 8, "%06o", sum);
  return h;
}

std::string pad(std::string s) {
  s.resize((s.size() + 511) / 512 * 512, '\0');
  return s;
}

TEST(TarReaderTest, ReadsFilesLinksAndPaxPaths) {
  std::string long_name(150, 'x');
  std::string pax_rec = "path=" + long_name + "\n";
  std::string rec = std::to_string(pax_rec.size() + 4) + " " + pax_rec;  // 3-digit length + space
  ASSERT_EQ(rec.size(), pax_rec.size() + 4);
  std::string tar = header("a.txt", '0', 5) + pad("hello") + header("ln", '2', 0, "a.txt") +
                    header("PaxHeader", 'x', rec.size()) + pad(rec) + header("short", '0', 0) +
                    std::string(1024, '\0');
  StringReader in(tar);
  TarReader r(in);
  auto e1 = r.next();
  ASSERT_TRUE(e1 && *e1);
  EXPECT_EQ((*e1)->path, "a.txt");
  EXPECT_EQ((*e1)->uid, 1000u);
  char buf[16];
  auto n = r.readContent(buf, sizeof buf);
  ASSERT_TRUE(n);
  EXPECT_EQ(std::string(buf, *n), "hello");
  auto e2 = r.next();
  ASSERT_TRUE(e2 && *e2);
  EXPECT_EQ((*e2)->type, TarType::Symlink);
  EXPECT_EQ((*e2)->linkname, "a.txt");
  auto e3 = r.next();
  ASSERT_TRUE(e3 && *e3);
  EXPECT_EQ((*e3)->path, long_name);
  auto end = r.next();
  ASSERT_TRUE(end);
  EXPECT_FALSE(*end);
}

TEST(TarReaderTest, RejectsCorruptHeader) {
  std::string h = header("a", '0', 0);
  h[0] = 'b';  // checksum no longer matches
  StringReader in(h + std::string(1024, '\0'));
  TarReader r(in);
  auto e = r.next();
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("checksum"), std::string::npos);
}

TEST(TarReaderTest, RejectsTruncatedContent) {
  StringReader in(header("a", '0', 4096) + "abc");
  TarReader r(in);
  auto e = r.next();
  ASSERT_TRUE(e && *e);
  char buf[8192];
  EXPECT_FALSE(r.readContent(buf, sizeof buf));
}

}  // namespace
}  // namespace skiff::runtime
