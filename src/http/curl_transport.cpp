#include "http/curl_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>

namespace bird_exporter {
namespace {

struct CurlSlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

struct Transfer {
  HttpResponse* response;
  std::size_t max_body_bytes;
  bool too_large = false;
  const std::atomic<bool>* abort;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  std::string& body = transfer->response->body;
  if (body.size() + bytes > transfer->max_body_bytes) {
    transfer->too_large = true;
    std::string().swap(body);  // what was read goes at once
    return 0;                  // makes curl fail the transfer with CURLE_WRITE_ERROR
  }
  // The buffer grows by doubling, but never past the cap: a body near the cap costs the cap.
  if (body.size() + bytes > body.capacity()) {
    body.reserve(
        std::min(transfer->max_body_bytes, std::max(body.size() + bytes, 2 * body.capacity())));
  }
  body.append(data, bytes);
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  std::string_view line(data, bytes);
  if (line.rfind("HTTP/", 0) == 0) {
    transfer->response->headers.clear();  // a new response (after 100-continue or redirects)
    return bytes;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front())))
    value.remove_prefix(1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
    value.remove_suffix(1);
  transfer->response->headers[name] = std::string(value);
  return bytes;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  return transfer->abort != nullptr && transfer->abort->load() ? 1 : 0;
}

}  // namespace

struct CurlTransport::EasyHandle {
  EasyHandle() : curl(curl_easy_init()) {}
  ~EasyHandle() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
  EasyHandle(const EasyHandle&) = delete;
  EasyHandle& operator=(const EasyHandle&) = delete;
  CURL* curl;
};

CurlTransport::CurlTransport(std::size_t max_body_bytes) : max_body_bytes_(max_body_bytes) {}

CurlTransport::~CurlTransport() = default;

std::unique_ptr<CurlTransport::EasyHandle> CurlTransport::Acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  return std::make_unique<EasyHandle>();
}

void CurlTransport::Release(std::unique_ptr<EasyHandle> handle) {
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(handle));
}

HttpResponse CurlTransport::Get(const HttpRequest& request) {
  HttpResponse response;
  auto handle = Acquire();
  CURL* curl = handle->curl;
  if (curl == nullptr) {
    response.error = "curl_easy_init failed";
    return response;
  }
  // Reset clears per-request options but keeps the connection cache: keep-alive reuse.
  curl_easy_reset(curl);

  CurlSlist headers;
  for (const auto& [name, value] : request.headers) {
    const std::string line = name + ": " + value;
    curl_slist* appended = curl_slist_append(headers.get(), line.c_str());
    if (appended == nullptr) {
      response.error = "out of memory building headers";
      Release(std::move(handle));
      return response;
    }
    headers.release();
    headers.reset(appended);
  }

  const std::size_t max_body_bytes = request.max_body_bytes > 0
                                         ? std::min(request.max_body_bytes, max_body_bytes_)
                                         : max_body_bytes_;
  Transfer transfer{&response, max_body_bytes, false, request.abort};
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<long long>(request.timeout.count(), 10000)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // gzip/deflate when offered
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  // A handle runs one request at a time against one API host: one kept-alive connection is all
  // its cache needs, so the idle sockets are at most the handles (the requests ever in flight).
  curl_easy_setopt(curl, CURLOPT_MAXCONNECTS, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);

  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
  } else {
    response.status = 0;
    response.body.clear();
    if (transfer.too_large) {
      response.error = "response body larger than " + std::to_string(max_body_bytes) + " bytes";
    } else {
      response.error = curl_easy_strerror(rc);
      if (error_buffer[0] != '\0') response.error += std::string(": ") + error_buffer;
    }
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  Release(std::move(handle));
  return response;
}

}  // namespace bird_exporter
