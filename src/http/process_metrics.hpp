// Process metrics read from /proc/self at scrape time (Linux only):
// resident memory, CPU seconds, open and maximum file descriptors, start
// time. Reading happens on the HTTP thread when /metrics is fetched, so the
// network thread never pays for it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mp::http {

class MetricRegistry;

struct ProcStat {
  std::uint64_t utime_ticks = 0;      // field 14
  std::uint64_t stime_ticks = 0;      // field 15
  std::uint64_t starttime_ticks = 0;  // field 22, since boot
  std::uint64_t vsize_bytes = 0;      // field 23
  std::uint64_t rss_pages = 0;        // field 24
};

// Parses the single line of /proc/<pid>/stat (proc(5)). The command name in
// parentheses may itself contain spaces and parentheses, so fields are
// counted from the last ')'.
std::optional<ProcStat> parse_proc_stat(std::string_view line);

// Registers a collector emitting:
//   mepassa_process_resident_memory_bytes, mepassa_process_virtual_memory_bytes,
//   mepassa_process_cpu_seconds_total, mepassa_process_open_fds,
//   mepassa_process_max_fds, mepassa_process_start_time_seconds.
// A value that cannot be read is left out of the scrape rather than faked.
void add_process_metrics(MetricRegistry& registry);

}  // namespace mp::http
