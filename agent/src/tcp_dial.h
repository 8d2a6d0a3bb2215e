#pragma once

// Private to the agent: a TCP connect with a deadline from the node's network namespace, shared
// by the prober (tcpSocket, httpGet) and httpGet lifecycle hooks.

#include <string>

namespace skiff::agent {

// Returns a connected, non-blocking fd, or -1 with `why` set as Go's dialer words it
// ("dial tcp 10.0.0.1:80: connect: connection refused").
int dialTcp(const std::string& ip, int port, int timeout_ms, std::string& why);

}  // namespace skiff::agent
