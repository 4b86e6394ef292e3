// The HTTP server against hostile and numerous clients: the real binary in --demo mode, over
// plain HTTP and over TLS, with idle connections, slow request heads, clients that pipeline and
// never read, 200 concurrent scrapers and half-closing clients, while a legitimate scraper must
// keep getting its answers. Also gzip negotiation, and --web.max-requests with a real server
// whose exposition is larger than the socket buffers.
#include <gtest/gtest.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/server.h"
#include "support/exporter_process.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/raw_client.h"
#include "support/test_pki.h"

namespace bird_exporter::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// One GET, 5 s at most; `ca_file` for https. Answers carry the raw response headers.
HttpResponse Get(const std::string& url, const std::string& ca_file,
                 const std::vector<std::string>& headers = {}) {
  HttpRequest request;
  request.url = url;
  request.ca_file = ca_file;
  request.headers = headers;
  return HttpSend(request);
}

std::string Gunzip(const std::string& data) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return "";
  std::string out;
  char buffer[65536];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - z.avail_out);
  }
  inflateEnd(&z);
  return rc == Z_STREAM_END ? out : "";
}

bool HasHeader(const std::string& headers, const std::string& line) {
  return headers.find(line + "\r\n") != std::string::npos;
}

class HostileClientsTest : public ::testing::TestWithParam<bool> {
 protected:
  static void SetUpTestSuite() {
    RaiseOpenFileLimit();
    dir_ = new TempDir("bird_http_server_it");
    const std::string error = MakeTestPki(dir_->path());
    ASSERT_TRUE(error.empty()) << error;
    std::ofstream(*dir_ / "web.yml")
        << "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    std::vector<std::string> args{"--demo", "--web.listen-address=127.0.0.1:0"};
    if (Tls()) args.push_back("--web.config.file=" + *dir_ / "web.yml");
    exporter_ = std::make_unique<ExporterProcess>(
        EXPORTER_BINARY, args, std::map<std::string, std::string>{}, dir_->path());
    port_ = exporter_->WaitForPort(seconds(15));
    ASSERT_GT(port_, 0) << exporter_->Log();
  }

  bool Tls() const { return GetParam(); }
  std::string Ca() const { return Tls() ? *dir_ / "ca.crt" : ""; }
  std::string Url(const std::string& path) const {
    return std::string(Tls() ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
  }
  // A client that completes the TLS handshake when the server speaks TLS.
  std::unique_ptr<RawClient> Speaker(int receive_buffer = 0) const {
    return std::make_unique<RawClient>(port_, Ca(), receive_buffer);
  }
  // Legitimate scrapes, one after another: every one answered 200 with the metrics.
  void ExpectScrapesAnswered(int count) {
    for (int i = 0; i < count; ++i) {
      const HttpResponse answer = Get(Url("/metrics"), Ca());
      ASSERT_EQ(answer.status, 200) << "scrape " << i << "\n" << exporter_->Log();
      ASSERT_NE(answer.body.find("bird_exporter_build_info"), std::string::npos);
    }
  }

  static TempDir* dir_;
  std::unique_ptr<ExporterProcess> exporter_;
  int port_ = 0;
};
TempDir* HostileClientsTest::dir_ = nullptr;

TEST_P(HostileClientsTest, AThousandIdleConnectionsDoNotStallScrapes) {
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 1000; ++i) {
    // Plain TCP even on the TLS port: not even a handshake is started.
    idle.push_back(std::make_unique<RawClient>(port_));
    ASSERT_TRUE(idle.back()->ok()) << "connection " << i;
  }
  ExpectScrapesAnswered(10);
}

TEST_P(HostileClientsTest, SlowRequestHeadsDoNotStallScrapesAndAreCutAtTheHeadDeadline) {
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 64; ++i) {
    slow.push_back(Speaker());
    ASSERT_TRUE(slow.back()->ok());
    ASSERT_TRUE(slow.back()->Send("GET /metrics HTTP/1.1\r\nHo"));
  }
  ExpectScrapesAnswered(5);
  // One more byte now and then is not enough: the head must be complete within 10 s.
  for (int round = 0; round < 3; ++round) {
    for (auto& client : slow) client->Send("s");
    ExpectScrapesAnswered(1);
  }
  EXPECT_TRUE(slow.front()->ClosedByPeer(seconds(20)));
  EXPECT_TRUE(slow.back()->ClosedByPeer(seconds(5)));
}

