#include "net/tcp_stream.hpp"

#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace mp::net {

namespace {
bool would_block(const std::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}
}  // namespace

bool TcpStream::sync_turn() {
  if (!non_blocking_) {
    // Set once the socket is open (a dialled one is opened by its connect):
    // the synchronous calls below then answer would_block instead of waiting.
    std::error_code ec;
    socket_.non_blocking(true, ec);
    if (ec) return false;
    non_blocking_ = true;
  }
  if (sync_turns_ == 0) {
    sync_turns_ = kSyncTurns;
    return false;
  }
  --sync_turns_;
  return true;
}

asio::awaitable<std::size_t> TcpStream::read_some(std::span<std::uint8_t> buf) {
  const auto b = asio::buffer(buf.data(), buf.size());
  std::error_code ec;
  std::size_t n = 0;
  // Bytes already queued are read here, without a trip through the
  // scheduler (and the epoll_wait it runs between handlers); every
  // kSyncTurns-th read goes through the reactor, so that a peer that keeps
  // the socket full does not keep this thread to itself.
  const bool sync = sync_turn();
  if (sync) n = socket_.read_some(b, ec);
  if (!sync || would_block(ec)) {
    ec.clear();
    n = co_await socket_.async_read_some(b, asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec == asio::error::eof) co_return 0;
  if (ec) throw std::system_error(ec);
  maybe_more_ = n == buf.size() && n > 0;
  bytes_read_ += n;
  if (total_in_) total_in_->fetch_add(n, std::memory_order_relaxed);
  co_return n;
}

asio::awaitable<void> TcpStream::wait_readable() {
  // The last read filled its buffer: more may be waiting in the kernel.
  if (maybe_more_) co_return;
  // asio re-arms the descriptor for a wait (EPOLL_CTL_MOD), which looks at
  // the socket's state again: bytes or the end already queued complete it
  // at once, and no edge is missed while no operation was pending.
  std::error_code ec;
  co_await socket_.async_wait(asio::socket_base::wait_read,
                              asio::redirect_error(asio::use_awaitable, ec));
  // A reset stream throws as a pending read would have; other errors are
  // left for the next read to find.
  if (ec == asio::error::operation_aborted) throw std::system_error(ec);
  maybe_more_ = true;  // the next read will not wait: no need to wait again
}

void TcpStream::on_readable(const asio::any_io_executor& ex, ReadableHandler done) {
  if (maybe_more_) {
    asio::post(ex, [done = std::move(done)] { done(nullptr); });
    return;
  }
  // The wait of wait_readable, with a completion handler. The handler
  // touches this stream only when the wait was not aborted: an aborted wait
  // may mean the stream is gone.
  socket_.async_wait(asio::socket_base::wait_read,
                     [this, done = std::move(done)](std::error_code ec) {
                       if (ec == asio::error::operation_aborted) {
                         done(std::make_exception_ptr(std::system_error(ec)));
                         return;
                       }
                       maybe_more_ = true;
                       done(nullptr);
                     });
}

asio::awaitable<void> TcpStream::write(BytesView data) {
  std::size_t sent = 0;
  if (sync_turn()) {
    // Into the socket's send buffer now, without a trip through the
    // scheduler; what does not fit goes the asynchronous way.
    std::error_code ec;
    sent = socket_.write_some(asio::buffer(data.data(), data.size()), ec);
    if (ec && !would_block(ec)) throw std::system_error(ec);
  }
  if (sent < data.size()) {
    co_await asio::async_write(socket_, asio::buffer(data.data() + sent, data.size() - sent),
                               asio::use_awaitable);
  }
  bytes_written_ += data.size();
  if (total_out_) total_out_->fetch_add(data.size(), std::memory_order_relaxed);
}

asio::awaitable<void> TcpStream::close_write() {
  std::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  co_return;
}

void TcpStream::reset() {
  std::error_code ec;
  socket_.close(ec);
}

}  // namespace mp::net
