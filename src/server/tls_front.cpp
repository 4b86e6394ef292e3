#include "server/tls_front.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <system_error>
#include <vector>

#include "server/server.h"

namespace bird_exporter {
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

SSL_CTX* MakeContext(const TlsServerConfig& tls) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) FailTls(nullptr, "tls_server_config");
  SSL_CTX_set_min_proto_version(
      ctx, tls.min_version == TlsVersion::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // With AUTO_RETRY, SSL_read on a blocking socket waits for application data even after poll
  // said "readable" for a TLS 1.3 handshake message; without it, it returns WANT_READ.
  SSL_CTX_clear_mode(ctx, SSL_MODE_AUTO_RETRY);
  SSL_CTX_set_default_passwd_cb(ctx, NoPassphrase);
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
  return ctx;
}

// Binds [HOST]:PORT like civetweb does: no host means every IPv4 address.
int Listen(const std::string& listen_address) {
  const auto colon = listen_address.rfind(':');
  std::string host = listen_address.substr(0, colon);
  const std::string port = listen_address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    throw ServerError("cannot listen on " + listen_address + ": " + gai_strerror(rc));
  }
  std::string error = "no address";
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0) {
      freeaddrinfo(found);
      return fd;
    }
    error = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(found);
  throw ServerError("cannot listen on " + listen_address + ": " + error);
}

