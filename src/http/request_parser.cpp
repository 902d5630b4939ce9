#include "http/request_parser.hpp"

#include <algorithm>
#include <climits>

namespace mp::http {

namespace {
RequestParser* self(http_parser* p) {
  return static_cast<RequestParser*>(p->data);
}
}  // namespace

RequestParser::RequestParser(Limits limits) : limits_(limits) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  http_parser_settings_init(&settings_);
  settings_.on_message_begin = &RequestParser::on_message_begin;
  settings_.on_url = &RequestParser::on_url;
  settings_.on_headers_complete = &RequestParser::on_headers_complete;
  settings_.on_body = &RequestParser::on_body;
  settings_.on_message_complete = &RequestParser::on_message_complete;
}

int RequestParser::on_message_begin(http_parser* p) {
  auto* s = self(p);
  s->request_ = Request{};
  s->body_bytes_ = 0;
  return 0;
}

int RequestParser::on_url(http_parser* p, const char* at, std::size_t len) {
  // Bounded: URL bytes are head bytes, and feed() never hands the parser
  // more head bytes than the limit allows.
  self(p)->request_.target.append(at, len);
  return 0;
}

int RequestParser::on_headers_complete(http_parser* p) {
  auto* s = self(p);
  s->headers_done_ = true;
  // A declared body over the limit is refused before any of it is read.
  // (content_length is ULLONG_MAX when absent.)
  if (p->content_length != ULLONG_MAX && p->content_length > s->limits_.max_body_bytes) {
    s->body_too_large_ = true;
    return -1;
  }
  return 0;
}

int RequestParser::on_body(http_parser* p, const char*, std::size_t len) {
  auto* s = self(p);
  s->body_bytes_ += len;
  if (s->body_bytes_ > s->limits_.max_body_bytes) {
    s->body_too_large_ = true;
    return -1;
  }
  return 0;
}

int RequestParser::on_message_complete(http_parser* p) {
  auto* s = self(p);
  s->request_.method = http_method_str(static_cast<http_method>(p->method));
  s->request_.http_major = p->http_major;
  s->request_.http_minor = p->http_minor;
  s->request_.keep_alive = http_should_keep_alive(p) != 0 && p->upgrade == 0;
  s->complete_ = true;
  // Stop right after this request: the caller answers it before the parser
  // sees the next one (pipelining, RFC 9112 9.3.2).
  http_parser_pause(p, 1);
  return 0;
}

RequestParser::Step RequestParser::feed(std::string_view bytes) {
  if (failed_) return Step{0, Result::kBadRequest};
  std::size_t used = 0;
  while (used < bytes.size()) {
    std::size_t len = bytes.size() - used;
    // While in a head, hand the parser at most one byte beyond the limit, so
    // a head that completes within this call is within the limit (+1).
    if (!headers_done_) len = std::min(len, limits_.max_head_bytes + 1 - head_bytes_);
    complete_ = false;
    const std::size_t n = http_parser_execute(&parser_, &settings_, bytes.data() + used, len);
    const auto err = static_cast<http_errno>(parser_.http_errno);
    if (!headers_done_) head_bytes_ += n;
    used += n;
    if (err == HPE_PAUSED && complete_) {
      http_parser_pause(&parser_, 0);
      head_bytes_ = 0;
      headers_done_ = false;
      return Step{used, Result::kRequest};
    }
    if (err != HPE_OK) {
      failed_ = true;
      if (body_too_large_) return Step{used, Result::kBodyTooLarge};
      if (err == HPE_HEADER_OVERFLOW) return Step{used, Result::kHeadTooLarge};
      return Step{used, Result::kBadRequest};
    }
    if (!headers_done_ && head_bytes_ > limits_.max_head_bytes) {
      failed_ = true;
      return Step{used, Result::kHeadTooLarge};
    }
    if (n < len) {
      // http-parser stops short without an error only for an upgrade it
      // cannot frame (e.g. CONNECT with trailing bytes): not for us.
      failed_ = true;
      return Step{used, Result::kBadRequest};
    }
  }
  return Step{used, Result::kNeedMore};
}

}  // namespace mp::http
