#include "metrics/call_mapping.h"

#include <cmath>
#include <stdexcept>

#include "bird/country.h"
#include "metrics/emodel.h"
#include "metrics/hangup_cause.h"

namespace bird_exporter {
namespace {

constexpr double kMillisPerSecond = 1000.0;

bool IsValidSipCode(std::string_view sip) {
  if (sip.size() != 3) return false;
  for (char c : sip) {
    if (c < '0' || c > '9') return false;
  }
  return sip[0] >= '1' && sip[0] <= '6';
}

// Counts and byte totals are exact integers in a double up to 2^53; a call that claims more is
// not a call, and a counter fed with it could be driven towards +Inf.
constexpr double kMaxCount = 9007199254740992.0;  // 2^53
constexpr double kDaySeconds = 86400;
constexpr double kDayMillis = kDaySeconds * kMillisPerSecond;

const std::vector<FieldRange> kFieldRanges = {
    // Durations: no call, ring or post-dial delay lasts a day.
    {"duration", 0, kDaySeconds},
    {"qualityInsights.pdd", 0, kDaySeconds},
    {"signallingMetrics.pdd", 0, kDaySeconds},
    // MOS is 1 to 4.5 by the E-model (domain.md §1.2); 5 is the top of the MOS scale.
    {"qualityInsights.mos", 1, 5},
    {"mediaMetrics.mos", 1, 5},
    {"mediaMetrics.qualityScore", 0, 100},  // percent
    // Ratio of lost packets. FreeSWITCH inflates it far above 1 after a sequence jump (SSRC
    // change, re-INVITE; domain.md §1.4); such a value measures the jump, not loss.
    {"mediaMetrics.jitterLossRate", 0, 1},
    {"mediaMetrics.jitterBurstRate", 0, kMaxCount},
    // Variances in ms²: a std-dev of a day is the absurd end.
    {"mediaMetrics.jitterMinVar", 0, kDayMillis* kDayMillis},
    {"mediaMetrics.jitterMaxVar", 0, kDayMillis* kDayMillis},
    {"mediaMetrics.meanInterval", 0, kDayMillis},
    {"mediaMetrics.inBytes", 0, kMaxCount},
    {"mediaMetrics.outBytes", 0, kMaxCount},
    {"mediaMetrics.inPacketCount", 0, kMaxCount},
    {"mediaMetrics.outPacketCount", 0, kMaxCount},
    {"mediaMetrics.inMediaPacketCount", 0, kMaxCount},
    {"mediaMetrics.outMediaPacketCount", 0, kMaxCount},
    {"mediaMetrics.inDtmfPacketCount", 0, kMaxCount},
    {"mediaMetrics.outDtmfPacketCount", 0, kMaxCount},
    {"mediaMetrics.flawTotal", 0, kMaxCount},
    // Q.850 cause values are 7 bits.
    {"hangupCauseCode", 0, 127},
    // answeredAt by the time from createdAt (time to answer), and ringingAt by the time to
    // answeredAt (ring time), in seconds: a negative span means the timestamps disagree.
    {"answeredAt", 0, kDaySeconds},
    {"ringingAt", 0, kDaySeconds},
};

const std::vector<std::string_view> kPoorReasons = {"low_mos",       "high_loss", "high_jitter",
                                                    "one_way_audio", "no_media",  "high_pdd"};

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

std::optional<double> Span(const std::optional<SystemTime>& from,
                           const std::optional<SystemTime>& to) {
  if (!from || !to) return std::nullopt;
  return std::chrono::duration<double>(*to - *from).count();
}

// Range-checks Bird values and notes the ones that fail.
class Checker {
 public:
  explicit Checker(std::vector<std::string>& anomalies) : anomalies_(anomalies) {}

  // `value` if it is within the field's range, else nullopt and the field is an anomaly.
  std::optional<double> operator()(std::string_view field, std::optional<double> value) {
    if (!value) return std::nullopt;
    const FieldRange& range = RangeOf(field);
    if (std::isfinite(*value) && *value >= range.min && *value <= range.max) return value;
    NoteAnomaly(anomalies_, field);
    return std::nullopt;
  }

  // The same, in seconds, for a field Bird sends in milliseconds.
  std::optional<double> Millis(std::string_view field, std::optional<double> ms) {
    const auto v = (*this)(field, ms);
    return v ? std::optional<double>(*v / kMillisPerSecond) : std::nullopt;
  }

  // Bird reports jitter as a variance of inter-arrival times in ms²; the std-dev in seconds is
  // what users compare with the "30 ms" rule of thumb.
  std::optional<double> VarianceMs2(std::string_view field, std::optional<double> var_ms2) {
    const auto v = (*this)(field, var_ms2);
    return v ? std::optional<double>(std::sqrt(*v) / kMillisPerSecond) : std::nullopt;
  }

 private:
  static const FieldRange& RangeOf(std::string_view field) {
    for (const FieldRange& range : kFieldRanges) {
      if (range.field == field) return range;
    }
    throw std::logic_error("no range for field " + std::string(field));
  }

