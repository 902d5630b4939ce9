// StreamDispatch: the handler table, and what happens to each stream a
// remote opens. The stream is negotiated with multistream-select against the
// table (within HostConfig::stream_negotiation_timeout; no protocol in common
// is counted on streams_refused{protocol}), wrapped in a DeadlineStream (an
// answer not written within answer_timeout resets the stream, counted as
// refusals{stream,deadline}) and handed to the protocol's handler.
//
// Threading: set_handler is called on the owner executor (the host's);
// serve runs on the stream's connection's executor (Connection::executor(),
// a network thread's with NETWORK_THREADS >= 2): it negotiates there, reads
// the handler table through a snapshot (a copy made on each set_handler,
// swapped under a mutex), and runs a kHost handler on the owner executor
// with a net::ForeignStream, a kConnection handler where it is.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "host/connection.hpp"
#include "host/host_config.hpp"
#include "host/stats.hpp"
#include "net/byte_stream.hpp"

namespace mp::host {

struct StreamContext {
  std::shared_ptr<net::ByteStream> stream;
  std::shared_ptr<Connection> connection;
  std::string protocol;
};
using StreamHandler = std::function<asio::awaitable<void>(StreamContext)>;

// Where a handler runs (NETWORK_THREADS; ARCHITECTURE.md "Threads").
//  - kHost: on the host's executor, the owner of every service's state. On a
//    connection that lives on another io_context, the handler's stream is a
//    net::ForeignStream (each operation hops to the connection's thread).
//  - kConnection: on the connection's own executor (Connection::executor()),
//    with the stream itself. The handler reaches state the host owns only
//    through net::run_on(host executor, ...) (net/hop.hpp), and otherwise
//    reads only what is safe from any thread (atomics, immutable snapshots).
//    For hot, stateless protocols (ping, FIND_NODE from a snapshot).
enum class HandlerThread { kHost, kConnection };

class StreamDispatch {
 public:
  StreamDispatch(asio::any_io_executor executor, const HostConfig& config, HostStats& stats);
  ~StreamDispatch();
  StreamDispatch(const StreamDispatch&) = delete;
  StreamDispatch& operator=(const StreamDispatch&) = delete;

  // Streams that negotiate `protocol` go to `handler` (replacing any earlier one).
  void set_handler(std::string protocol, StreamHandler handler,
                   HandlerThread where = HandlerThread::kHost);
  void remove_handler(const std::string& protocol);
  // The protocols with a handler, sorted.
  std::vector<std::string> protocols() const;

  // Negotiates `stream`, which the remote of `conn` opened, and runs its
  // handler to the end; resets the stream on any error.
  asio::awaitable<void> serve(std::shared_ptr<Connection> conn,
                              std::shared_ptr<net::ByteStream> stream);

 private:
  asio::any_io_executor executor_;
  const HostConfig& config_;
  HostStats& stats_;
  struct Entry {
    StreamHandler handler;
    HandlerThread where = HandlerThread::kHost;
  };
  using Table = std::map<std::string, Entry>;
  std::shared_ptr<const Table> table() const;

  mutable std::mutex table_mutex_;
  std::shared_ptr<const Table> handlers_ = std::make_shared<Table>();
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mp::host
