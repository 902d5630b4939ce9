// The QUIC listener's stateless answers, without sockets (bench/README.md,
// "QUIC stateless defences"): what one spoofed Initial costs us when Retry
// is on (ngtcp2_accept, then a token and a Retry packet written), what a
// returned token costs to check, a Version Negotiation answer, and a
// Stateless Reset for a short header to an unknown connection. Numbers
// only; nothing is asserted.
#include <benchmark/benchmark.h>
#include <ngtcp2/ngtcp2.h>

#include <array>
#include <cstdint>
#include <vector>

#include "quic/address_validation.hpp"

namespace {

using mp::quic::RetryTokens;

// A client's first Initial as ngtcp2_accept reads it: 1200 bytes, an
// 8-byte Destination Connection ID (the packet's protected part is never
// looked at before a Retry).
std::vector<std::uint8_t> first_initial() {
  std::vector<std::uint8_t> d(1200, 0);
  const std::array<std::uint8_t, 6> head = {0xc0, 0, 0, 0, 1, 8};  // Initial, v1, DCID length
  std::copy(head.begin(), head.end(), d.begin());
  std::fill_n(d.begin() + 6, 8, 0x11);
  d[14] = 8;  // SCID length
  std::fill_n(d.begin() + 15, 8, 0x22);
  d[23] = 0;  // token length
  // Length (2-byte varint) covering the rest of the datagram.
  const std::size_t rest = d.size() - 26;
  d[24] = static_cast<std::uint8_t>(0x40 | (rest >> 8));
  d[25] = static_cast<std::uint8_t>(rest & 0xff);
  return d;
}

const asio::ip::udp::endpoint kClient(asio::ip::make_address("192.0.2.7"), 50000);

void BM_RetryAnswer(benchmark::State& state) {
  const RetryTokens tokens;
  const auto initial = first_initial();
  std::array<std::uint8_t, 1500> out{};
  std::size_t size = 0;
  for (auto _ : state) {
    ngtcp2_pkt_hd hd{};
    if (ngtcp2_accept(&hd, initial.data(), initial.size()) != 0) {
      state.SkipWithError("not accepted");
      break;
    }
    size = tokens.write_retry(out, hd, kClient, 1'000'000'000);
    benchmark::DoNotOptimize(size);
  }
  state.counters["retry_bytes"] = static_cast<double>(size);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RetryAnswer);

// The token of a Retry written by write_retry, and the Initial's header
// that brings it back (its DCID is the Retry's SCID).
void BM_RetryTokenVerify(benchmark::State& state) {
  const RetryTokens tokens;
  const auto initial = first_initial();
  ngtcp2_pkt_hd first{};
  ngtcp2_accept(&first, initial.data(), initial.size());
  std::array<std::uint8_t, 1500> retry{};
  const std::size_t n = tokens.write_retry(retry, first, kClient, 1'000'000'000);
  ngtcp2_pkt_hd hd{};
  // Retry: header, then the token up to the 16-byte integrity tag.
  if (n == 0 || ngtcp2_pkt_decode_hd_long(&hd, retry.data(), n) < 0) {
    state.SkipWithError("no Retry");
    return;
  }
  const std::size_t dcid_len = retry[5];
  const std::size_t scid_off = 6 + dcid_len;
  const std::size_t token_off = scid_off + 1 + retry[scid_off];
  std::vector<std::uint8_t> token(retry.begin() + static_cast<std::ptrdiff_t>(token_off),
                                  retry.begin() + static_cast<std::ptrdiff_t>(n - 16));
  ngtcp2_pkt_hd back{};
  back.version = NGTCP2_PROTO_VER_V1;
  back.dcid = hd.scid;
  back.scid = first.scid;
  back.token = ngtcp2_vec{token.data(), token.size()};
  bool ok = true;
  for (auto _ : state) {
    const auto odcid = tokens.verify(back, kClient, 2'000'000'000);
    ok = ok && odcid.has_value();
    benchmark::DoNotOptimize(odcid);
  }
  if (!ok) state.SkipWithError("token refused");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RetryTokenVerify);

void BM_VersionNegotiationAnswer(benchmark::State& state) {
  std::array<std::uint8_t, 1500> out{};
  const std::string dcid(8, '\x11');
  const std::string scid(8, '\x22');
  for (auto _ : state) {
    benchmark::DoNotOptimize(mp::quic::write_version_negotiation(out, dcid, scid, 1200));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VersionNegotiationAnswer);

void BM_StatelessResetAnswer(benchmark::State& state) {
  std::array<std::uint8_t, 1500> out{};
  const auto secret = mp::quic::derive_reset_secret(std::array<std::uint8_t, 32>{});
  const std::string dcid(16, '\x33');
  std::size_t n = 0;
  for (auto _ : state) {
    n = mp::quic::write_stateless_reset(out, secret, dcid, 1200);
    benchmark::DoNotOptimize(n);
  }
  if (n == 0) state.SkipWithError("no reset written");
  state.counters["reset_bytes"] = static_cast<double>(n);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StatelessResetAnswer);

}  // namespace

BENCHMARK_MAIN();
