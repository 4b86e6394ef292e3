// --web.config.file end to end: the real binary in --demo mode behind TLS (certificates made
// here with the openssl CLI), client certificates and basic auth, checked with the curl CLI.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/encoding.h"
#include "support/exporter_process.h"
#include "support/process.h"
#include "support/test_pki.h"

namespace bird_exporter::testing {
namespace {

using std::chrono::seconds;

struct CurlResult {
  int exit_code = -1;  // curl's: 0 ok, 35 handshake failed, 56 receive failed, 60 bad certificate
  int status = 0;      // HTTP status, 0 without an answer
  std::string headers;
  std::string body;
  std::string error;
};

class WebConfigTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("bird_web_config_it");
    const std::string error = MakeTestPki(dir_->path());
    ASSERT_TRUE(error.empty()) << error;
    hash_ = new std::string(Bcrypt("secret"));
    ASSERT_EQ(hash_->substr(0, 7), "$2b$10$");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
    delete hash_;
  }

  static std::string Path(const std::string& name) { return *dir_ / name; }

  std::string WriteWebConfig(const std::string& yaml) {
    const std::string path = Path("web-" + std::to_string(++files_) + ".yml");
    std::ofstream(path) << yaml;
    return path;
  }

  // Starts the exporter with `yaml` as its web config; returns its port (0 when it did not start).
  int Start(const std::string& yaml) {
    exporter_ = std::make_unique<ExporterProcess>(
        EXPORTER_BINARY,
        std::vector<std::string>{"--demo", "--web.listen-address=127.0.0.1:0",
                                 "--web.config.file=" + WriteWebConfig(yaml)},
        std::map<std::string, std::string>{}, dir_->path());
    return exporter_->WaitForPort(seconds(15));
  }

  CurlResult Curl(const std::string& url, const std::string& options = "") {
    const std::string body = Path("curl.body");
    const std::string headers = Path("curl.headers");
    std::filesystem::remove(body);
    std::filesystem::remove(headers);
    const CommandResult run =
        RunCommand("curl -sS --max-time 10 -o " + ShellQuote(body) + " -D " + ShellQuote(headers) +
                   " -w 'status=%{http_code}' " + options + " " + ShellQuote(url));
    CurlResult result;
    result.exit_code = run.exit_code;
    std::smatch match;
    if (std::regex_search(run.output, match, std::regex("status=(\\d+)"))) {
      result.status = std::stoi(match[1]);
    }
    result.error = run.output;
    result.body = ReadFile(body);
    result.headers = ReadFile(headers);
    return result;
  }

  std::string Https(int port, const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(port) + path;
  }
  static std::string CaOption() { return "--cacert " + ShellQuote(Path("ca.crt")); }
  static std::string TlsConfig() {
    return "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
  }

  static TempDir* dir_;
  static std::string* hash_;
  int files_ = 0;
  std::unique_ptr<ExporterProcess> exporter_;
};
TempDir* WebConfigTest::dir_ = nullptr;
std::string* WebConfigTest::hash_ = nullptr;

TEST_F(WebConfigTest, HttpsIsTrustedOnlyWithTheCa) {
  const int port = Start(TlsConfig());
  ASSERT_GT(port, 0) << exporter_->Log();

  const CurlResult trusted = Curl(Https(port, "/metrics"), CaOption());
  EXPECT_EQ(trusted.exit_code, 0) << trusted.error;
  EXPECT_EQ(trusted.status, 200);
  EXPECT_NE(trusted.body.find("bird_exporter_build_info"), std::string::npos);

  const CurlResult untrusted = Curl(Https(port, "/metrics"));
  EXPECT_EQ(untrusted.exit_code, 60) << untrusted.error;  // CURLE_PEER_FAILED_VERIFICATION
  EXPECT_NE(untrusted.error.find("certificate"), std::string::npos) << untrusted.error;
  EXPECT_EQ(untrusted.status, 0);

  // The listen address speaks TLS only.
  const CurlResult plain = Curl("http://127.0.0.1:" + std::to_string(port) + "/metrics");
  EXPECT_NE(plain.exit_code, 0);
  EXPECT_NE(plain.status, 200);
}

