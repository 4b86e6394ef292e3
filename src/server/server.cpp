#include "server/server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "log/logging.h"
#include "server/basic_auth.h"
#include "server/exposition.h"
#include "version.h"

namespace bird_exporter {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using std::chrono::steady_clock;

namespace {

// Everything OpenSSL queued on this thread, oldest first, as one line.
std::string OpenSslErrors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

[[noreturn]] void FailTls(SSL_CTX* ctx, const std::string& what) {
  const std::string errors = OpenSslErrors();
  SSL_CTX_free(ctx);
  throw ServerError("web config: " + what + ": " + errors);
}

// Never prompt on the terminal for the pass phrase of an encrypted key.
int NoPassphrase(char*, int, int, void*) { return 0; }
// RequestClientCert and RequireAnyClientCert: a certificate is asked for but not checked.
int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

std::shared_ptr<ssl::context> MakeTlsContext(const TlsServerConfig& tls) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) FailTls(nullptr, "tls_server_config");
  const auto version = [](TlsVersion v) {
    return v == TlsVersion::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
  };
  SSL_CTX_set_min_proto_version(ctx, version(tls.min_version));
  SSL_CTX_set_max_proto_version(ctx, version(tls.max_version));
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  if (tls.prefer_server_cipher_suites) SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  std::string suites;
  for (const auto& suite : tls.cipher_suites) suites += (suites.empty() ? "" : ":") + suite;
  if (SSL_CTX_set_cipher_list(ctx, suites.empty() ? kDefaultTls12CipherSuites : suites.c_str()) !=
      1) {
    FailTls(ctx, "tls_server_config.cipher_suites: OpenSSL has none of them");
  }
  if (!tls.curve_preferences.empty()) {
    std::string groups;
    for (const auto& group : tls.curve_preferences) groups += (groups.empty() ? "" : ":") + group;
    if (SSL_CTX_set1_groups_list(ctx, groups.c_str()) != 1) {
      FailTls(ctx, "tls_server_config.curve_preferences: OpenSSL refuses " + groups);
    }
  }
  SSL_CTX_set_default_passwd_cb(ctx, NoPassphrase);
  // Idle TLS connections give their read and write buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  static const unsigned char kSessionContext[] = "bird_call_exporter";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);

  if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1) {
    FailTls(ctx, "tls_server_config.cert_file: cannot load " + tls.cert_file);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    FailTls(ctx, "tls_server_config.key_file: cannot load " + tls.key_file);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    FailTls(ctx, "tls_server_config.key_file: " + tls.key_file +
                     " does not belong to the certificate in " + tls.cert_file);
  }

  switch (tls.client_auth_type) {
    case ClientAuthType::kNoClientCert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
      break;
    case ClientAuthType::kRequestClientCert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, AcceptAnyCertificate);
      break;
    case ClientAuthType::kRequireAnyClientCert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         AcceptAnyCertificate);
      break;
    case ClientAuthType::kVerifyClientCertIfGiven:
    case ClientAuthType::kRequireAndVerifyClientCert: {
      // Only client_ca_file is trusted, never the system's CA store.
      if (SSL_CTX_load_verify_locations(ctx, tls.client_ca_file.c_str(), nullptr) != 1) {
        FailTls(ctx, "tls_server_config.client_ca_file: cannot load " + tls.client_ca_file);
      }
      STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
      if (names == nullptr) {
        FailTls(ctx, "tls_server_config.client_ca_file: no certificates in " + tls.client_ca_file);
      }
      SSL_CTX_set_client_CA_list(ctx, names);
      int mode = SSL_VERIFY_PEER;
      if (tls.client_auth_type == ClientAuthType::kRequireAndVerifyClientCert) {
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      }
      SSL_CTX_set_verify(ctx, mode, nullptr);
      break;
    }
  }
  // The asio context takes ownership of the native one.
  return std::make_shared<ssl::context>(ctx);
}

