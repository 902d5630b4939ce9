#include "relay/relay.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>

#include "net/buffered_reader.hpp"
#include "net/deadline.hpp"
#include "relay/pipe.hpp"
#include "relay/voucher.hpp"

namespace mp::relay {
namespace {

using Clock = std::chrono::steady_clock;

// How long a client has to send its hop request, and the target to answer
// the stop CONNECT (go-libp2p uses one minute for both; a relay should not
// hold a slot that long for a silent peer).
constexpr std::chrono::seconds kRequestTimeout{10};
constexpr std::chrono::seconds kSweepInterval{30};

std::uint64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

}  // namespace

Refusal refusal_of(Status s) {
  switch (s) {
    case pb::RESERVATION_REFUSED:
      return Refusal::kReservationRefused;
    case pb::RESOURCE_LIMIT_EXCEEDED:
      return Refusal::kResourceLimitExceeded;
    case pb::PERMISSION_DENIED:
      return Refusal::kPermissionDenied;
    case pb::CONNECTION_FAILED:
      return Refusal::kConnectionFailed;
    case pb::NO_RESERVATION:
      return Refusal::kNoReservation;
    case pb::MALFORMED_MESSAGE:
      return Refusal::kMalformedMessage;
    default:
      return Refusal::kUnexpectedMessage;
  }
}

const char* refusal_name(Refusal r) {
  static constexpr const char* kNames[] = {
      "reservation_refused", "resource_limit_exceeded", "permission_denied", "connection_failed",
      "no_reservation",      "malformed_message",       "unexpected_message"};
  const auto i = static_cast<std::size_t>(r);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

Relay::Relay(asio::any_io_executor executor, host::Host& host, const Ed25519KeyPair& identity,
             RelayLimits limits)
    : executor_(executor),
      host_(host),
      identity_(identity),
      limits_(limits),
      reservations_(limits_),
      circuits_(limits_),
      sweep_timer_(executor) {}

Relay::~Relay() {
  *alive_ = false;
}

void Relay::install() {
  host_.set_handler(std::string(kHopProtocol),
                    [this](host::StreamContext ctx) { return serve_hop(std::move(ctx)); });
  auto alive = alive_;
  host_.events().subscribe([this, alive](const host::Event& e) {
    if (!*alive) return;
    if (const auto* closed = std::get_if<host::ConnectionClosed>(&e)) {
      // libp2p/specs: the reservation is valid only while the peer stays connected.
      if (reservations_.connection_closed(closed->connection_id)) publish_gauges();
    }
  });
  asio::co_spawn(executor_, sweep_loop(), asio::detached);
}

void Relay::stop() {
  sweep_timer_.cancel();
  *alive_ = false;
}

void Relay::publish_gauges() {
  counters_.reservations_current.store(static_cast<std::int64_t>(reservations_.size()),
                                       std::memory_order_relaxed);
  counters_.circuits_current.store(static_cast<std::int64_t>(circuits_.size()),
                                   std::memory_order_relaxed);
}

asio::awaitable<void> Relay::sweep_loop() {
  auto alive = alive_;
  while (*alive) {
    sweep_timer_.expires_after(kSweepInterval);
    std::error_code ec;
    co_await sweep_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive || ec) co_return;
    if (reservations_.expire(Clock::now()) > 0) {
      // Connections kept open for an expired reservation may now idle out.
      for (const auto& c : host_.connections()) {
        if (c->keep_alive() && !reservations_.holds(c->id())) c->set_keep_alive(false);
      }
    }
    publish_gauges();
  }
}

asio::awaitable<void> Relay::refuse(net::ByteStream& stream, Status s, bool reservation) {
  counters_.refusals[static_cast<std::size_t>(refusal_of(s))].fetch_add(1,
                                                                        std::memory_order_relaxed);
  (reservation ? counters_.reservations_refused : counters_.circuits_refused)
      .fetch_add(1, std::memory_order_relaxed);
  co_await net::write_length_prefixed(stream, encode(hop_status(s)));
  co_await stream.close_write();
}

asio::awaitable<void> Relay::serve_hop(host::StreamContext ctx) {
  std::optional<pb::HopMessage> msg;
  {
    net::Deadline deadline(executor_, kRequestTimeout, ctx.stream);
    net::BufferedReader reader(*ctx.stream);
    std::optional<Bytes> raw;
    try {
      raw = co_await reader.read_length_prefixed(kMaxMessageSize);
    } catch (const net::ProtocolError&) {
      raw = Bytes{0xff};  // oversized or bad prefix: answered as malformed below
    }
    if (!raw) co_return;  // the client went away without asking anything
    msg = decode_hop(*raw);
    // The client waits for our STATUS before sending anything else, so bytes
    // already buffered past the request are a protocol violation.
    if (!reader.buffered().empty()) msg.reset();
  }
  if (!msg) {
    spdlog::debug("relay: malformed hop message from {}",
                  ctx.connection->remote_peer().to_base58());
    co_await refuse(*ctx.stream, pb::MALFORMED_MESSAGE, true);
    co_return;
  }
  switch (msg->type()) {
    case pb::HopMessage::RESERVE:
      co_await handle_reserve(ctx);
      break;
    case pb::HopMessage::CONNECT:
      co_await handle_connect(ctx, *msg);
      break;
    default:
      co_await refuse(*ctx.stream, pb::UNEXPECTED_MESSAGE, true);
      break;
  }
}

asio::awaitable<void> Relay::handle_reserve(host::StreamContext& ctx) {
  const auto& conn = *ctx.connection;
  const auto outcome =
      reservations_.reserve(conn.remote_peer(), conn.remote_ip(), conn.id(), Clock::now());
  if (outcome.status != pb::OK) {
    counters_.limit_refusals[0][static_cast<std::size_t>(outcome.limit)].fetch_add(
        1, std::memory_order_relaxed);
    spdlog::debug("relay: reservation for {} refused by the {} limit",
                  conn.remote_peer().to_base58(), limit_name(outcome.limit));
    co_await refuse(*ctx.stream, outcome.status, true);
    co_return;
  }
  ctx.connection->set_keep_alive(true);
  publish_gauges();
  counters_.reservations_accepted.fetch_add(1, std::memory_order_relaxed);
  if (outcome.renewed) counters_.reservations_renewed.fetch_add(1, std::memory_order_relaxed);

  const auto expire = unix_seconds(std::chrono::system_clock::now() + limits_.reservation_ttl);
  std::vector<Multiaddr> addrs;
  for (const auto& a : host_.advertised_addrs()) {
    if (!a.is_circuit()) addrs.push_back(a.with_peer_id(host_.local_peer()));
  }
  const Bytes voucher =
      sign_voucher(identity_, Voucher{host_.local_peer(), conn.remote_peer(), expire});
  spdlog::debug("relay: {} reservation for {} until {}", outcome.renewed ? "renewed" : "new",
                conn.remote_peer().to_base58(), expire);
  co_await net::write_length_prefixed(
      *ctx.stream, encode(hop_reservation_ok(expire, addrs, voucher, limits_.circuit)));
  co_await ctx.stream->close_write();
}

asio::awaitable<void> Relay::handle_connect(host::StreamContext& ctx, const pb::HopMessage& msg) {
  const PeerId& src = ctx.connection->remote_peer();
  if (!msg.has_peer()) {
    co_await refuse(*ctx.stream, pb::MALFORMED_MESSAGE, false);
    co_return;
  }
  auto dst_r = PeerId::from_bytes(as_bytes(msg.peer().id()));
  if (!dst_r) {
    co_await refuse(*ctx.stream, pb::MALFORMED_MESSAGE, false);
    co_return;
  }
  const PeerId dst = std::move(*dst_r);
  // Relaying to ourselves or back to the initiator makes no sense and would
  // only burn a circuit slot.
  if (dst == host_.local_peer() || dst == src) {
    co_await refuse(*ctx.stream, pb::PERMISSION_DENIED, false);
    co_return;
  }
  const auto reserved_on = reservations_.find(dst, Clock::now());
  std::shared_ptr<host::Connection> target;
  if (reserved_on) {
    for (const auto& c : host_.connections()) {
      if (c->id() == *reserved_on && c->is_open()) target = c;
    }
  }
  if (!target) {
    co_await refuse(*ctx.stream, pb::NO_RESERVATION, false);
    co_return;
  }
  const CircuitTable::Circuit circuit{src, ctx.connection->remote_ip(), dst};
  LimitHit hit = LimitHit::kNone;
  if (circuits_.open(circuit, &hit) != pb::OK) {
    counters_.limit_refusals[1][static_cast<std::size_t>(hit)].fetch_add(1,
                                                                         std::memory_order_relaxed);
    spdlog::debug("relay: circuit {} -> {} refused by the {} limit", src.to_base58(),
                  dst.to_base58(), limit_name(hit));
    co_await refuse(*ctx.stream, pb::RESOURCE_LIMIT_EXCEEDED, false);
    co_return;
  }
  publish_gauges();
  // From here on the slot is ours: give it back however we leave.
  struct Release {
    Relay* self;
    const CircuitTable::Circuit& c;
    std::shared_ptr<bool> alive;
    ~Release() {
      if (!*alive) return;
      self->circuits_.close(c);
      self->publish_gauges();
    }
  } release{this, circuit, alive_};

  // libp2p/specs "Stop Protocol": CONNECT to the target over its existing connection.
  host::NegotiatedStream stop;
  Bytes stop_leftover;
  bool accepted = false;
  try {
    std::vector<std::string> protos{std::string(kStopProtocol)};
    stop = co_await target->open_stream(std::move(protos));
    net::Deadline deadline(executor_, kRequestTimeout, stop.stream);
    co_await net::write_length_prefixed(*stop.stream, encode(stop_connect(src, limits_.circuit)));
    net::BufferedReader reader(*stop.stream);
    auto raw = co_await reader.read_length_prefixed(kMaxMessageSize);
    if (raw) {
      auto reply = decode_stop(*raw);
      accepted = reply && reply->type() == pb::StopMessage::STATUS && reply->status() == pb::OK;
    }
    const auto rest = reader.buffered();
    stop_leftover.assign(rest.begin(), rest.end());
  } catch (const std::exception& e) {
    spdlog::debug("relay: stop CONNECT to {} failed: {}", dst.to_base58(), e.what());
  }
  if (!accepted) {
    if (stop.stream) stop.stream->reset();
    counters_.circuits_failed.fetch_add(1, std::memory_order_relaxed);
    co_await refuse(*ctx.stream, pb::CONNECTION_FAILED, false);
    co_return;
  }
  co_await net::write_length_prefixed(*ctx.stream, encode(hop_connect_ok(limits_.circuit)));
  counters_.circuits_accepted.fetch_add(1, std::memory_order_relaxed);
  spdlog::debug("relay: circuit {} -> {} open", src.to_base58(), dst.to_base58());
  auto result = co_await splice(executor_, ctx.stream, stop.stream, limits_.circuit,
                                &counters_.bytes_relayed, Bytes{}, std::move(stop_leftover));
  if (result.end == PipeEnd::kDataLimit || result.end == PipeEnd::kDuration) {
    counters_.circuits_limited.fetch_add(1, std::memory_order_relaxed);
  }
  spdlog::debug("relay: circuit {} -> {} ended ({}): {} bytes out, {} bytes back", src.to_base58(),
                dst.to_base58(), to_string(result.end), result.a_to_b, result.b_to_a);
}

}  // namespace mp::relay
