#include "metrics/call_metrics.h"

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

}  // namespace

CallMetrics::CallMetrics(prometheus::Registry& registry, LabelLimits limits)
    : label_guard_(limits),
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

CallObservation CallMetrics::Bounded(const CallObservation& obs) {
  CallObservation bounded = obs;
  // The codec is a label of the MOS and quality histograms only.
  const bool codec_used = bounded.mos.has_value() || bounded.quality_ratio.has_value();
  for (auto [label, value] : {std::pair{"codec", &bounded.codec},
                              std::pair{"hangup_cause_code", &bounded.hangup_cause_code},
                              std::pair{"sip_code", &bounded.sip_code}}) {
    if (value == &bounded.codec && !codec_used) continue;
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
  const prometheus::Labels base = {{"workspace", channel.workspace},
                                   {"channel", channel.channel},
                                   {"direction", obs.direction},
                                   {"call_type", obs.call_type}};
  auto with = [&base](std::initializer_list<std::pair<const std::string, std::string>> extra) {
    prometheus::Labels labels = base;
    labels.insert(extra);
    return labels;
  };

  calls_.Add(with({{"status", obs.status}})).Increment();
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

  AddFlow(packets_, base, obs.packets);
  AddFlow(media_packets_, base, obs.media_packets);
  AddFlow(dtmf_packets_, base, obs.dtmf_packets);
  AddFlow(bytes_, base, obs.bytes);
  if (obs.flaws) flaws_.Add(base).Increment(*obs.flaws);
  if (obs.no_inbound_media) no_inbound_media_.Add(base).Increment();

  const prometheus::Labels with_codec = with({{"codec", obs.codec}});
  const Exemplar exemplar{obs.call_id, 0,
                          ToUnixSeconds(std::chrono::system_clock::now())};
  const Exemplar* ex = obs.call_id.empty() ? nullptr : &exemplar;
  RecordHistogram(mos_, with_codec, Buckets("bird_call_mos"), obs.mos, ex);
  RecordHistogram(quality_, with_codec, Buckets("bird_call_quality_ratio"), obs.quality_ratio, ex);
  RecordHistogram(pdd_, base, Buckets("bird_call_pdd_seconds"), obs.pdd_seconds, ex);
  RecordHistogram(duration_, base, Buckets("bird_call_duration_seconds"), obs.duration_seconds,
                  ex);
  RecordHistogram(jitter_min_, base, Buckets("bird_call_jitter_min_seconds"),
                  obs.jitter_min_seconds);
  RecordHistogram(jitter_max_, base, Buckets("bird_call_jitter_max_seconds"),
                  obs.jitter_max_seconds);
  RecordHistogram(loss_, base, Buckets("bird_call_packet_loss_ratio"), obs.packet_loss_ratio, ex);
  RecordHistogram(burst_, base, Buckets("bird_call_jitter_burst_rate"), obs.jitter_burst_rate);
  RecordHistogram(mean_interval_, base, Buckets("bird_call_mean_interval_seconds"),
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