TEST_F(WebConfigTest, BasicAuthGuardsEverythingButHealthy) {
  const int port = Start(TlsConfig() + "basic_auth_users:\n  prometheus: " + *hash_ + "\n");
  ASSERT_GT(port, 0) << exporter_->Log();

  const CurlResult right = Curl(Https(port, "/metrics"), CaOption() + " -u prometheus:secret");
  EXPECT_EQ(right.status, 200) << right.error;
  EXPECT_NE(right.body.find("bird_exporter_build_info"), std::string::npos);
  // Again: served from the cache of verified credentials, same answer.
  EXPECT_EQ(Curl(Https(port, "/metrics"), CaOption() + " -u prometheus:secret").status, 200);

  const CurlResult wrong = Curl(Https(port, "/metrics"), CaOption() + " -u prometheus:Secret");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.headers.find("WWW-Authenticate: Basic realm=\"bird_call_exporter\""),
            std::string::npos)
      << wrong.headers;
  EXPECT_EQ(wrong.body.find("bird_"), std::string::npos);

  const CurlResult missing = Curl(Https(port, "/metrics"), CaOption());
  EXPECT_EQ(missing.status, 401);
  EXPECT_NE(missing.headers.find("WWW-Authenticate: Basic"), std::string::npos);
  EXPECT_EQ(Curl(Https(port, "/metrics"), CaOption() + " -u admin:secret").status, 401);
  EXPECT_EQ(Curl(Https(port, "/"), CaOption()).status, 401);
  EXPECT_EQ(Curl(Https(port, "/-/ready"), CaOption()).status, 401);
  EXPECT_EQ(Curl(Https(port, "/nonexistent"), CaOption()).status, 401);
  EXPECT_EQ(Curl(Https(port, "/"), CaOption() + " -u prometheus:secret").status, 200);

  const CurlResult healthy = Curl(Https(port, "/-/healthy"), CaOption());
  EXPECT_EQ(healthy.status, 200) << healthy.error;
  EXPECT_EQ(healthy.body, "Healthy\n");
}

TEST_F(WebConfigTest, BasicAuthWorksWithoutTls) {
  const int port = Start("basic_auth_users:\n  prometheus: " + *hash_ + "\n");
  ASSERT_GT(port, 0) << exporter_->Log();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(Curl(base + "/metrics", "-u prometheus:secret").status, 200);
  EXPECT_EQ(Curl(base + "/metrics", "-u prometheus:wrong").status, 401);
  EXPECT_EQ(Curl(base + "/metrics").status, 401);
  EXPECT_EQ(Curl(base + "/-/healthy").status, 200);
}

TEST_F(WebConfigTest, ReloadReplacesUsersAndCertificatesWithoutARestart) {
  const int port = Start(TlsConfig() + "basic_auth_users:\n  prometheus: " + *hash_ + "\n");
  ASSERT_GT(port, 0) << exporter_->Log();
  const std::string auth = CaOption() + " -u prometheus:secret";
  ASSERT_EQ(Curl(Https(port, "/metrics"), auth).status, 200);

  // A new password, and the same certificate files rewritten (a rotation in place).
  const std::string started_with = Path("web-1.yml");  // the file Start() wrote
  std::ofstream(started_with) << TlsConfig() +
                                     "basic_auth_users:\n  prometheus: " + Bcrypt("rotated") + "\n";
  kill(exporter_->pid(), SIGHUP);
  ASSERT_TRUE(WaitFor(
      [&] {
        return Curl(Https(port, "/metrics"), CaOption() + " -u prometheus:rotated").status == 200;
      },
      seconds(10)))
      << exporter_->Log();
  EXPECT_EQ(Curl(Https(port, "/metrics"), auth).status, 401);

  // A broken web config is refused and the running one stays.
  std::ofstream(started_with)
      << "tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n";
  kill(exporter_->pid(), SIGHUP);
  ASSERT_TRUE(WaitFor(
      [&] { return exporter_->Log().find("web configuration reload failed") != std::string::npos; },
      seconds(10)));
  EXPECT_EQ(Curl(Https(port, "/metrics"), CaOption() + " -u prometheus:rotated").status, 200);
  const std::string metrics =
      Curl(Https(port, "/metrics"), CaOption() + " -u prometheus:rotated").body;
  EXPECT_NE(metrics.find("bird_exporter_config_last_reload_successful 0"), std::string::npos);
}