// Relayed writes arrive in pieces (civetweb sends the headers and the body separately); without
// TCP_NODELAY each later piece waits for the peer's delayed ACK.
void SetNoDelay(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void SetTimeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool SendAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool SslWriteAll(SSL* ssl, const char* data, std::size_t size) {
  while (size > 0) {
    const int n = SSL_write(ssl, data, static_cast<int>(size));
    if (n <= 0) {
      const int error = SSL_get_error(ssl, n);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

struct TlsFront::State {
  TlsFrontSettings settings;
  SSL_CTX* ctx = nullptr;
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  std::atomic<bool> stopping{false};

  mutable std::mutex mutex;
  std::condition_variable idle;
  std::size_t active = 0;            // relay threads running
  std::set<int> open_fds;            // client and backend sockets, shut down on stop
  std::multiset<int> backend_ports;  // local ports of the connections to civetweb

  ~State() {
    if (listen_fd >= 0) close(listen_fd);
    if (wake[0] >= 0) close(wake[0]);
    if (wake[1] >= 0) close(wake[1]);
    SSL_CTX_free(ctx);
  }

  // Registered sockets are shut down by Stop(); closing happens here, under the lock, so that a
  // number is never shut down after it has been reused.
  void Register(int fd) {
    const std::lock_guard<std::mutex> lock(mutex);
    open_fds.insert(fd);
    if (stopping) shutdown(fd, SHUT_RDWR);
  }
  void CloseRegistered(int fd) {
    const std::lock_guard<std::mutex> lock(mutex);
    open_fds.erase(fd);
    close(fd);
  }

  void Relay(int client_fd);
  void Pump(SSL* ssl, int client_fd, int backend_fd);
  void Accept(const std::shared_ptr<State>& self);
};

void TlsFront::State::Pump(SSL* ssl, int client_fd, int backend_fd) {
  std::vector<char> buffer(16 * 1024);
  const int idle_ms = static_cast<int>(settings.idle_timeout.count());
  while (!stopping) {
    pollfd fds[2] = {{client_fd, POLLIN, 0}, {backend_fd, POLLIN, 0}};
    bool client_ready = SSL_pending(ssl) > 0;
    if (!client_ready) {
      const int ready = poll(fds, 2, idle_ms);
      if (ready == 0) return;  // idle
      if (ready < 0) {
        if (errno == EINTR) continue;
        return;
      }
      client_ready = (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
    }
    if (client_ready) {
      const int n = SSL_read(ssl, buffer.data(), static_cast<int>(buffer.size()));
      if (n > 0) {
        if (!SendAll(backend_fd, buffer.data(), static_cast<std::size_t>(n))) return;
      } else {
        const int error = SSL_get_error(ssl, n);
        if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) return;
      }
    }
    if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = recv(backend_fd, buffer.data(), buffer.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // civetweb closed the connection
      if (!SslWriteAll(ssl, buffer.data(), static_cast<std::size_t>(n))) return;
    }
  }
}

void TlsFront::State::Relay(int client_fd) {
  SetTimeouts(client_fd, settings.handshake_timeout);
  SetNoDelay(client_fd);
  SSL* ssl = nullptr;
  {
    // SSL_new takes its own reference on the context, so a reload may free the old one.
    const std::lock_guard<std::mutex> lock(mutex);
    ssl = SSL_new(ctx);
  }
  if (ssl != nullptr && SSL_set_fd(ssl, client_fd) == 1 && SSL_accept(ssl) == 1) {
    SetTimeouts(client_fd, settings.idle_timeout);
    const int backend_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (backend_fd >= 0) {
      Register(backend_fd);
      SetTimeouts(backend_fd, settings.idle_timeout);
      SetNoDelay(backend_fd);
      sockaddr_in backend{};
      backend.sin_family = AF_INET;
      backend.sin_port = htons(static_cast<uint16_t>(settings.backend_port));
      backend.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      // From 127.0.0.1 exactly: another local process can use the same port number from another
      // loopback address (127.0.0.2), but not from this one while the port is ours.
      sockaddr_in local{};
      local.sin_family = AF_INET;
      local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t local_size = sizeof local;
      if (bind(backend_fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) == 0 &&
          connect(backend_fd, reinterpret_cast<const sockaddr*>(&backend), sizeof backend) == 0 &&
          getsockname(backend_fd, reinterpret_cast<sockaddr*>(&local), &local_size) == 0) {
        const int local_port = ntohs(local.sin_port);
        {
          const std::lock_guard<std::mutex> lock(mutex);
          backend_ports.insert(local_port);
        }
        Pump(ssl, client_fd, backend_fd);
        {
          const std::lock_guard<std::mutex> lock(mutex);
          backend_ports.erase(backend_ports.find(local_port));
        }
        SSL_shutdown(ssl);  // best effort close_notify
      }
      CloseRegistered(backend_fd);
    }
  }
  ERR_clear_error();  // failed handshakes (wrong CA, no client certificate, ...) are the client's
  SSL_free(ssl);
  CloseRegistered(client_fd);
}

void TlsFront::State::Accept(const std::shared_ptr<State>& self) {
  while (!stopping) {
    pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0 || stopping) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      // Out of descriptors: back off instead of spinning.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        poll(nullptr, 0, 100);
      }
      continue;
    }
    {
      const std::lock_guard<std::mutex> lock(mutex);
      if (active >= settings.max_connections) {
        close(fd);
        continue;
      }
      ++active;
      open_fds.insert(fd);
    }
    try {
      // Each relay holds a reference, so the state outlives a thread that is slow to finish.
      std::thread([self, fd] {
        self->Relay(fd);
        const std::lock_guard<std::mutex> lock(self->mutex);
        --self->active;
        self->idle.notify_all();
      }).detach();
    } catch (const std::system_error&) {
      CloseRegistered(fd);
      const std::lock_guard<std::mutex> lock(mutex);
      --active;
    }
  }
}

TlsFront::TlsFront(TlsFrontSettings settings) : state_(std::make_shared<State>()) {
  state_->settings = std::move(settings);
  // A peer that goes away mid-write must not kill the process (civetweb does the same).
  signal(SIGPIPE, SIG_IGN);
  ERR_clear_error();
  state_->ctx = MakeContext(state_->settings.tls);
  state_->listen_fd = Listen(state_->settings.listen_address);
  if (pipe2(state_->wake, O_CLOEXEC) != 0) {
    throw ServerError(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  acceptor_ = std::thread([state = state_] { state->Accept(state); });
}

void TlsFront::Reload(const TlsServerConfig& tls) {
  ERR_clear_error();
  SSL_CTX* next = MakeContext(tls);
  SSL_CTX* previous = nullptr;
  {
    const std::lock_guard<std::mutex> lock(state_->mutex);
    previous = state_->ctx;
    state_->ctx = next;
    state_->settings.tls = tls;
  }
  SSL_CTX_free(previous);
}

TlsFront::~TlsFront() {
  state_->stopping = true;
  const char byte = 0;
  while (write(state_->wake[1], &byte, 1) < 0 && errno == EINTR) {
  }
  if (acceptor_.joinable()) acceptor_.join();
  std::unique_lock<std::mutex> lock(state_->mutex);
  for (const int fd : state_->open_fds) shutdown(fd, SHUT_RDWR);
  // Relays see their sockets shut down and finish at once; do not hang a shutdown on one.
  state_->idle.wait_for(lock, std::chrono::seconds(5), [this] { return state_->active == 0; });
}

int TlsFront::port() const {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  if (getsockname(state_->listen_fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) return 0;
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
}

bool TlsFront::IsOwnBackendConnection(std::string_view address, int port) const {
  if (address != "127.0.0.1") return false;
  const std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->backend_ports.count(port) != 0;
}

}  // namespace bird_exporter
