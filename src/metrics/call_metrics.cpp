#include "metrics/call_metrics.h"

#include <algorithm>
#include <utility>

#include "metrics/metric_definitions.h"

namespace bird_exporter {
namespace {

prometheus::Family<prometheus::Counter>& CounterFamily(prometheus::Registry& r,
                                                       std::string_view name) {
  return RegisterFamily(prometheus::BuildCounter(), r, name);
}
prometheus::Family<prometheus::Gauge>& GaugeFamily(prometheus::Registry& r, std::string_view name) {
  return RegisterFamily(prometheus::BuildGauge(), r, name);
}
prometheus::Family<prometheus::Histogram>& HistogramFamily(prometheus::Registry& r,
                                                           std::string_view name) {
  return RegisterFamily(prometheus::BuildHistogram(), r, name);
}

const std::vector<double>& Buckets(std::string_view name) { return FindMetricSpec(name).buckets; }

void AddFlow(prometheus::Family<prometheus::Counter>& family, prometheus::Labels labels,
             const FlowCounts& counts) {
  if (counts.in) {
    labels["flow"] = "in";
    family.Add(labels).Increment(*counts.in);
  }
  if (counts.out) {
    labels["flow"] = "out";
    family.Add(labels).Increment(*counts.out);
  }
}

// The value of dimension `label` for the call.
const std::string& DimensionValue(const CallObservation& obs, std::string_view label) {
  if (label == "call_type") return obs.call_type;
  if (label == "country") return obs.country;
  if (label == "provider") return obs.provider;
  if (label == "edge_region") return obs.edge_region;
  return obs.codec;
}

// workspace, channel, direction and the group's dimensions.
prometheus::Labels GroupLabels(const ChannelLabels& channel, const CallObservation& obs,
                               const std::vector<std::string>& dimensions) {
  prometheus::Labels labels = {
      {"workspace", channel.workspace}, {"channel", channel.channel}, {"direction", obs.direction}};
  for (const std::string& label : dimensions) labels[label] = DimensionValue(obs, label);
  return labels;
}

prometheus::Labels With(prometheus::Labels labels, const std::string& name,
                        const std::string& value) {
  labels[name] = value;
  return labels;
}

}  // namespace

CallMetrics::CallMetrics(prometheus::Registry& registry, MetricDimensions dimensions,
                         LabelLimits limits)
    : dimensions_(std::move(dimensions)),
      label_guard_(limits),
      labels_dropped_(CounterFamily(registry, "bird_exporter_label_values_dropped_total")),
      field_anomalies_(CounterFamily(registry, "bird_exporter_field_anomalies_total")),
      calls_(CounterFamily(registry, "bird_calls_total")),
      hangups_(CounterFamily(registry, "bird_call_hangups_total")),
      packets_(CounterFamily(registry, "bird_call_packets_total")),
      media_packets_(CounterFamily(registry, "bird_call_media_packets_total")),
      dtmf_packets_(CounterFamily(registry, "bird_call_dtmf_packets_total")),
      bytes_(CounterFamily(registry, "bird_call_bytes_total")),
      flaws_(CounterFamily(registry, "bird_call_flaws_total")),
      no_inbound_media_(CounterFamily(registry, "bird_call_no_inbound_media_total")),
      mos_(HistogramFamily(registry, "bird_call_mos")),
      quality_(HistogramFamily(registry, "bird_call_quality_ratio")),
      pdd_(HistogramFamily(registry, "bird_call_pdd_seconds")),
      duration_(HistogramFamily(registry, "bird_call_duration_seconds")),
      jitter_min_(HistogramFamily(registry, "bird_call_jitter_min_seconds")),
      jitter_max_(HistogramFamily(registry, "bird_call_jitter_max_seconds")),
      loss_(HistogramFamily(registry, "bird_call_packet_loss_ratio")),
      burst_(HistogramFamily(registry, "bird_call_jitter_burst_rate")),
      mean_interval_(HistogramFamily(registry, "bird_call_mean_interval_seconds")),
      abandoned_(CounterFamily(registry, "bird_calls_abandoned_total")),
      time_to_answer_(HistogramFamily(registry, "bird_call_time_to_answer_seconds")),
      ring_(HistogramFamily(registry, "bird_call_ring_seconds")),
      r_factor_(HistogramFamily(registry, "bird_call_r_factor")),
      poor_(CounterFamily(registry, "bird_calls_poor_total")),
      poor_reasons_(CounterFamily(registry, "bird_call_poor_reasons_total")),
      active_(GaugeFamily(registry, "bird_calls_active")),
      last_mos_(GaugeFamily(registry, "bird_call_last_mos")),
      last_pdd_(GaugeFamily(registry, "bird_call_last_pdd_seconds")),
      last_end_(GaugeFamily(registry, "bird_call_last_end_timestamp_seconds")) {}

void CallMetrics::RecordHistogram(prometheus::Family<prometheus::Histogram>& family,
                                  const prometheus::Labels& labels,
                                  const std::vector<double>& buckets, std::optional<double> value,
                                  const Exemplar* exemplar) {
  if (!value) return;
  family.Add(labels, buckets).Observe(*value);
  if (exemplar == nullptr) return;
  auto& series = exemplars_[{family.GetName(), labels}];
  series.resize(buckets.size() + 1);
  Exemplar e = *exemplar;
  e.value = *value;
  series[BucketIndex(buckets, *value)] = std::move(e);
}

ExemplarMap CallMetrics::Exemplars() const {
  std::lock_guard lock(mutex_);
  return exemplars_;
}

bool CallMetrics::Uses(std::string_view label) const {
  for (const auto& [name, group] : MetricDimensions::Groups(dimensions_)) {
    if (std::find(group->begin(), group->end(), label) != group->end()) return true;
  }
  return false;
}

bool CallMetrics::CodecObserved(const CallObservation& obs) const {
  const auto has_codec = [](const std::vector<std::string>& group) {
    return std::find(group.begin(), group.end(), "codec") != group.end();
  };
  const bool quality = obs.mos || obs.quality_ratio || obs.r_factor;
  // Every value a media family observes (see Record).
  const bool media = obs.packets.in || obs.packets.out || obs.media_packets.in ||
                     obs.media_packets.out || obs.dtmf_packets.in || obs.dtmf_packets.out ||
                     obs.bytes.in || obs.bytes.out || obs.flaws || obs.no_inbound_media ||
                     obs.jitter_min_seconds || obs.jitter_max_seconds || obs.packet_loss_ratio ||
                     obs.jitter_burst_rate || obs.mean_interval_seconds;
  return (quality && has_codec(dimensions_.quality)) || (media && has_codec(dimensions_.media));
}

CallObservation CallMetrics::Bounded(const CallObservation& obs) {
  CallObservation bounded = obs;
  // A dimension no family carries is not admitted, so it cannot use up the label's budget.
  for (auto [label, value] :
       {std::pair{"codec", &bounded.codec}, std::pair{"provider", &bounded.provider},
        std::pair{"edge_region", &bounded.edge_region},
        std::pair{"hangup_cause_code", &bounded.hangup_cause_code},
        std::pair{"sip_code", &bounded.sip_code}}) {
    const bool dimension =
        value == &bounded.codec || value == &bounded.provider || value == &bounded.edge_region;
    if (dimension && !Uses(label)) continue;
    if (value == &bounded.codec && !CodecObserved(bounded)) continue;
    bool dropped = false;
    *value = label_guard_.Admit(label, *value, dropped);
    if (dropped) labels_dropped_.Add({{"label", label}}).Increment();
  }
  // The cause name follows its code: an unadmitted code must not leak through its name.
  if (bounded.hangup_cause_code == "other") bounded.hangup_cause = "other";
  return bounded;
}

void CallMetrics::Record(const ChannelLabels& channel, const CallObservation& unbounded) {
  std::lock_guard lock(mutex_);
  const CallObservation obs = Bounded(unbounded);
  const MetricDimensions& d = dimensions_;
  const prometheus::Labels outcome = GroupLabels(channel, obs, d.outcome);
  const prometheus::Labels setup = GroupLabels(channel, obs, d.setup);
  const prometheus::Labels answer = GroupLabels(channel, obs, d.answer);
  const prometheus::Labels duration = GroupLabels(channel, obs, d.duration);
  const prometheus::Labels quality = GroupLabels(channel, obs, d.quality);
  const prometheus::Labels media = GroupLabels(channel, obs, d.media);
  const prometheus::Labels poor = GroupLabels(channel, obs, d.poor);

  calls_.Add(With(outcome, "status", obs.status)).Increment();
  if (obs.abandoned) abandoned_.Add(outcome).Increment();
  for (const std::string& field : obs.field_anomalies) {
    field_anomalies_
        .Add({{"workspace", channel.workspace}, {"channel", channel.channel}, {"field", field}})
        .Increment();
  }
  hangups_
      .Add({{"workspace", channel.workspace},
            {"channel", channel.channel},
            {"direction", obs.direction},
            {"hangup_source", obs.hangup_source},
            {"hangup_cause_code", obs.hangup_cause_code},
            {"hangup_cause", obs.hangup_cause},
            {"sip_code", obs.sip_code},
            {"cause_class", obs.cause_class}})
      .Increment();

  AddFlow(packets_, media, obs.packets);
  AddFlow(media_packets_, media, obs.media_packets);
  AddFlow(dtmf_packets_, media, obs.dtmf_packets);
  AddFlow(bytes_, media, obs.bytes);
  if (obs.flaws) flaws_.Add(media).Increment(*obs.flaws);
  if (obs.no_inbound_media) no_inbound_media_.Add(media).Increment();
  if (!obs.poor_reasons.empty()) poor_.Add(poor).Increment();
  for (std::string_view reason : obs.poor_reasons) {
    poor_reasons_.Add(With(poor, "reason", std::string(reason))).Increment();
  }

  const Exemplar exemplar{obs.call_id, 0, ToUnixSeconds(std::chrono::system_clock::now())};
  const Exemplar* ex = obs.call_id.empty() ? nullptr : &exemplar;
  RecordHistogram(mos_, quality, Buckets("bird_call_mos"), obs.mos, ex);
  RecordHistogram(quality_, quality, Buckets("bird_call_quality_ratio"), obs.quality_ratio, ex);
  RecordHistogram(r_factor_, quality, Buckets("bird_call_r_factor"), obs.r_factor, ex);
  RecordHistogram(pdd_, setup, Buckets("bird_call_pdd_seconds"), obs.pdd_seconds, ex);
  RecordHistogram(time_to_answer_, answer, Buckets("bird_call_time_to_answer_seconds"),
                  obs.time_to_answer_seconds, ex);
  RecordHistogram(ring_, answer, Buckets("bird_call_ring_seconds"), obs.ring_seconds);
  RecordHistogram(duration_, duration, Buckets("bird_call_duration_seconds"), obs.duration_seconds,
                  ex);
  RecordHistogram(jitter_min_, media, Buckets("bird_call_jitter_min_seconds"),
                  obs.jitter_min_seconds);
  RecordHistogram(jitter_max_, media, Buckets("bird_call_jitter_max_seconds"),
                  obs.jitter_max_seconds);
  RecordHistogram(loss_, media, Buckets("bird_call_packet_loss_ratio"), obs.packet_loss_ratio, ex);
  RecordHistogram(burst_, media, Buckets("bird_call_jitter_burst_rate"), obs.jitter_burst_rate);
  RecordHistogram(mean_interval_, media, Buckets("bird_call_mean_interval_seconds"),
                  obs.mean_interval_seconds);

  // "Last" gauges follow the newest end time; a late-arriving older call does not overwrite.
  const prometheus::Labels channel_labels = {{"workspace", channel.workspace},
                                             {"channel", channel.channel}};
  const double ended = obs.ended_at ? ToUnixSeconds(*obs.ended_at) : 0;
  auto [it, inserted] = last_end_seconds_.try_emplace({channel.workspace, channel.channel}, ended);
  if (!inserted && ended < it->second) return;
  it->second = ended;
  if (obs.ended_at) last_end_.Add(channel_labels).Set(ended);
  if (obs.mos) last_mos_.Add(channel_labels).Set(*obs.mos);
  if (obs.pdd_seconds) last_pdd_.Add(channel_labels).Set(*obs.pdd_seconds);
}

void CallMetrics::SetActive(const ChannelLabels& channel, const ActiveCallCounts& counts) {
  std::lock_guard lock(mutex_);
  auto& seen = active_seen_[{channel.workspace, channel.channel}];
  for (auto& [key, value] : seen) value = 0;
  for (const auto& [key, value] : counts) seen[key] = value;
  for (const auto& [key, value] : seen) {
    active_
        .Add({{"workspace", channel.workspace},
              {"channel", channel.channel},
              {"direction", key.first},
              {"status", key.second}})
        .Set(value);
  }
}

void CallMetrics::RemoveChannel(const ChannelLabels& channel) {
  std::lock_guard lock(mutex_);
  const prometheus::Labels match = {{"workspace", channel.workspace}, {"channel", channel.channel}};
  RemoveMatching(calls_, match);
  RemoveMatching(field_anomalies_, match);
  RemoveMatching(hangups_, match);
  RemoveMatching(packets_, match);
  RemoveMatching(media_packets_, match);
  RemoveMatching(dtmf_packets_, match);
  RemoveMatching(bytes_, match);
  RemoveMatching(flaws_, match);
  RemoveMatching(no_inbound_media_, match);
  RemoveMatching(mos_, match);
  RemoveMatching(quality_, match);
  RemoveMatching(pdd_, match);
  RemoveMatching(duration_, match);
  RemoveMatching(jitter_min_, match);
  RemoveMatching(jitter_max_, match);
  RemoveMatching(loss_, match);
  RemoveMatching(burst_, match);
  RemoveMatching(mean_interval_, match);
  RemoveMatching(abandoned_, match);
  RemoveMatching(time_to_answer_, match);
  RemoveMatching(ring_, match);
  RemoveMatching(r_factor_, match);
  RemoveMatching(poor_, match);
  RemoveMatching(poor_reasons_, match);
  RemoveMatching(active_, match);
  RemoveMatching(last_mos_, match);
  RemoveMatching(last_pdd_, match);
  RemoveMatching(last_end_, match);
  std::erase_if(exemplars_, [&channel](const auto& entry) {
    const prometheus::Labels& labels = entry.first.second;
    const auto ws = labels.find("workspace");
    const auto ch = labels.find("channel");
    return ws != labels.end() && ch != labels.end() && ws->second == channel.workspace &&
           ch->second == channel.channel;
  });
  last_end_seconds_.erase({channel.workspace, channel.channel});
  active_seen_.erase({channel.workspace, channel.channel});
}

}  // namespace bird_exporter