TEST_P(HostileClientsTest, ClientsThatPipelineAndNeverReadDoNotStallScrapes) {
  std::vector<std::unique_ptr<RawClient>> pipeliners;
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string burst;
  for (int i = 0; i < 100; ++i) burst += request;
  for (int i = 0; i < 8; ++i) {
    pipeliners.push_back(Speaker(/*receive_buffer=*/4096));
    ASSERT_TRUE(pipeliners.back()->ok());
    EXPECT_GT(pipeliners.back()->SendUntilFull(burst, 4 << 20), request.size());
  }
  ExpectScrapesAnswered(10);
}

TEST_P(HostileClientsTest, TwoHundredConcurrentScrapesAreAllAnswered) {
  std::atomic<int> answered{0};
  std::vector<std::thread> scrapers;
  for (int i = 0; i < 200; ++i) {
    scrapers.emplace_back([&] {
      const HttpResponse answer = Get(Url("/metrics"), Ca());
      if (answer.status == 200 &&
          answer.body.find("bird_exporter_build_info") != std::string::npos) {
        ++answered;
      }
    });
  }
  for (auto& t : scrapers) t.join();
  EXPECT_EQ(answered.load(), 200);
}

TEST_P(HostileClientsTest, AClientThatHalfClosesAfterItsRequestStillGetsTheAnswer) {
  auto client = Speaker();
  ASSERT_TRUE(client->ok());
  ASSERT_TRUE(client->Send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  client->ShutdownWrite();
  const std::string answer = client->ReadUntilClosed(seconds(10));
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer.substr(0, 200);
  EXPECT_NE(answer.find("bird_exporter_build_info"), std::string::npos);
  // The whole body arrived: the exposition ends with a newline after its last sample.
  EXPECT_EQ(answer.back(), '\n');
}

TEST_P(HostileClientsTest, NegotiatesGzipFromAcceptEncoding) {
  const HttpResponse gzip = Get(Url("/metrics"), Ca(), {"Accept-Encoding: gzip"});
  ASSERT_EQ(gzip.status, 200);
  EXPECT_TRUE(HasHeader(gzip.raw_headers, "Content-Encoding: gzip")) << gzip.raw_headers;
  EXPECT_TRUE(HasHeader(gzip.raw_headers, "Vary: Accept, Accept-Encoding")) << gzip.raw_headers;
  EXPECT_NE(Gunzip(gzip.body).find("bird_exporter_build_info"), std::string::npos);

  for (const char* header : {"Accept-Encoding: gzip;q=0", "Accept-Encoding: identity",
                             "Accept-Encoding: br", "Accept-Encoding: gzip;q=0.5, identity"}) {
    const HttpResponse plain = Get(Url("/metrics"), Ca(), {header});
    ASSERT_EQ(plain.status, 200) << header;
    EXPECT_EQ(plain.raw_headers.find("Content-Encoding"), std::string::npos) << header;
    EXPECT_NE(plain.body.find("bird_exporter_build_info"), std::string::npos) << header;
  }
  const HttpResponse starred = Get(Url("/metrics"), Ca(), {"Accept-Encoding: identity;q=0.1, *"});
  EXPECT_TRUE(HasHeader(starred.raw_headers, "Content-Encoding: gzip")) << starred.raw_headers;
  const HttpResponse none = Get(Url("/metrics"), Ca());
  EXPECT_EQ(none.raw_headers.find("Content-Encoding"), std::string::npos);
  EXPECT_TRUE(
      HasHeader(none.raw_headers, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
}

TEST_P(HostileClientsTest, NegotiatesOpenMetricsWithExemplarsFromAccept) {
  const std::string prometheus_accept =
      "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
      "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
  // The first such scrape may still get the text format: OpenMetrics is rendered from then on.
  HttpResponse om;
  ASSERT_TRUE(WaitFor(
      [&] {
        om = Get(Url("/metrics"), Ca(), {prometheus_accept});
        return om.body.find(" # {call_id=\"") != std::string::npos;
      },
      seconds(30)))
      << om.raw_headers << om.body.substr(0, 500);
  EXPECT_TRUE(HasHeader(om.raw_headers,
                        "Content-Type: application/openmetrics-text; version=1.0.0; "
                        "charset=utf-8"))
      << om.raw_headers;
  EXPECT_EQ(om.body.substr(om.body.size() - 6), "# EOF\n");
  EXPECT_NE(om.body.find("# TYPE bird_calls counter\n"), std::string::npos);
  EXPECT_NE(om.body.find("bird_call_mos_bucket{"), std::string::npos);
  const HttpResponse om_gzip =
      Get(Url("/metrics"), Ca(), {prometheus_accept, "Accept-Encoding: gzip"});
  EXPECT_TRUE(HasHeader(om_gzip.raw_headers, "Content-Encoding: gzip"));
  EXPECT_NE(Gunzip(om_gzip.body).find("# EOF\n"), std::string::npos);
  // A scraper that prefers the text format still gets it, without exemplars.
  const HttpResponse text =
      Get(Url("/metrics"), Ca(), {"Accept: text/plain;version=0.0.4;q=1,*/*;q=0.1"});
  EXPECT_TRUE(
      HasHeader(text.raw_headers, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
  EXPECT_EQ(text.body.find("# EOF"), std::string::npos);
  EXPECT_EQ(text.body.find("call_id"), std::string::npos);
}

TEST_P(HostileClientsTest, TheLandingPageShowsEachChannelsLastPollAndCounts) {
  HttpResponse page;
  ASSERT_TRUE(WaitFor(
      [&] {
        page = Get(Url("/"), Ca());
        return page.body.find("<td>support-nl</td><td>up</td>") != std::string::npos;
      },
      seconds(30)))
      << page.body;
  for (const char* channel : {"support-nl", "sales-de", "support-uk", "outbound-us"}) {
    EXPECT_NE(page.body.find(std::string("<td>") + channel + "</td>"), std::string::npos)
        << channel;
  }
  EXPECT_NE(page.body.find(" UTC ("), std::string::npos) << page.body;
  EXPECT_TRUE(HasHeader(page.raw_headers, "Content-Type: text/html; charset=utf-8"));
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, HostileClientsTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Tls" : "Plain"; });

// An exposition of `series` gauges with long label values: several MB, more than the kernel
// buffers of one connection hold, so a scrape whose client does not read stays in flight.
class LargeExposition : public prometheus::Collectable {
 public:
  explicit LargeExposition(int series) : series_(series) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily family;
    family.name = "large_exposition_series";
    family.help = "Series that make the exposition large.";
    family.type = prometheus::MetricType::Gauge;
    const std::string padding(200, 'x');
    for (int i = 0; i < series_; ++i) {
      prometheus::ClientMetric metric;
      metric.label.push_back({"id", std::to_string(i) + padding});
      metric.gauge.value = i;
      family.metric.push_back(std::move(metric));
    }
    return {family};
  }

 private:
  int series_;
};

class MaxRequestsTest : public ::testing::TestWithParam<bool> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("bird_max_requests");
    const std::string error = MakeTestPki(dir_->path());
    ASSERT_TRUE(error.empty()) << error;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  // A server allowing two concurrent scrapes, over TLS when the parameter says so.
  static ServerSettings Settings(std::chrono::milliseconds slot_hold) {
    ServerSettings settings;
    settings.listen_address = "127.0.0.1:0";
    settings.max_requests = 2;
    settings.scrape_slot_hold = slot_hold;
    if (GetParam()) {
      settings.web_config.tls_enabled = true;
      settings.web_config.tls.cert_file = *dir_ / "server.crt";
      settings.web_config.tls.key_file = *dir_ / "server.key";
    }
    return settings;
  }
  static std::string Ca() { return GetParam() ? *dir_ / "ca.crt" : ""; }
  static std::string Base(int port) {
    return std::string(GetParam() ? "https" : "http") + "://127.0.0.1:" + std::to_string(port);
  }

  static TempDir* dir_;
};
TempDir* MaxRequestsTest::dir_ = nullptr;

// In process, so that the exposition can be made larger than the socket buffers: a scrape whose
// client does not read then stays in flight for as long as the test wants.
TEST_P(MaxRequestsTest, ScrapesBeyondTheLimitGet503UntilOneEnds) {
  auto large = std::make_shared<LargeExposition>(60000);  // about 14 MB
  // The stuck scrapes keep their slots.
  HttpServer server(Settings(std::chrono::minutes(1)), {large}, [] { return std::string(); });
  const int port = server.ListeningPorts().front();
  const std::string ca = Ca();
  const std::string base = Base(port);
  const std::string url = base + "/metrics";

  // Two scrapes whose clients do not read: both stay in flight.
  std::vector<std::unique_ptr<RawClient>> stuck;
  for (int i = 0; i < 2; ++i) {
    stuck.push_back(std::make_unique<RawClient>(port, ca, /*receive_buffer=*/4096));
    ASSERT_TRUE(stuck.back()->Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  // Their answers have started (and stalled) once the first bytes can be read.
  for (auto& client : stuck) {
    std::string first;
    ASSERT_TRUE(WaitFor(
        [&] {
          first = client->ReadResponse(milliseconds(50));
          return !first.empty();
        },
        seconds(10)));
  }
  const HttpResponse refused = Get(url, ca);
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(refused.body.find("--web.max-requests"), std::string::npos) << refused.body;
  EXPECT_TRUE(HasHeader(refused.raw_headers, "Retry-After: 1")) << refused.raw_headers;
  EXPECT_EQ(Get(base + "/-/healthy", ca).status, 200);

  stuck.pop_back();  // one client goes away: its scrape ends
  ASSERT_TRUE(WaitFor([&] { return Get(url, ca).status == 200; }, seconds(10)));
}

// With the default hold, clients that stop reading cannot keep --web.max-requests used up: their
// slots come back while their own answers stay stuck.
TEST_P(MaxRequestsTest, ClientsThatStopReadingGiveTheirSlotsBack) {
  auto large = std::make_shared<LargeExposition>(60000);
  HttpServer server(Settings(milliseconds(300)), {large}, [] { return std::string(); });
  const int port = server.ListeningPorts().front();
  const std::string ca = Ca();
  std::vector<std::unique_ptr<RawClient>> stuck;
  for (int i = 0; i < 4; ++i) {
    stuck.push_back(std::make_unique<RawClient>(port, ca, /*receive_buffer=*/4096));
    ASSERT_TRUE(stuck.back()->Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  const std::string url = Base(port) + "/metrics";
  ASSERT_TRUE(WaitFor([&] { return Get(url, ca).status == 200; }, seconds(10)));
  // The stuck clients are still connected, their answers unread.
  for (auto& client : stuck) EXPECT_FALSE(client->ClosedByPeer(milliseconds(10)));
}

// One gauge whose value the test sets; counts its collections and whether `guard` was held by
// the collecting thread while it collected (asked from another thread).
class WatchedExposition : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    ++collections;
    bool locked = false;
    std::thread([&] {
      locked = guard.try_lock();
      if (locked) guard.unlock();
    }).join();
    guard_held = !locked;
    prometheus::MetricFamily family;
    family.name = "watched_value";
    family.help = "A value the test sets.";
    family.type = prometheus::MetricType::Gauge;
    prometheus::ClientMetric metric;
    metric.gauge.value = value;
    family.metric.push_back(metric);
    return {family};
  }

  std::atomic<int> value{0};
  mutable std::atomic<int> collections{0};
  mutable std::atomic<bool> guard_held{false};
  mutable std::mutex guard;
};

// The exposition is rendered by the scrapes that need it: after a poll has committed
// (RequestRender) or once the snapshot is older than max_snapshot_age, never without a scrape.
TEST(SnapshotTest, AScrapeRendersWhatACommittedPollAddedAndOnlyThen) {
  auto watched = std::make_shared<WatchedExposition>();
  ServerSettings settings;
  settings.listen_address = "127.0.0.1:0";
  settings.max_snapshot_age = std::chrono::hours(1);
  settings.collect_guard = [watched] { return std::unique_lock(watched->guard); };
  HttpServer server(settings, {watched}, [] { return std::string(); });
  const std::string url =
      "http://127.0.0.1:" + std::to_string(server.ListeningPorts().front()) + "/metrics";
  EXPECT_EQ(watched->collections, 1);  // at start-up, for the first scrape
  EXPECT_TRUE(watched->guard_held);

  watched->value = 7;  // a poll under way: not in the snapshot yet
  HttpResponse answer = Get(url, "");
  ASSERT_EQ(answer.status, 200);
  EXPECT_NE(answer.body.find("watched_value 0\n"), std::string::npos) << answer.body;
  EXPECT_EQ(watched->collections, 1);

  server.RequestRender();  // the poll has committed; nobody scrapes yet: nothing is rendered
  EXPECT_EQ(watched->collections, 1);
  answer = Get(url, "");
  EXPECT_NE(answer.body.find("watched_value 7\n"), std::string::npos) << answer.body;
  EXPECT_EQ(watched->collections, 2);
  EXPECT_TRUE(watched->guard_held);

  answer = Get(url, "");  // nothing committed since: the same snapshot
  EXPECT_NE(answer.body.find("watched_value 7\n"), std::string::npos) << answer.body;
  EXPECT_EQ(watched->collections, 2);
}

TEST(SnapshotTest, AScrapeRendersASnapshotOlderThanTheMaximumAge) {
  auto watched = std::make_shared<WatchedExposition>();
  ServerSettings settings;
  settings.listen_address = "127.0.0.1:0";
  settings.max_snapshot_age = milliseconds(50);
  HttpServer server(settings, {watched}, [] { return std::string(); });
  const std::string url =
      "http://127.0.0.1:" + std::to_string(server.ListeningPorts().front()) + "/metrics";
  watched->value = 3;
  EXPECT_TRUE(
      WaitFor([&] { return Get(url, "").body.find("watched_value 3\n") != std::string::npos; },
              seconds(10)));
  EXPECT_FALSE(watched->guard_held);  // no guard set: nothing held
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, MaxRequestsTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Tls" : "Plain"; });

}  // namespace
}  // namespace bird_exporter::testing
