#pragma once

// skiff-shim's parts (see shim_main.cc for what the shim does and its command line). The shim is
// statically linked and has no logging or JSON library: its RSS is paid once per container.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace skiff::shim {

struct Options {
  std::string dir, log, oom_file;
  unsigned long long log_max_size = 10ull << 20;
  int log_max_files = 5;
  int sync_fd = -1;
  bool native = true;
  bool stdin_open = false, stdin_once = false, tty = false;
  std::string init_path, spec;
  std::string runc, runc_root, bundle, id;
};

// False on an unknown flag or a missing required one.
bool parseArgs(int argc, char** argv, Options& o);

// --- small I/O helpers (io_util.cc) ---
std::int64_t nowNs();
bool writeAll(int fd, const char* p, std::size_t n);
// Writes a new file once (O_EXCL); readers parse it only when complete.
void writeRecord(const std::string& path, const std::string& data);
std::string readSmall(const std::string& path);
// "oom_kill N" from memory.oom_control (v1) or memory.events (v2); 0 when unknown.
long oomKills(const std::string& path);
// Reports "error <msg>" on the sync fd and exits: used before the container is up.
[[noreturn]] void syncError(const Options& o, const std::string& msg);

// CRI log writer: "<RFC3339Nano> <stream> <F|P> <text>\n", rotated at max size into
// <log>.<YYYYMMDD-HHMMSS> (kubelet's naming), keeping max_files files in total.
class CriLog {
 public:
  explicit CriLog(const Options& o) : o_(o) { open(); }
  // Appends data to the stream's pending buffer and logs every complete line (and the rest
  // at EOF).
  void write(const char* stream, std::string& buf, const char* data, std::size_t n, bool eof);

 private:
  static constexpr std::size_t kMaxLine = 16 * 1024;
  void open();
  void line(const char* stream, char tag, const char* p, std::size_t n);
  void rotate(const struct tm& tm);

  const Options& o_;
  int fd_ = -1;
  unsigned long long size_ = 0;
};

// An attach connection (protocol in attach.cc).
struct Client {
  int sock = -1, out = -1, err = -1;
  bool has_stdin = false;
};
// Listens on <dir>/attach.sock (0600); -1 on failure.
int listenAttach(const std::string& dir);
void closeClient(Client& c);
// Accepts one client: its output pipes and the greeting with the fds.
bool acceptClient(int lfd, const Options& o, int ctl, std::vector<Client>& clients);

// The container's stdio as the shim holds it (start.cc).
struct Stdio {
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  int errp[2] = {-1, -1};  // native: the init's setup errors
  int devnull = -1;
  int in_r = -1;           // stdin pipe's read end (the container's side)
  int ctl = -1;            // the pty master, or the stdin pipe's write end
  int slave = -1;          // runc + tty: the pty peer given to runc
  int cons[2] = {-1, -1};  // native + tty: the socket the init sends the pty master on
};
// Creates the pipes / pty the container's stdio needs; syncError on failure.
Stdio makeStdio(const Options& o);
// Starts the container (native clone or `runc create`) and returns its init pid; syncError on
// failure. Closes the container's ends of the stdio in the shim afterwards.
pid_t startContainer(const Options& o, Stdio& io);

// What the shim records when the container's init is gone (serve.cc).
struct ExitInfo {
  int status = 0;
  std::int64_t exited_at = 0;
  std::string start_error;
};
// Pumps output into the CRI log and to attach clients, serves attach, and reaps the init, until
// the init has exited and its output is drained. Clients still attached are returned.
ExitInfo serve(const Options& o, Stdio& io, int listen_fd, int sigchld_fd, pid_t init_pid,
               std::vector<Client>& clients);

}  // namespace skiff::shim
