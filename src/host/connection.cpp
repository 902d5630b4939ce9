#include "host/connection.hpp"

#include <asio/error.hpp>
#include <system_error>

#include "multistream/negotiate.hpp"
#include "net/deadline.hpp"
#include "net/prefixed_stream.hpp"

namespace mp::host {

Connection::Connection(std::uint64_t id, SecuredConnection secured, asio::any_io_executor executor,
                       std::chrono::milliseconds negotiation_timeout)
    : id_(id),
      peer_(std::move(secured.peer)),
      remote_key_(std::move(secured.public_key)),
      direction_(secured.direction),
      transport_(secured.transport),
      remote_addr_(std::move(secured.remote_addr)),
      local_addr_(std::move(secured.local_addr)),
      remote_ip_(std::move(secured.remote_ip)),
      muxed_(std::move(secured.muxed)),
      executor_(std::move(executor)),
      negotiation_timeout_(negotiation_timeout),
      established_at_(std::chrono::steady_clock::now()),
      last_busy_(established_at_.time_since_epoch().count()) {}

std::size_t Connection::stream_count() const {
  return muxed_ ? muxed_->stream_count() : 0;
}

asio::awaitable<NegotiatedStream> Connection::open_stream(std::vector<std::string> protocols) {
  if (!open_ || !muxed_) throw std::system_error(asio::error::not_connected);
  std::shared_ptr<net::ByteStream> stream = co_await muxed_->open_stream();
  auto self = shared_from_this();
  multistream::Negotiated negotiated;
  {
    net::Deadline deadline(executor_, negotiation_timeout_, stream);
    negotiated = co_await multistream::negotiate_outbound(*stream, protocols);
  }
  if (!negotiated.leftover.empty()) {
    stream = std::make_shared<net::PrefixedStream>(std::move(negotiated.leftover), stream);
  }
  co_return NegotiatedStream{std::move(stream), std::move(negotiated.protocol)};
}

void Connection::close(const std::string& reason) {
  if (!open_) return;
  close_reason_ = reason;
  if (muxed_) muxed_->close();
}

}  // namespace mp::host
