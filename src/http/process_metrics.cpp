#include "http/process_metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <string>
#include <vector>

#include "http/metrics.hpp"

namespace mp::http {

namespace {

bool to_u64(std::string_view s, std::uint64_t& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

std::optional<std::string> read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return line;
}

// Seconds since the epoch at which the system booted ("btime" in /proc/stat).
std::optional<std::uint64_t> boot_time() {
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("btime ", 0) == 0) {
      std::uint64_t v = 0;
      if (to_u64(std::string_view(line).substr(6), v)) return v;
    }
  }
  return std::nullopt;
}

std::optional<std::uint64_t> count_open_fds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  std::uint64_t n = 0;
  while (const dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  // The directory stream held one descriptor of its own while counting.
  return n > 0 ? n - 1 : 0;
}

void gauge_line(std::string& out, const char* name, const char* help, double v) {
  append_header(out, name, help, "gauge");
  out.append(name).push_back(' ');
  out.append(format_value(v)).push_back('\n');
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view line) {
  const auto close = line.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::vector<std::string_view> fields;  // fields[0] is field 3 ("state")
  std::string_view rest = line.substr(close + 1);
  while (!rest.empty()) {
    const auto start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const auto end = rest.find(' ');
    fields.push_back(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end);
  }
  auto field = [&](std::size_t n, std::uint64_t& out) {
    return n >= 3 && n - 3 < fields.size() && to_u64(fields[n - 3], out);
  };
  ProcStat s;
  if (!field(14, s.utime_ticks) || !field(15, s.stime_ticks) || !field(22, s.starttime_ticks) ||
      !field(23, s.vsize_bytes) || !field(24, s.rss_pages)) {
    return std::nullopt;
  }
  return s;
}

void add_process_metrics(MetricRegistry& registry) {
  const long ticks = sysconf(_SC_CLK_TCK);
  const long page = sysconf(_SC_PAGESIZE);
  const auto btime = boot_time();
  registry.add_collector([ticks, page, btime](std::string& out) {
    if (auto line = read_first_line("/proc/self/stat")) {
      if (auto s = parse_proc_stat(*line); s && ticks > 0 && page > 0) {
        const auto tick_d = static_cast<double>(ticks);
        out.append("# HELP mepassa_process_cpu_seconds_total User and system CPU time spent in seconds.\n"
                   "# TYPE mepassa_process_cpu_seconds_total counter\n"
                   "mepassa_process_cpu_seconds_total ");
        out.append(format_value(static_cast<double>(s->utime_ticks + s->stime_ticks) / tick_d));
        out.push_back('\n');
        gauge_line(out, "mepassa_process_resident_memory_bytes", "Resident memory size in bytes.",
                   static_cast<double>(s->rss_pages) * static_cast<double>(page));
        gauge_line(out, "mepassa_process_virtual_memory_bytes", "Virtual memory size in bytes.",
                   static_cast<double>(s->vsize_bytes));
        if (btime) {
          gauge_line(out, "mepassa_process_start_time_seconds",
                     "Start time of the process since unix epoch in seconds.",
                     static_cast<double>(*btime) + static_cast<double>(s->starttime_ticks) / tick_d);
        }
      }
    }
    if (auto fds = count_open_fds()) {
      gauge_line(out, "mepassa_process_open_fds", "Number of open file descriptors.",
                 static_cast<double>(*fds));
    }
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
      gauge_line(out, "mepassa_process_max_fds", "Maximum number of open file descriptors.",
                 static_cast<double>(lim.rlim_cur));
    }
  });
}

}  // namespace mp::http
