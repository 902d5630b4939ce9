#include "kad/protocol.hpp"

#include "core/varint.hpp"

namespace mp::kad {

void encode_message(const Message& msg, Bytes& out) {
  out.resize(msg.ByteSizeLong());
  if (!out.empty()) msg.SerializeWithCachedSizesToArray(out.data());
}

Bytes encode_message(const Message& msg) {
  Bytes out;
  encode_message(msg, out);
  return out;
}

bool decode_message_into(BytesView bytes, Message& out) {
  return out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

Result<Message> decode_message(BytesView bytes) {
  Message m;
  if (!decode_message_into(bytes, m)) return make_error("kad: malformed protobuf message");
  return m;
}

const char* message_type_name(int type) {
  switch (type) {
    case pb::Message_MessageType_PUT_VALUE: return "PUT_VALUE";
    case pb::Message_MessageType_GET_VALUE: return "GET_VALUE";
    case pb::Message_MessageType_ADD_PROVIDER: return "ADD_PROVIDER";
    case pb::Message_MessageType_GET_PROVIDERS: return "GET_PROVIDERS";
    case pb::Message_MessageType_FIND_NODE: return "FIND_NODE";
    case pb::Message_MessageType_PING: return "PING";
    default: return "UNKNOWN";
  }
}

bool is_known_type(int type) { return type >= 0 && type <= pb::Message_MessageType_PING; }

namespace {
Message with_key(MessageType type, BytesView key) {
  Message m;
  m.set_type(type);
  m.set_key(std::string(as_string(key)));
  return m;
}
}  // namespace

Message make_find_node(BytesView key) { return with_key(pb::Message_MessageType_FIND_NODE, key); }
Message make_get_value(BytesView key) { return with_key(pb::Message_MessageType_GET_VALUE, key); }
Message make_get_providers(BytesView key) {
  return with_key(pb::Message_MessageType_GET_PROVIDERS, key);
}

Message make_put_value(BytesView key, BytesView value) {
  Message m = with_key(pb::Message_MessageType_PUT_VALUE, key);
  m.mutable_record()->set_key(std::string(as_string(key)));
  m.mutable_record()->set_value(std::string(as_string(value)));
  return m;
}

Message make_add_provider(BytesView key, const PeerInfo& self) {
  Message m = with_key(pb::Message_MessageType_ADD_PROVIDER, key);
  set_peer(*m.add_providerpeers(), self.id, self.addrs, self.connection);
  return m;
}

Message make_ping() {
  Message m;
  m.set_type(pb::Message_MessageType_PING);
  return m;
}

void set_peer(pb::Message_Peer& out, const PeerId& id, std::span<const Multiaddr> addrs,
              ConnectionType connection) {
  out.set_id(std::string(as_string(id.bytes())));
  out.clear_addrs();
  for (const auto& a : addrs) out.add_addrs(std::string(as_string(a.bytes())));
  out.set_connection(connection);
}

std::vector<PeerInfo> parse_peers(const google::protobuf::RepeatedPtrField<pb::Message_Peer>& peers,
                                  const AddressPolicy& policy, std::size_t* skipped) {
  std::vector<PeerInfo> out;
  std::size_t bad = 0;
  out.reserve(static_cast<std::size_t>(peers.size()));
  for (const auto& p : peers) {
    auto id = PeerId::from_bytes(as_bytes(p.id()));
    if (!id) {
      ++bad;
      continue;
    }
    PeerInfo info{std::move(id.value()), {}, p.connection()};
    for (const auto& raw : p.addrs()) {
      auto a = Multiaddr::from_bytes(as_bytes(raw));
      if (!a) {
        ++bad;
        continue;
      }
      info.addrs.push_back(std::move(a.value()));
    }
    bad += filter_addresses(info.addrs, policy);
    out.push_back(std::move(info));
  }
  if (skipped) *skipped = bad;
  return out;
}

bool is_valid_multihash(BytesView bytes) {
  auto code = varint::decode(bytes);
  if (!code) return false;
  auto rest = bytes.subspan(code->size);
  auto len = varint::decode(rest);
  if (!len) return false;
  return rest.size() - len->size == len->value;
}

}  // namespace mp::kad