TEST_F(WebConfigTest, RequireAndVerifyClientCertWantsACaSignedCertificate) {
  const int port = Start(TlsConfig() +
                         "  client_auth_type: RequireAndVerifyClientCert\n"
                         "  client_ca_file: ca.crt\n");
  ASSERT_GT(port, 0) << exporter_->Log();

  const CurlResult without = Curl(Https(port, "/metrics"), CaOption());
  EXPECT_NE(without.exit_code, 0);
  EXPECT_EQ(without.status, 0) << without.error;

  const CurlResult signed_cert =
      Curl(Https(port, "/metrics"), CaOption() + " --cert " + ShellQuote(Path("client.crt")) +
                                        " --key " + ShellQuote(Path("client.key")));
  EXPECT_EQ(signed_cert.exit_code, 0) << signed_cert.error;
  EXPECT_EQ(signed_cert.status, 200);
  EXPECT_NE(signed_cert.body.find("bird_exporter_build_info"), std::string::npos);

  const CurlResult stranger =
      Curl(Https(port, "/metrics"), CaOption() + " --cert " + ShellQuote(Path("stranger.crt")) +
                                        " --key " + ShellQuote(Path("stranger.key")));
  EXPECT_NE(stranger.exit_code, 0);
  EXPECT_EQ(stranger.status, 0) << stranger.error;
}

TEST_F(WebConfigTest, VerifyClientCertIfGivenRejectsOnlyBadCertificates) {
  const int port = Start(TlsConfig() +
                         "  client_auth_type: VerifyClientCertIfGiven\n"
                         "  client_ca_file: ca.crt\n");
  ASSERT_GT(port, 0) << exporter_->Log();
  EXPECT_EQ(Curl(Https(port, "/-/healthy"), CaOption()).status, 200);
  EXPECT_EQ(
      Curl(Https(port, "/-/healthy"), CaOption() + " --cert " + ShellQuote(Path("client.crt")) +
                                          " --key " + ShellQuote(Path("client.key")))
          .status,
      200);
  EXPECT_EQ(
      Curl(Https(port, "/-/healthy"), CaOption() + " --cert " + ShellQuote(Path("stranger.crt")) +
                                          " --key " + ShellQuote(Path("stranger.key")))
          .status,
      0);
}

TEST_F(WebConfigTest, MinVersionTls13RefusesTls12Clients) {
  const int port = Start(TlsConfig() + "  min_version: TLS13\n");
  ASSERT_GT(port, 0) << exporter_->Log();
  EXPECT_EQ(Curl(Https(port, "/-/healthy"), CaOption()).status, 200);
  const CurlResult old = Curl(Https(port, "/-/healthy"), CaOption() + " --tls-max 1.2");
  EXPECT_EQ(old.exit_code, 35) << old.error;  // CURLE_SSL_CONNECT_ERROR
  EXPECT_EQ(old.status, 0);
  // TLS12 (the default) still takes TLS 1.2 clients.
  ExporterProcess default_version(EXPORTER_BINARY,
                                  {"--demo", "--web.listen-address=127.0.0.1:0",
                                   "--web.config.file=" + WriteWebConfig(TlsConfig())},
                                  {}, dir_->path());
  const int port12 = default_version.WaitForPort(seconds(15));
  ASSERT_GT(port12, 0) << default_version.Log();
  EXPECT_EQ(Curl(Https(port12, "/-/healthy"), CaOption() + " --tls-max 1.2").status, 200);
  EXPECT_NE(Curl(Https(port12, "/-/healthy"), CaOption() + " --tls-max 1.1").exit_code, 0);
}

