// HTTPS on the listen address. The civetweb packaged by Debian 12 (1.15) loads OpenSSL at run time
// under names and symbols that OpenSSL 3 no longer has ("libssl.so", SSL_get_peer_certificate),
// so its own TLS cannot start. TlsFront terminates TLS with OpenSSL directly and relays each
// connection, decrypted, to civetweb listening on a loopback port; the HTTP server admits only
// connections that come from here (IsOwnBackendConnection).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "server/web_config.h"

namespace bird_exporter {

struct TlsFrontSettings {
  std::string listen_address;  // [HOST]:PORT, as --web.listen-address
  TlsServerConfig tls;
  int backend_port = 0;  // civetweb on 127.0.0.1
  std::size_t max_connections = 64;
  std::chrono::milliseconds handshake_timeout = std::chrono::seconds(10);
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
};

class TlsFront {
 public:
  // Loads the certificate, key and client CAs, binds the listen address and starts accepting.
  // Throws ServerError (from server/server.h) with OpenSSL's reason.
  explicit TlsFront(TlsFrontSettings settings);
  // Stops accepting, closes every connection and waits for their threads.
  ~TlsFront();
  TlsFront(const TlsFront&) = delete;
  TlsFront& operator=(const TlsFront&) = delete;

  int port() const;
  // Loads new certificate, key and client-auth settings; connections accepted afterwards use
  // them, open ones keep theirs. Throws ServerError and keeps the old ones on failure.
  void Reload(const TlsServerConfig& tls);
  // True when `address`:`port` is the local end of one of this front's open connections to the
  // backend, i.e. a request civetweb sees as coming from there was relayed by this front.
  bool IsOwnBackendConnection(std::string_view address, int port) const;

  struct State;

 private:
  std::shared_ptr<State> state_;
  std::thread acceptor_;
};

}  // namespace bird_exporter
