// PodSyncer: running one lifecycle handler (postStart or preStop), kubelet's HandlerRunner.Run.
#include <algorithm>
#include <thread>

#include "skiff/agent/pod_sync.h"
#include "util.h"

namespace skiff::agent {

std::optional<std::string> PodSyncer::runHook(const json& pod, const json& spec,
                                              const std::string& container_id, const json& handler,
                                              const std::string& pod_ip,
                                              std::chrono::seconds timeout) {
  if (handler.contains("exec")) {
    auto cmd = strings(handler["exec"].value("command", json::array()));
    auto r = runtime_.execSync(container_id, cmd, timeout);
    if (r && r->exit_code == 0) return std::nullopt;
    return !r ? r.error().message()
              : "command '" + (cmd.empty() ? "" : cmd[0]) + "' exited with " +
                    std::to_string(r->exit_code) + ": " + r->out + r->err;
  }
  if (handler.contains("httpGet")) {
    const json& h = handler["httpGet"];
    auto target = httpHookTarget(h, spec, pod_ip);
    Result<int> code = target ? http_hooks_->get(*target, h, timeout) : Result<int>(target.error());
    if (code) return std::nullopt;
    const json& md = pod.value("metadata", json::object());
    return "Http lifecycle hook (" + h.value("path", "") + ") for Container \"" +
           spec.value("name", "") + "\" in Pod \"" + md.value("name", "") + "_" +
           md.value("namespace", "") + "(" + md.value("uid", "") +
           ")\" failed - error: " + code.error().message() + ", message: \"\"";
  }
  if (handler.contains("sleep")) {
    int64_t secs = handler["sleep"].value("seconds", 0);
    std::this_thread::sleep_for(std::chrono::seconds(std::min<int64_t>(secs, timeout.count())));
    return std::nullopt;
  }
  return std::nullopt;  // no handler (tcpSocket is accepted by the API but never run)
}

}  // namespace skiff::agent
