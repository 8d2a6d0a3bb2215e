#pragma once

// Owners of libnl objects: a unique_ptr per type with its free (or put) function. The rtnetlink,
// conntrack and IPVS generic-netlink code hold sockets and messages through the same ones.

#include <memory>

#include <netlink/msg.h>
#include <netlink/socket.h>

namespace skiff::netproxy::sys {

template <typename T, void (*Free)(T*)>
struct LibnlDeleter {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using LibnlPtr = std::unique_ptr<T, LibnlDeleter<T, Free>>;

using NlSocket = LibnlPtr<nl_sock, nl_socket_free>;
using NlMsg = LibnlPtr<nl_msg, nlmsg_free>;

}  // namespace skiff::netproxy::sys
