#include "core/multiaddr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "core/multibase.hpp"
#include "core/peer_id.hpp"
#include "core/varint.hpp"

namespace mp {

namespace {

// How a protocol's value is written (multiformats/multiaddr protocols.csv
// gives the binary size; the text form is per protocol).
enum class Kind {
  kNone,       // no value
  kIp4,        // 4 bytes
  kIp6,        // 16 bytes
  kPort,       // 2 bytes, big-endian
  kName,       // varint length + UTF-8 text (dns*, ip6zone, sni)
  kPeerId,     // varint length + multihash; text base58btc (or CID on input)
  kMultibase,  // varint length + multihash; text multibase (certhash)
};

struct ProtoInfo {
  Proto proto;
  const char* name;
  Kind kind;
};

constexpr ProtoInfo kProtocols[] = {
    {Proto::kIp4, "ip4", Kind::kIp4},
    {Proto::kTcp, "tcp", Kind::kPort},
    {Proto::kUdp, "udp", Kind::kPort},
    {Proto::kIp6, "ip6", Kind::kIp6},
    {Proto::kIp6zone, "ip6zone", Kind::kName},
    {Proto::kDns, "dns", Kind::kName},
    {Proto::kDns4, "dns4", Kind::kName},
    {Proto::kDns6, "dns6", Kind::kName},
    {Proto::kDnsaddr, "dnsaddr", Kind::kName},
    {Proto::kP2p, "p2p", Kind::kPeerId},
    {Proto::kQuic, "quic", Kind::kNone},
    {Proto::kQuicV1, "quic-v1", Kind::kNone},
    {Proto::kWs, "ws", Kind::kNone},
    {Proto::kWss, "wss", Kind::kNone},
    {Proto::kTls, "tls", Kind::kNone},
    {Proto::kSni, "sni", Kind::kName},
    {Proto::kNoise, "noise", Kind::kNone},
    {Proto::kHttp, "http", Kind::kNone},
    {Proto::kHttps, "https", Kind::kNone},
    {Proto::kP2pCircuit, "p2p-circuit", Kind::kNone},
    {Proto::kWebtransport, "webtransport", Kind::kNone},
    {Proto::kCerthash, "certhash", Kind::kMultibase},
    {Proto::kWebrtcDirect, "webrtc-direct", Kind::kNone},
    {Proto::kWebrtc, "webrtc", Kind::kNone},
};

const ProtoInfo* find_code(std::uint64_t code) {
  for (const auto& p : kProtocols) {
    if (static_cast<std::uint64_t>(p.proto) == code) return &p;
  }
  return nullptr;
}

const ProtoInfo* find_name(std::string_view name) {
  if (name == "ipfs") name = "p2p";  // the legacy name of /p2p/
  for (const auto& p : kProtocols) {
    if (name == p.name) return &p;
  }
  return nullptr;
}

const ProtoInfo& info(Proto p) {
  const ProtoInfo* i = find_code(static_cast<std::uint64_t>(p));
  // Components are only ever built from the table, so this always succeeds.
  return i != nullptr ? *i : kProtocols[0];
}

// Names are written verbatim between slashes: they cannot hold '/', and we
// keep control characters out so an address is always safe to log.
bool valid_name(BytesView v) {
  if (v.empty() || v.size() > 255) return false;
  return std::none_of(v.begin(), v.end(),
                      [](std::uint8_t c) { return c == '/' || c < 0x20 || c == 0x7f; });
}

// A multihash: <varint code><varint length><digest of that length>.
bool valid_multihash(BytesView v) {
  auto code = varint::decode(v);
  if (!code) return false;
  auto len = varint::decode(v.subspan(code->size));
  return len && len->value == v.size() - code->size - len->size;
}

// Checks a binary value; an error message names the protocol.
Status check_value(const ProtoInfo& p, BytesView v) {
  auto bad = [&](const char* why) {
    return make_error(std::string("multiaddr /") + p.name + ": " + why);
  };
  switch (p.kind) {
    case Kind::kNone:
      return v.empty() ? Status::Ok() : bad("takes no value");
    case Kind::kIp4:
      return v.size() == 4 ? Status::Ok() : bad("needs 4 bytes");
    case Kind::kIp6:
      return v.size() == 16 ? Status::Ok() : bad("needs 16 bytes");
    case Kind::kPort:
      return v.size() == 2 ? Status::Ok() : bad("needs 2 bytes");
    case Kind::kName:
      return valid_name(v) ? Status::Ok() : bad("invalid name");
    case Kind::kPeerId: {
      auto id = PeerId::from_bytes(v);
      return id ? Status::Ok() : bad(id.message().c_str());
    }
    case Kind::kMultibase:
      return valid_multihash(v) ? Status::Ok() : bad("not a multihash");
  }
  return bad("unknown value kind");
}

std::string value_text(const ProtoInfo& p, BytesView v) {
  char buf[INET6_ADDRSTRLEN] = {};
  switch (p.kind) {
    case Kind::kNone:
      return {};
    case Kind::kIp4:
      return inet_ntop(AF_INET, v.data(), buf, sizeof(buf)) != nullptr ? buf : "";
    case Kind::kIp6:
      return inet_ntop(AF_INET6, v.data(), buf, sizeof(buf)) != nullptr ? buf : "";
    case Kind::kPort:
      return std::to_string(v[0] << 8 | v[1]);
    case Kind::kName:
      return std::string(as_string(v));
    case Kind::kPeerId:
      return base58btc_encode(v);
    case Kind::kMultibase:
      return multibase_encode('u', v);
  }
  return {};
}

Result<Bytes> parse_value(const ProtoInfo& p, std::string_view text) {
  auto bad = [&](const char* why) {
    return make_error(std::string("multiaddr /") + p.name + "/" + std::string(text.substr(0, 100)) +
                      ": " + why);
  };
  switch (p.kind) {
    case Kind::kNone:
      return Bytes{};
    case Kind::kIp4:
    case Kind::kIp6: {
      const bool v4 = p.kind == Kind::kIp4;
      // inet_pton needs a NUL-terminated string and rejects anything but
      // the plain dotted-quad / RFC 4291 forms.
      if (text.size() >= INET6_ADDRSTRLEN) return bad("not an IP address");
      char str[INET6_ADDRSTRLEN] = {};
      std::memcpy(str, text.data(), text.size());
      Bytes out(v4 ? 4 : 16);
      if (inet_pton(v4 ? AF_INET : AF_INET6, str, out.data()) != 1) {
        return bad(v4 ? "not an IPv4 address" : "not an IPv6 address");
      }
      return out;
    }
    case Kind::kPort: {
      if (text.empty() || text.size() > 5 ||
          !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return bad("not a port number");
      }
      unsigned port = 0;
      for (char c : text) port = port * 10 + static_cast<unsigned>(c - '0');
      if (port > 65535) return bad("port out of range");
      return Bytes{static_cast<std::uint8_t>(port >> 8), static_cast<std::uint8_t>(port & 0xff)};
    }
    case Kind::kName: {
      Bytes out(text.begin(), text.end());
      if (!valid_name(out)) return bad("invalid name");
      return out;
    }
    case Kind::kPeerId: {
      auto id = PeerId::parse(text);
      if (!id) return bad(id.message().c_str());
      return id->bytes();
    }
    case Kind::kMultibase: {
      auto raw = multibase_decode(text);
      if (!raw) return bad("not a multibase string");
      if (!valid_multihash(*raw)) return bad("not a multihash");
      return std::move(*raw);
    }
  }
  return bad("unknown value kind");
}

bool fixed_size(Kind k, std::size_t* n) {
  switch (k) {
    case Kind::kNone:
      *n = 0;
      return true;
    case Kind::kIp4:
      *n = 4;
      return true;
    case Kind::kIp6:
      *n = 16;
      return true;
    case Kind::kPort:
      *n = 2;
      return true;
    default:
      return false;
  }
}

bool ip4_private(const std::uint8_t* a) {
  const auto in = [&](std::uint8_t b0, std::uint8_t b1, int prefix) {
    const std::uint32_t addr =
        std::uint32_t{a[0]} << 24 | std::uint32_t{a[1]} << 16 | std::uint32_t{a[2]} << 8 | a[3];
    const std::uint32_t net = std::uint32_t{b0} << 24 | std::uint32_t{b1} << 16;
    const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
    return (addr & mask) == (net & mask);
  };
  if (a[0] == 192 && a[1] == 0 && (a[2] == 0 || a[2] == 2)) return true;  // 192.0.0/24, TEST-NET-1
  if (a[0] == 198 && a[1] == 51 && a[2] == 100) return true;              // TEST-NET-2
  if (a[0] == 203 && a[1] == 0 && a[2] == 113) return true;               // TEST-NET-3
  return in(0, 0, 8)          // "this network", incl. 0.0.0.0
         || in(10, 0, 8)      // RFC 1918
         || in(100, 64, 10)   // CGNAT, RFC 6598
         || in(127, 0, 8)     // loopback
         || in(169, 254, 16)  // link-local
         || in(172, 16, 12)   // RFC 1918
         || in(192, 168, 16)  // RFC 1918
         || in(198, 18, 15)   // benchmarking, RFC 2544
         || in(224, 0, 4)     // multicast
         || in(240, 0, 4);    // reserved, incl. 255.255.255.255
}

bool ip6_private(const std::uint8_t* a) {
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a, kMapped, 12) == 0) return ip4_private(a + 12);  // ::ffff:a.b.c.d
  // ::/96 holds :: and ::1 and the deprecated IPv4-compatible form: none of
  // it is a public IPv6 address.
  if (std::all_of(a, a + 12, [](std::uint8_t b) { return b == 0; })) return true;
  if ((a[0] & 0xfe) == 0xfc) return true;                  // fc00::/7 unique-local
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return true;  // fe80::/10 link-local
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return true;  // fec0::/10 old site-local
  if (a[0] == 0xff) return true;                           // multicast
  if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) return true;  // documentation
  if (a[0] == 0x01 && a[1] == 0x00 &&
      std::all_of(a + 2, a + 8, [](std::uint8_t b) { return b == 0; })) {
    return true;  // 100::/64 discard-only
  }
  return false;
}

}  // namespace

