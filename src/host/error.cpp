#include "host/error.hpp"

#include <string>

namespace mp::host {

namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "host"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::connection_refused: return "connection refused by a connection limit";
    }
    return "unknown host error";
  }
};

}  // namespace

const std::error_category& error_category() {
  static const Category category;
  return category;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), error_category()}; }

}  // namespace mp::host
