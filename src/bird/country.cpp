#include "bird/country.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>

namespace bird_exporter {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// E.164 has at most 15 digits; a longer text is not a number and is not handed on.
constexpr std::size_t kMaxPartyLength = 64;

// The ISO code of `number` read in `region` ("ZZ": international form only), or "unknown".
std::string RegionOf(const std::string& number, const std::string& region) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber parsed;
  if (util.Parse(number, region, &parsed) != PhoneNumberUtil::NO_PARSING_ERROR ||
      !util.IsValidNumber(parsed)) {
    return std::string(kUnknownCountry);
  }
  std::string country;
  util.GetRegionCodeForNumber(parsed, &country);
  // "001" is the non-geographic entity (+800, +808, +870, +881...), "ZZ" no region at all.
  const bool alpha2 =
      country.size() == 2 &&
      std::all_of(country.begin(), country.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  return alpha2 ? country : std::string(kUnknownCountry);
}

}  // namespace

std::string CountryOfNumber(std::string_view party, std::string_view default_region) {
  if (party.size() > kMaxPartyLength) return std::string(kUnknownCountry);
  if (party.starts_with("tel:")) party.remove_prefix(4);
  // What is left must be written like a phone number: a SIP URI (sip:, @), a WebRTC client id
  // ("client:<uuid>") or a name ("anonymous") is no number, even if it holds digits.
  std::string number;
  std::size_t digits = 0;
  for (const char c : party) {
    if (IsDigit(c)) {
      ++digits;
      number += c;
    } else if (c == '+' && number.empty()) {
      number += c;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
      return std::string(kUnknownCountry);
    }
  }
  if (digits == 0) return std::string(kUnknownCountry);
  if (number.starts_with("00")) number = "+" + number.substr(2);
  if (number[0] != '+' && !default_region.empty()) {
    // Written nationally in the home region, or Bird's E.164 digits without the '+'.
    const std::string national = RegionOf(number, std::string(default_region));
    if (national != kUnknownCountry) return national;
  }
  // A national trunk prefix with no home region to read it in means nothing.
  if (number[0] == '0') return std::string(kUnknownCountry);
  if (number[0] != '+') number = "+" + number;
  return RegionOf(number, "ZZ");
}

}  // namespace bird_exporter
