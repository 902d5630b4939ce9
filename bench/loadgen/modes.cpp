#include "loadgen/modes.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/this_coro.hpp>
#include <atomic>
#include <latch>
#include <random>
#include <sys/resource.h>

#include "kad/protocol.hpp"
#include "kad/rpc.hpp"
#include "loadgen/connection.hpp"
#include "loadgen/http_probe.hpp"
#include "loadgen/pool.hpp"
#include "net/buffered_reader.hpp"
#include "net/deadline.hpp"

namespace mp::loadgen {

asio::ip::address source_for(const Options& opt, std::size_t i) {
  const auto& a = opt.target.endpoint.address();
  if (opt.sources <= 0 || !a.is_loopback() || !a.is_v4()) {
    return {};
  }
  const auto n = static_cast<unsigned>(i % static_cast<std::size_t>(opt.sources));
  return asio::ip::make_address_v4(0x7f000101u + n);  // 127.0.1.1 + n
}

double own_cpu_seconds() {
  rusage u{};
  if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

std::optional<double> cpu_of(const Options& opt) {
  if (opt.pid <= 0) return std::nullopt;
  auto s = read_proc(opt.pid);
  return s ? std::optional<double>(s->cpu_seconds) : std::nullopt;
}

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kGo = 0;       // gate: start the timed part
constexpr std::size_t kRelease = 1;  // gate: let held connections go
const std::string kKad = "/ipfs/kad/1.0.0";
constexpr std::size_t kMaxAnswer = 64 * 1024;
constexpr std::uint64_t kValidateEvery = 64;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// --rate: each of the conns x inflight request loops sends on a fixed
// schedule (open loop), its first send at a random point of its interval;
// a request's latency counts from its scheduled time, so a server that
// falls behind is charged for the wait (no coordinated omission).
struct Pacer {
  Pacer(const asio::any_io_executor& ex, const Options& opt, std::mt19937_64& rng) : timer(ex) {
    if (opt.rate <= 0) return;
    const double loops = static_cast<double>(opt.conns) * opt.inflight;
    interval = std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 * loops / opt.rate));
    next = Clock::now() + std::chrono::nanoseconds(rng() % static_cast<std::uint64_t>(
                                                                std::max<std::int64_t>(1, interval.count())));
  }
  // Waits for the next scheduled send; returns the time latency counts from.
  asio::awaitable<Clock::time_point> wait() {
    if (interval.count() == 0) co_return Clock::now();
    const auto at = next;
    next += interval;
    if (at > Clock::now()) {
      timer.expires_at(at);
      co_await timer.async_wait(asio::use_awaitable);
    }
    co_return at;
  }
  asio::steady_timer timer;
  std::chrono::nanoseconds interval{0};
  Clock::time_point next{};
};

std::uint32_t micros_since(Clock::time_point t0) {
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
}

