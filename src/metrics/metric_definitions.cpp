#include "metrics/metric_definitions.h"

#include <cstdio>
#include <cstdlib>

namespace bird_exporter {
namespace {

using prometheus::MetricType;

// Buckets follow the domain notes §7. Jitter buckets are the std-dev ones converted to seconds
// because the exporter takes sqrt of Bird's ms² variances.
const std::vector<double> kMosBuckets = {1.5, 2.0, 2.6, 3.1, 3.5, 3.6, 4.0, 4.3, 4.4, 4.49, 4.5};
const std::vector<double> kQualityBuckets = {0.495, 0.595, 0.695, 0.795, 0.845, 0.895,
                                             0.945, 0.975, 0.985, 0.995, 1.0};
const std::vector<double> kPddBuckets = {0.25, 0.5, 1, 1.5, 2, 3, 4, 5, 7, 10, 15, 30};
const std::vector<double> kDurationBuckets = {1,   3,   6,   10,   15,   30,   60,  120,
                                              180, 300, 600, 1200, 1800, 3600, 7200};
const std::vector<double> kJitterBuckets = {0.0025, 0.005, 0.01, 0.015, 0.02,
                                            0.03,   0.04,  0.06, 0.08,  0.12};
const std::vector<double> kLossBuckets = {0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1};
const std::vector<double> kBurstBuckets = {0, 0.5, 0.99, 1, 2, 5};
const std::vector<double> kIntervalBuckets = {0.010, 0.019, 0.021, 0.025,
                                              0.030, 0.040, 0.060, 0.100};
// Service levels are quoted at 10, 20, 30 and 60 s.
const std::vector<double> kTimeToAnswerBuckets = {5, 10, 20, 30, 60, 120, 300};
const std::vector<double> kRingBuckets = {2, 5, 10, 20, 30, 60};
// G.107 Annex B user satisfaction bands: 90 very satisfied, 80, 70, 60, 50 nearly all dissatisfied.
const std::vector<double> kRFactorBuckets = {50, 60, 70, 80, 90};
const std::vector<double> kApiLatencyBuckets = {0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

std::vector<MetricSpec> BuildSpecs() {
  // Besides the labels of its dimension group (metrics.dimensions).
  const std::vector<std::string_view> base = {"workspace", "channel", "direction"};
  auto with = [&base](std::initializer_list<std::string_view> extra) {
    std::vector<std::string_view> labels = base;
    labels.insert(labels.end(), extra);
    return labels;
  };
  return {
      // Calls: each call is counted once, when it is known to have ended.
      {"bird_calls_total",
       MetricType::Counter,
       "Calls that reached a terminal status (Bird call `status`: completed, no-answer, busy, "
       "failed, cancelled).",
       with({"status"}),
       {},
       "outcome"},
      {"bird_call_hangups_total",
       MetricType::Counter,
       "Ended calls by hangup: Bird `hangupSource`, `hangupCauseCode` (Q.850) with its FreeSWITCH "
       "name, `hangupSipCode`, and the cause class ok|user|address|policy|network|unknown.",
       {"workspace", "channel", "direction", "hangup_source", "hangup_cause_code", "hangup_cause",
        "sip_code", "cause_class"},
       {}},
      {"bird_call_packets_total",
       MetricType::Counter,
       "RTP packets of ended calls, from Bird insights `mediaMetrics.inPacketCount` / "
       "`outPacketCount` (flow=in|out).",
       with({"flow"}),
       {},
       "media"},
      {"bird_call_media_packets_total",
       MetricType::Counter,
       "RTP media packets of ended calls, from Bird insights `mediaMetrics.inMediaPacketCount` / "
       "`outMediaPacketCount` (flow=in|out).",
       with({"flow"}),
       {},
       "media"},
      {"bird_call_dtmf_packets_total",
       MetricType::Counter,
       "RTP DTMF packets of ended calls, from Bird insights `mediaMetrics.inDtmfPacketCount` / "
       "`outDtmfPacketCount` (flow=in|out).",
       with({"flow"}),
       {},
       "media"},
      {"bird_call_bytes_total",
       MetricType::Counter,
       "RTP bytes of ended calls, from Bird insights `mediaMetrics.inBytes` / `outBytes` "
       "(flow=in|out).",
       with({"flow"}),
       {},
       "media"},
      {"bird_call_flaws_total",
       MetricType::Counter,
       "Inbound media flaws (lost or late packets, penalties) of ended calls, from Bird insights "
       "`mediaMetrics.flawTotal`.",
       base,
       {},
       "media"},
      {"bird_call_no_inbound_media_total",
       MetricType::Counter,
       "Answered calls whose insights report `mediaMetrics.inMediaPacketCount` 0 (no or one-way "
       "audio; Bird still reports MOS 4.5 for them, so they are left out of the MOS histograms).",
       base,
       {},
       "media"},
      {"bird_call_mos", MetricType::Histogram,
       "MOS of answered calls with inbound media, from Bird insights `mediaMetrics.mos` (1-4.5; "
       "loss-only estimate of the inbound direction); codec from `mediaMetrics.readCodecName`.",
       base, kMosBuckets, "quality"},
      {"bird_call_quality_ratio", MetricType::Histogram,
       "Share of good inbound packets of answered calls with inbound media, from Bird insights "
       "`mediaMetrics.qualityScore` / 100; codec from `mediaMetrics.readCodecName`.",
       base, kQualityBuckets, "quality"},
      {"bird_call_pdd_seconds", MetricType::Histogram,
       "Post-dial delay of ended calls, from Bird insights `signallingMetrics.pdd` (seconds), or "
       "the call list's `qualityInsights.pdd` when insights are unavailable.",
       base, kPddBuckets, "setup"},
      {"bird_call_duration_seconds", MetricType::Histogram,
       "Duration of answered calls, from Bird `duration` (seconds), else `endedAt` - `answeredAt`.",
       base, kDurationBuckets, "duration"},
      {"bird_call_jitter_min_seconds", MetricType::Histogram,
       "Smallest inbound inter-arrival jitter (standard deviation) of calls with inbound media: "
       "sqrt of Bird insights `mediaMetrics.jitterMinVar` (ms²), converted to seconds.",
       base, kJitterBuckets, "media"},
      {"bird_call_jitter_max_seconds", MetricType::Histogram,
       "Largest inbound inter-arrival jitter (standard deviation) of calls with inbound media: "
       "sqrt of Bird insights `mediaMetrics.jitterMaxVar` (ms²), converted to seconds.",
       base, kJitterBuckets, "media"},
      {"bird_call_packet_loss_ratio", MetricType::Histogram,
       "Inbound packet loss of calls with inbound media, from Bird insights "
       "`mediaMetrics.jitterLossRate` (a ratio; values above 1, artefacts of a sequence jump, are "
       "left out and counted in bird_exporter_field_anomalies_total).",
       base, kLossBuckets, "media"},
      {"bird_call_jitter_burst_rate", MetricType::Histogram,
       "Inbound loss burst rate of calls with inbound media, from Bird insights "
       "`mediaMetrics.jitterBurstRate` (dimensionless; about 1 - loss for isolated losses).",
       base, kBurstBuckets, "media"},
      {"bird_call_mean_interval_seconds", MetricType::Histogram,
       "Mean inbound packet inter-arrival time of calls with inbound media, from Bird insights "
       "`mediaMetrics.meanInterval` (ms), converted to seconds.",
       base, kIntervalBuckets, "media"},
      // Contact-centre and carrier KPIs.
      {"bird_calls_abandoned_total",
       MetricType::Counter,
       "Calls the caller gave up before the answer: Bird `status` cancelled or no-answer with "
       "`hangupSource` caller, or `hangupSipCode` 487 (unless `hangupSource` is timeout). Divide "
       "by bird_calls_total for the abandon ratio.",
       base,
       {},
       "outcome"},
      {"bird_call_time_to_answer_seconds", MetricType::Histogram,
       "Time from the call's creation to its answer of answered incoming calls, Bird `answeredAt` "
       "- `createdAt` (the speed of answer: _sum / _count is the ASA, le=\"20\" the service "
       "level).",
       base, kTimeToAnswerBuckets, "answer"},
      {"bird_call_ring_seconds", MetricType::Histogram,
       "Ring time of answered calls, Bird `answeredAt` - `ringingAt`.", base, kRingBuckets,
       "answer"},
      {"bird_call_r_factor", MetricType::Histogram,
       "E-model transmission rating R (ITU-T G.107) of answered calls with inbound media, "
       "without the delay term: 93.2 - Ie,eff from Bird insights `mediaMetrics.jitterLossRate`, "
       "`jitterBurstRate` and the Ie/Bpl of `readCodecName` (G.711, G.729, G.723.1 only). Bird "
       "reports no delay, so this is an upper bound of the call's R.",
       base, kRFactorBuckets, "quality"},
      {"bird_calls_poor_total",
       MetricType::Counter,
       "Answered calls with at least one poor-call reason (see bird_call_poor_reasons_total); "
       "divide by answered calls for the poor-call share.",
       base,
       {},
       "poor"},
      {"bird_call_poor_reasons_total",
       MetricType::Counter,
       "Poor-call reasons of answered calls (a call counts once per reason): low_mos (MOS below "
       "metrics.poor_call.mos_below), high_loss (`jitterLossRate`), high_jitter "
       "(sqrt `jitterMaxVar`), one_way_audio (`inMediaPacketCount` or `outMediaPacketCount` 0), "
       "no_media (both 0), high_pdd (`signallingMetrics.pdd`).",
       with({"reason"}),
       {},
       "poor"},
      {"bird_calls_active",
       MetricType::Gauge,
       "Calls followed in a non-terminal Bird `status` (accepted, scheduled, starting, ringing, "
       "ongoing) after the last successful poll of the channel.",
       {"workspace", "channel", "direction", "status"},
       {}},
      {"bird_call_last_mos",
       MetricType::Gauge,
       "MOS of the most recently ended call counted with a MOS (Bird insights `mediaMetrics.mos`, "
       "or "
       "the call list's `qualityInsights.mos` when insights are unavailable).",
       {"workspace", "channel"},
       {}},
      {"bird_call_last_pdd_seconds",
       MetricType::Gauge,
       "Post-dial delay of the most recently ended call counted with a PDD (Bird insights "
       "`signallingMetrics.pdd`, or the call list's `qualityInsights.pdd`; seconds).",
       {"workspace", "channel"},
       {}},
      {"bird_call_last_end_timestamp_seconds",
       MetricType::Gauge,
       "Unix time at which the most recently ended counted call ended (Bird `endedAt`).",
       {"workspace", "channel"},
       {}},
      // The exporter itself.
      {"bird_exporter_api_requests_total",
       MetricType::Counter,
       "Requests to the Bird API by endpoint (list_calls|get_call|call_insights) and HTTP status "
       "code "
       "(`error` for transport failures: timeout, reset, TLS).",
       {"workspace", "endpoint", "code"},
       {}},
      {"bird_exporter_api_request_duration_seconds",
       MetricType::Histogram,
       "Duration of requests to the Bird API, including failed ones.",
       {"endpoint"},
       kApiLatencyBuckets},
      {"bird_exporter_parse_errors_total",
       MetricType::Counter,
       "Bird API answers that were not the expected JSON (HTML page, truncated, wrong types); "
       "each is retried.",
       {"endpoint"},
       {}},
      {"bird_exporter_channel_up",
       MetricType::Gauge,
       "1 when the last poll of the channel listed its calls successfully, else 0.",
       {"workspace", "channel"},
       {}},
      {"bird_exporter_last_poll_success_timestamp_seconds",
       MetricType::Gauge,
       "Unix time of the last successful poll of the channel.",
       {"workspace", "channel"},
       {}},
      {"bird_exporter_insights_pending",
       MetricType::Gauge,
       "Ended calls not yet counted because their insights are not available yet (404), could "
       "not be fetched yet within the request budget, or their final record is still to be read.",
       {"workspace"},
       {}},
      {"bird_exporter_insights_mode",
       MetricType::Gauge,
       "1 for the configured poll.insights mode: all (insights for every ended call), poor (only "
       "for answered calls whose list `qualityInsights.mos` is low or missing) or none.",
       {"mode"},
       {}},
      {"bird_exporter_insights_delay_seconds",
       MetricType::Gauge,
       "How long after a call's `endedAt` the first insights request is sent: learnt from Bird, "
       "so that about 1 first request in 200 finds no insights yet (at most 60 s).",
       {},
       {}},
      {"bird_exporter_calls_followed",
       MetricType::Gauge,
       "Calls the exporter follows by id: seen open, or ended and waiting for their insights or "
       "final record.",
       {"workspace", "channel"},
       {}},
      {"bird_exporter_calls_found_late_total",
       MetricType::Counter,
       "Calls counted when their `createdAt` was already older than poll.max_call_age (a call "
       "that lasted longer, or ended while the exporter was down).",
       {"workspace", "channel"},
       {}},
      {"bird_exporter_calls_abandoned_total",
       MetricType::Counter,
       "Calls no longer followed because they were still open 24 h (or 4 x poll.max_call_age, "
       "if longer) after their `createdAt`; they are never counted.",
       {"workspace", "channel"},
       {}},
      {"bird_exporter_channel_behind",
       MetricType::Gauge,
       "1 while a poll hit its page cap and calls of the channel are still to be listed from the "
       "saved cursor, else 0.",
       {"workspace", "channel"},
       {}},
      {"bird_exporter_api_budget_requests_per_second",
       MetricType::Gauge,
       "Current request budget of the workspace: bird.max_requests_per_second, halved on each "
       "429 and recovered additively (a twentieth of the ceiling per second).",
       {"workspace"},
       {}},
      {"bird_exporter_api_rate_limited_total",
       MetricType::Counter,
       "Bird API answers 429 Too Many Requests.",
       {"workspace"},
       {}},
      {"bird_exporter_insights_unavailable_total",
       MetricType::Counter,
       "Ended calls counted from the call list alone because their insights were still "
       "unavailable after poll.insights_grace_period.",
       {"workspace", "channel"},
       {}},
      {"bird_exporter_channel_errors_total",
       MetricType::Counter,
       "Polls whose listing of the channel failed, by reason: not_found (Bird answered 404: "
       "check the workspace and channel ids), unauthorized (401), forbidden (403) or failed "
       "(timeouts, 5xx, unreadable answers).",
       {"workspace", "channel", "reason"},
       {}},
      {"bird_exporter_state_errors_total",
       MetricType::Counter,
       "Failures of the state database: operation=load (cannot be opened: retried; or "
       "unreadable: moved aside and replaced) or write (a poll's transaction failed; its calls "
       "are counted when a later one succeeds).",
       {"operation"},
       {}},
      {"bird_exporter_state_calls",
       MetricType::Gauge,
       "Counted calls remembered in the state to prevent double counting (bounded by "
       "poll.max_call_age).",
       {},
       {}},
      {"bird_exporter_poll_duration_seconds",
       MetricType::Gauge,
       "Duration of the last poll cycle over all channels.",
       {},
       {}},
      {"bird_exporter_state_commit_duration_seconds",
       MetricType::Gauge,
       "Duration of the last poll's state transaction (fsync included).",
       {},
       {}},
      {"bird_exporter_config_last_reload_successful",
       MetricType::Gauge,
       "1 when the last configuration load (start, SIGHUP or POST /-/reload) succeeded, else 0; "
       "a failed reload keeps the previous configuration running.",
       {},
       {}},
      {"bird_exporter_config_last_reload_success_timestamp_seconds",
       MetricType::Gauge,
       "Unix time of the last successful configuration load.",
       {},
       {}},
      {"bird_exporter_label_values_dropped_total",
       MetricType::Counter,
       "Call observations whose label value from Bird was replaced by `other`: too long, or "
       "beyond the cap on distinct values of that label.",
       {"label"},
       {}},
      {"bird_exporter_field_anomalies_total",
       MetricType::Counter,
       "Values of counted calls that were dropped from the call's observation, by Bird field "
       "(`mediaMetrics.mos`, `duration`, `createdAt`, ...): unreadable (wrong type, non-numeric "
       "or non-finite), out of the field's range, or dated in the future (clamped). The call "
       "itself is counted.",
       {"workspace", "channel", "field"},
       {}},
      {"bird_exporter_build_info",
       MetricType::Gauge,
       "Always 1; labels identify the exporter build.",
       {"version", "revision", "compiler"},
       {}},
  };
}

}  // namespace

const std::vector<MetricSpec>& AllMetricSpecs() {
  static const std::vector<MetricSpec> specs = BuildSpecs();
  return specs;
}

const MetricSpec& FindMetricSpec(std::string_view name) {
  for (const auto& spec : AllMetricSpecs()) {
    if (spec.name == name) return spec;
  }
  std::fprintf(stderr, "internal error: metric %.*s is not defined\n",
               static_cast<int>(name.size()), name.data());
  std::abort();
}

}  // namespace bird_exporter
