// What the load generator measures: operation latencies (kept whole, one
// vector per thread, merged at the end of a phase), counts of what the
// answers carried, and the server's CPU time and RSS read from /proc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mp::loadgen {

// Filled by one thread; merged by the main thread after the phase.
struct ThreadStats {
  std::vector<std::uint32_t> latency_us;  // one entry per completed operation
  std::uint64_t errors = 0;               // failed operations (reset, timeout, refused)
  std::uint64_t answers = 0;              // FIND_NODE answers that parsed
  std::uint64_t bad_answers = 0;          // wrong type or malformed
  std::uint64_t answers_without_peers = 0;
  std::uint64_t closer_peers = 0;         // summed over answers
  std::uint64_t identify_checked = 0;     // server Identify received and verified
  std::uint64_t identify_served = 0;      // the server's Identify request answered
  std::string first_error;

  void error(const std::string& what) {
    if (errors++ == 0) first_error = what;
  }
  void merge(ThreadStats&& other);
};

// utime + stime (seconds) and VmRSS (bytes) of a process; nullopt when it
// cannot be read.
struct ProcSample {
  double cpu_seconds = 0;
  std::uint64_t rss_bytes = 0;
};
std::optional<ProcSample> read_proc(int pid);
// VmRSS once two readings 250 ms apart differ by under 0.5% (at most 5 s).
std::uint64_t settled_rss(int pid);

// The p-quantile (0..1) of sorted values; 0 when empty.
std::uint32_t percentile(const std::vector<std::uint32_t>& sorted, double p);

// One phase's result: printed as a human line and as a "RESULT {json}" line
// that bench/compare.sh reads.
struct PhaseReport {
  std::string mode;
  double seconds = 0;
  ThreadStats stats;
  std::optional<double> server_cpu_seconds;
  // This generator's own CPU over the timed part (all its threads): when it
  // is near the cores it runs on, latencies include its own queueing.
  std::optional<double> client_cpu_seconds;
  // Extra "name": number pairs (idle mode's RSS figures, /health status).
  std::vector<std::pair<std::string, double>> extra;

  void print() const;
};

}  // namespace mp::loadgen
