// The subprotocol a websocket log read is answered with (log_websocket.h), as wsstream's
// handshake: the first supported one offered, plain binary when none is offered.
#include "log_websocket.h"

#include <gtest/gtest.h>

namespace skiff::master::server {
namespace {

TEST(LogWebSocketTest, ProtocolIsTheFirstSupportedOneOffered) {
  EXPECT_EQ(logWebSocketProtocol("binary.k8s.io"), "binary.k8s.io");
  EXPECT_EQ(logWebSocketProtocol("v4.channel.k8s.io, base64.binary.k8s.io, binary.k8s.io"),
            "base64.binary.k8s.io");
  EXPECT_EQ(logWebSocketProtocol(""), "");
  EXPECT_EQ(logWebSocketProtocol(" , "), "");
  EXPECT_EQ(logWebSocketProtocol("v4.channel.k8s.io"), std::nullopt);
}

}  // namespace
}  // namespace skiff::master::server
