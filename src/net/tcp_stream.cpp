#include "net/tcp_stream.hpp"

#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace mp::net {

asio::awaitable<std::size_t> TcpStream::read_some(std::span<std::uint8_t> buf) {
  std::error_code ec;
  const std::size_t n = co_await socket_.async_read_some(
      asio::buffer(buf.data(), buf.size()), asio::redirect_error(asio::use_awaitable, ec));
  if (ec == asio::error::eof) co_return 0;
  if (ec) throw std::system_error(ec);
  bytes_read_ += n;
  if (total_in_) total_in_->fetch_add(n, std::memory_order_relaxed);
  co_return n;
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
