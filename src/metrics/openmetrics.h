// The OpenMetrics 1.0 text format, with exemplars on histogram buckets, for scrapers that ask
// for it (Prometheus does with exemplar storage on). prometheus-cpp writes only the Prometheus
// text format, and no Debian-packaged C++ library writes OpenMetrics, so this one is written
// here. Its samples are exactly the text format's (same names, labels and number formatting);
// only the metadata lines, the exemplars and the closing "# EOF" differ. Pure.
#pragma once

#include <prometheus/labels.h>
#include <prometheus/metric_family.h>

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bird_exporter {

// The most recent call that fell into one histogram bucket.
struct Exemplar {
  std::string call_id;
  double value = 0;
  double timestamp_seconds = 0;  // when the call was counted
};

// Per histogram series (family name, labels), one optional exemplar per bucket: the buckets'
// upper bounds in order, then +Inf.
using ExemplarMap =
    std::map<std::pair<std::string, prometheus::Labels>, std::vector<std::optional<Exemplar>>>;

// The index of the bucket `value` falls into: the first upper bound >= value, or
// upper_bounds.size() for +Inf.
std::size_t BucketIndex(const std::vector<double>& upper_bounds, double value);

std::string SerializeOpenMetrics(const std::vector<prometheus::MetricFamily>& families,
                                 const ExemplarMap& exemplars);

inline constexpr const char* kOpenMetricsContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

enum class ExpositionFormat { kText, kOpenMetrics };

// The format to answer with for an Accept header: OpenMetrics when the scraper accepts
// application/openmetrics-text (version 1.0.0, 0.0.1 or unversioned) at least as much as
// text/plain, else the text format.
ExpositionFormat ChooseExpositionFormat(std::string_view accept);

}  // namespace bird_exporter
