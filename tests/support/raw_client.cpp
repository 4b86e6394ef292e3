#include "support/raw_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace bird_exporter::testing {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

RawClient::RawClient(int port, const std::string& ca_file, int receive_buffer) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  if (receive_buffer > 0) {
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return;
  if (ca_file.empty()) {
    ok_ = true;
    return;
  }
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (ctx_ == nullptr || SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1) return;
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  ok_ = SSL_connect(ssl_) == 1;
}

RawClient::~RawClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) close(fd_);
}

bool RawClient::Send(std::string_view data) {
  while (!data.empty()) {
    const long n = ssl_ != nullptr ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                                   : send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::size_t RawClient::SendUntilFull(std::string_view data, std::size_t max_bytes) {
  const int flags = fcntl(fd_, F_GETFL);
  fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
  std::size_t total = 0;
  while (total < max_bytes) {
    const long n = ssl_ != nullptr ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                                   : send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
  fcntl(fd_, F_SETFL, flags);
  return total;
}

void RawClient::ShutdownWrite() {
  if (ssl_ != nullptr) {
    SSL_shutdown(ssl_);  // sends close_notify; the answer is still read
  } else {
    shutdown(fd_, SHUT_WR);
  }
}

long RawClient::ReadSome(std::string& out, milliseconds timeout) {
  if (ssl_ == nullptr || SSL_pending(ssl_) == 0) {
    pollfd p{fd_, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(timeout.count()));
    if (ready == 0) return 0;
    if (ready < 0) return -1;
  }
  char buffer[16384];
  const long n =
      ssl_ != nullptr ? SSL_read(ssl_, buffer, sizeof buffer) : recv(fd_, buffer, sizeof buffer, 0);
  if (n <= 0) return -1;
  out.append(buffer, static_cast<std::size_t>(n));
  return n;
}

std::string RawClient::ReadUntilClosed(milliseconds timeout) {
  std::string out;
  const auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (ReadSome(out, left) < 0) break;
  }
  return out;
}

std::string RawClient::ReadResponse(milliseconds timeout) {
  std::string out;
  const auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    const auto end_of_head = out.find("\r\n\r\n");
    if (end_of_head != std::string::npos) {
      const auto length = out.find("Content-Length: ");
      if (length != std::string::npos && length < end_of_head &&
          out.size() >= end_of_head + 4 + std::strtoul(out.c_str() + length + 16, nullptr, 10)) {
        break;
      }
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (ReadSome(out, left) < 0) break;
  }
  return out;
}

bool RawClient::ClosedByPeer(milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  std::string ignored;
  while (steady_clock::now() < deadline) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (ReadSome(ignored, left) < 0) return true;
    ignored.clear();
  }
  return false;
}

void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace bird_exporter::testing
