#include "noise/xx_handshake.hpp"

#include <algorithm>
#include <string>

namespace mp::noise {
namespace {

constexpr std::size_t kEncryptedKeyLen = kDhLen + kTagLen;

Error truncated(int message_number) {
  return make_error("noise: handshake message " + std::to_string(message_number) + " truncated");
}

Key32 key_from(BytesView b) {
  Key32 k{};
  std::copy_n(b.begin(), k.size(), k.begin());
  return k;
}

}  // namespace

XXHandshake::XXHandshake(Role role, const X25519KeyPair& static_keys, BytesView prologue,
                         std::optional<X25519KeyPair> ephemeral)
    : role_(role), symmetric_(kProtocolName), s_(static_keys), e_(std::move(ephemeral)) {
  // Section 5.3 Initialize(): MixHash(prologue) even when it is empty. XX has
  // no pre-messages.
  symmetric_.mix_hash(prologue);
}

bool XXHandshake::is_my_turn() const {
  if (is_complete()) return false;
  // Messages 1 and 3 (steps 0 and 2) are the initiator's, message 2 the responder's.
  const bool initiator_turn = step_ != 1;
  return initiator_turn == (role_ == Role::kInitiator);
}

Status XXHandshake::mix_dh(const X25519KeyPair& ours, const Key32& theirs) {
  Result<Key32> shared = x25519(ours, theirs);
  if (!shared) return shared.error();
  symmetric_.mix_key(*shared);
  secure_wipe(shared->data(), shared->size());
  return {};
}

Status XXHandshake::write_message(BytesView payload, Bytes& out) {
  if (failed_) return make_error("noise: handshake already failed");
  if (!is_my_turn()) return make_error("noise: handshake message written out of turn");

  std::size_t size = payload.size();
  if (step_ == 0) size += kDhLen;
  if (step_ == 1) size += kDhLen + kEncryptedKeyLen + kTagLen;
  if (step_ == 2) size += kEncryptedKeyLen + kTagLen;
  if (size > kMaxMessageLen) return make_error("noise: handshake message exceeds 65535 bytes");

  const std::size_t start = out.size();
  out.reserve(start + size);
  Status st;
  if (step_ == 0 || step_ == 1) {  // token e
    if (!e_) e_ = X25519KeyPair::generate();
    append(out, e_->public_key);
    symmetric_.mix_hash(e_->public_key);
  }
  if (step_ == 1) {
    st = mix_dh(*e_, *re_);                                        // ee
    if (st) st = symmetric_.encrypt_and_hash(s_.public_key, out);  // s
    if (st) st = mix_dh(s_, *re_);                                 // es (responder)
  } else if (step_ == 2) {
    st = symmetric_.encrypt_and_hash(s_.public_key, out);  // s
    if (st) st = mix_dh(s_, *re_);                         // se (initiator)
  }
  if (st) st = symmetric_.encrypt_and_hash(payload, out);
  if (!st) {
    failed_ = true;
    out.resize(start);
    return st;
  }
  ++step_;
  return {};
}

Status XXHandshake::read_message(BytesView message, Bytes& payload_out) {
  if (failed_) return make_error("noise: handshake already failed");
  if (is_complete() || is_my_turn()) return make_error("noise: handshake message read out of turn");
  failed_ = true;  // until this message is fully accepted
  if (message.size() > kMaxMessageLen)
    return make_error("noise: handshake message exceeds 65535 bytes");

  const int number = step_ + 1;
  std::size_t min = 0;
  if (step_ == 0) min = kDhLen;
  if (step_ == 1) min = kDhLen + kEncryptedKeyLen + kTagLen;
  if (step_ == 2) min = kEncryptedKeyLen + kTagLen;
  if (message.size() < min) return truncated(number);

  BytesView rest = message;
  if (step_ == 0 || step_ == 1) {  // token e
    re_ = key_from(rest.first(kDhLen));
    symmetric_.mix_hash(rest.first(kDhLen));
    rest = rest.subspan(kDhLen);
  }
  if (step_ == 1 || step_ == 2) {
    if (step_ == 1) {
      if (Status st = mix_dh(*e_, *re_); !st) return st;  // ee
    }
    Bytes rs;
    if (Status st = symmetric_.decrypt_and_hash(rest.first(kEncryptedKeyLen), rs); !st) {
      return make_error("noise: cannot decrypt remote static key in message " +
                        std::to_string(number) + ": " + st.message());
    }
    rs_ = key_from(rs);
    rest = rest.subspan(kEncryptedKeyLen);
    // Message 2: es, the initiator's side is DH(e, rs).
    // Message 3: se, the responder's side is DH(e, rs).
    if (Status st = mix_dh(*e_, *rs_); !st) return st;
  }
  const std::size_t start = payload_out.size();
  if (Status st = symmetric_.decrypt_and_hash(rest, payload_out); !st) {
    payload_out.resize(start);
    return make_error("noise: cannot decrypt payload of handshake message " +
                      std::to_string(number) + ": " + st.message());
  }
  failed_ = false;
  ++step_;
  return {};
}

Result<std::pair<CipherState, CipherState>> XXHandshake::split() const {
  if (!is_complete() || failed_) return make_error("noise: handshake not complete");
  auto [c1, c2] = symmetric_.split();
  // c1 encrypts initiator -> responder, c2 responder -> initiator.
  if (role_ == Role::kInitiator) return std::pair{std::move(c1), std::move(c2)};
  return std::pair{std::move(c2), std::move(c1)};
}

}  // namespace mp::noise
