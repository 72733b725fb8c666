// libFuzzer target: what a client sends on a gateway WebSocket after a valid upgrade. The bytes go
// through Boost.Beast's server-role frame reader with the gateway's settings
// (ConfigureServerWebSocket: timeouts, 4096-byte message limit) from an in-memory stream, and each
// message through the gateway's handling of client messages (ClientMessageReply, "ping" -> pong),
// with the same read-then-read-again loop and reply writes as WsSession in
// gateway/server/http_server.cc.
//
// Input: one byte choosing how many bytes each read of the socket returns (1..64, or all at once),
// so frames arrive split at every point; then the raw bytes the client sends.
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>

#include "gateway/server/websocket_policy.h"

namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
namespace websocket = boost::beast::websocket;

// The parts of WsSession that touch what the client sent: accept, read, answer, read again.
class Session {
 public:
  explicit Session(net::io_context& ioc) : ws_(ioc) {}

  beast::test::stream& socket() { return ws_.next_layer(); }

  void Accept(const http::request<http::string_body>& upgrade) {
    livecommerce::gateway::ConfigureServerWebSocket(ws_);
    ws_.async_accept(upgrade, [this](beast::error_code ec) {
      if (ec) __builtin_trap();  // the upgrade is valid: only the frames are fuzzed
      Read();
    });
  }

  bool ended() const { return ended_; }
  size_t messages() const { return messages_; }
  size_t replies() const { return replies_; }

 private:
  void Read() {
    ws_.async_read(buffer_, [this](beast::error_code ec, size_t) {
      if (ec) {
        ended_ = true;
        return;
      }
      if (buffer_.size() > livecommerce::gateway::kMaxClientMessageBytes) __builtin_trap();
      ++messages_;
      if (std::shared_ptr<const std::string> reply =
              livecommerce::gateway::ClientMessageReply(beast::buffers_to_string(buffer_.data()))) {
        ++replies_;
        queue_.push_back(std::move(reply));
        if (!writing_) WriteNext();
      }
      buffer_.consume(buffer_.size());
      Read();
    });
  }

  void WriteNext() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(*queue_.front()), [this](beast::error_code ec, size_t) {
      queue_.pop_front();
      if (!ec && !queue_.empty()) {
        WriteNext();
      } else {
        writing_ = false;
      }
    });
  }

  websocket::stream<beast::test::stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  bool writing_ = false;
  bool ended_ = false;
  size_t messages_ = 0;
  size_t replies_ = 0;
};

http::request<http::string_body> Upgrade() {
  http::request<http::string_body> req{http::verb::get, "/v1/rooms/room-1/ws", 11};
  req.set(http::field::host, "gateway.test");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  return req;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const http::request<http::string_body>* const upgrade =
      new http::request<http::string_body>(Upgrade());
  net::io_context ioc;
  {
    auto session = std::make_unique<Session>(ioc);
    beast::test::stream client(ioc);
    client.connect(session->socket());
    if (data[0] < 0x80) session->socket().read_size(1 + data[0] % 64);
    session->socket().append(beast::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
    session->Accept(*upgrade);
    // Everything ready runs; the idle timer (300 s) is never waited for.
    while (ioc.poll() > 0) {
    }
    client.close();  // the client hangs up: a read still waiting sees the end of the stream
    ioc.restart();
    while (ioc.poll() > 0) {
    }
    if (!session->ended()) __builtin_trap();  // at the end of the input the socket must end
    if (std::getenv("LC_FUZZ_DEBUG") != nullptr) {
      std::fprintf(stderr, "websocket_fuzz: %zu messages, %zu answered, %zu bytes written\n",
                   session->messages(), session->replies(), client.str().size());
    }
  }
  ioc.restart();
  while (ioc.poll() > 0) {
  }
  return 0;
}
