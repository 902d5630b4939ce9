// HTTP/1.1 responses of the operator endpoint, serialised whole (they are
// small: a JSON object or a Prometheus exposition).
#pragma once

#include <string>
#include <string_view>

namespace mp::http {

struct Response {
  int status = 200;
  std::string_view content_type = "text/plain";
  std::string body;
  bool allow_get_head = false;  // "Allow: GET, HEAD" (405)
  bool no_store = false;        // "Cache-Control: no-store" (live values)
};

// Same-origin script, style and fetches only; no inline script, no frames,
// no forms. What the status page needs and nothing more.
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// RFC 9110 reason phrase for the statuses this server sends.
std::string_view reason_phrase(int status);

// Status line, headers and (unless `head_only`, RFC 9110 9.3.2) the body.
// Content-Length is always the body's length; "Connection: close" or
// "Connection: keep-alive" as decided by the caller. Every response carries
// kContentSecurityPolicy and "X-Content-Type-Options: nosniff": the status
// page runs only its own script and style, and shows peers' strings.
std::string serialize(const Response& r, bool keep_alive, bool head_only);

}  // namespace mp::http
