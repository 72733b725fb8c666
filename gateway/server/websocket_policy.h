#pragma once

#include <boost/beast/core/role.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <cstddef>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"

// What every server WebSocket of the gateway accepts from its client. Header-only and templated
// on the stream's lower layer so that the fuzz target (tests/fuzz/websocket_fuzz.cc) reads frames
// with exactly these settings from memory while the server reads them from TCP.
namespace livecommerce::gateway {

// The longest message a client may send by default (LC_GATEWAY_MAX_WS_MESSAGE_BYTES); a longer
// one fails the read and ends the socket.
inline constexpr size_t kMaxClientMessageBytes = 4096;

// Server-role timeouts, the Server header of the handshake answer, the message limit (a bigger
// message or frame fails the read: Beast closes with 1009, message too big).
template <class NextLayer>
void ConfigureServerWebSocket(boost::beast::websocket::stream<NextLayer>& ws,
                              size_t max_message_bytes = kMaxClientMessageBytes) {
  namespace websocket = boost::beast::websocket;
  ws.set_option(websocket::stream_base::timeout::suggested(boost::beast::role_type::server));
  ws.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(boost::beast::http::field::server, "livecommerce-gateway");
  }));
  ws.read_message_max(max_message_bytes);
}

// The answer to one message from a client, or null: clients may send "ping" to check the
// connection and get {"type":"pong"}; anything else is ignored.
inline std::shared_ptr<const std::string> ClientMessageReply(absl::string_view message) {
  if (message != "ping") return nullptr;
  static const auto* const kPong = new std::shared_ptr<const std::string>(
      std::make_shared<const std::string>("{\"type\":\"pong\"}"));
  return *kPong;
}

}  // namespace livecommerce::gateway
