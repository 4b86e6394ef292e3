#include "metrics/call_mapping.h"

#include <cmath>

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

std::optional<double> NonNegative(std::optional<double> v) {
  if (!v || !std::isfinite(*v) || *v < 0) return std::nullopt;
  return v;
}

std::optional<double> MsToSeconds(std::optional<double> ms) {
  ms = NonNegative(ms);
  if (!ms) return std::nullopt;
  return *ms / kMillisPerSecond;
}

// Bird reports jitter as a variance of inter-arrival times in ms²; the std-dev in seconds is
// what users compare with the "30 ms" rule of thumb.
std::optional<double> VarianceMs2ToStdDevSeconds(std::optional<double> var_ms2) {
  var_ms2 = NonNegative(var_ms2);
  if (!var_ms2) return std::nullopt;
  return std::sqrt(*var_ms2) / kMillisPerSecond;
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
  if (ins.answered_at) merged.answered_at = ins.answered_at;
  if (ins.ended_at) merged.ended_at = ins.ended_at;
  if (ins.updated_at) merged.updated_at = ins.updated_at;
  return merged;
}

}  // namespace

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

CallObservation MapCall(const Call& listed, const CallInsights* insights) {
  const Call call = MergeCall(listed, insights);
  CallObservation obs;
  obs.call_id = call.id;
  obs.direction = std::string(ToString(call.direction));
  obs.call_type = std::string(ToString(call.type));
  obs.status = std::string(ToString(call.status));
  obs.hangup_source = std::string(ToString(call.hangup_source));
  obs.answered = call.status == CallStatus::kCompleted;
  obs.from_insights = insights != nullptr;
  if (call.hangup_cause_code) {
    obs.hangup_cause_code = std::to_string(*call.hangup_cause_code);
    obs.hangup_cause = std::string(HangupCauseName(*call.hangup_cause_code));
  } else {
    obs.hangup_cause_code = "unknown";
    obs.hangup_cause = "unknown";
  }
  obs.sip_code = IsValidSipCode(call.hangup_sip_code) ? call.hangup_sip_code : "unknown";
  obs.cause_class = std::string(
      ToString(ClassifyHangup(call.hangup_cause_code, call.hangup_sip_code, obs.answered)));
  obs.ended_at = call.ended_at ? call.ended_at : call.updated_at;

  if (obs.answered) {
    if (call.duration_seconds && *call.duration_seconds >= 0) {
      obs.duration_seconds = static_cast<double>(*call.duration_seconds);
    } else if (call.answered_at && call.ended_at && *call.ended_at >= *call.answered_at) {
      obs.duration_seconds =
          std::chrono::duration<double>(*call.ended_at - *call.answered_at).count();
    }
  }

  obs.pdd_seconds = NonNegative(insights && insights->pdd_seconds ? insights->pdd_seconds
                                                                  : listed.pdd_seconds);

  const bool have_media = insights != nullptr && insights->has_media_metrics;
  if (!have_media) {
    // Counted from the list alone (or insights without media metrics): the list's
    // qualityInsights.mos is all there is; one-way audio cannot be told apart here.
    obs.codec = "unknown";
    if (obs.answered) obs.mos = NonNegative(listed.mos);
    return obs;
  }

  const MediaMetrics& m = insights->media;
  obs.codec = CodecLabel(m.read_codec_name);
  obs.packets = {NonNegative(m.in_packet_count), NonNegative(m.out_packet_count)};
  obs.media_packets = {NonNegative(m.in_media_packet_count), NonNegative(m.out_media_packet_count)};
  obs.dtmf_packets = {NonNegative(m.in_dtmf_packet_count), NonNegative(m.out_dtmf_packet_count)};
  obs.bytes = {NonNegative(m.in_bytes), NonNegative(m.out_bytes)};
  obs.flaws = NonNegative(m.flaw_total);

  // Bird's MOS and qualityScore only measure what Bird received: with no inbound media they
  // read a perfect 4.5 / 100, so such calls are counted apart instead of flattering the MOS.
  const std::optional<double> in_media =
      m.in_media_packet_count ? m.in_media_packet_count : m.in_packet_count;
  const bool has_inbound_media = in_media && *in_media > 0;
  if (obs.answered && in_media && *in_media <= 0) obs.no_inbound_media = true;
  if (!has_inbound_media) return obs;

  if (obs.answered) {
    obs.mos = NonNegative(m.mos);
    if (auto q = NonNegative(m.quality_score)) obs.quality_ratio = *q / 100.0;
  }
  obs.jitter_min_seconds = VarianceMs2ToStdDevSeconds(m.jitter_min_var_ms2);
  obs.jitter_max_seconds = VarianceMs2ToStdDevSeconds(m.jitter_max_var_ms2);
  obs.packet_loss_ratio = NonNegative(m.jitter_loss_rate);
  obs.jitter_burst_rate = NonNegative(m.jitter_burst_rate);
  obs.mean_interval_seconds = MsToSeconds(m.mean_interval_ms);
  return obs;
}

}  // namespace bird_exporter
