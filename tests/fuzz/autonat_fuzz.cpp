// AutoNAT v1 DIAL requests (autonat/protocol.hpp decode, plan_dial): the pure
// decision of which of the requester's addresses we would dial back.
// Input: flags byte || Message protobuf. flags pick the observed IP (IPv4,
// IPv6, loopback, IPv4-mapped), relayed (bit 2) and allow_private (bit 3).
// Properties (the spec's safety rule): a plan holds 1..kMaxDialAddrs distinct
// plain /ip4|ip6/<observed ip>/tcp/<port != 0> addresses, none private unless
// allowed; relayed requests are always refused; responses encode and decode.
#include <cstddef>
#include <cstdint>
#include <variant>

#include "autonat/protocol.hpp"
#include "fuzz/fuzz_check.hpp"

namespace {

mp::PeerId requester() {
  mp::Bytes mh(34, 5);
  mh[0] = 0x12;
  mh[1] = 0x20;
  return mp::PeerId::from_bytes(mh).value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mp;
  using namespace mp::autonat;
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  static const char* const ips[4] = {"1.2.3.4", "2001:4860::1", "127.0.0.1", "192.168.1.7"};
  DialRequestContext ctx{requester(), ips[flags % 4], (flags & 4) != 0, (flags & 8) != 0};
  auto request = decode(BytesView(data + 1, size - 1));
  if (!request) return 0;
  const DialPlan plan = plan_dial(*request, ctx);
  if (const auto* refuse = std::get_if<Refuse>(&plan)) {
    auto answer = decode(encode(dial_response(refuse->status, refuse->text)));
    MP_FUZZ_CHECK(answer.has_value());
    return 0;
  }
  MP_FUZZ_CHECK(!ctx.relayed);
  const auto& addrs = std::get<std::vector<Multiaddr>>(plan);
  MP_FUZZ_CHECK(!addrs.empty() && addrs.size() <= kMaxDialAddrs);
  for (std::size_t i = 0; i < addrs.size(); ++i) {
    const Multiaddr& a = addrs[i];
    MP_FUZZ_CHECK(a.components().size() == 2);
    auto ep = a.tcp_endpoint();
    MP_FUZZ_CHECK(ep && ep->first == ctx.observed_ip && ep->second != 0);
    MP_FUZZ_CHECK(ctx.allow_private || !a.is_private_or_local());
    for (std::size_t j = 0; j < i; ++j) MP_FUZZ_CHECK(!(addrs[j] == a));
    auto answer = decode(encode(dial_response(pb::Message::OK, "", &a)));
    MP_FUZZ_CHECK(answer.has_value());
  }
  return 0;
}
