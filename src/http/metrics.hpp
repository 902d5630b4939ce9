// Metrics for /metrics: counters, gauges, small fixed-label families and
// fixed-bucket histograms, rendered in the Prometheus text exposition format
// (prometheus.io/docs/instrumenting/exposition_formats, version 0.0.4).
//
// Contract:
// - Every update (inc, add, set, observe) is a relaxed atomic operation: no
//   lock, no allocation, safe from any thread. The network thread updates,
//   the HTTP thread renders; they never wait on each other.
// - Registration (MetricRegistry::counter/gauge/histogram/add_collector)
//   happens at startup, before the registry is rendered from another thread.
//   References returned by registration stay valid for the registry's life.
// - Label sets are fixed at registration: hot paths keep a reference to the
//   child (`family.at("inbound")`) instead of looking it up per event.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mp::http {

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void set(std::int64_t v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  void sub(std::int64_t n = 1) noexcept { v_.fetch_sub(n, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

// Cumulative histogram with bucket upper bounds fixed at construction.
// A scrape may see a bucket count and the total from slightly different
// instants; Prometheus tolerates that (no lock by design).
class Histogram {
 public:
  // `bounds` must be strictly increasing and finite; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);

  void observe(double value) noexcept;

  const std::vector<double>& bounds() const { return bounds_; }
  // Non-cumulative count of bucket i (i == bounds().size() is the +Inf bucket).
  std::uint64_t bucket_count(std::size_t i) const noexcept {
    return buckets_[i].load(std::memory_order_relaxed);
  }
  // Sum of all buckets.
  std::uint64_t count() const noexcept;
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<double> sum_{0.0};
};

// One metric per value of a single label, the values fixed at construction
// (e.g. direction = inbound|outbound). Lookup by value is a linear scan over
// a handful of strings: do it once at setup and keep the reference.
template <typename Metric>
class Labelled {
 public:
  Labelled(std::string label, std::vector<std::string> values)
      : label_(std::move(label)),
        values_(std::move(values)),
        metrics_(std::make_unique<Metric[]>(values_.size())) {}

  // Throws std::out_of_range for a value not declared at registration
  // (a programming error, not an input error).
  Metric& at(std::string_view value);
  Metric& at(std::size_t index) { return metrics_[index]; }
  const Metric& at(std::size_t index) const { return metrics_[index]; }

  const std::string& label() const { return label_; }
  const std::vector<std::string>& values() const { return values_; }
  std::size_t size() const { return values_.size(); }

 private:
  std::string label_;
  std::vector<std::string> values_;
  std::unique_ptr<Metric[]> metrics_;
};

using LabelledCounter = Labelled<Counter>;
using LabelledGauge = Labelled<Gauge>;

// Owns metric families and renders them in registration order.
class MetricRegistry {
 public:
  MetricRegistry();
  ~MetricRegistry();
  MetricRegistry(const MetricRegistry&) = delete;
  MetricRegistry& operator=(const MetricRegistry&) = delete;

  // Names must match [a-zA-Z_:][a-zA-Z0-9_:]* and be unique; label names
  // [a-zA-Z_][a-zA-Z0-9_]*. Violations throw std::invalid_argument.
  Counter& counter(std::string name, std::string help);
  Gauge& gauge(std::string name, std::string help);
  LabelledCounter& counter(std::string name, std::string help, std::string label,
                           std::vector<std::string> values);
  LabelledGauge& gauge(std::string name, std::string help, std::string label,
                       std::vector<std::string> values);
  Histogram& histogram(std::string name, std::string help, std::vector<double> bounds);

  // A collector appends complete metric families (HELP/TYPE/samples) at
  // scrape time, on the HTTP thread; used for values that are read rather
  // than counted (process RSS, CPU). It must be thread-safe and quick.
  void add_collector(std::function<void(std::string& out)> collector);

  // Appends the whole exposition to `out`.
  void render(std::string& out) const;
  std::string render() const;

 private:
  struct Family;
  void check_new_name(const std::string& name) const;
  std::deque<Family> families_;
  std::vector<std::function<void(std::string&)>> collectors_;
};

// Prometheus text helpers, exposed for collectors and tests.
// Label value escaping: backslash, double quote and newline.
std::string escape_label_value(std::string_view value);
// HELP text escaping: backslash and newline.
std::string escape_help(std::string_view help);
// Sample value formatting: integers exactly, +Inf/-Inf/NaN as Prometheus spells them.
std::string format_value(double v);
// Appends "# HELP name help\n# TYPE name type\n".
void append_header(std::string& out, std::string_view name, std::string_view help,
                   std::string_view type);

// ---------------------------------------------------------------------------

template <typename Metric>
Metric& Labelled<Metric>::at(std::string_view value) {
  for (std::size_t i = 0; i < values_.size(); ++i) {
    if (values_[i] == value) return metrics_[i];
  }
  throw std::out_of_range("metric label " + label_ + " has no value " + std::string(value));
}

}  // namespace mp::http