const char* proto_name(Proto p) {
  return info(p).name;
}

void Multiaddr::push(Proto proto, Bytes value) {
  varint::encode(static_cast<std::uint64_t>(proto), bytes_);
  const Kind k = info(proto).kind;
  std::size_t n = 0;
  if (!fixed_size(k, &n)) varint::encode(value.size(), bytes_);
  append(bytes_, value);
  components_.push_back({proto, std::move(value)});
}

Result<Multiaddr> Multiaddr::parse(std::string_view text) {
  if (text.empty()) return make_error("multiaddr: empty text");
  if (text.front() != '/')
    return make_error("multiaddr '" + std::string(text.substr(0, 100)) + "' must start with '/'");
  // One trailing slash is tolerated ("/ip4/1.2.3.4/tcp/1/"), as go-multiaddr does.
  if (text.size() > 1 && text.back() == '/') text.remove_suffix(1);
  Multiaddr out;
  std::size_t pos = 1;
  auto next_token = [&]() -> std::optional<std::string_view> {
    if (pos > text.size()) return std::nullopt;
    const std::size_t end = std::min(text.find('/', pos), text.size());
    std::string_view tok = text.substr(pos, end - pos);
    pos = end + 1;
    return tok;
  };
  while (pos <= text.size()) {
    auto name = next_token();
    if (!name || name->empty())
      return make_error("multiaddr '" + std::string(text.substr(0, 100)) +
                        "': empty protocol name");
    const ProtoInfo* p = find_name(*name);
    if (p == nullptr)
      return make_error("multiaddr: unknown protocol '" + std::string(name->substr(0, 50)) + "'");
    Bytes value;
    if (p->kind != Kind::kNone) {
      auto v = next_token();
      if (!v) return make_error(std::string("multiaddr /") + p->name + ": missing value");
      auto parsed = parse_value(*p, *v);
      if (!parsed) return parsed.error();
      value = std::move(parsed.value());
    }
    out.push(p->proto, std::move(value));
  }
  if (out.empty()) return make_error("multiaddr: no protocols in '/'");
  return out;
}

