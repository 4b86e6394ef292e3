// Q.850 hangup causes: FreeSWITCH names and the ok|user|address|policy|network|unknown classes
// used for NER. Pure lookup tables; knows nothing about Prometheus.
#pragma once

#include <optional>
#include <string_view>

namespace bird_exporter {

enum class CauseClass { kOk, kUser, kAddress, kPolicy, kNetwork, kUnknown };

std::string_view ToString(CauseClass c);

// FreeSWITCH CAUSE_CHART name for a cause code ("NORMAL_CLEARING"); "UNKNOWN" when unnamed,
// as FreeSWITCH itself prints codes missing from its chart.
std::string_view HangupCauseName(int code);

// Class of a SIP final response code ("486" -> user); kUnknown when empty or unmapped.
CauseClass ClassifySipCode(std::string_view sip_code);

// Class of a hangup. Q.850 16 is ok only for an answered call: FreeSWITCH reports its internal
// causes (ORIGINATOR_CANCEL, MEDIA_TIMEOUT, ...) as 16 too, so an unanswered 16 is classified
// by the SIP code (487 = the caller gave up = user).
CauseClass ClassifyHangup(std::optional<int> cause_code, std::string_view sip_code, bool answered);

}  // namespace bird_exporter
