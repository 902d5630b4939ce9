#include "autonat/v2_server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/buffered_reader.hpp"
#include "net/deadline.hpp"

namespace mp::autonat::v2 {
namespace {

// A request, dial data included, must be in by then; the dial-back has its
// own timeout (DialBackLimits).
constexpr std::chrono::seconds kRequestTimeout{30};

struct DialBackResult {
  PeerId peer;
  Multiaddr addr;
  std::uint64_t nonce = 0;
  DialStatus status = pb::E_DIAL_ERROR;
  std::string error = "not dialed";
};

asio::awaitable<void> dial_and_send_nonce(std::shared_ptr<DialBackResult> st, host::Host& dialer) {
  std::shared_ptr<host::Connection> conn;
  try {
    // A new connection (force_new), and the requester must be the one there.
    conn = co_await dialer.dial(st->addr, st->peer, true);
  } catch (const std::exception& e) {
    st->error = e.what();
    co_return;
  }
  st->status = pb::E_DIAL_BACK_ERROR;
  try {
    std::vector<std::string> protocols{std::string(kDialBackProtocol)};
    auto s = co_await conn->open_stream(std::move(protocols));
    co_await net::write_length_prefixed(*s.stream, encode(dial_back(st->nonce)));
    // The client's DialBackResponse tells us the nonce arrived.
    net::BufferedReader reader(*s.stream);
    auto raw = co_await reader.read_length_prefixed(kMaxMessageSize);
    auto resp = raw ? decode_dial_back_response(*raw) : std::nullopt;
    if (resp && resp->status() == pb::DialBackResponse::OK) {
      st->status = pb::OK;
    } else {
      st->error = "no DialBackResponse OK";
    }
  } catch (const std::exception& e) {
    st->error = e.what();
  }
  conn->close("autonat v2 dial-back done");
}

bool listens_on(const host::Host& host, Proto proto) {
  for (const auto& a : host.listen_addrs()) {
    if (!a.components().empty() && a.components().front().proto == proto) return true;
  }
  return false;
}


}  // namespace

std::string metrics_text(const Counters& c) {
  return fmt::format(
      "# HELP mepassa_autonat_v2_responses_total AutoNAT v2 dial requests answered, by response status.\n"
      "# TYPE mepassa_autonat_v2_responses_total counter\n"
      "mepassa_autonat_v2_responses_total{{status=\"ok\"}} {}\n"
      "mepassa_autonat_v2_responses_total{{status=\"request_rejected\"}} {}\n"
      "mepassa_autonat_v2_responses_total{{status=\"dial_refused\"}} {}\n"
      "mepassa_autonat_v2_responses_total{{status=\"internal_error\"}} {}\n"
      "mepassa_autonat_v2_responses_total{{status=\"bad_request\"}} {}\n"
      "# HELP mepassa_autonat_v2_dial_backs_total AutoNAT v2 dial-backs, by the dial status answered.\n"
      "# TYPE mepassa_autonat_v2_dial_backs_total counter\n"
      "mepassa_autonat_v2_dial_backs_total{{status=\"ok\"}} {}\n"
      "mepassa_autonat_v2_dial_backs_total{{status=\"dial_error\"}} {}\n"
      "mepassa_autonat_v2_dial_backs_total{{status=\"dial_back_error\"}} {}\n"
      "# HELP mepassa_autonat_v2_dial_data_bytes_total Dial data received before dialing another IP (amplification defence).\n"
      "# TYPE mepassa_autonat_v2_dial_data_bytes_total counter\n"
      "mepassa_autonat_v2_dial_data_bytes_total {}\n",
      c.ok.load(), c.request_rejected.load(), c.dial_refused.load(), c.internal_error.load(), c.bad_request.load(),
      c.dial_ok.load(), c.dial_error.load(), c.dial_back_error.load(), c.dial_data_bytes.load());
}

AutonatV2Server::AutonatV2Server(asio::any_io_executor executor, host::Host& host, DialBacks& dial_backs,
                                 bool allow_private)
    : executor_(std::move(executor)), host_(host), dial_backs_(dial_backs), allow_private_(allow_private) {}

void AutonatV2Server::install() {
  host_.set_handler(std::string(kDialRequestProtocol),
                    [this](host::StreamContext ctx) { return serve(std::move(ctx)); });
}

void AutonatV2Server::count(const pb::DialResponse& r) {
  switch (r.status()) {
    case pb::DialResponse::OK:
      counters_.ok.fetch_add(1, std::memory_order_relaxed);
      if (r.dialstatus() == pb::OK) counters_.dial_ok.fetch_add(1, std::memory_order_relaxed);
      if (r.dialstatus() == pb::E_DIAL_ERROR) counters_.dial_error.fetch_add(1, std::memory_order_relaxed);
      if (r.dialstatus() == pb::E_DIAL_BACK_ERROR) counters_.dial_back_error.fetch_add(1, std::memory_order_relaxed);
      break;
    case pb::DialResponse::E_REQUEST_REJECTED: counters_.request_rejected.fetch_add(1, std::memory_order_relaxed); break;
    case pb::DialResponse::E_DIAL_REFUSED: counters_.dial_refused.fetch_add(1, std::memory_order_relaxed); break;
    default: counters_.internal_error.fetch_add(1, std::memory_order_relaxed); break;
  }
}

asio::awaitable<void> AutonatV2Server::serve(host::StreamContext ctx) {
  counters_.requests.fetch_add(1, std::memory_order_relaxed);
  std::optional<pb::Message> response;
  {
    net::Deadline deadline(executor_, kRequestTimeout, ctx.stream);
    net::BufferedReader reader(*ctx.stream);
    try {
      auto raw = co_await reader.read_length_prefixed(kMaxMessageSize);
      if (!raw) co_return;  // closed without asking
      auto request = decode(*raw);
      if (request && request->has_dialrequest()) {
        response = co_await answer(ctx, reader, request->dialrequest());
      }
    } catch (const std::exception&) {
      response.reset();  // oversized, malformed, reset or too slow
    }
  }
  if (!response) {
    counters_.bad_request.fetch_add(1, std::memory_order_relaxed);
    ctx.stream->reset();
    co_return;
  }
  const auto& r = response->dialresponse();
  count(r);
  spdlog::debug("autonat v2: {} (dial {}) for {}", response_status_name(r.status()), dial_status_name(r.dialstatus()),
                ctx.connection->remote_peer().to_base58());
  co_await net::write_length_prefixed(*ctx.stream, encode(*response));
  co_await ctx.stream->close_write();
}

asio::awaitable<std::optional<pb::Message>> AutonatV2Server::answer(host::StreamContext& ctx,
                                                                   net::BufferedReader& reader,
                                                                   const pb::DialRequest& request) {
  const auto& conn = *ctx.connection;
  RequestContext rctx{conn.remote_ip(),
                      conn.remote_addr().is_circuit(),
                      allow_private_,
                      listens_on(host_, Proto::kIp4),
                      listens_on(host_, Proto::kIp6),
                      listens_on_quic(host_)};
  auto selection = select_address(request, rctx);
  if (auto* rejected = std::get_if<Rejected>(&selection)) {
    spdlog::debug("autonat v2: {}", rejected->text);
    co_return dial_response(rejected->status);
  }
  auto& selected = std::get<Selected>(selection);
  if (dial_backs_.admit(conn.remote_peer()) != DialBacks::Admission::kOk) {
    co_return dial_response(pb::DialResponse::E_REQUEST_REJECTED, selected.index);
  }
  if (selected.needs_dial_data) {
    // Amplification defence: the client pays in bytes before we dial an IP
    // it is not on. Reading is bounded by the request deadline and the
    // message size; a client that will not pay gets its stream reset.
    const auto wanted = std::uniform_int_distribution<std::uint64_t>(kMinDialData, kMaxDialData)(rng_);
    co_await net::write_length_prefixed(*ctx.stream, encode(dial_data_request(selected.index, wanted)));
    DialDataCount count(wanted);
    while (!count.complete()) {
      auto raw = co_await reader.read_length_prefixed(kMaxMessageSize);
      auto m = raw ? decode(*raw) : std::nullopt;
      if (!m || !count.add(*m)) co_return std::nullopt;
    }
    counters_.dial_data_bytes.fetch_add(count.received(), std::memory_order_relaxed);
  }
  auto st = std::make_shared<DialBackResult>();
  st->peer = conn.remote_peer();
  st->addr = selected.addr;
  st->nonce = request.nonce();
  // Named, not a temporary of the co_await expression (see server.cpp).
  const DialBacks::Attempt attempt = [st](host::Host& dialer) { return dial_and_send_nonce(st, dialer); };
  bool finished = false;
  try {
    finished = co_await dial_backs_.run(attempt);
  } catch (const std::exception& e) {
    // Could not even start the dial-back (e.g. shutting down).
    spdlog::warn("autonat v2: dial-back not started: {}", e.what());
    co_return dial_response(pb::DialResponse::E_INTERNAL_ERROR, selected.index);
  }
  if (!finished) st->status = pb::E_DIAL_ERROR;  // timed out
  if (st->status != pb::OK) spdlog::debug("autonat v2: dial-back to {}: {}", selected.addr.to_string(), st->error);
  co_return dial_response(pb::DialResponse::OK, selected.index, st->status);
}

}  // namespace mp::autonat::v2
