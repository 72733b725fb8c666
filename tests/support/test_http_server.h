// An HTTP/1.1 server in the test's own process on 127.0.0.1 (port 0), plain or over TLS, for
// tests of the clients that call other platforms (services/common/http_client.h and what is built
// on it). Each connection is served on its own thread: the request is read, handed to the test's
// handler, its answer written, and the connection closed.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace livecommerce::testing {

// A server certificate (chain) and its private key, PEM.
struct TestTlsIdentity {
  std::string cert_pem;
  std::string key_pem;
};

class TestHttpServer {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;
  // Called on the connection's thread, possibly on several at once. nullopt: send nothing and
  // hold the connection open until the client gives up (or the server is destroyed).
  using Handler = std::function<std::optional<Response>(const Request&)>;

  struct Seen {
    Request request;
    std::string sni;  // the TLS server name the client sent ("" for plain HTTP or none)
  };

  // Plain HTTP.
  explicit TestHttpServer(Handler handler) : handler_(std::move(handler)) { Start(); }
  // HTTPS with `identity`.
  TestHttpServer(Handler handler, const TestTlsIdentity& identity)
      : handler_(std::move(handler)), tls_(std::in_place, boost::asio::ssl::context::tls_server) {
    tls_->use_certificate_chain(boost::asio::buffer(identity.cert_pem));
    tls_->use_private_key(boost::asio::buffer(identity.key_pem), boost::asio::ssl::context::pem);
    Start();
  }

  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  ~TestHttpServer() {
    stopping_ = true;
    {
      // Wakes the blocking accept.
      boost::asio::io_context ioc;
      boost::asio::ip::tcp::socket poke(ioc);
      boost::system::error_code ignored;
      poke.connect(Endpoint(port_), ignored);
    }
    accept_thread_.join();
    {
      // Ends connections held open for a handler that answered nothing.
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : open_fds_) {
        ::shutdown(fd, SHUT_RDWR);
      }
    }
    for (std::thread& t : connection_threads_) {
      t.join();
    }
  }

  // "http://127.0.0.1:<port><path>" (https for a TLS server).
  std::string url(absl::string_view path = "") const {
    return absl::StrCat(tls_.has_value() ? "https" : "http", "://127.0.0.1:", port_, path);
  }
  uint16_t port() const { return port_; }

  // What the handler was given, in the order requests arrived.
  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Request> out;
    for (const Seen& s : seen_) {
      out.push_back(s.request);
    }
    return out;
  }
  std::vector<Seen> seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  // Requests whose target starts with `prefix`.
  int Count(absl::string_view prefix) const {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const Seen& s : seen_) {
      const auto target = s.request.target();
      n += absl::string_view(target.data(), target.size()).substr(0, prefix.size()) == prefix;
    }
    return n;
  }

 private:
  using tcp = boost::asio::ip::tcp;

  static tcp::endpoint Endpoint(uint16_t port) {
    return tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port);
  }

  void Start() {
    acceptor_.open(tcp::v4());
    acceptor_.bind(Endpoint(0));
    acceptor_.listen(boost::asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { Accept(); });
  }

  void Accept() {
    while (true) {
      tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (stopping_) {
        return;
      }
      if (ec) {
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      open_fds_.insert(socket.native_handle());
      connection_threads_.emplace_back(
          [this, s = std::move(socket)]() mutable { Serve(std::move(s)); });
    }
  }

  void Serve(tcp::socket socket) {
    int fd = socket.native_handle();
    if (tls_.has_value()) {
      boost::beast::ssl_stream<tcp::socket> stream(std::move(socket), *tls_);
      boost::system::error_code ec;
      stream.handshake(boost::asio::ssl::stream_base::server, ec);
      if (!ec) {
        const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
        Exchange(stream, sni != nullptr ? sni : "");
        stream.shutdown(ec);  // close_notify; the client may already be gone
      }
      Forget(fd);
      return;
    }
    Exchange(socket, "");
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    Forget(fd);
  }

  template <typename Stream>
  void Exchange(Stream& stream, std::string sni) {
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buffer;
    Request request;
    boost::system::error_code ec;
    http::read(stream, buffer, request, ec);
    if (ec) {
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back({request, std::move(sni)});
    }
    std::optional<Response> response = handler_(request);
    if (!response.has_value()) {
      // Holds the connection until the client closes it (or the destructor shuts it down).
      char byte;
      while (!ec) {
        boost::asio::read(stream, boost::asio::buffer(&byte, 1), ec);
      }
      return;
    }
    response->version(11);
    response->prepare_payload();
    http::write(stream, *response, ec);
  }

  void Forget(int fd) {
    std::lock_guard<std::mutex> lock(mu_);
    open_fds_.erase(fd);
  }

  Handler handler_;
  std::optional<boost::asio::ssl::context> tls_;
  boost::asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  mutable std::mutex mu_;
  std::vector<Seen> seen_;
  std::set<int> open_fds_;
  std::vector<std::thread> connection_threads_;
};

// An answer with `status`, `body` and a Content-Type.
inline TestHttpServer::Response TestAnswer(boost::beast::http::status status, std::string body,
                                           std::string content_type = "text/plain") {
  TestHttpServer::Response response{status, 11};
  response.set(boost::beast::http::field::content_type, content_type);
  response.body() = std::move(body);
  return response;
}

}  // namespace livecommerce::testing
