#include "http/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace mp::http {

namespace {

bool valid_metric_name(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

bool valid_label_name(std::string_view n) {
  if (n.empty()) return false;
  if (n.size() >= 2 && n[0] == '_' && n[1] == '_') return false;  // reserved by Prometheus
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

void append_u64(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

void append_i64(std::string& out, std::int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

void append_sample(std::string& out, std::string_view name, std::string_view label,
                   std::string_view label_value) {
  out.append(name);
  if (!label.empty()) {
    out.push_back('{');
    out.append(label);
    out.append("=\"");
    out.append(escape_label_value(label_value));
    out.append("\"}");
  }
  out.push_back(' ');
}

}  // namespace

// ---------------------------------------------------------------------------
// Text format helpers

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Shortest text that reads back as the same double.
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

void append_header(std::string& out, std::string_view name, std::string_view help,
                   std::string_view type) {
  out.append("# HELP ").append(name).push_back(' ');
  out.append(escape_help(help)).push_back('\n');
  out.append("# TYPE ").append(name).push_back(' ');
  out.append(type).push_back('\n');
}

// ---------------------------------------------------------------------------
// Histogram

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      throw std::invalid_argument("histogram bounds must be finite and strictly increasing");
    }
  }
}

void Histogram::observe(double value) noexcept {
  // First bucket whose upper bound is >= value ("le" is inclusive).
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  const auto idx = static_cast<std::size_t>(it - bounds_.begin());
  buckets_[idx].fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + value, std::memory_order_relaxed)) {
  }
}

std::uint64_t Histogram::count() const noexcept {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) total += bucket_count(i);
  return total;
}

// ---------------------------------------------------------------------------
// Registry

struct MetricRegistry::Family {
  enum class Kind { kCounter, kGauge, kLabelledCounter, kLabelledGauge, kHistogram };
  std::string name;
  std::string help;
  Kind kind;
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<LabelledCounter> labelled_counter;
  std::unique_ptr<LabelledGauge> labelled_gauge;
  std::unique_ptr<Histogram> histogram;
};

MetricRegistry::MetricRegistry() = default;
MetricRegistry::~MetricRegistry() = default;

void MetricRegistry::check_new_name(const std::string& name) const {
  if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name: " + name);
  for (const auto& f : families_) {
    if (f.name == name) throw std::invalid_argument("duplicate metric name: " + name);
  }
}

Counter& MetricRegistry::counter(std::string name, std::string help) {
  check_new_name(name);
  auto& f = families_.emplace_back(Family{std::move(name), std::move(help),
                                          Family::Kind::kCounter, {}, {}, {}, {}, {}});
  f.counter = std::make_unique<Counter>();
  return *f.counter;
}

Gauge& MetricRegistry::gauge(std::string name, std::string help) {
  check_new_name(name);
  auto& f = families_.emplace_back(Family{std::move(name), std::move(help),
                                          Family::Kind::kGauge, {}, {}, {}, {}, {}});
  f.gauge = std::make_unique<Gauge>();
  return *f.gauge;
}

LabelledCounter& MetricRegistry::counter(std::string name, std::string help, std::string label,
                                         std::vector<std::string> values) {
  check_new_name(name);
  if (!valid_label_name(label)) throw std::invalid_argument("invalid label name: " + label);
  auto& f = families_.emplace_back(Family{std::move(name), std::move(help),
                                          Family::Kind::kLabelledCounter, {}, {}, {}, {}, {}});
  f.labelled_counter = std::make_unique<LabelledCounter>(std::move(label), std::move(values));
  return *f.labelled_counter;
}

LabelledGauge& MetricRegistry::gauge(std::string name, std::string help, std::string label,
                                     std::vector<std::string> values) {
  check_new_name(name);
  if (!valid_label_name(label)) throw std::invalid_argument("invalid label name: " + label);
  auto& f = families_.emplace_back(Family{std::move(name), std::move(help),
                                          Family::Kind::kLabelledGauge, {}, {}, {}, {}, {}});
  f.labelled_gauge = std::make_unique<LabelledGauge>(std::move(label), std::move(values));
  return *f.labelled_gauge;
}

Histogram& MetricRegistry::histogram(std::string name, std::string help,
                                     std::vector<double> bounds) {
  check_new_name(name);
  auto h = std::make_unique<Histogram>(std::move(bounds));
  auto& f = families_.emplace_back(Family{std::move(name), std::move(help),
                                          Family::Kind::kHistogram, {}, {}, {}, {}, {}});
  f.histogram = std::move(h);
  return *f.histogram;
}

void MetricRegistry::add_collector(std::function<void(std::string&)> collector) {
  collectors_.push_back(std::move(collector));
}

void MetricRegistry::render(std::string& out) const {
  for (const auto& f : families_) {
    switch (f.kind) {
      case Family::Kind::kCounter:
        append_header(out, f.name, f.help, "counter");
        append_sample(out, f.name, {}, {});
        append_u64(out, f.counter->value());
        out.push_back('\n');
        break;
      case Family::Kind::kGauge:
        append_header(out, f.name, f.help, "gauge");
        append_sample(out, f.name, {}, {});
        append_i64(out, f.gauge->value());
        out.push_back('\n');
        break;
      case Family::Kind::kLabelledCounter: {
        const auto& l = *f.labelled_counter;
        append_header(out, f.name, f.help, "counter");
        for (std::size_t i = 0; i < l.size(); ++i) {
          append_sample(out, f.name, l.label(), l.values()[i]);
          append_u64(out, l.at(i).value());
          out.push_back('\n');
        }
        break;
      }
      case Family::Kind::kLabelledGauge: {
        const auto& l = *f.labelled_gauge;
        append_header(out, f.name, f.help, "gauge");
        for (std::size_t i = 0; i < l.size(); ++i) {
          append_sample(out, f.name, l.label(), l.values()[i]);
          append_i64(out, l.at(i).value());
          out.push_back('\n');
        }
        break;
      }
      case Family::Kind::kHistogram: {
        const auto& h = *f.histogram;
        append_header(out, f.name, f.help, "histogram");
        const std::string bucket = f.name + "_bucket";
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < h.bounds().size(); ++i) {
          cumulative += h.bucket_count(i);
          append_sample(out, bucket, "le", format_value(h.bounds()[i]));
          append_u64(out, cumulative);
          out.push_back('\n');
        }
        cumulative += h.bucket_count(h.bounds().size());
        append_sample(out, bucket, "le", "+Inf");
        append_u64(out, cumulative);
        out.push_back('\n');
        out.append(f.name).append("_sum ").append(format_value(h.sum())).push_back('\n');
        // _count equals the +Inf bucket by construction, as the format requires.
        out.append(f.name).append("_count ");
        append_u64(out, cumulative);
        out.push_back('\n');
        break;
      }
    }
  }
  for (const auto& c : collectors_) c(out);
}

std::string MetricRegistry::render() const {
  std::string out;
  out.reserve(8192);
  render(out);
  return out;
}

}  // namespace mp::http
