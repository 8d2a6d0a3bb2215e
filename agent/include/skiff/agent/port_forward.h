#pragma once

// The kubelet's port-forward protocol (portforward.k8s.io) over SPDY/3.1, as kubectl speaks it:
// per forwarded connection the client opens two SPDY streams with the headers
// `streamType: error|data`, `port: N`, `requestID: K`. The agent connects to localhost:N inside
// the pod's network namespace, copies bytes between that socket and the data stream, and writes
// a failure's text to the error stream before closing both (kubelet
// pkg/kubelet/cri/streaming/portforward/httpstream.go; containerd's PortForward for the socket).
//
// The SPDY bytes travel on a ByteChannel: the raw connection after `Upgrade: SPDY/3.1`, or the
// binary messages of kubectl's WebSocket tunnel (`SPDY/3.1+portforward.k8s.io`, the default from
// kubectl 1.31).

#include <utility>  // before asio: its awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "skiff/agent/byte_channel.h"
#include "skiff/common/result.h"
#include "skiff/common/unique_fd.h"

namespace skiff::agent {

// Connects to localhost:port inside the pod; the error text is what the client is shown.
using PodPortDialer = std::function<Result<UniqueFd>(int port)>;

struct PortForwardOptions {
  std::string pod;  // how the pod is named in error messages (the kubelet uses the sandbox id)
  std::string uid;
  PodPortDialer dial;
  // After one direction of a forwarded connection ends, how long the other may go on
  // (containerd waits 1 s, like socat's -t).
  std::chrono::milliseconds linger{1000};
};

// Serves one port-forward connection until the client leaves; then closes every pod socket it
// opened and the channel. Runs on the channel's executor.
boost::asio::awaitable<void> servePortForward(std::shared_ptr<ByteChannel> channel,
                                              PortForwardOptions options);

// The older WebSocket port-forward protocol the Python client speaks (subprotocol
// v4.channel.k8s.io; kubelet pkg/kubelet/cri/streaming/portforward/websocket.go): the ports come
// from the URL, port i gets data channel 2i and error channel 2i+1, each opened by a message
// holding the port number (2 bytes, little-endian), then each message is a channel byte plus
// payload. One pod connection per port, made at once; the WebSocket closes when all of them end.
// Each read() of `channel` must return exactly one message and each write() sends one.
boost::asio::awaitable<void> servePortForwardChannels(std::shared_ptr<ByteChannel> channel,
                                                      std::vector<int> ports,
                                                      PortForwardOptions options);

// The real dialer: a TCP connection to 127.0.0.1:port (then [::1]:port) made from inside the
// network namespace at `netns_path` (empty: the agent's own, for hostNetwork pods).
Result<UniqueFd> dialPodPort(const std::string& netns_path, const std::string& sandbox_id,
                             int port);

}  // namespace skiff::agent
