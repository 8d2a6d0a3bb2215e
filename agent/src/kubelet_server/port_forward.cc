// /portForward: SPDY/3.1 on the upgraded connection, kubectl's SPDY-in-WebSocket tunnel, or the
// channel protocol the Python client speaks (port_forward.cc runs the sessions).
#include <utility>

#include <charconv>

#include "skiff/agent/port_forward.h"
#include "stream.h"

namespace skiff::agent::kubelet_api {

// Port-forward: SPDY/3.1 on the upgraded connection, or inside kubectl's WebSocket tunnel.
// Returns true once the stream was handed to the session.
asio::awaitable<bool> handlePortForward(KubeletApiSource& src, std::shared_ptr<TlsStream> stream,
                                        Request& req, beast::flat_buffer& buf,
                                        const std::string& ns, const std::string& name,
                                        const Query& q) {
  static const std::string kProtocol = "portforward.k8s.io";
  static const std::string kTunnel = "SPDY/3.1+portforward.k8s.io";
  static const std::string kChannels = "v4.channel.k8s.io";
  auto pod = src.findPod(ns, name);
  if (!pod) {
    co_await sendReply(*stream, replyStatus(req, 404, "NotFound", "pod does not exist"));
    co_return false;
  }
  std::string uid = (*pod)["metadata"].value("uid", "");
  auto view = src.runtimeView(uid);
  if (!view || !view->sandbox || view->sandbox->state != SandboxState::Ready) {
    co_await sendReply(*stream,
                       replyStatus(req, 500, "InternalError",
                                   "pod sandbox for pod \"" + ns + "/" + name + "\" is not ready"));
    co_return false;
  }
  PortForwardOptions po;
  po.pod = view->sandbox->id;
  po.dial = [netns = view->sandbox->netns_path, id = view->sandbox->id](int port) {
    return dialPodPort(netns, id, port);
  };
  if (websocket::is_upgrade(req)) {
    // kubectl's SPDY tunnel first; the channel protocol (Python client) names its ports in the
    // URL.
    auto offered = req[http::field::sec_websocket_protocol];
    std::string proto = offers(offered, kTunnel)     ? kTunnel
                        : offers(offered, kChannels) ? kChannels
                                                     : "";
    std::vector<int> ports;
    if (proto == kChannels) {
      auto it = q.values.find("port");
      for (const auto& p : it == q.values.end() ? std::vector<std::string>{} : it->second) {
        int port = 0;
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
        if (ec != std::errc() || end != p.data() + p.size() || port <= 0 || port > 65535) {
          co_await sendReply(*stream,
                             replyStatus(req, 400, "BadRequest", "invalid port \"" + p + "\""));
          co_return false;
        }
        ports.push_back(port);
      }
      if (ports.empty()) {
        co_await sendReply(
            *stream, replyStatus(req, 400, "BadRequest", "query parameter \"port\" is required"));
        co_return false;
      }
    }
    if (proto.empty()) {
      co_await sendReply(*stream, replyStatus(req, 400, "BadRequest",
                                              "unable to upgrade: no supported protocol in '" +
                                                  std::string(offered) + "', server supports [" +
                                                  kTunnel + " " + kChannels + "]"));
      co_return false;
    }
    auto ws = std::make_shared<websocket::stream<TlsStream>>(std::move(*stream));
    ws->set_option(websocket::stream_base::decorator([proto](websocket::response_type& res) {
      res.set(http::field::sec_websocket_protocol, proto);
    }));
    co_await ws->async_accept(req, asio::use_awaitable);
    ws->binary(true);
    auto channel = std::make_shared<WebSocketChannel>(ws);
    if (proto == kTunnel) {
      co_await servePortForward(channel, std::move(po));
    } else {
      co_await servePortForwardChannels(channel, std::move(ports), std::move(po));
    }
    co_return true;
  }
  if (!spdyUpgrade(req)) {
    co_await sendReply(*stream, replyStatus(req, 400, "BadRequest", "Upgrade request required"));
    co_return false;
  }
  if (!offeredVersion(req, kProtocol)) {
    co_await sendReply(*stream,
                       replyStatus(req, 403, "Forbidden",
                                   "unable to upgrade: unable to negotiate protocol: server "
                                   "supports [" +
                                       kProtocol + "]"));
    co_return false;
  }
  co_await switchToSpdy(*stream, req, kProtocol);
  auto leftover = beast::buffers_to_string(buf.data());
  buf.consume(buf.size());
  co_await servePortForward(std::make_shared<RawChannel>(stream, std::move(leftover)),
                            std::move(po));
  co_return true;
}

}  // namespace skiff::agent::kubelet_api
