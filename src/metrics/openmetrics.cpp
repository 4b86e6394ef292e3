#include "metrics/openmetrics.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <locale>
#include <sstream>

namespace bird_exporter {
namespace {

// Numbers exactly as prometheus-cpp's TextSerializer writes them (classic locale, 16
// significant digits), so that a series reads the same in both formats; OpenMetrics spells
// NaN and the infinities as below.
class NumberWriter {
 public:
  NumberWriter() {
    out_.imbue(std::locale::classic());
    out_.precision(std::numeric_limits<double>::max_digits10 - 1);
  }
  std::string operator()(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value < 0 ? "-Inf" : "+Inf";
    out_.str(std::string());
    out_ << value;
    return out_.str();
  }

 private:
  std::ostringstream out_;
};

void Escape(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void Labels(std::string& out, const std::vector<prometheus::ClientMetric::Label>& labels,
            const char* extra_name = nullptr, const std::string& extra_value = "") {
  if (labels.empty() && extra_name == nullptr) return;
  out += '{';
  bool first = true;
  for (const auto& label : labels) {
    if (!first) out += ',';
    first = false;
    out += label.name;
    out += "=\"";
    Escape(out, label.value);
    out += '"';
  }
  if (extra_name != nullptr) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    Escape(out, extra_value);
    out += '"';
  }
  out += '}';
}

void Metadata(std::string& out, const std::string& name, const char* type,
              const std::string& help) {
  out += "# TYPE " + name + " " + type + "\n";
  if (!help.empty()) {
    out += "# HELP " + name + " ";
    Escape(out, help);
    out += '\n';
  }
}

// Exemplar label sets are at most 128 characters (OpenMetrics 1.0).
bool FitsAnExemplar(const std::string& call_id) {
  return !call_id.empty() && call_id.size() + std::string_view("call_id").size() <= 128;
}

// The _count and _sum samples of a summary or histogram.
void CountAndSum(std::string& out, const std::string& name,
                 const std::vector<prometheus::ClientMetric::Label>& labels, std::uint64_t count,
                 double sum, NumberWriter& number) {
  out += name + "_count";
  Labels(out, labels);
  out += ' ' + std::to_string(count) + '\n';
  out += name + "_sum";
  Labels(out, labels);
  out += ' ' + number(sum) + '\n';
}

prometheus::Labels AsMap(const std::vector<prometheus::ClientMetric::Label>& labels) {
  prometheus::Labels map;
  for (const auto& label : labels) map.emplace(label.name, label.value);
  return map;
}

}  // namespace

std::size_t BucketIndex(const std::vector<double>& upper_bounds, double value) {
  return static_cast<std::size_t>(
      std::lower_bound(upper_bounds.begin(), upper_bounds.end(), value) - upper_bounds.begin());
}

std::string SerializeOpenMetrics(const std::vector<prometheus::MetricFamily>& families,
                                 const ExemplarMap& exemplars) {
  std::string out;
  NumberWriter number;
  char timestamp[64];
  for (const auto& family : families) {
    switch (family.type) {
      case prometheus::MetricType::Counter: {
        // The family is named without _total, its samples with it. A counter named otherwise
        // is written as "unknown", which keeps its sample name as in the text format.
        constexpr std::string_view kTotal = "_total";
        const bool total =
            family.name.size() > kTotal.size() &&
            family.name.compare(family.name.size() - kTotal.size(), kTotal.size(), kTotal) == 0;
        Metadata(out,
                 total ? family.name.substr(0, family.name.size() - kTotal.size()) : family.name,
                 total ? "counter" : "unknown", family.help);
        for (const auto& metric : family.metric) {
          out += family.name;
          Labels(out, metric.label);
          out += ' ' + number(metric.counter.value) + '\n';
        }
        break;
      }
      case prometheus::MetricType::Gauge:
      case prometheus::MetricType::Untyped: {
        const bool gauge = family.type == prometheus::MetricType::Gauge;
        Metadata(out, family.name, gauge ? "gauge" : "unknown", family.help);
        for (const auto& metric : family.metric) {
          out += family.name;
          Labels(out, metric.label);
          out += ' ' + number(gauge ? metric.gauge.value : metric.untyped.value) + '\n';
        }
        break;
      }
      case prometheus::MetricType::Summary: {
        Metadata(out, family.name, "summary", family.help);
        for (const auto& metric : family.metric) {
          for (const auto& q : metric.summary.quantile) {
            out += family.name;
            Labels(out, metric.label, "quantile", number(q.quantile));
            out += ' ' + number(q.value) + '\n';
          }
          CountAndSum(out, family.name, metric.label, metric.summary.sample_count,
                      metric.summary.sample_sum, number);
        }
        break;
      }
      case prometheus::MetricType::Histogram: {
        Metadata(out, family.name, "histogram", family.help);
        for (const auto& metric : family.metric) {
          const std::vector<std::optional<Exemplar>>* series = nullptr;
          if (!exemplars.empty()) {
            const auto found = exemplars.find({family.name, AsMap(metric.label)});
            if (found != exemplars.end()) series = &found->second;
          }
          const auto& buckets = metric.histogram.bucket;
          for (std::size_t i = 0; i < buckets.size(); ++i) {
            out += family.name + "_bucket";
            Labels(out, metric.label, "le", number(buckets[i].upper_bound));
            out += ' ' + std::to_string(buckets[i].cumulative_count);
            if (series != nullptr && i < series->size() && (*series)[i] &&
                FitsAnExemplar((*series)[i]->call_id)) {
              const Exemplar& e = *(*series)[i];
              out += " # {call_id=\"";
              Escape(out, e.call_id);
              std::snprintf(timestamp, sizeof timestamp, "%.3f", e.timestamp_seconds);
              out += "\"} " + number(e.value) + ' ' + timestamp;
            }
            out += '\n';
          }
          CountAndSum(out, family.name, metric.label, metric.histogram.sample_count,
                      metric.histogram.sample_sum, number);
        }
        break;
      }
    }
  }
  out += "# EOF\n";
  return out;
}

ExpositionFormat ChooseExpositionFormat(std::string_view accept) {
  double openmetrics = 0, text = -1, any = 0;
  while (!accept.empty()) {
    const auto comma = accept.find(',');
    std::string_view range = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    std::vector<std::string_view> parts;
    while (!range.empty()) {
      const auto semi = range.find(';');
      std::string_view part = range.substr(0, semi);
      while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
      while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
      parts.push_back(part);
      range = semi == std::string_view::npos ? std::string_view() : range.substr(semi + 1);
    }
    if (parts.empty()) continue;
    double q = 1;
    std::string_view version;
    for (std::size_t i = 1; i < parts.size(); ++i) {
      if (parts[i].rfind("q=", 0) == 0) {
        const auto v = parts[i].substr(2);
        if (std::from_chars(v.data(), v.data() + v.size(), q).ec != std::errc()) q = 0;
      } else if (parts[i].rfind("version=", 0) == 0) {
        version = parts[i].substr(8);
      }
    }
    const std::string_view type = parts[0];
    if (type == "application/openmetrics-text") {
      if (version.empty() || version == "1.0.0" || version == "0.0.1") {
        openmetrics = std::max(openmetrics, q);
      }
    } else if (type == "text/plain") {
      if (version.empty() || version == "0.0.4") text = std::max(text, q);
    } else if (type == "*/*" || type == "text/*") {
      any = std::max(any, q);
    }
  }
  if (text < 0) text = any;
  return openmetrics > 0 && openmetrics >= text ? ExpositionFormat::kOpenMetrics
                                                : ExpositionFormat::kText;
}

}  // namespace bird_exporter