// One answer: its body is a view into something `owner` keeps alive (a snapshot, a string), so
// that a large exposition is written without a copy.
struct Reply {
  http::status status = http::status::ok;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<http::field, std::string>> headers;
  std::shared_ptr<const void> owner;
  std::string_view body;
  bool close = false;  // close the connection after this answer
  // Held while a scrape counts against --web.max-requests; Release() ends that early.
  struct ScrapeSlot {
    ScrapeSlot(int& in_flight, std::deque<asio::steady_timer*>& waiting)
        : count(in_flight), waiters(waiting) {
      ++count;
    }
    ~ScrapeSlot() { Release(); }
    void Release() {
      if (!held) return;
      held = false;
      --count;
      // The scrape waiting longest may take the slot.
      if (!waiters.empty()) {
        waiters.front()->cancel();
        waiters.pop_front();
      }
    }
    int& count;
    std::deque<asio::steady_timer*>& waiters;
    bool held = true;
  };
  std::shared_ptr<ScrapeSlot> scrape_slot;
};

Reply TextReply(http::status status, std::string body) {
  auto text = std::make_shared<const std::string>(std::move(body));
  Reply reply;
  reply.status = status;
  reply.body = *text;
  reply.owner = std::move(text);
  return reply;
}

// What identifies the contents of the TLS files without reading them: a change of any (a
// rotated Kubernetes secret, a renewed certificate) makes a new TLS context.
std::string TlsFilesFingerprint(const TlsServerConfig& tls) {
  std::string fingerprint;
  for (const std::string* path : {&tls.cert_file, &tls.key_file, &tls.client_ca_file}) {
    struct stat st {};
    if (path->empty()) continue;
    if (::stat(path->c_str(), &st) != 0) {
      fingerprint += "missing;";
      continue;
    }
    fingerprint += std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
                   std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
                   std::to_string(st.st_mtim.tv_nsec) + ";";
  }
  return fingerprint;
}

bool IsParseError(const boost::system::error_code& ec) {
  return ec.category() == beast::http::make_error_code(http::error::bad_target).category();
}

}  // namespace

struct HttpServer::Impl {
  // The basic-auth part of the web config, replaced whole on reload (with a fresh cache, so an
  // old password stops working at once).
  struct AuthState {
    WebConfig web_config;
    BasicAuthCache cache;
  };
  struct Failures {
    int count = 0;
    steady_clock::time_point since;
  };
  static constexpr int kMaxQueuedAuthChecks = 16;
  static constexpr auto kFailureWindow = std::chrono::minutes(1);

  Impl(ServerSettings s, std::vector<std::weak_ptr<prometheus::Collectable>> c, ReadinessCheck r)
      : settings(std::move(s)), collectables(std::move(c)), readiness(std::move(r)) {}

  ServerSettings settings;
  std::vector<std::weak_ptr<prometheus::Collectable>> collectables;
  ReadinessCheck readiness;

  // Reset explicitly in Stop(), before the members its pending sessions use.
  std::unique_ptr<asio::io_context> io = std::make_unique<asio::io_context>(1);
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> accept_wait;  // armed while at the connection limit
  asio::thread_pool workers{2};                     // bcrypt and reloads, off the event loop
  // Renderings for scrapes, one at a time: a scrape never queues behind password checks, and
  // those never wait for a rendering.
  asio::thread_pool renderer{1};
  std::thread io_thread;
  std::thread render_thread;
  int port = 0;

  // Touched by the event loop only.
  int connections = 0;
  int scrapes_in_flight = 0;
  std::deque<asio::steady_timer*> scrape_waiters;  // scrapes waiting for a slot, oldest first
  int auth_checks_queued = 0;
  std::map<std::string, Failures> auth_failures;  // by client address
  bool stopping = false;

  mutable std::mutex mutex;  // guards auth, tls and snapshot
  std::shared_ptr<AuthState> auth;
  std::shared_ptr<ssl::context> tls;  // null: plain HTTP
  TlsServerConfig tls_config;         // what `tls` was made from
  std::string tls_fingerprint;        // of its files when it was made (or last tried)
  std::shared_ptr<const Snapshot> snapshot;

  std::atomic<bool> openmetrics_wanted{false};  // a scraper asked for it: render it from now on
  // Renderings asked for (RequestRender after a committed poll, a first OpenMetrics scrape): a
  // snapshot that began to collect before the latest one is out of date, and the next scrape
  // renders before it answers.
  std::atomic<std::uint64_t> render_requests{0};
  std::mutex render_exec_mutex;
  steady_clock::time_point earliest_render;  // guarded by render_exec_mutex
  std::mutex render_mutex;
  std::condition_variable render_cv;
  bool render_requested = false;
  bool render_stop = false;

