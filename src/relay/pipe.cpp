#include "relay/pipe.hpp"

#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <algorithm>
#include <exception>

namespace mp::relay {
namespace {

constexpr std::size_t kChunk = 16 * 1024;
// After a direction reaches the data cap, the receiver has this long to read
// what was delivered before the whole circuit is reset.
constexpr std::chrono::seconds kCapGrace{1};

struct SpliceState : std::enable_shared_from_this<SpliceState> {
  explicit SpliceState(const asio::any_io_executor& ex) : done(ex), deadline(ex) {}
  asio::steady_timer done;      // cancelled when the last direction ends
  asio::steady_timer deadline;  // limit.duration
  int running = 2;
  std::uint64_t moved[2] = {0, 0};  // a->b, b->a
  PipeEnd end = PipeEnd::kClosed;
  std::shared_ptr<net::ByteStream> a, b;

  // (Re)arms the deadline: when it fires, the circuit is reset.
  void arm_deadline(std::chrono::steady_clock::duration d) {
    deadline.expires_after(d);
    deadline.async_wait([self = weak_from_this()](std::error_code ec) {
      auto st = self.lock();
      if (!ec && st && st->running > 0) st->stop(PipeEnd::kDuration);
    });
  }

  void stop(PipeEnd why) {
    if (end == PipeEnd::kClosed) end = why;
    a->reset();
    b->reset();
  }
};

// One direction. Returns normally on EOF (after passing the half-close on).
asio::awaitable<void> pump(std::shared_ptr<SpliceState> st, net::ByteStream& from, net::ByteStream& to,
                           Bytes prefix, std::uint64_t cap, int dir, std::atomic<std::uint64_t>* relayed) {
  std::uint64_t& moved = st->moved[dir];
  Bytes buf(kChunk);
  BytesView chunk(prefix);
  for (;;) {
    if (chunk.empty()) {
      const std::size_t n = co_await from.read_some(buf);
      if (n == 0) {
        co_await to.close_write();
        co_return;
      }
      chunk = BytesView(buf.data(), n);
    }
    // Never pass more than the cap: the ends count the same bytes.
    const std::size_t allowed =
        cap == 0 ? chunk.size() : static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), cap - moved));
    if (allowed > 0) co_await to.write(chunk.first(allowed));
    moved += allowed;
    if (relayed) relayed->fetch_add(allowed, std::memory_order_relaxed);
    if (cap != 0 && moved >= cap) {
      // The receiver gets exactly `cap` bytes then EOF (a reset could drop
      // bytes still in flight); the sender's stream is reset. The other
      // direction then fails or ends on its own, or the duration ends it.
      if (st->end == PipeEnd::kClosed) st->end = PipeEnd::kDataLimit;
      co_await to.close_write();
      from.reset();
      st->arm_deadline(kCapGrace);
      co_return;
    }
    chunk = {};
  }
}

void on_pump_done(const std::shared_ptr<SpliceState>& st, std::exception_ptr e) {
  if (e) st->stop(PipeEnd::kReset);
  if (--st->running == 0) st->done.cancel();
}

}  // namespace

const char* to_string(PipeEnd e) {
  switch (e) {
    case PipeEnd::kClosed: return "closed";
    case PipeEnd::kDataLimit: return "data limit";
    case PipeEnd::kDuration: return "duration limit";
    case PipeEnd::kReset: return "reset";
  }
  return "?";
}

asio::awaitable<PipeResult> splice(asio::any_io_executor ex, std::shared_ptr<net::ByteStream> a,
                                   std::shared_ptr<net::ByteStream> b, CircuitLimit limit,
                                   std::atomic<std::uint64_t>* relayed, Bytes a_prefix, Bytes b_prefix) {
  auto st = std::make_shared<SpliceState>(ex);
  st->a = a;
  st->b = b;
  PipeResult result;
  if (limit.duration.count() > 0) st->arm_deadline(limit.duration);
  asio::co_spawn(ex, pump(st, *a, *b, std::move(a_prefix), limit.data, 0, relayed),
                 [st](std::exception_ptr e) { on_pump_done(st, e); });
  asio::co_spawn(ex, pump(st, *b, *a, std::move(b_prefix), limit.data, 1, relayed),
                 [st](std::exception_ptr e) { on_pump_done(st, e); });
  while (st->running > 0) {
    st->done.expires_at(asio::steady_timer::time_point::max());
    std::error_code ec;
    co_await st->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  st->deadline.cancel();
  result.end = st->end;
  result.a_to_b = st->moved[0];
  result.b_to_a = st->moved[1];
  co_return result;
}

}  // namespace mp::relay
