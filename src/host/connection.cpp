#include "host/connection.hpp"

#include <asio/co_spawn.hpp>
#include <asio/error.hpp>
#include <asio/dispatch.hpp>
#include <asio/use_awaitable.hpp>
#include <system_error>

#include "multistream/negotiate.hpp"
#include "net/deadline.hpp"
#include "net/foreign_stream.hpp"
#include "net/hop.hpp"
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

Connection::~Connection() {
  // The muxer's last reference goes on its own thread (its socket and
  // timers belong to that io_context).
  net::release_on(executor_, std::move(muxed_));
}

std::size_t Connection::stream_count() const {
  return muxed_ ? muxed_->stream_count() : 0;
}

asio::awaitable<NegotiatedStream> Connection::open_stream(std::vector<std::string> protocols,
                                                         bool read_only) {
  if (net::runs_here(executor_)) {
    co_return co_await open_stream_here(std::move(protocols), read_only);
  }
  if (!is_open() || !muxed_) throw std::system_error(asio::error::not_connected);
  auto self = shared_from_this();
  // Named: GCC 12 may destroy a temporary of a co_await expression twice.
  auto op = [self, p = std::move(protocols), read_only]() mutable {
    return self->open_stream_here(std::move(p), read_only);
  };
  NegotiatedStream s = co_await asio::co_spawn(executor_, std::move(op), asio::use_awaitable);
  s.stream = std::make_shared<net::ForeignStream>(executor_, std::move(s.stream));
  co_return s;
}

asio::awaitable<NegotiatedStream> Connection::open_stream_here(std::vector<std::string> protocols,
                                                              bool read_only) {
  if (!is_open() || !muxed_) throw std::system_error(asio::error::not_connected);
  std::shared_ptr<net::ByteStream> stream = co_await muxed_->open_stream();
  auto self = shared_from_this();
  multistream::Negotiated negotiated;
  {
    net::Deadline deadline(executor_, negotiation_timeout_, stream);
    negotiated = co_await multistream::negotiate_outbound(*stream, protocols, read_only);
  }
  if (!negotiated.leftover.empty()) {
    stream = std::make_shared<net::PrefixedStream>(std::move(negotiated.leftover), stream);
  }
  co_return NegotiatedStream{std::move(stream), std::move(negotiated.protocol)};
}

void Connection::close(const std::string& reason) {
  if (!is_open()) return;
  close_reason_ = reason;
  // On the connection's thread: now if we are on it, else posted there.
  if (muxed_) asio::dispatch(executor_, [m = muxed_] { m->close(); });
}

}  // namespace mp::host
