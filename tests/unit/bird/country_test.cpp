#include "bird/country.h"

#include <gtest/gtest.h>

#include <string>

namespace bird_exporter {
namespace {

struct CountryCase {
  const char* party;
  const char* default_region;
  const char* country;
};

class CountryOfNumberTest : public ::testing::TestWithParam<CountryCase> {};

TEST_P(CountryOfNumberTest, ReadsTheRegion) {
  EXPECT_EQ(CountryOfNumber(GetParam().party, GetParam().default_region), GetParam().country)
      << GetParam().party << " in " << GetParam().default_region;
}

// Mobile and fixed numbers of each country as libphonenumber's metadata writes them, in the
// forms Bird and its users write them.
INSTANTIATE_TEST_SUITE_P(
    International, CountryOfNumberTest,
    ::testing::Values(
        // Bird's own form: E.164 digits without '+' (bird-api.md, the list example).
        CountryCase{"3197004499436", "", "NL"}, CountryCase{"351919150029", "", "PT"},
        CountryCase{"+31612345678", "", "NL"}, CountryCase{"31612345678", "", "NL"},
        CountryCase{"+351912345678", "", "PT"}, CountryCase{"+12015550123", "", "US"},
        CountryCase{"12015550123", "", "US"}, CountryCase{"+15062345678", "", "CA"},
        CountryCase{"+447400123456", "", "GB"}, CountryCase{"447400123456", "", "GB"},
        CountryCase{"+4915123456789", "", "DE"}, CountryCase{"+33612345678", "", "FR"},
        CountryCase{"+819012345678", "", "JP"}, CountryCase{"+5511961234567", "", "BR"},
        CountryCase{"+918123456789", "", "IN"}, CountryCase{"+61412345678", "", "AU"},
        CountryCase{"+8613123456789", "", "CN"}, CountryCase{"+27711234567", "", "ZA"},
        CountryCase{"+2348021234567", "", "NG"}, CountryCase{"+971501234567", "", "AE"},
        CountryCase{"+6581234567", "", "SG"}, CountryCase{"+79123456789", "", "RU"},
        CountryCase{"+34612345678", "", "ES"}, CountryCase{"+393123456789", "", "IT"},
        CountryCase{"+32470123456", "", "BE"},
        // Written for people: spaces, dashes, brackets, the 00 prefix, tel: URIs.
        CountryCase{"+31 10 123 4567", "", "NL"}, CountryCase{"+1 201-555-0123", "", "US"},
        CountryCase{"+81 3-1234-5678", "", "JP"}, CountryCase{"+55 11 2345-6789", "", "BR"},
        CountryCase{"0031612345678", "", "NL"}, CountryCase{"00447400123456", "", "GB"},
        CountryCase{"tel:+4930123456", "", "DE"}, CountryCase{"+44 (0)121 234 5678", "", "GB"}),
    [](const auto& info) { return "Case" + std::to_string(info.index); });

INSTANTIATE_TEST_SUITE_P(
    National, CountryOfNumberTest,
    ::testing::Values(
        CountryCase{"06 12345678", "NL", "NL"}, CountryCase{"010 123 4567", "NL", "NL"},
        CountryCase{"(201) 555-0123", "US", "US"}, CountryCase{"07400 123456", "GB", "GB"},
        CountryCase{"01512 3456789", "DE", "DE"}, CountryCase{"06 12 34 56 78", "FR", "FR"},
        CountryCase{"090-1234-5678", "JP", "JP"}, CountryCase{"0412 345 678", "AU", "AU"},
        CountryCase{"912 345 678", "PT", "PT"},
        // A home region does not stop an international number from being read as one.
        CountryCase{"3197004499436", "US", "NL"}, CountryCase{"+447400123456", "NL", "GB"},
        // A national number with no home region to read it in.
        CountryCase{"06 12345678", "", "unknown"}, CountryCase{"0201234567", "", "unknown"}),
    [](const auto& info) { return "Case" + std::to_string(info.index); });

INSTANTIATE_TEST_SUITE_P(
    Unknown, CountryOfNumberTest,
    ::testing::Values(
        CountryCase{"", "", "unknown"}, CountryCase{"anonymous", "", "unknown"},
        CountryCase{"Anonymous", "NL", "unknown"}, CountryCase{"withheld", "", "unknown"},
        CountryCase{"sip:+31612345678@sip.example.com", "", "unknown"},
        CountryCase{"sip:alice@example.com", "", "unknown"},
        CountryCase{"31612345678@trunk.example.com", "", "unknown"},
        CountryCase{"client:0a7d9b6e-3c1f-4d2a-9e8b-5f6a7b8c9d0e", "", "unknown"},
        // Short codes and numbers too short or too long for their country.
        CountryCase{"112", "", "unknown"}, CountryCase{"1234", "", "unknown"},
        CountryCase{"+3161234", "", "unknown"}, CountryCase{"+316123456789012", "", "unknown"},
        // Non-geographic: international freephone, satellite.
        CountryCase{"+80012345678", "", "unknown"}, CountryCase{"+881612345678", "", "unknown"},
        // Not a country code at all, stray '+', letters.
        CountryCase{"+999123456789", "", "unknown"}, CountryCase{"+31+612345678", "", "unknown"},
        CountryCase{"+31 6 CALL ME", "", "unknown"}, CountryCase{"+", "", "unknown"},
        CountryCase{"(  )", "", "unknown"}),
    [](const auto& info) { return "Case" + std::to_string(info.index); });

TEST(CountryOfNumber, RefusesALongTextWithoutReadingIt) {
  EXPECT_EQ(CountryOfNumber(std::string(65, '1')), "unknown");
  EXPECT_EQ(CountryOfNumber("+31612345678" + std::string(60, ' ')), "unknown");
}

}  // namespace
}  // namespace bird_exporter
