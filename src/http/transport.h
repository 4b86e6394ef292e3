// The HTTP GET the Bird client needs, behind an interface so the client can be tested and
// the transport swapped. Implementations must be safe to call from several threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace bird_exporter {

struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{10000};
  // When set and true, the transfer is aborted as soon as possible (shutdown).
  const std::atomic<bool>* abort = nullptr;
  // A larger body fails the request (status 0, `error` says so); 0: the transport's own cap.
  std::size_t max_body_bytes = 0;
};

struct HttpResponse {
  int status = 0;  // 0: the request failed before a status line arrived (see `error`)
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string error;                           // transport failure; never contains headers
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual HttpResponse Get(const HttpRequest& request) = 0;
};

}  // namespace bird_exporter
