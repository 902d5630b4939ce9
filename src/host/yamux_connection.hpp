// YamuxConnection: a MuxedConnection over a Yamux session on a secured byte
// stream (TCP + Noise). Unread DATA and queued answers of its streams are
// reserved from the connection's ConnectionAccount.
#pragma once

#include <asio/any_io_executor.hpp>
#include <memory>

#include "host/transport.hpp"
#include "yamux/session.hpp"

namespace mp::host {

// A connection's share of the node's ResourceBudget, as its Yamux session
// sees it. Shared by the YamuxConnection and its Session (which may outlive
// the host briefly while it closes); the account goes when both are gone.
class BudgetGate final : public yamux::MemoryGate {
 public:
  explicit BudgetGate(std::unique_ptr<ConnectionAccount> account) : account_(std::move(account)) {}
  bool reserve(std::size_t stream_held, std::size_t n) override {
    return !account_->reserve(stream_held, n).has_value();
  }
  void release(std::size_t n) override { account_->release(n); }
  ConnectionAccount& account() { return *account_; }

 private:
  std::unique_ptr<ConnectionAccount> account_;
};

class YamuxConnection final : public MuxedConnection {
 public:
  // `config.memory` is set here from `account`. `first`: bytes the session
  // writes with its first frames (yamux::Session::write_first).
  YamuxConnection(asio::any_io_executor ex, std::unique_ptr<net::ByteStream> secured,
                  bool is_client, yamux::Config config, std::unique_ptr<ConnectionAccount> account,
                  Bytes first = {});

  void start(InboundHandler on_inbound, CloseHandler on_close) override;
  asio::awaitable<std::shared_ptr<net::ByteStream>> open_stream() override;
  void close() override;
  std::size_t stream_count() const override { return session_->stream_count(); }
  std::chrono::steady_clock::time_point last_remote_activity() const override {
    return session_->last_remote_activity();
  }
  std::uint64_t streams_refused() const override { return session_->streams_refused(); }
  ConnectionAccount& memory() override { return gate_->account(); }

 private:
  std::shared_ptr<BudgetGate> gate_;
  std::shared_ptr<yamux::Session> session_;
};

}  // namespace mp::host
