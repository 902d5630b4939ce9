#include "host/yamux_connection.hpp"

namespace mp::host {

YamuxConnection::YamuxConnection(asio::any_io_executor ex, std::unique_ptr<net::ByteStream> secured,
                                 bool is_client, yamux::Config config,
                                 std::unique_ptr<ConnectionAccount> account, Bytes first)
    : gate_(std::make_shared<BudgetGate>(std::move(account))) {
  config.memory = gate_;
  session_ = yamux::Session::create(std::move(ex), std::move(secured), is_client, config);
  session_->write_first(std::move(first));
}

void YamuxConnection::start(InboundHandler on_inbound, CloseHandler on_close) {
  session_->set_close_handler(std::move(on_close));
  session_->start([on_inbound = std::move(on_inbound)](std::shared_ptr<yamux::Stream> stream) {
    on_inbound(std::move(stream));
  });
}

asio::awaitable<std::shared_ptr<net::ByteStream>> YamuxConnection::open_stream() {
  co_return co_await session_->open_stream();
}

void YamuxConnection::close() {
  session_->go_away(yamux::GoAwayCode::normal);
  session_->close();
}

}  // namespace mp::host
