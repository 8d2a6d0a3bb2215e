// `skiff-agent ctr ...`: a debugging CLI over the runtime library, in the spirit of crictl/ctr.
// It opens the runtime's state dir directly (like `ctr` talking to containerd's state): the
// containers it starts are owned by their shims, so they outlive this process.
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "skiff/common/file.h"
#include "skiff/common/log.h"
#include "skiff/hostinfo/cgroups.h"
#include "skiff/runtime/runtime.h"

namespace skiff::agent::cmd {
namespace {

using namespace skiff::runtime;
using json = nlohmann::json;

struct CtrFlags {
  std::string state_dir = "/var/lib/skiff/runtime";
  std::string log_dir = "/var/log/pods";
  std::string backend = "native";
  std::string cgroup_parent;
  // per-verb
  std::string file, name, image_ref, id, user;
  std::vector<std::string> cmd, env;
  bool all = false, detach = false, rm = false, plain_http = false, tty = false,
       interactive = false;
  int timeout_s = 30;
  std::int64_t memory = 0;
};

CtrFlags& flags() {
  static CtrFlags f;
  return f;
}

int fail(const Error& e) {
  std::fprintf(stderr, "error: %s\n", e.message().c_str());
  return 1;
}

Result<RuntimePtr> open() {
  // The CLI prints results; the runtime's lifecycle logging is for the agent.
  skiff::log::setup("warn", true);
  RuntimeOptions o;
  SKIFF_ASSIGN_OR_RETURN(o.backend, parseBackend(flags().backend));
  o.state_dir = flags().state_dir;
  o.log_dir = flags().log_dir;
  o.cgroup_parent = flags().cgroup_parent;
  SKIFF_ASSIGN_OR_RETURN(auto cgroups, hostinfo::detectCgroups({}));
  o.cgroup_mode = cgroups.mode;
  return createRuntime(o);
}

std::string humanSize(std::uint64_t b) {
  char buf[32];
  if (b >= (1u << 20))
    std::snprintf(buf, sizeof buf, "%.1fMB", static_cast<double>(b) / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.1fkB", static_cast<double>(b) / 1e3);
  return buf;
}

std::string ago(std::int64_t ns) {
  if (ns == 0) return "-";
  auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  std::int64_t s = (now - ns) / 1000000000;
  if (s < 60) return std::to_string(s) + " seconds ago";
  if (s < 3600) return std::to_string(s / 60) + " minutes ago";
  return std::to_string(s / 3600) + " hours ago";
}

int cmdImages(Runtime& rt) {
  auto list = rt.images().list();
  if (!list) return fail(list.error());
  std::printf("%-45s %-10s %-15s %s\n", "IMAGE", "TAG", "IMAGE ID", "SIZE");
  for (const auto& im : *list) {
    std::string short_id = im.id.substr(7, 13);
    if (im.names.empty())
      std::printf("%-45s %-10s %-15s %s\n", "<none>", "<none>", short_id.c_str(),
                  humanSize(im.size).c_str());
    for (const auto& n : im.names) {
      auto ref = parseImageRef(n);
      std::string repo = ref ? ref->name() : n,
                  tag = ref && !ref->tag.empty() ? ref->tag : "<none>";
      std::printf("%-45s %-10s %-15s %s\n", repo.c_str(), tag.c_str(), short_id.c_str(),
                  humanSize(im.size).c_str());
    }
  }
  return 0;
}

int cmdImport(Runtime& rt) {
  auto r = rt.images().importArchive(flags().file, flags().name);
  if (!r) return fail(r.error());
  for (const auto& im : *r)
    std::printf("imported %s %s\n", im.names.empty() ? "<none>" : im.names[0].c_str(),
                im.id.c_str());
  return 0;
}

int cmdPull(Runtime& rt) {
  RegistryOptions ro;
  ro.insecure_http = flags().plain_http;
  auto r = rt.images().pull(flags().image_ref, ro);
  if (!r) return fail(r.error());
  std::printf("Image is up to date for %s\n", r->id.c_str());
  return 0;
}

// `ctr rmi NAME|ID`: a name goes; the image with its last name (or by id). Refused while a
// container (of the agent or of ctr) uses it.
int cmdRmi(Runtime& rt) {
  auto r = rt.images().remove(flags().image_ref);
  if (!r) return fail(r.error());
  if (!*r) return fail(Error(ErrorCode::NotFound, "image \"" + flags().image_ref + "\" not found"));
  std::printf("Deleted: %s\n", flags().image_ref.c_str());
  return 0;
}

int streamSession(ExecSession& sess, bool tty, bool interactive);

int cmdRun(Runtime& rt) {
  auto& f = flags();
  std::string name = f.name.empty() ? "ctr-" + std::to_string(::getpid()) : f.name;
  PodSandboxConfig sb;
  sb.metadata = {name, "ctr-" + name, "default", 0};
  sb.hostname = name;
  sb.labels["skiff.io/ctr-run"] = "true";
  // Offline convenience, as the agent does on first start: the bundled busybox.
  if (auto ref = parseImageRef(f.image_ref); ref && ref->str() == kBundledBusyboxRef) {
    std::string archive = bundledBusyboxArchive();
    if (!archive.empty()) {
      if (auto r = importIfMissing(rt.images(), archive, kBundledBusyboxRef); !r)
        return fail(r.error());
    }
  }
  auto sid = rt.runPodSandbox(sb);
  if (!sid) return fail(sid.error());
  ContainerConfig c;
  c.name = name;
  c.image = f.image_ref;
  c.command = f.cmd;
  c.env = f.env;
  c.user = f.user;
  c.resources.memory_limit_bytes = f.memory;
  c.stdin_open = f.interactive;
  c.stdin_once = f.interactive;  // as kubectl run -i
  c.tty = f.tty;
  auto id = rt.createContainer(*sid, c);
  if (!id) {
    (void)rt.removePodSandbox(*sid);
    return fail(id.error());
  }
  // -i/-t: attach before the start, so no output is missed.
  std::unique_ptr<ExecSession> session;
  if ((f.interactive || f.tty) && !f.detach) {
    auto s = rt.attach(*id, f.interactive);
    if (!s) {
      (void)rt.removePodSandbox(*sid);
      return fail(s.error());
    }
    session = std::move(*s);
  }
  if (auto s = rt.startContainer(*id); !s) {
    (void)rt.removePodSandbox(*sid);
    return fail(s.error());
  }
  if (f.detach) {
    std::printf("%s\n", id->c_str());
    return 0;
  }
  if (session) {
    int code = streamSession(*session, f.tty, f.interactive);
    if (f.rm) {
      (void)rt.waitContainer(*id, std::chrono::seconds(10));
      (void)rt.removePodSandbox(*sid);
    }
    return code;
  }
  auto st = rt.waitContainer(*id, std::chrono::hours(24 * 365));
  if (!st) return fail(st.error());
  if (auto text = readFile(st->log_path, 64u << 20)) {
    // Print the log back as the container wrote it (strip the CRI prefix).
    std::size_t pos = 0;
    while (pos < text->size()) {
      std::size_t nl = text->find('\n', pos);
      if (nl == std::string::npos) nl = text->size();
      std::string line = text->substr(pos, nl - pos);
      pos = nl + 1;
      std::size_t a = line.find(' '), b = line.find(' ', a + 1), c2 = line.find(' ', b + 1);
      if (c2 == std::string::npos) continue;
      FILE* out = line.compare(a + 1, 6, "stderr") == 0 ? stderr : stdout;
      std::fputs(line.substr(c2 + 1).c_str(), out);
      if (line[b + 1] == 'F') std::fputc('\n', out);
    }
  }
  if (f.rm) (void)rt.removePodSandbox(*sid);
  return st->exit_code;
}

int cmdPs(Runtime& rt) {
  ContainerFilter filter;
  if (!flags().all) filter.state = ContainerState::Running;
  auto list = rt.listContainers(filter);
  if (!list) return fail(list.error());
  std::printf("%-15s %-30s %-18s %-10s %-8s %-15s %s\n", "CONTAINER", "IMAGE", "CREATED", "STATE",
              "EXIT", "NAME", "POD ID");
  for (const auto& c : *list) {
    std::printf("%-15s %-30s %-18s %-10s %-8s %-15s %s\n", c.id.substr(0, 13).c_str(),
                c.image.c_str(), ago(c.created_at_ns).c_str(),
                std::string(containerStateName(c.state)).c_str(),
                c.state == ContainerState::Exited ? std::to_string(c.exit_code).c_str() : "-",
                c.name.c_str(), c.sandbox_id.substr(0, 13).c_str());
  }
  return 0;
}

// Copies our stdin to the session and its output to ours until the output ends (raw terminal
// with a TTY), then returns the process's exit code.
int streamSession(ExecSession& sess, bool tty, bool interactive) {
  struct termios saved {};
  bool raw = tty && ::isatty(0) && ::tcgetattr(0, &saved) == 0;
  if (raw) {
    struct termios t = saved;
    ::cfmakeraw(&t);
    ::tcsetattr(0, TCSANOW, &t);
    struct winsize ws {};
    if (::ioctl(0, TIOCGWINSZ, &ws) == 0) (void)sess.resize(ws.ws_col, ws.ws_row);
  }
  bool in_open = interactive && sess.stdinFd() >= 0, out_open = true,
       err_open = sess.stderrFd() >= 0;
  char buf[8192];
  // One read from `from` written to `to`; false at end of file (or a read error).
  auto copyOnce = [&buf](int from, int to) {
    ssize_t k = ::read(from, buf, sizeof buf);
    if (k <= 0) return false;
    (void)!::write(to, buf, static_cast<std::size_t>(k));
    return true;
  };
  while (out_open || err_open) {
    struct pollfd p[3];
    int n = 0, ii = -1, io = -1, ie = -1;
    if (in_open) {
      ii = n;
      p[n++] = {0, POLLIN, 0};
    }
    if (out_open) {
      io = n;
      p[n++] = {sess.stdoutFd(), POLLIN, 0};
    }
    if (err_open) {
      ie = n;
      p[n++] = {sess.stderrFd(), POLLIN, 0};
    }
    if (::poll(p, static_cast<nfds_t>(n), -1) < 0) continue;
    if (ii >= 0 && p[ii].revents && !copyOnce(0, sess.stdinFd())) {
      in_open = false;
      sess.closeStdin();
    }
    if (io >= 0 && p[io].revents) out_open = copyOnce(sess.stdoutFd(), 1);
    if (ie >= 0 && p[ie].revents) err_open = copyOnce(sess.stderrFd(), 2);
  }
  if (raw) ::tcsetattr(0, TCSANOW, &saved);
  auto code = sess.wait();
  if (!code) return fail(code.error());
  return *code;
}

int cmdExec(Runtime& rt) {
  auto& f = flags();
  if (!f.tty && !f.interactive) {
    auto r = rt.execSync(f.id, f.cmd, std::chrono::seconds(f.timeout_s > 0 ? f.timeout_s : 3600));
    if (!r) return fail(r.error());
    std::fwrite(r->stdout_data.data(), 1, r->stdout_data.size(), stdout);
    std::fwrite(r->stderr_data.data(), 1, r->stderr_data.size(), stderr);
    return r->exit_code;
  }
  ExecOptions eo;
  eo.cmd = f.cmd;
  eo.tty = f.tty;
  eo.stdin_open = f.interactive;
  auto s = rt.exec(f.id, eo);
  if (!s) return fail(s.error());
  return streamSession(**s, f.tty, f.interactive);
}

int cmdAttach(Runtime& rt) {
  auto s = rt.attach(flags().id, flags().interactive);
  if (!s) return fail(s.error());
  // With a TTY the session has no separate stderr.
  return streamSession(**s, (*s)->stderrFd() < 0, flags().interactive);
}

int cmdLogs(Runtime& rt) {
  auto st = rt.containerStatus(flags().id);
  if (!st) return fail(st.error());
  auto text = readFile(st->log_path, 64u << 20);
  if (!text) return fail(text.error());
  std::fwrite(text->data(), 1, text->size(), stdout);
  return 0;
}

int cmdStop(Runtime& rt) {
  auto r = rt.stopContainer(flags().id, std::chrono::seconds(flags().timeout_s));
  if (!r) return fail(r.error());
  std::printf("%s\n", flags().id.c_str());
  return 0;
}

int cmdRm(Runtime& rt) {
  auto st = rt.containerStatus(flags().id);
  if (!st) return fail(st.error());
  auto r = rt.removeContainer(st->id);
  if (!r) return fail(r.error());
  // A sandbox made by `ctr run` goes with its container.
  if (auto sb = rt.podSandboxStatus(st->sandbox_id); sb && sb->labels.count("skiff.io/ctr-run")) {
    auto left = rt.listContainers(ContainerFilter{st->sandbox_id, std::nullopt});
    if (left && left->empty()) (void)rt.removePodSandbox(st->sandbox_id);
  }
  std::printf("%s\n", st->id.c_str());
  return 0;
}

int cmdInspect(Runtime& rt) {
  auto st = rt.containerStatus(flags().id);
  if (!st) return fail(st.error());
  json j = {{"id", st->id},
            {"podSandboxId", st->sandbox_id},
            {"name", st->name},
            {"attempt", st->attempt},
            {"state", std::string(containerStateName(st->state))},
            {"image", st->image},
            {"imageRef", st->image_ref},
            {"createdAt", st->created_at_ns},
            {"startedAt", st->started_at_ns},
            {"finishedAt", st->finished_at_ns},
            {"exitCode", st->exit_code},
            {"reason", st->reason},
            {"message", st->message},
            {"pid", st->pid},
            {"logPath", st->log_path},
            {"labels", st->labels},
            {"annotations", st->annotations}};
  if (st->state == ContainerState::Running) {
    if (auto s = rt.containerStats(st->id))
      j["stats"] = {{"cpuUsageCoreNanoSeconds", s->cpu_usage_core_ns},
                    {"memoryWorkingSetBytes", s->memory_working_set_bytes}};
  }
  std::printf("%s\n", j.dump(2).c_str());
  return 0;
}

Added addCtrCommand(CLI::App& app) {
  auto& f = flags();
  CLI::App* ctr = app.add_subcommand("ctr",
                                     "Debug the container runtime (images import rmi pull run ps "
                                     "exec attach logs stop rm inspect)");
  ctr->add_option("--state-dir", f.state_dir, "Runtime state directory")->capture_default_str();
  ctr->add_option("--log-dir", f.log_dir, "Base directory of the CRI container logs")
      ->capture_default_str();
  ctr->add_option("--backend", f.backend, "Runtime backend: native or runc")->capture_default_str();
  ctr->add_option("--cgroup-parent", f.cgroup_parent, "cgroup parent of kubepods");
  ctr->require_subcommand(1);
  // Each verb runs on the runtime opened for it.
  std::vector<std::pair<CLI::App*, int (*)(Runtime&)>> verbs;
  auto verb = [&](const char* name, const char* desc, int (*fn)(Runtime&)) {
    CLI::App* v = ctr->add_subcommand(name, desc);
    verbs.emplace_back(v, fn);
    return v;
  };
  verb("images", "List images", cmdImages);
  auto* imp = verb("import", "Import a docker save or OCI archive", cmdImport);
  imp->add_option("file", f.file, "Archive path")->required();
  imp->add_option("--name", f.name, "Name the (single) imported image");
  auto* rmi = verb("rmi", "Remove an image name (the image goes with its last name)", cmdRmi);
  rmi->add_option("image", f.image_ref, "Image name or id")->required();
  auto* pull = verb("pull", "Pull an image from a registry", cmdPull);
  pull->add_option("image", f.image_ref)->required();
  pull->add_flag("--plain-http", f.plain_http, "Use HTTP instead of HTTPS");
  auto* run = verb("run", "Run a container in a new pod sandbox", cmdRun);
  run->add_option("--name", f.name, "Container (and pod) name");
  run->add_flag("-d,--detach", f.detach, "Print the container id and return");
  run->add_flag("--rm", f.rm, "Remove the container and its sandbox after it exits");
  run->add_option("-e,--env", f.env, "KEY=VALUE");
  run->add_option("-u,--user", f.user, "uid[:gid] or name[:group]");
  run->add_option("-m,--memory", f.memory, "Memory limit in bytes");
  run->add_flag("-i,--interactive", f.interactive, "Keep stdin open and attach to it");
  run->add_flag("-t,--tty", f.tty, "Allocate a TTY");
  // IMAGE [COMMAND [ARG...]]: everything after the image belongs to the container.
  run->prefix_command();
  run->footer("Arguments: IMAGE [COMMAND [ARG...]]");
  auto* ps = verb("ps", "List containers", cmdPs);
  ps->add_flag("-a,--all", f.all, "Show all containers (default: running)");
  auto* ex = verb("exec", "Run a command in a running container", cmdExec);
  ex->add_flag("-t,--tty", f.tty, "Allocate a TTY");
  ex->add_flag("-i,--interactive", f.interactive, "Keep stdin open");
  ex->add_option("--timeout", f.timeout_s, "Seconds (non-interactive)");
  ex->prefix_command();
  ex->footer("Arguments: CONTAINER COMMAND [ARG...]");
  auto* att = verb("attach", "Attach to a running container's main process", cmdAttach);
  att->add_flag("-i,--interactive", f.interactive, "Send our stdin to the container's");
  att->add_option("container", f.id)->required();
  auto* logs = verb("logs", "Print a container's CRI log", cmdLogs);
  logs->add_option("container", f.id)->required();
  auto* stop = verb("stop", "Stop a container (SIGTERM, grace, SIGKILL)", cmdStop);
  stop->add_option("-t,--timeout", f.timeout_s, "Grace period in seconds")->capture_default_str();
  stop->add_option("container", f.id)->required();
  auto* rm = verb("rm", "Remove a container", cmdRm);
  rm->add_option("container", f.id)->required();
  auto* ins = verb("inspect", "Show a container's status as JSON", cmdInspect);
  ins->add_option("container", f.id)->required();
  return {ctr, [verbs, run, ex] {
            auto& fl = flags();
            for (CLI::App* v : {run, ex}) {
              if (!v->parsed()) continue;
              std::vector<std::string> rest = v->remaining();
              if (rest.size() < (v == ex ? 2u : 1u)) {
                std::fprintf(stderr, "error: %s: missing %s\n", v->get_name().c_str(),
                             v == ex ? "CONTAINER COMMAND" : "IMAGE");
                return 2;
              }
              (v == ex ? fl.id : fl.image_ref) = rest[0];
              fl.cmd.assign(rest.begin() + 1, rest.end());
            }
            for (const auto& [v, fn] : verbs) {
              if (!v->parsed()) continue;
              auto rt = open();
              if (!rt) return fail(rt.error());
              return fn(**rt);
            }
            return 2;
          }};
}

const Registration reg("ctr", &addCtrCommand);

}  // namespace
}  // namespace skiff::agent::cmd
