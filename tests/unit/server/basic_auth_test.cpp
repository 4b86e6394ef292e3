#include "server/basic_auth.h"

#include <gtest/gtest.h>

#include <string>

#include "support/encoding.h"

namespace bird_exporter {
namespace {

using testing::Base64;
using testing::Bcrypt;

// Basic auth against real bcrypt hashes made here with crypt_r.

std::string Basic(const std::string& user, const std::string& password) {
  return "Basic " + Base64(user + ":" + password);
}

class BasicAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    hash_ = new std::string(Bcrypt("secret"));
    config_ = new WebConfig(ParseWebConfig("basic_auth_users:\n  prometheus: " + *hash_ +
                                           "\n  grafana: " + Bcrypt("p4ss:w0rd", "$2y$") + "\n"));
  }
  static void TearDownTestSuite() {
    delete config_;
    delete hash_;
  }
  static std::string* hash_;
  static WebConfig* config_;
};
std::string* BasicAuthTest::hash_ = nullptr;
WebConfig* BasicAuthTest::config_ = nullptr;

TEST_F(BasicAuthTest, GeneratedHashIsBcrypt) {
  ASSERT_EQ(hash_->size(), 60u);
  EXPECT_EQ(hash_->substr(0, 7), "$2b$10$");
}

TEST_F(BasicAuthTest, RightPasswordPasses) {
  EXPECT_TRUE(CheckBasicAuth(*config_, Basic("prometheus", "secret")));
  // The scheme is case-insensitive; $2y$ hashes work; a colon may be part of the password.
  EXPECT_TRUE(CheckBasicAuth(*config_, "basic " + Base64("prometheus:secret")));
  EXPECT_TRUE(CheckBasicAuth(*config_, Basic("grafana", "p4ss:w0rd")));
}

TEST_F(BasicAuthTest, WrongPasswordFails) {
  EXPECT_FALSE(CheckBasicAuth(*config_, Basic("prometheus", "Secret")));
  EXPECT_FALSE(CheckBasicAuth(*config_, Basic("prometheus", "")));
  EXPECT_FALSE(CheckBasicAuth(*config_, Basic("prometheus", "secret ")));
  // Another user's password does not open this account.
  EXPECT_FALSE(CheckBasicAuth(*config_, Basic("grafana", "secret")));
}

TEST_F(BasicAuthTest, PasswordCutShortByNulFails) {
  // crypt_r sees C strings: "secret\0x" would be checked as "secret".
  EXPECT_FALSE(CheckBasicAuth(*config_, Basic("prometheus", std::string("secret\0x", 8))));
}

TEST_F(BasicAuthTest, MissingOrEmptyHeaderFails) {
  EXPECT_FALSE(CheckBasicAuth(*config_, ""));
  EXPECT_FALSE(CheckBasicAuth(*config_, "Basic"));
  EXPECT_FALSE(CheckBasicAuth(*config_, "Basic "));
}

TEST_F(BasicAuthTest, MalformedBase64Fails) {
  EXPECT_FALSE(CheckBasicAuth(*config_, "Basic cHJvbWV0aGV1czpzZWNyZXQ"));   // no padding
  EXPECT_FALSE(CheckBasicAuth(*config_, "Basic cHJvbWV0aGV1czpz*WNyZXQ="));  // bad character
  EXPECT_FALSE(CheckBasicAuth(*config_, "Basic cHJvbWV0aGV1c=pzZWNyZXQ="));  // '=' inside
  EXPECT_FALSE(CheckBasicAuth(*config_, "Basic prometheus:secret"));
  EXPECT_FALSE(CheckBasicAuth(*config_, "Basic " + Base64("prometheus-secret")));  // no colon
}

TEST_F(BasicAuthTest, OtherSchemesFail) {
  EXPECT_FALSE(CheckBasicAuth(*config_, "Bearer " + Base64("prometheus:secret")));
  EXPECT_FALSE(CheckBasicAuth(*config_, "Basic" + Base64("prometheus:secret")));
}

TEST_F(BasicAuthTest, UnknownUserFails) {
  EXPECT_FALSE(CheckBasicAuth(*config_, Basic("admin", "secret")));
  EXPECT_FALSE(CheckBasicAuth(*config_, Basic("", "secret")));
  EXPECT_FALSE(CheckBasicAuth(*config_, Basic("Prometheus", "secret")));
}

TEST_F(BasicAuthTest, DisabledWithoutUsers) { EXPECT_TRUE(CheckBasicAuth(WebConfig{}, "")); }

TEST_F(BasicAuthTest, CacheRemembersOnlySuccessesAndIsBounded) {
  BasicAuthCache cache;
  EXPECT_FALSE(CheckBasicAuth(*config_, Basic("prometheus", "wrong"), &cache));
  EXPECT_EQ(cache.Size(), 0u);
  EXPECT_TRUE(CheckBasicAuth(*config_, Basic("prometheus", "secret"), &cache));
  EXPECT_TRUE(cache.Contains(Basic("prometheus", "secret")));
  EXPECT_FALSE(cache.Contains(Basic("prometheus", "secreT")));
  EXPECT_TRUE(CheckBasicAuth(*config_, Basic("prometheus", "secret"), &cache));
  EXPECT_EQ(cache.Size(), 1u);
  for (std::size_t i = 0; i < BasicAuthCache::kCapacity + 4; ++i) {
    cache.Add("Basic " + std::to_string(i));
  }
  EXPECT_EQ(cache.Size(), BasicAuthCache::kCapacity);
  EXPECT_FALSE(cache.Contains(Basic("prometheus", "secret")));  // the oldest went first
  EXPECT_TRUE(cache.Contains("Basic " + std::to_string(BasicAuthCache::kCapacity + 3)));
}

TEST(BasicAuthDecodeBase64, DecodesPaddedInput) {
  std::string out;
  EXPECT_TRUE(DecodeBase64("", out));
  EXPECT_EQ(out, "");
  EXPECT_TRUE(DecodeBase64("YQ==", out));
  EXPECT_EQ(out, "a");
  EXPECT_TRUE(DecodeBase64("YWI=", out));
  EXPECT_EQ(out, "ab");
  EXPECT_TRUE(DecodeBase64("YWJj", out));
  EXPECT_EQ(out, "abc");
  EXPECT_TRUE(DecodeBase64("cHJvbWV0aGV1czpzZWNyZXQ=", out));
  EXPECT_EQ(out, "prometheus:secret");
  EXPECT_FALSE(DecodeBase64("YQ", out));
  EXPECT_FALSE(DecodeBase64("Y===", out));
  EXPECT_FALSE(DecodeBase64("====", out));
  EXPECT_FALSE(DecodeBase64("YQ==YWJj", out));
  EXPECT_FALSE(DecodeBase64("YW-j", out));
}

}  // namespace
}  // namespace bird_exporter