TEST_F(WebConfigTest, MaxVersionAndCipherSuitesAreHonoured) {
  const int port = Start(TlsConfig() +
                         "  max_version: TLS12\n"
                         "  cipher_suites:\n    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
                         "  curve_preferences: [X25519, CurveP256]\n"
                         "  prefer_server_cipher_suites: false\n");
  ASSERT_GT(port, 0) << exporter_->Log();
  EXPECT_EQ(Curl(Https(port, "/-/healthy"), CaOption()).status, 200);
  EXPECT_NE(Curl(Https(port, "/-/healthy"), CaOption() + " --tlsv1.3").exit_code, 0);
  EXPECT_NE(Curl(Https(port, "/-/healthy"),
                 CaOption() + " --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256")
                .exit_code,
            0);
  EXPECT_EQ(Curl(Https(port, "/-/healthy"),
                 CaOption() + " --tls-max 1.2 --ciphers ECDHE-RSA-AES256-GCM-SHA384")
                .status,
            200);
}

TEST_F(WebConfigTest, Tls12DefaultsToForwardSecretSuites) {
  const int port = Start(TlsConfig());
  ASSERT_GT(port, 0) << exporter_->Log();
  // RSA key exchange (no forward secrecy) and CBC are refused; ECDHE with AES-GCM works.
  EXPECT_NE(
      Curl(Https(port, "/-/healthy"), CaOption() + " --tls-max 1.2 --ciphers AES128-GCM-SHA256")
          .exit_code,
      0);
  EXPECT_NE(
      Curl(Https(port, "/-/healthy"), CaOption() + " --tls-max 1.2 --ciphers ECDHE-RSA-AES128-SHA")
          .exit_code,
      0);
  EXPECT_EQ(Curl(Https(port, "/-/healthy"),
                 CaOption() + " --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256")
                .status,
            200);
}

// A certificate renewed on disk (as cert-manager or a Kubernetes secret update does it) is
// served to new connections without a signal or a reload.
TEST_F(WebConfigTest, ACertificateChangedOnDiskIsServedWithoutASignal) {
  const std::string dir = Path("rotation");
  std::filesystem::create_directories(dir);
  for (const char* file : {"ca.crt", "ca.key", "server.crt", "server.key"}) {
    std::filesystem::copy_file(Path(file), dir + "/" + file,
                               std::filesystem::copy_options::overwrite_existing);
  }
  const int port = Start(
      "tls_server_config:\n  cert_file: rotation/server.crt\n  key_file: rotation/server.key\n");
  ASSERT_GT(port, 0) << exporter_->Log();
  const std::string subject = "openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                              " </dev/null 2>/dev/null | openssl x509 -noout -subject";
  EXPECT_NE(RunCommand(subject).output.find("CN = 127.0.0.1"), std::string::npos);

  const std::string error = MakeServerCertificate(dir, "renewed", "renewed.test");
  ASSERT_TRUE(error.empty()) << error;
  // The key first, then the certificate: in between, the pair does not match and the running
  // certificate stays.
  std::filesystem::rename(dir + "/renewed.key", dir + "/server.key");
  std::filesystem::rename(dir + "/renewed.crt", dir + "/server.crt");
  ASSERT_TRUE(WaitFor(
      [&] { return RunCommand(subject).output.find("CN = renewed.test") != std::string::npos; },
      seconds(30)))
      << exporter_->Log();
  EXPECT_EQ(Curl(Https(port, "/metrics"), CaOption()).status, 200);
  EXPECT_NE(exporter_->Log().find("TLS files changed on disk"), std::string::npos);
}

// A flood of wrong passwords costs bcrypt runs on worker threads and is then refused per
// address; a scraper whose credentials passed before keeps getting its metrics meanwhile.
TEST_F(WebConfigTest, AFloodOfWrongPasswordsDoesNotStarveAnAuthenticatedScraper) {
  const int port = Start("basic_auth_users:\n  prometheus: " + *hash_ + "\n");
  ASSERT_GT(port, 0) << exporter_->Log();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  ASSERT_EQ(Curl(base + "/metrics", "-u prometheus:secret").status, 200);
  std::atomic<bool> stop{false};
  std::atomic<int> unauthorized{0}, limited{0};
  std::vector<std::thread> flood;
  for (int i = 0; i < 8; ++i) {
    flood.emplace_back([&, i] {
      while (!stop) {
        const CommandResult r =
            RunCommand("curl -s -o /dev/null -w '%{http_code}' -u prometheus:wrong" +
                       std::to_string(i) + " " + ShellQuote(base + "/metrics"));
        if (r.output == "401") ++unauthorized;
        if (r.output == "429") ++limited;
      }
    });
  }
  int answered = 0;
  for (int i = 0; i < 20; ++i) {
    const CurlResult scrape = Curl(base + "/metrics", "-u prometheus:secret --max-time 2");
    if (scrape.status == 200) ++answered;
  }
  // Ten failures within a minute and the address gets 429s, without a bcrypt run.
  EXPECT_TRUE(WaitFor([&] { return limited.load() > 0; }, seconds(30)));
  stop = true;
  for (auto& t : flood) t.join();
  EXPECT_EQ(answered, 20);
  EXPECT_GT(unauthorized.load(), 0);
}

