#include "http/response.hpp"

namespace mp::http {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

std::string serialize(const Response& r, bool keep_alive, bool head_only) {
  std::string out;
  out.reserve(400 + (head_only ? 0 : r.body.size()));
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += reason_phrase(r.status);
  out += "\r\nContent-Type: ";
  out += r.content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(r.body.size());
  if (r.allow_get_head) out += "\r\nAllow: GET, HEAD";
  if (r.no_store) out += "\r\nCache-Control: no-store";
  out += "\r\nX-Content-Type-Options: nosniff\r\nContent-Security-Policy: ";
  out += kContentSecurityPolicy;
  out += keep_alive ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
  if (!head_only) out += r.body;
  return out;
}

}  // namespace mp::http
