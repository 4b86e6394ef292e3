#include "bird/model.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>

namespace bird_exporter {
namespace {

using nlohmann::json;

// --- Body and structure -------------------------------------------------------------------

// At most this many bytes of a non-JSON body go into an error message: enough to tell an HTML
// gateway page from a truncated answer, never the whole (possibly large or sensitive) body.
constexpr std::size_t kPreviewBytes = 40;

std::string Preview(std::string_view body) {
  std::string out;
  for (const char c : body.substr(0, kPreviewBytes)) {
    const auto u = static_cast<unsigned char>(c);
    // Bytes that could break a log line (controls, a cut multi-byte UTF-8 sequence) are masked.
    out += u < 0x20 || u == 0x7f ? ' ' : (u >= 0x80 ? '?' : c);
  }
  if (body.size() > kPreviewBytes) out += "...";
  return out;
}

json ParseJsonObject(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    throw ParseError("empty body");
  }
  json doc;
  try {
    doc = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    // e.what() can quote part of the body, so only the byte offset is kept.
    throw ParseError("not JSON (byte " + std::to_string(e.byte) + "): " + Preview(body));
  }
  if (!doc.is_object()) {
    throw ParseError(std::string("top level is ") + doc.type_name() + ", not an object");
  }
  return doc;
}

// The member `key` of `obj`, or nullptr when it is absent or JSON null (Bird sends both for
// "no value", e.g. `"hangupSource": null`).
const json* Member(const json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

// A nested block (qualityInsights, sipInsights, signallingMetrics, mediaMetrics): absent or null
// is fine, anything but an object means the answer is not the shape we know and must not be
// half-read.
const json* ObjectMember(const json& obj, const char* key, std::string_view where) {
  const json* member = Member(obj, key);
  if (member != nullptr && !member->is_object()) {
    throw ParseError(std::string(where) + key + " is " + member->type_name() + ", not an object");
  }
  return member;
}

// --- Scalar values --------------------------------------------------------------------------
//
// Value fields never fail a parse. Bird sends the same metric as a JSON number on one endpoint
// and as a string on another (`mediaMetrics.mos: 4.5` vs `qualityInsights.mos: "4.47"`), so
// both are read. An empty string, null, a non-numeric string ("n/a") or any other type counts
// as absent: one odd value must not cost the whole page of calls; an absent value only leaves
// that one observation out.

std::optional<double> NumberFromString(const std::string& s) {
  if (s.empty()) return std::nullopt;
  double value = 0;
  const char* end = s.data() + s.size();
  // from_chars is locale-independent, unlike strtod, and rejects leading whitespace and '+'.
  const auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<double> Number(const json& obj, const char* key) {
  const json* v = Member(obj, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number()) return v->get<double>();
  if (v->is_string()) return NumberFromString(v->get_ref<const std::string&>());
  return std::nullopt;
}

// Integers may also arrive as floats (30.0) or strings ("30"); a value with a fractional part
// or out of range is not an integer and counts as absent.
std::optional<std::int64_t> Int64FromDouble(double d) {
  // 2^63 is exactly representable; anything at or above it does not fit.
  constexpr double kLimit = 9223372036854775808.0;
  if (!std::isfinite(d) || std::trunc(d) != d || d >= kLimit || d < -kLimit) return std::nullopt;
  return static_cast<std::int64_t>(d);
}

std::optional<std::int64_t> Int64(const json& obj, const char* key) {
  const json* v = Member(obj, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_unsigned()) {
    const auto u = v->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(u);
  }
  if (v->is_number_integer()) return v->get<std::int64_t>();
  if (v->is_number_float()) return Int64FromDouble(v->get<double>());
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    std::int64_t value = 0;
    const char* end = s.data() + s.size();
    const auto [ptr, ec] = std::from_chars(s.data(), end, value);
    if (!s.empty() && ec == std::errc() && ptr == end) return value;
    const auto d = NumberFromString(s);
    return d ? Int64FromDouble(*d) : std::nullopt;
  }
  return std::nullopt;
}

std::optional<int> Int(const json& obj, const char* key) {
  const auto v = Int64(obj, key);
  if (!v || *v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max()) {
    return std::nullopt;
  }
  return static_cast<int>(*v);
}

// A string field; empty when absent, null or not a string.
std::string String(const json& obj, const char* key) {
  const json* v = Member(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

// `hangupSipCode` is declared a string ("200") but a SIP code is a number, so a JSON number
// is read too and rendered without a fraction.
std::string SipCode(const json& obj, const char* key) {
  const json* v = Member(obj, key);
  if (v == nullptr) return {};
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number()) {
    const auto code = Int64(obj, key);
    return code ? std::to_string(*code) : std::string();
  }
  return {};
}

// Timestamps go through the tolerant RFC 3339 parser; one that still does not parse is absent.
std::optional<SystemTime> Timestamp(const json& obj, const char* key) {
  const json* v = Member(obj, key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return ParseRfc3339(v->get_ref<const std::string&>());
}

// An enum field: unknown strings, null and non-strings all map to kUnknown via `parse("")`.
template <typename Enum>
Enum EnumField(const json& obj, const char* key, Enum (*parse)(std::string_view)) {
  const json* v = Member(obj, key);
  return parse(v != nullptr && v->is_string() ? v->get_ref<const std::string&>() : "");
}

// --- Records --------------------------------------------------------------------------------

// `where` names the record in error messages ("results[3]", or "" for an insights body) so a
// bad element can be found in a page.
Call ParseCall(const json& record, std::string_view where) {
  if (!record.is_object()) {
    throw ParseError(std::string(where) + " is " + record.type_name() + ", not an object");
  }
  const std::string prefix = where.empty() ? std::string() : std::string(where) + ".";
  // The id is what every later step keys on (dedupe, insights lookup, state), so a record
  // without one cannot be used at all.
  const json* id = Member(record, "id");
  if (id == nullptr || !id->is_string() || id->get_ref<const std::string&>().empty()) {
    throw ParseError(prefix + "id is missing or not a non-empty string");
  }

  Call call;
  call.id = id->get<std::string>();
  call.channel_id = String(record, "channelId");
  call.parent_id = String(record, "parentId");
  call.status = EnumField(record, "status", &ParseCallStatus);
  call.direction = EnumField(record, "direction", &ParseDirection);
  call.type = EnumField(record, "type", &ParseCallType);
  call.duration_seconds = Int64(record, "duration");
  call.hangup_cause_code = Int(record, "hangupCauseCode");
  call.hangup_source = EnumField(record, "hangupSource", &ParseHangupSource);
  call.created_at = Timestamp(record, "createdAt");
  call.updated_at = Timestamp(record, "updatedAt");
  call.answered_at = Timestamp(record, "answeredAt");
  call.ended_at = Timestamp(record, "endedAt");

  // The call schema has a top-level `hangupSipCode`, but Bird's list example only carries it
  // inside `sipInsights`; the top level wins when both are there.
  call.hangup_sip_code = SipCode(record, "hangupSipCode");
  if (const json* sip = ObjectMember(record, "sipInsights", prefix);
      sip != nullptr && call.hangup_sip_code.empty()) {
    call.hangup_sip_code = SipCode(*sip, "hangupSipCode");
  }
  // List records: `qualityInsights.mos`/`.pdd` as strings ("4.47", "1.23") in Bird's example.
  if (const json* quality = ObjectMember(record, "qualityInsights", prefix); quality != nullptr) {
    call.mos = Number(*quality, "mos");
    call.pdd_seconds = Number(*quality, "pdd");
  }
  return call;
}

MediaMetrics ParseMediaMetrics(const json& m) {
  MediaMetrics media;
  media.mos = Number(m, "mos");
  media.quality_score = Number(m, "qualityScore");
  media.in_bytes = Number(m, "inBytes");
  media.out_bytes = Number(m, "outBytes");
  media.in_packet_count = Number(m, "inPacketCount");
  media.out_packet_count = Number(m, "outPacketCount");
  media.in_media_packet_count = Number(m, "inMediaPacketCount");
  media.out_media_packet_count = Number(m, "outMediaPacketCount");
  media.in_dtmf_packet_count = Number(m, "inDtmfPacketCount");
  media.out_dtmf_packet_count = Number(m, "outDtmfPacketCount");
  media.jitter_min_var_ms2 = Number(m, "jitterMinVar");
  media.jitter_max_var_ms2 = Number(m, "jitterMaxVar");
  media.jitter_loss_rate = Number(m, "jitterLossRate");
  media.jitter_burst_rate = Number(m, "jitterBurstRate");
  media.mean_interval_ms = Number(m, "meanInterval");
  media.flaw_total = Number(m, "flawTotal");
  media.read_codec_name = String(m, "readCodecName");
  media.write_codec_name = String(m, "writeCodecName");
  return media;
}

}  // namespace

// --- Enums --------------------------------------------------------------------------------

CallStatus ParseCallStatus(std::string_view s) {
  if (s == "accepted") return CallStatus::kAccepted;
  if (s == "scheduled") return CallStatus::kScheduled;
  if (s == "starting") return CallStatus::kStarting;
  if (s == "ringing") return CallStatus::kRinging;
  if (s == "ongoing") return CallStatus::kOngoing;
  if (s == "completed") return CallStatus::kCompleted;
  if (s == "no-answer") return CallStatus::kNoAnswer;
  if (s == "busy") return CallStatus::kBusy;
  if (s == "failed") return CallStatus::kFailed;
  if (s == "cancelled") return CallStatus::kCancelled;
  return CallStatus::kUnknown;
}

Direction ParseDirection(std::string_view s) {
  if (s == "incoming") return Direction::kIncoming;
  if (s == "outgoing") return Direction::kOutgoing;
  return Direction::kUnknown;
}

CallType ParseCallType(std::string_view s) {
  if (s == "pstn") return CallType::kPstn;
  if (s == "sip") return CallType::kSip;
  if (s == "webrtc") return CallType::kWebrtc;
  return CallType::kUnknown;
}

HangupSource ParseHangupSource(std::string_view s) {
  if (s == "callee") return HangupSource::kCallee;
  if (s == "caller") return HangupSource::kCaller;
  if (s == "api") return HangupSource::kApi;
  if (s == "timeout") return HangupSource::kTimeout;
  if (s == "media-timeout") return HangupSource::kMediaTimeout;
  if (s == "none") return HangupSource::kNone;
  return HangupSource::kUnknown;
}

std::string_view ToString(CallStatus s) {
  switch (s) {
    case CallStatus::kAccepted:
      return "accepted";
    case CallStatus::kScheduled:
      return "scheduled";
    case CallStatus::kStarting:
      return "starting";
    case CallStatus::kRinging:
      return "ringing";
    case CallStatus::kOngoing:
      return "ongoing";
    case CallStatus::kCompleted:
      return "completed";
    case CallStatus::kNoAnswer:
      return "no-answer";
    case CallStatus::kBusy:
      return "busy";
    case CallStatus::kFailed:
      return "failed";
    case CallStatus::kCancelled:
      return "cancelled";
    case CallStatus::kUnknown:
      break;
  }
  return "unknown";
}

std::string_view ToString(Direction d) {
  switch (d) {
    case Direction::kIncoming:
      return "incoming";
    case Direction::kOutgoing:
      return "outgoing";
    case Direction::kUnknown:
      break;
  }
  return "unknown";
}

std::string_view ToString(CallType t) {
  switch (t) {
    case CallType::kPstn:
      return "pstn";
    case CallType::kSip:
      return "sip";
    case CallType::kWebrtc:
      return "webrtc";
    case CallType::kUnknown:
      break;
  }
  return "unknown";
}

std::string_view ToString(HangupSource s) {
  switch (s) {
    case HangupSource::kCallee:
      return "callee";
    case HangupSource::kCaller:
      return "caller";
    case HangupSource::kApi:
      return "api";
    case HangupSource::kTimeout:
      return "timeout";
    case HangupSource::kMediaTimeout:
      return "media-timeout";
    case HangupSource::kNone:
      return "none";
    case HangupSource::kUnknown:
      break;
  }
  return "unknown";
}

// Bird does not label terminal states; these are the ones after which a call cannot change
// (bird-api.md §4). An unknown status is not terminal, so such a call is looked at again.
bool IsTerminal(CallStatus s) {
  switch (s) {
    case CallStatus::kCompleted:
    case CallStatus::kNoAnswer:
    case CallStatus::kBusy:
    case CallStatus::kFailed:
    case CallStatus::kCancelled:
      return true;
    default:
      return false;
  }
}

// --- Bodies -------------------------------------------------------------------------------

Call ParseSingleCall(std::string_view body) { return ParseCall(ParseJsonObject(body), "call"); }

CallPage ParseCallPage(std::string_view body) {
  const json doc = ParseJsonObject(body);
  const json* results = Member(doc, "results");
  if (results == nullptr) throw ParseError("results is missing");
  if (!results->is_array()) {
    throw ParseError(std::string("results is ") + results->type_name() + ", not an array");
  }

  CallPage page;
  page.calls.reserve(results->size());
  for (std::size_t i = 0; i < results->size(); ++i) {
    page.calls.push_back(ParseCall((*results)[i], "results[" + std::to_string(i) + "]"));
  }
  // A missing `nextPageToken` means the last page (bird-api.md §1); null and "" are read the
  // same way so that a last page can never loop on an empty cursor.
  if (const json* token = Member(doc, "nextPageToken"); token != nullptr) {
    if (!token->is_string()) {
      throw ParseError(std::string("nextPageToken is ") + token->type_name() + ", not a string");
    }
    page.next_page_token = token->get<std::string>();
  }
  return page;
}

CallInsights ParseCallInsights(std::string_view body) {
  const json doc = ParseJsonObject(body);
  CallInsights insights;
  insights.call = ParseCall(doc, "");
  if (const json* signalling = ObjectMember(doc, "signallingMetrics", ""); signalling != nullptr) {
    insights.pdd_seconds = Number(*signalling, "pdd");
  }
  if (const json* media = ObjectMember(doc, "mediaMetrics", ""); media != nullptr) {
    insights.has_media_metrics = true;
    insights.media = ParseMediaMetrics(*media);
  }
  return insights;
}

}  // namespace bird_exporter
