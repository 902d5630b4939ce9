#include "relay/protocol.hpp"

namespace mp::relay {
namespace {

template <typename M>
std::optional<M> decode_message(BytesView bytes) {
  M m;
  // Partial parse + IsInitialized: a missing required field is a failure,
  // without protobuf logging an error line for every bad message a peer sends.
  if (!m.ParsePartialFromArray(bytes.data(), static_cast<int>(bytes.size())) || !m.IsInitialized()) {
    return std::nullopt;
  }
  return m;
}

template <typename M>
Bytes encode_message(const M& m) {
  Bytes out(m.ByteSizeLong());
  m.SerializeWithCachedSizesToArray(out.data());
  return out;
}

// libp2p/specs: an omitted Limit means "no limits"; send one only when we apply one.
template <typename M>
void set_limit(M& m, const CircuitLimit& limit) {
  if (limit.duration.count() == 0 && limit.data == 0) return;
  auto* out = m.mutable_limit();
  out->set_duration(static_cast<std::uint32_t>(limit.duration.count()));
  out->set_data(limit.data);
}

}  // namespace

const char* status_name(Status s) {
  switch (s) {
    case pb::OK: return "OK";
    case pb::RESERVATION_REFUSED: return "RESERVATION_REFUSED";
    case pb::RESOURCE_LIMIT_EXCEEDED: return "RESOURCE_LIMIT_EXCEEDED";
    case pb::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case pb::CONNECTION_FAILED: return "CONNECTION_FAILED";
    case pb::NO_RESERVATION: return "NO_RESERVATION";
    case pb::MALFORMED_MESSAGE: return "MALFORMED_MESSAGE";
    case pb::UNEXPECTED_MESSAGE: return "UNEXPECTED_MESSAGE";
  }
  return "UNKNOWN";
}

std::optional<pb::HopMessage> decode_hop(BytesView bytes) { return decode_message<pb::HopMessage>(bytes); }
std::optional<pb::StopMessage> decode_stop(BytesView bytes) { return decode_message<pb::StopMessage>(bytes); }
Bytes encode(const pb::HopMessage& m) { return encode_message(m); }
Bytes encode(const pb::StopMessage& m) { return encode_message(m); }

pb::HopMessage hop_status(Status s) {
  pb::HopMessage m;
  m.set_type(pb::HopMessage::STATUS);
  m.set_status(s);
  return m;
}

pb::HopMessage hop_reservation_ok(std::uint64_t expire_unix, const std::vector<Multiaddr>& addrs,
                                  BytesView voucher, const CircuitLimit& limit) {
  pb::HopMessage m = hop_status(pb::OK);
  auto* r = m.mutable_reservation();
  r->set_expire(expire_unix);
  for (const auto& a : addrs) r->add_addrs(a.bytes().data(), a.bytes().size());
  if (!voucher.empty()) r->set_voucher(voucher.data(), voucher.size());
  set_limit(m, limit);
  return m;
}

pb::HopMessage hop_connect_ok(const CircuitLimit& limit) {
  pb::HopMessage m = hop_status(pb::OK);
  set_limit(m, limit);
  return m;
}

pb::StopMessage stop_connect(const PeerId& initiator, const CircuitLimit& limit) {
  pb::StopMessage m;
  m.set_type(pb::StopMessage::CONNECT);
  m.mutable_peer()->set_id(initiator.bytes().data(), initiator.bytes().size());
  set_limit(m, limit);
  return m;
}

}  // namespace mp::relay
