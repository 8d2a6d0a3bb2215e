#pragma once

// kubectl exec / attach over SPDY/3.1 (remotecommand protocol v4.channel.k8s.io), what kubectl
// 1.27-1.29 speak and what newer ones fall back to when the WebSocket upgrade fails
// (client-go tools/remotecommand/v4.go; kubelet pkg/kubelet/cri/streaming/remotecommand).
//
// The client opens one SPDY stream per stream it wants, named by the `streamType` header:
// error, stdin, stdout, stderr (not with a TTY) and resize (with a TTY). Once all the request
// asked for are open the command starts; stdin's FIN closes its stdin; resize carries
// {"Width":W,"Height":H} JSON lines. When the process ends and its output is sent, stdout and
// stderr get FIN, and the error stream carries the final metav1.Status (v4) and FIN.

#include <functional>
#include <memory>
#include <string>

#include "skiff/agent/byte_channel.h"
#include "skiff/agent/container_runtime.h"
#include "skiff/common/result.h"

namespace skiff::agent {

struct SpdyExecOptions {
  bool want_stdin = false, want_stdout = false, want_stderr = false, tty = false;
  bool attach = false;  // the client leaving detaches instead of leaving a process behind
  // Starts the process (called once, when the streams are open).
  std::function<Result<std::shared_ptr<ExecSession>>()> start;
  // The Status JSON for an exit code, or for an error text when it is not empty.
  std::function<std::string(int exit_code, const std::string& error)> status;
};

boost::asio::awaitable<void> serveExecSpdy(std::shared_ptr<ByteChannel> channel,
                                           SpdyExecOptions options);

}  // namespace skiff::agent
