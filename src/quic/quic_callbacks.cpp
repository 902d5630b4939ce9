#include "quic/quic_callbacks.hpp"

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <algorithm>
#include <array>

#include "quic/quic_stream.hpp"

namespace mp::quic {

std::string cid_string(const ngtcp2_cid& cid) {
  return std::string(reinterpret_cast<const char*>(cid.data), cid.datalen);
}

QuicConnection& QuicConnection::Callbacks::self(void* user_data) {
  return *static_cast<QuicConnection*>(user_data);
}

ngtcp2_conn* QuicConnection::Callbacks::get_conn(ngtcp2_crypto_conn_ref* ref) {
  return static_cast<QuicConnection*>(ref->user_data)->conn_;
}

void QuicConnection::Callbacks::rand(std::uint8_t* dest, std::size_t len, const ngtcp2_rand_ctx*) {
  gnutls_rnd(GNUTLS_RND_RANDOM, dest, len);
}

int QuicConnection::Callbacks::get_new_connection_id(ngtcp2_conn*, ngtcp2_cid* cid,
                                                     std::uint8_t* token, std::size_t cidlen,
                                                     void* user_data) {
  cid->datalen = cidlen;
  gnutls_rnd(GNUTLS_RND_NONCE, cid->data, cidlen);
  const auto& secret = self(user_data).settings_.reset_secret;
  if (ngtcp2_crypto_generate_stateless_reset_token(token, secret.data(), secret.size(), cid) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  auto& c = self(user_data);
  if (c.events_.cid_added) c.events_.cid_added(cid_string(*cid));
  return 0;
}

int QuicConnection::Callbacks::remove_connection_id(ngtcp2_conn*, const ngtcp2_cid* cid,
                                                    void* user_data) {
  auto& c = self(user_data);
  if (c.events_.cid_removed) c.events_.cid_removed(cid_string(*cid));
  return 0;
}

// ngtcp2's own, noting that a packet of the peer decrypted.
int QuicConnection::Callbacks::recv_crypto_data(ngtcp2_conn* conn, ngtcp2_crypto_level level,
                                                std::uint64_t offset, const std::uint8_t* data,
                                                std::size_t len, void* user_data) {
  self(user_data).crypto_received_ = true;
  return ngtcp2_crypto_recv_crypto_data_cb(conn, level, offset, data, len, user_data);
}

int QuicConnection::Callbacks::handshake_completed(ngtcp2_conn*, void* user_data) {
  self(user_data).handshake_completed_ = true;
  return 0;
}

int QuicConnection::Callbacks::stream_open(ngtcp2_conn* conn, std::int64_t id, void* user_data) {
  auto& c = self(user_data);
  if (!ngtcp2_is_bidi_stream(id)) return 0;  // libp2p uses none; no credit given anyway
  auto s = std::make_shared<QuicStream>(c.weak_from_this(), id);
  ngtcp2_conn_set_stream_user_data(conn, id, s.get());
  c.streams_[id] = s;
  c.streams_changed();
  c.pending_inbound_.push_back(std::move(s));
  return 0;
}

int QuicConnection::Callbacks::recv_stream_data(ngtcp2_conn* conn, std::uint32_t flags,
                                                std::int64_t id, std::uint64_t,
                                                const std::uint8_t* data, std::size_t len,
                                                void* user_data, void* stream_user_data) {
  auto& c = self(user_data);
  if (!stream_user_data) {
    // A stream we no longer read: give its credit back at once.
    ngtcp2_conn_extend_max_stream_offset(conn, id, len);
    ngtcp2_conn_extend_max_offset(conn, len);
    return 0;
  }
  if (len > 0 && !ngtcp2_conn_is_local_stream(conn, id))
    c.remote_active(std::chrono::steady_clock::now());
  static_cast<QuicStream*>(stream_user_data)
      ->on_data(BytesView(data, len), (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
  return 0;
}

int QuicConnection::Callbacks::acked_stream_data_offset(ngtcp2_conn*, std::int64_t, std::uint64_t,
                                                        std::uint64_t len, void*,
                                                        void* stream_user_data) {
  if (stream_user_data) static_cast<QuicStream*>(stream_user_data)->on_acked(len);
  return 0;
}

int QuicConnection::Callbacks::stream_close(ngtcp2_conn* conn, std::uint32_t, std::int64_t id,
                                            std::uint64_t, void* user_data,
                                            void* stream_user_data) {
  auto& c = self(user_data);
  if (stream_user_data) static_cast<QuicStream*>(stream_user_data)->on_closed();
  c.streams_.erase(id);
  c.streams_changed();
  // The remote's stream credit comes back as its streams end.
  if (ngtcp2_is_bidi_stream(id) && !ngtcp2_conn_is_local_stream(conn, id))
    ngtcp2_conn_extend_max_streams_bidi(conn, 1);
  c.handshake_notifier_.notify();  // open_stream may wait for credit
  return 0;
}

int QuicConnection::Callbacks::recv_stateless_reset(ngtcp2_conn*, const ngtcp2_pkt_stateless_reset*,
                                                    void* user_data) {
  self(user_data).stateless_reset_ = true;
  return 0;
}

int QuicConnection::Callbacks::dcid_status(ngtcp2_conn*, int type, std::uint64_t,
                                           const ngtcp2_cid*, const std::uint8_t* token,
                                           void* user_data) {
  if (token == nullptr) return 0;
  auto& c = self(user_data);
  ResetToken t{};
  std::copy_n(token, t.size(), t.begin());
  if (type == NGTCP2_CONNECTION_ID_STATUS_TYPE_ACTIVATE) {
    if (c.events_.reset_token_added) c.events_.reset_token_added(t);
  } else if (type == NGTCP2_CONNECTION_ID_STATUS_TYPE_DEACTIVATE) {
    if (c.events_.reset_token_removed) c.events_.reset_token_removed(t);
  }
  return 0;
}

int QuicConnection::Callbacks::recv_new_token(ngtcp2_conn*, const ngtcp2_vec* token,
                                              void* user_data) {
  auto& c = self(user_data);
  if (token != nullptr && token->len > 0 && c.events_.new_token)
    c.events_.new_token(std::string(reinterpret_cast<const char*>(token->base), token->len));
  return 0;
}

int QuicConnection::Callbacks::stream_reset(ngtcp2_conn*, std::int64_t, std::uint64_t,
                                            std::uint64_t, void*, void* stream_user_data) {
  if (stream_user_data) static_cast<QuicStream*>(stream_user_data)->on_peer_reset();
  return 0;
}

int QuicConnection::Callbacks::stream_stop_sending(ngtcp2_conn*, std::int64_t, std::uint64_t, void*,
                                                   void* stream_user_data) {
  if (stream_user_data) static_cast<QuicStream*>(stream_user_data)->on_stop_sending();
  return 0;
}

int QuicConnection::Callbacks::extend_max_local_streams_bidi(ngtcp2_conn*, std::uint64_t,
                                                             void* user_data) {
  self(user_data).handshake_notifier_.notify();
  return 0;
}

void QuicConnection::Callbacks::fill(ngtcp2_callbacks& cb, bool is_server) {
  cb = {};
  if (is_server) {
    cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  } else {
    cb.client_initial = ngtcp2_crypto_client_initial_cb;
    cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
  }
  cb.recv_crypto_data = recv_crypto_data;
  cb.encrypt = ngtcp2_crypto_encrypt_cb;
  cb.decrypt = ngtcp2_crypto_decrypt_cb;
  cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb.update_key = ngtcp2_crypto_update_key_cb;
  cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb.rand = rand;
  cb.get_new_connection_id = get_new_connection_id;
  cb.remove_connection_id = remove_connection_id;
  cb.handshake_completed = handshake_completed;
  cb.stream_open = stream_open;
  cb.recv_stream_data = recv_stream_data;
  cb.acked_stream_data_offset = acked_stream_data_offset;
  cb.stream_close = stream_close;
  cb.stream_reset = stream_reset;
  cb.recv_stateless_reset = recv_stateless_reset;
  cb.dcid_status = dcid_status;
  if (!is_server) cb.recv_new_token = recv_new_token;
  cb.stream_stop_sending = stream_stop_sending;
  cb.extend_max_local_streams_bidi = extend_max_local_streams_bidi;
}

}  // namespace mp::quic
