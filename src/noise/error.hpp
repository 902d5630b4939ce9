// Error codes of the Noise handshake and secure channel, thrown as
// net::ProtocolError (a std::system_error) by noise_stream.hpp and framing.hpp.
#pragma once

#include <system_error>

namespace mp::noise {

enum class Errc {
  handshake_failed = 1,     // a handshake message is malformed or does not decrypt
  invalid_payload,          // the libp2p payload: bad protobuf, key or signature
  peer_id_mismatch,         // the remote proved a Peer ID other than the one dialled
  closed_during_handshake,  // the remote closed before the handshake completed
  truncated_frame,          // the connection ended inside a frame
  decrypt_failed,           // a transport message does not decrypt
  encrypt_failed,           // we could not encrypt (nonce exhausted)
  channel_failed,           // a read after an earlier failure
};

const std::error_category& error_category();
std::error_code make_error_code(Errc e);

}  // namespace mp::noise

template <>
struct std::is_error_code_enum<mp::noise::Errc> : std::true_type {};
