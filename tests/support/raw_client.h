// A client that does exactly what a test tells it, byte by byte: connect and stay idle, send a
// request head slowly, pipeline requests and never read, half-close. Plain TCP, or TLS through
// OpenSSL trusting one CA file.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace bird_exporter::testing {

class RawClient {
 public:
  // Connects to 127.0.0.1:`port`. With `ca_file`, completes a TLS handshake trusting only it.
  // `receive_buffer` > 0 sets SO_RCVBUF before connecting (a small window for non-readers).
  explicit RawClient(int port, const std::string& ca_file = "", int receive_buffer = 0);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool ok() const { return ok_; }
  // Sends all of `data` (blocking). False on error.
  bool Send(std::string_view data);
  // Sends as much of `data` as fits without blocking, repeatedly; returns the bytes sent.
  std::size_t SendUntilFull(std::string_view data, std::size_t max_bytes);
  // Half-close: FIN on TCP, close_notify on TLS; reading still works.
  void ShutdownWrite();
  // Reads until the peer closes or `timeout` passes.
  std::string ReadUntilClosed(std::chrono::milliseconds timeout);
  // Reads until one complete HTTP response (by Content-Length) has arrived, or timeout.
  std::string ReadResponse(std::chrono::milliseconds timeout);
  // True when the peer closes the connection (EOF or reset) within `timeout`.
  bool ClosedByPeer(std::chrono::milliseconds timeout);

 private:
  // -1 error or closed, 0 timeout, else the bytes read into `out`.
  long ReadSome(std::string& out, std::chrono::milliseconds timeout);

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool ok_ = false;
};

// Raises this process's open-file limit to the hard limit (tests holding many connections).
void RaiseOpenFileLimit();

}  // namespace bird_exporter::testing
