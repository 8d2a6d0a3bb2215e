#pragma once

// Container termination messages, as kubelet's kuberuntime does them
// (pkg/kubelet/kuberuntime/kuberuntime_container.go makeMounts, getTerminationMessage,
// readLastStringFromContainerLogs): every container instance gets an empty, world-writable file
// under <pod dir>/containers/<name>/ bind-mounted at its terminationMessagePath; when the
// container has exited the file's tail (or, with FallbackToLogsOnError and a failure, the tail of
// its log) becomes state.terminated.message.

#include <cstddef>
#include <string>

#include "skiff/agent/container_runtime.h"
#include "skiff/common/result.h"

namespace skiff::agent {

// The container's terminationMessagePath and terminationMessagePolicy (kubelet's annotations).
inline constexpr const char* kAnnotationTerminationMessagePath =
    "io.kubernetes.container.terminationMessagePath";
inline constexpr const char* kAnnotationTerminationMessagePolicy =
    "io.kubernetes.container.terminationMessagePolicy";
// The host file mounted there. kubelet finds it in the CRI status's mounts; our runtime does not
// keep a container's mounts after create, so the agent records the one it needs.
inline constexpr const char* kAnnotationTerminationMessageFile =
    "skiff.io/termination-message-file";

// kubecontainer.MaxContainerTerminationMessageLength: bytes read from the end of the file.
inline constexpr std::size_t kMaxTerminationMessageLength = 4 * 1024;
// kubecontainer.MaxContainerTerminationMessageLogLength / ...LogLines: the log fallback.
inline constexpr std::size_t kMaxTerminationMessageLogLength = 2 * 1024;
inline constexpr int kMaxTerminationMessageLogLines = 80;
// kubecontainer.MaxPodTerminationMessageLogLength: what one pod's statuses may carry in all,
// shared evenly by its containers (status manager's normalizeStatus).
inline constexpr std::size_t kMaxPodTerminationMessageLength = 12 * 1024;

// volumeutil.MakeAbsolutePath on Linux: "/" + path, cleaned.
std::string absoluteContainerPath(const std::string& path);

// Creates `container_dir` (0750) and in it an empty file named by 8 random hex digits, mode 0666
// whatever the umask (a non-root container user must be able to write it); returns its path.
Result<std::string> createTerminationMessageFile(const std::string& container_dir);

// The last `max` bytes of a file (pkg/util/tail.ReadAtMost).
Result<std::string> readTail(const std::string& path, std::size_t max);

// The termination message of an exited container from its annotations: the file's last 4096
// bytes; with policy FallbackToLogsOnError, a non-zero exit (that is not a start error) and an
// empty or missing file, the last 80 lines of its log cut to their last 2048 bytes.
std::string readTerminationMessage(const ContainerInfo& c);

// Appends readTerminationMessage to an exited container's message (": " between a runtime message
// and it), as getPodContainerStatuses does. Other containers are left alone.
void addTerminationMessage(ContainerInfo& c);

// A pod's per-container share of kMaxPodTerminationMessageLength.
std::size_t terminationMessageBudget(std::size_t containers);

// The message as status carries it: cut to `budget` bytes (normalizeStatus), then every byte
// that is not part of valid UTF-8 replaced by U+FFFD, as Go's encoding/json writes such a string
// (a file's bytes are arbitrary; nlohmann::json refuses to dump invalid UTF-8).
std::string statusMessage(std::string message, std::size_t budget);

}  // namespace skiff::agent
