#include "noise/handshake.hpp"

namespace mp::noise {

Handshake::Handshake(Role role, const LocalIdentity& local,
                     const std::optional<PeerId>& expected_remote,
                     std::optional<X25519KeyPair> ephemeral)
    : local_(&local),
      expected_(expected_remote ? *expected_remote : PeerId()),
      xx_(role, local.static_key(), BytesView{}, std::move(ephemeral)) {}

Status Handshake::write_message(Bytes& out) {
  // libp2p/specs noise/README.md: the initiator sends no payload in message 1
  // (it would be unencrypted); each side sends its payload in its first
  // message that guarantees secrecy.
  if (failed_) return make_error("noise: handshake already failed");
  const bool first = xx_.step() == 0;
  return xx_.write_message(first ? BytesView{} : BytesView(local_->payload()), out);
}

Status Handshake::read_message(BytesView message) {
  if (failed_) return make_error("noise: handshake already failed");
  payload_buf_.clear();
  if (Status st = xx_.read_message(message, payload_buf_); !st) return st;
  // Message 1 carries no libp2p payload: whatever is there is ignored.
  if (xx_.step() == 1) return {};
  Result<RemoteIdentity> remote = verify_payload(payload_buf_, *xx_.remote_static(), nullptr);
  if (!remote) {
    failed_ = true;
    error_ = Errc::invalid_payload;
    return remote.error();
  }
  if (!expected_.empty() && remote->peer_id != expected_) {
    failed_ = true;
    error_ = Errc::peer_id_mismatch;
    return make_error("noise: remote peer id " + remote->peer_id.to_string() +
                      " does not match expected " + expected_.to_string());
  }
  remote_ = std::move(*remote);
  return {};
}

Result<HandshakeResult> Handshake::finish() && {
  if (failed_ || !remote_ || !xx_.is_complete()) return make_error("noise: handshake not complete");
  auto ciphers = xx_.split();
  if (!ciphers) return ciphers.error();
  return HandshakeResult{std::move(ciphers->first), std::move(ciphers->second),
                         std::move(*remote_)};
}

}  // namespace mp::noise
