// Counters of the operator HTTP endpoint itself (mepassa_http_*), so that an
// operator sees when /health is being crowded out and by what.
#pragma once

#include <cstddef>

#include "http/metrics.hpp"

namespace mp::http {

// Index into mepassa_http_requests_total{outcome}; one per response status.
enum class HttpOutcome : std::size_t {
  kOk = 0,                // 200
  kDegraded = 1,          // 503 from /health
  kNotFound = 2,          // 404
  kMethodNotAllowed = 3,  // 405
  kBadRequest = 4,        // 400: unparseable request
  kHeadTooLarge = 5,      // 431: head over the limit
  kBodyTooLarge = 6,      // 413: a body over the limit (no route takes one)
  kInternalError = 7,     // 500: a handler threw
};

// Index into mepassa_http_timeouts_total{phase}.
enum class HttpTimeout : std::size_t {
  kHead = 0,   // a request did not arrive whole within the request deadline
  kIdle = 1,   // no new request within the idle (keep-alive) deadline
  kWrite = 2,  // the client did not take the response within the write deadline
};

struct HttpMetrics {
  // Registers the families on `registry` (which must outlive this).
  explicit HttpMetrics(MetricRegistry& registry);

  Gauge& connections_current;
  Gauge& connections_idle;  // waiting for a request: the ones that give way at the cap
  Counter& connections_accepted;
  Counter& connections_refused;  // full, nobody idle: the newest is closed at once
  Counter& connections_evicted;  // full: the longest idle gave way to a new one
  LabelledCounter& requests;     // outcome
  LabelledCounter& timeouts;     // phase

  Counter& request(HttpOutcome o) { return requests.at(static_cast<std::size_t>(o)); }
  Counter& timeout(HttpTimeout t) { return timeouts.at(static_cast<std::size_t>(t)); }
};

}  // namespace mp::http
