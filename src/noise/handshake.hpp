// The libp2p Noise handshake (libp2p/specs noise/README.md) as a pure state
// machine: XX with an empty prologue, our signed payload in the first message
// that guarantees secrecy (message 2 for the responder, 3 for the initiator),
// and the remote payload verified as soon as it arrives. No sockets: the
// caller moves message bodies (without the 2-byte length prefix) in and out.
//
//   Handshake hs = Handshake::initiator(local, expected_peer);
//   while (!hs.is_complete())
//     hs.is_my_turn() ? hs.write_message(out) : hs.read_message(in);
//   Result<HandshakeResult> r = std::move(hs).finish();
//
// Any error is final: the connection must be closed.
#pragma once

#include <optional>

#include "noise/cipher_state.hpp"
#include "noise/error.hpp"
#include "noise/payload.hpp"
#include "noise/xx_handshake.hpp"

namespace mp::noise {

struct HandshakeResult {
  CipherState send;  // encrypts what we write
  CipherState recv;  // decrypts what we read
  RemoteIdentity remote;
};

class Handshake {
 public:
  // `local` must outlive the Handshake (it is the process-wide identity).
  // `ephemeral` is injectable for tests; normally fresh per handshake.
  Handshake(Role role, const LocalIdentity& local, const std::optional<PeerId>& expected_remote,
            std::optional<X25519KeyPair> ephemeral = std::nullopt);

  // Dialer side; fails the handshake if the remote's identity is not `expected`.
  static Handshake initiator(const LocalIdentity& local,
                             const std::optional<PeerId>& expected = std::nullopt) {
    return Handshake(Role::kInitiator, local, expected);
  }
  // Listener side.
  static Handshake responder(const LocalIdentity& local) {
    return Handshake(Role::kResponder, local, std::nullopt);
  }

  bool is_my_turn() const { return !failed_ && xx_.is_my_turn(); }
  bool is_complete() const { return xx_.is_complete() && !failed_; }
  // Handshake messages written and read so far (0..3).
  int messages() const { return xx_.step(); }

  // Appends our next handshake message to `out`.
  Status write_message(Bytes& out);
  // Processes the remote's next handshake message; its payload is verified
  // here (signature, key type, expected Peer ID).
  Status read_message(BytesView message);

  // Why the last write_message/read_message failed (handshake_failed,
  // invalid_payload or peer_id_mismatch).
  std::error_code error_code() const { return error_; }

  // The remote identity, once its payload was verified.
  const std::optional<RemoteIdentity>& remote() const { return remote_; }

  Result<HandshakeResult> finish() &&;

 private:
  const LocalIdentity* local_;
  PeerId expected_;  // empty: any peer
  XXHandshake xx_;
  std::optional<RemoteIdentity> remote_;
  Bytes payload_buf_;
  bool failed_ = false;
  std::error_code error_ = Errc::handshake_failed;
};

}  // namespace mp::noise