Result<Multiaddr> Multiaddr::from_bytes(BytesView bytes) {
  if (bytes.empty()) return make_error("multiaddr: empty bytes");
  Multiaddr out;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    auto code = varint::decode(bytes.subspan(pos));
    if (!code)
      return make_error("multiaddr: malformed protocol code at byte " + std::to_string(pos));
    pos += code->size;
    const ProtoInfo* p = find_code(code->value);
    if (p == nullptr)
      return make_error("multiaddr: unknown protocol code " + std::to_string(code->value));
    std::size_t n = 0;
    if (!fixed_size(p->kind, &n)) {
      auto len = varint::decode(bytes.subspan(pos));
      if (!len) return make_error(std::string("multiaddr /") + p->name + ": malformed length");
      pos += len->size;
      if (len->value > bytes.size() - pos)
        return make_error(std::string("multiaddr /") + p->name + ": value runs past the end");
      n = static_cast<std::size_t>(len->value);
    }
    if (n > bytes.size() - pos)
      return make_error(std::string("multiaddr /") + p->name + ": value runs past the end");
    const BytesView value = bytes.subspan(pos, n);
    pos += n;
    if (Status st = check_value(*p, value); !st) return st.error();
    out.push(p->proto, Bytes(value.begin(), value.end()));
  }
  return out;
}

