#include "net/tcp_stream.hpp"

#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace mp::net {

asio::awaitable<std::size_t> TcpStream::read_some(std::span<std::uint8_t> buf) {
  if (peek_error_) {
    // The peek saw the end or an error: a read now would wait for a
    // readiness edge the peek has already taken.
    if (peek_error_ == asio::error::eof) co_return 0;
    throw std::system_error(peek_error_);
  }
  std::error_code ec;
  const std::size_t n = co_await socket_.async_read_some(
      asio::buffer(buf.data(), buf.size()), asio::redirect_error(asio::use_awaitable, ec));
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
  // A peek, not async_wait: asio starts a read-side operation with an
  // attempt (which sees bytes already queued) and otherwise waits for the
  // next edge, whereas async_wait(wait_read) waits for the next edge only
  // and would miss bytes that arrived while no operation was pending. One
  // byte is peeked into a local and left in the socket.
  std::uint8_t probe = 0;
  std::error_code ec;
  co_await socket_.async_receive(asio::buffer(&probe, 1), asio::socket_base::message_peek,
                                 asio::redirect_error(asio::use_awaitable, ec));
  // A reset stream throws as a pending read would have; EOF and other
  // errors are kept for the next read to report.
  if (ec == asio::error::operation_aborted) throw std::system_error(ec);
  peek_error_ = ec;
  maybe_more_ = true;  // the next read will not wait: no need to peek again
}

void TcpStream::on_readable(const asio::any_io_executor& ex, ReadableHandler done) {
  if (maybe_more_) {
    asio::post(ex, [done = std::move(done)] { done(nullptr); });
    return;
  }
  // The peek of wait_readable, with a completion handler. The handler
  // touches this stream only when the wait was not aborted: an aborted wait
  // may mean the stream is gone.
  socket_.async_receive(asio::buffer(&probe_, 1), asio::socket_base::message_peek,
                        [this, done = std::move(done)](std::error_code ec, std::size_t) {
                          if (ec == asio::error::operation_aborted) {
                            done(std::make_exception_ptr(std::system_error(ec)));
                            return;
                          }
                          peek_error_ = ec;
                          maybe_more_ = true;
                          done(nullptr);
                        });
}

asio::awaitable<void> TcpStream::write(BytesView data) {
  co_await asio::async_write(socket_, asio::buffer(data.data(), data.size()), asio::use_awaitable);
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
