#include "skiff/agent/termination_message.h"
#include "skiff/common/testing/temp_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace skiff::agent {
namespace {

namespace fs = std::filesystem;

class TerminationMessageTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& data) {
    std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }
  // An exited container whose message file holds `file_data` (absent: no file).
  ContainerInfo exited(int code, const std::string& policy, std::optional<std::string> file_data) {
    ContainerInfo c;
    c.id = "c1";
    c.state = ContainerState::Exited;
    c.exit_code = code;
    c.reason = code == 0 ? "Completed" : "Error";
    c.annotations[kAnnotationTerminationMessagePath] = "/dev/termination-log";
    c.annotations[kAnnotationTerminationMessagePolicy] = policy;
    std::string file = (dir_ / "msg").string();
    fs::remove(file);
    if (file_data) write("msg", *file_data);
    c.annotations[kAnnotationTerminationMessageFile] = file;
    return c;
  }
  static std::string criLine(const std::string& text, char tag = 'F') {
    return "2024-01-02T03:04:05.123456789Z stdout " + std::string(1, tag) + " " + text + "\n";
  }

  skiff::testing::TempDir tmp_{"termmsg"};
  fs::path dir_ = tmp_.path();
};

TEST_F(TerminationMessageTest, FileIsCreatedEmptyAndWorldWritableWhateverTheUmask) {
  mode_t old = ::umask(077);
  auto f = createTerminationMessageFile((dir_ / "containers" / "app").string());
  ::umask(old);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(fs::path(*f).parent_path(), dir_ / "containers" / "app");
  std::string name = fs::path(*f).filename().string();
  EXPECT_EQ(name.size(), 8u);
  EXPECT_EQ(name.find_first_not_of("0123456789abcdef"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(f->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u);
  EXPECT_EQ(st.st_size, 0);
  ASSERT_EQ(::stat((dir_ / "containers" / "app").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
  // Every instance (restart) gets its own file.
  auto g = createTerminationMessageFile((dir_ / "containers" / "app").string());
  ASSERT_TRUE(g);
  EXPECT_NE(*f, *g);
}

TEST_F(TerminationMessageTest, ContainerPathIsMadeAbsoluteAndClean) {
  EXPECT_EQ(absoluteContainerPath("/dev/termination-log"), "/dev/termination-log");
  EXPECT_EQ(absoluteContainerPath("dev//custom/../log/"), "/dev/log");
}

TEST_F(TerminationMessageTest, PolicyFileReadsTheFile) {
  EXPECT_EQ(readTerminationMessage(exited(0, "File", "DONE")), "DONE");
  EXPECT_EQ(readTerminationMessage(exited(1, "File", "")), "");
  EXPECT_EQ(readTerminationMessage(exited(1, "File", std::nullopt)), "");
}

TEST_F(TerminationMessageTest, OnlyTheLast4096BytesAreRead) {
  std::string big(5000, 'a');
  big += "END";
  std::string m = readTerminationMessage(exited(0, "File", big));
  ASSERT_EQ(m.size(), kMaxTerminationMessageLength);
  EXPECT_EQ(m.substr(m.size() - 3), "END");
}

TEST_F(TerminationMessageTest, FallbackToLogsOnlyWhenFailedAndFileEmpty) {
  std::string log = write("0.log", criLine("starting") + criLine("DONE", 'P'));
  auto failed = exited(1, "FallbackToLogsOnError", "");
  failed.log_path = log;
  // Output that ended without a newline comes back without one (the conformance test's "DONE").
  EXPECT_EQ(readTerminationMessage(failed), "starting\nDONE");
  auto succeeded = exited(0, "FallbackToLogsOnError", "");
  succeeded.log_path = log;
  EXPECT_EQ(readTerminationMessage(succeeded), "");
  auto wrote_file = exited(1, "FallbackToLogsOnError", "OK");
  wrote_file.log_path = log;
  EXPECT_EQ(readTerminationMessage(wrote_file), "OK");
  auto no_file = exited(2, "FallbackToLogsOnError", std::nullopt);
  no_file.log_path = log;
  EXPECT_EQ(readTerminationMessage(no_file), "starting\nDONE");
  // A container that never ran has no logs to fall back to.
  auto start_error = exited(128, "FallbackToLogsOnError", "");
  start_error.reason = "StartError";
  start_error.log_path = log;
  EXPECT_EQ(readTerminationMessage(start_error), "");
}

TEST_F(TerminationMessageTest, LogFallbackKeepsLast80LinesAndLast2048Bytes) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += criLine("line " + std::to_string(i));
  auto c = exited(1, "FallbackToLogsOnError", "");
  c.log_path = write("0.log", text);
  std::string m = readTerminationMessage(c);
  EXPECT_EQ(m.rfind("line 20\n", 0), 0u) << m.substr(0, 20);
  EXPECT_EQ(m.find("line 19\n"), std::string::npos);
  EXPECT_EQ(m.substr(m.size() - 8), "line 99\n");

  std::string wide;
  for (int i = 0; i < 10; ++i) wide += criLine(std::string(500, 'x') + std::to_string(i));
  c.log_path = write("1.log", wide);
  m = readTerminationMessage(c);
  EXPECT_EQ(m.size(), kMaxTerminationMessageLogLength);
  EXPECT_EQ(m.substr(m.size() - 3), "x9\n");
}

TEST_F(TerminationMessageTest, UnreadableLogIsReportedInTheMessage) {
  auto c = exited(1, "FallbackToLogsOnError", "");
  c.log_path = (dir_ / "gone.log").string();
  EXPECT_EQ(readTerminationMessage(c),
            "Error on reading termination message from logs: failed to open log file \"" +
                c.log_path + "\": open " + c.log_path + ": no such file or directory");
}

TEST_F(TerminationMessageTest, AddedAfterTheRuntimesMessageOfExitedContainersOnly) {
  auto c = exited(0, "File", "bye");
  addTerminationMessage(c);
  EXPECT_EQ(c.message, "bye");
  auto oom = exited(137, "File", "partial work");
  oom.message = "runtime says";
  addTerminationMessage(oom);
  EXPECT_EQ(oom.message, "runtime says: partial work");
  auto running = exited(0, "File", "early");
  running.state = ContainerState::Running;
  addTerminationMessage(running);
  EXPECT_EQ(running.message, "");
  // No annotations (a container from before the agent made message files): nothing.
  ContainerInfo old;
  old.state = ContainerState::Exited;
  addTerminationMessage(old);
  EXPECT_EQ(old.message, "");
}

TEST_F(TerminationMessageTest, StatusMessageIsCutToTheBudgetAndValidUtf8) {
  EXPECT_EQ(terminationMessageBudget(0), 12288u);
  EXPECT_EQ(terminationMessageBudget(3), 4096u);
  EXPECT_EQ(statusMessage("hello", 3), "hel");
  EXPECT_EQ(statusMessage("gr\xc3\xbc\xc3\x9f", 100), "gr\xc3\xbc\xc3\x9f");
  // A cut inside a character and stray bytes become U+FFFD, one per byte (Go's encoder).
  EXPECT_EQ(statusMessage("gr\xc3\xbc", 3), "gr\xef\xbf\xbd");
  EXPECT_EQ(statusMessage("a\xff\xfe"
                          "b",
                          100),
            "a\xef\xbf\xbd\xef\xbf\xbd"
            "b");
  EXPECT_EQ(statusMessage("\xed\xa0\x80", 100), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(statusMessage("\xf0\x9f\x98\x80", 100), "\xf0\x9f\x98\x80");
}

}  // namespace
}  // namespace skiff::agent
