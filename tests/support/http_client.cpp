#include "support/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>

namespace bird_exporter::testing {

void EnsureCurlGlobal() {
  struct CurlGlobal {
    CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
    ~CurlGlobal() { curl_global_cleanup(); }
  };
  static CurlGlobal global;
}

namespace {

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<HttpResponse*>(user)->body.append(data, size * count);
  return size * count;
}

size_t AppendHeader(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  const std::string line(data, size * count);
  response->raw_headers += line;
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string value = line.substr(colon + 1);
    const auto first = value.find_first_not_of(" \t");
    const auto last = value.find_last_not_of(" \t\r\n");
    value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
    response->headers[Lower(line.substr(0, colon))] = value;
  }
  return size * count;
}

HttpResponse Perform(CURL* curl, const HttpRequest& request) {
  HttpResponse response;
  if (curl == nullptr) return response;
  curl_slist* headers = nullptr;
  for (const auto& header : request.headers) headers = curl_slist_append(headers, header.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  if (headers != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (request.body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body->size()));
    curl_easy_setopt(curl, CURLOPT_COPYPOSTFIELDS, request.body->c_str());
  }
  if (!request.user_agent.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERAGENT, request.user_agent.c_str());
  }
  if (!request.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, request.ca_file.c_str());
  if (!request.client_cert.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, request.client_cert.c_str());
  }
  if (!request.client_key.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLKEY, request.client_key.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, AppendHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
  const CURLcode code = curl_easy_perform(curl);
  response.curl_code = static_cast<int>(code);
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &response.new_connections);
    const char* content_type = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type);
    if (content_type != nullptr) response.content_type = content_type;
  } else {
    response.error = curl_easy_strerror(code);
  }
  curl_slist_free_all(headers);
  return response;
}

}  // namespace

std::string HttpResponse::Header(const std::string& name) const {
  const auto it = headers.find(Lower(name));
  return it == headers.end() ? "" : it->second;
}

HttpResponse HttpSend(const HttpRequest& request) {
  EnsureCurlGlobal();
  CURL* curl = curl_easy_init();
  HttpResponse response = Perform(curl, request);
  if (curl != nullptr) curl_easy_cleanup(curl);
  return response;
}

HttpResponse HttpGet(const std::string& url) {
  HttpRequest request;
  request.url = url;
  return HttpSend(request);
}

struct HttpClient::Handle {
  CURL* curl = nullptr;
};

HttpClient::HttpClient() : handle_(std::make_unique<Handle>()) {
  EnsureCurlGlobal();
  handle_->curl = curl_easy_init();
}

HttpClient::~HttpClient() {
  if (handle_->curl != nullptr) curl_easy_cleanup(handle_->curl);
}

HttpResponse HttpClient::Send(const HttpRequest& request) {
  // Options from the previous request go; the connection cache stays.
  if (handle_->curl != nullptr) curl_easy_reset(handle_->curl);
  return Perform(handle_->curl, request);
}

}  // namespace bird_exporter::testing
