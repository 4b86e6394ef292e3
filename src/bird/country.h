// The country of a call's remote party, from its number, by libphonenumber.
// The number is read and forgotten: only the ISO 3166-1 alpha-2 code leaves this function.
#pragma once

#include <string>
#include <string_view>

namespace bird_exporter {

// The label value for a party whose country cannot be told.
inline constexpr std::string_view kUnknownCountry = "unknown";

// "NL", "US", ... for a valid phone number: E.164 with or without '+' (Bird writes
// "3197004499436"), "00" international prefix, "tel:" URIs, spaces, dashes and brackets.
// A national number ("020 123 4567") needs `default_region` (ISO code; empty: none, and the
// number is unknown). "unknown" for SIP URIs, WebRTC clients ("client:..."), withheld or
// anonymous parties, short codes, invalid numbers and non-geographic numbers (+800, +881).
std::string CountryOfNumber(std::string_view party, std::string_view default_region = {});

}  // namespace bird_exporter
