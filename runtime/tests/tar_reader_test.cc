#include "skiff/runtime/tar_reader.h"

#include <gtest/gtest.h>

#include <cstring>

#include "skiff/runtime/testing/tar_builder.h"

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

// A ustar header block owned by uid/gid 1000.
std::string header(const std::string& name, char type, std::size_t size,
                   const std::string& link = "") {
  return testing::tarHeader(name, type, size, 0644, 1000, 1000, link);
}

TEST(TarReaderTest, ReadsFilesLinksAndPaxPaths) {
  std::string long_name(150, 'x');
  std::string pax_rec = "path=" + long_name + "\n";
  std::string rec = std::to_string(pax_rec.size() + 4) + " " + pax_rec;  // 3-digit length + space
  ASSERT_EQ(rec.size(), pax_rec.size() + 4);
  std::string tar = header("a.txt", '0', 5) + testing::tarPad("hello") +
                    header("ln", '2', 0, "a.txt") + header("PaxHeader", 'x', rec.size()) +
                    testing::tarPad(rec) + header("short", '0', 0) + std::string(1024, '\0');
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
