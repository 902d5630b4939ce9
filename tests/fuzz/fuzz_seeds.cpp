// Writes the seed corpora (tests/fuzz/corpus/<target>/) from the project's
// own encoders, so every seed is a real, valid message in the layout its
// fuzz target reads (mode bytes included). Run once when a target's input
// layout changes:
//   cmake --build build-fuzz --target fuzz_seeds && build-fuzz/tests/fuzz/fuzz_seeds
//   tests/fuzz/corpus
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <string>
#include <vector>

#include "autonat/protocol.hpp"
#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "core/varint.hpp"
#include "fuzz/fuzz_keys.hpp"
#include "identify/identify.hpp"
#include "ipns.pb.h"
#include "kad/protocol.hpp"
#include "multistream/codec.hpp"
#include "noise/payload.hpp"
#include "relay/protocol.hpp"
#include "relay/signed_envelope.hpp"
#include "relay/voucher.hpp"
#include "tls/certificate.hpp"
#include "tls/signed_key.hpp"
#include "unit/tls/spec_vectors.hpp"
#include "yamux/frame.hpp"

namespace {

using namespace mp;
namespace fs = std::filesystem;

fs::path g_root;

void write(const std::string& target, const std::string& name, BytesView bytes) {
  const fs::path dir = g_root / target;
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

Bytes cat(std::initializer_list<BytesView> parts) {
  Bytes out;
  for (auto p : parts) append(out, p);
  return out;
}

Bytes byte(std::uint8_t b) {
  return Bytes{b};
}

Bytes prefixed(BytesView b) {
  return cat({varint::encode(b.size()), b});
}

Multiaddr ma(const std::string& s) {
  return Multiaddr::parse(s).value();
}

PeerId hashed_peer(std::uint8_t n) {
  Bytes mh(34, n);
  mh[0] = 0x12;
  mh[1] = 0x20;
  return PeerId::from_bytes(mh).value();
}

template <typename M>
Bytes serialize(const M& m) {
  Bytes out(m.ByteSizeLong());
  m.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_seeds <corpus dir>\n";
    return 2;
  }
  g_root = argv[1];
  const PeerId id = PeerId::from_public_key(fuzz::identity_key(1).public_key());
  const std::vector<std::string> addr_texts = {
      "/ip4/1.2.3.4/tcp/4001",
      "/ip6/2001:db8::1/tcp/4001/p2p/" + id.to_base58(),
      "/dns4/boot.example.com/tcp/443/wss",
      "/ip4/1.2.3.4/udp/4001/quic-v1/webtransport/certhash/"
      "uEiAkH5a4DPGKUuOBjYw0CgwjvcJCJMD2K_1aluKR_tpevQ",
      "/ip4/5.6.7.8/tcp/4001/p2p/" + id.to_base58() + "/p2p-circuit/p2p/" +
          hashed_peer(9).to_base58(),
      "/ip6zone/eth0/ip6/fe80::1/tcp/80/http",
      "/dnsaddr/bootstrap.libp2p.io",
  };

  for (std::uint64_t v :
       {0ull, 1ull, 127ull, 128ull, 300ull, 65535ull, 1ull << 62, (1ull << 63) - 1}) {
    write("varint", std::to_string(v), varint::encode(v));
  }

  for (std::size_t i = 0; i < addr_texts.size(); ++i) {
    const Multiaddr a = ma(addr_texts[i]);
    write("multiaddr_bytes", std::to_string(i), a.bytes());
    write("multiaddr_text", std::to_string(i), as_bytes(a.to_string()));
  }
  write("multiaddr_text", "ipfs", as_bytes("/ip4/1.2.3.4/tcp/1/ipfs/" + id.to_cid()));

  write("peer_id", "ed25519_bytes", cat({byte(0), id.bytes()}));
  write("peer_id", "sha256_bytes", cat({byte(0), hashed_peer(3).bytes()}));
  write("peer_id", "base58", cat({byte(1), as_bytes(id.to_base58())}));
  write("peer_id", "cid", cat({byte(1), as_bytes(id.to_cid())}));
  write("peer_id", "qm", cat({byte(1), as_bytes(hashed_peer(4).to_base58())}));

  {
    const Ed25519KeyPair& k = fuzz::identity_key(1);
    const Bytes msg = to_bytes("mepassa fuzz message");
    write("public_key", "ed25519_signed",
          cat({prefixed(k.public_key().to_protobuf()), k.sign(msg)}));
    write("public_key", "ed25519", k.public_key().to_protobuf());
    // secp256k1 (compressed point: the generator) and ECDSA/RSA shapes from the
    // spec's key vectors live in tests/unit/core/spec_key_vectors.hpp.
    Bytes secp = from_hex(
        "0802122102"
        "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
    write("public_key", "secp256k1", secp);
  }

  write("multistream", "noise",
        cat({byte(0), multistream::encode_message(multistream::kProtocolId),
             multistream::encode_message("/noise")}));
  write("multistream", "ls_then_yamux",
        cat({byte(3), multistream::encode_message(multistream::kProtocolId),
             multistream::encode_message("ls"), multistream::encode_message("/tls/1.0.0"),
             multistream::encode_message("/yamux/1.0.0"), as_bytes("early data")}));

  {
    const noise::LocalIdentity local(fuzz::identity_key(1), {"/yamux/1.0.0"});
    write("noise_payload", "signed_muxers", cat({byte(1), local.payload()}));
    write("noise_payload", "expected", cat({byte(3 | 0x10), local.payload()}));
    write("noise_payload", "raw", cat({byte(0), local.payload()}));
    write("noise_responder", "crafted_signed", cat({byte(3), prefixed(local.payload())}));
    write("noise_responder", "crafted_transport",
          cat({byte(7), prefixed(local.payload()), as_bytes("hello over noise")}));
    // A plausible message 1: length 32, an ephemeral key, then garbage for message 3.
    write("noise_responder", "raw_m1",
          cat({byte(0), Bytes{0, 32}, Bytes(32, 0x42), Bytes{0, 48}, Bytes(48, 7)}));
  }

  {
    auto header = [](yamux::FrameType t, std::uint16_t fl, std::uint32_t sid, std::uint32_t len) {
      Bytes out;
      yamux::append_header(out, yamux::FrameHeader{t, fl, sid, len});
      return out;
    };
    const Bytes max = {0x00, 0x04, 0x00, 0x00};
    write("yamux_frame", "data",
          cat({max, header(yamux::FrameType::data, yamux::flags::syn, 1, 5)}));
    write("yamux_frame", "ping",
          cat({max, header(yamux::FrameType::ping, yamux::flags::syn, 0, 7)}));
    write("yamux_frame", "go_away", cat({max, header(yamux::FrameType::go_away, 0, 0, 0)}));
    write("yamux_frame", "window",
          cat({max, header(yamux::FrameType::window_update, yamux::flags::ack, 2, 1 << 16)}));
    // The session: the remote opens streams, sends data, pings, window updates, FIN, RST, GoAway.
    const Bytes session =
        cat({header(yamux::FrameType::window_update, yamux::flags::syn, 2, 0),
             header(yamux::FrameType::data, 0, 2, 5), as_bytes("hello"),
             header(yamux::FrameType::data, yamux::flags::syn, 4, 3), as_bytes("abc"),
             header(yamux::FrameType::ping, yamux::flags::syn, 0, 42),
             header(yamux::FrameType::window_update, 0, 2, 4096),
             header(yamux::FrameType::data, yamux::flags::fin, 2, 0),
             header(yamux::FrameType::window_update, yamux::flags::rst, 4, 0),
             header(yamux::FrameType::go_away, 0, 0, 0)});
    write("yamux_session", "server", cat({byte(0x20 | (4 << 1)), session}));
    write("yamux_session", "server_chunked", cat({byte(0x00 | (2 << 1)), session}));
    const Bytes client =
        cat({header(yamux::FrameType::data, yamux::flags::syn, 1, 2), as_bytes("hi"),
             header(yamux::FrameType::ping, yamux::flags::syn, 0, 1)});
    write("yamux_session", "client", cat({byte(0x21 | (6 << 1)), client}));
  }

  {
    identify::Info info;
    info.protocol_version = "/ipfs/0.1.0";
    info.agent_version = "js-libp2p/1.0.0";
    info.public_key = fuzz::identity_key(2).public_key();
    for (const auto& t : addr_texts) info.listen_addrs.push_back(ma(t));
    info.observed_addr = ma("/ip4/9.9.9.9/tcp/1234");
    info.protocols = {"/ipfs/id/1.0.0", "/ipfs/kad/1.0.0", "/libp2p/circuit/relay/0.2.0/stop"};
    const Bytes msg = identify::encode(info);
    write("identify", "full", cat({byte(0), msg}));
    write("identify", "full_stream", cat({byte(3), msg}));
    info.public_key = fuzz::identity_key(1).public_key();
    write("identify", "other_key", cat({byte(1), identify::encode(info)}));
  }

  {
    using namespace mp::kad;
    auto req = [](std::uint8_t sender, const Message& m) {
      return cat({byte(sender), prefixed(encode_message(m))});
    };
    const PeerId sender1 = hashed_peer(1);
    std::string pk_key = "/pk/";
    pk_key += as_string(id.bytes());
    PeerInfo self{sender1, {ma("/ip4/7.7.7.7/tcp/4001")}};
    const Bytes mh = hashed_peer(77).bytes();
    const Bytes all_types = cat(
        {req(0, make_find_node(hashed_peer(14).bytes())), req(1, make_ping()),
         req(0, make_put_value(as_bytes(pk_key), fuzz::identity_key(1).public_key().to_protobuf())),
         req(2, make_get_value(as_bytes(pk_key))), req(0, make_add_provider(mh, self)),
         req(3, make_get_providers(mh)),
         req(1, make_put_value(as_bytes("/other/x"), as_bytes("v")))});
    write("kad_handle", "all_types", cat({byte(0), all_types}));
    write("kad_handle", "all_types_stream", cat({byte(2), all_types}));
    write("kad_handle", "find_self",
          cat({byte(1), req(0, make_find_node(hashed_peer(0).bytes()))}));
  }

  {
    using namespace mp::relay;
    pb::HopMessage reserve;
    reserve.set_type(pb::HopMessage::RESERVE);
    pb::HopMessage connect;
    connect.set_type(pb::HopMessage::CONNECT);
    connect.mutable_peer()->set_id(std::string(as_string(id.bytes())));
    connect.mutable_peer()->add_addrs(std::string(as_string(ma("/ip4/1.2.3.4/tcp/1").bytes())));
    const CircuitLimit limit{std::chrono::seconds(120), 1 << 20};
    const Voucher v{PeerId::from_public_key(fuzz::identity_key(1).public_key()), hashed_peer(5),
                    1700000000};
    const Bytes ops = {0, 1, 0, 9, 4, 2, 1, 1, 3, 200, 2, 1, 4, 17, 5, 0, 0, 33};
    write("relay", "reserve", cat({byte(0), prefixed(encode(reserve)), ops}));
    write("relay", "connect", cat({byte(0), prefixed(encode(connect)), ops}));
    write(
        "relay", "reservation_ok",
        cat({byte(0),
             prefixed(encode(hop_reservation_ok(1700000000, {ma("/ip4/1.2.3.4/tcp/4001")},
                                                sign_voucher(fuzz::identity_key(1), v), limit)))}));
    write("relay", "stop_connect", cat({byte(1), prefixed(encode(stop_connect(id, limit)))}));

    write("envelope", "voucher", cat({byte(0x10), sign_voucher(fuzz::identity_key(1), v)}));
    write("envelope", "voucher_resealed",
          cat({byte(0x11), sign_voucher(fuzz::identity_key(2), v)}));
    write("envelope", "other_payload",
          cat({byte(0),
               seal_envelope(fuzz::identity_key(1), "libp2p-routing-state",
                             as_bytes("/libp2p/routing-state-record"), as_bytes("payload"))}));
  }

  {
    autonat::pb::Message m;
    m.set_type(autonat::pb::Message::DIAL);
    auto* peer = m.mutable_dial()->mutable_peer();
    peer->set_id(std::string(as_string(hashed_peer(5).bytes())));
    for (const char* a : {"/ip4/1.2.3.4/tcp/4001", "/ip4/1.2.3.4/tcp/4002/p2p/",
                          "/ip6/2001:4860::1/tcp/4001", "/ip4/127.0.0.1/tcp/4001",
                          "/ip4/1.2.3.4/tcp/4001/p2p-circuit", "/ip4/192.168.1.7/tcp/9"}) {
      std::string text = a;
      if (text.back() == '/') text += hashed_peer(5).to_base58();
      peer->add_addrs(std::string(as_string(ma(text).bytes())));
    }
    const Bytes msg = autonat::encode(m);
    write("autonat", "ip4", cat({byte(0), msg}));
    write("autonat", "ip6", cat({byte(1), msg}));
    write("autonat", "private_allowed", cat({byte(2 | 8), msg}));
    write("autonat", "relayed", cat({byte(4), msg}));
  }

  {
    // IPNS: data is the DAG-CBOR map {Value, Validity, ValidityType, Sequence, TTL}.
    const Bytes cbor = from_hex(
        "a5"
        "6556616c7565"
        "51"
        "2f697066732f516d5465737456616c7565"  // "Value": b"/ipfs/QmTestValue"
        "6856616c6964697479"
        "58"
        "1e"
        "323033302d30312d30315430303a30303a30302e3030303030303030305a"
        "6c56616c69646974795479706500"
        "6853657175656e636507"  // "Sequence": 7
        "6354544c1b0000000ba43b7400");
    kad::pb::IpnsEntry e;
    e.set_value("/ipfs/QmTestValue");
    e.set_sequence(7);
    e.set_validitytype(kad::pb::IpnsEntry::EOL);
    e.set_validity("2030-01-01T00:00:00.000000000Z");
    e.set_data(std::string(as_string(cbor)));
    std::string to_sign = "ipns-signature:";
    to_sign += e.data();
    const Bytes sig = fuzz::identity_key(3).sign(as_bytes(to_sign));
    e.set_signaturev2(sig.data(), sig.size());
    write("ipns", "signed", cat({byte(0), serialize(e)}));
    write("ipns", "resign_pubkey", cat({byte(5), serialize(e)}));
    write("ipns", "pk", cat({byte(2), fuzz::identity_key(3).public_key().to_protobuf()}));
  }

  {
    auto row = [](const std::string& peer, const std::string& addr, std::uint8_t rep,
                  std::uint8_t seen) {
      return cat({prefixed(as_bytes(peer)), prefixed(as_bytes(addr)), Bytes{rep, seen}});
    };
    const std::string p1 = id.to_base58(), p2 = hashed_peer(6).to_base58();
    write(
        "stored_row", "rows",
        cat({row(p1, "/ip4/1.2.3.4/tcp/4001", 16, 100),
             row(p1, "/ip6/2001:db8::1/tcp/4001/p2p/" + p1, 32, 10),
             row(p2, "/dns4/a.example/tcp/1", 8, 5), row("not a peer", "/ip4/1.2.3.4/tcp/1", 16, 1),
             row(p2, "/ip4/999.1.1.1/tcp/1", 16, 1),
             row(id.to_cid(), "/ip4/4.4.4.4/tcp/4001", 16, 2)}));
  }

  {  // tls_certificate: ours (Ed25519 host key), critical extension, expired, no extension.
    const Ed25519KeyPair& k = fuzz::identity_key(1);
    write("tls_certificate", "ours", tls::make_certificate(k).value().cert_der);
    tls::CertificateSpec spec;
    spec.host_public_key = k.public_key().to_protobuf();
    spec.sign = [&k](BytesView m) { return k.sign(m); };
    spec.extension_critical = true;
    write("tls_certificate", "critical", tls::make_certificate(spec).value().cert_der);
    spec.not_before = std::chrono::hours(-2);
    spec.not_after = std::chrono::hours(-1);
    write("tls_certificate", "expired", tls::make_certificate(spec).value().cert_der);
    spec = {};
    spec.with_extension = false;
    write("tls_certificate", "no_extension", tls::make_certificate(spec).value().cert_der);
    write("tls_certificate", "spec_ecdsa", from_hex(tls::test_vectors::kEcdsaVector));
    write("tls_certificate", "spec_secp256k1", from_hex(tls::test_vectors::kSecp256k1Vector));
    write("tls_certificate", "signed_key",
          tls::encode_signed_key({k.public_key().to_protobuf(), k.sign(to_bytes("m"))}));
  }
  return 0;
}
