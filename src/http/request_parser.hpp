// HTTP/1.x request framing for the operator endpoint, on Debian's http-parser
// (libhttp-parser, the parser node.js used before llhttp).
//
// Contract: feed() consumes bytes up to the end of one request and stops
// there, so pipelined requests come out one at a time, in order, and the
// caller answers each before feeding the rest. Memory is bounded whatever
// arrives: header names and values are not kept (no route needs them), the
// request target is at most the head limit, a body is counted and dropped.
// Limits: a head (request line + headers, leading blank lines included)
// longer than `max_head_bytes` is kHeadTooLarge (431); a body longer than
// `max_body_bytes` is kBodyTooLarge (413). After any error the parser is
// spent and the connection is to be closed.
#pragma once

#include <http_parser.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace mp::http {

struct Request {
  std::string method;  // as on the wire: "GET", "HEAD", ...
  std::string target;  // request-target, query included
  unsigned http_major = 1;
  unsigned http_minor = 1;
  // RFC 9112 9.3: HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
  // "Connection: keep-alive". False for upgrade requests (we never upgrade).
  bool keep_alive = true;
};

class RequestParser {
 public:
  struct Limits {
    std::size_t max_head_bytes = 8192;
    std::size_t max_body_bytes = 4096;
  };
  enum class Result { kNeedMore, kRequest, kBadRequest, kHeadTooLarge, kBodyTooLarge };
  struct Step {
    std::size_t consumed;  // bytes of the input used; the rest belongs to later requests
    Result result;
  };

  explicit RequestParser(Limits limits);
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Parses `bytes` until one request is complete (kRequest: see request()),
  // the input runs out (kNeedMore) or an error.
  Step feed(std::string_view bytes);
  // The last complete request; valid until the next feed().
  const Request& request() const { return request_; }
  // True while part of a request has been consumed (a head deadline runs).
  bool in_request() const { return head_bytes_ > 0 || headers_done_; }

 private:
  static int on_message_begin(http_parser* p);
  static int on_url(http_parser* p, const char* at, std::size_t len);
  static int on_headers_complete(http_parser* p);
  static int on_body(http_parser* p, const char* at, std::size_t len);
  static int on_message_complete(http_parser* p);

  Limits limits_;
  http_parser parser_;
  http_parser_settings settings_;
  Request request_;
  std::size_t head_bytes_ = 0;  // consumed before the end of the current head
  std::size_t body_bytes_ = 0;
  bool headers_done_ = false;
  bool complete_ = false;
  bool body_too_large_ = false;
  bool failed_ = false;
};

}  // namespace mp::http
