#include "bird/model.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>

#include "bird/country.h"

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
// both are read. Null and an empty string are "no value". Anything else that cannot be read
// (a non-numeric string such as "n/a", "NaN", another type) is absent too and marks the field
// as an anomaly: one odd value must not cost the whole page of calls, only that one
// observation, and it must show.

// One member value; nullptr stands for absent or JSON null. `bad` is set when the value is
// there but unusable.
std::optional<double> NumberFromString(const std::string& s, bool& bad) {
  if (s.empty()) return std::nullopt;
  double value = 0;
  const char* end = s.data() + s.size();
  // from_chars is locale-independent, unlike strtod, and rejects leading whitespace and '+'.
  const auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
    bad = true;
    return std::nullopt;
  }
  return value;
}

std::optional<double> NumberOf(const json* v, bool& bad) {
  if (v == nullptr) return std::nullopt;
  if (v->is_number()) return v->get<double>();
  if (v->is_string()) return NumberFromString(v->get_ref<const std::string&>(), bad);
  bad = true;
  return std::nullopt;
}

// Integers may also arrive as floats (30.0) or strings ("30"); a value with a fractional part
// or out of range is not an integer.
std::optional<std::int64_t> Int64FromDouble(double d, bool& bad) {
  // 2^63 is exactly representable; anything at or above it does not fit.
  constexpr double kLimit = 9223372036854775808.0;
  if (!std::isfinite(d) || std::trunc(d) != d || d >= kLimit || d < -kLimit) {
    bad = true;
    return std::nullopt;
  }
  return static_cast<std::int64_t>(d);
}

std::optional<std::int64_t> Int64Of(const json* v, bool& bad) {
  if (v == nullptr) return std::nullopt;
  if (v->is_number_unsigned()) {
    const auto u = v->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      bad = true;
      return std::nullopt;
    }
    return static_cast<std::int64_t>(u);
  }
  if (v->is_number_integer()) return v->get<std::int64_t>();
  if (v->is_number_float()) return Int64FromDouble(v->get<double>(), bad);
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    std::int64_t value = 0;
    const char* end = s.data() + s.size();
    const auto [ptr, ec] = std::from_chars(s.data(), end, value);
    if (!s.empty() && ec == std::errc() && ptr == end) return value;
    const auto d = NumberFromString(s, bad);
    return d ? Int64FromDouble(*d, bad) : std::nullopt;
  }
  bad = true;
  return std::nullopt;
}

std::optional<int> IntOf(const json* value, bool& bad) {
  const auto v = Int64Of(value, bad);
  if (v && (*v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max())) {
    bad = true;
    return std::nullopt;
  }
  return v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
}

// A string field; empty when absent, null or not a string.
std::string StringOf(const json* v) {
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

std::string String(const json& obj, const char* key) { return StringOf(Member(obj, key)); }

// `hangupSipCode` is declared a string ("200") but a SIP code is a number, so a JSON number
// is read too and rendered without a fraction.
std::string SipCodeOf(const json* v, bool& bad) {
  if (v == nullptr) return {};
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number()) {
    const auto code = Int64Of(v, bad);
    return code ? std::to_string(*code) : std::string();
  }
  bad = true;
  return {};
}

// Timestamps go through the tolerant RFC 3339 parser; one that still does not parse is absent.
std::optional<SystemTime> TimestampOf(const json* v, bool& bad) {
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) {
    const auto& text = v->get_ref<const std::string&>();
    if (text.empty()) return std::nullopt;
    auto t = ParseRfc3339(text);
    if (!t) bad = true;
    return t;
  }
  bad = true;
  return std::nullopt;
}

// An enum field: unknown strings, null and non-strings all map to kUnknown via `parse("")`.
template <typename Enum>
Enum EnumOf(const json* v, Enum (*parse)(std::string_view)) {
  return parse(v != nullptr && v->is_string() ? v->get_ref<const std::string&>() : "");
}

// Reads one value field with `read` and notes the field as an anomaly when it was unusable.
// A member that appears twice counts with its last value, its anomaly too.
template <typename Read>
auto Field(std::vector<std::string>& anomalies, std::string_view field, Read read) {
  bool bad = false;
  auto value = read(bad);
  const auto it = std::lower_bound(anomalies.begin(), anomalies.end(), field);
  if (it != anomalies.end() && *it == field) anomalies.erase(it);
  if (bad) NoteAnomaly(anomalies, field);
  return value;
}

