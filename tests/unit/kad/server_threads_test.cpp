// serve_stream on a connection thread (NETWORK_THREADS >= 2): the stream and
// its client live on another io_context, run by its own thread, while the
// test thread's io_context owns the Kademlia. FIND_NODE is answered there
// from the published snapshot; everything else hops to the owner.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "core/varint.hpp"
#include "kad/server.hpp"
#include "net/buffered_reader.hpp"
#include "net/hop.hpp"
#include "net/memory_pipe.hpp"
#include "test_util.hpp"

namespace mp::kad {
namespace {

using test::kKeyX;
using test::kValue;
using test::public_addr;
using test::random_peer;

using Client = std::function<asio::awaitable<void>(net::ByteStream&)>;

struct Threads {
  std::mt19937_64 rng{91};
  PeerId self = random_peer(rng);
  PeerId remote = random_peer(rng);
  Kademlia kad;
  asio::io_context owner_io;  // run by the test thread
  std::vector<std::unique_ptr<asio::io_context>> conn_io;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> conn_work;
  std::vector<std::thread> conn_threads;
  std::vector<std::shared_ptr<net::MemoryStream>> ends;  // touched only by their thread

  explicit Threads(std::size_t threads = 1) : kad(self, KadConfig{}, Clock::now()) {
    for (std::uint32_t i = 0; i < 100; ++i) {
      (void)kad.on_peer_identified(random_peer(rng), {public_addr(i)}, true, Clock::now());
    }
    for (std::size_t i = 0; i < threads; ++i) {
      conn_io.push_back(std::make_unique<asio::io_context>());
      conn_work.push_back(asio::make_work_guard(*conn_io.back()));
    }
    for (auto& io : conn_io) conn_threads.emplace_back([&ctx = *io] { ctx.run(); });
  }
  ~Threads() {
    for (auto& w : conn_work) w.reset();
    for (auto& io : conn_io) io->stop();
    for (auto& t : conn_threads) t.join();
    ends.clear();
  }

  asio::any_io_executor owner() { return owner_io.get_executor(); }

  asio::awaitable<void> serve(std::shared_ptr<net::MemoryStream> end) {
    EXPECT_FALSE(net::runs_here(owner()));
    co_await serve_stream(kad, owner(), std::move(end), remote);
  }

