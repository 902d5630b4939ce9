// ForeignStream and ContextPool: a stream that lives on a network thread,
// used from another io_context (the host's thread), and the pool of
// network threads itself.
#include "net/foreign_stream.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <atomic>
#include <future>
#include <thread>

#include "net/context_pool.hpp"
#include "net/hop.hpp"
#include "net/memory_pipe.hpp"

namespace mp::net {
namespace {

void rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

// Runs `f` on `ex` and waits for it (test-side setup on a pool's thread).
template <class F>
auto on(const asio::any_io_executor& ex, F f) {
  std::promise<decltype(f())> done;
  asio::post(ex, [&] {
    if constexpr (std::is_void_v<decltype(f())>) {
      f();
      done.set_value();
    } else {
      done.set_value(f());
    }
  });
  return done.get_future().get();
}

// Records the thread its operations and its destructor ran on.
class ThreadProbe final : public ByteStream {
 public:
  explicit ThreadProbe(std::shared_ptr<ByteStream> inner, std::atomic<std::thread::id>* died_on)
      : inner_(std::move(inner)), died_on_(died_on) {}
  ~ThreadProbe() override { died_on_->store(std::this_thread::get_id()); }
  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buf) override {
    last_op_on = std::this_thread::get_id();
    co_return co_await inner_->read_some(buf);
  }
  asio::awaitable<void> write(BytesView data) override {
    last_op_on = std::this_thread::get_id();
    co_await inner_->write(data);
  }
  asio::awaitable<void> close_write() override { co_await inner_->close_write(); }
  void reset() override {
    last_op_on = std::this_thread::get_id();
    inner_->reset();
  }
  std::thread::id last_op_on;

 private:
  std::shared_ptr<ByteStream> inner_;
  std::atomic<std::thread::id>* died_on_;
};

TEST(ContextPool, EachExecutorRunsOnAThreadOfItsOwnUntilStopped) {
  ContextPool pool(2);
  const auto ex = pool.executors();
  ASSERT_EQ(ex.size(), 2u);
  const auto a = on(ex[0], [] { return std::this_thread::get_id(); });
  const auto b = on(ex[1], [] { return std::this_thread::get_id(); });
  EXPECT_NE(a, b);
  EXPECT_NE(a, std::this_thread::get_id());
  EXPECT_TRUE(on(ex[0], [&] { return runs_here(ex[0]) && !runs_here(ex[1]); }));
  pool.stop();
  EXPECT_TRUE(io_context_of(ex[0])->stopped());
  pool.stop();  // idempotent
}

TEST(ForeignStream, OperationsRunOnTheOwnerAndTheStreamIsReleasedThere) {
  ContextPool pool(1);
  const auto owner = pool.executors()[0];
  std::atomic<std::thread::id> died_on{};
  // Both ends of a pipe live on the pool's thread; the probe wraps ours.
  std::shared_ptr<ThreadProbe> probe;
  std::shared_ptr<ByteStream> far;
  on(owner, [&] {
    auto [a, b] = make_memory_pipe(owner);
    probe = std::make_shared<ThreadProbe>(std::shared_ptr<ByteStream>(std::move(a)), &died_on);
    far = std::shared_ptr<ByteStream>(std::move(b));
  });
  const auto owner_thread = on(owner, [] { return std::this_thread::get_id(); });

  asio::io_context caller{1};
  std::string echoed;
  std::thread::id resumed_on;
  auto foreign = std::make_shared<ForeignStream>(owner, probe);
  std::thread::id probe_op_thread;
  asio::co_spawn(
      caller,
      [&]() -> asio::awaitable<void> {
        const std::string msg = "hello from the host's thread";
        co_await foreign->write(as_bytes(msg));
        probe_op_thread = probe->last_op_on;
        // The far end echoes on the owner's thread.
        co_await run_on(owner, [&] {
          asio::co_spawn(
              owner,
              [&]() -> asio::awaitable<void> {
                std::uint8_t buf[64];
                const std::size_t n = co_await far->read_some(buf);
                co_await far->write(BytesView(buf, n));
                co_await far->close_write();
              },
              rethrow);
        });
        std::uint8_t buf[64];
        for (;;) {
          const std::size_t n = co_await foreign->read_some(buf);
          if (n == 0) break;
          echoed.append(reinterpret_cast<const char*>(buf), n);
        }
        resumed_on = std::this_thread::get_id();
      },
      rethrow);
  caller.run();
  EXPECT_EQ(echoed, "hello from the host's thread");
  EXPECT_EQ(probe_op_thread, owner_thread);
  EXPECT_EQ(resumed_on, std::this_thread::get_id());

  // reset() is carried out on the owner's thread; the far end sees it.
  foreign->reset();
  std::uint8_t byte = 0;
  auto far_read = std::async(std::launch::async, [&] {
    std::promise<bool> threw;
    auto fut = threw.get_future();
    asio::co_spawn(
        owner,
        [&]() -> asio::awaitable<void> {
          try {
            co_await far->read_some(std::span<std::uint8_t>(&byte, 1));
            threw.set_value(false);
          } catch (const std::system_error&) {
            threw.set_value(true);
          }
        },
        rethrow);
    return fut.get();
  });
  EXPECT_TRUE(far_read.get());
  EXPECT_EQ(on(owner, [&] { return probe->last_op_on; }), owner_thread);

  // The last reference, dropped here, is released on the owner's thread.
  probe.reset();
  foreign.reset();
  on(owner, [] {});  // the release was posted before this
  EXPECT_EQ(died_on.load(), owner_thread);
  on(owner, [&] { far.reset(); });
}

TEST(ForeignStream, ReleasedInPlaceOnceTheOwnerIsStopped) {
  auto pool = std::make_unique<ContextPool>(1);
  const auto owner = pool->executors()[0];
  std::atomic<std::thread::id> died_on{};
  std::shared_ptr<ByteStream> far;
  std::shared_ptr<ByteStream> probe;
  on(owner, [&] {
    auto [a, b] = make_memory_pipe(owner);
    probe = std::make_shared<ThreadProbe>(std::shared_ptr<ByteStream>(std::move(a)), &died_on);
    far = std::shared_ptr<ByteStream>(std::move(b));
  });
  auto foreign = std::make_shared<ForeignStream>(owner, std::move(probe));
  pool->stop();  // shutting down: its thread is gone
  foreign.reset();
  EXPECT_EQ(died_on.load(), std::this_thread::get_id());
  far.reset();
}

}  // namespace
}  // namespace mp::net
