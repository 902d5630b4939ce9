// Prometheus text exposition (format 0.0.4): HELP/TYPE lines, label
// escaping, cumulative histogram buckets; and the node's metric set.
#include "http/metrics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <cstdlib>
#include <sstream>
#include <string_view>
#include <string>
#include <thread>
#include <vector>

#include "http/node_metrics.hpp"
#include "http/process_metrics.hpp"

namespace mp::http {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

bool is_name(std::string_view n, bool allow_colon) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool is_value(std::string_view v) {
  if (v == "+Inf" || v == "-Inf" || v == "NaN") return true;
  if (v.empty()) return false;
  const std::string s(v);
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && s.find_first_of("iInN") == std::string::npos;
}

// Parses `name{l="v",...} value`; returns the name or "" if malformed.
std::string sample_name(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  const std::string_view name = line.substr(0, i);
  if (!is_name(name, true)) return "";
  if (i < line.size() && line[i] == '{') {
    ++i;
    for (;;) {
      const std::size_t eq = line.find('=', i);
      if (eq == std::string_view::npos || !is_name(line.substr(i, eq - i), false)) return "";
      i = eq + 1;
      if (i >= line.size() || line[i] != '"') return "";
      ++i;
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\') {
          if (i + 1 >= line.size()) return "";
          const char e = line[i + 1];
          if (e != '\\' && e != '"' && e != 'n') return "";
          i += 2;
        } else if (line[i] == '\n') {
          return "";
        } else {
          ++i;
        }
      }
      if (i >= line.size()) return "";
      ++i;  // closing quote
      if (i < line.size() && line[i] == ',') {
        ++i;
        continue;
      }
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      return "";
    }
  }
  if (i >= line.size() || line[i] != ' ') return "";
  if (!is_value(line.substr(i + 1))) return "";
  return std::string(name);
}

// A line-by-line check of the text format: every sample belongs to the
// family announced by the preceding TYPE line (histograms add _bucket,
// _sum, _count), every family has HELP then TYPE exactly once, and sample
// lines have the shape name{labels} value.
void expect_well_formed(const std::string& text) {
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');
  std::map<std::string, int> seen;
  std::string family, family_type, pending_help;
  for (const auto& l : lines_of(text)) {
    if (l.rfind("# HELP ", 0) == 0) {
      const auto sp = l.find(' ', 7);
      ASSERT_NE(sp, std::string::npos) << l;
      pending_help = l.substr(7, sp - 7);
      EXPECT_TRUE(is_name(pending_help, true)) << l;
      EXPECT_EQ(seen[pending_help]++, 0) << "family announced twice: " << l;
    } else if (l.rfind("# TYPE ", 0) == 0) {
      const auto sp = l.find(' ', 7);
      ASSERT_NE(sp, std::string::npos) << l;
      family = l.substr(7, sp - 7);
      family_type = l.substr(sp + 1);
      EXPECT_EQ(family, pending_help) << "TYPE without HELP just before: " << l;
      EXPECT_TRUE(family_type == "counter" || family_type == "gauge" ||
                  family_type == "histogram" || family_type == "summary" ||
                  family_type == "untyped")
          << l;
    } else {
      const std::string name = sample_name(l);
      ASSERT_FALSE(name.empty()) << "bad sample line: " << l;
      if (family_type == "histogram") {
        EXPECT_TRUE(name == family + "_bucket" || name == family + "_sum" ||
                    name == family + "_count")
            << l;
      } else {
        EXPECT_EQ(name, family) << l;
      }
    }
  }
}

// The value of the unlabelled sample `name`, or -1 when absent.
double sample_value(const std::string& text, const std::string& name) {
  for (const auto& l : lines_of(text)) {
    if (l.rfind(name + " ", 0) == 0) return std::stod(l.substr(name.size() + 1));
  }
  return -1;
}

TEST(PrometheusText, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(escape_label_value(R"(a"b\c)" "\n" "d"), R"(a\"b\\c\nd)");
  EXPECT_EQ(escape_help("line1\nback\\slash \"quotes stay\""),
            "line1\\nback\\\\slash \"quotes stay\"");
}

TEST(PrometheusText, CheckerRejectsMalformedSamples) {
  EXPECT_EQ(sample_name("ok_total 1"), "ok_total");
  EXPECT_EQ(sample_name("ok{a=\"x\\\"y\",b=\"\"} +Inf"), "ok");
  EXPECT_EQ(sample_name("bad-name 1"), "");
  EXPECT_EQ(sample_name("x{a=\"unterminated} 1"), "");
  EXPECT_EQ(sample_name("x{a=\"bad\\q\"} 1"), "");
  EXPECT_EQ(sample_name("x 1.2.3"), "");
  EXPECT_EQ(sample_name("x"), "");
}

TEST(PrometheusText, FormatsValues) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_value(0.0 / 0.0), "NaN");
}

