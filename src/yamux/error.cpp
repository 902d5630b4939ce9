#include "yamux/error.hpp"

#include <string>

namespace mp::yamux {

namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "yamux"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::stream_reset: return "yamux stream reset";
      case Errc::stream_closed: return "yamux stream closed for writing";
      case Errc::session_closed: return "yamux session closed";
      case Errc::go_away: return "yamux session is going away";
      case Errc::too_many_streams: return "too many yamux streams";
      case Errc::stream_ids_exhausted: return "yamux stream ids exhausted";
    }
    return "unknown yamux error";
  }
};

}  // namespace

const std::error_category& error_category() {
  static const Category category;
  return category;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), error_category()}; }

}  // namespace mp::yamux
