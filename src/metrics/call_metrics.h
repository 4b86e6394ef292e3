// The call metric families on a prometheus::Registry, and the recording of one counted call.
// Knows nothing about Bird's API or the poll loop; it only applies CallObservations.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "metrics/call_mapping.h"
#include "metrics/label_guard.h"
#include "metrics/openmetrics.h"

namespace bird_exporter {

// The configured label values of one channel.
struct ChannelLabels {
  std::string workspace;
  std::string channel;
};

// Active calls at the last poll, keyed by (direction, status) label values.
using ActiveCallCounts = std::map<std::pair<std::string, std::string>, int>;

class CallMetrics {
 public:
  // `dimensions`: the optional labels of each group of families.
  explicit CallMetrics(prometheus::Registry& registry, MetricDimensions dimensions = {},
                       LabelLimits limits = {});

  // Counts one ended call. Must be called exactly once per call.
  void Record(const ChannelLabels& channel, const CallObservation& obs);

  // Removes every series of the channel (it left the configuration).
  void RemoveChannel(const ChannelLabels& channel);

  // Replaces the channel's active-call gauges; combinations seen before and absent now read 0.
  void SetActive(const ChannelLabels& channel, const ActiveCallCounts& counts);

  // The most recent call of each bucket of the MOS, quality, PDD, duration and packet-loss
  // histograms (for the OpenMetrics exposition). A copy.
  ExemplarMap Exemplars() const;

 private:
  void RecordHistogram(prometheus::Family<prometheus::Histogram>& family,
                       const prometheus::Labels& labels, const std::vector<double>& buckets,
                       std::optional<double> value, const Exemplar* exemplar = nullptr);

  // The observation with Bird's free-form label values bounded (codec, cause code, SIP code,
  // provider, edge region).
  CallObservation Bounded(const CallObservation& obs);

  // Whether any group carries the dimension `label`.
  bool Uses(std::string_view label) const;
  // Whether a family carrying the codec observes this call (the codec names a series).
  bool CodecObserved(const CallObservation& obs) const;

  MetricDimensions dimensions_;
  mutable std::mutex mutex_;
  LabelGuard label_guard_;
  ExemplarMap exemplars_;
  prometheus::Family<prometheus::Counter>& labels_dropped_;
  prometheus::Family<prometheus::Counter>& field_anomalies_;
  prometheus::Family<prometheus::Counter>& calls_;
  prometheus::Family<prometheus::Counter>& hangups_;
  prometheus::Family<prometheus::Counter>& packets_;
  prometheus::Family<prometheus::Counter>& media_packets_;
  prometheus::Family<prometheus::Counter>& dtmf_packets_;
  prometheus::Family<prometheus::Counter>& bytes_;
  prometheus::Family<prometheus::Counter>& flaws_;
  prometheus::Family<prometheus::Counter>& no_inbound_media_;
  prometheus::Family<prometheus::Histogram>& mos_;
  prometheus::Family<prometheus::Histogram>& quality_;
  prometheus::Family<prometheus::Histogram>& pdd_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Histogram>& jitter_min_;
  prometheus::Family<prometheus::Histogram>& jitter_max_;
  prometheus::Family<prometheus::Histogram>& loss_;
  prometheus::Family<prometheus::Histogram>& burst_;
  prometheus::Family<prometheus::Histogram>& mean_interval_;
  prometheus::Family<prometheus::Counter>& abandoned_;
  prometheus::Family<prometheus::Histogram>& time_to_answer_;
  prometheus::Family<prometheus::Histogram>& ring_;
  prometheus::Family<prometheus::Histogram>& r_factor_;
  prometheus::Family<prometheus::Counter>& poor_;
  prometheus::Family<prometheus::Counter>& poor_reasons_;
  prometheus::Family<prometheus::Gauge>& active_;
  prometheus::Family<prometheus::Gauge>& last_mos_;
  prometheus::Family<prometheus::Gauge>& last_pdd_;
  prometheus::Family<prometheus::Gauge>& last_end_;
  // Newest end time recorded per channel, so "last" gauges follow call end order, not the
  // order in which insights happened to arrive.
  std::map<std::pair<std::string, std::string>, double> last_end_seconds_;
  std::map<std::pair<std::string, std::string>, ActiveCallCounts> active_seen_;
};

}  // namespace bird_exporter