TEST_F(WebConfigTest, TlsIsServedWithoutAPlainTextPortBehindIt) {
  const int port = Start(TlsConfig() +
                         "  client_auth_type: RequireAndVerifyClientCert\n"
                         "  client_ca_file: ca.crt\n");
  ASSERT_GT(port, 0) << exporter_->Log();
  // The exporter's listening TCP sockets: only the public port and the demo simulator's; no
  // plain-text port that a local user could reach around TLS.
  std::set<std::string> inodes;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(exporter_->pid()) + "/fd")) {
    std::error_code error;
    const std::string target = std::filesystem::read_symlink(entry.path(), error).string();
    std::smatch match;
    if (std::regex_match(target, match, std::regex("socket:\\[(\\d+)\\]"))) inodes.insert(match[1]);
  }
  std::smatch sim;
  const std::string log = exporter_->Log();
  ASSERT_TRUE(std::regex_search(log, sim, std::regex("url=http://127.0.0.1:(\\d+)"))) << log;
  const int simulator_port = std::stoi(sim[1]);
  std::vector<int> relay_ports;
  std::ifstream tcp("/proc/" + std::to_string(exporter_->pid()) + "/net/tcp");
  for (std::string line; std::getline(tcp, line);) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
        timeout >> inode;
    if (state != "0A" || inodes.count(inode) == 0) continue;  // 0A: LISTEN
    const int local_port = std::stoi(local.substr(local.find(':') + 1), nullptr, 16);
    if (local_port != port && local_port != simulator_port) relay_ports.push_back(local_port);
  }
  EXPECT_TRUE(relay_ports.empty()) << "another listening port: " << relay_ports.front();
}

TEST_F(WebConfigTest, InvalidWebConfigStopsStartUpWithExitCodeOne) {
  const std::string path = WriteWebConfig(TlsConfig() + "  min_version: TLS11\n");
  const CommandResult run =
      RunCommand("timeout 30 " + std::string(EXPORTER_BINARY) +
                 " --demo --web.listen-address=127.0.0.1:0 --web.config.file=" + ShellQuote(path));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("level=error"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("web config: tls_server_config.min_version (line 4): expected TLS12 "
                            "or TLS13"),
            std::string::npos)
      << run.output;
  EXPECT_EQ(run.output.find("msg=\"listening\""), std::string::npos) << run.output;

  const CommandResult missing_file = RunCommand(
      "timeout 30 " + std::string(EXPORTER_BINARY) + " --demo --web.listen-address=127.0.0.1:0 " +
      "--web.config.file=" + ShellQuote(Path("absent.yml")));
  EXPECT_EQ(missing_file.exit_code, 1) << missing_file.output;
  EXPECT_NE(missing_file.output.find("web config: cannot read " + Path("absent.yml")),
            std::string::npos)
      << missing_file.output;
}

TEST_F(WebConfigTest, KeyOfAnotherCertificateStopsStartUp) {
  const std::string path =
      WriteWebConfig("tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n");
  const CommandResult run =
      RunCommand("timeout 30 " + std::string(EXPORTER_BINARY) +
                 " --demo --web.listen-address=127.0.0.1:0 --web.config.file=" + ShellQuote(path));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("msg=\"cannot start the HTTP server\" error=\"web config: "
                            "tls_server_config.key_file: cannot load " +
                            Path("client.key") + ": "),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("key values mismatch"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace bird_exporter::testing
