#include "loadgen/stats.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace mp::loadgen {

void ThreadStats::merge(ThreadStats&& o) {
  latency_us.insert(latency_us.end(), o.latency_us.begin(), o.latency_us.end());
  if (errors == 0 && o.errors > 0) first_error = std::move(o.first_error);
  errors += o.errors;
  answers += o.answers;
  bad_answers += o.bad_answers;
  answers_without_peers += o.answers_without_peers;
  closer_peers += o.closer_peers;
  identify_checked += o.identify_checked;
  identify_served += o.identify_served;
}

std::optional<ProcSample> read_proc(int pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream stat(dir + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  // The command name (field 2) may hold spaces: fields resume after its ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  }
  ProcSample s;
  s.cpu_seconds = ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream status(dir + "/status");
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_bytes = std::stoull(line.substr(6)) * 1024;
  }
  return s;
}

std::uint64_t settled_rss(int pid) {
  std::uint64_t last = 0;
  for (int i = 0; i < 20; ++i) {
    auto s = read_proc(pid);
    if (!s) return last;
    const auto diff = s->rss_bytes > last ? s->rss_bytes - last : last - s->rss_bytes;
    if (last != 0 && diff * 200 < last) return s->rss_bytes;
    last = s->rss_bytes;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return last;
}

std::uint32_t percentile(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size()));
  return sorted[std::min(sorted.size() - 1, i)];
}

void PhaseReport::print() const {
  auto lat = stats.latency_us;
  std::sort(lat.begin(), lat.end());
  const double ops = static_cast<double>(lat.size());
  const double rate = seconds > 0 ? ops / seconds : 0;
  std::ostringstream json;
  json << "{\"mode\":\"" << mode << "\",\"ops\":" << lat.size() << ",\"seconds\":" << seconds
       << ",\"ops_per_s\":" << rate << ",\"p50_us\":" << percentile(lat, 0.5)
       << ",\"p99_us\":" << percentile(lat, 0.99) << ",\"p999_us\":" << percentile(lat, 0.999)
       << ",\"errors\":" << stats.errors << ",\"answers\":" << stats.answers
       << ",\"bad_answers\":" << stats.bad_answers
       << ",\"answers_without_peers\":" << stats.answers_without_peers
       << ",\"closer_peers_per_answer\":"
       << (stats.answers ? static_cast<double>(stats.closer_peers) /
                               static_cast<double>(stats.answers)
                         : 0.0)
       << ",\"identify_checked\":" << stats.identify_checked
       << ",\"identify_served\":" << stats.identify_served;
  if (server_cpu_seconds) {
    json << ",\"server_cpu_s\":" << *server_cpu_seconds << ",\"server_cpu_us_per_op\":"
         << (ops > 0 ? *server_cpu_seconds * 1e6 / ops : 0.0);
  }
  if (client_cpu_seconds) json << ",\"client_cpu_s\":" << *client_cpu_seconds;
  for (const auto& [k, v] : extra) json << ",\"" << k << "\":" << v;
  json << "}";

  std::printf("%-14s %8.0f ops in %.2f s = %9.1f /s  p50 %u us  p99 %u us  p99.9 %u us  errors %llu",
              mode.c_str(), ops, seconds, rate, percentile(lat, 0.5), percentile(lat, 0.99),
              percentile(lat, 0.999), static_cast<unsigned long long>(stats.errors));
  if (server_cpu_seconds && ops > 0) {
    std::printf("  server CPU %.2f s = %.1f us/op", *server_cpu_seconds,
                *server_cpu_seconds * 1e6 / ops);
  }
  if (client_cpu_seconds && seconds > 0) {
    std::printf("  client CPU %.0f%% of one core", *client_cpu_seconds * 100 / seconds);
  }
  std::printf("\n");
  if (!stats.first_error.empty()) std::printf("  first error: %s\n", stats.first_error.c_str());
  std::printf("RESULT %s\n", json.str().c_str());
  std::fflush(stdout);
}

}  // namespace mp::loadgen
