// mp-loadgen relay: load on the server's Circuit Relay v2 (libp2p/specs
// relay/circuit-v2.md), every relayed byte checked.
//
// `conns` listeners dial, are identified, RESERVE on the hop protocol, answer
// each STOP CONNECT with OK and then echo what the circuit brings until EOF.
// `conns` clients dial; client i CONNECTs through the server to listener i.
// Two timed parts of `duration` seconds each:
//  1. circuits: each client in a loop: CONNECT, a 32-byte echo (the circuit
//     carries bytes both ways), half-close, the listener's EOF back. Circuits
//     per second and server CPU per circuit (the setup cost).
//  2. echo: each client writes `chunk` bytes, reads them back and compares
//     them byte for byte, in a loop on one circuit; latency is that round
//     trip. When the relay's OK carries a Limit, the circuit is retired
//     before it would pass half its data limit (ours and go-libp2p count
//     data per direction, js-libp2p both directions together) or 80% of its
//     duration, and a new one is opened: the figures hold with the relay's
//     default limits too (the benchmark runs raise them).
// Relayed bytes count both directions, what the relay forwards: two chunks
// per echo.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <algorithm>
#include <array>
#include <cstring>
#include <latch>
#include <limits>
#include <stdexcept>

#include "loadgen/connection.hpp"
#include "loadgen/modes.hpp"
#include "loadgen/pool.hpp"
#include "net/buffered_reader.hpp"
#include "net/deadline.hpp"
#include "net/prefixed_stream.hpp"
#include "relay/protocol.hpp"

namespace mp::loadgen {

namespace {

using Clock = std::chrono::steady_clock;
namespace pb = relay::pb;

const std::string kHop(relay::kHopProtocol);
const std::string kStop(relay::kStopProtocol);
constexpr std::size_t kProbe = 32;             // bytes echoed on each circuit of part 1
constexpr std::size_t kListenerBuffer = 32 * 1024;

// Per thread, like ThreadStats: touched only by coroutines on that thread.
struct RelayStats {
  std::uint64_t reservations = 0;
  std::uint64_t circuits = 0;      // CONNECT answered OK
  std::uint64_t retired = 0;       // echo part: circuits closed ahead of their Limit
  std::uint64_t echoed = 0;        // payload bytes read back (and compared)
  std::uint64_t mismatches = 0;    // echoes that came back different, or extra bytes
  std::uint64_t stops_served = 0;  // listener side: STOP CONNECT answered OK
  std::uint64_t bad_stops = 0;     // listener side: not a STOP CONNECT

