// IPNS records and the PUT_VALUE record validators (kad/ipns_record.hpp,
// kad/record_validator.hpp). Input: mode byte || record bytes.
// The name is the Peer ID of a fixed Ed25519 key (key inlined in the name).
// Mode bit 0 ("resign"): the fuzzed IpnsEntry gets a valid signatureV2 over
// its own data by that key, so the CBOR data parsing and the V1/V2 checks see
// attacker-chosen bytes. Mode bit 1: the record is a /pk/ value instead
// (validate_record with key "/pk/" || name). Mode bit 2: pubKey is also set.
// Properties: an accepted IPNS record has the sequence parse_ipns_sequence
// reads; validate_record agrees with validate_ipns_record; should_replace is
// total (never crashes) between accepted and fuzzed records.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/peer_id.hpp"
#include "fuzz/fuzz_check.hpp"
#include "fuzz/fuzz_keys.hpp"
#include "ipns.pb.h"
#include "kad/ipns_record.hpp"
#include "kad/record_validator.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mp;
  using namespace mp::kad;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  BytesView record(data + 1, size - 1);
  const Ed25519KeyPair& key = fuzz::identity_key(3);
  const PeerId name = PeerId::from_public_key(key.public_key());
  const RecordValidation validation{};

  if (mode & 2) {
    std::string pk_key = "/pk/";
    pk_key += as_string(name.bytes());
    const Status st = validate_record(as_bytes(pk_key), record, validation);
    if (st) {
      auto k = PublicKey::from_protobuf(record);
      MP_FUZZ_CHECK(k.ok() && name.matches(*k));
    }
    return 0;
  }

  Bytes resigned;
  if (mode & 1) {
    pb::IpnsEntry e;
    if (!e.ParseFromArray(record.data(), static_cast<int>(record.size()))) return 0;
    std::string to_sign = "ipns-signature:";
    to_sign += e.data();
    const Bytes sig = key.sign(as_bytes(to_sign));
    e.set_signaturev2(sig.data(), sig.size());
    if (!e.has_data()) e.set_data("");
    if (mode & 4) {
      const Bytes pub = key.public_key().to_protobuf();
      e.set_pubkey(pub.data(), pub.size());
    }
    resigned.resize(e.ByteSizeLong());
    MP_FUZZ_CHECK(e.SerializeToArray(resigned.data(), static_cast<int>(resigned.size())));
    record = resigned;
  }
  auto info = validate_ipns_record(name.bytes(), record);
  std::string ipns_key = "/ipns/";
  ipns_key += as_string(name.bytes());
  const Status st = validate_record(as_bytes(ipns_key), record, validation);
  MP_FUZZ_CHECK(st.ok() == info.ok());
  (void)parse_ipns_sequence(record);
  if (!info) return 0;
  MP_FUZZ_CHECK(record.size() <= kMaxIpnsRecordSize);
  auto seq = parse_ipns_sequence(record);
  MP_FUZZ_CHECK(seq && *seq == info->sequence);
  MP_FUZZ_CHECK(!should_replace(as_bytes(ipns_key), record, record));
  return 0;
}
