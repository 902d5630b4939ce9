#include "multistream/error.hpp"

#include <string>

namespace mp::multistream {

namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "multistream"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::stream_ended: return "stream ended during multistream negotiation";
      case Errc::malformed_message: return "malformed multistream message";
      case Errc::unexpected_header: return "unexpected multistream header";
      case Errc::unexpected_answer: return "unexpected multistream answer";
      case Errc::too_many_proposals: return "too many refused multistream proposals";
      case Errc::not_supported: return "no protocol in common";
      case Errc::nothing_to_propose: return "no protocol to propose";
    }
    return "unknown multistream error";
  }
};

}  // namespace

const std::error_category& error_category() {
  static const Category category;
  return category;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), error_category()}; }

}  // namespace mp::multistream