  void add(const RelayStats& o) {
    reservations += o.reservations;
    circuits += o.circuits;
    retired += o.retired;
    echoed += o.echoed;
    mismatches += o.mismatches;
    stops_served += o.stops_served;
    bad_stops += o.bad_stops;
  }
};

struct Phase {
  Clock::time_point end = Clock::time_point::max();
  std::uint64_t ops_per_worker = 0;  // 0: until `end`
  bool more(std::uint64_t done) const {
    return Clock::now() < end && (ops_per_worker == 0 || done < ops_per_worker);
  }
};

std::uint32_t micros_since(Clock::time_point t0) {
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  std::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// splitmix64: a different pattern for every echo, so a relay that replays
// old bytes or mixes circuits is caught by the comparison.
void fill(Bytes& out, std::uint64_t& state) {
  for (std::size_t i = 0; i < out.size(); i += 8) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    std::memcpy(out.data() + i, &z, std::min<std::size_t>(8, out.size() - i));
  }
}

asio::awaitable<void> read_exact(net::ByteStream& s, std::span<std::uint8_t> out) {
  for (std::size_t got = 0; got < out.size();) {
    const std::size_t n = co_await s.read_some(out.subspan(got));
    if (n == 0) throw std::runtime_error("the circuit ended in the middle of an echo");
    got += n;
  }
}

// The relay's STATUS answer on a hop stream; throws unless it is OK.
asio::awaitable<pb::HopMessage> read_hop_ok(net::BufferedReader& reader) {
  auto raw = co_await reader.read_length_prefixed(relay::kMaxMessageSize);
  if (!raw) throw std::runtime_error("the relay closed the hop stream without an answer");
  auto m = relay::decode_hop(*raw);
  if (!m || m->type() != pb::HopMessage::STATUS || !m->has_status()) {
    throw std::runtime_error("malformed hop answer");
  }
  if (m->status() != pb::OK) {
    throw std::runtime_error(std::string("hop refused: ") + relay::status_name(m->status()));
  }
  co_return std::move(*m);
}

asio::awaitable<void> reserve(Connection& conn, const Options& opt) {
  auto stream = co_await conn.open(kHop);
  net::Deadline deadline(co_await asio::this_coro::executor, opt.timeout, stream);
  pb::HopMessage req;
  req.set_type(pb::HopMessage::RESERVE);
  co_await net::write_length_prefixed(*stream, relay::encode(req));
  net::BufferedReader reader(*stream);
  const auto answer = co_await read_hop_ok(reader);
  if (!answer.has_reservation()) throw std::runtime_error("RESERVE answered OK without a reservation");
  co_await stream->close_write();
}

struct Circuit {
  std::shared_ptr<net::ByteStream> stream;
  relay::CircuitLimit limit;  // zero: none
};

asio::awaitable<Circuit> connect(Connection& conn, const PeerId& target, const Options& opt) {
  auto stream = co_await conn.open(kHop);
  net::Deadline deadline(co_await asio::this_coro::executor, opt.timeout, stream);
  pb::HopMessage req;
  req.set_type(pb::HopMessage::CONNECT);
  req.mutable_peer()->set_id(target.bytes().data(), target.bytes().size());
  co_await net::write_length_prefixed(*stream, relay::encode(req));
  net::BufferedReader reader(*stream);
  const auto answer = co_await read_hop_ok(reader);
  Circuit c;
  if (answer.has_limit()) {
    c.limit.duration = std::chrono::seconds(answer.limit().duration());
    c.limit.data = answer.limit().data();
  }
  const auto rest = reader.buffered();
  c.stream = rest.empty() ? stream
                          : std::make_shared<net::PrefixedStream>(Bytes(rest.begin(), rest.end()),
                                                                  stream);
  co_return c;
}

// One echo: `out` refilled, written, as many bytes read back into `in` and
// compared.
asio::awaitable<void> echo(net::ByteStream& s, Bytes& out, Bytes& in, std::uint64_t& pattern,
                           RelayStats& rs) {
  fill(out, pattern);
  co_await s.write(out);
  co_await read_exact(s, in);
  if (std::memcmp(out.data(), in.data(), out.size()) != 0) ++rs.mismatches;
  rs.echoed += out.size();
}

// Half-closes the circuit and waits for the listener's EOF; any byte still
// coming is one the listener did not get from us.
asio::awaitable<void> finish(net::ByteStream& s, RelayStats& rs) {
  co_await s.close_write();
  std::array<std::uint8_t, 256> tail{};
  bool extra = false;
  while (co_await s.read_some(tail) > 0) extra = true;
  if (extra) ++rs.mismatches;
}

// The listener's side of a circuit: the relay's STOP CONNECT answered OK,
// then every byte written back until EOF.
asio::awaitable<void> serve_stop(std::shared_ptr<net::ByteStream> stream, RelayStats& rs,
                                 std::chrono::milliseconds timeout) {
  Bytes early;
  {
    net::Deadline deadline(co_await asio::this_coro::executor, timeout, stream);
    net::BufferedReader reader(*stream);
    auto raw = co_await reader.read_length_prefixed(relay::kMaxMessageSize);
    auto m = raw ? relay::decode_stop(*raw) : std::nullopt;
    if (!m || m->type() != pb::StopMessage::CONNECT || !m->has_peer()) {
      ++rs.bad_stops;
      stream->reset();
      co_return;
    }
    pb::StopMessage ok;
    ok.set_type(pb::StopMessage::STATUS);
    ok.set_status(pb::OK);
    co_await net::write_length_prefixed(*stream, relay::encode(ok));
    ++rs.stops_served;
    const auto rest = reader.buffered();
    early.assign(rest.begin(), rest.end());
  }
  if (!early.empty()) co_await stream->write(early);
  Bytes buf(kListenerBuffer);
  for (;;) {
    const std::size_t n = co_await stream->read_some(buf);
    if (n == 0) break;
    co_await stream->write(BytesView(buf.data(), n));
  }
  co_await stream->close_write();
}

// Part 1: circuits opened and closed in a loop; latency = CONNECT to OK.
asio::awaitable<void> circuit_loop(std::shared_ptr<Connection> conn, PeerId target,
                                   const Options& opt, ThreadStats& st, RelayStats& rs,
                                   const Phase& phase, std::uint64_t pattern, std::latch& done) {
  auto ex = co_await asio::this_coro::executor;
  Bytes out(kProbe);
  Bytes in(kProbe);
  for (std::uint64_t n = 0; phase.more(n) && !conn->is_closed(); ++n) {
    bool ok = false;
    try {
      const auto t0 = Clock::now();
      auto c = co_await connect(*conn, target, opt);
      st.latency_us.push_back(micros_since(t0));
      ++rs.circuits;
      net::Deadline deadline(ex, opt.timeout, c.stream);
      co_await echo(*c.stream, out, in, pattern, rs);
      co_await finish(*c.stream, rs);
      ok = true;
    } catch (const std::exception& e) {
      st.error(e.what());
    }
    if (!ok) co_await pause(std::chrono::milliseconds(10));  // do not spin on a refusing relay
  }
  done.count_down();
}

// Part 2: `chunk`-byte echoes on one circuit, a new one when the Limit nears.
asio::awaitable<void> echo_loop(std::shared_ptr<Connection> conn, PeerId target,
                                const Options& opt, ThreadStats& st, RelayStats& rs,
                                const Phase& phase, std::uint64_t pattern, std::latch& done) {
  auto ex = co_await asio::this_coro::executor;
  Bytes out(opt.chunk);
  Bytes in(opt.chunk);
  std::uint64_t n = 0;
  while (phase.more(n) && !conn->is_closed()) {
    bool ok = false;
    try {
      auto c = co_await connect(*conn, target, opt);
      ++rs.circuits;
      const std::uint64_t budget =
          c.limit.data == 0 ? std::numeric_limits<std::uint64_t>::max() : c.limit.data / 2;
      if (budget < out.size()) throw std::runtime_error("the relay's data limit is under two chunks");
      const auto until = c.limit.duration.count() == 0
                             ? Clock::time_point::max()
                             : Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                  c.limit.duration) * 4 / 5;
      net::Deadline deadline(ex, opt.timeout, c.stream);
      std::uint64_t sent = 0;
      for (;;) {
        if (!phase.more(n)) break;
        if (sent + out.size() > budget || Clock::now() >= until) {
          ++rs.retired;
          break;
        }
        deadline.restart(opt.timeout);
        const auto t0 = Clock::now();
        co_await echo(*c.stream, out, in, pattern, rs);
        st.latency_us.push_back(micros_since(t0));
        sent += out.size();
        ++n;
      }
      deadline.restart(opt.timeout);
      co_await finish(*c.stream, rs);
      ok = true;
    } catch (const std::exception& e) {
      st.error(e.what());
    }
    if (!ok) co_await pause(std::chrono::milliseconds(10));
  }
  done.count_down();
}

// Dials, waits to be identified and, for a listener, reserves; null on
// failure (counted).
asio::awaitable<void> set_up(std::shared_ptr<Connection>& slot, const Options& opt,
                             const PeerIdentity& id, asio::ip::address source, ThreadStats& st,
                             RelayStats& rs, bool listener, std::latch& ready) {
  try {
    InboundProtocol stop;
    if (listener) {
      stop.id = kStop;
      stop.handler = [rs = &rs, timeout = opt.timeout](std::shared_ptr<net::ByteStream> s) {
        return serve_stop(std::move(s), *rs, timeout);
      };
    }
    std::shared_ptr<Connection> conn =
        co_await Connection::dial(opt.target.endpoint, source, id, opt.timeout, std::move(stop));
    if (!co_await conn->wait_identified(opt.timeout)) {
      throw std::runtime_error("the server did not ask for our identify");
    }
    ++st.identify_served;
    if (listener) {
      co_await reserve(*conn, opt);
      ++rs.reservations;
    }
    slot = std::move(conn);
  } catch (const std::exception& e) {
    st.error(std::string(listener ? "listener setup: " : "client setup: ") + e.what());
  }
  ready.count_down();
}

}  // namespace