// A number token too large for a double (1e400) fails nlohmann's parse as a whole (error
// 406). Such a body is read again with every such token replaced by ±1e308: the field then
// fails its range check like any absurd value instead of costing the whole answer. nullopt
// when the body has no such token (the error was something else).
std::optional<std::string> WithHugeNumbersCapped(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  bool changed = false;
  bool in_string = false;
  for (std::size_t i = 0; i < body.size();) {
    const char c = body[i];
    if (in_string) {
      const std::size_t stop = c == '\\' ? std::min(i + 2, body.size()) : i + 1;
      if (c == '"') in_string = false;
      out.append(body.substr(i, stop - i));
      i = stop;
      continue;
    }
    if (c == '"') in_string = true;
    if (c != '-' && (c < '0' || c > '9')) {
      out += c;
      ++i;
      continue;
    }
    std::size_t stop = i + 1;
    while (stop < body.size() &&
           std::string_view("0123456789+-.eE").find(body[stop]) != std::string_view::npos) {
      ++stop;
    }
    const std::string_view token = body.substr(i, stop - i);
    double value = 0;
    const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
    if (ec == std::errc::result_out_of_range) {
      out += token.front() == '-' ? "-1e308" : "1e308";
      changed = true;
    } else {
      out.append(token);
    }
    i = stop;
  }
  if (!changed) return std::nullopt;
  return out;
}

constexpr int kNumberOverflow = 406;  // nlohmann::json out_of_range.406

json ParseJsonObject(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    throw ParseError("empty body");
  }
  json doc;
  try {
    try {
      doc = json::parse(body.begin(), body.end());
    } catch (const json::out_of_range& e) {
      const auto capped = e.id == kNumberOverflow ? WithHugeNumbersCapped(body) : std::nullopt;
      if (!capped) throw ParseError("not JSON: a number out of range: " + Preview(body));
      doc = json::parse(capped->begin(), capped->end());
    }
  } catch (const json::exception& e) {
    // e.what() can quote part of the body, so only the byte offset is kept.
    const auto* parse_error = dynamic_cast<const json::parse_error*>(&e);
    throw ParseError("not JSON (byte " + std::to_string(parse_error ? parse_error->byte : 0) +
                     "): " + Preview(body));
  }
  if (!doc.is_object()) {
    throw ParseError(std::string("top level is ") + doc.type_name() + ", not an object");
  }
  return doc;
}

// --- Records --------------------------------------------------------------------------------

// A call record, member by member: the DOM reader (a single call, an insights body) and the
// streaming page reader feed the same values through it, so both read a record alike. A
// member that appears twice counts with its last value, as in a parsed document.
class CallBuilder {
  std::string prefix_;
  Call call_;
  std::string top_sip_code_;
  std::string nested_sip_code_;
  // The parties' numbers, read only to find the remote party's country in Finish.
  std::string from_;
  std::string to_;
  const CountryWanted* country_wanted_ = nullptr;  // null or empty: always looked up

  template <typename ReadValue>
  auto Read(std::string_view field, ReadValue read) {
    return Field(call_.anomalies, field, read);
  }
  std::optional<SystemTime> Time(std::string_view field, const json* v) {
    return Read(field, [v](bool& bad) { return TimestampOf(v, bad); });
  }

 public:
  explicit CallBuilder(std::string prefix, const CountryWanted* country_wanted = nullptr)
      : prefix_(std::move(prefix)), country_wanted_(country_wanted) {}

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
      call_.duration_seconds = Read("duration", [v](bool& bad) { return Int64Of(v, bad); });
    } else if (key == "hangupCauseCode") {
      call_.hangup_cause_code = Read("hangupCauseCode", [v](bool& bad) { return IntOf(v, bad); });
    } else if (key == "hangupSource") {
      call_.hangup_source = EnumOf(v, &ParseHangupSource);
    } else if (key == "createdAt") {
      call_.created_at = Time("createdAt", v);
    } else if (key == "updatedAt") {
      call_.updated_at = Time("updatedAt", v);
    } else if (key == "ringingAt") {
      call_.ringing_at = Time("ringingAt", v);
    } else if (key == "answeredAt") {
      call_.answered_at = Time("answeredAt", v);
    } else if (key == "endedAt") {
      call_.ended_at = Time("endedAt", v);
    } else if (key == "hangupSipCode") {
      top_sip_code_ = Read("hangupSipCode", [v](bool& bad) { return SipCodeOf(v, bad); });
    } else if (key == "from") {
      from_ = StringOf(v);
    } else if (key == "to") {
      to_ = StringOf(v);
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
      Read("sipInsights.hangupSipCode", [](bool&) { return 0; });
    } else {
      call_.mos.reset();
      call_.pdd_seconds.reset();
      Read("qualityInsights.mos", [](bool&) { return 0; });
      Read("qualityInsights.pdd", [](bool&) { return 0; });
    }
  }
  void BlockMember(std::string_view block, std::string_view key, const json* v) {
    if (block == "sipInsights") {
      if (key == "hangupSipCode") {
        nested_sip_code_ =
            Read("sipInsights.hangupSipCode", [v](bool& bad) { return SipCodeOf(v, bad); });
      }
    } else if (key == "mos") {
      call_.mos = Read("qualityInsights.mos", [v](bool& bad) { return NumberOf(v, bad); });
    } else if (key == "pdd") {
      call_.pdd_seconds = Read("qualityInsights.pdd", [v](bool& bad) { return NumberOf(v, bad); });
    }
  }

  Call Finish() {
    // The id is what every later step keys on (dedupe, insights lookup, state), so a record
    // without one cannot be used at all.
    if (call_.id.empty()) throw ParseError(prefix_ + "id is missing or not a non-empty string");
    // The call schema has a top-level `hangupSipCode`, but Bird's list example only carries
    // it inside `sipInsights`; the top level wins when both are there.
    call_.hangup_sip_code = top_sip_code_.empty() ? nested_sip_code_ : top_sip_code_;
    // Only an ended call is counted, so only then is the number looked up, and only once.
    if (IsTerminal(call_.status) &&
        (country_wanted_ == nullptr || !*country_wanted_ || (*country_wanted_)(call_.id))) {
      const std::string& remote = call_.direction == Direction::kOutgoing   ? to_
                                  : call_.direction == Direction::kIncoming ? from_
                                                                            : std::string();
      call_.remote_country = CountryOfNumber(remote);
    }
    return std::move(call_);
  }
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
  CallPageReader(std::string_view body, const CountryWanted& country_wanted)
      : body_(body), country_wanted_(country_wanted) {}

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

  // A number too large for a double: the caller reads the body again with it capped.
  struct NumberOverflow {};

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    if (e.id == kNumberOverflow) throw NumberOverflow{};
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
        record_.emplace(Where() + ".", &country_wanted_);
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
  const CountryWanted& country_wanted_;
};

