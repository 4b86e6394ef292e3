#include "metrics/hangup_cause.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

namespace bird_exporter {
namespace {

// --- Names --------------------------------------------------------------------------------

struct NameCase {
  int code;
  std::string_view name;
};

class HangupCauseNameTest : public ::testing::TestWithParam<NameCase> {};

TEST_P(HangupCauseNameTest, NamesCauseLikeFreeSwitchCauseChart) {
  EXPECT_EQ(HangupCauseName(GetParam().code), GetParam().name) << GetParam().code;
}

INSTANTIATE_TEST_SUITE_P(
    Chart, HangupCauseNameTest,
    ::testing::Values(NameCase{0, "NONE"}, NameCase{1, "UNALLOCATED_NUMBER"},
                      NameCase{16, "NORMAL_CLEARING"}, NameCase{17, "USER_BUSY"},
                      NameCase{19, "NO_ANSWER"}, NameCase{21, "CALL_REJECTED"},
                      NameCase{34, "NORMAL_CIRCUIT_CONGESTION"}, NameCase{127, "INTERWORKING"},
                      NameCase{487, "ORIGINATOR_CANCEL"}, NameCase{804, "MEDIA_TIMEOUT"},
                      // Codes missing from the chart print as FreeSWITCH prints them.
                      NameCase{47, "UNKNOWN"}, NameCase{4, "UNKNOWN"}, NameCase{128, "UNKNOWN"},
                      NameCase{999, "UNKNOWN"}, NameCase{-1, "UNKNOWN"}));

TEST(CauseClassTest, RendersEveryClassAsItsLabelValue) {
  EXPECT_EQ(ToString(CauseClass::kOk), "ok");
  EXPECT_EQ(ToString(CauseClass::kUser), "user");
  EXPECT_EQ(ToString(CauseClass::kAddress), "address");
  EXPECT_EQ(ToString(CauseClass::kPolicy), "policy");
  EXPECT_EQ(ToString(CauseClass::kNetwork), "network");
  EXPECT_EQ(ToString(CauseClass::kUnknown), "unknown");
}

// --- SIP codes ----------------------------------------------------------------------------

struct SipCase {
  std::string_view sip_code;
  CauseClass expected;
};

class ClassifySipCodeTest : public ::testing::TestWithParam<SipCase> {};

TEST_P(ClassifySipCodeTest, ClassifiesSipFinalResponse) {
  // Compared as label values so that a failure names the classes.
  EXPECT_EQ(ToString(ClassifySipCode(GetParam().sip_code)), ToString(GetParam().expected))
      << '"' << GetParam().sip_code << '"';
}

INSTANTIATE_TEST_SUITE_P(
    UserOutcomes, ClassifySipCodeTest,
    ::testing::Values(SipCase{"480", CauseClass::kUser}, SipCase{"486", CauseClass::kUser},
                      SipCase{"487", CauseClass::kUser}, SipCase{"600", CauseClass::kUser},
                      SipCase{"603", CauseClass::kUser}, SipCase{"607", CauseClass::kUser}));

INSTANTIATE_TEST_SUITE_P(PolicyOutcomes, ClassifySipCodeTest,
                         ::testing::Values(SipCase{"401", CauseClass::kPolicy},
                                           SipCase{"403", CauseClass::kPolicy},
                                           SipCase{"407", CauseClass::kPolicy},
                                           SipCase{"608", CauseClass::kPolicy}));

INSTANTIATE_TEST_SUITE_P(AddressOutcomes, ClassifySipCodeTest,
                         ::testing::Values(SipCase{"404", CauseClass::kAddress},
                                           SipCase{"410", CauseClass::kAddress},
                                           SipCase{"484", CauseClass::kAddress},
                                           SipCase{"485", CauseClass::kAddress},
                                           SipCase{"604", CauseClass::kAddress}));

INSTANTIATE_TEST_SUITE_P(
    NetworkOutcomes, ClassifySipCodeTest,
    ::testing::Values(SipCase{"408", CauseClass::kNetwork}, SipCase{"488", CauseClass::kNetwork},
                      SipCase{"606", CauseClass::kNetwork}, SipCase{"500", CauseClass::kNetwork},
                      SipCase{"502", CauseClass::kNetwork}, SipCase{"503", CauseClass::kNetwork},
                      SipCase{"504", CauseClass::kNetwork}, SipCase{"599", CauseClass::kNetwork}));

INSTANTIATE_TEST_SUITE_P(SuccessOutcomes, ClassifySipCodeTest,
                         ::testing::Values(SipCase{"200", CauseClass::kOk},
                                           SipCase{"202", CauseClass::kOk},
                                           SipCase{"299", CauseClass::kOk}));

INSTANTIATE_TEST_SUITE_P(
    UnmappedOrJunk, ClassifySipCodeTest,
    ::testing::Values(SipCase{"", CauseClass::kUnknown}, SipCase{"180", CauseClass::kUnknown},
                      SipCase{"302", CauseClass::kUnknown}, SipCase{"400", CauseClass::kUnknown},
                      SipCase{"abc", CauseClass::kUnknown}, SipCase{"20", CauseClass::kUnknown},
                      SipCase{"2000", CauseClass::kUnknown}, SipCase{"099", CauseClass::kUnknown},
                      SipCase{"700", CauseClass::kUnknown}, SipCase{"-486", CauseClass::kUnknown},
                      SipCase{" 486", CauseClass::kUnknown}, SipCase{"486 ", CauseClass::kUnknown},
                      SipCase{"486x", CauseClass::kUnknown},
                      SipCase{"48.6", CauseClass::kUnknown}));

// --- Hangups ------------------------------------------------------------------------------

struct HangupCase {
  const char* behaviour;
  std::optional<int> cause_code;
  std::string_view sip_code;
  bool answered;
  CauseClass expected;
};

class ClassifyHangupTest : public ::testing::TestWithParam<HangupCase> {};

TEST_P(ClassifyHangupTest, ClassifiesHangup) {
  const auto& c = GetParam();
  EXPECT_EQ(ToString(ClassifyHangup(c.cause_code, c.sip_code, c.answered)), ToString(c.expected))
      << c.behaviour;
}

std::string HangupCaseName(const ::testing::TestParamInfo<HangupCase>& info) {
  return info.param.behaviour;
}

INSTANTIATE_TEST_SUITE_P(
    NormalClearing, ClassifyHangupTest,
    ::testing::Values(
        HangupCase{"AnsweredNormalClearingIsOk", 16, "200", true, CauseClass::kOk},
        HangupCase{"AnsweredNormalClearingIsOkWhateverTheSipCode", 16, "503", true,
                   CauseClass::kOk},
        HangupCase{"UnansweredNormalClearingWithSip487IsUser", 16, "487", false, CauseClass::kUser},
        HangupCase{"UnansweredNormalClearingWithSip486IsUser", 16, "486", false, CauseClass::kUser},
        HangupCase{"UnansweredNormalClearingWithSip404IsAddress", 16, "404", false,
                   CauseClass::kAddress},
        HangupCase{"UnansweredNormalClearingWithSip403IsPolicy", 16, "403", false,
                   CauseClass::kPolicy},
        HangupCase{"UnansweredNormalClearingWithSip503IsNetwork", 16, "503", false,
                   CauseClass::kNetwork},
        HangupCase{"UnansweredNormalClearingWithSip200IsUnknown", 16, "200", false,
                   CauseClass::kUnknown},
        HangupCase{"UnansweredNormalClearingWithoutSipIsUnknown", 16, "", false,
                   CauseClass::kUnknown},
        HangupCase{"AnsweredAllottedTimeoutIsOk", 802, "200", true, CauseClass::kOk},
        HangupCase{"UnansweredAllottedTimeoutIsClassifiedBySip", 802, "487", false,
                   CauseClass::kUser}),
    HangupCaseName);

INSTANTIATE_TEST_SUITE_P(
    CallRejected, ClassifyHangupTest,
    ::testing::Values(
        HangupCase{"RejectedWithSip403IsPolicy", 21, "403", false, CauseClass::kPolicy},
        HangupCase{"RejectedWithSip401IsPolicy", 21, "401", false, CauseClass::kPolicy},
        HangupCase{"RejectedWithSip407IsPolicy", 21, "407", false, CauseClass::kPolicy},
        HangupCase{"RejectedWithSip603IsUser", 21, "603", false, CauseClass::kUser},
        HangupCase{"RejectedWithoutSipIsUser", 21, "", false, CauseClass::kUser},
        HangupCase{"RejectedWithSip503IsUser", 21, "503", false, CauseClass::kUser}),
    HangupCaseName);

INSTANTIATE_TEST_SUITE_P(
    ByCauseTable, ClassifyHangupTest,
    ::testing::Values(
        HangupCase{"UserBusyIsUser", 17, "486", false, CauseClass::kUser},
        HangupCase{"NoAnswerIsUser", 19, "", false, CauseClass::kUser},
        HangupCase{"UnallocatedNumberIsAddress", 1, "404", false, CauseClass::kAddress},
        HangupCase{"InvalidNumberFormatIsAddress", 28, "484", false, CauseClass::kAddress},
        HangupCase{"OutgoingCallBarredIsPolicy", 52, "403", false, CauseClass::kPolicy},
        HangupCase{"NormalTemporaryFailureIsNetwork", 41, "503", false, CauseClass::kNetwork},
        HangupCase{"IncompatibleDestinationIsNetwork", 88, "488", false, CauseClass::kNetwork},
        HangupCase{"InterworkingIsNetwork", 127, "", false, CauseClass::kNetwork},
        HangupCase{"NoneIsUnknown", 0, "", false, CauseClass::kUnknown},
        HangupCase{"UnansweredNormalUnspecifiedIsUser", 31, "480", false, CauseClass::kUser},
        HangupCase{"AnsweredNormalUnspecifiedIsOk", 31, "200", true, CauseClass::kOk},
        HangupCase{"OriginatorCancelIsUser", 487, "487", false, CauseClass::kUser},
        HangupCase{"MediaTimeoutIsNetwork", 804, "", true, CauseClass::kNetwork},
        HangupCase{"DoesNotExistAnywhereIsAddress", 817, "604", false, CauseClass::kAddress}),
    HangupCaseName);

INSTANTIATE_TEST_SUITE_P(
    UnnamedCodes, ClassifyHangupTest,
    ::testing::Values(
        HangupCase{"Unnamed47IsNetwork", 47, "", false, CauseClass::kNetwork},
        HangupCase{"Unnamed32IsNetwork", 32, "486", false, CauseClass::kNetwork},
        HangupCase{"Unnamed62IsNetwork", 62, "", false, CauseClass::kNetwork},
        HangupCase{"Unnamed126IsNetwork", 126, "200", true, CauseClass::kNetwork},
        HangupCase{"UnnamedNormalRangeIsClassifiedBySip", 8, "486", false, CauseClass::kUser},
        HangupCase{"UnnamedNormalRangeWithoutSipIsUnknown", 8, "", false, CauseClass::kUnknown},
        HangupCase{"UnnamedAbove127IsClassifiedBySip", 900, "404", false, CauseClass::kAddress},
        HangupCase{"NegativeCodeIsClassifiedBySip", -1, "503", false, CauseClass::kNetwork}),
    HangupCaseName);

INSTANTIATE_TEST_SUITE_P(
    MissingCode, ClassifyHangupTest,
    ::testing::Values(HangupCase{"MissingCodeAnsweredIsOk", std::nullopt, "", true,
                                 CauseClass::kOk},
                      HangupCase{"MissingCodeAnsweredIsOkWhateverTheSipCode", std::nullopt, "503",
                                 true, CauseClass::kOk},
                      HangupCase{"MissingCodeUnansweredWithSip486IsUser", std::nullopt, "486",
                                 false, CauseClass::kUser},
                      HangupCase{"MissingCodeUnansweredWithSip404IsAddress", std::nullopt, "404",
                                 false, CauseClass::kAddress},
                      HangupCase{"MissingCodeUnansweredWithSip502IsNetwork", std::nullopt, "502",
                                 false, CauseClass::kNetwork},
                      HangupCase{"MissingCodeUnansweredWithoutSipIsUnknown", std::nullopt, "",
                                 false, CauseClass::kUnknown}),
    HangupCaseName);

}  // namespace
}  // namespace bird_exporter