  std::vector<std::string>& anomalies_;
};

std::optional<double> AsDouble(std::optional<std::int64_t> v) {
  return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
}

// Merges the final call fields: insights carry the same call fields as the list, and win when
// present because they are read after the call ended.
Call MergeCall(const Call& listed, const CallInsights* insights) {
  if (insights == nullptr) return listed;
  Call merged = listed;
  const Call& ins = insights->call;
  if (ins.status != CallStatus::kUnknown) merged.status = ins.status;
  if (ins.direction != Direction::kUnknown) merged.direction = ins.direction;
  if (ins.type != CallType::kUnknown) merged.type = ins.type;
  if (ins.duration_seconds) merged.duration_seconds = ins.duration_seconds;
  if (ins.hangup_cause_code) merged.hangup_cause_code = ins.hangup_cause_code;
  if (ins.hangup_source != HangupSource::kUnknown) merged.hangup_source = ins.hangup_source;
  if (!ins.hangup_sip_code.empty()) merged.hangup_sip_code = ins.hangup_sip_code;
  if (ins.ringing_at) merged.ringing_at = ins.ringing_at;
  if (ins.answered_at) merged.answered_at = ins.answered_at;
  if (ins.ended_at) merged.ended_at = ins.ended_at;
  if (ins.updated_at) merged.updated_at = ins.updated_at;
  if (!ins.remote_country.empty() && ins.remote_country != kUnknownCountry) {
    merged.remote_country = ins.remote_country;
  }
  return merged;
}

// The poor-call reasons of an answered call, in the order of kPoorReasons.
void JudgePoor(CallObservation& obs, const PoorCallThresholds& t,
               std::optional<std::string_view> media_fault) {
  if (!obs.answered) return;
  if (obs.mos && *obs.mos < t.mos_below) obs.poor_reasons.push_back("low_mos");
  if (obs.packet_loss_ratio && *obs.packet_loss_ratio > t.packet_loss_above) {
    obs.poor_reasons.push_back("high_loss");
  }
  if (obs.jitter_max_seconds && *obs.jitter_max_seconds > Seconds(t.jitter_above)) {
    obs.poor_reasons.push_back("high_jitter");
  }
  if (media_fault) obs.poor_reasons.push_back(*media_fault);
  if (obs.pdd_seconds && *obs.pdd_seconds > Seconds(t.pdd_above)) {
    obs.poor_reasons.push_back("high_pdd");
  }
}

}  // namespace

const std::vector<FieldRange>& FieldRanges() { return kFieldRanges; }

const std::vector<std::string_view>& PoorReasons() { return kPoorReasons; }

std::string FreeFormLabel(std::string_view value) {
  if (value.empty()) return "unknown";
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return "other";
  }
  return std::string(value);
}

std::string CodecLabel(std::string_view codec_name) {
  if (codec_name.empty()) return "unknown";
  if (codec_name.size() > 32) return "other";
  for (char c : codec_name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '+' || c == '-';
    if (!ok) return "other";
  }
  return std::string(codec_name);
}

