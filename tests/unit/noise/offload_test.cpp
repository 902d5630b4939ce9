// The Noise handshake's crypto steps on a net::WorkerPool (NETWORK_THREADS):
// over an in-memory pipe (no sockets), the steps run on the worker while the
// coroutines resume on their own thread, a full pool runs them inline, and a
// stream reset while a step is away fails the handshake cleanly.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "net/memory_pipe.hpp"
#include "net/worker_pool.hpp"
#include "noise/noise_stream.hpp"

namespace mp::noise {
namespace {

// Opens a gate the test closed on a worker, whatever way the test ends (a
// worker left waiting would hang the pool's destructor).
struct Gate {
  std::promise<void> promise;
  std::shared_future<void> opened = promise.get_future().share();
  bool is_open = false;
  void open() {
    if (!is_open) promise.set_value();
    is_open = true;
  }
  ~Gate() { open(); }
};

class OffloadTest : public ::testing::Test {
 protected:
  // Spawns each coroutine on io, runs io for at most 30 s, and returns each
  // one's exception (null: it finished normally).
  std::vector<std::exception_ptr> run_all(std::vector<asio::awaitable<void>> coros) {
    std::vector<std::exception_ptr> errors(coros.size());
    std::size_t done = 0;
    for (std::size_t i = 0; i < coros.size(); ++i) {
      asio::co_spawn(io, std::move(coros[i]), [&errors, &done, i](std::exception_ptr e) {
        errors[i] = e;
        ++done;
      });
    }
    io.run_for(std::chrono::seconds(30));
    EXPECT_EQ(done, coros.size()) << "coroutines did not finish in time";
    return errors;
  }