  // Serves one stream per client, client `i` on connection thread
  // i % threads, both ends of its pipe there; the test thread runs the
  // owner until every client and server is done. Returns each client's
  // exception (null when it returned).
  std::vector<std::exception_ptr> run(std::vector<Client> clients,
                                      const std::function<void()>& owner_step = {}) {
    std::vector<std::exception_ptr> errors(clients.size());
    std::size_t done = 0;  // owner thread only
    for (std::size_t i = 0; i < clients.size(); ++i) {
      asio::io_context& io = *conn_io[i % conn_io.size()];
      auto [a, b] = net::make_memory_pipe(io.get_executor());
      std::shared_ptr<net::MemoryStream> server_end = std::move(a);
      std::shared_ptr<net::MemoryStream> client_end = std::move(b);
      ends.push_back(server_end);
      ends.push_back(client_end);
      asio::co_spawn(io, serve(server_end), [this, &done](std::exception_ptr) {
        asio::post(owner_io, [&done] { ++done; });
      });
      asio::co_spawn(io, clients[i](*client_end), [this, &done, &errors, i](std::exception_ptr e) {
        errors[i] = e;  // read by the owner after the post below
        asio::post(owner_io, [&done] { ++done; });
      });
    }
    owner_io.restart();  // after an earlier run()
    auto work = asio::make_work_guard(owner_io);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (done < 2 * clients.size() && std::chrono::steady_clock::now() < give_up) {
      owner_io.run_one_for(std::chrono::milliseconds(20));
      if (owner_step) owner_step();
    }
    EXPECT_EQ(done, 2 * clients.size());
    return errors;
  }
  std::exception_ptr run(Client client) { return run(std::vector<Client>{std::move(client)})[0]; }
};

asio::awaitable<Bytes> roundtrip(net::ByteStream& s, net::BufferedReader& r, const Message& req) {
  co_await net::write_length_prefixed(s, encode_message(req));
  auto bytes = co_await r.read_length_prefixed(kMaxMessageSize);
  if (!bytes) throw std::runtime_error("server closed the stream");
  co_return std::move(*bytes);
}

// The owner's Kademlia::answer for `req`, without its length prefix.
Bytes owner_answer(Kademlia& kad, const PeerId& remote, const Message& req) {
  Message scratch;
  Bytes out;
  const HandleResult r = kad.answer(remote, req, Clock::now(), scratch, out);
  EXPECT_EQ(r.disposition, Disposition::kRespond);
  const auto len = varint::decode(out);
  if (!len) return {};
  return Bytes(out.begin() + static_cast<std::ptrdiff_t>(len->size), out.end());
}

Message parse(const Bytes& b) {
  auto m = decode_message(b);
  EXPECT_TRUE(m.ok());
  return m.ok() ? m.value() : Message{};
}

bool has_peer(const Message& m, const PeerId& p) {
  for (const auto& c : m.closerpeers()) {
    if (c.id() == as_string(p.bytes())) return true;
  }
  return false;
}

TEST(KadServerThreads, FindNodeFromTheSnapshotIsTheOwnersAnswer) {
  Threads h;
  std::vector<Message> requests;
  for (int i = 0; i < 6; ++i) requests.push_back(make_find_node(random_peer(h.rng).bytes()));
  requests.push_back(make_find_node(h.self.bytes()));    // ourselves
  requests.push_back(make_find_node(h.remote.bytes()));  // the requester: never in its answer
  std::vector<Bytes> answers;
  auto err = h.run([&](net::ByteStream& s) -> asio::awaitable<void> {
    net::BufferedReader r(s);
    for (const auto& req : requests) answers.push_back(co_await roundtrip(s, r, req));
    co_await s.close_write();
  });
  EXPECT_EQ(err, nullptr);
  ASSERT_EQ(answers.size(), requests.size());
  // Nothing changed since the first answer's publish: one snapshot for all.
  EXPECT_EQ(h.kad.counters().snapshots_built.load(), 1u);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(answers[i], owner_answer(h.kad, h.remote, requests[i])) << i;
  }
  EXPECT_EQ(parse(answers[0]).closerpeers_size(), static_cast<int>(kK));
  EXPECT_EQ(parse(answers[6]).closerpeers(0).id(), as_string(h.self.bytes()));
  EXPECT_FALSE(has_peer(parse(answers[7]), h.remote));
  EXPECT_EQ(h.kad.counters().snapshots_built.load(), 1u);
  EXPECT_EQ(h.kad.counters().requested(pb::Message_MessageType_FIND_NODE), 2 * requests.size());
  EXPECT_EQ(h.kad.counters().responses_sent.load(), requests.size());
}

TEST(KadServerThreads, AnswersShowWhatTheOwnerChangedBeforeTheRequest) {
  Threads h;
  const PeerId newcomer = random_peer(h.rng);
  const Message about_newcomer = make_find_node(newcomer.bytes());
  const Message about_self = make_find_node(h.self.bytes());
  const std::vector<Multiaddr> newcomer_addrs = {public_addr(500)};
  const std::vector<Multiaddr> our_addrs = {public_addr(600)};
  const Bytes our_addr = our_addrs[0].bytes();
  Message before, after, self_before, self_after;
  Bytes expected;
  auto err = h.run([&](net::ByteStream& s) -> asio::awaitable<void> {
    net::BufferedReader r(s);
    before = parse(co_await roundtrip(s, r, about_newcomer));
    self_before = parse(co_await roundtrip(s, r, about_self));
    // The owner learns a peer and its own address; the next requests are
    // read after that.
    co_await net::run_on(h.owner(), [&] {
      (void)h.kad.on_peer_identified(newcomer, newcomer_addrs, true, Clock::now());
      h.kad.set_local_addresses(our_addrs);
    });
    const Bytes raw = co_await roundtrip(s, r, about_newcomer);
    after = parse(raw);
    self_after = parse(co_await roundtrip(s, r, about_self));
    expected = co_await net::run_on(h.owner(),
                                    [&] { return owner_answer(h.kad, h.remote, about_newcomer); });
    EXPECT_EQ(raw, expected);
    co_await s.close_write();
  });
  EXPECT_EQ(err, nullptr);
  EXPECT_FALSE(has_peer(before, newcomer));
  EXPECT_TRUE(has_peer(after, newcomer));
  ASSERT_EQ(self_before.closerpeers_size(), 1);
  ASSERT_EQ(self_after.closerpeers_size(), 1);
  EXPECT_EQ(self_before.closerpeers(0).addrs_size(), 0);
  ASSERT_EQ(self_after.closerpeers(0).addrs_size(), 1);
  EXPECT_EQ(as_bytes(self_after.closerpeers(0).addrs(0)).size(), our_addr.size());
  EXPECT_TRUE(std::ranges::equal(as_bytes(self_after.closerpeers(0).addrs(0)), our_addr));
  EXPECT_FALSE(expected.empty());
  // One build before the change, one after it.
  EXPECT_EQ(h.kad.counters().snapshots_built.load(), 2u);
}

TEST(KadServerThreads, StoreRequestsHopToTheOwner) {
  Threads h;
  std::atomic<int> observed{0};
  h.kad.set_inbound_observer([&](MessageType, Duration) { observed.fetch_add(1); });
  const Bytes add_provider = encode_message(
      make_add_provider(Bytes{0x12, 0x01, 0x07}, PeerInfo{h.remote, {public_addr(1)}}));
  std::vector<Message> answers;
  bool saw_eof = false;
  auto err = h.run([&](net::ByteStream& s) -> asio::awaitable<void> {
    net::BufferedReader r(s);
    answers.push_back(parse(co_await roundtrip(s, r, make_put_value(kKeyX, kValue))));
    co_await net::write_length_prefixed(s, add_provider);  // no answer
    answers.push_back(parse(co_await roundtrip(s, r, make_get_value(kKeyX))));
    answers.push_back(parse(co_await roundtrip(s, r, make_ping())));
    co_await s.close_write();
    saw_eof = !(co_await r.read_length_prefixed(kMaxMessageSize)).has_value();
  });
  EXPECT_EQ(err, nullptr);
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_EQ(answers[0].type(), pb::Message_MessageType_PUT_VALUE);
  EXPECT_EQ(answers[0].record().value(), "value");
  EXPECT_EQ(answers[1].type(), pb::Message_MessageType_GET_VALUE);
  EXPECT_EQ(answers[1].record().value(), "value");
  EXPECT_EQ(answers[1].closerpeers_size(), static_cast<int>(kK));
  EXPECT_EQ(answers[2].type(), pb::Message_MessageType_PING);
  EXPECT_TRUE(saw_eof);
  EXPECT_EQ(h.kad.records().size(), 1u);
  EXPECT_EQ(h.kad.providers().total(), 1u);
  EXPECT_EQ(h.kad.counters().responses_sent.load(), 3u);
  EXPECT_EQ(observed.load(), 3);
}

TEST(KadServerThreads, MalformedAndKeylessRequestsAreRefusedAndCounted) {
  Threads h;
  auto err = h.run(test::send_malformed);  // must throw: reset
  EXPECT_NE(err, nullptr);
  EXPECT_EQ(h.kad.counters().refused(Refusal::kMalformed), 1u);

  const Message keyless = make_find_node(Bytes{});
  err = h.run([&](net::ByteStream& s) -> asio::awaitable<void> {
    net::BufferedReader r(s);
    (void)co_await roundtrip(s, r, keyless);  // must throw: reset
  });
  EXPECT_NE(err, nullptr);
  EXPECT_EQ(h.kad.counters().refused(Refusal::kMissingKey), 1u);
  EXPECT_EQ(h.kad.counters().responses_sent.load(), 0u);
}

// Several streams on two connection threads while the owner keeps changing
// the table: every FIND_NODE answer is whole (for ThreadSanitizer runs).
TEST(KadServerThreads, StreamsOnTwoThreadsWhileTheOwnerChanges) {
  Threads h(2);
  constexpr int kRequests = 40;
  std::vector<Message> targets;
  for (int i = 0; i < kRequests; ++i) targets.push_back(make_find_node(random_peer(h.rng).bytes()));
  std::atomic<int> whole{0};
  std::vector<Client> clients;
  for (int c = 0; c < 6; ++c) {
    clients.push_back([&](net::ByteStream& s) -> asio::awaitable<void> {
      net::BufferedReader r(s);
      for (int i = 0; i < kRequests; ++i) {
        const Message m = parse(co_await roundtrip(s, r, targets[static_cast<std::size_t>(i)]));
        if (m.closerpeers_size() == static_cast<int>(kK)) whole.fetch_add(1);
        if (i % 10 == 0) (void)co_await roundtrip(s, r, make_put_value(kKeyX, kValue));
      }
      co_await s.close_write();
    });
  }
  std::uint32_t next = 1000;
  auto errors = h.run(clients, [&] {
    (void)h.kad.on_peer_identified(random_peer(h.rng), {public_addr(next++)}, true, Clock::now());
  });
  for (const auto& e : errors) EXPECT_EQ(e, nullptr);
  EXPECT_EQ(whole.load(), 6 * kRequests);
  EXPECT_EQ(h.kad.records().size(), 1u);
}

}  // namespace
}  // namespace mp::kad
