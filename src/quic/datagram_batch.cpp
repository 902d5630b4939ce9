#include "quic/datagram_batch.hpp"

#include <cerrno>
#include <cstring>

namespace mp::quic {

DatagramBatch::DatagramBatch() = default;

int DatagramBatch::receive(int fd) {
  std::array<iovec, kSlots> iov;
  std::array<mmsghdr, kSlots> msgs{};
  for (std::size_t i = 0; i < kSlots; ++i) {
    iov[i].iov_base = buffers_[i].data();
    iov[i].iov_len = kSlotSize;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &names_[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
  }
  int n;
  do {
    n = ::recvmmsg(fd, msgs.data(), kSlots, MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
  for (int i = 0; i < n; ++i) {
    const auto& h = msgs[static_cast<std::size_t>(i)];
    lengths_[static_cast<std::size_t>(i)] = h.msg_len;
    truncated_[static_cast<std::size_t>(i)] = (h.msg_hdr.msg_flags & MSG_TRUNC) != 0;
    name_lengths_[static_cast<std::size_t>(i)] = h.msg_hdr.msg_namelen;
  }
  return n;
}

asio::ip::udp::endpoint DatagramBatch::from(std::size_t i) const {
  asio::ip::udp::endpoint ep;
  const std::size_t len = std::min<std::size_t>(name_lengths_[i], ep.capacity());
  std::memcpy(ep.data(), &names_[i], len);
  ep.resize(len);
  return ep;
}

}  // namespace mp::quic