TEST(MetricRegistry, RendersCountersGaugesAndLabels) {
  MetricRegistry r;
  auto& c = r.counter("mepassa_test_total", "A test counter.");
  auto& g = r.gauge("mepassa_test_gauge", "A test gauge.");
  auto& lc = r.counter("mepassa_test_by_reason_total", "By reason.", "reason",
                       {"plain", "with \"quote\"", "back\\slash", "new\nline"});
  c.inc();
  c.inc(41);
  g.set(10);
  g.sub(13);
  lc.at("plain").inc(2);
  lc.at(std::size_t{1}).inc();
  lc.at("new\nline").inc(7);

  const std::string text = r.render();
  expect_well_formed(text);
  EXPECT_EQ(text,
            "# HELP mepassa_test_total A test counter.\n"
            "# TYPE mepassa_test_total counter\n"
            "mepassa_test_total 42\n"
            "# HELP mepassa_test_gauge A test gauge.\n"
            "# TYPE mepassa_test_gauge gauge\n"
            "mepassa_test_gauge -3\n"
            "# HELP mepassa_test_by_reason_total By reason.\n"
            "# TYPE mepassa_test_by_reason_total counter\n"
            "mepassa_test_by_reason_total{reason=\"plain\"} 2\n"
            "mepassa_test_by_reason_total{reason=\"with \\\"quote\\\"\"} 1\n"
            "mepassa_test_by_reason_total{reason=\"back\\\\slash\"} 0\n"
            "mepassa_test_by_reason_total{reason=\"new\\nline\"} 7\n");
}

TEST(MetricRegistry, HistogramBucketsAreCumulativeAndInclusive) {
  MetricRegistry r;
  auto& h = r.histogram("mepassa_test_seconds", "Latency.", {0.1, 0.5, 1});
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive: lands in the 0.1 bucket
  h.observe(0.3);
  h.observe(2);
  const std::string text = r.render();
  expect_well_formed(text);
  EXPECT_NE(text.find("mepassa_test_seconds_bucket{le=\"0.1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("mepassa_test_seconds_bucket{le=\"0.5\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("mepassa_test_seconds_bucket{le=\"1\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("mepassa_test_seconds_bucket{le=\"+Inf\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("mepassa_test_seconds_sum 2.45\n"), std::string::npos);
  EXPECT_NE(text.find("mepassa_test_seconds_count 4\n"), std::string::npos);
  EXPECT_EQ(h.count(), 4u);
}

TEST(MetricRegistry, RejectsBadNamesAndDuplicates) {
  MetricRegistry r;
  r.counter("ok_total", "x");
  EXPECT_THROW(r.counter("ok_total", "again"), std::invalid_argument);
  EXPECT_THROW(r.counter("1starts_with_digit", "x"), std::invalid_argument);
  EXPECT_THROW(r.gauge("has-dash", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("fine_total", "x", "bad-label", {"a"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h", "x", {1, 1}), std::invalid_argument);
  auto& l = r.counter("labelled_total", "x", "kind", {"a"});
  EXPECT_THROW(l.at("b"), std::out_of_range);
}

TEST(MetricRegistry, ConcurrentIncrementsAreNotLost) {
  MetricRegistry r;
  auto& c = r.counter("c_total", "x");
  auto& h = r.histogram("h_seconds", "x", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(h.count(), 40000u);
  EXPECT_DOUBLE_EQ(h.sum(), 20000.0);
}

TEST(NodeMetrics, RegistersTheDocumentedFamilies) {
  MetricRegistry r;
  NodeMetrics m(r, "1.2.3");
  m.kad_request(KadRequest::kFindNode).inc(5);
  m.kad_request_duration.observe(0.0007);
  m.relay_reservation(RelayResult::kDenied).inc();
  const std::string text = r.render();
  expect_well_formed(text);
  for (const char* line : {
           "mepassa_kad_requests_total{type=\"find_node\"} 5\n",
           "mepassa_kad_request_duration_seconds_bucket{le=\"0.001\"} 1\n",
           "# TYPE mepassa_kad_outbound_request_duration_seconds histogram\n",
           "mepassa_relay_reservation_requests_total{result=\"denied\"} 1\n",
           "mepassa_build_info{version=\"1.2.3\"} 1\n",
           "# TYPE mepassa_storage_batch_duration_seconds histogram\n",
           "# TYPE mepassa_routing_table_size gauge\n",
           "# TYPE mepassa_storage_queue_depth gauge\n",
           "# TYPE mepassa_storage_write_failures_total counter\n",
           "# TYPE mepassa_relay_circuits_current gauge\n",
           "# TYPE mepassa_bytes_received_total counter\n",
           "# TYPE mepassa_bytes_sent_total counter\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line;
  }
}

TEST(ProcessMetrics, ParsesProcStatWithAwkwardCommandName) {
  // Fields 14,15 = 250,50 ticks; 22 = 1000; 23 = 123456789; 24 = 2048 pages.
  const std::string line =
      "4242 (evil) name (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 1000 "
      "123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
  auto s = parse_proc_stat(line);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->utime_ticks, 250u);
  EXPECT_EQ(s->stime_ticks, 50u);
  EXPECT_EQ(s->starttime_ticks, 1000u);
  EXPECT_EQ(s->vsize_bytes, 123456789u);
  EXPECT_EQ(s->rss_pages, 2048u);
  EXPECT_FALSE(parse_proc_stat("no parenthesis here").has_value());
  EXPECT_FALSE(parse_proc_stat("1 (short) S 1 2").has_value());
}

TEST(ProcessMetrics, ScrapeReadsThisProcess) {
  MetricRegistry r;
  add_process_metrics(r);
  const std::string text = r.render();
  expect_well_formed(text);
  EXPECT_GT(sample_value(text, "mepassa_process_resident_memory_bytes"), 0.0) << text;
  EXPECT_GE(sample_value(text, "mepassa_process_open_fds"), 3.0);  // stdin, stdout, stderr
  EXPECT_GE(sample_value(text, "mepassa_process_cpu_seconds_total"), 0.0);
  EXPECT_NE(text.find("# TYPE mepassa_process_cpu_seconds_total counter\n"), std::string::npos);
}

}  // namespace
}  // namespace mp::http
