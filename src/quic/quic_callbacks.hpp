// The ngtcp2 callbacks of a QuicConnection (user_data is the connection;
// stream_user_data its QuicStream). Private to quic_connection.cpp and
// quic_callbacks.cpp, which defines them.
#pragma once

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <string>

#include "quic/quic_connection.hpp"

namespace mp::quic {

// The connection ID's bytes as a map key.
std::string cid_string(const ngtcp2_cid& cid);

struct QuicConnection::Callbacks {
  static QuicConnection& self(void* user_data);
  static ngtcp2_conn* get_conn(ngtcp2_crypto_conn_ref* ref);
  static void rand(std::uint8_t* dest, std::size_t len, const ngtcp2_rand_ctx*);
  static int get_new_connection_id(ngtcp2_conn*, ngtcp2_cid* cid, std::uint8_t* token,
                                   std::size_t cidlen, void* user_data);
  static int remove_connection_id(ngtcp2_conn*, const ngtcp2_cid* cid, void* user_data);
  // ngtcp2's own, noting that a packet of the peer decrypted.
  static int recv_crypto_data(ngtcp2_conn* conn, ngtcp2_crypto_level level, std::uint64_t offset,
                              const std::uint8_t* data, std::size_t len, void* user_data);
  static int handshake_completed(ngtcp2_conn*, void* user_data);
  static int stream_open(ngtcp2_conn* conn, std::int64_t id, void* user_data);
  static int recv_stream_data(ngtcp2_conn* conn, std::uint32_t flags, std::int64_t id,
                              std::uint64_t, const std::uint8_t* data, std::size_t len,
                              void* user_data, void* stream_user_data);
  static int acked_stream_data_offset(ngtcp2_conn*, std::int64_t, std::uint64_t, std::uint64_t len,
                                      void*, void* stream_user_data);
  static int stream_close(ngtcp2_conn* conn, std::uint32_t, std::int64_t id, std::uint64_t,
                          void* user_data, void* stream_user_data);
  // A Stateless Reset carrying one of the peer's tokens (ngtcp2 checked it).
  static int recv_stateless_reset(ngtcp2_conn*, const ngtcp2_pkt_stateless_reset*,
                                  void* user_data);
  // The peer's connection ID we use changed: its reset token with it.
  static int dcid_status(ngtcp2_conn*, int type, std::uint64_t, const ngtcp2_cid*,
                         const std::uint8_t* token, void* user_data);
  // Client: a NEW_TOKEN frame.
  static int recv_new_token(ngtcp2_conn*, const ngtcp2_vec* token, void* user_data);
  static int stream_reset(ngtcp2_conn*, std::int64_t, std::uint64_t, std::uint64_t, void*,
                          void* stream_user_data);
  static int stream_stop_sending(ngtcp2_conn*, std::int64_t, std::uint64_t, void*,
                                 void* stream_user_data);
  static int extend_max_local_streams_bidi(ngtcp2_conn*, std::uint64_t, void* user_data);
  static void fill(ngtcp2_callbacks& cb, bool is_server);
};

}  // namespace mp::quic
