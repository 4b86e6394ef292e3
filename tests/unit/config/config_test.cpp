#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace bird_exporter {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

// Distinctive, so that a leak shows up in a plain substring search.
constexpr char kSecret[] = "sk-live-Zq8Tn3Wc9Pq-FAKE-SECRET-7731";
constexpr char kFileSecret[] = "sk-file-Hq2Vb7Ln4Rt-FAKE-SECRET-0042";

const std::map<std::string, std::string> kEnv = {
    {"BIRD_ACCESS_KEY", kSecret},
    {"EMPTY", ""},
    {"WS_ID", "ws-env"},
    {"TIMEOUT", "5s"},
    {"RPS", "12.5"},
};
const std::map<std::string, std::string> kFiles = {
    {"/run/secrets/bird", "  " + std::string(kFileSecret) + "\n"},
    {"/run/secrets/empty", " \n\n"},
};

std::optional<std::string> FakeEnv(const std::string& name) {
  const auto it = kEnv.find(name);
  return it == kEnv.end() ? std::nullopt : std::optional(it->second);
}

std::string FakeReadFile(const std::string& path) {
  const auto it = kFiles.find(path);
  if (it == kFiles.end()) throw std::runtime_error("No such file or directory");
  return it->second;
}

Config Parse(const std::string& yaml) { return ParseConfig(yaml, FakeEnv, FakeReadFile); }

