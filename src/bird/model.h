// Response models of the Bird calls API and their pure parsers.
// Parsers are tolerant of what Bird really sends and never touch the network.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bird/rfc3339.h"

namespace bird_exporter {

enum class CallStatus {
  kAccepted,
  kScheduled,
  kStarting,
  kRinging,
  kOngoing,
  kCompleted,
  kNoAnswer,
  kBusy,
  kFailed,
  kCancelled,
  kUnknown,
};
enum class Direction { kIncoming, kOutgoing, kUnknown };
enum class CallType { kPstn, kSip, kWebrtc, kUnknown };
enum class HangupSource { kCallee, kCaller, kApi, kTimeout, kMediaTimeout, kNone, kUnknown };

// Unknown strings map to kUnknown; never an error.
CallStatus ParseCallStatus(std::string_view s);
Direction ParseDirection(std::string_view s);
CallType ParseCallType(std::string_view s);
HangupSource ParseHangupSource(std::string_view s);

// Label values: "completed", "no-answer", ..., "unknown".
std::string_view ToString(CallStatus s);
std::string_view ToString(Direction d);
std::string_view ToString(CallType t);
std::string_view ToString(HangupSource s);

// completed, no-answer, busy, failed, cancelled.
bool IsTerminal(CallStatus s);

// One record of GET /workspaces/{ws}/channels/{ch}/calls (a ChannelCall).
struct Call {
  bool operator==(const Call&) const = default;
  std::string id;
  std::string channel_id;
  std::string parent_id;  // empty when absent
  CallStatus status = CallStatus::kUnknown;
  Direction direction = Direction::kUnknown;
  CallType type = CallType::kUnknown;
  std::optional<std::int64_t> duration_seconds;  // Bird `duration`
  std::optional<int> hangup_cause_code;          // Bird `hangupCauseCode` (Q.850)
  HangupSource hangup_source = HangupSource::kUnknown;
  std::string
      hangup_sip_code;  // `hangupSipCode`, else `sipInsights.hangupSipCode`; empty if absent
  std::optional<SystemTime> created_at;
  std::optional<SystemTime> updated_at;
  std::optional<SystemTime> ringing_at;
  std::optional<SystemTime> answered_at;
  std::optional<SystemTime> ended_at;
  // The remote party's country (CountryOfNumber of `to` for an outgoing call, `from` for an
  // incoming one): "NL", or "unknown". Looked up only once the call has ended (empty before);
  // the number itself is never kept.
  std::string remote_country;
  std::optional<double> mos;          // `qualityInsights.mos` (number or numeric string)
  std::optional<double> pdd_seconds;  // `qualityInsights.pdd` (number or numeric string)
  // The Bird fields of this record that were sent with a value that cannot be used, by their
  // Bird names ("duration", "qualityInsights.mos", "mediaMetrics.inBytes"): a wrong type, a
  // non-numeric or non-finite string, a fraction where an integer is due, a timestamp that does
  // not parse (left absent by the parser), or a timestamp in the future (clamped, see
  // ClampFutureTimes). Sorted, each at most once.
  std::vector<std::string> anomalies;
};

// Clamps the call's timestamps that lie more than `tolerance` after `now` to now + tolerance,
// noting each in `anomalies` ("createdAt", ...): a call dated in the future would otherwise
// never age out of the state and could move a listing window past real calls.
void ClampFutureTimes(Call& call, SystemTime now, std::chrono::milliseconds tolerance);

// Notes `field` in `anomalies` (kept sorted, each field once).
void NoteAnomaly(std::vector<std::string>& anomalies, std::string_view field);

// One page of a call list: `results` plus `nextPageToken` (empty when absent: no more pages).
struct CallPage {
  std::vector<Call> calls;
  std::string next_page_token;
};

// `mediaMetrics` of GET .../calls/{id}/insights. Every field is optional.
struct MediaMetrics {
  std::optional<double> mos;
  std::optional<double> quality_score;  // percent, 0-100
  std::optional<double> in_bytes, out_bytes;
  std::optional<double> in_packet_count, out_packet_count;
  std::optional<double> in_media_packet_count, out_media_packet_count;
  std::optional<double> in_dtmf_packet_count, out_dtmf_packet_count;
  std::optional<double> jitter_min_var_ms2, jitter_max_var_ms2;  // variances in ms²
  std::optional<double> jitter_loss_rate;                        // ratio, may exceed 1
  std::optional<double> jitter_burst_rate;
  std::optional<double> mean_interval_ms;
  std::optional<double> flaw_total;
  std::string read_codec_name;  // empty when absent
  std::string write_codec_name;
};

// The whole insights answer: the call fields plus signalling and media metrics.
struct CallInsights {
  Call call;                          // id, status, hangup..., timestamps (no qualityInsights)
  std::optional<double> pdd_seconds;  // `signallingMetrics.pdd`
  std::string provider;               // `signallingMetrics.providerName`; empty when absent
  std::string edge_region;            // `signallingMetrics.edgeRegion`; empty when absent
  bool has_media_metrics = false;
  MediaMetrics media;
};

// Raised when a body is not the expected JSON (HTML page, truncated, wrong types).
class ParseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Whether an ended call of a page needs its remote party's country looked up (by call id). A
// call already counted, or one whose country is already known, is read again on every page
// that lists it, and the lookup (libphonenumber, tens of µs) is the dearest part of reading it.
using CountryWanted = std::function<bool(const std::string& call_id)>;

// Pure parsers. Throw ParseError with a short reason (never echoing the whole body).
// `country_wanted` empty: every ended call's country is looked up.
CallPage ParseCallPage(std::string_view body, const CountryWanted& country_wanted = {});
// GET .../calls/{callId}: one ChannelCall object.
Call ParseSingleCall(std::string_view body);
CallInsights ParseCallInsights(std::string_view body);

}  // namespace bird_exporter
