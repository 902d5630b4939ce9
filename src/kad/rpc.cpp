#include "kad/rpc.hpp"

#include "net/buffered_reader.hpp"

namespace mp::kad {

bool expects_response(const Message& request) {
  return request.type() != pb::Message_MessageType_ADD_PROVIDER;
}

Status check_response(const Message& request, const Message& response) {
  if (response.type() != request.type()) {
    return make_error(std::string("answer of type ") + message_type_name(response.type()) +
                      " to a " + message_type_name(request.type()) + " request");
  }
  switch (request.type()) {
    case pb::Message_MessageType_GET_VALUE:
    case pb::Message_MessageType_GET_PROVIDERS:
    case pb::Message_MessageType_PUT_VALUE:
      if (response.key() != request.key()) {
        return make_error(std::string(message_type_name(request.type())) +
                          " answer for another key");
      }
      break;
    default: break;
  }
  return Status::Ok();
}

asio::awaitable<std::optional<Message>> send_request(net::ByteStream& stream,
                                                     const Message& request,
                                                     std::size_t max_size) {
  const Bytes body = encode_message(request);
  co_await net::write_length_prefixed(stream, body);
  if (!expects_response(request)) {
    co_await stream.close_write();
    co_return std::nullopt;
  }
  net::BufferedReader reader(stream);
  Message response;
  try {
    auto raw = co_await reader.read_length_prefixed(max_size);  // ProtocolError if oversized
    if (!raw) throw net::ProtocolError("stream closed without an answer");
    if (!decode_message_into(*raw, response)) throw net::ProtocolError("malformed answer");
    if (auto st = check_response(request, response); !st) throw net::ProtocolError(st.message());
  } catch (const net::ProtocolError&) {
    // Abort rather than leave the remote waiting on a stream we gave up on.
    stream.reset();
    throw;
  }
  // One request per stream on the client side (as go and rust do): say we
  // are done so the server's loop ends cleanly.
  co_await stream.close_write();
  co_return response;
}

}  // namespace mp::kad
