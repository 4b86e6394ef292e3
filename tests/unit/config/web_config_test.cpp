#include "config/web_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "support/encoding.h"
#include "support/process.h"

namespace bird_exporter {
namespace {

using testing::Base64;
using testing::Bcrypt;
using ::testing::HasSubstr;
using ::testing::Not;

// A syntactically valid bcrypt hash (its password does not matter for parsing).
constexpr char kHash[] = "$2b$10$mhKTHBeY4nTfgEdoCTgaJu4SHnWnJE2qAatv2TRnfoEeEww/Va2qi";

std::string ErrorOf(const std::string& yaml) {
  try {
    ParseWebConfig(yaml);
  } catch (const WebConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

struct BadCase {
  std::string name;
  std::string yaml;
  std::string message;
};

std::ostream& operator<<(std::ostream& os, const BadCase& c) { return os << c.name; }

class BadWebConfig : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadWebConfig, IsRejectedWithKeyAndLine) {
  EXPECT_EQ(ErrorOf(GetParam().yaml), GetParam().message);
}

const std::string kTls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

INSTANTIATE_TEST_SUITE_P(
    Cases, BadWebConfig,
    ::testing::Values(
        BadCase{"UnknownTopLevelKey", "tls_config:\n  cert_file: a\n",
                "web config: tls_config (line 1): unknown key"},
        BadCase{"HttpServerConfigNotSupported", "http_server_config:\n  http2: false\n",
                "web config: http_server_config (line 1): not supported by bird_call_exporter"},
        BadCase{"RateLimitNotSupported", kTls + "rate_limit:\n  interval: 1s\n  burst: 10\n",
                "web config: rate_limit (line 4): not supported by bird_call_exporter"},
        BadCase{"TopLevelNotAMapping", "- tls_server_config\n",
                "web config: line 1: top level must be a mapping"},
        BadCase{"YamlSyntax", "tls_server_config:\n  cert_file: [a\n",
                "web config: line 3: end of sequence flow not found"},
        BadCase{"TlsNotAMapping", "tls_server_config: yes\n",
                "web config: tls_server_config (line 1): expected a mapping"},
        BadCase{"EmptyTlsSection", "tls_server_config:\n",
                "web config: tls_server_config.cert_file (line 1): required key missing"},
        BadCase{"CertFileMissing", "tls_server_config:\n  key_file: server.key\n",
                "web config: tls_server_config.cert_file (line 1): required key missing"},
        BadCase{"KeyFileMissing", "tls_server_config:\n  cert_file: server.crt\n",
                "web config: tls_server_config.key_file (line 1): required key missing"},
        BadCase{"CertFileEmpty", "tls_server_config:\n  cert_file: ''\n  key_file: k\n",
                "web config: tls_server_config.cert_file (line 2): must not be empty"},
        BadCase{"KeyFileNull", "tls_server_config:\n  cert_file: c\n  key_file:\n",
                "web config: tls_server_config.key_file (line 3): must not be empty"},
        BadCase{"CertFileList", "tls_server_config:\n  cert_file: [a, b]\n  key_file: k\n",
                "web config: tls_server_config.cert_file (line 2): expected a string"},
        BadCase{"UnknownTlsKey", kTls + "  ciphers: ALL\n",
                "web config: tls_server_config.ciphers (line 4): unknown key"},
        BadCase{"InlineCertNotSupported", kTls + "  cert: |\n    -----BEGIN CERTIFICATE-----\n",
                "web config: tls_server_config.cert (line 4): not supported by "
                "bird_call_exporter"},
        BadCase{"MaxVersionBelowMin", kTls + "  min_version: TLS13\n  max_version: TLS12\n",
                "web config: tls_server_config.max_version (line 5): must not be below "
                "min_version"},
        BadCase{"UnknownCipherSuite", kTls + "  cipher_suites:\n    - TLS_RC4_128\n",
                "web config: tls_server_config.cipher_suites[0] (line 5): unknown cipher suite "
                "\"TLS_RC4_128\" (Go names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)"},
        // An empty item is reported at its list's line (what follows it may be far below).
        BadCase{"EmptyCipherSuiteItem", kTls + "  cipher_suites:\n    -\n    - TLS_RC4_128\n",
                "web config: tls_server_config.cipher_suites[0] (line 4): must not be empty"},
        BadCase{"OnlyTls13Suites", kTls + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
                "web config: tls_server_config.cipher_suites (line 4): lists no TLS 1.2 suite; "
                "TLS 1.2 clients could not connect"},
        BadCase{"UnknownCurve", kTls + "  curve_preferences: [X25519, CurveP224]\n",
                "web config: tls_server_config.curve_preferences[1] (line 4): unknown curve "
                "\"CurveP224\" (CurveP256, CurveP384, CurveP521, X25519)"},
        BadCase{"PreferServerNotABool", kTls + "  prefer_server_cipher_suites: maybe\n",
                "web config: tls_server_config.prefer_server_cipher_suites (line 4): expected "
                "true or false"},
        BadCase{"ClientAllowedSansNotSupported", kTls + "  client_allowed_sans: [a]\n",
                "web config: tls_server_config.client_allowed_sans (line 4): not supported by "
                "bird_call_exporter"},
        BadCase{"DuplicateTlsKey", kTls + "  cert_file: other.crt\n",
                "web config: tls_server_config.cert_file (line 4): duplicate key"},
        BadCase{"MinVersionInvalid", kTls + "  min_version: TLS11\n",
                "web config: tls_server_config.min_version (line 4): expected TLS12 or TLS13"},
        BadCase{"MinVersionLowerCase", kTls + "  min_version: tls13\n",
                "web config: tls_server_config.min_version (line 4): expected TLS12 or TLS13"},
        BadCase{"ClientAuthTypeInvalid", kTls + "  client_auth_type: Always\n",
                "web config: tls_server_config.client_auth_type (line 4): expected "
                "NoClientCert, RequestClientCert, RequireAnyClientCert, "
                "VerifyClientCertIfGiven or RequireAndVerifyClientCert"},
        BadCase{"VerifyWithoutCa", kTls + "  client_auth_type: RequireAndVerifyClientCert\n",
                "web config: tls_server_config.client_ca_file (line 4): required with "
                "client_auth_type RequireAndVerifyClientCert"},
        BadCase{"VerifyIfGivenWithoutCa", kTls + "  client_auth_type: VerifyClientCertIfGiven\n",
                "web config: tls_server_config.client_ca_file (line 4): required with "
                "client_auth_type VerifyClientCertIfGiven"},
        BadCase{"CaWithoutClientAuth", kTls + "  client_ca_file: ca.crt\n",
                "web config: tls_server_config.client_ca_file (line 4): only used with "
                "client_auth_type VerifyClientCertIfGiven or RequireAndVerifyClientCert"},
        BadCase{"CaWithRequireAny",
                kTls + "  client_auth_type: RequireAnyClientCert\n  client_ca_file: ca.crt\n",
                "web config: tls_server_config.client_ca_file (line 5): only used with "
                "client_auth_type VerifyClientCertIfGiven or RequireAndVerifyClientCert"},
        BadCase{"UsersNotAMapping", "basic_auth_users:\n  - alice\n",
                "web config: basic_auth_users (line 1): expected a mapping of user names to "
                "bcrypt hashes"},
        BadCase{"UsersNull", "basic_auth_users:\n",
                "web config: basic_auth_users (line 1): expected a mapping of user names to "
                "bcrypt hashes"},
        BadCase{"UsersEmpty", "basic_auth_users: {}\n",
                "web config: basic_auth_users (line 1): must list at least one user"},
        BadCase{"PlainPassword", "basic_auth_users:\n  alice: secret\n",
                "web config: basic_auth_users.alice (line 2): expected a bcrypt hash ($2a$, $2b$ "
                "or $2y$ with 60 characters), e.g. from htpasswd -nBC 10"},
        BadCase{"Sha512CryptHash",
                "basic_auth_users:\n  alice: $6$salt$IxDD3jeSOb5eB1CX5LBsqZFVkJdido3OUILO5Ifz5iwMu"
                "Tz4XMS6ltBDurZeVlxmpWcQjg1N4lT7.YbPfx7ZA0\n",
                "web config: basic_auth_users.alice (line 2): expected a bcrypt hash ($2a$, $2b$ "
                "or $2y$ with 60 characters), e.g. from htpasswd -nBC 10"},
        BadCase{"TruncatedHash",
                "basic_auth_users:\n  alice: $2b$10$mhKTHBeY4nTfgEdoCTgaJu4SHnWnJE2qAatv2TRnfoE\n",
                "web config: basic_auth_users.alice (line 2): expected a bcrypt hash ($2a$, $2b$ "
                "or $2y$ with 60 characters), e.g. from htpasswd -nBC 10"},
        BadCase{"CostTooLow",
                "basic_auth_users:\n  alice: $2b$03$mhKTHBeY4nTfgEdoCTgaJu4SHnWnJE2qAatv2TRnfoEeEww"
                "/Va2qi\n",
                "web config: basic_auth_users.alice (line 2): expected a bcrypt hash ($2a$, $2b$ "
                "or $2y$ with 60 characters), e.g. from htpasswd -nBC 10"},
        BadCase{"HashNotAString", "basic_auth_users:\n  alice:\n    hash: x\n",
                "web config: basic_auth_users.alice (line 2): expected a bcrypt hash ($2a$, $2b$ "
                "or $2y$ with 60 characters), e.g. from htpasswd -nBC 10"},
        BadCase{"UserWithColon", "basic_auth_users:\n  'a:b': " + std::string(kHash) + "\n",
                "web config: basic_auth_users.a:b (line 2): user names must not contain ':'"},
        BadCase{"DuplicateUser",
                "basic_auth_users:\n  alice: " + std::string(kHash) +
                    "\n  alice: " + std::string(kHash) + "\n",
                "web config: basic_auth_users.alice (line 3): duplicate key"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; });

TEST(ParseWebConfig, MessagesNeverQuoteAHash) {
  const std::string near_miss = std::string(kHash).substr(0, 59) + "!";
  const std::string message = ErrorOf("basic_auth_users:\n  alice: " + near_miss + "\n");
  EXPECT_THAT(message, HasSubstr("basic_auth_users.alice (line 2)"));
  EXPECT_THAT(message, Not(HasSubstr("mhKTHBeY")));
}

TEST(ParseWebConfig, EmptyDocumentMeansPlainHttpWithoutAuth) {
  const WebConfig config = ParseWebConfig("");
  EXPECT_FALSE(config.tls_enabled);
  EXPECT_FALSE(config.BasicAuthEnabled());
  EXPECT_FALSE(ParseWebConfig("# nothing configured\n").tls_enabled);
}

TEST(ParseWebConfig, ParsesFullConfig) {
  const WebConfig config = ParseWebConfig(R"(tls_server_config:
  cert_file: /etc/bird/tls.crt
  key_file: /etc/bird/tls.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: /etc/bird/ca.crt
  min_version: TLS13
basic_auth_users:
  prometheus: $2b$10$mhKTHBeY4nTfgEdoCTgaJu4SHnWnJE2qAatv2TRnfoEeEww/Va2qi
  grafana: "$2y$12$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"
)");
  EXPECT_TRUE(config.tls_enabled);
  EXPECT_EQ(config.tls.cert_file, "/etc/bird/tls.crt");
  EXPECT_EQ(config.tls.key_file, "/etc/bird/tls.key");
  EXPECT_EQ(config.tls.client_auth_type, ClientAuthType::kRequireAndVerifyClientCert);
  EXPECT_EQ(config.tls.client_ca_file, "/etc/bird/ca.crt");
  EXPECT_EQ(config.tls.min_version, TlsVersion::kTls13);
  ASSERT_EQ(config.basic_auth_users.size(), 2u);
  EXPECT_EQ(config.basic_auth_users.at("prometheus"), kHash);
  EXPECT_EQ(config.basic_auth_users.at("grafana").substr(0, 7), "$2y$12$");
  EXPECT_EQ(SummarizeWebConfig(config),
            "tls=true cert_file=/etc/bird/tls.crt client_auth_type=RequireAndVerifyClientCert "
            "min_version=TLS13 max_version=TLS13 basic_auth_users=2");
}

TEST(ParseWebConfig, TlsDefaultsToTls12WithoutClientCertificates) {
  const WebConfig config = ParseWebConfig(kTls);
  EXPECT_TRUE(config.tls_enabled);
  EXPECT_EQ(config.tls.client_auth_type, ClientAuthType::kNoClientCert);
  EXPECT_EQ(config.tls.min_version, TlsVersion::kTls12);
  EXPECT_TRUE(config.tls.client_ca_file.empty());
  EXPECT_FALSE(config.BasicAuthEnabled());
}

TEST(ParseWebConfig, ParsesTheToolkitsCipherCurveAndVersionKeys) {
  const WebConfig config =
      ParseWebConfig(kTls +
                     "  max_version: TLS12\n"
                     "  cipher_suites:\n"
                     "    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
                     "    - TLS_AES_128_GCM_SHA256\n"  // TLS 1.3: always on, skipped
                     "    - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305\n"
                     "  curve_preferences: [X25519, CurveP384]\n"
                     "  prefer_server_cipher_suites: false\n");
  EXPECT_EQ(config.tls.max_version, TlsVersion::kTls12);
  EXPECT_EQ(config.tls.cipher_suites, (std::vector<std::string>{"ECDHE-RSA-AES256-GCM-SHA384",
                                                                "ECDHE-ECDSA-CHACHA20-POLY1305"}));
  EXPECT_EQ(config.tls.curve_preferences, (std::vector<std::string>{"X25519", "P-384"}));
  EXPECT_FALSE(config.tls.prefer_server_cipher_suites);
  const WebConfig defaults = ParseWebConfig(kTls);
  EXPECT_EQ(defaults.tls.max_version, TlsVersion::kTls13);
  EXPECT_TRUE(defaults.tls.cipher_suites.empty());
  EXPECT_TRUE(defaults.tls.prefer_server_cipher_suites);
}

TEST(ParseWebConfig, WarnsOfABcryptCostAbove12) {
  const std::string salt22 = "abcdefghijklmnopqrstuv";
  const std::string hash31 = "abcdefghijklmnopqrstuvwxyzABCDE";
  WebConfig config;
  config.basic_auth_users["fast"] = "$2b$10$" + salt22 + hash31;
  config.basic_auth_users["edge"] = "$2b$12$" + salt22 + hash31;
  config.basic_auth_users["slow"] = "$2y$14$" + salt22 + hash31;
  const auto warnings = WebConfigWarnings(config);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("basic_auth_users.slow: bcrypt cost 14 is above 12"));
  EXPECT_EQ(warnings[0].find(salt22), std::string::npos) << "no part of the hash";
}

TEST(ParseWebConfig, AcceptsEveryClientAuthType) {
  const std::map<std::string, ClientAuthType> types = {
      {"NoClientCert", ClientAuthType::kNoClientCert},
      {"RequestClientCert", ClientAuthType::kRequestClientCert},
      {"RequireAnyClientCert", ClientAuthType::kRequireAnyClientCert},
      {"RequireClientCert", ClientAuthType::kRequireAnyClientCert},  // the toolkit's old name
      {"VerifyClientCertIfGiven", ClientAuthType::kVerifyClientCertIfGiven},
      {"RequireAndVerifyClientCert", ClientAuthType::kRequireAndVerifyClientCert},
  };
  for (const auto& [name, type] : types) {
    const bool verifies = type == ClientAuthType::kVerifyClientCertIfGiven ||
                          type == ClientAuthType::kRequireAndVerifyClientCert;
    const WebConfig config = ParseWebConfig(kTls + "  client_auth_type: " + name + "\n" +
                                            (verifies ? "  client_ca_file: ca.crt\n" : ""));
    EXPECT_EQ(config.tls.client_auth_type, type) << name;
  }
}

TEST(ParseWebConfig, BasicAuthWithoutTls) {
  const WebConfig config =
      ParseWebConfig("basic_auth_users:\n  prometheus: " + std::string(kHash) + "\n");
  EXPECT_FALSE(config.tls_enabled);
  EXPECT_TRUE(config.BasicAuthEnabled());
  EXPECT_EQ(SummarizeWebConfig(config), "tls=false basic_auth_users=1");
}

TEST(ParseWebConfig, ResolvesRelativePathsAndChecksEveryFile) {
  std::vector<std::pair<std::string, std::string>> checked;
  const WebConfigFileCheck check = [&](const std::string& path, std::string_view kind) {
    checked.emplace_back(path, std::string(kind));
    return std::string();
  };
  const WebConfig config = ParseWebConfig(
      "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: /abs/server.key\n"
      "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ../ca.crt\n",
      "/etc/bird", check);
  EXPECT_EQ(config.tls.cert_file, "/etc/bird/tls/server.crt");
  EXPECT_EQ(config.tls.key_file, "/abs/server.key");
  EXPECT_EQ(config.tls.client_ca_file, "/etc/ca.crt");
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"/etc/bird/tls/server.crt", "certificate"},
      {"/abs/server.key", "private key"},
      {"/etc/ca.crt", "certificate"},
  };
  EXPECT_EQ(checked, expected);
}

TEST(ParseWebConfig, FileCheckFailureNamesTheKey) {
  const WebConfigFileCheck check = [](const std::string& path, std::string_view) {
    return path == "/etc/bird/server.key" ? "cannot read " + path + ": Permission denied"
                                          : std::string();
  };
  try {
    ParseWebConfig(kTls, "/etc/bird", check);
    FAIL() << "no error";
  } catch (const WebConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "web config: tls_server_config.key_file (line 3): cannot read "
                 "/etc/bird/server.key: Permission denied");
  }
}