  template <class T>
  std::shared_ptr<T> Current(const std::shared_ptr<T>& member) const {
    std::lock_guard lock(mutex);
    return member;
  }

  void Render() {
    std::lock_guard render_lock(render_exec_mutex);
    RenderLocked();
  }

  // Whether the snapshot misses a committed poll or is older than max_snapshot_age.
  bool RenderWanted() const {
    const std::shared_ptr<const Snapshot> current = Current(snapshot);
    return current->requests_seen != render_requests.load() ||
           steady_clock::now() - current->rendered >= settings.max_snapshot_age;
  }

  // Renders for a scrape, on the renderer thread, when the snapshot is out of date, but never
  // sooner than nine times the last rendering's duration after it ended: however often clients
  // scrape and however many series there are, rendering takes at most a tenth of a core. Scrapes
  // that come meanwhile queue behind the rendering under way, then serve it. A rendering that
  // fails leaves the snapshot out of date, so the next scrape tries again.
  void RenderIfWanted() {
    std::lock_guard render_lock(render_exec_mutex);
    if (!RenderWanted() || steady_clock::now() < earliest_render) return;
    const auto started = steady_clock::now();
    try {
      RenderLocked();
    } catch (const std::exception& e) {
      spdlog::error("cannot render the metrics error={}", LogQuote(e.what()));
    }
    const auto ended = steady_clock::now();
    earliest_render = ended + 9 * (ended - started);
  }

