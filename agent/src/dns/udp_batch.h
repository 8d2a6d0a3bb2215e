#pragma once

// Datagram batches for the DNS server's UDP socket: one recvmmsg(2) takes up to kSize queries,
// one sendmmsg(2) sends the replies to them. Under load this replaces two system calls and two
// trips through the event loop per query with two per batch, which is where a single-threaded
// server spends most of its time once answering itself is cheap.

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace skiff::agent::dns {

class UdpBatch {
 public:
  static constexpr std::size_t kSize = 32;
  // Queries are a few hundred bytes; a longer datagram is cut (MSG_TRUNC) and dropped, as a
  // server with a 512-byte buffer would (RFC 1035 §4.2.1 lets UDP queries be at most that).
  static constexpr std::size_t kMaxQuery = 4096;

  UdpBatch();

  // Reads what is queued on the non-blocking `fd` (at most kSize datagrams). Returns how many
  // were read, 0 when none was waiting (EAGAIN), -1 with errno on another error.
  int receive(int fd);
  const std::uint8_t* data(std::size_t i) const { return bufs_[i].data(); }
  std::size_t length(std::size_t i) const { return lens_[i]; }
  bool truncated(std::size_t i) const { return truncated_[i]; }
  const sockaddr_storage& source(std::size_t i) const { return from_[i]; }
  socklen_t sourceLength(std::size_t i) const { return from_len_[i]; }

  // Queues `reply` for the sender of datagram `i`; flush() sends all queued replies. The reply
  // bytes are moved in and kept until flush().
  void reply(std::size_t i, std::vector<std::uint8_t> reply);
  // Sends the queued replies; a reply the kernel refuses (full buffer, unreachable client) is
  // dropped, as a lost UDP reply would be: the client retries.
  void flush(int fd);

 private:
  std::array<std::array<std::uint8_t, kMaxQuery>, kSize> bufs_{};
  std::array<std::size_t, kSize> lens_{};
  std::array<bool, kSize> truncated_{};
  std::array<sockaddr_storage, kSize> from_{};
  std::array<socklen_t, kSize> from_len_{};
  std::array<iovec, kSize> in_iov_{};
  std::array<mmsghdr, kSize> in_{};
  std::vector<std::vector<std::uint8_t>> out_bytes_;
  std::vector<std::size_t> out_to_;
};

}  // namespace skiff::agent::dns
