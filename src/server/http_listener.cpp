#include "server/http_listener.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <charconv>
#include <list>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace bird_exporter {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

ListenAddress ParseListenAddress(const std::string& listen_address) {
  const auto colon = listen_address.rfind(':');
  if (colon == std::string::npos) {
    throw ListenAddressError("--web.listen-address: expected [HOST]:PORT, got \"" + listen_address +
                             "\"");
  }
  std::string host = listen_address.substr(0, colon);
  const std::string port_text = listen_address.substr(colon + 1);
  int port = -1;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() ||
      port < 0 || port > 65535) {
    throw ListenAddressError("--web.listen-address: invalid port in \"" + listen_address + "\"");
  }
  if (!host.empty() && host.front() == '[') {
    if (host.back() != ']') {
      throw ListenAddressError("--web.listen-address: unterminated IPv6 address in \"" +
                               listen_address + "\"");
    }
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    throw ListenAddressError("--web.listen-address: write IPv6 hosts in brackets, e.g. [::1]:9842");
  }
  return {host, static_cast<unsigned short>(port)};
}

std::string ServedRequest::Header(const std::string& name) const {
  const auto found = headers.find(name);
  return found == headers.end() ? std::string() : found->second;
}

std::optional<std::string> PercentDecode(std::string_view text, bool plus_as_space) {
  std::string in(text);
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+' && plus_as_space) in[i] = ' ';
    if (in[i] != '%') continue;
    if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      return std::nullopt;
    }
  }
  if (in.find('%') == std::string::npos) return in;
  int length = 0;
  // libcurl's decoder needs no handle (ignored since 7.82).
  char* decoded = curl_easy_unescape(nullptr, in.data(), static_cast<int>(in.size()), &length);
  if (decoded == nullptr) throw std::bad_alloc();
  std::string out(decoded, static_cast<std::size_t>(length));
  curl_free(decoded);
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  if (query.empty()) return params;
  for (std::size_t start = 0; start <= query.size();) {
    const std::size_t end = std::min(query.find('&', start), query.size());
    const std::string_view param = query.substr(start, end - start);
    const std::size_t equals = param.find('=');
    const auto key = PercentDecode(param.substr(0, equals), true);
    const auto value = equals == std::string_view::npos
                           ? std::optional<std::string>(std::string())
                           : PercentDecode(param.substr(equals + 1), true);
    if (!key || !value) return std::nullopt;
    params.emplace_back(*key, *value);
    start = end + 1;
  }
  return params;
}

std::optional<std::string> QueryParameter(std::string_view query, std::string_view name,
                                          std::size_t index) {
  const auto params = ParseQuery(query);
  if (!params) return std::nullopt;
  for (const auto& [key, value] : *params) {
    if (key != name) continue;
    if (index-- == 0) return value;
  }
  return std::nullopt;
}

struct HttpListener::Impl {
  Handler handler;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread accept_thread;
  std::atomic<bool> stopping{false};

  struct Connection {
    std::unique_ptr<tcp::socket> socket;  // closed only when the entry goes, after the join
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::mutex mutex;  // guards connections
  std::list<Connection> connections;

  void AcceptLoop() {
    while (!stopping) {
      boost::system::error_code ec;
      tcp::socket socket(io);
      acceptor.accept(socket, ec);
      if (stopping) return;
      if (ec) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      std::lock_guard lock(mutex);
      // Threads of connections that ended are joined here, so they do not pile up.
      for (auto it = connections.begin(); it != connections.end();) {
        if (it->done) {
          it->thread.join();
          it = connections.erase(it);
        } else {
          ++it;
        }
      }
      Connection& connection = connections.emplace_back();
      connection.socket = std::make_unique<tcp::socket>(std::move(socket));
      connection.thread = std::thread([this, &connection] {
        Serve(*connection.socket);
        connection.done = true;
      });
    }
  }

  void Serve(tcp::socket& socket) {
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(1 << 20);
      http::read(socket, buffer, parser, ec);
      if (ec) break;
      const auto& message = parser.get();
      ServedRequest request;
      request.method = std::string(message.method_string());
      const std::string_view target(message.target().data(), message.target().size());
      const auto question = target.find('?');
      const std::string_view raw_path = target.substr(0, question);
      const auto path = PercentDecode(raw_path, false);
      request.path = path.value_or(std::string());
      if (question != std::string_view::npos) request.query = target.substr(question + 1);
      for (const auto& field : message) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        request.headers[name] = std::string(field.value());
      }
      request.body = message.body();
      const bool keep_alive = message.keep_alive();
      const unsigned version = message.version();

      ServedResponse answer;
      try {
        answer = path ? handler(request)
                      : ServedResponse{400, "text/plain", {}, "bad percent-encoding in the path\n"};
      } catch (const std::exception& e) {
        answer = {500, "text/plain", {}, std::string("handler failed: ") + e.what() + "\n"};
      }
      http::response<http::string_body> response(static_cast<http::status>(answer.status), version);
      response.set(http::field::content_type, answer.content_type);
      for (const auto& [name, value] : answer.headers) response.set(name, value);
      response.body() = std::move(answer.body);
      response.keep_alive(keep_alive);
      response.prepare_payload();
      http::write(socket, response, ec);
      if (ec || !keep_alive || stopping) break;
    }
    socket.shutdown(tcp::socket::shutdown_send, ec);
  }
};

HttpListener::HttpListener(const std::string& listen_address, Handler handler)
    : impl_(std::make_shared<Impl>()) {
  impl_->handler = std::move(handler);
  const ListenAddress address = ParseListenAddress(listen_address);
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(address.host.empty() ? "0.0.0.0" : address.host, ec);
  if (ec) throw std::runtime_error("cannot listen on " + listen_address + ": " + ec.message());
  const tcp::endpoint endpoint(ip, address.port);
  auto& acceptor = impl_->acceptor;
  if (acceptor.open(endpoint.protocol(), ec) ||
      acceptor.set_option(tcp::acceptor::reuse_address(true), ec) || acceptor.bind(endpoint, ec) ||
      acceptor.listen(asio::socket_base::max_listen_connections, ec)) {
    throw std::runtime_error("cannot listen on " + listen_address + ": " + ec.message());
  }
  impl_->accept_thread = std::thread([impl = impl_.get()] { impl->AcceptLoop(); });
}

HttpListener::~HttpListener() {
  impl_->stopping = true;
  // Wakes the blocking accept (Linux answers it with EINVAL) and every blocking read.
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  impl_->accept_thread.join();
  std::lock_guard lock(impl_->mutex);
  for (auto& connection : impl_->connections) {
    ::shutdown(connection.socket->native_handle(), SHUT_RDWR);
  }
  for (auto& connection : impl_->connections) connection.thread.join();
}

int HttpListener::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace bird_exporter
