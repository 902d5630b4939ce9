#include "net/memory_pipe.hpp"

#include <algorithm>
#include <asio/error.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <system_error>

namespace mp::net {

namespace {

// Bytes flowing one way. `changed` is a never-expiring timer cancelled to
// wake the reader and writer, which then re-check the state.
struct Direction {
  explicit Direction(const asio::any_io_executor& ex)
      : changed(ex, asio::steady_timer::time_point::max()) {}

  Bytes buf;
  std::size_t head = 0;
  bool eof = false;
  asio::steady_timer changed;

  std::size_t size() const { return buf.size() - head; }
  void notify() { changed.cancel(); }
};

asio::awaitable<void> wait_change(Direction& d) {
  std::error_code ec;
  co_await d.changed.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace

struct MemoryStream::Shared {
  Shared(const asio::any_io_executor& ex, std::size_t cap) : capacity(cap), dir{Direction(ex), Direction(ex)} {}

  std::size_t capacity;
  Direction dir[2];          // dir[i]: bytes that side i reads
  bool reset_by[2] = {false, false};

  bool broken() const { return reset_by[0] || reset_by[1]; }
  void check(int side) const {
    if (reset_by[side]) throw std::system_error(asio::error::operation_aborted);
    if (broken()) throw std::system_error(asio::error::connection_reset);
  }
};

MemoryStream::MemoryStream(std::shared_ptr<Shared> shared, int side)
    : shared_(std::move(shared)), side_(side) {}

MemoryStream::~MemoryStream() { reset(); }

asio::awaitable<std::size_t> MemoryStream::read_some(std::span<std::uint8_t> buf) {
  // Locals, not members, after a wait: this end may be destroyed meanwhile
  // (the wait then ends with operation_aborted from check()).
  const auto shared = shared_;
  const int side = side_;
  Direction& d = shared->dir[side];
  for (;;) {
    shared->check(side);
    if (d.size() > 0) {
      const std::size_t n = std::min(d.size(), buf.size());
      std::copy_n(d.buf.begin() + static_cast<std::ptrdiff_t>(d.head), n, buf.begin());
      d.head += n;
      if (d.head == d.buf.size()) {
        d.buf.clear();
        d.head = 0;
      }
      d.notify();  // room for the writer
      co_return n;
    }
    if (d.eof) co_return 0;
    co_await wait_change(d);
  }
}

asio::awaitable<void> MemoryStream::wait_readable() {
  const auto shared = shared_;  // and `side`: as in read_some
  const int side = side_;
  Direction& d = shared->dir[side];
  for (;;) {
    shared->check(side);
    if (d.size() > 0 || d.eof) co_return;
    co_await wait_change(d);
  }
}

asio::awaitable<void> MemoryStream::write(BytesView data) {
  const auto shared = shared_;  // and `side`: as in read_some
  const int side = side_;
  Direction& d = shared->dir[1 - side];
  std::size_t off = 0;
  while (off < data.size()) {
    shared->check(side);
    if (d.eof) throw std::system_error(asio::error::broken_pipe);
    if (d.size() >= shared->capacity) {
      co_await wait_change(d);
      continue;
    }
    if (d.head > 0) {
      d.buf.erase(d.buf.begin(), d.buf.begin() + static_cast<std::ptrdiff_t>(d.head));
      d.head = 0;
    }
    const std::size_t n = std::min(data.size() - off, shared->capacity - d.size());
    d.buf.insert(d.buf.end(), data.begin() + static_cast<std::ptrdiff_t>(off),
                 data.begin() + static_cast<std::ptrdiff_t>(off + n));
    off += n;
    bytes_written_ += n;
    d.notify();
  }
}

asio::awaitable<void> MemoryStream::close_write() {
  shared_->check(side_);
  Direction& d = shared_->dir[1 - side_];
  d.eof = true;
  d.notify();
  co_return;
}

void MemoryStream::reset() {
  if (shared_->broken()) return;
  shared_->reset_by[side_] = true;
  shared_->dir[0].notify();
  shared_->dir[1].notify();
}

std::pair<std::unique_ptr<MemoryStream>, std::unique_ptr<MemoryStream>> make_memory_pipe(
    const asio::any_io_executor& ex, std::size_t capacity) {
  auto shared = std::make_shared<MemoryStream::Shared>(ex, std::max<std::size_t>(capacity, 1));
  return {std::make_unique<MemoryStream>(shared, 0), std::make_unique<MemoryStream>(shared, 1)};
}

}  // namespace mp::net
