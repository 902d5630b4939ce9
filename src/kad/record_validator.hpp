// Validation of records received in PUT_VALUE (libp2p/specs kad-dht
// README.md "Entry validation"), namespace by namespace like
// go-libp2p-record's NamespacedValidator:
//  - /pk/<multihash>: the value is a protobuf PublicKey whose Peer ID is
//    exactly <multihash> (go PublicKeyValidator; spec "Value routing").
//  - /ipns/<peer id>: see ipns_record.hpp (signature V2 verified against the
//    name's key; go/boxo ipns.Validator).
//  - anything else: go refuses unknown namespaces, rust-libp2p stores any
//    record. accept_other_namespaces picks (default: accept, bounded by the
//    RecordStore limits), since MePassa clients are rust-libp2p based.
#pragma once

#include "core/bytes.hpp"
#include "core/result.hpp"

namespace mp::kad {

struct RecordValidation {
  bool accept_other_namespaces = true;
};

Status validate_record(BytesView key, BytesView value, const RecordValidation& config);

// For two valid records under the same key: should `incoming` replace
// `existing`? /ipns/: only a higher sequence number does (go Select); others:
// the newer PUT wins (rust-libp2p MemoryStore).
bool should_replace(BytesView key, BytesView incoming, BytesView existing);

}  // namespace mp::kad
