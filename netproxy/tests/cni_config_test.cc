#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "skiff/netproxy/pod_network.h"

namespace skiff::netproxy {
namespace {

class CniConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("skiff-cni-conf-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::filesystem::path dir_;
};

TEST_F(CniConfigTest, PicksTheFirstConflistInLexicalOrder) {
  write("20-b.conflist", R"({"cniVersion":"1.0.0","name":"b","plugins":[{"type":"bridge"}]})");
  write("10-a.conflist", R"({"cniVersion":"1.0.0","name":"a","plugins":[{"type":"ptp"}]})");
  write("00-ignored.conf", "{}");
  auto l = loadCniNetworkList(dir_);
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ((*l)["name"], "a");
}

TEST_F(CniConfigTest, RejectsIncompleteConfigsWithTheReason) {
  EXPECT_FALSE(loadCniNetworkList((dir_ / "missing").string()));
  EXPECT_NE(loadCniNetworkList(dir_).error().message().find("no .conflist"), std::string::npos);
  write("10-x.conflist", R"({"cniVersion":"1.0.0","name":"x","plugins":[{"ipam":{}}]})");
  auto l = loadCniNetworkList(dir_);
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message().find("every plugin needs a type"), std::string::npos);
  write("10-x.conflist", "not json");
  EXPECT_FALSE(loadCniNetworkList(dir_));
}

}  // namespace
}  // namespace skiff::netproxy
