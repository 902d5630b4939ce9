#include "autonat/dial_back.hpp"

#include <algorithm>
#include <stdexcept>

#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "quic/address.hpp"

namespace mp::autonat {
namespace {

host::HostConfig dialer_config(const host::HostConfig& main) {
  host::HostConfig c = main;
  c.listen_addrs.clear();  // dial-only: nobody can connect to this identity
  // It holds a handful of short-lived connections at most.
  c.max_memory_bytes = std::min<std::size_t>(main.max_memory_bytes, std::size_t{32} << 20);
  return c;
}

// Shared between run() and its detached attempt, which may outlive run()
// when the timeout fires first.
struct Wait {
  explicit Wait(const asio::any_io_executor& ex) : wake(ex) {}
  asio::steady_timer wake;
  bool done = false;
};

}  // namespace

bool listens_on_quic(const host::Host& host) {
  for (const auto& a : host.listen_addrs()) {
    if (quic::is_quic(a)) return true;
  }
  return false;
}

DialBacks::DialBacks(asio::any_io_executor executor, const host::HostConfig& main,
                     DialBackLimits limits, std::vector<asio::any_io_executor> network)
    : executor_(std::move(executor)),
      limits_(limits),
      limiter_(limits.rate),
      dialer_(std::make_unique<host::Host>(executor_, dialer_config(main),
                                           Ed25519KeyPair::generate(), std::move(network))),
      dialer_identify_(std::make_unique<identify::Service>(*dialer_)) {}

DialBacks::~DialBacks() = default;

DialBacks::Admission DialBacks::admit(const PeerId& peer) {
  if (!limiter_.allow(peer, RateLimiter::Clock::now())) return Admission::kRateLimited;
  if (*in_flight_ >= limits_.max_concurrent) return Admission::kBusy;
  return Admission::kOk;
}

asio::awaitable<bool> DialBacks::run(const Attempt& attempt) {
  if (shut_down_) throw std::runtime_error("dial-backs are shut down");
  auto st = std::make_shared<Wait>(executor_);
  ++*in_flight_;
  asio::co_spawn(executor_, attempt(*dialer_), [st, in_flight = in_flight_](std::exception_ptr) {
    --*in_flight;
    st->done = true;
    st->wake.cancel();
  });
  st->wake.expires_after(limits_.timeout);
  if (!st->done) {
    std::error_code ec;
    co_await st->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return st->done;
}

}  // namespace mp::autonat
