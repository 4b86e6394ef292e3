#include "daemon/flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace bird_exporter {
namespace {

using ::testing::HasSubstr;

Flags ParseOk(const std::vector<std::string>& args) {
  std::string error;
  const std::optional<Flags> flags = ParseFlags(args, error);
  EXPECT_TRUE(flags.has_value()) << error;
  EXPECT_EQ(error, "");
  return flags.value_or(Flags{});
}

std::string ParseError(const std::vector<std::string>& args) {
  std::string error;
  EXPECT_EQ(ParseFlags(args, error), std::nullopt);
  return error;
}

TEST(FlagsTest, UsesDefaultsWithoutArguments) {
  const Flags flags = ParseOk({});
  EXPECT_EQ(flags.config_file, "bird_call_exporter.yml");
  EXPECT_FALSE(flags.config_check);
  EXPECT_EQ(flags.listen_address, ":9842");
  EXPECT_EQ(flags.telemetry_path, "/metrics");
  EXPECT_EQ(flags.log_level, "info");
  EXPECT_EQ(flags.log_format, "logfmt");
  EXPECT_FALSE(flags.version);
  EXPECT_FALSE(flags.help);
}

TEST(FlagsTest, ParsesFlagEqualsValue) {
  const Flags flags =
      ParseOk({"--config.file=/etc/bird/exporter.yml", "--web.listen-address=127.0.0.1:9100",
               "--web.telemetry-path=/probe", "--log.level=debug", "--log.format=json"});
  EXPECT_EQ(flags.config_file, "/etc/bird/exporter.yml");
  EXPECT_EQ(flags.listen_address, "127.0.0.1:9100");
  EXPECT_EQ(flags.telemetry_path, "/probe");
  EXPECT_EQ(flags.log_level, "debug");
  EXPECT_EQ(flags.log_format, "json");
}

TEST(FlagsTest, ParsesFlagSpaceValue) {
  const Flags flags = ParseOk({"--config.file", "exporter.yml", "--web.listen-address",
                               "[::1]:9842", "--log.level", "warn", "--log.format", "logfmt"});
  EXPECT_EQ(flags.config_file, "exporter.yml");
  EXPECT_EQ(flags.listen_address, "[::1]:9842");
  EXPECT_EQ(flags.log_level, "warn");
  EXPECT_EQ(flags.log_format, "logfmt");
}

TEST(FlagsTest, KeepsEverythingAfterFirstEqualsSign) {
  EXPECT_EQ(ParseOk({"--config.file=a=b.yml"}).config_file, "a=b.yml");
  EXPECT_EQ(ParseOk({"--config.file="}).config_file, "");
}

TEST(FlagsTest, LetsLaterFlagWin) {
  EXPECT_EQ(ParseOk({"--log.level=debug", "--log.level", "error"}).log_level, "error");
}

TEST(FlagsTest, ParsesSwitches) {
  const Flags flags = ParseOk({"--config.check", "--version", "--help"});
  EXPECT_TRUE(flags.config_check);
  EXPECT_TRUE(flags.version);
  EXPECT_TRUE(flags.help);
  EXPECT_TRUE(ParseOk({"-h"}).help);
}

TEST(FlagsTest, AcceptsEveryLogLevelAndFormat) {
  for (const char* level : {"debug", "info", "warn", "error"}) {
    EXPECT_EQ(ParseOk({std::string("--log.level=") + level}).log_level, level);
  }
  for (const char* format : {"logfmt", "json"}) {
    EXPECT_EQ(ParseOk({std::string("--log.format=") + format}).log_format, format);
  }
}

TEST(FlagsTest, RejectsUnknownFlag) {
  EXPECT_EQ(ParseError({"--config.fil=x.yml"}), "unknown flag --config.fil (see --help)");
  EXPECT_EQ(ParseError({"--web.listen-address=:1", "--verbose"}),
            "unknown flag --verbose (see --help)");
  EXPECT_EQ(ParseError({"config.yml"}), "unknown flag config.yml (see --help)");
}

TEST(FlagsTest, RejectsMissingValue) {
  EXPECT_EQ(ParseError({"--config.file"}), "flag --config.file needs a value");
}

TEST(FlagsTest, RejectsValueOnSwitch) {
  EXPECT_EQ(ParseError({"--version=true"}), "flag --version takes no value");
}

TEST(FlagsTest, RejectsBadLogLevel) {
  EXPECT_EQ(ParseError({"--log.level=verbose"}),
            "--log.level: expected debug, info, warn or error, got \"verbose\"");
  EXPECT_THAT(ParseError({"--log.level", "INFO"}), HasSubstr("got \"INFO\""));
  EXPECT_THAT(ParseError({"--log.level=warning"}), HasSubstr("--log.level"));
}

TEST(FlagsTest, RejectsBadLogFormat) {
  EXPECT_EQ(ParseError({"--log.format=text"}),
            "--log.format: expected logfmt or json, got \"text\"");
}

TEST(FlagsTest, DocumentsEveryFlagInHelp) {
  const std::string help = HelpText();
  for (const char* flag :
       {"--config.file", "--config.check", "--web.listen-address", "--web.telemetry-path",
        "--log.level", "--log.format", "--version", "--help"}) {
    EXPECT_THAT(help, HasSubstr(flag));
  }
  EXPECT_THAT(help, HasSubstr("(default :9842)"));
}

}  // namespace
}  // namespace bird_exporter