// LoadWebConfigFile with real files in a temporary directory.
class LoadWebConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Write("server.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    Write("server.key", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n");
    Write("ca.crt", "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n");
  }

  std::string Write(const std::string& name, const std::string& contents) {
    const std::string path = dir_ / name;
    std::ofstream(path) << contents;
    return path;
  }
  std::string LoadError(const std::string& yaml) {
    try {
      LoadWebConfigFile(Write("web.yml", yaml));
    } catch (const WebConfigError& e) {
      return e.what();
    }
    return "(no error)";
  }

  testing::TempDir dir_{"bird_web_config"};
};

TEST_F(LoadWebConfigFileTest, LoadsValidFileWithPathsRelativeToIt) {
  const WebConfig config = LoadWebConfigFile(
      Write("web.yml", kTls +
                           "  client_auth_type: RequireAndVerifyClientCert\n"
                           "  client_ca_file: ca.crt\nbasic_auth_users:\n  prometheus: " +
                           std::string(kHash) + "\n"));
  EXPECT_EQ(config.tls.cert_file, dir_ / "server.crt");
  EXPECT_EQ(config.tls.key_file, dir_ / "server.key");
  EXPECT_EQ(config.tls.client_ca_file, dir_ / "ca.crt");
  EXPECT_TRUE(config.BasicAuthEnabled());
}

