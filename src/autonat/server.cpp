#include "autonat/server.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "net/buffered_reader.hpp"
#include "net/deadline.hpp"

namespace mp::autonat {
namespace {

constexpr std::chrono::seconds kRequestTimeout{10};

// Shared between the request and its dial-back, which may outlive the
// request when the timeout answers first.
struct DialBackResult {
  PeerId peer;
  std::vector<Multiaddr> addrs;
  std::optional<Multiaddr> reached;
  std::string last_error = "no address tried";
};

asio::awaitable<void> try_addresses(std::shared_ptr<DialBackResult> st, host::Host& dialer) {
  for (const auto& a : st->addrs) {
    try {
      // force_new: the spec wants proof that a fresh inbound connection works.
      auto conn = co_await dialer.dial(a, st->peer, true);
      conn->close("autonat dial-back done");
      st->reached = a;
      co_return;
    } catch (const std::exception& e) {
      st->last_error = e.what();
    }
  }
}

}  // namespace

std::string metrics_text(const AutonatCounters& c) {
  return fmt::format(
      "# HELP mepassa_autonat_responses_total AutoNAT dial requests answered, by status.\n"
      "# TYPE mepassa_autonat_responses_total counter\n"
      "mepassa_autonat_responses_total{{status=\"ok\"}} {}\n"
      "mepassa_autonat_responses_total{{status=\"dial_error\"}} {}\n"
      "mepassa_autonat_responses_total{{status=\"dial_refused\"}} {}\n"
      "mepassa_autonat_responses_total{{status=\"bad_request\"}} {}\n"
      "mepassa_autonat_responses_total{{status=\"internal_error\"}} {}\n",
      c.ok.load(), c.dial_error.load(), c.dial_refused.load(), c.bad_request.load(), c.internal_error.load());
}

AutonatServer::AutonatServer(asio::any_io_executor executor, host::Host& host, AutonatConfig config)
    : executor_(std::move(executor)),
      host_(host),
      config_(config),
      dial_backs_(executor_, host.config(), config.dial_backs, host.network_executors()),
      v2_(executor_, host, dial_backs_, config.allow_private) {}

AutonatServer::~AutonatServer() = default;

void AutonatServer::install() {
  host_.set_handler(std::string(kProtocol), [this](host::StreamContext ctx) { return serve(std::move(ctx)); });
  v2_.install();
}

void AutonatServer::count(ResponseStatus s) {
  switch (s) {
    case pb::Message::OK: counters_.ok.fetch_add(1, std::memory_order_relaxed); break;
    case pb::Message::E_DIAL_ERROR: counters_.dial_error.fetch_add(1, std::memory_order_relaxed); break;
    case pb::Message::E_DIAL_REFUSED: counters_.dial_refused.fetch_add(1, std::memory_order_relaxed); break;
    case pb::Message::E_INTERNAL_ERROR: counters_.internal_error.fetch_add(1, std::memory_order_relaxed); break;
    default: counters_.bad_request.fetch_add(1, std::memory_order_relaxed); break;
  }
}

asio::awaitable<void> AutonatServer::serve(host::StreamContext ctx) {
  counters_.requests.fetch_add(1, std::memory_order_relaxed);
  std::optional<pb::Message> request;
  bool readable = true;
  {
    net::Deadline deadline(executor_, kRequestTimeout, ctx.stream);
    net::BufferedReader reader(*ctx.stream);
    std::optional<Bytes> raw;
    try {
      raw = co_await reader.read_length_prefixed(kMaxMessageSize);
    } catch (const net::ProtocolError&) {
      readable = false;
    }
    if (readable && !raw) co_return;  // closed without asking
    if (raw) request = decode(*raw);
  }
  pb::Message response;
  if (!request) {
    response = dial_response(pb::Message::E_BAD_REQUEST, "malformed message");
  } else {
    response = co_await answer(ctx, *request);
  }
  count(response.dialresponse().status());
  spdlog::debug("autonat: {} for {}: {}", status_name(response.dialresponse().status()),
                ctx.connection->remote_peer().to_base58(), response.dialresponse().statustext());
  co_await net::write_length_prefixed(*ctx.stream, encode(response));
  co_await ctx.stream->close_write();
}

asio::awaitable<pb::Message> AutonatServer::answer(host::StreamContext& ctx, const pb::Message& request) {
  const auto& conn = *ctx.connection;
  DialRequestContext dctx{conn.remote_peer(), conn.remote_ip(), conn.remote_addr().is_circuit(),
                          config_.allow_private, listens_on_quic(host_)};
  auto plan = plan_dial(request, dctx);
  if (auto* refuse = std::get_if<Refuse>(&plan)) co_return dial_response(refuse->status, refuse->text);
  switch (dial_backs_.admit(conn.remote_peer())) {
    case DialBacks::Admission::kOk: break;
    case DialBacks::Admission::kRateLimited:
      counters_.rate_limited.fetch_add(1, std::memory_order_relaxed);
      co_return dial_response(pb::Message::E_DIAL_REFUSED, "rate limited");
    case DialBacks::Admission::kBusy:
      counters_.rate_limited.fetch_add(1, std::memory_order_relaxed);
      co_return dial_response(pb::Message::E_DIAL_REFUSED, "too many dial-backs in progress");
  }
  co_return co_await dial_back(conn.remote_peer(), std::move(std::get<std::vector<Multiaddr>>(plan)));
}

asio::awaitable<pb::Message> AutonatServer::dial_back(PeerId peer, std::vector<Multiaddr> addrs) {
  auto st = std::make_shared<DialBackResult>();
  st->peer = std::move(peer);
  st->addrs = std::move(addrs);
  // A named attempt: GCC 12 destroys temporaries of a co_await expression
  // twice, which would drop `st` early.
  const DialBacks::Attempt attempt = [st](host::Host& dialer) { return try_addresses(st, dialer); };
  bool finished = false;
  try {
    finished = co_await dial_backs_.run(attempt);
  } catch (const std::exception& e) {
    // Not started (shutting down): our failure, not "unreachable" (as v2
    // answers E_INTERNAL_ERROR).
    co_return dial_response(pb::Message::E_INTERNAL_ERROR, std::string("dial-back not started: ") + e.what());
  }
  if (!finished) co_return dial_response(pb::Message::E_DIAL_ERROR, "dial-back timed out");
  if (st->reached) co_return dial_response(pb::Message::OK, "", &*st->reached);
  co_return dial_response(pb::Message::E_DIAL_ERROR, "dial-back failed: " + st->last_error);
}

}  // namespace mp::autonat