namespace {

// Status, hangup, parties and timings: what every call has, with or without insights.
void MapOutcome(const Call& call, const Call& listed, const CallInsights* insights, Checker& check,
                CallObservation& obs) {
  obs.call_id = call.id;
  obs.direction = std::string(ToString(call.direction));
  obs.call_type = std::string(ToString(call.type));
  obs.status = std::string(ToString(call.status));
  obs.hangup_source = std::string(ToString(call.hangup_source));
  obs.answered = call.status == CallStatus::kCompleted;
  obs.from_insights = insights != nullptr;
  const std::optional<int> cause_code = check("hangupCauseCode", AsDouble(call.hangup_cause_code))
                                            ? call.hangup_cause_code
                                            : std::nullopt;
  if (cause_code) {
    obs.hangup_cause_code = std::to_string(*cause_code);
    obs.hangup_cause = std::string(HangupCauseName(*cause_code));
  } else {
    obs.hangup_cause_code = "unknown";
    obs.hangup_cause = "unknown";
  }
  obs.sip_code = IsValidSipCode(call.hangup_sip_code) ? call.hangup_sip_code : "unknown";
  obs.cause_class =
      std::string(ToString(ClassifyHangup(cause_code, call.hangup_sip_code, obs.answered)));
  obs.ended_at = call.ended_at ? call.ended_at : call.updated_at;
  obs.country = call.remote_country.empty() ? "unknown" : call.remote_country;
  obs.provider = FreeFormLabel(insights ? insights->provider : "");
  obs.edge_region = FreeFormLabel(insights ? insights->edge_region : "");
  // SIP 487 answers a CANCEL; one sent by a ring timeout is not the caller giving up.
  obs.abandoned = (call.status == CallStatus::kCancelled || call.status == CallStatus::kNoAnswer) &&
                  (call.hangup_source == HangupSource::kCaller ||
                   (obs.sip_code == "487" && call.hangup_source != HangupSource::kTimeout));
  if (obs.answered) {
    obs.ring_seconds = check("ringingAt", Span(call.ringing_at, call.answered_at));
    if (call.direction == Direction::kIncoming) {
      obs.time_to_answer_seconds = check("answeredAt", Span(call.created_at, call.answered_at));
    }
    if (call.duration_seconds) {
      obs.duration_seconds = check("duration", AsDouble(call.duration_seconds));
    } else if (call.answered_at && call.ended_at && *call.ended_at >= *call.answered_at) {
      obs.duration_seconds = check(
          "duration", std::chrono::duration<double>(*call.ended_at - *call.answered_at).count());
    }
  }
  obs.pdd_seconds = insights && insights->pdd_seconds
                        ? check("signallingMetrics.pdd", insights->pdd_seconds)
                        : check("qualityInsights.pdd", listed.pdd_seconds);
}

// The insights' media metrics: packets, bytes and, when Bird received media, the quality
// figures. Returns the media fault (no media, one-way audio) of a call long enough to tell.
std::optional<std::string_view> MapMedia(const MediaMetrics& m, const PoorCallThresholds& poor,
                                         Checker& check, CallObservation& obs) {
  obs.codec = CodecLabel(m.read_codec_name);
  obs.packets = {check("mediaMetrics.inPacketCount", m.in_packet_count),
                 check("mediaMetrics.outPacketCount", m.out_packet_count)};
  obs.media_packets = {check("mediaMetrics.inMediaPacketCount", m.in_media_packet_count),
                       check("mediaMetrics.outMediaPacketCount", m.out_media_packet_count)};
  obs.dtmf_packets = {check("mediaMetrics.inDtmfPacketCount", m.in_dtmf_packet_count),
                      check("mediaMetrics.outDtmfPacketCount", m.out_dtmf_packet_count)};
  obs.bytes = {check("mediaMetrics.inBytes", m.in_bytes),
               check("mediaMetrics.outBytes", m.out_bytes)};
  obs.flaws = check("mediaMetrics.flawTotal", m.flaw_total);

  // Bird's MOS and qualityScore only measure what Bird received: with no inbound media they
  // read a perfect 4.5 / 100, so such calls are counted apart instead of flattering the MOS.
  const std::optional<double> in_media =
      obs.media_packets.in ? obs.media_packets.in : obs.packets.in;
  const bool has_inbound_media = in_media && *in_media > 0;
  if (obs.answered && in_media && *in_media <= 0) obs.no_inbound_media = true;
  const std::optional<double> out_media =
      obs.media_packets.out ? obs.media_packets.out : obs.packets.out;
  std::optional<std::string_view> media_fault;
  if (in_media && out_media && obs.duration_seconds &&
      *obs.duration_seconds >= Seconds(poor.media_min_duration)) {
    if (*in_media <= 0 && *out_media <= 0) {
      media_fault = "no_media";
    } else if (*in_media <= 0 || *out_media <= 0) {
      media_fault = "one_way_audio";
    }
  }
  if (!has_inbound_media) return media_fault;

  if (obs.answered) {
    obs.mos = check("mediaMetrics.mos", m.mos);
    if (auto q = check("mediaMetrics.qualityScore", m.quality_score)) {
      obs.quality_ratio = *q / 100.0;
    }
  }
  obs.jitter_min_seconds = check.VarianceMs2("mediaMetrics.jitterMinVar", m.jitter_min_var_ms2);
  obs.jitter_max_seconds = check.VarianceMs2("mediaMetrics.jitterMaxVar", m.jitter_max_var_ms2);
  obs.packet_loss_ratio = check("mediaMetrics.jitterLossRate", m.jitter_loss_rate);
  obs.jitter_burst_rate = check("mediaMetrics.jitterBurstRate", m.jitter_burst_rate);
  obs.mean_interval_seconds = check.Millis("mediaMetrics.meanInterval", m.mean_interval_ms);
  if (obs.answered && obs.packet_loss_ratio) {
    obs.r_factor = RFactor(m.read_codec_name, *obs.packet_loss_ratio, obs.jitter_burst_rate);
  }
  return media_fault;
}

}  // namespace

CallObservation MapCall(const Call& listed, const CallInsights* insights,
                        const PoorCallThresholds& poor) {
  const Call call = MergeCall(listed, insights);
  CallObservation obs;
  // What the parser and the poller already found unusable, in the list record and in the
  // insights; the range checks add to it.
  obs.field_anomalies = listed.anomalies;
  if (insights != nullptr) {
    for (const auto& field : insights->call.anomalies) NoteAnomaly(obs.field_anomalies, field);
  }
  Checker check(obs.field_anomalies);
  MapOutcome(call, listed, insights, check, obs);
  if (insights == nullptr || !insights->has_media_metrics) {
    // Counted from the list alone (or insights without media metrics): the list's
    // qualityInsights.mos is all there is; one-way audio cannot be told apart here.
    obs.codec = "unknown";
    if (obs.answered) obs.mos = check("qualityInsights.mos", listed.mos);
    JudgePoor(obs, poor, std::nullopt);
    return obs;
  }
  JudgePoor(obs, poor, MapMedia(insights->media, poor, check, obs));
  return obs;
}

}  // namespace bird_exporter