  // One rendering at a time (render_exec_mutex held), collect to swap: a later one never loses
  // to an older one. Collecting holds settings.collect_guard, so that a snapshot has all of a
  // poll's counts or none.
  void RenderLocked() {
    const std::uint64_t requests_seen = render_requests.load();
    std::vector<prometheus::MetricFamily> families;
    {
      std::unique_lock<std::mutex> guard;
      if (settings.collect_guard) guard = settings.collect_guard();
      for (const auto& weak : collectables) {
        if (auto collectable = weak.lock()) {
          auto collected = collectable->Collect();
          families.insert(families.end(), std::make_move_iterator(collected.begin()),
                          std::make_move_iterator(collected.end()));
        }
      }
    }
    auto next = std::make_shared<Snapshot>();
    next->text = prometheus::TextSerializer().Serialize(families);
    next->gzip = Gzip(next->text, 1);
    if (openmetrics_wanted) {
      next->openmetrics =
          SerializeOpenMetrics(families, settings.exemplars ? settings.exemplars() : ExemplarMap());
      next->openmetrics_gzip = Gzip(next->openmetrics, 1);
      next->has_openmetrics = true;
    }
    next->channel_table = ChannelTable(
        families,
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
    next->rendered = steady_clock::now();
    next->requests_seen = requests_seen;
    std::lock_guard lock(mutex);
    snapshot = std::move(next);
  }

  // Certificates, keys and client CAs are watched: when a file changes on disk, new
  // connections get a context made from the new files; if they do not load, the old one stays.
  void ReloadChangedTlsFiles() {
    TlsServerConfig config;
    std::string seen;
    {
      std::lock_guard lock(mutex);
      if (!tls) return;
      config = tls_config;
      seen = tls_fingerprint;
    }
    const std::string now = TlsFilesFingerprint(config);
    if (now == seen) return;
    std::shared_ptr<ssl::context> next;
    try {
      next = MakeTlsContext(config);
      spdlog::info("TLS files changed on disk, new connections use them cert_file={}",
                   LogQuote(config.cert_file));
    } catch (const ServerError& e) {
      spdlog::error(
          "TLS files changed on disk but cannot be used, keeping the running ones "
          "error={}",
          LogQuote(e.what()));
    }
    std::lock_guard lock(mutex);
    if (tls_config.cert_file != config.cert_file || tls_config.key_file != config.key_file ||
        tls_config.client_ca_file != config.client_ca_file) {
      return;  // a reload replaced the configuration meanwhile
    }
    tls_fingerprint = now;  // a broken file is reported once, not at every check
    if (next) tls = std::move(next);
  }

  // Checks the TLS files after each poll and at least every max_snapshot_age. Rendering is
  // left to the scrapes (RenderIfWanted): with nobody scraping, nothing is rendered.
  void RenderLoop() {
    std::unique_lock lock(render_mutex);
    while (!render_stop) {
      render_cv.wait_for(lock, settings.max_snapshot_age,
                         [this] { return render_requested || render_stop; });
      if (render_stop) break;
      render_requested = false;
      lock.unlock();
      ReloadChangedTlsFiles();
      lock.lock();
    }
  }

  // Counts a connection for its lifetime; at the limit the acceptor waits for one to end.
  struct ConnectionGuard {
    Impl* impl;
    explicit ConnectionGuard(Impl* i) : impl(i) { ++impl->connections; }
    ~ConnectionGuard() {
      --impl->connections;
      if (impl->accept_wait && !impl->stopping) impl->accept_wait->cancel();
    }
    ConnectionGuard(const ConnectionGuard&) = delete;
    ConnectionGuard& operator=(const ConnectionGuard&) = delete;
  };

  awaitable<void> AcceptLoop() {
    for (;;) {
      while (connections >= settings.max_connections && !stopping) {
        // New connections wait in the listen backlog meanwhile instead of being reset.
        boost::system::error_code ec;
        accept_wait->expires_at(asio::steady_timer::time_point::max());
        co_await accept_wait->async_wait(asio::redirect_error(use_awaitable, ec));
      }
      if (stopping) co_return;
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor->async_accept(asio::redirect_error(use_awaitable, ec));
      if (stopping || ec == asio::error::operation_aborted) co_return;
      if (ec) {
        // Out of file descriptors or similar: try again shortly rather than spin.
        spdlog::warn("cannot accept a connection error={}", LogQuote(ec.message()));
        asio::steady_timer pause(*io, std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      asio::co_spawn(*io, Session(std::move(socket)), asio::detached);
    }
  }

  awaitable<void> Session(tcp::socket socket) {
    ConnectionGuard guard(this);
    boost::system::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    const std::string peer = ec ? std::string() : remote.address().to_string();
    // Nothing is allocated for a connection until it sends something (an idle connection costs
    // its socket only); one that sends nothing is closed after the head (or handshake) timeout.
    const std::shared_ptr<ssl::context> context = Current(tls);
    {
      asio::steady_timer deadline(
          *io, context ? settings.tls_handshake_timeout : settings.read_header_timeout);
      deadline.async_wait([&socket](const boost::system::error_code& timer_ec) {
        if (!timer_ec) socket.cancel();
      });
      co_await socket.async_wait(tcp::socket::wait_read, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
    }
    beast::tcp_stream tcp(std::move(socket));
    if (!context) {
      co_await Exchange(tcp, peer);
      tcp.socket().shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp), *context);
    // One deadline for the whole handshake, however slowly its bytes arrive.
    beast::get_lowest_layer(stream).expires_after(settings.tls_handshake_timeout);
    co_await stream.async_handshake(ssl::stream_base::server,
                                    asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    if (co_await Exchange(stream, peer)) {
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
      co_await stream.async_shutdown(asio::redirect_error(use_awaitable, ec));
    }
  }

  // Requests and answers on one connection until either side ends it. True when it ended
  // cleanly (a TLS close_notify is then worth sending).
  template <class Stream>
  awaitable<bool> Exchange(Stream& stream, const std::string& peer) {
    auto& lowest = beast::get_lowest_layer(stream);
    beast::flat_buffer buffer(64 * 1024);
    bool first = true;
    for (;;) {
      boost::system::error_code ec;
      if (buffer.size() == 0) {
        // Waiting for a request: a connection that never sends one is closed after the head
        // timeout; a kept-alive one after the idle timeout.
        lowest.expires_after(first ? settings.read_header_timeout : settings.idle_timeout);
        const std::size_t n = co_await stream.async_read_some(
            buffer.prepare(4096), asio::redirect_error(use_awaitable, ec));
        if (ec) co_return !first && (ec == asio::error::eof || ec == ssl::error::stream_truncated);
        buffer.commit(n);
      }
      first = false;
      const auto started = steady_clock::now();
      lowest.expires_after(settings.read_header_timeout);
      http::request_parser<http::string_body> parser;
      parser.header_limit(16 * 1024);
      parser.body_limit(64 * 1024);
      co_await http::async_read_header(stream, buffer, parser,
                                       asio::redirect_error(use_awaitable, ec));
      if (!ec && !parser.is_done()) {
        lowest.expires_at(started + settings.read_timeout);
        co_await http::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
      }
      if (ec) {
        if (!IsParseError(ec)) co_return false;
        Reply reply = TextReply(ec == http::error::body_limit ? http::status::payload_too_large
                                : ec == http::error::header_limit
                                    ? http::status::request_header_fields_too_large
                                    : http::status::bad_request,
                                "Bad request: " + ec.message() + "\n");
        co_await Write(stream, reply, 11, false, false);
        co_return false;
      }
      http::request<http::string_body> request = parser.release();
      Reply reply = co_await Handle(request, peer);
      const bool keep_alive = request.keep_alive() && !reply.close;
      // A client that reads slowly, or not at all, keeps its scrape's slot for scrape_slot_hold
      // at most: it cannot use up --web.max-requests for the others.
      std::optional<asio::steady_timer> slot_timer;
      if (reply.scrape_slot) {
        slot_timer.emplace(*io, settings.scrape_slot_hold);
        slot_timer->async_wait(
            [slot = std::weak_ptr(reply.scrape_slot)](const boost::system::error_code& ec) {
              if (ec) return;
              if (auto held = slot.lock()) held->Release();
            });
      }
      if (!co_await Write(stream, reply, request.version(), keep_alive,
                          request.method() == http::verb::head)) {
        co_return false;
      }
      if (!keep_alive) co_return true;
    }
  }

  // Writes an answer; a client that takes none of it for write_timeout is dropped.
  template <class Stream>
  awaitable<bool> Write(Stream& stream, const Reply& reply, unsigned version, bool keep_alive,
                        bool head) {
    http::response<http::span_body<const char>> response(reply.status, version);
    response.set(http::field::server, "bird_call_exporter");
    response.set(http::field::content_type, reply.content_type);
    response.set(http::field::cache_control, "no-store");
    for (const auto& [field, value] : reply.headers) response.set(field, value);
    response.content_length(reply.body.size());
    if (!head) response.body() = {reply.body.data(), reply.body.size()};
    response.keep_alive(keep_alive);
    http::serializer<false, http::span_body<const char>> serializer(response);
    auto& lowest = beast::get_lowest_layer(stream);
    boost::system::error_code ec;
    while (!serializer.is_done()) {
      lowest.expires_after(settings.write_timeout);
      co_await http::async_write_some(stream, serializer, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return false;
    }
    co_return true;
  }

  // The body of a call run on a worker thread (co_spawn'ed on `workers`, awaited on the loop).
  template <class Fn>
  static awaitable<std::invoke_result_t<Fn>> RunOnWorker(Fn fn) {
    co_return fn();
  }

  // Empty when the request may proceed, else the answer (401 or 429).
  awaitable<std::optional<Reply>> Authorize(const http::request<http::string_body>& request,
                                            const std::string& peer) {
    const std::shared_ptr<AuthState> state = Current(auth);
    if (!state->web_config.BasicAuthEnabled()) co_return std::nullopt;
    const std::string header(request[http::field::authorization]);
    if (!header.empty() && state->cache.Contains(header)) co_return std::nullopt;
    const auto now = steady_clock::now();
    auto failures = auth_failures.find(peer);
    if (failures != auth_failures.end() && now - failures->second.since > kFailureWindow) {
      auth_failures.erase(failures);
      failures = auth_failures.end();
    }
    if ((failures != auth_failures.end() && failures->second.count >= settings.max_auth_failures) ||
        auth_checks_queued >= kMaxQueuedAuthChecks) {
      Reply reply = TextReply(http::status::too_many_requests,
                              "Too many failed authentication attempts, try again later\n");
      reply.headers.emplace_back(http::field::retry_after, "60");
      reply.close = true;
      co_return reply;
    }
    ++auth_checks_queued;
    auto check = [state, header] {
      return CheckBasicAuth(state->web_config, header, &state->cache);
    };
    const bool ok = co_await asio::co_spawn(workers, RunOnWorker(std::move(check)), use_awaitable);
    --auth_checks_queued;
    if (ok) co_return std::nullopt;
    if (auth_failures.size() > 10000) {
      std::erase_if(auth_failures,
                    [now](const auto& e) { return now - e.second.since > kFailureWindow; });
    }
    if (auth_failures.size() <= 10000) {
      auto& entry = auth_failures[peer];
      if (entry.count == 0) entry.since = now;
      ++entry.count;
    }
    Reply reply = TextReply(http::status::unauthorized, "Unauthorized\n");
    reply.headers.emplace_back(http::field::www_authenticate, "Basic realm=\"bird_call_exporter\"");
    co_return reply;
  }

  awaitable<Reply> Handle(const http::request<http::string_body>& request,
                          const std::string& peer) {
    std::string_view path(request.target().data(), request.target().size());
    if (const auto query = path.find('?'); query != std::string_view::npos) {
      path = path.substr(0, query);
    }
    const http::verb method = request.method();
    const bool get = method == http::verb::get || method == http::verb::head;
    // /-/healthy stays open: load balancers and liveness probes carry no credentials.
    if (path == "/-/healthy") {
      if (!get) co_return MethodNotAllowed("GET, HEAD");
      co_return TextReply(http::status::ok, "Healthy\n");
    }
    if (auto refused = co_await Authorize(request, peer)) co_return std::move(*refused);
    if (path == settings.telemetry_path) {
      if (!get) co_return MethodNotAllowed("GET, HEAD");
      co_return co_await Scrape(request);
    }
    if (path == "/-/ready") {
      if (!get) co_return MethodNotAllowed("GET, HEAD");
      const std::string reason = readiness ? readiness() : std::string();
      if (reason.empty()) co_return TextReply(http::status::ok, "Ready\n");
      co_return TextReply(http::status::service_unavailable, "Not ready: " + reason + "\n");
    }
    if (path == "/-/reload") {
      // As in Prometheus: the lifecycle endpoints exist only when asked for.
      if (!settings.enable_lifecycle) {
        co_return TextReply(http::status::forbidden,
                            "Lifecycle API is not enabled (--web.enable-lifecycle)\n");
      }
      // It changes state, so only POST does it (as in Prometheus and blackbox_exporter).
      if (method != http::verb::post) co_return MethodNotAllowed("POST");
      auto reload = [fn = settings.reload] {
        return fn ? fn() : std::string("reload is not available");
      };
      const std::string error =
          co_await asio::co_spawn(workers, RunOnWorker(std::move(reload)), use_awaitable);
      if (error.empty()) co_return TextReply(http::status::ok, "Reloaded\n");
      co_return TextReply(http::status::internal_server_error,
                          "failed to reload the configuration: " + error + "\n");
    }
    if (path == "/") {
      if (!get) co_return MethodNotAllowed("GET, HEAD");
      co_await UpToDate();
      Reply reply = TextReply(http::status::ok, LandingPage());
      reply.content_type = "text/html; charset=utf-8";
      co_return reply;
    }
    co_return TextReply(http::status::not_found, "Not found\n");
  }

  static Reply MethodNotAllowed(const char* allow) {
    Reply reply = TextReply(http::status::method_not_allowed,
                            std::string("Only ") + allow + " is allowed here\n");
    reply.headers.emplace_back(http::field::allow, allow);
    return reply;
  }

  // At --web.max-requests, a scrape waits up to scrape_queue_wait for a slot (a burst of
  // scrapers is served in turn), then gets 503.
  awaitable<Reply> Scrape(const http::request<http::string_body>& request) {
    const auto give_up = steady_clock::now() + settings.scrape_queue_wait;
    while (settings.max_requests > 0 && scrapes_in_flight >= settings.max_requests) {
      asio::steady_timer wait(*io, give_up);
      scrape_waiters.push_back(&wait);
      boost::system::error_code ec;
      co_await wait.async_wait(asio::redirect_error(use_awaitable, ec));
      if (!ec || steady_clock::now() >= give_up) {
        std::erase(scrape_waiters, &wait);
        Reply reply = TextReply(http::status::service_unavailable,
                                "Too many concurrent scrapes (--web.max-requests)\n");
        reply.headers.emplace_back(http::field::retry_after, "1");
        co_return reply;
      }
    }
    Reply reply;
    // Released (on the event loop) once the answer is written, or when writing it has taken
    // scrape_slot_hold (see Exchange).
    reply.scrape_slot = std::make_shared<Reply::ScrapeSlot>(scrapes_in_flight, scrape_waiters);
    const auto accept_format = request.find(http::field::accept);
    const bool openmetrics_asked =
        accept_format != request.end() &&
        ChooseExpositionFormat({accept_format->value().data(), accept_format->value().size()}) ==
            ExpositionFormat::kOpenMetrics;
    if (openmetrics_asked && !openmetrics_wanted.exchange(true)) ++render_requests;
    co_await UpToDate();
    std::shared_ptr<const Snapshot> current = Current(snapshot);
    // OpenMetrics when asked for and rendered (a rendering spaced out by RenderIfWanted may
    // still leave the first such scrape the text format).
    const bool openmetrics = openmetrics_asked && current->has_openmetrics;
    const auto accept = request.find(http::field::accept_encoding);
    std::string_view accept_value;
    if (accept != request.end()) accept_value = {accept->value().data(), accept->value().size()};
    const ContentCoding coding = ChooseContentCoding(accept != request.end(), accept_value);
    reply.content_type =
        openmetrics ? kOpenMetricsContentType : "text/plain; version=0.0.4; charset=utf-8";
    reply.headers.emplace_back(http::field::vary, "Accept, Accept-Encoding");
    const bool gzip = coding == ContentCoding::kGzip;
    if (gzip) reply.headers.emplace_back(http::field::content_encoding, "gzip");
    if (openmetrics) {
      reply.body = gzip ? current->openmetrics_gzip : current->openmetrics;
    } else {
      reply.body = gzip ? current->gzip : current->text;
    }
    reply.owner = std::move(current);
    co_return reply;
  }

  std::string LandingPage() const {
    const std::string path = HtmlEscape(settings.telemetry_path);
    std::string note;
    if (!settings.landing_note.empty()) {
      note = "<p><strong>" + HtmlEscape(settings.landing_note) + "</strong></p>\n";
    }
    return "<!DOCTYPE html>\n<html><head><title>Bird Call Exporter</title></head><body>\n"
           "<h1>Bird Call Exporter</h1>\n<p>Prometheus metrics of Bird voice-call insights. "
           "Version " +
           std::string(kVersion) + " (" + kRevision + ").</p>\n" + note + "<ul>\n<li><a href=\"" +
           path + "\">" + path +
           "</a></li>\n<li><a href=\"/-/healthy\">/-/healthy</a></li>\n"
           "<li><a href=\"/-/ready\">/-/ready</a></li>\n</ul>\n" +
           Current(snapshot)->channel_table + "</body></html>\n";
  }

  void RequestRender() {
    ++render_requests;
    {
      std::lock_guard lock(render_mutex);
      render_requested = true;
    }
    render_cv.notify_one();
  }

  // Renders on the renderer thread (never on the event loop) when the snapshot is out of date.
  awaitable<void> UpToDate() {
    if (!RenderWanted()) co_return;
    co_await asio::co_spawn(renderer, RunOnWorker([this] {
                              RenderIfWanted();
                              return true;
                            }),
                            use_awaitable);
  }

  void Stop() {
    {
      std::lock_guard lock(render_mutex);
      render_stop = true;
    }
    render_cv.notify_all();
    if (render_thread.joinable()) render_thread.join();
    if (io_thread.joinable()) {
      asio::post(*io, [this] {
        stopping = true;
        boost::system::error_code ec;
        acceptor->close(ec);
        accept_wait->cancel();
      });
      io->stop();
      io_thread.join();
    }
    workers.join();
    renderer.join();
    // The sessions still pending are destroyed with the event loop, while the rest is alive;
    // none of them is woken any more.
    stopping = true;
    scrape_waiters.clear();
    acceptor.reset();
    accept_wait.reset();
    io.reset();
  }
};

HttpServer::HttpServer(ServerSettings settings,
                       std::vector<std::weak_ptr<prometheus::Collectable>> collectables,
                       ReadinessCheck readiness)
    : impl_(std::make_shared<Impl>(std::move(settings), std::move(collectables),
                                   std::move(readiness))) {
  Impl& impl = *impl_;
  const ServerSettings& s = impl.settings;
  if (s.telemetry_path.empty() || s.telemetry_path.front() != '/' || s.telemetry_path == "/" ||
      s.telemetry_path.rfind("/-/", 0) == 0) {
    throw ServerError("--web.telemetry-path: must start with / and not be / or under /-/, got \"" +
                      s.telemetry_path + "\"");
  }
  if (s.max_connections < 1) throw ServerError("--web.max-connections: must be at least 1");
  if (s.max_requests < 0) throw ServerError("--web.max-requests: must not be negative");
  ListenAddress address;
  try {
    address = ParseListenAddress(s.listen_address);
  } catch (const ListenAddressError& e) {
    throw ServerError(e.what());
  }
  impl.auth = std::make_shared<Impl::AuthState>();
  impl.auth->web_config = s.web_config;
  if (s.web_config.tls_enabled) {
    impl.tls_config = s.web_config.tls;
    impl.tls_fingerprint = TlsFilesFingerprint(impl.tls_config);
    impl.tls = MakeTlsContext(impl.tls_config);
  }

  boost::system::error_code ec;
  tcp::endpoint endpoint;
  if (address.host.empty()) {
    endpoint = tcp::endpoint(tcp::v4(), address.port);
  } else {
    tcp::resolver resolver(*impl.io);
    const auto found =
        resolver.resolve(address.host, std::to_string(address.port),
                         tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || found.empty()) {
      throw ServerError("cannot listen on " + s.listen_address + ": " +
                        (ec ? ec.message() : std::string("no address")));
    }
    endpoint = found.begin()->endpoint();
  }
  impl.acceptor = std::make_unique<tcp::acceptor>(*impl.io);
  impl.accept_wait = std::make_unique<asio::steady_timer>(*impl.io);
  auto& acceptor = *impl.acceptor;
  if (acceptor.open(endpoint.protocol(), ec) ||
      acceptor.set_option(tcp::acceptor::reuse_address(true), ec) ||
      (endpoint.address().is_v6() && acceptor.set_option(asio::ip::v6_only(true), ec)) ||
      acceptor.bind(endpoint, ec) ||
      acceptor.listen(asio::socket_base::max_listen_connections, ec)) {
    throw ServerError("cannot listen on " + s.listen_address + ": " + ec.message());
  }
  impl.port = acceptor.local_endpoint().port();

  impl.Render();  // the first scrape already has something to serve
  impl.render_thread = std::thread([&impl] { impl.RenderLoop(); });
  asio::co_spawn(*impl.io, impl.AcceptLoop(), asio::detached);
  impl.io_thread = std::thread([&impl] {
    for (;;) {
      try {
        impl.io->run();
        return;
      } catch (const std::exception& e) {
        // A handler threw: the connection it served is lost, the others go on.
        spdlog::error("HTTP server error error={}", LogQuote(e.what()));
      }
    }
  });
}

HttpServer::~HttpServer() { impl_->Stop(); }

std::vector<int> HttpServer::ListeningPorts() const { return {impl_->port}; }

void HttpServer::RequestRender() { impl_->RequestRender(); }

void HttpServer::RenderNow() { impl_->Render(); }

void HttpServer::ReloadWebConfig(const WebConfig& web_config) {
  if (web_config.tls_enabled != static_cast<bool>(impl_->Current(impl_->tls))) {
    throw ServerError("web config: switching TLS on or off needs a restart");
  }
  std::shared_ptr<ssl::context> next_tls;
  const std::string fingerprint = TlsFilesFingerprint(web_config.tls);
  if (web_config.tls_enabled) next_tls = MakeTlsContext(web_config.tls);
  auto next = std::make_shared<Impl::AuthState>();
  next->web_config = web_config;
  std::lock_guard lock(impl_->mutex);
  impl_->auth = std::move(next);
  if (next_tls) {
    impl_->tls = std::move(next_tls);
    impl_->tls_config = web_config.tls;
    impl_->tls_fingerprint = fingerprint;
  }
}

}  // namespace bird_exporter
