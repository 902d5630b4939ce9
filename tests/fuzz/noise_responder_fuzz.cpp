// The Noise XX responder (noise/noise_stream.hpp secure_inbound, framing.hpp,
// handshake.hpp) fed with attacker bytes. Input: mode byte || rest.
//  - mode even: `rest` is the raw connection, read through the real framing
//    by secure_inbound in chunks of (mode / 2 % 32 + 1) bytes. Without the
//    initiator's keys this reaches message 1 and the failure of message 3.
//  - mode odd: an in-process initiator with fixed keys runs a real XX
//    handshake with the responder state machine, carrying
//    rest = varint(len) || payload || transport bytes. The payload goes into
//    message 3 (with a valid signature put in when bit 1 of mode is set), so
//    the responder's payload checks see attacker-chosen protobuf; if the
//    handshake completes, the transport bytes are read through NoiseStream
//    (bit 2: as frames encrypted by the initiator, else raw).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/varint.hpp"
#include "fuzz/drive.hpp"
#include "fuzz/fuzz_check.hpp"
#include "fuzz/fuzz_keys.hpp"
#include "noise/framing.hpp"
#include "noise/handshake.hpp"
#include "noise/noise_stream.hpp"
#include "payload.pb.h"
#include "support/scripted_stream.hpp"

namespace {

using namespace mp;

const noise::LocalIdentity& local() {
  static const noise::LocalIdentity id(fuzz::identity_key(0), {},
                                       noise::X25519KeyPair::from_private(noise::Key32{9}));
  return id;
}

asio::awaitable<void> inbound(Bytes raw, std::size_t chunk) {
  auto stream = std::make_unique<test::ScriptedStream>(std::move(raw), chunk);
  auto secured = co_await noise::secure_inbound(std::move(stream), local());
  // Random bytes cannot complete a handshake with our ephemeral key.
  MP_FUZZ_CHECK(false);
}

asio::awaitable<void> drain(std::unique_ptr<noise::NoiseStream> s) {
  Bytes buf(4096);
  for (int i = 0; i < 1000; ++i) {
    if (co_await s->read_some(buf) == 0) co_return;
  }
}

void crafted(std::uint8_t mode, BytesView rest) {
  auto len = varint::decode(rest);
  if (!len || len->value > rest.size() - len->size) return;
  BytesView payload = rest.subspan(len->size, len->value);
  const BytesView transport = rest.subspan(len->size + len->value);

  const Ed25519KeyPair& ikey = fuzz::identity_key(1);
  const auto istatic = noise::X25519KeyPair::from_private(noise::Key32{11});
  Bytes signed_payload;
  if (mode & 2) {
    noise::pb::NoiseHandshakePayload msg;
    if (!msg.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return;
    Bytes to_sign = to_bytes(noise::kStaticKeySignaturePrefix);
    append(to_sign, istatic.public_key);
    const Bytes sig = ikey.sign(to_sign);
    const Bytes pub = ikey.public_key().to_protobuf();
    msg.set_identity_key(pub.data(), pub.size());
    msg.set_identity_sig(sig.data(), sig.size());
    signed_payload.resize(msg.ByteSizeLong());
    MP_FUZZ_CHECK(
        msg.SerializeToArray(signed_payload.data(), static_cast<int>(signed_payload.size())));
    payload = signed_payload;
  }
  if (payload.size() > noise::kMaxMessageLen - 64) return;

  noise::XXHandshake initiator(noise::Role::kInitiator, istatic, {},
                               noise::X25519KeyPair::from_private(noise::Key32{13}));
  noise::Handshake responder(noise::Role::kResponder, local(), std::nullopt,
                             noise::X25519KeyPair::from_private(noise::Key32{15}));
  Bytes m1, m2, m3, ignored;
  MP_FUZZ_CHECK(initiator.write_message({}, m1).ok());
  MP_FUZZ_CHECK(responder.read_message(m1).ok());
  MP_FUZZ_CHECK(responder.write_message(m2).ok());
  MP_FUZZ_CHECK(initiator.read_message(m2, ignored).ok());
  MP_FUZZ_CHECK(initiator.write_message(payload, m3).ok());
  const bool accepted = responder.read_message(m3).ok();
  if (mode & 2) MP_FUZZ_CHECK(accepted);  // a valid signature over the right key
  if (!accepted) return;
  MP_FUZZ_CHECK(responder.is_complete());
  auto result = std::move(responder).finish();
  MP_FUZZ_CHECK(result.ok());
  MP_FUZZ_CHECK(result->remote.peer_id == PeerId::from_public_key(ikey.public_key()) ||
                !(mode & 2));

  Bytes wire;
  if (mode & 4) {
    auto ciphers = initiator.split();
    MP_FUZZ_CHECK(ciphers.ok());
    for (std::size_t off = 0; off < transport.size(); off += 1000) {
      const BytesView plain =
          transport.subspan(off, std::min<std::size_t>(1000, transport.size() - off));
      MP_FUZZ_CHECK(noise::encrypt_frame(ciphers->first, plain, wire).ok());
    }
  } else {
    wire.assign(transport.begin(), transport.end());
  }
  asio::io_context io;
  auto stream = std::make_unique<noise::NoiseStream>(
      std::make_unique<test::ScriptedStream>(std::move(wire), 7), std::move(*result),
      noise::FrameReader{});
  bool done = false;
  fuzz::spawn_checked(io, drain(std::move(stream)), &done);
  fuzz::poll_bounded(io, 100000);
  MP_FUZZ_CHECK(done);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const BytesView rest(data + 1, size - 1);
  if (mode & 1) {
    crafted(mode, rest);
    return 0;
  }
  asio::io_context io;
  bool done = false;
  fuzz::spawn_checked(io, inbound(Bytes(rest.begin(), rest.end()), mode / 2 % 32 + 1), &done);
  fuzz::poll_bounded(io, 100000);
  MP_FUZZ_CHECK(done);
  return 0;
}
