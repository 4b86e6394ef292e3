// The tests' one libcurl client: a request with any method, headers, body, timeout and TLS
// options, answered with the status, body and response headers. HttpSend uses a fresh handle
// (a new connection) per request; HttpClient keeps one handle, so that consecutive requests
// reuse its connection (keep-alive).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bird_exporter::testing {

// curl_global_init once, before the first handle, whichever thread asks first (the client below
// calls it; so does a test that runs the Exporter in its process, as main() does in the binary).
void EnsureCurlGlobal();

struct HttpRequest {
  std::string method = "GET";  // any method; "HEAD" asks for no body
  std::string url;
  std::vector<std::string> headers;  // "Name: value" lines
  std::optional<std::string> body;   // sent as the request body when set (even when empty)
  std::chrono::milliseconds timeout{5000};
  std::string user_agent;               // empty: none
  std::string ca_file;                  // https: trust only this CA; empty: the system's
  std::string client_cert, client_key;  // https: present this client certificate
};

struct HttpResponse {
  long status = 0;  // 0: no answer (timeout, reset, refused)
  std::string body;
  std::string raw_headers;                     // the header block as received, CRLFs and all
  std::map<std::string, std::string> headers;  // lower-cased names, trimmed values (last wins)
  std::string content_type;                    // CURLINFO_CONTENT_TYPE, "" when none
  long new_connections = 0;                    // connections opened for this request
  int curl_code = -1;                          // CURLcode: 0 ok, -1 not performed
  std::string error;                           // curl's message when curl_code != 0

  bool ok() const { return curl_code == 0; }
  // The value of response header `name` (any case), or "".
  std::string Header(const std::string& name) const;
};

// One request on a fresh handle.
HttpResponse HttpSend(const HttpRequest& request);

// GET `url`, 5 s at most.
HttpResponse HttpGet(const std::string& url);
using HttpResult = HttpResponse;

// One easy handle for many requests, which reuse its connection. Not for concurrent use.
class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse Send(const HttpRequest& request);

 private:
  struct Handle;
  std::unique_ptr<Handle> handle_;
};

}  // namespace bird_exporter::testing
