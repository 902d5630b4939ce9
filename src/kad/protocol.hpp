// Wire codec for /ipfs/kad/1.0.0 (libp2p/specs kad-dht/README.md "RPC
// messages"): protobuf Message <-> bytes, request builders for the client
// side, and Peer entries <-> (PeerId, addresses). No I/O here; framing
// (unsigned-varint length prefix, at most kMaxMessageSize) is done by
// net::BufferedReader / write_length_prefixed in server.cpp and the host's
// outbound glue.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "core/bytes.hpp"
#include "core/multiaddr.hpp"
#include "core/peer_id.hpp"
#include "core/result.hpp"
#include "dht.pb.h"
#include "kad/address_filter.hpp"

namespace mp::kad {

using Message = pb::Message;
using MessageType = pb::Message_MessageType;
using ConnectionType = pb::Message_ConnectionType;

struct PeerInfo {
  PeerId id;
  std::vector<Multiaddr> addrs;
  ConnectionType connection = pb::Message_ConnectionType_NOT_CONNECTED;
};

// Serializes without a length prefix into `out` (cleared; capacity reused).
void encode_message(const Message& msg, Bytes& out);
Bytes encode_message(const Message& msg);
// Parses one message (no length prefix). Fails on malformed protobuf.
Result<Message> decode_message(BytesView bytes);
bool decode_message_into(BytesView bytes, Message& out);

const char* message_type_name(int type);
// The six types of the spec; anything else is an unknown type.
bool is_known_type(int type);

// --- requests (client side) ---
Message make_find_node(BytesView key);  // key: the target's Peer ID bytes
Message make_get_value(BytesView key);
Message make_put_value(BytesView key, BytesView value);
Message make_get_providers(BytesView key);  // key: a multihash
// ADD_PROVIDER carries ourselves as the provider (servers refuse others).
Message make_add_provider(BytesView key, const PeerInfo& self);
Message make_ping();

// --- Peer entries ---
void set_peer(pb::Message_Peer& out, const PeerId& id, std::span<const Multiaddr> addrs,
              ConnectionType connection = pb::Message_ConnectionType_NOT_CONNECTED);
// Decodes Peer entries from a response or an ADD_PROVIDER request. Entries
// with an invalid Peer ID are skipped, invalid or unshareable addresses
// dropped (counted in *skipped when given).
std::vector<PeerInfo> parse_peers(
    const google::protobuf::RepeatedPtrField<pb::Message_Peer>& peers, const AddressPolicy& policy,
    std::size_t* skipped = nullptr);

// A well-formed multihash: varint code, varint digest length, then exactly
// that many bytes. Provider keys must be one (go-libp2p-kad-dht and
// js-libp2p key providers by multihash).
bool is_valid_multihash(BytesView bytes);

}  // namespace mp::kad
