// Small text helpers of the configuration parsers (ASCII only: names,
// levels and numbers are ASCII).
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace mp::app::text {

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

inline std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace mp::app::text
