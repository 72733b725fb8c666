#pragma once

// The floor of the WebSocket benchmarks (websocket_load, chat_load): a bare Beast server that
// accepts sockets on 127.0.0.1 and writes each message it is handed to every one of them, in
// order, one write at a time per socket, and does nothing else (no authentication, no rooms, no
// batching). What the gateway adds to a fan-out is measured against this.

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace livecommerce::bench {

class BareBroadcastServer {
 public:
  explicit BareBroadcastServer(boost::asio::io_context& ioc) : ioc_(ioc), acceptor_(ioc) {
    boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(boost::asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(4096);
    Accept();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  // Queues `message` to every open socket. Call it on the io_context's thread.
  void Broadcast(std::shared_ptr<const std::string> message) {
    for (auto& peer : peers_) {
      if (!peer->open) continue;
      peer->queue.push_back(message);
      if (peer->queue.size() == 1) Send(peer);
    }
  }

 private:
  struct Peer {
    explicit Peer(boost::asio::ip::tcp::socket s) : ws(std::move(s)) {}
    boost::beast::websocket::stream<boost::beast::tcp_stream> ws;
    std::deque<std::shared_ptr<const std::string>> queue;
    bool open = false;
  };

  void Accept() {
    acceptor_.async_accept(
        ioc_, [this](boost::beast::error_code ec, boost::asio::ip::tcp::socket socket) {
          if (ec) return;
          auto peer = std::make_shared<Peer>(std::move(socket));
          peer->ws.async_accept([this, peer](boost::beast::error_code accepted) {
            if (accepted) return;
            peer->open = true;
            peers_.push_back(peer);
          });
          Accept();
        });
  }

  void Send(const std::shared_ptr<Peer>& peer) {
    peer->ws.text(true);
    peer->ws.async_write(boost::asio::buffer(*peer->queue.front()),
                         [this, peer](boost::beast::error_code ec, size_t) {
                           peer->queue.pop_front();
                           if (ec) {
                             // A socket that failed takes no more: its queue would only grow.
                             peer->open = false;
                             peer->queue.clear();
                             return;
                           }
                           if (!peer->queue.empty()) Send(peer);
                         });
  }

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<Peer>> peers_;
};

}  // namespace livecommerce::bench
