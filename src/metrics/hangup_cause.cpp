#include "metrics/hangup_cause.h"

#include <array>
#include <charconv>
#include <utility>

namespace bird_exporter {
namespace {

struct CauseEntry {
  int code;
  std::string_view name;
  CauseClass cause_class;
};

// FreeSWITCH switch_channel.c CAUSE_CHART, with the class of each cause from the Q.850 ranges
// and the NER conventions (ITU-T E.425). Codes above 127 are FreeSWITCH-internal.
constexpr std::array kCauses = {
    CauseEntry{0, "NONE", CauseClass::kUnknown},
    CauseEntry{1, "UNALLOCATED_NUMBER", CauseClass::kAddress},
    CauseEntry{2, "NO_ROUTE_TRANSIT_NET", CauseClass::kNetwork},
    CauseEntry{3, "NO_ROUTE_DESTINATION", CauseClass::kNetwork},
    CauseEntry{6, "CHANNEL_UNACCEPTABLE", CauseClass::kNetwork},
    CauseEntry{7, "CALL_AWARDED_DELIVERED", CauseClass::kOk},
    CauseEntry{16, "NORMAL_CLEARING", CauseClass::kOk},
    CauseEntry{17, "USER_BUSY", CauseClass::kUser},
    CauseEntry{18, "NO_USER_RESPONSE", CauseClass::kUser},
    CauseEntry{19, "NO_ANSWER", CauseClass::kUser},
    CauseEntry{20, "SUBSCRIBER_ABSENT", CauseClass::kUser},
    CauseEntry{21, "CALL_REJECTED", CauseClass::kUser},
    CauseEntry{22, "NUMBER_CHANGED", CauseClass::kAddress},
    CauseEntry{23, "REDIRECTION_TO_NEW_DESTINATION", CauseClass::kUser},
    CauseEntry{25, "EXCHANGE_ROUTING_ERROR", CauseClass::kNetwork},
    CauseEntry{27, "DESTINATION_OUT_OF_ORDER", CauseClass::kNetwork},
    CauseEntry{28, "INVALID_NUMBER_FORMAT", CauseClass::kAddress},
    CauseEntry{29, "FACILITY_REJECTED", CauseClass::kPolicy},
    CauseEntry{30, "RESPONSE_TO_STATUS_ENQUIRY", CauseClass::kUnknown},
    CauseEntry{31, "NORMAL_UNSPECIFIED", CauseClass::kUser},
    CauseEntry{34, "NORMAL_CIRCUIT_CONGESTION", CauseClass::kNetwork},
    CauseEntry{38, "NETWORK_OUT_OF_ORDER", CauseClass::kNetwork},
    CauseEntry{41, "NORMAL_TEMPORARY_FAILURE", CauseClass::kNetwork},
    CauseEntry{42, "SWITCH_CONGESTION", CauseClass::kNetwork},
    CauseEntry{43, "ACCESS_INFO_DISCARDED", CauseClass::kNetwork},
    CauseEntry{44, "REQUESTED_CHAN_UNAVAIL", CauseClass::kNetwork},
    CauseEntry{45, "PRE_EMPTED", CauseClass::kNetwork},
    CauseEntry{50, "FACILITY_NOT_SUBSCRIBED", CauseClass::kPolicy},
    CauseEntry{52, "OUTGOING_CALL_BARRED", CauseClass::kPolicy},
    CauseEntry{54, "INCOMING_CALL_BARRED", CauseClass::kPolicy},
    CauseEntry{57, "BEARERCAPABILITY_NOTAUTH", CauseClass::kPolicy},
    CauseEntry{58, "BEARERCAPABILITY_NOTAVAIL", CauseClass::kNetwork},
    CauseEntry{63, "SERVICE_UNAVAILABLE", CauseClass::kNetwork},
    CauseEntry{65, "BEARERCAPABILITY_NOTIMPL", CauseClass::kNetwork},
    CauseEntry{66, "CHAN_NOT_IMPLEMENTED", CauseClass::kNetwork},
    CauseEntry{69, "FACILITY_NOT_IMPLEMENTED", CauseClass::kNetwork},
    CauseEntry{79, "SERVICE_NOT_IMPLEMENTED", CauseClass::kNetwork},
    CauseEntry{81, "INVALID_CALL_REFERENCE", CauseClass::kNetwork},
    CauseEntry{88, "INCOMPATIBLE_DESTINATION", CauseClass::kNetwork},
    CauseEntry{95, "INVALID_MSG_UNSPECIFIED", CauseClass::kNetwork},
    CauseEntry{96, "MANDATORY_IE_MISSING", CauseClass::kNetwork},
    CauseEntry{97, "MESSAGE_TYPE_NONEXIST", CauseClass::kNetwork},
    CauseEntry{98, "WRONG_MESSAGE", CauseClass::kNetwork},
    CauseEntry{99, "IE_NONEXIST", CauseClass::kNetwork},
    CauseEntry{100, "INVALID_IE_CONTENTS", CauseClass::kNetwork},
    CauseEntry{101, "WRONG_CALL_STATE", CauseClass::kNetwork},
    CauseEntry{102, "RECOVERY_ON_TIMER_EXPIRE", CauseClass::kNetwork},
    CauseEntry{103, "MANDATORY_IE_LENGTH_ERROR", CauseClass::kNetwork},
    CauseEntry{111, "PROTOCOL_ERROR", CauseClass::kNetwork},
    CauseEntry{127, "INTERWORKING", CauseClass::kNetwork},
    CauseEntry{487, "ORIGINATOR_CANCEL", CauseClass::kUser},
    CauseEntry{702, "LOSE_RACE", CauseClass::kOk},
    CauseEntry{703, "MANAGER_REQUEST", CauseClass::kOk},
    CauseEntry{802, "ALLOTTED_TIMEOUT", CauseClass::kOk},
    CauseEntry{804, "MEDIA_TIMEOUT", CauseClass::kNetwork},
    CauseEntry{806, "USER_NOT_REGISTERED", CauseClass::kAddress},
    CauseEntry{807, "PROGRESS_TIMEOUT", CauseClass::kNetwork},
    CauseEntry{809, "GATEWAY_DOWN", CauseClass::kNetwork},
    CauseEntry{815, "BUSY_EVERYWHERE", CauseClass::kUser},
    CauseEntry{816, "DECLINE", CauseClass::kUser},
    CauseEntry{817, "DOES_NOT_EXIST_ANYWHERE", CauseClass::kAddress},
    CauseEntry{819, "UNWANTED", CauseClass::kUser},
};

const CauseEntry* FindCause(int code) {
  for (const auto& entry : kCauses) {
    if (entry.code == code) return &entry;
  }
  return nullptr;
}

std::optional<int> ParseSip(std::string_view sip_code) {
  int value = 0;
  const auto* end = sip_code.data() + sip_code.size();
  auto [ptr, ec] = std::from_chars(sip_code.data(), end, value);
  if (ec != std::errc() || ptr != end || value < 100 || value > 699) return std::nullopt;
  return value;
}

}  // namespace

std::string_view ToString(CauseClass c) {
  switch (c) {
    case CauseClass::kOk:
      return "ok";
    case CauseClass::kUser:
      return "user";
    case CauseClass::kAddress:
      return "address";
    case CauseClass::kPolicy:
      return "policy";
    case CauseClass::kNetwork:
      return "network";
    case CauseClass::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::string_view HangupCauseName(int code) {
  const CauseEntry* entry = FindCause(code);
  return entry ? entry->name : "UNKNOWN";
}

CauseClass ClassifySipCode(std::string_view sip_code) {
  const auto sip = ParseSip(sip_code);
  if (!sip) return CauseClass::kUnknown;
  switch (*sip) {
    // RFC 3261 §21 outcomes caused by the called party (domain notes §5).
    case 480:
    case 486:
    case 487:
    case 600:
    case 603:
    case 607:
      return CauseClass::kUser;
    case 401:
    case 403:
    case 407:
    case 608:
      return CauseClass::kPolicy;
    case 404:
    case 410:
    case 484:
    case 485:
    case 604:
      return CauseClass::kAddress;
    case 408:
    case 488:
    case 606:
      return CauseClass::kNetwork;
    default:
      break;
  }
  if (*sip >= 200 && *sip < 300) return CauseClass::kOk;
  if (*sip >= 500 && *sip < 600) return CauseClass::kNetwork;
  return CauseClass::kUnknown;
}

CauseClass ClassifyHangup(std::optional<int> cause_code, std::string_view sip_code, bool answered) {
  if (!cause_code) {
    if (answered) return CauseClass::kOk;
    return ClassifySipCode(sip_code);
  }
  const int code = *cause_code;
  if (code == 16 || code == 802) {
    if (answered) return CauseClass::kOk;
    // An unanswered "normal clearing" hides the real reason; the SIP code tells it.
    const CauseClass by_sip = ClassifySipCode(sip_code);
    return by_sip == CauseClass::kOk ? CauseClass::kUnknown : by_sip;
  }
  if (code == 21) {
    // CALL_REJECTED is the callee declining (603) unless SIP says authorisation refused it.
    const CauseClass by_sip = ClassifySipCode(sip_code);
    return by_sip == CauseClass::kPolicy ? CauseClass::kPolicy : CauseClass::kUser;
  }
  if (code == 31 && answered) return CauseClass::kOk;
  if (const CauseEntry* entry = FindCause(code)) return entry->cause_class;
  // Unnamed codes: Q.850 ranges 32-127 are resource, service, implementation, message and
  // interworking failures; the normal-event range 1-31 says nothing by itself.
  if (code >= 32 && code <= 127) return CauseClass::kNetwork;
  return ClassifySipCode(sip_code);
}

}  // namespace bird_exporter