PhaseReport run_relay(const Options& opt) {
  const std::size_t pairs = static_cast<std::size_t>(opt.conns);
  std::vector<std::unique_ptr<PeerIdentity>> listener_ids;
  std::vector<std::unique_ptr<PeerIdentity>> client_ids;
  std::vector<PeerId> targets;
  for (std::size_t i = 0; i < pairs; ++i) {
    listener_ids.push_back(std::make_unique<PeerIdentity>(false, ""));
    listener_ids.back()->info.protocols.push_back(kStop);
    targets.push_back(PeerId::from_public_key(listener_ids.back()->key.public_key()));
    client_ids.push_back(std::make_unique<PeerIdentity>(false, ""));
  }
  std::vector<std::shared_ptr<Connection>> listeners(pairs);
  std::vector<std::shared_ptr<Connection>> clients(pairs);
  std::vector<RelayStats> rstats(static_cast<std::size_t>(std::max(1, opt.threads)));
  Phase circuits_phase{{}, opt.ops == 0 ? 0 : (opt.ops + pairs - 1) / pairs};
  Phase echo_phase = circuits_phase;
  Pool pool(opt.threads);  // after everything its coroutines use: stopped first
  auto relay_stats = [&](std::size_t i) -> RelayStats& { return rstats[i % pool.size()]; };

  // Listeners first (reserved before any client asks for them), then clients.
  for (int pass = 0; pass < 2; ++pass) {
    const bool listener = pass == 0;
    std::latch ready(static_cast<std::ptrdiff_t>(pairs));
    for (std::size_t i = 0; i < pairs; ++i) {
      asio::co_spawn(pool.context(i),
                     set_up(listener ? listeners[i] : clients[i], opt,
                            listener ? *listener_ids[i] : *client_ids[i],
                            source_for(opt, listener ? i : pairs + i), pool.stats(i),
                            relay_stats(i), listener, ready),
                     asio::detached);
    }
    ready.wait();
  }
  ThreadStats setup = pool.merged();

  // Runs one timed part: `body` for every pair whose two ends are up.
  auto timed = [&](Phase& phase, auto body, double& seconds, std::optional<double>& cpu) {
    std::latch done(static_cast<std::ptrdiff_t>(pairs));
    const auto cpu0 = cpu_of(opt);
    const auto t0 = Clock::now();
    phase.end = t0 + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(opt.duration));
    for (std::size_t i = 0; i < pairs; ++i) {
      if (!listeners[i] || !clients[i]) {
        done.count_down();
        continue;
      }
      // co_spawn posts: `phase.end` is written before any worker reads it.
      asio::co_spawn(pool.context(i),
                     body(clients[i], targets[i], opt, pool.stats(i), relay_stats(i), phase,
                          (static_cast<std::uint64_t>(i) << 40) ^ 0x5eedull, done),
                     asio::detached);
    }
    done.wait();
    seconds = seconds_since(t0);
    const auto cpu1 = cpu_of(opt);
    if (cpu0 && cpu1) cpu = *cpu1 - *cpu0;
  };

  double circuit_seconds = 0;
  std::optional<double> circuit_cpu;
  timed(circuits_phase, circuit_loop, circuit_seconds, circuit_cpu);
  ThreadStats circuits = pool.merged();
  RelayStats after_circuits;
  for (const auto& s : rstats) after_circuits.add(s);

  PhaseReport r;
  r.mode = "relay";
  timed(echo_phase, echo_loop, r.seconds, r.server_cpu_seconds);
  r.stats = pool.merged();
  RelayStats all;
  for (const auto& s : rstats) all.add(s);

  // Connections closed on their own threads, before the pool stops.
  std::latch closed(static_cast<std::ptrdiff_t>(2 * pairs));
  for (std::size_t i = 0; i < pairs; ++i) {
    for (auto* c : {&listeners[i], &clients[i]}) {
      asio::post(pool.context(i), [c, &closed] {
        c->reset();
        closed.count_down();
      });
    }
  }
  closed.wait();

  std::sort(circuits.latency_us.begin(), circuits.latency_us.end());
  const double opened = static_cast<double>(after_circuits.circuits);
  const double echo_circuits = static_cast<double>(all.circuits - after_circuits.circuits);
  const double echo_bytes = static_cast<double>(all.echoed - after_circuits.echoed);
  const double relayed = 2 * echo_bytes;
  const double mib = relayed / (1024.0 * 1024.0);
  r.extra.emplace_back("pairs", static_cast<double>(pairs));
  r.extra.emplace_back("reservations", static_cast<double>(all.reservations));
  r.extra.emplace_back("chunk_bytes", static_cast<double>(opt.chunk));
  r.extra.emplace_back("circuits_opened", opened);
  r.extra.emplace_back("circuit_seconds", circuit_seconds);
  r.extra.emplace_back("circuits_per_s", circuit_seconds > 0 ? opened / circuit_seconds : 0);
  r.extra.emplace_back("circuit_p50_us", percentile(circuits.latency_us, 0.5));
  r.extra.emplace_back("circuit_p99_us", percentile(circuits.latency_us, 0.99));
  r.extra.emplace_back("circuit_errors", static_cast<double>(circuits.errors));
  if (circuit_cpu) {
    r.extra.emplace_back("circuit_server_cpu_s", *circuit_cpu);
    if (opened > 0) r.extra.emplace_back("circuit_server_cpu_us", *circuit_cpu * 1e6 / opened);
    if (*circuit_cpu > 0) r.extra.emplace_back("circuits_per_server_cpu_s", opened / *circuit_cpu);
  }
  r.extra.emplace_back("echo_circuits", echo_circuits);
  r.extra.emplace_back("circuits_retired", static_cast<double>(all.retired));
  r.extra.emplace_back("relayed_bytes", relayed);
  r.extra.emplace_back("relayed_mib_per_s", r.seconds > 0 ? mib / r.seconds : 0);
  if (r.server_cpu_seconds && mib > 0) {
    r.extra.emplace_back("server_cpu_s_per_relayed_mib", *r.server_cpu_seconds / mib);
  }
  // Both parts: what the server's relay counters must show.
  r.extra.emplace_back("circuits_total", static_cast<double>(all.circuits));
  r.extra.emplace_back("echoed_bytes_total", static_cast<double>(all.echoed));
  r.extra.emplace_back("stops_served", static_cast<double>(all.stops_served));
  r.extra.emplace_back("bad_stops", static_cast<double>(all.bad_stops));
  r.extra.emplace_back("mismatches", static_cast<double>(all.mismatches));

  // --check fails on a wrong byte, a bad STOP, a failed circuit or setup, or
  // no circuit at all in part 1 (part 2's empty latency is caught by main).
  r.stats.bad_answers += all.mismatches + all.bad_stops;
  circuits.latency_us.clear();
  r.stats.merge(std::move(circuits));
  r.stats.merge(std::move(setup));
  if (opened == 0) r.stats.error("no circuit opened in the circuits part");
  return r;
}

}  // namespace mp::loadgen