Multiaddr Multiaddr::ip_tcp(const std::string& ip, std::uint16_t port) {
  const bool v6 = ip.find(':') != std::string::npos;
  auto addr = parse_value(info(v6 ? Proto::kIp6 : Proto::kIp4), ip);
  if (!addr) return {};
  Multiaddr out;
  out.push(v6 ? Proto::kIp6 : Proto::kIp4, std::move(addr.value()));
  out.push(Proto::kTcp,
           Bytes{static_cast<std::uint8_t>(port >> 8), static_cast<std::uint8_t>(port & 0xff)});
  return out;
}

std::string Multiaddr::to_string() const {
  std::string out;
  for (const auto& c : components_) {
    const ProtoInfo& p = info(c.proto);
    out += '/';
    out += p.name;
    if (p.kind != Kind::kNone) {
      out += '/';
      out += value_text(p, c.value);
    }
  }
  return out;
}

std::optional<std::string> Multiaddr::value_of(Proto proto) const {
  for (const auto& c : components_) {
    if (c.proto == proto) return value_text(info(proto), c.value);
  }
  return std::nullopt;
}

bool Multiaddr::has(Proto proto) const {
  return std::any_of(components_.begin(), components_.end(),
                     [&](const MultiaddrComponent& c) { return c.proto == proto; });
}

std::optional<PeerId> Multiaddr::peer_id() const {
  if (components_.empty() || components_.back().proto != Proto::kP2p) return std::nullopt;
  auto id = PeerId::from_bytes(components_.back().value);
  if (!id) return std::nullopt;
  return std::move(id.value());
}

Multiaddr Multiaddr::without_peer_id() const {
  if (components_.empty() || components_.back().proto != Proto::kP2p) return *this;
  Multiaddr out;
  for (std::size_t i = 0; i + 1 < components_.size(); ++i) {
    out.push(components_[i].proto, components_[i].value);
  }
  return out;
}

Multiaddr Multiaddr::with_peer_id(const PeerId& id) const {
  Multiaddr out = without_peer_id();
  out.push(Proto::kP2p, id.bytes());
  return out;
}

Multiaddr Multiaddr::encapsulate(const Multiaddr& other) const {
  Multiaddr out = *this;
  out.components_.insert(out.components_.end(), other.components_.begin(), other.components_.end());
  append(out.bytes_, other.bytes_);
  return out;
}

std::optional<std::pair<std::string, std::uint16_t>> Multiaddr::tcp_endpoint() const {
  if (components_.size() < 2) return std::nullopt;
  const auto& ip = components_[0];
  const auto& tcp = components_[1];
  if ((ip.proto != Proto::kIp4 && ip.proto != Proto::kIp6) || tcp.proto != Proto::kTcp) {
    return std::nullopt;
  }
  const auto port = static_cast<std::uint16_t>(tcp.value[0] << 8 | tcp.value[1]);
  return std::make_pair(value_text(info(ip.proto), ip.value), port);
}

bool Multiaddr::is_circuit() const {
  return has(Proto::kP2pCircuit);
}

bool Multiaddr::is_private_or_local() const {
  for (const auto& c : components_) {
    if (c.proto == Proto::kIp4) return ip4_private(c.value.data());
    if (c.proto == Proto::kIp6) return ip6_private(c.value.data());
  }
  return false;
}

bool Multiaddr::operator<(const Multiaddr& o) const {
  const std::size_t n = std::min(bytes_.size(), o.bytes_.size());
  const int c = n == 0 ? 0 : std::memcmp(bytes_.data(), o.bytes_.data(), n);
  return c != 0 ? c < 0 : bytes_.size() < o.bytes_.size();
}

}  // namespace mp

std::size_t std::hash<mp::Multiaddr>::operator()(const mp::Multiaddr& a) const noexcept {
  return std::hash<std::string_view>{}(mp::as_string(a.bytes()));
}
