// One HTTP/1.0 GET with a time limit, on a blocking socket of the calling
// thread: enough to ask the server's /health while the load is held.
#pragma once

#include <chrono>
#include <string>

namespace mp::loadgen {

struct HttpProbe {
  int status = 0;  // 0: no answer (refused, timed out, not HTTP)
  double millis = 0;
};

HttpProbe http_get(const std::string& host, int port, const std::string& path,
                   std::chrono::milliseconds timeout);

}  // namespace mp::loadgen
