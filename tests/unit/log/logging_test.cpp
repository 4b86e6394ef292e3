#include "log/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace bird_exporter {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The lines one record of `message` becomes in `format`.
std::vector<std::string> Lines(LogFormat format, const std::string& message) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_formatter(MakeLogFormatter(format));
  spdlog::logger logger("test", sink);
  logger.warn("{}", message);
  std::vector<std::string> lines;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A call id as a hostile API could send it: a quote, a newline and a whole forged record.
const std::string kForgedId =
    "c1\"\nts=2026-12-02T00:00:00.000Z level=error msg=\"state lost\" \r\t\x1b[31m\x7f";

TEST(LogFormatTest, AQuotedValueOfOutsideOriginStaysInsideItsLogfmtValue) {
  const auto lines =
      Lines(LogFormat::kLogfmt,
            "call counted workspace=w call_id=" + LogQuote(kForgedId) + " fields=\"x\"");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], StartsWith("ts="));
  EXPECT_THAT(lines[0], HasSubstr(" level=warn msg=\"call counted\" workspace=w call_id=\"c1\\\""
                                  "\\nts=2026-12-02T00:00:00.000Z level=error msg=\\\"state "
                                  "lost\\\" \\r\\t\\u001b[31m\\u007f\" fields=\"x\""));
}

TEST(LogFormatTest, AControlCharacterThatReachesAPairUnquotedIsEscapedToo) {
  const auto lines = Lines(LogFormat::kLogfmt, "text key=a\nts=x level=error msg=forged");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("msg=\"text\" key=a\\nts=x level=error msg=forged"));
}

TEST(LogFormatTest, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  const std::string mixed = "caf\xc3\xa9 \xff\xfe \xc0\xaf \xed\xa0\x80 \xe2\x82 \xf0\x9f\x93\x9e";
  const auto lines = Lines(LogFormat::kLogfmt, "value id=" + LogQuote(mixed));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0],
              HasSubstr("id=\"caf\xc3\xa9 \\ufffd\\ufffd \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd "
                        "\\ufffd\\ufffd \xf0\x9f\x93\x9e\""));
}

TEST(LogFormatTest, AJsonRecordIsOneParsableObjectWhateverTheMessageHolds) {
  const std::string message =
      "call counted call_id=" + LogQuote(kForgedId) + " raw=" + kForgedId + " bad=\xff\xc3";
  const auto lines = Lines(LogFormat::kJson, message);
  ASSERT_EQ(lines.size(), 1u);
  const nlohmann::json record = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(record.at("level"), "warn");
  EXPECT_EQ(record.size(), 3u);  // ts, level, msg: nothing forged beside them
  const std::string msg = record.at("msg");
  EXPECT_THAT(msg, StartsWith("call counted call_id=\"c1\\\"\\nts="));
  EXPECT_THAT(msg, HasSubstr(" raw=" + kForgedId));
  EXPECT_THAT(msg, HasSubstr("bad=\xef\xbf\xbd\xef\xbf\xbd"));
}

TEST(LogQuoteTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(LogQuote("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
  EXPECT_EQ(LogQuote(""), "\"\"");
}

}  // namespace
}  // namespace bird_exporter
