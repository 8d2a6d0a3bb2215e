#include "state_records.h"

#include <dirent.h>

#include <cerrno>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "process_util.h"
#include "skiff/common/file.h"

namespace skiff::runtime {
namespace {

using json = nlohmann::json;
using StringMap = std::map<std::string, std::string>;

json sandboxToJson(const SandboxRecord& s) {
  const auto& c = s.config;
  return json{{"id", s.id},
              {"name", c.metadata.name},
              {"uid", c.metadata.uid},
              {"namespace", c.metadata.namespace_},
              {"attempt", c.metadata.attempt},
              {"hostname", c.hostname},
              {"hostNetwork", c.host_network},
              {"qos", static_cast<int>(c.qos)},
              {"labels", json(c.labels)},
              {"annotations", json(c.annotations)},
              {"created", s.created_at_ns},
              {"ready", s.ready},
              {"netns", s.netns},
              {"ipcns", s.ipcns},
              {"utsns", s.utsns}};
}

SandboxRecord sandboxFromJson(const json& j, const std::string& dir) {
  SandboxRecord s;
  s.id = j.at("id").get<std::string>();
  s.dir = dir;
  auto& c = s.config;
  c.metadata.name = j.at("name").get<std::string>();
  c.metadata.uid = j.at("uid").get<std::string>();
  c.metadata.namespace_ = j.at("namespace").get<std::string>();
  c.metadata.attempt = j.at("attempt").get<std::uint32_t>();
  c.hostname = j.at("hostname").get<std::string>();
  c.host_network = j.at("hostNetwork").get<bool>();
  int qos = j.at("qos").get<int>();
  if (qos < static_cast<int>(QosClass::Guaranteed) || qos > static_cast<int>(QosClass::BestEffort))
    throw std::out_of_range("qos class " + std::to_string(qos));
  c.qos = static_cast<QosClass>(qos);
  c.labels = j.at("labels").get<StringMap>();
  c.annotations = j.at("annotations").get<StringMap>();
  s.created_at_ns = j.at("created").get<std::int64_t>();
  s.ready = j.at("ready").get<bool>();
  s.netns = j.at("netns").get<std::string>();
  s.ipcns = j.at("ipcns").get<std::string>();
  s.utsns = j.at("utsns").get<std::string>();
  c.netns_path = s.netns;
  return s;
}

json containerToJson(const ContainerRecord& r) {
  const auto& c = r.config;
  return json{{"id", r.id},
              {"sandboxId", r.sandbox_id},
              {"name", c.name},
              {"attempt", c.attempt},
              {"image", c.image},
              {"imageId", r.image_id},
              {"labels", json(c.labels)},
              {"annotations", json(c.annotations)},
              {"logPath", r.log_path},
              {"cgroup", r.cgroup},
              {"initPid", r.init_pid},
              {"initStart", r.init_start},
              {"shimPid", r.shim_pid},
              {"created", r.created_at_ns},
              {"started", r.started_at_ns},
              {"backend", std::string(backendName(r.backend))}};
}

ContainerRecord containerFromJson(const json& j, const std::string& dir) {
  ContainerRecord r;
  r.id = j.at("id").get<std::string>();
  r.dir = dir;
  r.sandbox_id = j.at("sandboxId").get<std::string>();
  r.config.name = j.at("name").get<std::string>();
  r.config.attempt = j.at("attempt").get<std::uint32_t>();
  r.config.image = j.at("image").get<std::string>();
  r.image_id = j.at("imageId").get<std::string>();
  r.config.labels = j.at("labels").get<StringMap>();
  r.config.annotations = j.at("annotations").get<StringMap>();
  r.log_path = j.at("logPath").get<std::string>();
  r.cgroup = j.at("cgroup").get<std::string>();
  r.init_pid = j.at("initPid").get<int>();
  r.init_start = j.at("initStart").get<std::uint64_t>();
  r.shim_pid = j.at("shimPid").get<int>();
  r.created_at_ns = j.at("created").get<std::int64_t>();
  r.started_at_ns = j.at("started").get<std::int64_t>();
  r.backend = j.at("backend").get<std::string>() == "runc" ? Backend::Runc : Backend::Native;
  return r;
}

// Parses one record directory into `out`; false when it has no record file.
bool loadOne(bool sandbox, const std::string& dir, RecoveredState& out) {
  std::string file = dir + (sandbox ? "/sandbox.json" : "/state.json");
  auto text = readFile(file, 1 << 20);
  if (!text) return false;
  json j = json::parse(*text, nullptr, false);
  try {
    if (sandbox) {
      out.sandboxes.push_back(sandboxFromJson(j, dir));
    } else {
      auto c = containerFromJson(j, dir);
      if (auto st = readFile(dir + "/started", 64))
        c.started_at_ns = std::strtoll(st->c_str(), nullptr, 10);
      out.containers.push_back(std::move(c));
    }
  } catch (const std::exception& ex) {
    out.unreadable.emplace_back(file, ex.what());
  }
  return true;
}

}  // namespace

std::optional<ExitRecord> readExitRecord(const std::string& dir) {
  auto t = readFile(dir + "/exit", 64 * 1024);
  if (!t || t->empty() || t->back() != '\n') return std::nullopt;  // absent or still being written
  ExitRecord e;
  std::istringstream in(*t);
  if (!(in >> e.exit_code >> e.finished_ns >> e.oom_kills >> e.signal)) return std::nullopt;
  std::getline(in, e.start_error);
  if (!e.start_error.empty() && e.start_error[0] == ' ') e.start_error.erase(0, 1);
  return e;
}

Result<void> writeSandboxRecord(const SandboxRecord& s) {
  return writeFileReplace(s.dir + "/sandbox.json", sandboxToJson(s).dump(), 0600);
}

Result<void> writeContainerRecord(const ContainerRecord& r) {
  return writeFileNew(r.dir + "/state.json", containerToJson(r).dump(), 0600);
}

Result<void> writeStartedRecord(const ContainerRecord& r) {
  return writeFileNew(r.dir + "/started", std::to_string(r.started_at_ns), 0600);
}

Result<RecoveredState> loadState(const std::string& state_dir) {
  RecoveredState out;
  for (const char* kind : {"sandboxes", "containers"}) {
    std::string base = state_dir + "/" + kind;
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(base.c_str()), ::closedir);
    if (!d) return Error::fromErrno(errno, "open '" + base + "'");
    while (struct dirent* e = ::readdir(d.get())) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      std::string dir = base + "/" + name;
      if (!loadOne(kind[0] == 's', dir, out)) out.debris.push_back(dir);
    }
  }
  return out;
}

}  // namespace skiff::runtime
