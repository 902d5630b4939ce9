// The error codes of one layer (net, multistream, Noise, Yamux, host, TLS) as
// std::error_code values. A layer states only its enum and its messages:
//
//   // error.hpp
//   namespace mp::noise {
//   enum class Errc { handshake_failed = 1, ... };  // counts from 1
//   }
//   MP_DECLARE_ERROR_ENUM(mp::noise, Errc)
//
//   // error.cpp
//   MP_DEFINE_ERROR_CATEGORY(mp::noise, "noise", "noise handshake failed", ...)
//
// The messages are in Errc order (the first is the message of value 1); a
// value outside them reads "unknown <name> error".
#pragma once

#include <span>
#include <string>
#include <system_error>

namespace mp::net {

class NamedCategory final : public std::error_category {
 public:
  NamedCategory(const char* name, std::span<const char* const> messages)
      : name_(name), messages_(messages) {}
  const char* name() const noexcept override { return name_; }
  std::string message(int ev) const override {
    if (ev >= 1 && static_cast<std::size_t>(ev) <= messages_.size()) return messages_[ev - 1];
    return std::string("unknown ") + name_ + " error";
  }

 private:
  const char* name_;
  std::span<const char* const> messages_;
};

}  // namespace mp::net

// Declares `ns::error_category()` and `ns::make_error_code(ns::Errc)`, and
// makes ns::Errc convert to std::error_code. At global scope, after the enum.
#define MP_DECLARE_ERROR_ENUM(ns, Errc)                                                 \
  namespace ns {                                                                        \
  const std::error_category& error_category();                                          \
  inline std::error_code make_error_code(Errc e) {                                      \
    return {static_cast<int>(e), error_category()};                                     \
  }                                                                                     \
  }                                                                                     \
  template <>                                                                           \
  struct std::is_error_code_enum<ns::Errc> : std::true_type {};

// Defines `ns::error_category()`: the category named `name` whose messages
// are the remaining arguments, in Errc order. At global scope, in one .cpp.
#define MP_DEFINE_ERROR_CATEGORY(ns, name, ...)                        \
  const std::error_category& ns::error_category() {                    \
    static constexpr const char* kMessages[] = {__VA_ARGS__};          \
    static const ::mp::net::NamedCategory category(name, kMessages);   \
    return category;                                                   \
  }
