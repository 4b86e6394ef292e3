// Maps one ended call (list record plus insights when available) to the observations it makes.
// Pure: no Prometheus, no clock; the unit conversions and the inclusion rules live here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bird/model.h"
#include "config/config.h"

namespace bird_exporter {

struct FlowCounts {
  std::optional<double> in;
  std::optional<double> out;
};

struct CallObservation {
  // Labels (besides workspace/channel, which the caller knows).
  std::string direction;
  std::string call_type;
  std::string status;
  std::string hangup_source;
  std::string hangup_cause_code;  // "16", or "unknown"
  std::string hangup_cause;       // "NORMAL_CLEARING", "UNKNOWN" for unnamed codes, or "unknown"
  std::string sip_code;           // "200", or "unknown"
  std::string cause_class;
  std::string codec;        // readCodecName, or "unknown"
  std::string country;      // remote party's ISO 3166-1 alpha-2 code, or "unknown"
  std::string provider;     // signallingMetrics.providerName, or "unknown"
  std::string edge_region;  // signallingMetrics.edgeRegion, or "unknown"
  // Never a label: only the exemplars of the OpenMetrics exposition carry it.
  std::string call_id;

  bool answered = false;
  bool from_insights = false;     // false: counted from the list record alone
  bool no_inbound_media = false;  // answered, insights say inMediaPacketCount == 0

  FlowCounts packets, media_packets, dtmf_packets, bytes;
  std::optional<double> flaws;

  std::optional<double> mos;
  std::optional<double> quality_ratio;
  std::optional<double> pdd_seconds;
  std::optional<double> duration_seconds;
  std::optional<double> jitter_min_seconds;
  std::optional<double> jitter_max_seconds;
  std::optional<double> packet_loss_ratio;
  std::optional<double> jitter_burst_rate;
  std::optional<double> mean_interval_seconds;

  std::optional<SystemTime> ended_at;

  // Contact-centre and carrier KPIs.
  std::optional<double> time_to_answer_seconds;  // answeredAt - createdAt, incoming answered calls
  std::optional<double> ring_seconds;            // answeredAt - ringingAt, answered calls
  // Caller hung up before the answer: cancelled or no-answer with hangupSource caller, or SIP
  // 487 unless hangupSource is timeout (a ring timeout cancels too).
  bool abandoned = false;
  // Why an answered call was poor (PoorReasons), each at most once; empty for a good call.
  std::vector<std::string_view> poor_reasons;
  // Delay-free E-model R of an answered call with inbound media and a codec of known Ie/Bpl.
  std::optional<double> r_factor;

  // Bird fields of this call whose value was dropped: unreadable, dated in the future, or out
  // of the field's range (FieldRanges). By Bird name, sorted, each once.
  std::vector<std::string> field_anomalies;
};

// The range of a Bird value field the exporter observes; a value outside it is an anomaly.
struct FieldRange {
  std::string_view field;  // Bird name: "mediaMetrics.mos"
  double min;
  double max;
};

// Every checked field with its range, in one table (docs/metrics.md lists it).
const std::vector<FieldRange>& FieldRanges();

// The reasons a call can be poor for, in a fixed order: low_mos, high_loss, high_jitter,
// one_way_audio, no_media, high_pdd.
const std::vector<std::string_view>& PoorReasons();

// `listed` is the call as the list returned it; `insights` is null when the call is counted
// from the list alone (insights unavailable after the grace period).
CallObservation MapCall(const Call& listed, const CallInsights* insights,
                        const PoorCallThresholds& poor = {});

// A free-form Bird string as a label value: "unknown" when empty, "other" when it holds a
// control character (the label guard caps length and distinct values).
std::string FreeFormLabel(std::string_view value);

// Keeps a codec name usable as a label value: [A-Za-z0-9._+-], at most 32 chars, else "other".
std::string CodecLabel(std::string_view codec_name);

}  // namespace bird_exporter
