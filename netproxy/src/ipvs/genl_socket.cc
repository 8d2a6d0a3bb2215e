// The real generic-netlink transport: a libnl-genl socket in the current network namespace.
#include <linux/ip_vs.h>

#include <memory>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "../sys/libnl_ptr.h"
#include "skiff/netproxy/ipvs/ipvs.h"

namespace skiff::netproxy::ipvs {
namespace {

using sys::NlSocket;

Error nlError(int err, const std::string& what) {
  return Error(ErrorCode::Unavailable, what + ": " + nl_geterror(err));
}

class GenlSocket final : public GenlTransport {
 public:
  explicit GenlSocket(NlSocket s) : s_(std::move(s)) {}

  Result<uint16_t> resolveFamily() override {
    int id = genl_ctrl_resolve(s_.get(), IPVS_GENL_NAME);
    if (id < 0) return Error(ErrorCode::NotFound, nl_geterror(id));
    return static_cast<uint16_t>(id);
  }

  Result<std::vector<std::string>> roundTrip(const std::string& request) override {
    int rc = nl_sendto(s_.get(), const_cast<char*>(request.data()), request.size());
    if (rc < 0) return nlError(rc, "send IPVS request");
    std::vector<std::string> out;
    for (;;) {
      sockaddr_nl peer{};
      unsigned char* buf = nullptr;
      int n = nl_recv(s_.get(), &peer, &buf, nullptr);
      if (n <= 0) return nlError(n == 0 ? -NLE_FAILURE : n, "receive IPVS reply");
      std::unique_ptr<unsigned char, decltype(&free)> owned(buf, &free);
      auto* h = reinterpret_cast<nlmsghdr*>(buf);
      bool done = false;
      for (int left = n; nlmsg_ok(h, left); h = nlmsg_next(h, &left)) {
        out.emplace_back(reinterpret_cast<const char*>(h), h->nlmsg_len);
        // An ACK/error ends a request; NLMSG_DONE ends a dump; a non-multipart message is alone.
        if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE ||
            !(h->nlmsg_flags & NLM_F_MULTI))
          done = true;
      }
      if (done) return out;
    }
  }

 private:
  NlSocket s_;
};

}  // namespace

Result<std::unique_ptr<GenlTransport>> openGenlSocket() {
  NlSocket s(nl_socket_alloc());
  if (!s) return Error(ErrorCode::Internal, "allocate a netlink socket");
  if (int rc = genl_connect(s.get()); rc < 0) return nlError(rc, "connect generic netlink");
  // Dumps of many services are larger than the default receive buffer.
  nl_socket_set_msg_buf_size(s.get(), 1 << 16);
  return std::unique_ptr<GenlTransport>(std::make_unique<GenlSocket>(std::move(s)));
}

}  // namespace skiff::netproxy::ipvs