std::optional<double> cpu_delta(std::optional<double> before, std::optional<double> after) {
  if (!before || !after) return std::nullopt;
  return *after - *before;
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  std::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// A Kademlia key shaped like a Peer ID (sha2-256 multihash of random bytes).
void random_key(std::mt19937_64& rng, std::string& key) {
  key.assign("\x12\x20", 2);
  for (int i = 0; i < 4; ++i) {
    const std::uint64_t v = rng();
    key.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
}

// Counts one FIND_NODE answer; false when it is not a usable answer. With
// `validate`, every closer peer's id and addresses must parse too.
bool record_answer(ThreadStats& st, const kad::Message& answer, bool validate) {
  if (answer.type() != kad::pb::Message_MessageType_FIND_NODE) {
    ++st.bad_answers;
    return false;
  }
  if (validate) {
    for (const auto& p : answer.closerpeers()) {
      bool ok = PeerId::from_bytes(BytesView(reinterpret_cast<const std::uint8_t*>(p.id().data()),
                                             p.id().size()))
                    .ok() &&
                p.addrs_size() > 0;
      for (const auto& a : p.addrs()) {
        ok = ok && Multiaddr::from_bytes(
                       BytesView(reinterpret_cast<const std::uint8_t*>(a.data()), a.size()))
                       .ok();
      }
      if (!ok) {
        ++st.bad_answers;
        return false;
      }
    }
  }
  const auto n = static_cast<std::uint64_t>(answer.closerpeers_size());
  ++st.answers;
  st.closer_peers += n;
  if (n == 0) ++st.answers_without_peers;
  return true;
}

struct Phase {
  Clock::time_point end;
  std::uint64_t ops_per_worker = 0;  // 0: until `end`
  bool more(std::uint64_t done) const {
    return Clock::now() < end && (ops_per_worker == 0 || done < ops_per_worker);
  }
};

std::uint64_t share(std::uint64_t total, std::size_t workers) {
  return total == 0 ? 0 : (total + workers - 1) / workers;
}

// --- setups ---

asio::awaitable<void> setup_loop(const Options& opt, const PeerIdentity& id,
                                 asio::ip::address source, ThreadStats& st, const Phase& phase,
                                 std::latch& done) {
  for (std::uint64_t n = 0; phase.more(n); ++n) {
    const auto t0 = Clock::now();
    bool ok = false;
    try {
      auto conn = co_await Connection::dial(opt.target, source, id, opt.timeout);
      co_await conn->identify(opt.timeout);
      ++st.identify_checked;
      if (!co_await conn->wait_identified(opt.timeout)) {
        throw std::runtime_error("the server did not ask for our identify");
      }
      ++st.identify_served;
      st.latency_us.push_back(micros_since(t0));
      conn->close();
      ok = true;
    } catch (const std::exception& e) {
      st.error(e.what());
    }
    if (!ok) co_await pause(std::chrono::milliseconds(10));  // do not spin on a refusing server
  }
  done.count_down();
}

// --- findnode ---

asio::awaitable<void> findnode_new_streams(std::shared_ptr<Connection> conn, const Options& opt,
                                           ThreadStats& st, const Phase& phase, std::uint64_t seed,
                                           std::latch& done) {
  auto ex = co_await asio::this_coro::executor;
  std::mt19937_64 rng(seed);
  std::string key;
  random_key(rng, key);
  kad::Message request = kad::make_find_node({});
  Pacer pacer(ex, opt, rng);
  for (std::uint64_t n = 0; phase.more(n) && !conn->is_closed(); ++n) {
    random_key(rng, key);
    request.set_key(key);
    const auto t0 = co_await pacer.wait();
    try {
      auto stream = co_await conn->open(kKad);
      net::Deadline deadline(ex, opt.timeout, stream);
      auto answer = co_await kad::send_request(*stream, request, kMaxAnswer);
      if (answer && record_answer(st, *answer, opt.check_all || n % kValidateEvery == 0)) {
        st.latency_us.push_back(micros_since(t0));
      }
    } catch (const std::exception& e) {
      st.error(e.what());
    }
  }
  done.count_down();
}

asio::awaitable<void> findnode_reused_stream(std::shared_ptr<Connection> conn, const Options& opt,
                                             ThreadStats& st, const Phase& phase,
                                             std::uint64_t seed, std::latch& done) {
  auto ex = co_await asio::this_coro::executor;
  std::mt19937_64 rng(seed);
  std::string key;
  kad::Message request = kad::make_find_node({});
  kad::Message answer;
  Bytes body;
  try {
    auto stream = co_await conn->open(kKad);
    net::Deadline deadline(ex, opt.timeout, stream);
    net::BufferedReader reader(*stream);
    Pacer pacer(ex, opt, rng);
    for (std::uint64_t n = 0; phase.more(n); ++n) {
      random_key(rng, key);
      request.set_key(key);
      const auto t0 = co_await pacer.wait();
      deadline.restart(opt.timeout);
      kad::encode_message(request, body);
      co_await net::write_length_prefixed(*stream, body);
      auto raw = co_await reader.read_length_prefixed(kMaxAnswer);
      if (!raw) throw std::runtime_error("the server closed the stream");
      if (!kad::decode_message_into(*raw, answer)) {
        ++st.bad_answers;
        throw std::runtime_error("malformed answer");
      }
      if (record_answer(st, answer, opt.check_all || n % kValidateEvery == 0)) {
        st.latency_us.push_back(micros_since(t0));
      }
    }
    co_await stream->close_write();
  } catch (const std::exception& e) {
    st.error(e.what());
  }
  done.count_down();
}

// One client connection: dial, wait for the go, then `inflight` request loops.
asio::awaitable<void> findnode_client(Pool& pool, std::size_t t, const Options& opt,
                                      const PeerIdentity& id, asio::ip::address source,
                                      bool reuse, const Phase& phase, std::latch& ready,
                                      std::latch& done) {
  auto& st = pool.stats(t);
  std::shared_ptr<Connection> conn;
  try {
    conn = co_await Connection::dial(opt.target, source, id, opt.timeout);
    co_await conn->wait_identified(opt.timeout);
  } catch (const std::exception& e) {
    st.error(std::string("setup: ") + e.what());
    conn.reset();
  }
  ready.count_down();
  co_await pool.gate(t, kGo).wait();
  auto ex = co_await asio::this_coro::executor;
  for (int slot = 0; slot < opt.inflight; ++slot) {
    if (!conn) {
      done.count_down();
      continue;
    }
    const auto seed = (static_cast<std::uint64_t>(t) << 32) ^ reinterpret_cast<std::uintptr_t>(
                                                                  conn.get()) ^ slot;
    if (reuse) {
      asio::co_spawn(ex, findnode_reused_stream(conn, opt, st, phase, seed, done), asio::detached);
    } else {
      asio::co_spawn(ex, findnode_new_streams(conn, opt, st, phase, seed, done), asio::detached);
    }
  }
}

// Dials and waits until the server asked for our identify; null on failure
// (counted). The setup latency is recorded.
asio::awaitable<std::unique_ptr<Connection>> identified_peer(ThreadStats& st, const Options& opt,
                                                             const PeerIdentity& id,
                                                             asio::ip::address source) {
  const auto t0 = Clock::now();
  try {
    auto conn = co_await Connection::dial(opt.target, source, id, opt.timeout);
    if (!co_await conn->wait_identified(opt.timeout)) {
      throw std::runtime_error("the server did not ask for our identify");
    }
    ++st.identify_served;
    st.latency_us.push_back(micros_since(t0));
    co_return conn;
  } catch (const std::exception& e) {
    st.error(std::string("setup: ") + e.what());
  }
  co_return nullptr;
}

asio::awaitable<void> hold(std::unique_ptr<Connection> conn, Gate& release, std::latch& done) {
  co_await release.wait();
  conn.reset();  // closes the session
  done.count_down();
}

// Peers held until the release gate opens: takes the next identity from
// `next`, dials, hands the connection to a holder, repeats. Several run per
// thread (Options::concurrency in all), so the server sees a bounded number
// of handshakes at once.
struct HeldPeers {
  const std::vector<std::unique_ptr<PeerIdentity>>& ids;
  std::size_t source_offset = 0;
  std::atomic<std::size_t> next{0};
  std::latch ready;
  std::latch done;
  HeldPeers(const std::vector<std::unique_ptr<PeerIdentity>>& all, std::size_t offset)
      : ids(all),
        source_offset(offset),
        ready(static_cast<std::ptrdiff_t>(all.size())),
        done(static_cast<std::ptrdiff_t>(all.size())) {}
};

asio::awaitable<void> held_dialer(Pool& pool, std::size_t t, const Options& opt, HeldPeers& peers) {
  auto ex = co_await asio::this_coro::executor;
  for (;;) {
    const std::size_t i = peers.next.fetch_add(1);
    if (i >= peers.ids.size()) co_return;
    auto conn = co_await identified_peer(pool.stats(t), opt, *peers.ids[i],
                                         source_for(opt, i + peers.source_offset));
    peers.ready.count_down();
    if (conn) {
      asio::co_spawn(ex, hold(std::move(conn), pool.gate(t, kRelease), peers.done), asio::detached);
    } else {
      peers.done.count_down();
    }
  }
}

void start_held(Pool& pool, const Options& opt, HeldPeers& peers) {
  const auto dialers = std::max<std::size_t>(1, std::min<std::size_t>(
                                                    static_cast<std::size_t>(opt.concurrency),
                                                    peers.ids.size()));
  for (std::size_t d = 0; d < dialers; ++d) {
    asio::co_spawn(pool.context(d), held_dialer(pool, d % pool.size(), opt, peers), asio::detached);
  }
}

// In each run_* below the Pool is declared after everything its coroutines
// use, so it is destroyed (threads stopped and joined) first.

Clock::time_point after(Clock::time_point t0, double seconds) {
  return t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

std::vector<std::unique_ptr<PeerIdentity>> clients(int n) {
  std::vector<std::unique_ptr<PeerIdentity>> ids;
  for (int i = 0; i < n; ++i) ids.push_back(std::make_unique<PeerIdentity>(false, ""));
  return ids;
}

}  // namespace

PhaseReport run_setups(const Options& opt) {
  const auto ids = clients(opt.concurrency);
  Phase phase{{}, share(opt.ops, ids.size())};
  std::latch done(static_cast<std::ptrdiff_t>(ids.size()));
  Pool pool(opt.threads);
  const auto cpu0 = cpu_of(opt);
  const double own0 = own_cpu_seconds();
  const auto t0 = Clock::now();
  phase.end = after(t0, opt.duration);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    asio::co_spawn(pool.context(i),
                   setup_loop(opt, *ids[i], source_for(opt, i), pool.stats(i), phase, done),
                   asio::detached);
  }
  done.wait();
  PhaseReport r;
  r.mode = "setups";
  r.seconds = seconds_between(t0, Clock::now());
  r.server_cpu_seconds = cpu_delta(cpu0, cpu_of(opt));
  r.client_cpu_seconds = own_cpu_seconds() - own0;
  r.stats = pool.merged();
  return r;
}

PhaseReport run_findnode(const Options& opt, bool reuse) {
  // The server's routing table is seeded by kad-server peers, held for the phase.
  std::vector<std::unique_ptr<PeerIdentity>> seeds;
  for (int i = 0; i < opt.seed; ++i) {
    seeds.push_back(std::make_unique<PeerIdentity>(
        true, "/ip4/127.0.0.1/tcp/" + std::to_string(20000 + i)));
  }
  HeldPeers seeded(seeds, 0);
  const auto ids = clients(opt.conns);
  const std::size_t workers = ids.size() * static_cast<std::size_t>(opt.inflight);
  Phase phase{Clock::time_point::max(), share(opt.ops, workers)};
  std::latch ready(opt.conns);
  std::latch done(static_cast<std::ptrdiff_t>(workers));
  Pool pool(opt.threads);

  start_held(pool, opt, seeded);
  seeded.ready.wait();
  const auto seeding = pool.merged();  // counted apart: not the timed part
  for (std::size_t i = 0; i < ids.size(); ++i) {
    asio::co_spawn(pool.context(i),
                   findnode_client(pool, i % pool.size(), opt, *ids[i],
                                   source_for(opt, i + seeds.size()), reuse, phase, ready, done),
                   asio::detached);
  }
  ready.wait();
  auto setup_errors = pool.merged();

  const auto cpu0 = cpu_of(opt);
  const double own0 = own_cpu_seconds();
  const auto t0 = Clock::now();
  phase.end = after(t0, opt.duration);
  pool.open_gates(kGo);  // asio::post orders `phase.end` before the workers read it
  done.wait();
  PhaseReport r;
  r.mode = reuse ? "findnode-reuse" : "findnode-new";
  r.seconds = seconds_between(t0, Clock::now());
  r.server_cpu_seconds = cpu_delta(cpu0, cpu_of(opt));
  r.client_cpu_seconds = own_cpu_seconds() - own0;
  pool.open_gates(kRelease);
  seeded.done.wait();
  r.stats = pool.merged();
  r.stats.merge(std::move(setup_errors));
  r.extra.emplace_back("seed_peers_identified", static_cast<double>(seeding.identify_served));
  r.extra.emplace_back("seed_errors", static_cast<double>(seeding.errors));
  return r;
}

PhaseReport run_idle(const Options& opt) {
  const auto ids = clients(opt.idle);
  HeldPeers peers(ids, 0);
  Pool pool(opt.threads);
  const auto before = opt.pid > 0 ? read_proc(opt.pid) : std::nullopt;
  const auto t0 = Clock::now();
  start_held(pool, opt, peers);
  peers.ready.wait();
  const double setup_seconds = seconds_between(t0, Clock::now());
  const auto cpu_after_setup = cpu_of(opt);

  PhaseReport r;
  r.mode = "idle";
  r.seconds = setup_seconds;
  r.server_cpu_seconds = cpu_delta(before ? std::optional<double>(before->cpu_seconds) : std::nullopt,
                                   cpu_after_setup);
  const auto held = pool.merged();
  const double n = static_cast<double>(held.identify_served);
  r.extra.emplace_back("connections_held", n);
  if (opt.pid > 0 && before) {
    auto held_rss = settled_rss(opt.pid);
    r.extra.emplace_back("rss_before_kib", static_cast<double>(before->rss_bytes) / 1024);
    r.extra.emplace_back("rss_held_kib", static_cast<double>(held_rss) / 1024);
    if (n > 0) {
      r.extra.emplace_back(
          "rss_per_conn_kib",
          (static_cast<double>(held_rss) - static_cast<double>(before->rss_bytes)) / n / 1024);
    }
  }
  if (opt.health_port > 0) {
    const auto probe = http_get("127.0.0.1", opt.health_port, "/health", opt.timeout);
    r.extra.emplace_back("health_status", probe.status);
    r.extra.emplace_back("health_ms", probe.millis);
  }
  pool.open_gates(kRelease);
  peers.done.wait();
  r.stats = held;
  return r;
}

}  // namespace mp::loadgen
