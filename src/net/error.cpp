#include "net/error.hpp"

#include <string>

namespace mp::net {

namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "net"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::protocol_violation: return "protocol violation";
      case Errc::message_too_long: return "message too long";
      case Errc::malformed_varint: return "malformed varint";
    }
    return "unknown net error";
  }
};

}  // namespace

const std::error_category& error_category() {
  static const Category category;
  return category;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), error_category()}; }

}  // namespace mp::net
