#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/http/trusted_proxies.h"
#include "gateway/server/alert_hub.h"
#include "gateway/server/chat_hub.h"
#include "gateway/server/gateway.h"

namespace livecommerce::gateway {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (tests)
  int threads = 0;  // 0: one per core
  size_t max_body_bytes = 64 * 1024;
  size_t max_header_bytes = 8 * 1024;
  absl::Duration idle_timeout = absl::Seconds(60);  // keep-alive connections with no request
  // Once a request's first byte is in, its headers and body must all be in within this, or the
  // connection is cut: a client trickling bytes (slowloris) holds a connection this long at most.
  absl::Duration read_timeout = absl::Seconds(10);
  size_t max_ws_message_bytes = 4096;  // a bigger WebSocket message: closed with 1009
  size_t max_connections = 20000;      // open TCP connections, HTTP and WebSocket; 0: no limit
  // Per client address (the TCP peer; trusted proxies count in the total only); 0: no limit.
  size_t max_connections_per_ip = 512;
  absl::Duration shutdown_grace = absl::Seconds(10);
  size_t socket_queue_limit = 64;  // messages waiting on one WebSocket before new ones are dropped
  // Peers whose X-Forwarded-For names the client (the per-IP limit); empty: the TCP peer is.
  TrustedProxies trusted_proxies;
};

// LC_GATEWAY_HOST, LC_GATEWAY_PORT, LC_GATEWAY_THREADS, LC_GATEWAY_MAX_BODY_BYTES,
// LC_GATEWAY_MAX_HEADER_BYTES, LC_GATEWAY_IDLE_TIMEOUT_MS, LC_GATEWAY_READ_TIMEOUT_MS,
// LC_GATEWAY_MAX_WS_MESSAGE_BYTES, LC_GATEWAY_MAX_CONNECTIONS, LC_GATEWAY_MAX_CONNECTIONS_PER_IP,
// LC_SHUTDOWN_GRACE_MS, LC_GATEWAY_TRUSTED_PROXIES. The connection limit is lowered to fit the
// process's open-file limit (RLIMIT_NOFILE) less a reserve.
absl::StatusOr<HttpServerOptions> LoadHttpServerOptions();

// HTTP/1.1 (keep-alive) and WebSocket over Boost.Beast: one io_context per thread, connections
// spread over them. Requests go to the Gateway; WebSocket upgrades are checked (and a room's
// joined) by the Gateway, and the open sockets registered with the RoomHub or the AlertHub.
class HttpServer final {
 public:
  // `chat` (may be null: no room chat) gets room sockets' comments and like batches.
  HttpServer(HttpServerOptions options, Gateway& gateway, RoomHub& hub, AlertHub& alerts,
             Metrics& metrics, ChatHub* chat = nullptr);
  ~HttpServer();

  absl::Status Start();
  int port() const { return port_; }
  // Stops accepting, closes the WebSockets, waits up to the grace period for requests in flight,
  // then stops the threads. Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace livecommerce::gateway
