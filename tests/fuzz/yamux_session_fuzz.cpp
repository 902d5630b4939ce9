// A Yamux Session (yamux/session.hpp) fed arbitrary bytes by its remote,
// over the in-memory pipe (net/memory_pipe.hpp), with an application that
// echoes every inbound stream. Input: mode byte || connection bytes.
// mode bit 0: we are the client (odd ids ours); bits 1-4: the remote's write
// chunk size; bit 5: the remote half-closes after its bytes, else it stays
// open and we close. The io_context is polled for a bounded number of
// handler steps, never waiting on time (timers are zero or off).
// Properties: no crash or sanitizer report, open streams stay within
// Config::max_streams, and once closed the session's coroutines all finish.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "fuzz/drive.hpp"
#include "fuzz/fuzz_check.hpp"
#include "net/memory_pipe.hpp"
#include "yamux/session.hpp"

namespace {

using namespace mp;

asio::awaitable<void> echo(std::shared_ptr<yamux::Stream> s) {
  Bytes buf(2048);
  for (int i = 0; i < 64; ++i) {
    const std::size_t n = co_await s->read_some(buf);
    if (n == 0) break;
    co_await s->write(BytesView(buf.data(), n));
  }
  co_await s->close_write();
}

asio::awaitable<void> remote_write(net::ByteStream& conn, Bytes input, std::size_t chunk,
                                   bool eof) {
  for (std::size_t off = 0; off < input.size(); off += chunk) {
    co_await conn.write(BytesView(input).subspan(off, std::min(chunk, input.size() - off)));
  }
  if (eof) co_await conn.close_write();
}

asio::awaitable<void> remote_read(net::ByteStream& conn) {
  Bytes buf(16 * 1024);
  while (co_await conn.read_some(buf) > 0) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const bool is_client = mode & 1;
  const std::size_t chunk = std::size_t{1} << ((mode >> 1) % 15);
  const bool remote_eof = mode & 0x20;

  asio::io_context io;
  auto [ours, theirs] = net::make_memory_pipe(io.get_executor(), 16 * 1024);
  yamux::Config cfg;
  cfg.max_streams = 8;
  cfg.read_buffer_size = 1024;
  cfg.write_queue_limit = 16 * 1024;
  cfg.control_queue_reserve = 4 * 1024;
  cfg.close_timeout = std::chrono::milliseconds(0);
  auto session = yamux::Session::create(io.get_executor(), std::move(ours), is_client, cfg);
  session->start([&io](std::shared_ptr<yamux::Stream> s) {
    asio::co_spawn(io, echo(std::move(s)), [](std::exception_ptr e) { fuzz::check_exception(e); });
  });
  bool wrote = false, read = false;
  fuzz::spawn_checked(io, remote_write(*theirs, Bytes(data + 1, data + size), chunk, remote_eof),
                      &wrote);
  fuzz::spawn_checked(io, remote_read(*theirs), &read);

  fuzz::poll_bounded(io, 200000);
  MP_FUZZ_CHECK(session->stream_count() <= cfg.max_streams);
  session->close();
  theirs.reset();  // the remote goes away: nothing may wait for it now
  fuzz::poll_bounded(io, 200000);
  MP_FUZZ_CHECK(session->is_closed());
  return 0;
}
