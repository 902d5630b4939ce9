#include "autonat/v2_protocol.hpp"

#include "autonat/protocol.hpp"

namespace mp::autonat::v2 {
namespace {

template <typename M>
std::optional<M> parse(BytesView bytes) {
  M m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  return m;
}

}  // namespace

std::optional<pb::Message> decode(BytesView bytes) {
  return parse<pb::Message>(bytes);
}

std::optional<pb::DialBackResponse> decode_dial_back_response(BytesView bytes) {
  return parse<pb::DialBackResponse>(bytes);
}

Bytes encode(const google::protobuf::MessageLite& m) {
  Bytes out(m.ByteSizeLong());
  m.SerializeWithCachedSizesToArray(out.data());
  return out;
}

pb::Message dial_response(ResponseStatus status, std::uint32_t index, DialStatus dial) {
  pb::Message m;
  auto* r = m.mutable_dialresponse();
  r->set_status(status);
  r->set_addridx(index);
  r->set_dialstatus(dial);
  return m;
}

pb::Message dial_data_request(std::uint32_t index, std::uint64_t num_bytes) {
  pb::Message m;
  auto* r = m.mutable_dialdatarequest();
  r->set_addridx(index);
  r->set_numbytes(num_bytes);
  return m;
}

pb::DialBack dial_back(std::uint64_t nonce) {
  pb::DialBack m;
  m.set_nonce(nonce);
  return m;
}

const char* response_status_name(ResponseStatus s) {
  switch (s) {
    case pb::DialResponse::OK: return "ok";
    case pb::DialResponse::E_REQUEST_REJECTED: return "request_rejected";
    case pb::DialResponse::E_DIAL_REFUSED: return "dial_refused";
    case pb::DialResponse::E_INTERNAL_ERROR: return "internal_error";
    default: return "unknown";
  }
}

const char* dial_status_name(DialStatus s) {
  switch (s) {
    case pb::OK: return "ok";
    case pb::E_DIAL_ERROR: return "dial_error";
    case pb::E_DIAL_BACK_ERROR: return "dial_back_error";
    case pb::UNUSED: return "unused";
    default: return "unknown";
  }
}

Selection select_address(const pb::DialRequest& request, const RequestContext& ctx) {
  if (ctx.relayed) return Rejected{pb::DialResponse::E_REQUEST_REJECTED, "request over a relayed connection"};
  for (int i = 0; i < request.addrs_size(); ++i) {
    auto a = Multiaddr::from_bytes(as_bytes(request.addrs(i)));
    if (!a) continue;
    auto d = dialable(*a, ctx.can_dial_quic);
    if (!d) continue;
    auto& [addr, ip] = *d;
    const bool ip6 = addr.components().front().proto == Proto::kIp6;
    if (ip6 ? !ctx.can_dial_ip6 : !ctx.can_dial_ip4) continue;
    if (!ctx.allow_private && addr.is_private_or_local()) continue;
    const bool other_ip = ip != ctx.observed_ip;
    return Selected{static_cast<std::uint32_t>(i), std::move(addr), other_ip};
  }
  return Rejected{pb::DialResponse::E_DIAL_REFUSED, "no address we are willing to dial"};
}

bool DialDataCount::add(const pb::Message& m) {
  if (!m.has_dialdataresponse()) return false;
  received_ += m.dialdataresponse().data().size();
  return true;
}

}  // namespace mp::autonat::v2