std::string ErrorOf(const std::string& yaml) {
  try {
    Parse(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

// Shared pieces; line numbers in the cases below count from "bird:" as line 1.
const std::string kKey = "  access_key: ${BIRD_ACCESS_KEY}\n";
const std::string kWorkspaces = "workspaces:\n  - id: ws-1\n    channels:\n      - id: ch-1\n";

TEST(ParseConfig, ParsesFullConfigWithAllKeys) {
  const Config c = Parse(R"(bird:
  base_url: https://eu.api.bird.example/
  access_key: ${BIRD_ACCESS_KEY}
  request_timeout: 2s500ms
  max_requests_per_second: 12.5
  max_concurrent_requests: 4
  max_retries: 0
  page_size: 250
  max_list_body_size: 8MiB
  max_call_body_size: 131072
poll:
  interval: 1m
  initial_lookback: 1h
  insights_grace_period: 20m
  max_call_age: 1d
  list_overlap: 30s
  insights: poor
  poor_mos_threshold: 3.8
state_file: /var/lib/bird_call_exporter/state.json
workspaces:
  - id: 2d7c0b1e-aaaa-4bbb-8ccc-000000000001
    name: production
    channels:
      - id: 9f1e0000-0000-4000-8000-0000000000a1
        name: support-nl
      - id: 9f1e0000-0000-4000-8000-0000000000a2
  - id: ws-2
    channels: [{id: ch-9, name: sales}]
)");
  EXPECT_EQ(c.bird.base_url, "https://eu.api.bird.example");
  EXPECT_EQ(c.bird.access_key, kSecret);
  EXPECT_EQ(c.bird.access_key_file, "");
  EXPECT_EQ(c.bird.request_timeout, milliseconds(2500));
  EXPECT_EQ(c.bird.max_requests_per_second, 12.5);
  EXPECT_EQ(c.bird.max_concurrent_requests, 4);
  EXPECT_EQ(c.bird.max_retries, 0);
  EXPECT_EQ(c.bird.page_size, 250);
  EXPECT_EQ(c.bird.max_list_body_size, 8u << 20);
  EXPECT_EQ(c.bird.max_call_body_size, 131072u);
  EXPECT_EQ(c.poll.interval, minutes(1));
  EXPECT_EQ(c.poll.initial_lookback, hours(1));
  EXPECT_EQ(c.poll.insights_grace_period, minutes(20));
  EXPECT_EQ(c.poll.max_call_age, hours(24));
  EXPECT_EQ(c.poll.list_overlap, seconds(30));
  EXPECT_EQ(c.poll.insights, InsightsMode::kPoor);
  EXPECT_EQ(c.poll.poor_mos_threshold, 3.8);
  EXPECT_EQ(c.state_file, "/var/lib/bird_call_exporter/state.json");
  ASSERT_EQ(c.workspaces.size(), 2u);
  EXPECT_EQ(c.workspaces[0].id, "2d7c0b1e-aaaa-4bbb-8ccc-000000000001");
  EXPECT_EQ(c.workspaces[0].name, "production");
  ASSERT_EQ(c.workspaces[0].channels.size(), 2u);
  EXPECT_EQ(c.workspaces[0].channels[0].id, "9f1e0000-0000-4000-8000-0000000000a1");
  EXPECT_EQ(c.workspaces[0].channels[0].name, "support-nl");
  EXPECT_EQ(c.workspaces[0].channels[1].name, "9f1e0000-0000-4000-8000-0000000000a2");
  EXPECT_EQ(c.workspaces[1].name, "ws-2");
  ASSERT_EQ(c.workspaces[1].channels.size(), 1u);
  EXPECT_EQ(c.workspaces[1].channels[0].id, "ch-9");
  EXPECT_EQ(c.workspaces[1].channels[0].name, "sales");
}

TEST(ParseConfig, AppliesDefaultsToMinimalConfig) {
  const Config c = Parse("bird:\n" + kKey + kWorkspaces);
  const BirdSettings bird_defaults;
  const PollSettings poll_defaults;
  EXPECT_EQ(c.bird.base_url, "https://api.bird.com");
  EXPECT_EQ(c.bird.request_timeout, seconds(10));
  EXPECT_EQ(c.bird.max_requests_per_second, 20);
  EXPECT_EQ(c.bird.max_concurrent_requests, 8);
  EXPECT_EQ(c.bird.max_retries, 3);
  EXPECT_EQ(c.bird.page_size, 1000);
  EXPECT_EQ(c.bird.max_list_body_size, 4u << 20);
  EXPECT_EQ(c.bird.max_call_body_size, 256u << 10);
  EXPECT_EQ(c.poll.list_overlap, seconds(10));
  EXPECT_EQ(c.poll.insights, InsightsMode::kAll);
  EXPECT_EQ(c.poll.poor_mos_threshold, 3.6);
  EXPECT_EQ(c.poll.interval, seconds(30));
  EXPECT_EQ(c.poll.initial_lookback, minutes(10));
  EXPECT_EQ(c.poll.insights_grace_period, minutes(15));
  EXPECT_EQ(c.poll.max_call_age, hours(6));
  EXPECT_EQ(c.state_file, "");
  // The documented defaults are the structs' own.
  EXPECT_EQ(c.bird.base_url, bird_defaults.base_url);
  EXPECT_EQ(c.bird.request_timeout, bird_defaults.request_timeout);
  EXPECT_EQ(c.poll.max_call_age, poll_defaults.max_call_age);
}

TEST(ParseConfig, NameDefaultsToId) {
  const Config c = Parse("bird:\n" + kKey + kWorkspaces);
  ASSERT_EQ(c.workspaces.size(), 1u);
  EXPECT_EQ(c.workspaces[0].name, "ws-1");
  ASSERT_EQ(c.workspaces[0].channels.size(), 1u);
  EXPECT_EQ(c.workspaces[0].channels[0].name, "ch-1");
}

TEST(ParseConfig, ExpandsVariablesInEveryStringScalar) {
  const Config c = Parse(R"(bird:
  access_key: pre-${BIRD_ACCESS_KEY}-$post$
  request_timeout: ${TIMEOUT}
  max_requests_per_second: ${RPS}
state_file: /data/${WS_ID}/state.json
workspaces:
  - id: ${WS_ID}
    name: name-${WS_ID}
    channels: [{id: ch-1, name: "${EMPTY}x"}]
)");
  EXPECT_EQ(c.bird.access_key, "pre-" + std::string(kSecret) + "-$post$");
  EXPECT_EQ(c.bird.request_timeout, seconds(5));
  EXPECT_EQ(c.bird.max_requests_per_second, 12.5);
  EXPECT_EQ(c.state_file, "/data/ws-env/state.json");
  EXPECT_EQ(c.workspaces[0].id, "ws-env");
  EXPECT_EQ(c.workspaces[0].name, "name-ws-env");
  EXPECT_EQ(c.workspaces[0].channels[0].name, "x");
}

TEST(ParseConfig, NamesUnsetAccessKeyVariable) {
  const EnvLookup no_env = [](const std::string&) { return std::optional<std::string>(); };
  try {
    ParseConfig(
        "bird:\n  base_url: https://api.bird.com\n  access_key: ${BIRD_ACCESS_KEY}\n" + kWorkspaces,
        no_env, FakeReadFile);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(
        e.what(),
        "config: bird.access_key (line 3): environment variable BIRD_ACCESS_KEY is not set");
  }
}

TEST(ParseConfig, ReadsAccessKeyFileThroughInjectedReader) {
  std::vector<std::string> paths_read;
  const FileReader reader = [&](const std::string& path) {
    paths_read.push_back(path);
    return FakeReadFile(path);
  };
  const Config c =
      ParseConfig("bird:\n  access_key_file: /run/secrets/bird\n" + kWorkspaces, FakeEnv, reader);
  EXPECT_EQ(paths_read, std::vector<std::string>{"/run/secrets/bird"});
  EXPECT_EQ(c.bird.access_key, kFileSecret);  // surrounding whitespace and newline stripped
  EXPECT_EQ(c.bird.access_key_file, "/run/secrets/bird");
}

TEST(ParseConfig, DoesNotReadFilesForInlineKey) {
  const FileReader reader = [](const std::string& path) -> std::string {
    ADD_FAILURE() << "unexpected read of " << path;
    return "";
  };
  EXPECT_EQ(ParseConfig("bird:\n" + kKey + kWorkspaces, FakeEnv, reader).bird.access_key, kSecret);
}

class AllowsPlainHttpOnLoopback
    : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(AllowsPlainHttpOnLoopback, KeepsUrlWithoutTrailingSlash) {
  const auto& [url, expected] = GetParam();
  EXPECT_EQ(Parse("bird:\n" + kKey + "  base_url: " + url + "\n" + kWorkspaces).bird.base_url,
            expected);
}

INSTANTIATE_TEST_SUITE_P(
    Urls, AllowsPlainHttpOnLoopback,
    ::testing::Values(std::pair("http://localhost:8080/", "http://localhost:8080"),
                      std::pair("http://LocalHost", "http://LocalHost"),
                      std::pair("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
                      std::pair("http://127.8.9.10/bird/", "http://127.8.9.10/bird"),
                      std::pair("http://[::1]:8080", "http://[::1]:8080"),
                      std::pair("https://api.bird.com/", "https://api.bird.com"),
                      std::pair("https://[2001:db8::1]:443/v1", "https://[2001:db8::1]:443/v1")));

struct ErrorCase {
  std::string name;  // states the behaviour; becomes the test name
  std::string yaml;
  std::string expected;
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class RejectsInvalidConfig : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(RejectsInvalidConfig, WithExactMessage) {
  const std::string message = ErrorOf(GetParam().yaml);
  EXPECT_EQ(message, GetParam().expected);
  EXPECT_THAT(message, Not(HasSubstr(kSecret)));
  EXPECT_THAT(message, Not(HasSubstr(kFileSecret)));
}

std::string CaseName(const ::testing::TestParamInfo<ErrorCase>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(
    Document, RejectsInvalidConfig,
    ::testing::Values(
        ErrorCase{"SyntaxErrorWithLine", "bird:\n" + kKey + "  base_url: [oops\nworkspaces: 2\n",
                  "config: line 4: end of sequence flow not found"},
        ErrorCase{"EmptyDocument", "", "config: document is empty"},
        ErrorCase{"CommentOnlyDocument", "# nothing here\n", "config: document is empty"},
        ErrorCase{"TopLevelList", "- bird\n- workspaces\n",
                  "config: line 1: top level must be a mapping"},
        ErrorCase{"TopLevelScalar", "\n\nhello\n", "config: line 3: top level must be a mapping"}),
    CaseName);

INSTANTIATE_TEST_SUITE_P(
    Keys, RejectsInvalidConfig,
    ::testing::Values(
        ErrorCase{"UnknownKeyWithLine", "bird:\n" + kKey + "  colour: red\n" + kWorkspaces,
                  "config: bird.colour (line 3): unknown key"},
        ErrorCase{"UnknownTopLevelKey", "bird:\n" + kKey + "listen: :9000\n" + kWorkspaces,
                  "config: listen (line 3): unknown key"},
        ErrorCase{"UnknownPollKey", "bird:\n" + kKey + "poll:\n  intervall: 30s\n" + kWorkspaces,
                  "config: poll.intervall (line 4): unknown key; did you mean poll.interval?"},
        ErrorCase{"KeyOfAnotherSection", "bird:\n" + kKey + "  interval: 30s\n" + kWorkspaces,
                  "config: bird.interval (line 3): unknown key; did you mean poll.interval?"},
        ErrorCase{"MisspeltBirdKey", "bird:\n" + kKey + "  max_retry: 3\n" + kWorkspaces,
                  "config: bird.max_retry (line 3): unknown key; did you mean bird.max_retries?"},
        ErrorCase{"MisspeltTopLevelKey", "bird:\n" + kKey + "workspace:\n  - id: w\n",
                  "config: workspaces (line 1): required key missing\n"
                  "config: workspace (line 3): unknown key; did you mean workspaces?"},
        ErrorCase{"UnknownChannelKey",
                  "bird:\n" + kKey +
                      "workspaces:\n  - id: ws-1\n    channels:\n      - id: c\n"
                      "        labels: {}\n",
                  "config: workspaces[0].channels[0].labels (line 7): unknown key"},
        ErrorCase{"RepeatedKey",
                  "bird:\n" + kKey + "  max_retries: 1\n  max_retries: 2\n" + kWorkspaces,
                  "config: bird.max_retries (line 4): duplicate key"},
        ErrorCase{"MissingBirdSection", kWorkspaces, "config: bird (line 1): required key missing"},
        ErrorCase{"BirdNotAMapping", "bird: yes\n" + kWorkspaces,
                  "config: bird (line 1): expected a mapping"},
        ErrorCase{"PollNotAMapping", "bird:\n" + kKey + "poll: 30s\n" + kWorkspaces,
                  "config: poll (line 3): expected a mapping"},
        ErrorCase{"NullValue", "bird:\n" + kKey + "state_file:\n" + kWorkspaces,
                  "config: state_file (line 3): is empty; expected a string"},
        ErrorCase{"ListWhereStringExpected",
                  "bird:\n" + kKey + "state_file: [a, b]\n" + kWorkspaces,
                  "config: state_file (line 3): expected a string"}),
    CaseName);

INSTANTIATE_TEST_SUITE_P(
    AccessKey, RejectsInvalidConfig,
    ::testing::Values(
        ErrorCase{"NeitherAccessKeyNorFile",
                  "bird:\n  base_url: https://api.bird.com\n" + kWorkspaces,
                  "config: bird.access_key (line 1): required key missing (or set "
                  "access_key_file)"},
        ErrorCase{"BothAccessKeyAndFile",
                  "bird:\n" + kKey + "  access_key_file: /run/secrets/bird\n" + kWorkspaces,
                  "config: bird.access_key_file (line 3): cannot be combined with access_key"},
        ErrorCase{"EmptyAccessKey", "bird:\n  access_key: \"\"\n" + kWorkspaces,
                  "config: bird.access_key (line 2): is empty"},
        ErrorCase{"AccessKeyEmptyAfterExpansion", "bird:\n  access_key: ${EMPTY}\n" + kWorkspaces,
                  "config: bird.access_key (line 2): is empty"},
        ErrorCase{"UnsetVariable", "bird:\n  access_key: ${UNSET_KEY}\n" + kWorkspaces,
                  "config: bird.access_key (line 2): environment variable UNSET_KEY is not set"},
        ErrorCase{"UnsetVariableInOtherField",
                  "bird:\n" + kKey + "state_file: ${STATE_DIR}/state.json\n" + kWorkspaces,
                  "config: state_file (line 3): environment variable STATE_DIR is not set"},
        ErrorCase{"VariableNameStartingWithDigit", "bird:\n  access_key: ${1KEY}\n" + kWorkspaces,
                  "config: bird.access_key (line 2): invalid environment variable reference; "
                  "expected ${NAME}"},
        ErrorCase{"EmptyVariableName", "bird:\n  access_key: a${}b\n" + kWorkspaces,
                  "config: bird.access_key (line 2): invalid environment variable reference; "
                  "expected ${NAME}"},
        ErrorCase{"UnterminatedVariable", "bird:\n  access_key: ${BIRD_ACCESS_KEY\n" + kWorkspaces,
                  "config: bird.access_key (line 2): invalid environment variable reference; "
                  "expected ${NAME}"},
        ErrorCase{"UnreadableAccessKeyFile",
                  "bird:\n  access_key_file: /run/secrets/missing\n" + kWorkspaces,
                  "config: bird.access_key_file (line 2): cannot read \"/run/secrets/missing\": No "
                  "such file or directory"},
        ErrorCase{"EmptyAccessKeyFile",
                  "bird:\n  access_key_file: /run/secrets/empty\n" + kWorkspaces,
                  "config: bird.access_key_file (line 2): \"/run/secrets/empty\" is empty"},
        ErrorCase{"EmptyAccessKeyFilePath", "bird:\n  access_key_file: ''\n" + kWorkspaces,
                  "config: bird.access_key_file (line 2): is empty"}),
    CaseName);

INSTANTIATE_TEST_SUITE_P(
    BaseUrl, RejectsInvalidConfig,
    ::testing::Values(
        ErrorCase{"PlainHttpOnPublicHost",
                  "bird:\n" + kKey + "  base_url: http://api.bird.com\n" + kWorkspaces,
                  "config: bird.base_url (line 3): plain http:// is only allowed for a loopback "
                  "host (localhost, 127.0.0.0/8, [::1]); use https://"},
        ErrorCase{"PlainHttpOnLoopbackLookalike",
                  "bird:\n" + kKey + "  base_url: http://127.0.0.1.example.com\n" + kWorkspaces,
                  "config: bird.base_url (line 3): plain http:// is only allowed for a loopback "
                  "host (localhost, 127.0.0.0/8, [::1]); use https://"},
        ErrorCase{"PlainHttpOnOtherIpv6",
                  "bird:\n" + kKey + "  base_url: http://[::2]:80\n" + kWorkspaces,
                  "config: bird.base_url (line 3): plain http:// is only allowed for a loopback "
                  "host (localhost, 127.0.0.0/8, [::1]); use https://"},
        ErrorCase{"OtherScheme",
                  "bird:\n" + kKey + "  base_url: ftp://api.bird.com\n" + kWorkspaces,
                  "config: bird.base_url (line 3): invalid URL \"ftp://api.bird.com\": must start "
                  "with http:// or https://"},
        ErrorCase{"UrlWithoutScheme", "bird:\n" + kKey + "  base_url: api.bird.com\n" + kWorkspaces,
                  "config: bird.base_url (line 3): invalid URL \"api.bird.com\": must start with "
                  "http:// or https://"},
        ErrorCase{"UrlWithoutHost", "bird:\n" + kKey + "  base_url: https:///v1\n" + kWorkspaces,
                  "config: bird.base_url (line 3): invalid URL \"https:///v1\": missing host"},
        ErrorCase{"UrlWithBadPort",
                  "bird:\n" + kKey + "  base_url: https://api.bird.com:x\n" + kWorkspaces,
                  "config: bird.base_url (line 3): invalid URL \"https://api.bird.com:x\": invalid "
                  "port"},
        ErrorCase{"UrlWithQuery",
                  "bird:\n" + kKey + "  base_url: https://api.bird.com/?a=1\n" + kWorkspaces,
                  "config: bird.base_url (line 3): invalid URL \"https://api.bird.com/?a=1\": must "
                  "not have a query or fragment"},
        ErrorCase{
            "UrlWithCredentials",
            "bird:\n" + kKey + "  base_url: https://user:hunter2@api.bird.com\n" + kWorkspaces,
            "config: bird.base_url (line 3): must not contain credentials"}),
    CaseName);

INSTANTIATE_TEST_SUITE_P(
    Numbers, RejectsInvalidConfig,
    ::testing::Values(
        ErrorCase{"WordForInteger",
                  "bird:\n" + kKey + "  max_concurrent_requests: lots\n" + kWorkspaces,
                  "config: bird.max_concurrent_requests (line 3): expected an integer"},
        ErrorCase{"FractionForInteger", "bird:\n" + kKey + "  page_size: 2.5\n" + kWorkspaces,
                  "config: bird.page_size (line 3): expected an integer"},
        ErrorCase{"ConcurrencyZero",
                  "bird:\n" + kKey + "  max_concurrent_requests: 0\n" + kWorkspaces,
                  "config: bird.max_concurrent_requests (line 3): must be between 1 and 64"},
        ErrorCase{"ConcurrencyAboveMax",
                  "bird:\n" + kKey + "  max_concurrent_requests: 65\n" + kWorkspaces,
                  "config: bird.max_concurrent_requests (line 3): must be between 1 and 64"},
        ErrorCase{
            "ConcurrencyHuge",
            "bird:\n" + kKey + "  max_concurrent_requests: 99999999999999999999\n" + kWorkspaces,
            "config: bird.max_concurrent_requests (line 3): must be between 1 and 64"},
        ErrorCase{"NegativeRetries", "bird:\n" + kKey + "  max_retries: -1\n" + kWorkspaces,
                  "config: bird.max_retries (line 3): must be between 0 and 10"},
        ErrorCase{"TooManyRetries", "bird:\n" + kKey + "  max_retries: 11\n" + kWorkspaces,
                  "config: bird.max_retries (line 3): must be between 0 and 10"},
        ErrorCase{"PageSizeAboveMax", "bird:\n" + kKey + "  page_size: 1001\n" + kWorkspaces,
                  "config: bird.page_size (line 3): must be between 1 and 1000"},
        ErrorCase{"TabIndentation", "bird:\n" + kKey + "\tpage_size: 10\n" + kWorkspaces,
                  "config: line 3, column 1: tabs are not allowed in YAML indentation; indent "
                  "with spaces"},
        ErrorCase{"TabAfterSpaces", "bird:\n" + kKey + "  \tpage_size: 10\n" + kWorkspaces,
                  "config: line 3, column 3: tabs are not allowed in YAML indentation; indent "
                  "with spaces"},
        ErrorCase{"BodySizeWithDecimalUnit",
                  "bird:\n" + kKey + "  max_list_body_size: 4MB\n" + kWorkspaces,
                  "config: bird.max_list_body_size (line 3): expected a size such as 4MiB, "
                  "256KiB or 262144 (bytes)"},
        ErrorCase{"BodySizeNegative", "bird:\n" + kKey + "  max_call_body_size: -1\n" + kWorkspaces,
                  "config: bird.max_call_body_size (line 3): expected a size such as 4MiB, "
                  "256KiB or 262144 (bytes)"},
        ErrorCase{"BodySizeTooLarge",
                  "bird:\n" + kKey + "  max_list_body_size: 1024MiB\n" + kWorkspaces,
                  "config: bird.max_list_body_size (line 3): must be between 64KiB and 256MiB"},
        ErrorCase{"BodySizeTooSmall",
                  "bird:\n" + kKey + "  max_call_body_size: 1KiB\n" + kWorkspaces,
                  "config: bird.max_call_body_size (line 3): must be between 16KiB and 64MiB"},
        ErrorCase{"WordForRate",
                  "bird:\n" + kKey + "  max_requests_per_second: fast\n" + kWorkspaces,
                  "config: bird.max_requests_per_second (line 3): expected a number"},
        ErrorCase{"RateZero", "bird:\n" + kKey + "  max_requests_per_second: 0\n" + kWorkspaces,
                  "config: bird.max_requests_per_second (line 3): must be greater than 0 and at "
                  "most 50"},
        ErrorCase{"RateAboveBirdLimit",
                  "bird:\n" + kKey + "  max_requests_per_second: 50.5\n" + kWorkspaces,
                  "config: bird.max_requests_per_second (line 3): must be greater than 0 and at "
                  "most 50"},
        ErrorCase{"RateNan", "bird:\n" + kKey + "  max_requests_per_second: nan\n" + kWorkspaces,
                  "config: bird.max_requests_per_second (line 3): must be greater than 0 and at "
                  "most 50"}),
    CaseName);

INSTANTIATE_TEST_SUITE_P(
    Durations, RejectsInvalidConfig,
    ::testing::Values(
        ErrorCase{"DurationInWords",
                  "bird:\n" + kKey + "  request_timeout: 10 seconds\n" + kWorkspaces,
                  "config: bird.request_timeout (line 3): invalid duration \"10 seconds\"; "
                  "use a whole number with a unit, largest first: 500ms, 30s, 5m, 1h30m, 7d"},
        ErrorCase{"FractionalDuration",
                  "bird:\n" + kKey + "poll:\n  interval: 1.5s\n" + kWorkspaces,
                  "config: poll.interval (line 4): invalid duration \"1.5s\"; use a "
                  "whole number with a unit, largest first: 500ms, 30s, 5m, 1h30m, 7d"},
        ErrorCase{"DurationWithoutUnit",
                  "bird:\n" + kKey + "poll:\n  initial_lookback: 600\n" + kWorkspaces,
                  "config: poll.initial_lookback (line 4): invalid duration \"600\"; use "
                  "a whole number with a unit, largest first: 500ms, 30s, 5m, 1h30m, 7d"},
        ErrorCase{"ListForDuration",
                  "bird:\n" + kKey + "poll:\n  max_call_age: [6h]\n" + kWorkspaces,
                  "config: poll.max_call_age (line 4): expected a duration"},
        ErrorCase{"ZeroRequestTimeout", "bird:\n" + kKey + "  request_timeout: 0s\n" + kWorkspaces,
                  "config: bird.request_timeout (line 3): must be greater than 0s"},
        ErrorCase{"ZeroPollInterval", "bird:\n" + kKey + "poll:\n  interval: 0ms\n" + kWorkspaces,
                  "config: poll.interval (line 4): must be greater than 0s"},
        ErrorCase{"MaxCallAgeBelowInterval",
                  "bird:\n" + kKey + "poll:\n  interval: 1m\n  max_call_age: 30s\n" + kWorkspaces,
                  "config: poll.max_call_age (line 5): must be at least poll.interval (1m)"},
        ErrorCase{"IntervalAboveDefaultMaxCallAge",
                  "bird:\n" + kKey + "poll:\n  interval: 6h1ms\n" + kWorkspaces,
                  "config: poll.interval (line 4): must not exceed poll.max_call_age (6h)"},
        ErrorCase{"OverlapTooLong", "bird:\n" + kKey + "poll:\n  list_overlap: 11m\n" + kWorkspaces,
                  "config: poll.list_overlap (line 4): must be at most 10m"},
        ErrorCase{"UnknownInsightsMode",
                  "bird:\n" + kKey + "poll:\n  insights: some\n" + kWorkspaces,
                  "config: poll.insights (line 4): must be one of all, poor, none (got \"some\")"},
        ErrorCase{"MosThresholdOutOfRange",
                  "bird:\n" + kKey + "poll:\n  poor_mos_threshold: 6\n" + kWorkspaces,
                  "config: poll.poor_mos_threshold (line 4): must be between 1 and 5"}),
    CaseName);

INSTANTIATE_TEST_SUITE_P(
    Workspaces, RejectsInvalidConfig,
    ::testing::Values(
        ErrorCase{"MissingWorkspaces", "bird:\n" + kKey,
                  "config: workspaces (line 1): required key missing"},
        ErrorCase{"NoWorkspaces", "bird:\n" + kKey + "workspaces: []\n",
                  "config: workspaces (line 3): must list at least one workspace"},
        ErrorCase{"WorkspacesNotAList", "bird:\n" + kKey + "workspaces:\n  id: ws-1\n",
                  "config: workspaces (line 3): expected a list"},
        ErrorCase{"WorkspaceNotAMapping", "bird:\n" + kKey + "workspaces:\n  - ws-1\n",
                  "config: workspaces[0] (line 4): expected a mapping"},
        ErrorCase{"MissingWorkspaceId",
                  "bird:\n" + kKey + "workspaces:\n  - name: prod\n    channels: [{id: c}]\n",
                  "config: workspaces[0].id (line 4): required key missing"},
        ErrorCase{"EmptyWorkspaceId",
                  "bird:\n" + kKey + "workspaces:\n  - id: ''\n    channels: [{id: c}]\n",
                  "config: workspaces[0].id (line 4): is empty"},
        ErrorCase{"IdThatWouldChangeTheRequestPath",
                  "bird:\n" + kKey + "workspaces:\n  - id: ws/../x\n    channels: [{id: c}]\n",
                  "config: workspaces[0].id (line 4): id \"ws/../x\" may contain only letters, "
                  "digits, '-' and '_'"},
        ErrorCase{"EmptyWorkspaceName",
                  "bird:\n" + kKey +
                      "workspaces:\n  - id: ws-1\n    name: ''\n"
                      "    channels: [{id: c}]\n",
                  "config: workspaces[0].name (line 5): is empty"},
        ErrorCase{"MissingChannels", "bird:\n" + kKey + "workspaces:\n  - id: ws-1\n",
                  "config: workspaces[0].channels (line 4): required key missing"},
        ErrorCase{"NoChannels", "bird:\n" + kKey + "workspaces:\n  - id: ws-1\n    channels: []\n",
                  "config: workspaces[0].channels (line 5): must list at least one channel"},
        ErrorCase{"MissingChannelId",
                  "bird:\n" + kKey +
                      "workspaces:\n  - id: ws-1\n    channels:\n      - id: ch-1\n"
                      "      - name: support\n",
                  "config: workspaces[0].channels[1].id (line 7): required key missing"},
        ErrorCase{"EmptyChannelName",
                  "bird:\n" + kKey +
                      "workspaces:\n  - id: ws-1\n    channels:\n      - id: ch-1\n"
                      "        name: \"\"\n",
                  "config: workspaces[0].channels[0].name (line 7): is empty"},
        ErrorCase{"DuplicateWorkspaceId",
                  "bird:\n" + kKey +
                      "workspaces:\n  - id: ws-1\n    channels: [{id: ch-1}]\n"
                      "  - id: ws-1\n    name: other\n    channels: [{id: ch-2}]\n",
                  "config: workspaces[1].id (line 6): duplicate workspace id \"ws-1\" (also used "
                  "by workspaces[0])"},
        ErrorCase{"DuplicateChannelId",
                  "bird:\n" + kKey +
                      "workspaces:\n  - id: ws-1\n    channels:\n      - id: ch-1\n"
                      "      - id: ch-1\n        name: again\n",
                  "config: workspaces[0].channels[1].id (line 7): duplicate channel id \"ch-1\" "
                  "(also used by workspaces[0].channels[0])"},
        ErrorCase{
            "DuplicateLabelPairAcrossWorkspaces",
            "bird:\n" + kKey +
                "workspaces:\n  - id: ws-1\n    name: prod\n"
                "    channels: [{id: ch-1, name: support}]\n  - id: ws-2\n    name: prod\n"
                "    channels:\n      - id: ch-2\n        name: support\n",
            "config: workspaces[1].channels[0] (line 10): duplicate labels "
            "workspace=\"prod\" channel=\"support\" (also used by workspaces[0].channels[0])"},
        ErrorCase{"DuplicateLabelPairFromDefaultName",
                  "bird:\n" + kKey +
                      "workspaces:\n  - id: ws-1\n    channels:\n"
                      "      - {id: ch-1, name: ch-2}\n      - id: ch-2\n",
                  "config: workspaces[0].channels[1] (line 7): duplicate labels workspace=\"ws-1\" "
                  "channel=\"ch-2\" (also used by workspaces[0].channels[0])"}),
    CaseName);

INSTANTIATE_TEST_SUITE_P(
    EveryError, RejectsInvalidConfig,
    ::testing::Values(
        ErrorCase{"EveryErrorOfTheFileInLineOrder",
                  "bird:\n" + kKey +
                      "  page_size: 0\n  request_timeout: soon\n  colour: red\n"
                      "poll:\n  interval: 30\n  insights: some\n"
                      "workspaces:\n  - id: ''\n    channels: [{id: c, nam: x}]\n"
                      "  - id: w2\n    channels: []\n",
                  "config: bird.page_size (line 3): must be between 1 and 1000\n"
                  "config: bird.request_timeout (line 4): invalid duration \"soon\"; use a whole "
                  "number with a unit, largest first: 500ms, 30s, 5m, 1h30m, 7d\n"
                  "config: bird.colour (line 5): unknown key\n"
                  "config: poll.interval (line 7): invalid duration \"30\"; use a whole number "
                  "with a unit, largest first: 500ms, 30s, 5m, 1h30m, 7d\n"
                  "config: poll.insights (line 8): must be one of all, poor, none (got \"some\")\n"
                  "config: workspaces[0].id (line 10): is empty\n"
                  "config: workspaces[0].channels[0].nam (line 11): unknown key; did you mean "
                  "workspaces[0].channels[0].name?\n"
                  "config: workspaces[1].channels (line 13): must list at least one channel"},
        ErrorCase{"AtMostTwentyErrors",
                  [] {
                    std::string yaml = "bird:\n" + kKey;
                    for (int i = 0; i < 25; ++i) {
                      yaml += "  k";
                      yaml += std::to_string(i);
                      yaml += ": 1\n";
                    }
                    return yaml + kWorkspaces;
                  }(),
                  [] {
                    std::string text;
                    for (int i = 0; i < 20; ++i) {
                      text += "config: bird.k";
                      text += std::to_string(i);
                      text += " (line ";
                      text += std::to_string(i + 3);
                      text += "): unknown key\n";
                    }
                    return text + "config: 5 more errors";
                  }()}),
    CaseName);

// The secret may reach a message by other routes than the access_key field itself.
INSTANTIATE_TEST_SUITE_P(
    SecretElsewhere, RejectsInvalidConfig,
    ::testing::Values(
        ErrorCase{"SecretExpandedIntoDuration",
                  "bird:\n" + kKey + "  request_timeout: ${BIRD_ACCESS_KEY}\n" + kWorkspaces,
                  "config: bird.request_timeout (line 3): invalid duration \"${BIRD_ACCESS_KEY}\"; "
                  "use a whole number with a unit, largest first: 500ms, 30s, 5m, 1h30m, 7d"},
        ErrorCase{"SecretExpandedIntoId",
                  "bird:\n" + kKey +
                      "workspaces:\n  - id: x.${BIRD_ACCESS_KEY}\n"
                      "    channels: [{id: c}]\n",
                  "config: workspaces[0].id (line 4): id \"x.${BIRD_ACCESS_KEY}\" may contain only "
                  "letters, digits, '-' and '_'"},
        ErrorCase{
            "KeyVariableUnderAnotherKeyWhileTheKeyIsMissing",
            "bird:\n  base_url: https://api.bird.com/?${BIRD_ACCESS_KEY}\n" + kWorkspaces,
            "config: bird.access_key (line 1): required key missing (or set "
            "access_key_file)\nconfig: bird.base_url (line 2): invalid URL "
            "\"https://api.bird.com/?${BIRD_ACCESS_KEY}\": must not have a query or fragment"},
        // The key is literal, so it is no variable's value; the variable still is not quoted.
        ErrorCase{"KeyVariableUnderAnotherKeyBesideALiteralKey",
                  "bird:\n  base_url: https:/x ${BIRD_ACCESS_KEY}\n  access_key: literal-key\n" +
                      kWorkspaces,
                  "config: bird.base_url (line 2): invalid URL \"https:/x ${BIRD_ACCESS_KEY}\": "
                  "must start with http:// or https://"},
        ErrorCase{"KeyVariableInTheKeyFilePath",
                  "bird:\n  access_key_file: /run/${BIRD_ACCESS_KEY}\n" + kWorkspaces,
                  "config: bird.access_key_file (line 2): cannot read \"/run/${BIRD_ACCESS_KEY}\": "
                  "No such file or directory"},
        ErrorCase{"FileSecretInUnknownKey",
                  "bird:\n  access_key_file: /run/secrets/bird\nworkspaces:\n  - id: ws-1\n"
                  "    channels: [{id: c, " +
                      std::string(kFileSecret) + ": 1}]\n",
                  "config: workspaces[0].channels[0].<redacted> (line 5): unknown key"}),
    CaseName);

TEST(ParseConfig, KeepsSecretOutOfEveryErrorMessage) {
  // Broken in many ways after a valid key; none of the messages may carry the key.
  const std::vector<std::string> broken = {
      "bird:\n" + kKey + "  request_timeout: ${BIRD_ACCESS_KEY}s\n" + kWorkspaces,
      "bird:\n" + kKey + "  base_url: http://${BIRD_ACCESS_KEY}.example\n" + kWorkspaces,
      "bird:\n" + kKey + "  max_retries: ${BIRD_ACCESS_KEY}\n" + kWorkspaces,
      "bird:\n" + kKey +
          "workspaces:\n  - id: a\n    name: ${BIRD_ACCESS_KEY}\n"
          "    channels: [{id: c}]\n  - id: b\n    name: ${BIRD_ACCESS_KEY}\n"
          "    channels: [{id: c}]\n",
      "bird:\n  access_key: " + std::string(kSecret) + "\n  access_key: again\n" + kWorkspaces,
      "bird:\n  access_key: '" + std::string(kSecret) + "'\n  oops: [\n" + kWorkspaces,
  };
  for (const std::string& yaml : broken) {
    const std::string message = ErrorOf(yaml);
    EXPECT_THAT(message, HasSubstr("config: ")) << yaml;
    EXPECT_THAT(message, Not(HasSubstr(kSecret))) << yaml;
  }
}

TEST(SummarizeConfig, ListsSettingsWithKeyRedacted) {
  const Config c = Parse("bird:\n" + kKey + "state_file: /x\n" +
                         "workspaces:\n  - id: ws-1\n    channels: [{id: a}, {id: b}]\n");
  EXPECT_EQ(SummarizeConfig(c),
            "base_url=https://api.bird.com access_key=<redacted> request_timeout=10s "
            "max_requests_per_second=20 max_concurrent_requests=8 max_retries=3 page_size=1000 "
            "poll.interval=30s poll.initial_lookback=10m poll.insights_grace_period=15m "
            "poll.max_call_age=6h poll.list_overlap=10s poll.insights=all "
            "poll.poor_mos_threshold=3.6 metrics.dimensions.outcome=country,provider "
            "metrics.dimensions.setup=country,provider metrics.dimensions.answer=(none) "
            "metrics.dimensions.duration=(none) metrics.dimensions.quality=codec "
            "metrics.dimensions.media=(none) "
            "metrics.dimensions.poor=provider state_file=/x workspaces=1 channels=2");
}

TEST(SummarizeConfig, ShowsKeyFilePathButNotKey) {
  const Config c =
      Parse("bird:\n  access_key_file: /run/secrets/bird\n  max_requests_per_second: 12.5\n" +
            kWorkspaces);
  const std::string summary = SummarizeConfig(c);
  EXPECT_THAT(summary, HasSubstr(" access_key=<redacted> access_key_file=/run/secrets/bird "));
  EXPECT_THAT(summary, HasSubstr(" max_requests_per_second=12.5 "));
  EXPECT_THAT(summary, HasSubstr(" state_file=(none) "));
  EXPECT_THAT(summary, Not(HasSubstr(kFileSecret)));
}

TEST(SummarizeConfig, RedactsKeyCopiedIntoOtherFields) {
  const Config c = Parse("bird:\n" + kKey + "state_file: /tmp/${BIRD_ACCESS_KEY}.json\n" +
                         "workspaces:\n  - id: ws-1\n    name: ${BIRD_ACCESS_KEY}\n"
                         "    channels: [{id: a}]\n");
  const std::string summary = SummarizeConfig(c);
  EXPECT_THAT(summary, HasSubstr(" state_file=/tmp/<redacted>.json "));
  EXPECT_THAT(summary, Not(HasSubstr(kSecret)));
}

// Sets an environment variable for the lifetime of the object, then puts back what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(LoadConfigFile, LoadsExampleConfig) {
  const ScopedEnv key("BIRD_ACCESS_KEY", kSecret);
  const Config c = LoadConfigFile(TESTDATA_DIR "/../../config/bird_call_exporter.yml");
  EXPECT_EQ(c.bird.access_key, kSecret);
  EXPECT_EQ(c.bird.base_url, "https://api.bird.com");
  ASSERT_FALSE(c.workspaces.empty());
  EXPECT_FALSE(c.workspaces[0].channels.empty());
  // Its metrics section spells out the defaults.
  EXPECT_EQ(c.metrics, MetricsSettings{});
}

TEST(LoadConfigFile, ReadsAccessKeyFileFromDisk) {
  const ScopedEnv dir("CONFIG_TEST_DATA", TESTDATA_DIR);
  const Config c = LoadConfigFile(TESTDATA_DIR "/config/access_key_file.yml");
  EXPECT_EQ(c.bird.access_key, kFileSecret);
  EXPECT_EQ(c.bird.access_key_file, TESTDATA_DIR "/config/access_key.txt");
  EXPECT_EQ(c.workspaces[0].id, "ws-from-file");
}

TEST(LoadConfigFile, ReportsMissingAccessKeyFileWithReason) {
  const ScopedEnv dir("CONFIG_TEST_DATA", "/nonexistent");
  try {
    LoadConfigFile(TESTDATA_DIR "/config/access_key_file.yml");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "config: bird.access_key_file (line 3): cannot read "
                 "\"${CONFIG_TEST_DATA}/config/access_key.txt\": No such file or directory");
  }
}

TEST(LoadConfigFile, ReportsUnreadableConfigWithReason) {
  for (const auto& [path, reason] :
       {std::pair("/nonexistent/bird.yml", "No such file or directory"),
        std::pair(TESTDATA_DIR "/config", "Is a directory")}) {
    try {
      LoadConfigFile(path);
      ADD_FAILURE() << "expected a ConfigError for " << path;
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()), "config: cannot read " + std::string(path) + ": " + reason);
    }
  }
}

}  // namespace
}  // namespace bird_exporter

