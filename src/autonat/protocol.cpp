#include "autonat/protocol.hpp"

#include <algorithm>

#include "quic/address.hpp"

namespace mp::autonat {

std::optional<pb::Message> decode(BytesView bytes) {
  pb::Message m;
  if (!m.ParsePartialFromArray(bytes.data(), static_cast<int>(bytes.size())) || !m.IsInitialized()) {
    return std::nullopt;
  }
  return m;
}

Bytes encode(const pb::Message& m) {
  Bytes out(m.ByteSizeLong());
  m.SerializeWithCachedSizesToArray(out.data());
  return out;
}

pb::Message dial_response(ResponseStatus status, const std::string& text, const Multiaddr* addr) {
  pb::Message m;
  m.set_type(pb::Message::DIAL_RESPONSE);
  auto* r = m.mutable_dialresponse();
  r->set_status(status);
  if (!text.empty()) r->set_statustext(text);
  if (addr) r->set_addr(addr->bytes().data(), addr->bytes().size());
  return m;
}

const char* status_name(ResponseStatus s) {
  switch (s) {
    case pb::Message::OK: return "OK";
    case pb::Message::E_DIAL_ERROR: return "E_DIAL_ERROR";
    case pb::Message::E_DIAL_REFUSED: return "E_DIAL_REFUSED";
    case pb::Message::E_BAD_REQUEST: return "E_BAD_REQUEST";
    case pb::Message::E_INTERNAL_ERROR: return "E_INTERNAL_ERROR";
  }
  return "UNKNOWN";
}

std::optional<Multiaddr> plain_tcp(const Multiaddr& a) {
  if (a.is_circuit()) return std::nullopt;
  // Plain TCP only (our only transport): /ip4|ip6/X/tcp/N[/p2p/ID].
  const auto& comps = a.components();
  if (!(comps.size() == 2 || (comps.size() == 3 && comps[2].proto == Proto::kP2p))) return std::nullopt;
  auto ep = a.tcp_endpoint();
  if (!ep || ep->second == 0) return std::nullopt;
  Multiaddr plain = Multiaddr::ip_tcp(ep->first, ep->second);  // drops /p2p/
  if (plain.empty()) return std::nullopt;
  return plain;
}

std::optional<std::pair<Multiaddr, std::string>> dialable(const Multiaddr& a, bool quic) {
  if (auto tcp = plain_tcp(a)) {
    auto ip = tcp->tcp_endpoint()->first;
    return std::make_pair(std::move(*tcp), std::move(ip));
  }
  if (!quic || a.is_circuit()) return std::nullopt;
  // /ip4|ip6/X/udp/N/quic-v1[/p2p/ID] only: not /webtransport and the like.
  const auto& comps = a.components();
  if (!(comps.size() == 3 || (comps.size() == 4 && comps[3].proto == Proto::kP2p))) return std::nullopt;
  auto ep = quic::quic_endpoint(a);
  if (!ep || ep->second == 0) return std::nullopt;
  Multiaddr plain = quic::quic_multiaddr(ep->first, ep->second);
  if (plain.empty()) return std::nullopt;
  return std::make_pair(std::move(plain), std::move(ep->first));
}

DialPlan plan_dial(const pb::Message& request, const DialRequestContext& ctx) {
  if (ctx.relayed) return Refuse{pb::Message::E_DIAL_REFUSED, "refusing AutoNAT over a relayed connection"};
  if (!request.has_type() || request.type() != pb::Message::DIAL || !request.has_dial() ||
      !request.dial().has_peer()) {
    return Refuse{pb::Message::E_BAD_REQUEST, "expected a DIAL message with peer info"};
  }
  const auto& info = request.dial().peer();
  // go-libp2p and rust-libp2p require the id, when present, to be the
  // requester's own: we only dial back the peer that asked.
  if (info.has_id()) {
    auto id = PeerId::from_bytes(as_bytes(info.id()));
    if (!id || *id != ctx.requester) return Refuse{pb::Message::E_BAD_REQUEST, "peer id is not the requester's"};
  }
  std::vector<Multiaddr> out;
  bool saw_private = false;
  for (const auto& raw : info.addrs()) {
    auto a = Multiaddr::from_bytes(as_bytes(raw));
    if (!a) continue;
    auto d = dialable(*a, ctx.can_dial_quic);
    if (!d || d->second != ctx.observed_ip) continue;
    Multiaddr plain = std::move(d->first);
    if (!ctx.allow_private && plain.is_private_or_local()) {
      saw_private = true;
      continue;
    }
    if (std::find(out.begin(), out.end(), plain) != out.end()) continue;
    out.push_back(std::move(plain));
    if (out.size() == kMaxDialAddrs) break;
  }
  if (out.empty()) {
    return Refuse{pb::Message::E_DIAL_REFUSED,
                  saw_private ? "only private addresses on the observed IP"
                              : (ctx.can_dial_quic ? "no TCP or QUIC address on the observed IP"
                                                   : "no TCP address on the observed IP")};
  }
  return out;
}

}  // namespace mp::autonat
