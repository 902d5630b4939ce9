#include "loadgen/http_probe.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

namespace mp::loadgen {

HttpProbe http_get(const std::string& host, int port, const std::string& path,
                   std::chrono::milliseconds timeout) {
  const auto t0 = std::chrono::steady_clock::now();
  HttpProbe out;
  try {
    asio::io_context ctx;
    asio::ip::tcp::socket s(ctx);
    s.open(asio::ip::tcp::v4());
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    s.connect({asio::ip::make_address(host), static_cast<std::uint16_t>(port)});
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
    asio::write(s, asio::buffer(req));
    std::string head(64, '\0');
    std::error_code ec;
    const std::size_t n = asio::read(s, asio::buffer(head), asio::transfer_at_least(12), ec);
    head.resize(n);
    if (head.rfind("HTTP/1.", 0) == 0 && head.size() >= 12) out.status = std::stoi(head.substr(9, 3));
  } catch (const std::exception&) {
    out.status = 0;
  }
  out.millis = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace mp::loadgen
