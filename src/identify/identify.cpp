#include "identify/identify.hpp"

#include "identify.pb.h"
#include "net/buffered_reader.hpp"

namespace mp::identify {

Bytes encode(const Info& info) {
  pb::Identify msg;
  msg.set_protocolversion(info.protocol_version);
  msg.set_agentversion(info.agent_version);
  if (info.public_key) {
    const Bytes key = info.public_key->to_protobuf();
    msg.set_publickey(key.data(), key.size());
  }
  for (const auto& a : info.listen_addrs) msg.add_listenaddrs(a.bytes().data(), a.bytes().size());
  if (info.observed_addr) {
    msg.set_observedaddr(info.observed_addr->bytes().data(), info.observed_addr->bytes().size());
  }
  for (const auto& p : info.protocols) msg.add_protocols(p);
  Bytes out(msg.ByteSizeLong());
  msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

Result<Info> decode(BytesView message, const PeerId& remote) {
  pb::Identify msg;
  if (!msg.ParseFromArray(message.data(), static_cast<int>(message.size()))) {
    return make_error("identify: message is not a valid Identify protobuf");
  }
  Info info;
  info.protocol_version = msg.protocolversion().substr(0, kMaxVersionLength);
  info.agent_version = msg.agentversion().substr(0, kMaxVersionLength);
  if (msg.has_publickey()) {
    auto key = PublicKey::from_protobuf(as_bytes(msg.publickey()));
    if (!key) return make_error("identify: bad public key: " + key.message());
    if (!remote.matches(*key)) {
      return make_error("identify: public key does not match peer id " + remote.to_base58());
    }
    info.public_key = std::move(*key);
  }
  for (const auto& raw : msg.listenaddrs()) {
    if (info.listen_addrs.size() >= kMaxKeptAddrs) {
      ++info.dropped;
      continue;
    }
    auto addr = Multiaddr::from_bytes(as_bytes(raw));
    if (addr) {
      info.listen_addrs.push_back(std::move(*addr));
    } else {
      ++info.invalid_addrs;
    }
  }
  if (msg.has_observedaddr()) {
    auto addr = Multiaddr::from_bytes(as_bytes(msg.observedaddr()));
    if (addr) info.observed_addr = std::move(*addr);
  }
  for (const auto& p : msg.protocols()) {
    if (info.protocols.size() >= kMaxKeptProtocols || p.size() > kMaxProtocolLength) {
      ++info.dropped;
      continue;
    }
    info.protocols.push_back(p);
  }
  return info;
}

std::size_t Info::kept_bytes() const {
  std::size_t n = sizeof(Info) + protocol_version.capacity() + agent_version.capacity();
  for (const auto& a : listen_addrs) n += sizeof(Multiaddr) + a.bytes().size() + 64;
  for (const auto& p : protocols) n += sizeof(std::string) + p.capacity();
  if (observed_addr) n += observed_addr->bytes().size() + 64;
  if (public_key) n += 64;
  return n;
}

asio::awaitable<void> serve(net::ByteStream& stream, const Info& ours) {
  co_await net::write_length_prefixed(stream, encode(ours));
  co_await stream.close_write();
}

asio::awaitable<Info> receive(net::ByteStream& stream, const PeerId& remote) {
  net::BufferedReader reader(stream);
  auto message = co_await reader.read_length_prefixed(kMaxMessageSize);
  if (!message) throw net::ProtocolError("identify: stream ended before the message");
  auto info = decode(*message, remote);
  if (!info) throw net::ProtocolError(info.message());
  co_return std::move(*info);
}

}  // namespace mp::identify
