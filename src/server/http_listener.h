// A small blocking HTTP/1.1 server (Boost.Beast) for the Bird API simulator (behind --demo and
// the tests): one thread per connection, each request handed to a handler that
// may take its time (a simulated slow answer). Not the exporter's own server (server.h), which
// must withstand hostile clients; this one serves the exporter itself.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bird_exporter {

class ListenAddressError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ListenAddress {
  std::string host;  // without brackets; empty: every IPv4 address
  unsigned short port = 0;
};

// "[HOST]:PORT" ("127.0.0.1:9842", "[::1]:9842", ":9842"). Throws ListenAddressError naming the
// flag (--web.listen-address) on malformed input.
ListenAddress ParseListenAddress(const std::string& listen_address);

struct ServedRequest {
  std::string method;
  std::string path;                            // percent-decoded, without the query
  std::string query;                           // raw, without '?'
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  // The header's value, "" when absent; `name` in lower case.
  std::string Header(const std::string& name) const;
};

struct ServedResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class HttpListener {
 public:
  using Handler = std::function<ServedResponse(const ServedRequest&)>;

  // Listens on `listen_address` ([HOST]:PORT; port 0 picks one) and serves until destroyed.
  // Throws std::runtime_error when it cannot listen.
  HttpListener(const std::string& listen_address, Handler handler);
  // Stops accepting, ends every connection (a handler under way finishes first) and waits.
  ~HttpListener();
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  int port() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// `text` with its percent escapes decoded (and '+' as space if `plus_as_space`, as forms encode
// it); nullopt for a '%' not followed by two hex digits.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_as_space);

// The parameters of a query string in order, decoded; nullopt when malformed.
std::optional<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query);

// Query parameter `name`'s `index`-th occurrence, decoded (percent escapes, '+' as space, as
// forms encode them); nullopt when absent or malformed.
std::optional<std::string> QueryParameter(std::string_view query, std::string_view name,
                                          std::size_t index = 0);

}  // namespace bird_exporter
