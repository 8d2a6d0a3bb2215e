#include "udp_batch.h"

#include <cerrno>

namespace skiff::agent::dns {

UdpBatch::UdpBatch() {
  out_bytes_.reserve(kSize);
  out_to_.reserve(kSize);
}

int UdpBatch::receive(int fd) {
  for (std::size_t i = 0; i < kSize; ++i) {
    in_iov_[i] = {bufs_[i].data(), bufs_[i].size()};
    in_[i] = {};
    in_[i].msg_hdr.msg_iov = &in_iov_[i];
    in_[i].msg_hdr.msg_iovlen = 1;
    in_[i].msg_hdr.msg_name = &from_[i];
    in_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
  }
  int n = ::recvmmsg(fd, in_.data(), kSize, MSG_DONTWAIT, nullptr);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
  for (int i = 0; i < n; ++i) {
    lens_[i] = in_[i].msg_len;
    truncated_[i] = (in_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    from_len_[i] = in_[i].msg_hdr.msg_namelen;
  }
  return n;
}

void UdpBatch::reply(std::size_t i, std::vector<std::uint8_t> reply) {
  if (reply.empty()) return;
  out_bytes_.push_back(std::move(reply));
  out_to_.push_back(i);
}

void UdpBatch::flush(int fd) {
  std::array<iovec, kSize> iov{};
  std::array<mmsghdr, kSize> out{};
  std::size_t n = out_bytes_.size();
  for (std::size_t k = 0; k < n; ++k) {
    iov[k] = {out_bytes_[k].data(), out_bytes_[k].size()};
    out[k].msg_hdr.msg_iov = &iov[k];
    out[k].msg_hdr.msg_iovlen = 1;
    out[k].msg_hdr.msg_name = &from_[out_to_[k]];
    out[k].msg_hdr.msg_namelen = from_len_[out_to_[k]];
  }
  std::size_t sent = 0;
  while (sent < n) {
    int r = ::sendmmsg(fd, out.data() + sent, static_cast<unsigned>(n - sent), MSG_DONTWAIT);
    if (r < 0 && errno == EINTR) continue;
    // The first message failed (r < 0): skip it and go on with the rest.
    sent += r > 0 ? static_cast<std::size_t>(r) : 1;
  }
  out_bytes_.clear();
  out_to_.clear();
}

}  // namespace skiff::agent::dns
