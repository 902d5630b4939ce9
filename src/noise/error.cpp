#include "noise/error.hpp"

#include <string>

namespace mp::noise {

namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "noise"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::handshake_failed: return "noise handshake failed";
      case Errc::invalid_payload: return "invalid noise handshake payload";
      case Errc::peer_id_mismatch: return "remote peer id does not match the dialled one";
      case Errc::closed_during_handshake: return "connection closed during the noise handshake";
      case Errc::truncated_frame: return "connection closed inside a noise frame";
      case Errc::decrypt_failed: return "noise decryption failed";
      case Errc::encrypt_failed: return "noise encryption failed";
      case Errc::channel_failed: return "noise channel failed earlier";
    }
    return "unknown noise error";
  }
};

}  // namespace

const std::error_category& error_category() {
  static const Category category;
  return category;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), error_category()}; }

}  // namespace mp::noise
