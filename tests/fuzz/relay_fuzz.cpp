// Circuit Relay v2 (relay/protocol.hpp decode_hop / decode_stop, and the pure
// state the hop service keeps: relay/reservation_table.hpp,
// circuit_table.hpp). The hop glue itself needs live Hosts; what it does with
// a decoded message before any I/O is repeated here: a CONNECT's target Peer
// ID and addresses are decoded, and the message's sender/peer drive the
// tables. Input: flags byte || varint(len) || message || table operations.
// flags bit 0: the message is a StopMessage, else a HopMessage.
// Properties: an accepted message re-encodes and decodes to the same bytes;
// the tables never exceed RelayLimits in total, per peer or per IP, and
// count what they hold consistently.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/varint.hpp"
#include "fuzz/fuzz_check.hpp"
#include "relay/circuit_table.hpp"
#include "relay/protocol.hpp"
#include "relay/reservation_table.hpp"

namespace {

using namespace mp;
using namespace mp::relay;

PeerId peer(std::uint8_t n) {
  Bytes mh(34, n);
  mh[0] = 0x12;
  mh[1] = 0x20;
  return PeerId::from_bytes(mh).value();
}

void message(bool stop, BytesView body) {
  if (stop) {
    auto m = decode_stop(body);
    if (!m) return;
    const Bytes wire = encode(*m);
    auto again = decode_stop(wire);
    MP_FUZZ_CHECK(again.has_value());
    MP_FUZZ_CHECK(encode(*again) == wire);
    return;
  }
  auto m = decode_hop(body);
  if (!m) return;
  const Bytes wire = encode(*m);
  auto again = decode_hop(wire);
  MP_FUZZ_CHECK(again.has_value());
  MP_FUZZ_CHECK(encode(*again) == wire);
  if (m->has_peer()) {
    (void)PeerId::from_bytes(as_bytes(m->peer().id()));
    for (const auto& a : m->peer().addrs()) (void)Multiaddr::from_bytes(as_bytes(a));
  }
  if (m->has_reservation()) {
    for (const auto& a : m->reservation().addrs()) (void)Multiaddr::from_bytes(as_bytes(a));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool stop = data[0] & 1;
  BytesView in(data + 1, size - 1);
  if (auto len = varint::decode(in); len && len->value <= in.size() - len->size) {
    message(stop, in.subspan(len->size, len->value));
    in = in.subspan(len->size + len->value);
  }

  RelayLimits limits;
  limits.max_reservations = 6;
  limits.max_reservations_per_peer = 2;
  limits.max_reservations_per_ip = 3;
  limits.max_circuits = 6;
  limits.max_circuits_per_peer = 2;
  limits.max_circuits_per_ip = 3;
  limits.reservation_ttl = std::chrono::seconds(60);
  ReservationTable reservations(limits);
  CircuitTable circuits(limits);
  std::vector<CircuitTable::Circuit> open;
  auto now = ReservationTable::Clock::time_point{} + std::chrono::hours(1);
  // Each operation: op byte, arg byte.
  for (std::size_t i = 0; i + 1 < in.size() && i < 512; i += 2) {
    const std::uint8_t op = in[i], arg = in[i + 1];
    const PeerId p = peer(arg % 8);
    const std::string ip = "10.0.0." + std::to_string(arg / 8 % 4);
    switch (op % 6) {
      case 0:
        (void)reservations.reserve(p, ip, arg % 16, now);
        break;
      case 1:
        (void)reservations.find(p, now);
        break;
      case 2:
        (void)reservations.connection_closed(arg % 16);
        break;
      case 3:
        now += std::chrono::seconds(arg);
        (void)reservations.expire(now);
        break;
      case 4: {
        // Relay::handle_connect refuses src == dst before the table.
        CircuitTable::Circuit c{p, ip, peer(op / 8 % 8)};
        if (c.src != c.dst && circuits.open(c) == pb::OK) open.push_back(c);
        break;
      }
      case 5:
        if (!open.empty()) {
          circuits.close(open[arg % open.size()]);
          open.erase(open.begin() + static_cast<std::ptrdiff_t>(arg % open.size()));
        }
        break;
    }
    MP_FUZZ_CHECK(reservations.size() <= limits.max_reservations);
    MP_FUZZ_CHECK(reservations.count_for_peer(p) <= limits.max_reservations_per_peer);
    MP_FUZZ_CHECK(reservations.count_for_ip(ip) <= limits.max_reservations_per_ip);
    MP_FUZZ_CHECK(circuits.size() == open.size());
    MP_FUZZ_CHECK(circuits.size() <= limits.max_circuits);
    MP_FUZZ_CHECK(circuits.count_for_peer(p) <= limits.max_circuits_per_peer);
  }
  return 0;
}