TEST_F(LoadWebConfigFileTest, MissingWebConfigFile) {
  try {
    LoadWebConfigFile(dir_ / "absent.yml");
    FAIL() << "no error";
  } catch (const WebConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "web config: cannot read " + dir_.path() + "/absent.yml: No such file or directory");
  }
}

TEST_F(LoadWebConfigFileTest, MissingCertificateFile) {
  std::filesystem::remove(dir_ / "server.crt");
  EXPECT_EQ(LoadError(kTls), "web config: tls_server_config.cert_file (line 2): cannot read " +
                                 dir_.path() + "/server.crt: No such file or directory");
}

TEST_F(LoadWebConfigFileTest, DirectoryInsteadOfKey) {
  std::filesystem::create_directory(dir_ / "keys");
  EXPECT_EQ(LoadError("tls_server_config:\n  cert_file: server.crt\n  key_file: keys\n"),
            "web config: tls_server_config.key_file (line 3): cannot read " + dir_.path() +
                "/keys: Is a directory");
}

TEST_F(LoadWebConfigFileTest, CertificateAndKeySwapped) {
  EXPECT_EQ(LoadError("tls_server_config:\n  cert_file: server.key\n  key_file: server.crt\n"),
            "web config: tls_server_config.cert_file (line 2): " + dir_.path() +
                "/server.key holds no PEM certificate");
  EXPECT_EQ(LoadError("tls_server_config:\n  cert_file: server.crt\n  key_file: server.crt\n"),
            "web config: tls_server_config.key_file (line 3): " + dir_.path() +
                "/server.crt holds no PEM private key");
}

TEST_F(LoadWebConfigFileTest, EncryptedKey) {
  Write("server.key",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----\n");
  EXPECT_EQ(LoadError(kTls), "web config: tls_server_config.key_file (line 3): " + dir_.path() +
                                 "/server.key holds an encrypted private key; use an "
                                 "unencrypted one");
}

TEST_F(LoadWebConfigFileTest, MissingClientCa) {
  EXPECT_EQ(LoadError(kTls + "  client_auth_type: VerifyClientCertIfGiven\n"
                             "  client_ca_file: clients.crt\n"),
            "web config: tls_server_config.client_ca_file (line 5): cannot read " + dir_.path() +
                "/clients.crt: No such file or directory");
}

}  // namespace
}  // namespace bird_exporter
