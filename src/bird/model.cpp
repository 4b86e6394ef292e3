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

// The helpers below read one member value; nullptr stands for absent or JSON null.
std::optional<double> NumberOf(const json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_number()) return v->get<double>();
  if (v->is_string()) return NumberFromString(v->get_ref<const std::string&>());
  return std::nullopt;
}

std::optional<double> Number(const json& obj, const char* key) {
  return NumberOf(Member(obj, key));
}

// Integers may also arrive as floats (30.0) or strings ("30"); a value with a fractional part
// or out of range is not an integer and counts as absent.
std::optional<std::int64_t> Int64FromDouble(double d) {
  // 2^63 is exactly representable; anything at or above it does not fit.
  constexpr double kLimit = 9223372036854775808.0;
  if (!std::isfinite(d) || std::trunc(d) != d || d >= kLimit || d < -kLimit) return std::nullopt;
  return static_cast<std::int64_t>(d);
}

std::optional<std::int64_t> Int64Of(const json* v) {
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

std::optional<int> IntOf(const json* value) {
  const auto v = Int64Of(value);
  if (!v || *v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max()) {
    return std::nullopt;
  }
  return static_cast<int>(*v);
}

// A string field; empty when absent, null or not a string.
std::string StringOf(const json* v) {
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

std::string String(const json& obj, const char* key) { return StringOf(Member(obj, key)); }

// `hangupSipCode` is declared a string ("200") but a SIP code is a number, so a JSON number
// is read too and rendered without a fraction.
std::string SipCodeOf(const json* v) {
  if (v == nullptr) return {};
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number()) {
    const auto code = Int64Of(v);
    return code ? std::to_string(*code) : std::string();
  }
  return {};
}

// Timestamps go through the tolerant RFC 3339 parser; one that still does not parse is absent.
std::optional<SystemTime> TimestampOf(const json* v) {
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return ParseRfc3339(v->get_ref<const std::string&>());
}

// An enum field: unknown strings, null and non-strings all map to kUnknown via `parse("")`.
template <typename Enum>
Enum EnumOf(const json* v, Enum (*parse)(std::string_view)) {
  return parse(v != nullptr && v->is_string() ? v->get_ref<const std::string&>() : "");
}

// --- Records --------------------------------------------------------------------------------

// A call record, member by member: the DOM reader (a single call, an insights body) and the
// streaming page reader feed the same values through it, so both read a record alike. A
// member that appears twice counts with its last value, as in a parsed document.
class CallBuilder {
 public:
  explicit CallBuilder(std::string prefix) : prefix_(std::move(prefix)) {}

  // Reads a scalar member of the record (nullptr: absent or null). A member whose value is an
  // object or an array is passed as that value and reads as absent.
  void Member(std::string_view key, const json* v) {
    if (key == "id") {
      call_.id = v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
    } else if (key == "channelId") {
      call_.channel_id = StringOf(v);
    } else if (key == "parentId") {
      call_.parent_id = StringOf(v);
    } else if (key == "status") {
      call_.status = EnumOf(v, &ParseCallStatus);
    } else if (key == "direction") {
      call_.direction = EnumOf(v, &ParseDirection);
    } else if (key == "type") {
      call_.type = EnumOf(v, &ParseCallType);
    } else if (key == "duration") {
      call_.duration_seconds = Int64Of(v);
    } else if (key == "hangupCauseCode") {
      call_.hangup_cause_code = IntOf(v);
    } else if (key == "hangupSource") {
      call_.hangup_source = EnumOf(v, &ParseHangupSource);
    } else if (key == "createdAt") {
      call_.created_at = TimestampOf(v);
    } else if (key == "updatedAt") {
      call_.updated_at = TimestampOf(v);
    } else if (key == "answeredAt") {
      call_.answered_at = TimestampOf(v);
    } else if (key == "endedAt") {
      call_.ended_at = TimestampOf(v);
    } else if (key == "hangupSipCode") {
      top_sip_code_ = SipCodeOf(v);
    }
  }

  // The nested blocks the record is read from; `Block` starts one (absent: nullptr is never
  // passed, the block is then simply not started) and `BlockMember` reads its members.
  static bool IsBlock(std::string_view key) {
    return key == "sipInsights" || key == "qualityInsights";
  }
  // A block that is there but not an object means the answer is not the shape we know and
  // must not be half-read.
  void NotAnObject(std::string_view key, const char* type_name) const {
    throw ParseError(prefix_ + std::string(key) + " is " + type_name + ", not an object");
  }
  void Block(std::string_view key) {
    if (key == "sipInsights") {
      nested_sip_code_.clear();
    } else {
      call_.mos.reset();
      call_.pdd_seconds.reset();
    }
  }
  void BlockMember(std::string_view block, std::string_view key, const json* v) {
    if (block == "sipInsights") {
      if (key == "hangupSipCode") nested_sip_code_ = SipCodeOf(v);
    } else if (key == "mos") {
      call_.mos = NumberOf(v);
    } else if (key == "pdd") {
      call_.pdd_seconds = NumberOf(v);
    }
  }

  Call Finish() {
    // The id is what every later step keys on (dedupe, insights lookup, state), so a record
    // without one cannot be used at all.
    if (call_.id.empty()) throw ParseError(prefix_ + "id is missing or not a non-empty string");
    // The call schema has a top-level `hangupSipCode`, but Bird's list example only carries
    // it inside `sipInsights`; the top level wins when both are there.
    call_.hangup_sip_code = top_sip_code_.empty() ? nested_sip_code_ : top_sip_code_;
    return std::move(call_);
  }

 private:
  std::string prefix_;
  Call call_;
  std::string top_sip_code_;
  std::string nested_sip_code_;
};

// `where` names the record in error messages ("results[3]", or "" for an insights body) so a
// bad element can be found in a page.
Call ParseCall(const json& record, std::string_view where) {
  if (!record.is_object()) {
    throw ParseError(std::string(where) + " is " + record.type_name() + ", not an object");
  }
  CallBuilder builder(where.empty() ? std::string() : std::string(where) + ".");
  for (const auto& [key, value] : record.items()) {
    const json* v = value.is_null() ? nullptr : &value;
    if (!CallBuilder::IsBlock(key)) {
      builder.Member(key, v);
      continue;
    }
    if (v == nullptr) continue;
    if (!v->is_object()) builder.NotAnObject(key, v->type_name());
    // List records: `qualityInsights.mos`/`.pdd` as strings ("4.47", "1.23") in Bird's
    // example.
    builder.Block(key);
    for (const auto& [member, member_value] : v->items()) {
      builder.BlockMember(key, member, member_value.is_null() ? nullptr : &member_value);
    }
  }
  return builder.Finish();
}

// A list page read as a stream into the call records, without building the document: a page
// of 1,000 calls is read many times over while its calls are followed, and the members the
// model does not use (numbers, contacts, call flows) cost neither memory nor time. Reads
// exactly what ParseCall reads from each element of `results`.
class CallPageReader : public nlohmann::json_sax<json> {
 public:
  explicit CallPageReader(std::string_view body) : body_(body) {}

  CallPage Take() {
    if (!results_seen_) throw ParseError("results is missing");
    return std::move(page_);
  }

  bool null() override { return Scalar(nullptr, "null"); }
  bool boolean(bool b) override {
    const json v(b);
    return Scalar(&v, "boolean");
  }
  bool number_integer(number_integer_t n) override {
    const json v(n);
    return Scalar(&v, "number");
  }
  bool number_unsigned(number_unsigned_t n) override {
    const json v(n);
    return Scalar(&v, "number");
  }
  bool number_float(number_float_t n, const string_t&) override {
    const json v(n);
    return Scalar(&v, "number");
  }
  bool string(string_t& s) override {
    if (skip_ > 0) return true;
    const json v(std::move(s));
    return Scalar(&v, "string");
  }
  bool binary(binary_t&) override { return Scalar(nullptr, "binary"); }

  bool key(string_t& k) override {
    if (skip_ == 0) key_ = std::move(k);
    return true;
  }

  bool start_object(std::size_t) override { return Start(true); }
  bool start_array(std::size_t) override { return Start(false); }
  bool end_object() override { return End(); }
  bool end_array() override { return End(); }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception&) override {
    // The exception's text can quote part of the body, so only the byte offset is kept.
    throw ParseError("not JSON (byte " + std::to_string(position) + "): " + Preview(body_));
  }

 private:
  enum class In { kTop, kResults, kRecord, kBlock };

  std::string Where() const { return "results[" + std::to_string(page_.calls.size()) + "]"; }

  bool Scalar(const json* v, const char* type_name) {
    if (skip_ > 0) return true;
    if (stack_.empty()) {
      throw ParseError(std::string("top level is ") + type_name + ", not an object");
    }
    switch (stack_.back()) {
      case In::kTop:
        if (key_ == "results") {
          if (v != nullptr) {
            throw ParseError(std::string("results is ") + type_name + ", not an array");
          }
          results_seen_ = false;  // null reads as absent
          page_.calls.clear();
        } else if (key_ == "nextPageToken") {
          // A missing `nextPageToken` means the last page (bird-api.md §1); null and "" are
          // read the same way so that a last page can never loop on an empty cursor.
          if (v != nullptr && !v->is_string()) {
            throw ParseError(std::string("nextPageToken is ") + type_name + ", not a string");
          }
          page_.next_page_token = v != nullptr ? v->get<std::string>() : std::string();
        }
        break;
      case In::kResults:
        throw ParseError(Where() + " is " + type_name + ", not an object");
      case In::kRecord:
        if (!CallBuilder::IsBlock(key_)) {
          record_->Member(key_, v);
        } else if (v != nullptr) {
          record_->NotAnObject(key_, type_name);
        }
        break;
      case In::kBlock:
        record_->BlockMember(block_, key_, v);
        break;
    }
    return true;
  }

  bool Start(bool object) {
    const char* type_name = object ? "object" : "array";
    if (skip_ > 0) {
      ++skip_;
      return true;
    }
    if (stack_.empty()) {
      if (!object) throw ParseError("top level is array, not an object");
      stack_.push_back(In::kTop);
      return true;
    }
    switch (stack_.back()) {
      case In::kTop:
        if (key_ == "results") {
          if (object) throw ParseError("results is object, not an array");
          results_seen_ = true;
          page_.calls.clear();  // a repeated member counts with its last value
          stack_.push_back(In::kResults);
          return true;
        }
        if (key_ == "nextPageToken") {
          throw ParseError(std::string("nextPageToken is ") + type_name + ", not a string");
        }
        break;
      case In::kResults:
        if (!object) throw ParseError(Where() + " is array, not an object");
        record_.emplace(Where() + ".");
        stack_.push_back(In::kRecord);
        return true;
      case In::kRecord:
        if (CallBuilder::IsBlock(key_)) {
          if (!object) record_->NotAnObject(key_, type_name);
          block_ = key_;
          record_->Block(block_);
          stack_.push_back(In::kBlock);
          return true;
        }
        // A scalar member sent as an object or an array reads as absent.
        record_->Member(key_, object ? &kEmptyObject : &kEmptyArray);
        break;
      case In::kBlock:
        record_->BlockMember(block_, key_, object ? &kEmptyObject : &kEmptyArray);
        break;
    }
    skip_ = 1;  // a value nothing is read from
    return true;
  }

  bool End() {
    if (skip_ > 0) {
      --skip_;
      return true;
    }
    const In ended = stack_.back();
    stack_.pop_back();
    if (ended == In::kRecord) {
      page_.calls.push_back(record_->Finish());
      record_.reset();
    }
    return true;
  }

  static inline const json kEmptyObject = json::object();
  static inline const json kEmptyArray = json::array();

  std::string_view body_;
  CallPage page_;
  bool results_seen_ = false;
  std::vector<In> stack_;
  int skip_ = 0;
  std::string key_;
  std::string block_;
  std::optional<CallBuilder> record_;
};

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
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    throw ParseError("empty body");
  }
  CallPageReader reader(body);
  json::sax_parse(body.begin(), body.end(), &reader);
  return reader.Take();
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
