// NamedCategory: the std::error_category of one layer (net, multistream,
// Noise, Yamux, host), from its name and the messages of its codes. Each
// layer's Errc counts from 1, in the order of its message table:
//
//   const std::error_category& error_category() {
//     static constexpr const char* kMessages[] = {"first code", "second code"};
//     static const net::NamedCategory category("noise", kMessages);
//     return category;
//   }
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
