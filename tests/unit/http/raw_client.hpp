// A blocking HTTP/1.1 client for the server tests, on plain POSIX sockets so
// that tests control every byte (pipelining, trickling, garbage). Every wait
// is bounded by `timeout`: a server that misbehaves fails the test instead of
// hanging it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mp::http::testing {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // False if the peer is gone (reset / broken pipe).
  bool send(std::string_view bytes);
  // One response; for a response to HEAD pass `head_request` (no body read).
  // nullopt on EOF, reset or timeout before a whole response arrived.
  std::optional<RawResponse> read_response(bool head_request = false);
  // Waits up to the timeout for the server to close (EOF or reset), dropping
  // any bytes that arrive first (kept in dropped()). False if still open.
  bool wait_closed();
  // Non-blocking: has the server closed the connection by now? Waits at
  // most `wait` for something to arrive.
  bool closed_within(std::chrono::milliseconds wait);
  const std::string& dropped() const { return dropped_; }

 private:
  bool fill();  // reads more into buf_; false on EOF/error/timeout

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buf_;
  std::string dropped_;
};

// One request on a fresh connection ("Connection: close"); nullopt if no
// complete response came back.
std::optional<RawResponse> request(std::uint16_t port, std::string_view method,
                                   std::string_view target, std::string_view body = {});

}  // namespace mp::http::testing
