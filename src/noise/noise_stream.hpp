// NoiseStream: the secure channel after a libp2p Noise handshake, as a
// ByteStream over the raw connection (normally the TCP stream, after
// multistream-select agreed on "/noise").
//
// secure_outbound / secure_inbound run the handshake (noise/handshake.hpp)
// over the raw stream and return the NoiseStream, or throw:
// net::ProtocolError with the reason (bad signature, wrong peer, truncated or
// undecryptable message, EOF during the handshake), or whatever the raw
// stream throws. The handshake timeout is the caller's (the host's) business:
// cancel or reset the raw stream when it fires.
//
// The handshake runs on the caller's executor (a connection's network
// thread). The LocalIdentity is immutable: handshakes on several threads
// share nothing mutable.
//
// Contract of the NoiseStream, beyond ByteStream's:
//  - read_some decrypts one frame at a time into an internal buffer and
//    hands out its plaintext; a frame that fails to decrypt throws
//    net::ProtocolError and every later read throws too (close the connection).
//  - write splits data into frames of at most 65519 plaintext bytes. Concurrent
//    write() calls from several coroutines are serialized whole: the frames of
//    one call are never interleaved with another's (later callers wait).
//    Callers should still coalesce small writes: each write() costs at least
//    one frame (18 bytes of overhead) and one write on the raw stream.
//  - close_write: Noise has no end-of-stream message; this half-closes the
//    raw stream (after any write in progress).
//  - The read buffer grows to the largest frame seen (at most 64 KiB + 2)
//    and is reused while frames keep coming. When the raw stream is a
//    net::WaitReadable (TCP), it is freed whenever every byte read has been
//    handed out, and the next read waits for the raw stream's readiness
//    before taking one again: an idle connection holds no Noise buffer. The
//    cost is one allocation per burst of frames, not per frame.
//  - Each write() encrypts into a buffer of its own, freed when it returns.
//  - wait_readable and on_readable (net::WaitReadable): ready at once while
//    plaintext or raw bytes are buffered, otherwise the raw stream's wait
//    (at once when it has none).
#pragma once

#include <asio/steady_timer.hpp>
#include <memory>
#include <optional>

#include "net/byte_stream.hpp"
#include "net/wait_readable.hpp"
#include "noise/framing.hpp"
#include "noise/handshake.hpp"

namespace mp::noise {

// The multistream-select protocol id of noise-libp2p.
inline constexpr std::string_view kProtocolId = "/noise";

class NoiseStream final : public net::ByteStream, public net::WaitReadable {
 public:
  // Built by secure_inbound / secure_outbound. `reader` carries any bytes
  // read past the last handshake message.
  NoiseStream(std::unique_ptr<net::ByteStream> inner, HandshakeResult handshake,
              FrameReader reader);

  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buf) override;
  asio::awaitable<void> write(BytesView data) override;
  asio::awaitable<void> close_write() override;
  void reset() override;
  asio::awaitable<void> wait_readable() override;
  void on_readable(const asio::any_io_executor& ex, ReadableHandler done) override;

  const PeerId& remote_peer() const { return remote_.peer_id; }
  const PublicKey& remote_public_key() const { return remote_.public_key; }
  // Stream muxers and WebTransport cert hashes the remote advertised.
  const RemoteIdentity& remote() const { return remote_; }
  net::ByteStream& inner() { return *inner_; }
  // Bytes of the read buffer held now (for tests of the idle release).
  std::size_t read_buffer_capacity() const { return reader_.capacity(); }

 private:
  asio::awaitable<void> acquire_write();
  void release_write();

  std::unique_ptr<net::ByteStream> inner_;
  net::WaitReadable* inner_ready_;  // inner_ as a WaitReadable, or null
  CipherState send_;
  CipherState recv_;
  RemoteIdentity remote_;

  FrameReader reader_;
  std::span<std::uint8_t> plain_;  // decrypted, not yet read; inside reader_'s buffer
  bool read_failed_ = false;

  bool writing_ = false;                          // a write() or close_write() is in progress
  std::optional<asio::steady_timer> write_turn_;  // waiters for writing_ to clear
};

// Dialer side. Fails if `expected` is set and the remote's identity is not it.
// `local` must outlive the coroutine.
asio::awaitable<std::unique_ptr<NoiseStream>> secure_outbound(
    std::unique_ptr<net::ByteStream> inner, const LocalIdentity& local,
    std::optional<PeerId> expected = std::nullopt);
// Listener side.
asio::awaitable<std::unique_ptr<NoiseStream>> secure_inbound(std::unique_ptr<net::ByteStream> inner,
                                                             const LocalIdentity& local);

// Runs a prepared handshake (e.g. with injected ephemeral keys) over `inner`.
asio::awaitable<std::unique_ptr<NoiseStream>> run_handshake(std::unique_ptr<net::ByteStream> inner,
                                                            Handshake handshake);

}  // namespace mp::noise
