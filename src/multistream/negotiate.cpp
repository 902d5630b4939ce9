#include "multistream/negotiate.hpp"

#include "multistream/codec.hpp"
#include "net/buffered_reader.hpp"

namespace mp::multistream {
namespace {

asio::awaitable<std::string> read_message(net::BufferedReader& reader) {
  auto body = co_await reader.read_length_prefixed(kMaxMessageSize);
  if (!body) throw net::ProtocolError("multistream: stream ended during negotiation");
  auto text = decode_message(*body);
  if (!text) throw net::ProtocolError(text.message());
  co_return std::move(*text);
}

Bytes take_leftover(net::BufferedReader& reader) {
  auto rest = reader.buffered();
  return Bytes(rest.begin(), rest.end());
}

}  // namespace

asio::awaitable<Negotiated> negotiate_inbound(net::ByteStream& stream,
                                              const std::function<bool(std::string_view)>& supported,
                                              int max_attempts) {
  net::BufferedReader reader(stream);
  const std::string header = co_await read_message(reader);
  if (header != kProtocolId) {
    throw net::ProtocolError("multistream: unexpected header '" + header.substr(0, 64) + "'");
  }
  Bytes out;
  encode_message(kProtocolId, out);
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    std::string proposal = co_await read_message(reader);
    if (proposal != "ls" && supported(proposal)) {
      encode_message(proposal, out);
      co_await stream.write(out);
      co_return Negotiated{std::move(proposal), take_leftover(reader)};
    }
    encode_message(kNotAvailable, out);
    co_await stream.write(out);
    out.clear();
  }
  throw net::ProtocolError("multistream: too many refused proposals");
}

asio::awaitable<Negotiated> negotiate_outbound(net::ByteStream& stream,
                                               const std::vector<std::string>& protocols) {
  if (protocols.empty()) throw net::ProtocolError("multistream: nothing to propose");
  net::BufferedReader reader(stream);
  Bytes out;
  encode_message(kProtocolId, out);
  bool header_checked = false;
  for (const auto& proposal : protocols) {
    encode_message(proposal, out);
    co_await stream.write(out);
    out.clear();
    if (!header_checked) {
      const std::string header = co_await read_message(reader);
      if (header != kProtocolId) {
        throw net::ProtocolError("multistream: unexpected header '" + header.substr(0, 64) + "'");
      }
      header_checked = true;
    }
    const std::string answer = co_await read_message(reader);
    if (answer == proposal) co_return Negotiated{proposal, take_leftover(reader)};
    if (answer != kNotAvailable) {
      throw net::ProtocolError("multistream: unexpected answer '" + answer.substr(0, 64) + "'");
    }
  }
  throw net::ProtocolError("multistream: remote supports none of the proposed protocols");
}

}  // namespace mp::multistream
