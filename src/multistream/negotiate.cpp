#include "multistream/negotiate.hpp"

#include "multistream/codec.hpp"
#include "multistream/error.hpp"
#include "net/buffered_reader.hpp"

namespace mp::multistream {
namespace {

// `refused`: proposals we answered "na" to so far; a remote that gives up
// after them found no protocol in common with us.
asio::awaitable<std::string> read_message(net::BufferedReader& reader, int refused = 0) {
  std::optional<Bytes> body;
  try {
    body = co_await reader.read_length_prefixed(kMaxMessageSize);
  } catch (const std::system_error& e) {
    // A dialer that resets the stream after our "na" found nothing in common.
    if (refused == 0 || dynamic_cast<const net::ProtocolError*>(&e) != nullptr) throw;
    body.reset();
  }
  if (!body && refused > 0) {
    throw net::ProtocolError(Errc::not_supported,
                             "multistream: stream ended after " + std::to_string(refused) +
                                 " refused proposals");
  }
  if (!body) throw net::ProtocolError(Errc::stream_ended, "multistream: stream ended during negotiation");
  auto text = decode_message(*body);
  if (!text) throw net::ProtocolError(Errc::malformed_message, text.message());
  co_return std::move(*text);
}

Bytes take_leftover(net::BufferedReader& reader) {
  auto rest = reader.buffered();
  return Bytes(rest.begin(), rest.end());
}

}  // namespace

asio::awaitable<Negotiated> negotiate_inbound(net::ByteStream& stream,
                                              const std::function<bool(std::string_view)>& supported,
                                              int max_attempts, Answer answer) {
  net::BufferedReader reader(stream);
  const std::string header = co_await read_message(reader);
  if (header != kProtocolId) {
    throw net::ProtocolError(Errc::unexpected_header,
                             "multistream: unexpected header '" + header.substr(0, 64) + "'");
  }
  Bytes out;
  encode_message(kProtocolId, out);
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    std::string proposal = co_await read_message(reader, attempt);
    if (proposal != "ls" && supported(proposal)) {
      encode_message(proposal, out);
      if (answer == Answer::kReturn) {
        co_return Negotiated{std::move(proposal), take_leftover(reader), std::move(out)};
      }
      co_await stream.write(out);
      co_return Negotiated{std::move(proposal), take_leftover(reader), {}};
    }
    encode_message(kNotAvailable, out);
    co_await stream.write(out);
    out.clear();
  }
  throw net::ProtocolError(Errc::too_many_proposals, "multistream: too many refused proposals");
}

asio::awaitable<Negotiated> negotiate_outbound(net::ByteStream& stream,
                                               const std::vector<std::string>& protocols,
                                               bool read_only) {
  if (protocols.empty()) throw net::ProtocolError(Errc::nothing_to_propose, "multistream: nothing to propose");
  net::BufferedReader reader(stream);
  Bytes out;
  encode_message(kProtocolId, out);
  bool header_checked = false;
  for (const auto& proposal : protocols) {
    encode_message(proposal, out);
    co_await stream.write(out);
    out.clear();
    if (read_only && &proposal == &protocols.back()) co_await stream.close_write();
    if (!header_checked) {
      const std::string header = co_await read_message(reader);
      if (header != kProtocolId) {
        throw net::ProtocolError(Errc::unexpected_header,
                                 "multistream: unexpected header '" + header.substr(0, 64) + "'");
      }
      header_checked = true;
    }
    const std::string answer = co_await read_message(reader);
    if (answer == proposal) co_return Negotiated{proposal, take_leftover(reader), {}};
    if (answer != kNotAvailable) {
      throw net::ProtocolError(Errc::unexpected_answer,
                               "multistream: unexpected answer '" + answer.substr(0, 64) + "'");
    }
  }
  throw net::ProtocolError(Errc::not_supported,
                           "multistream: remote supports none of the proposed protocols");
}

}  // namespace mp::multistream
