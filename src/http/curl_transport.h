// libcurl implementation of HttpTransport. Keeps a pool of easy handles so connections are
// reused (keep-alive) across requests and threads; each handle keeps at most one connection
// open, so the pool never holds more sockets than requests were ever in flight at once.
// curl_global_init is main()'s job.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "http/transport.h"

namespace bird_exporter {

class CurlTransport : public HttpTransport {
 public:
  // Bodies larger than `max_body_bytes` fail the request instead of exhausting memory.
  explicit CurlTransport(std::size_t max_body_bytes = 64u << 20);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  HttpResponse Get(const HttpRequest& request) override;

 private:
  struct EasyHandle;
  std::unique_ptr<EasyHandle> Acquire();
  void Release(std::unique_ptr<EasyHandle> handle);

  std::size_t max_body_bytes_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<EasyHandle>> idle_;
};

}  // namespace bird_exporter
