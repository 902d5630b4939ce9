// DatagramBatch: receives up to kSlots datagrams from a non-blocking UDP
// socket in one recvmmsg(2) call, so a busy listener pays one system call
// for many datagrams instead of one each. The slots are owned by the batch
// (one per listening socket, kSlots * kSlotSize bytes); a view returned by
// data() is valid until the next receive(). A datagram larger than a slot is
// cut by the kernel and flagged truncated(): QUIC packets fit a path MTU
// and we never advertise a larger max_udp_payload_size, so it is dropped.
#pragma once

#include <sys/socket.h>

#include <array>
#include <asio/ip/udp.hpp>
#include <cstdint>

#include "core/bytes.hpp"

namespace mp::quic {

class DatagramBatch {
 public:
  static constexpr std::size_t kSlots = 16;
  static constexpr std::size_t kSlotSize = 2048;

  DatagramBatch();
  DatagramBatch(const DatagramBatch&) = delete;
  DatagramBatch& operator=(const DatagramBatch&) = delete;

  // Reads what is queued on `fd`, at most kSlots datagrams, without
  // blocking. Returns how many were read (0 when none were queued), or -1
  // with errno set on another error (ICMP errors reported on the socket).
  int receive(int fd);

  BytesView data(std::size_t i) const {
    return BytesView(buffers_[i].data(), lengths_[i]);
  }
  bool truncated(std::size_t i) const { return truncated_[i]; }
  // The sender of datagram i.
  asio::ip::udp::endpoint from(std::size_t i) const;

 private:
  std::array<std::array<std::uint8_t, kSlotSize>, kSlots> buffers_;
  std::array<sockaddr_storage, kSlots> names_{};
  std::array<std::size_t, kSlots> lengths_{};
  std::array<bool, kSlots> truncated_{};
  std::array<socklen_t, kSlots> name_lengths_{};
};

}  // namespace mp::quic
