#include "http/http_metrics.hpp"

namespace mp::http {

HttpMetrics::HttpMetrics(MetricRegistry& r)
    : connections_current(r.gauge("mepassa_http_connections",
                                  "Open connections to the HTTP endpoint (/health, /metrics).")),
      connections_idle(r.gauge("mepassa_http_connections_idle",
                               "HTTP connections waiting for a request (fresh or kept alive).")),
      connections_accepted(r.counter("mepassa_http_connections_accepted_total",
                                     "HTTP connections accepted (including those evicted later).")),
      connections_refused(
          r.counter("mepassa_http_connections_refused_total",
                    "HTTP connections closed on accept: at the connection cap with none idle.")),
      connections_evicted(r.counter(
          "mepassa_http_connections_evicted_total",
          "Idle HTTP connections closed to make room for a new one at the connection cap.")),
      requests(r.counter("mepassa_http_requests_total", "HTTP requests answered, by outcome.",
                         "outcome",
                         {"ok", "degraded", "not_found", "method_not_allowed", "bad_request",
                          "head_too_large", "body_too_large", "internal_error"})),
      timeouts(r.counter("mepassa_http_timeouts_total",
                         "HTTP connections closed by a deadline, by phase (head: the request did "
                         "not arrive in time; idle: no request on a kept-alive connection; write: "
                         "the client did not read the response).",
                         "phase", {"head", "idle", "write"})) {}

}  // namespace mp::http