namespace bird_exporter {
namespace {

// A variable of its own: the scrubbed values are process-wide.
TEST(ScrubAccessKeyEnvironment, WipesTheKeysVariablesAndReloadsStillExpandThem) {
  setenv("BIRD_SCRUB_TEST_KEY", "scrub-me-Zq81", 1);
  char* in_memory = std::getenv("BIRD_SCRUB_TEST_KEY");
  ASSERT_NE(in_memory, nullptr);
  const std::string path = ::testing::TempDir() + "/scrub_test.yml";
  std::ofstream(path) << "bird:\n  access_key: key-${BIRD_SCRUB_TEST_KEY}\n"
                         "workspaces:\n  - id: ws\n    channels:\n      - id: ch\n";
  const Config first = LoadConfigFile(path);
  EXPECT_EQ(first.bird.access_key, "key-scrub-me-Zq81");
  EXPECT_EQ(first.bird.access_key_variables, std::vector<std::string>{"BIRD_SCRUB_TEST_KEY"});

  ScrubAccessKeyEnvironment(first.bird);
  EXPECT_EQ(std::getenv("BIRD_SCRUB_TEST_KEY"), nullptr);
  EXPECT_EQ(std::string(in_memory), "") << "the value's bytes are zeroed where they lay";
  // A reload after the scrub reads the same key.
  EXPECT_EQ(LoadConfigFile(path).bird.access_key, "key-scrub-me-Zq81");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace bird_exporter

namespace bird_exporter {
namespace {

TEST(ParseConfigMetrics, DefaultsAddCountryAndProviderToOutcomeAndSetup) {
  const Config c = Parse("bird:\n" + kKey + kWorkspaces);
  const MetricDimensions& d = c.metrics.dimensions;
  EXPECT_EQ(d.outcome, (std::vector<std::string>{"country", "provider"}));
  EXPECT_EQ(d.setup, (std::vector<std::string>{"country", "provider"}));
  EXPECT_TRUE(d.answer.empty());
  EXPECT_TRUE(d.duration.empty());
  EXPECT_EQ(d.quality, (std::vector<std::string>{"codec"}));
  EXPECT_TRUE(d.media.empty());
  EXPECT_EQ(d.poor, (std::vector<std::string>{"provider"}));
  EXPECT_EQ(c.metrics.poor_call, PoorCallThresholds{});
}

TEST(ParseConfigMetrics, ReadsDimensionsAndThresholds) {
  const Config c = Parse("bird:\n" + kKey + R"(metrics:
  dimensions:
    outcome: [country, edge_region]
    setup: []
    answer: [call_type]
    quality: [codec, call_type, provider]
    media: [codec]
  poor_call:
    mos_below: 3.1
    packet_loss_above: 0.02
    jitter_above: 50ms
    pdd_above: 8s
    media_min_duration: 10s
)" + kWorkspaces);
  const MetricDimensions& d = c.metrics.dimensions;
  EXPECT_EQ(d.outcome, (std::vector<std::string>{"country", "edge_region"}));
  EXPECT_TRUE(d.setup.empty());
  EXPECT_EQ(d.answer, (std::vector<std::string>{"call_type"}));
  EXPECT_EQ(d.quality, (std::vector<std::string>{"codec", "call_type", "provider"}));
  EXPECT_EQ(d.media, (std::vector<std::string>{"codec"}));
  EXPECT_TRUE(d.duration.empty());  // default kept
  const PoorCallThresholds& t = c.metrics.poor_call;
  EXPECT_DOUBLE_EQ(t.mos_below, 3.1);
  EXPECT_DOUBLE_EQ(t.packet_loss_above, 0.02);
  EXPECT_EQ(t.jitter_above, std::chrono::milliseconds(50));
  EXPECT_EQ(t.pdd_above, std::chrono::seconds(8));
  EXPECT_EQ(t.media_min_duration, std::chrono::seconds(10));
}

const std::string kMetricsHead = "bird:\n" + kKey + "metrics:\n";

INSTANTIATE_TEST_SUITE_P(
    Metrics, RejectsInvalidConfig,
    ::testing::Values(
        ErrorCase{"UnknownDimension",
                  kMetricsHead + "  dimensions:\n    outcome: [country, carrier]\n" + kWorkspaces,
                  "config: metrics.dimensions.outcome[1] (line 5): unknown dimension "
                  "\"carrier\"; expected call_type, country, provider, edge_region or codec"},
        ErrorCase{"CodecOutsideMediaFamilies",
                  kMetricsHead + "  dimensions:\n    setup: [codec]\n" + kWorkspaces,
                  "config: metrics.dimensions.setup[0] (line 5): codec is known only from "
                  "insights media metrics; it can be a dimension of quality and media, not of "
                  "setup"},
        ErrorCase{"DimensionTwice",
                  kMetricsHead + "  dimensions:\n    poor:\n      - country\n      - country\n" +
                      kWorkspaces,
                  "config: metrics.dimensions.poor[1] (line 7): dimension \"country\" is "
                  "listed twice"},
        ErrorCase{"DimensionsNotAList",
                  kMetricsHead + "  dimensions:\n    quality: codec\n" + kWorkspaces,
                  "config: metrics.dimensions.quality (line 5): expected a list"},
        ErrorCase{"UnknownGroup",
                  kMetricsHead + "  dimensions:\n    outcomes: [country]\n" + kWorkspaces,
                  "config: metrics.dimensions.outcomes (line 5): unknown key; did you mean "
                  "metrics.dimensions.outcome?"},
        ErrorCase{"MosThresholdOutOfRange",
                  kMetricsHead + "  poor_call:\n    mos_below: 6\n" + kWorkspaces,
                  "config: metrics.poor_call.mos_below (line 5): must be between 1 and 5"},
        ErrorCase{"LossThresholdInPercent",
                  kMetricsHead + "  poor_call:\n    packet_loss_above: 5\n" + kWorkspaces,
                  "config: metrics.poor_call.packet_loss_above (line 5): must be a ratio from 0 "
                  "to below 1 (0.05 is 5%)"},
        ErrorCase{"JitterWithoutUnit",
                  kMetricsHead + "  poor_call:\n    jitter_above: 30\n" + kWorkspaces,
                  "config: metrics.poor_call.jitter_above (line 5): invalid duration \"30\"; "
                  "use a whole number with a unit, largest first: 500ms, 30s, 5m, 1h30m, 7d"},
        ErrorCase{"EveryMetricsErrorAtOnce",
                  kMetricsHead +
                      "  dimensions:\n    outcome: [codec]\n    media: [nope]\n"
                      "  poor_call:\n    mos_below: 0\n" +
                      kWorkspaces,
                  "config: metrics.dimensions.outcome[0] (line 5): codec is known only from "
                  "insights media metrics; it can be a dimension of quality and media, not of "
                  "outcome\nconfig: metrics.dimensions.media[0] (line 6): unknown dimension "
                  "\"nope\"; expected call_type, country, provider, edge_region or codec\n"
                  "config: metrics.poor_call.mos_below (line 8): must be between 1 and 5"}),
    CaseName);

}  // namespace
}  // namespace bird_exporter