MediaMetrics ParseMediaMetrics(const json& m, std::vector<std::string>& anomalies) {
  MediaMetrics media;
  const auto number = [&](const char* key) {
    return Field(anomalies, std::string("mediaMetrics.") + key,
                 [&](bool& bad) { return NumberOf(Member(m, key), bad); });
  };
  media.mos = number("mos");
  media.quality_score = number("qualityScore");
  media.in_bytes = number("inBytes");
  media.out_bytes = number("outBytes");
  media.in_packet_count = number("inPacketCount");
  media.out_packet_count = number("outPacketCount");
  media.in_media_packet_count = number("inMediaPacketCount");
  media.out_media_packet_count = number("outMediaPacketCount");
  media.in_dtmf_packet_count = number("inDtmfPacketCount");
  media.out_dtmf_packet_count = number("outDtmfPacketCount");
  media.jitter_min_var_ms2 = number("jitterMinVar");
  media.jitter_max_var_ms2 = number("jitterMaxVar");
  media.jitter_loss_rate = number("jitterLossRate");
  media.jitter_burst_rate = number("jitterBurstRate");
  media.mean_interval_ms = number("meanInterval");
  media.flaw_total = number("flawTotal");
  media.read_codec_name = String(m, "readCodecName");
  media.write_codec_name = String(m, "writeCodecName");
  return media;
}

}  // namespace

void NoteAnomaly(std::vector<std::string>& anomalies, std::string_view field) {
  const auto it = std::lower_bound(anomalies.begin(), anomalies.end(), field);
  if (it == anomalies.end() || *it != field) anomalies.insert(it, std::string(field));
}

void ClampFutureTimes(Call& call, SystemTime now, std::chrono::milliseconds tolerance) {
  const SystemTime latest = now + tolerance;
  const std::pair<std::optional<SystemTime>*, const char*> times[] = {
      {&call.created_at, "createdAt"},
      {&call.updated_at, "updatedAt"},
      {&call.answered_at, "answeredAt"},
      {&call.ended_at, "endedAt"}};
  for (const auto& [time, field] : times) {
    if (*time && **time > latest) {
      *time = latest;
      NoteAnomaly(call.anomalies, field);
    }
  }
}

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

CallPage ParseCallPage(std::string_view body, const CountryWanted& country_wanted) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    throw ParseError("empty body");
  }
  try {
    CallPageReader reader(body, country_wanted);
    json::sax_parse(body.begin(), body.end(), &reader);
    return reader.Take();
  } catch (const CallPageReader::NumberOverflow&) {
    const auto capped = WithHugeNumbersCapped(body);
    if (!capped) throw ParseError("not JSON: a number out of range: " + Preview(body));
    CallPageReader reader(*capped, country_wanted);
    try {
      json::sax_parse(capped->begin(), capped->end(), &reader);
    } catch (const CallPageReader::NumberOverflow&) {
      throw ParseError("not JSON: a number out of range: " + Preview(body));
    }
    return reader.Take();
  }
}

CallInsights ParseCallInsights(std::string_view body) {
  const json doc = ParseJsonObject(body);
  CallInsights insights;
  insights.call = ParseCall(doc, "");
  if (const json* signalling = ObjectMember(doc, "signallingMetrics", ""); signalling != nullptr) {
    insights.pdd_seconds = Field(insights.call.anomalies, "signallingMetrics.pdd", [&](bool& bad) {
      return NumberOf(Member(*signalling, "pdd"), bad);
    });
    insights.provider = StringOf(Member(*signalling, "providerName"));
    insights.edge_region = StringOf(Member(*signalling, "edgeRegion"));
  }
  if (const json* media = ObjectMember(doc, "mediaMetrics", ""); media != nullptr) {
    insights.has_media_metrics = true;
    insights.media = ParseMediaMetrics(*media, insights.call.anomalies);
  }
  return insights;
}

}  // namespace bird_exporter
