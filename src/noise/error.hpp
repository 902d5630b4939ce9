// Error codes of the Noise handshake and secure channel, thrown as
// net::ProtocolError (a std::system_error) by noise_stream.hpp and framing.hpp.
#pragma once

#include <system_error>

#include "net/error_category.hpp"

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

}  // namespace mp::noise

MP_DECLARE_ERROR_ENUM(mp::noise, Errc)