  Ed25519KeyPair alice_key = Ed25519KeyPair::generate();
  Ed25519KeyPair bob_key = Ed25519KeyPair::generate();
  LocalIdentity alice{alice_key};  // dials
  LocalIdentity bob{bob_key};      // listens
  asio::io_context io;             // before the pools: they post back to it until joined
};

// A secured pair, then one message each way (the split ciphers work).
asio::awaitable<void> exchange(NoiseStream& s, std::string_view say, std::string& heard) {
  co_await s.write(as_bytes(say));
  Bytes buf(64);
  const std::size_t n = co_await s.read_some(buf);
  heard.assign(reinterpret_cast<const char*>(buf.data()), n);
}

TEST_F(OffloadTest, HandshakeStepsRunOnTheWorkerAndResumeOnTheCaller) {
  net::WorkerPool pool(1, 4);  // NETWORK_THREADS=2
  auto [client_end, server_end] = net::make_memory_pipe(io.get_executor());
  const std::thread::id test_thread = std::this_thread::get_id();
  std::thread::id worker, client_resumed, server_resumed;
  std::string alice_heard, bob_heard;
  std::unique_ptr<NoiseStream> a, b;  // outlive the coroutines: an end destroyed resets the pipe

  auto probe = [&]() -> asio::awaitable<void> {
    auto record = [&] { worker = std::this_thread::get_id(); };
    co_await pool.run(record);
  };
  auto client = [&]() -> asio::awaitable<void> {
    a = co_await secure_outbound(std::move(client_end), alice, bob.peer_id(), &pool);
    client_resumed = std::this_thread::get_id();
    EXPECT_EQ(a->remote_peer(), bob.peer_id());
    co_await exchange(*a, "hello bob", alice_heard);
  };
  auto server = [&]() -> asio::awaitable<void> {
    b = co_await secure_inbound(std::move(server_end), bob, &pool);
    server_resumed = std::this_thread::get_id();
    EXPECT_EQ(b->remote_peer(), alice.peer_id());
    co_await exchange(*b, "hello alice", bob_heard);
  };
  std::vector<asio::awaitable<void>> coros;
  coros.push_back(probe());
  coros.push_back(client());
  coros.push_back(server());
  for (auto& e : run_all(std::move(coros))) EXPECT_FALSE(e);

  // One worker: every step the pool ran ran on the probe's thread, not ours.
  EXPECT_NE(worker, std::thread::id());
  EXPECT_NE(worker, test_thread);
  // The probe, the initiator's 3 steps, the responder's 2 (its read of
  // message 1, an ephemeral key only, stays inline by design).
  EXPECT_EQ(pool.ran_on_pool(), 6u);
  EXPECT_EQ(pool.ran_inline(), 0u);
  EXPECT_EQ(pool.pending(), 0u);
  EXPECT_EQ(client_resumed, test_thread);
  EXPECT_EQ(server_resumed, test_thread);
  EXPECT_EQ(alice_heard, "hello alice");
  EXPECT_EQ(bob_heard, "hello bob");
}

TEST_F(OffloadTest, FullPoolRunsTheStepsInline) {
  net::WorkerPool pool(1, 1);
  Gate gate;
  auto [client_end, server_end] = net::make_memory_pipe(io.get_executor());
  const std::thread::id test_thread = std::this_thread::get_id();
  std::thread::id blocked_on;
  std::unique_ptr<NoiseStream> a, b;

  // Holds the pool's one slot until the handshake is done.
  auto blocker = [&]() -> asio::awaitable<void> {
    auto wait = [&] {
      blocked_on = std::this_thread::get_id();
      gate.opened.wait();
    };
    co_await pool.run(wait);
  };
  bool client_done = false, server_done = false;
  auto open_when_both_done = [&] {
    if (client_done && server_done) gate.open();
  };
  auto client = [&]() -> asio::awaitable<void> {
    a = co_await secure_outbound(std::move(client_end), alice, bob.peer_id(), &pool);
    EXPECT_EQ(std::this_thread::get_id(), test_thread);
    client_done = true;
    open_when_both_done();
  };
  auto server = [&]() -> asio::awaitable<void> {
    b = co_await secure_inbound(std::move(server_end), bob, &pool);
    EXPECT_EQ(b->remote_peer(), alice.peer_id());
    server_done = true;
    open_when_both_done();
  };
  std::vector<asio::awaitable<void>> coros;
  coros.push_back(blocker());  // first: takes the slot before any handshake step
  coros.push_back(client());
  coros.push_back(server());
  for (auto& e : run_all(std::move(coros))) EXPECT_FALSE(e);

  EXPECT_TRUE(client_done && server_done);
  EXPECT_NE(blocked_on, test_thread);
  EXPECT_EQ(pool.ran_on_pool(), 1u);  // the blocker only
  EXPECT_EQ(pool.ran_inline(), 5u);   // all five crypto steps, on our thread
}

TEST_F(OffloadTest, ResetWhileAStepIsOnTheWorkerFailsTheHandshakeCleanly) {
  net::WorkerPool pool(1, 2);
  Gate gate;
  auto [client_end, server_end] = net::make_memory_pipe(io.get_executor());
  net::MemoryStream* client_raw = client_end.get();

  auto blocker = [&]() -> asio::awaitable<void> {
    auto wait = [&] { gate.opened.wait(); };
    co_await pool.run(wait);
  };
  // The dialer without workers: its message 1 goes out, then it waits.
  auto client = [&]() -> asio::awaitable<void> {
    co_await secure_outbound(std::move(client_end), alice, bob.peer_id());
  };
  auto server = [&]() -> asio::awaitable<void> {
    co_await secure_inbound(std::move(server_end), bob, &pool);
  };
  // Once the responder's message 2 waits behind the blocker, the connection
  // is reset (as a deadline would), then the worker is let go: the step
  // finishes, the responder resumes and finds its stream reset.
  auto reset_then_release = [&]() -> asio::awaitable<void> {
    while (pool.pending() < 2) co_await asio::post(io, asio::use_awaitable);
    client_raw->reset();
    gate.open();
  };
  std::vector<asio::awaitable<void>> coros;
  coros.push_back(blocker());
  coros.push_back(client());
  coros.push_back(server());
  coros.push_back(reset_then_release());
  const auto errors = run_all(std::move(coros));
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_FALSE(errors[0]);
  EXPECT_TRUE(errors[1]);  // the dialer's read was reset
  ASSERT_TRUE(errors[2]);  // the responder's write after its step
  EXPECT_THROW(std::rethrow_exception(errors[2]), std::system_error);
  EXPECT_FALSE(errors[3]);
  EXPECT_EQ(pool.ran_on_pool(), 2u);  // the blocker and the responder's message 2
  EXPECT_EQ(pool.pending(), 0u);
}

}  // namespace
}  // namespace mp::noise
