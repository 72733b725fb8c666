// The HTTP server's abuse limits over real loopback sockets: the read deadline that cuts a client
// trickling its headers or body, the per-address and total connection limits, and the body and
// nesting limits. Only routes that need no service are called (health, login), so the services
// behind the gateway are addresses nothing listens on.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/auth/authenticator.h"
#include "gateway/auth/login_provider.h"
#include "gateway/auth/revocation.h"
#include "gateway/auth/session_token.h"
#include "gateway/http/openapi.h"
#include "gateway/routes.h"
#include "gateway/server/alert_hub.h"
#include "gateway/server/gateway.h"
#include "gateway/server/http_server.h"
#include "gateway/server/readiness.h"
#include "gateway/server/room_hub.h"
#include "gateway/server/rpc_client.h"
#include "gateway/server/socket_slots.h"

namespace livecommerce::gateway {
namespace {

class NoRevocations final : public RevocationStore {
 public:
  absl::Status Revoke(const std::string&, absl::Time) override { return absl::OkStatus(); }
  absl::StatusOr<std::vector<std::string>> ListRevoked(absl::Time) override {
    return std::vector<std::string>{};
  }
};

std::vector<std::string> RouteNames(const Router& router) {
  std::vector<std::string> names;
  for (const Route& route : router.routes()) names.push_back(route.name);
  return names;
}

// The gateway wired as main.cc wires it, with no service listening behind it.
struct Stack {
  explicit Stack(HttpServerOptions options)
      : rpc({{"livecommerce.v1.RoomService", "127.0.0.1:1"},
             {"livecommerce.v1.CatalogService", "127.0.0.1:1"},
             {"livecommerce.v1.FlashSaleService", "127.0.0.1:1"},
             {"livecommerce.v1.OrderService", "127.0.0.1:1"},
             {"livecommerce.v1.AttributionService", "127.0.0.1:1"},
             {"livecommerce.v1.ReportService", "127.0.0.1:1"}},
            1),
        router(ApiRoutes()),
        metrics(RouteNames(router)),
        hub(rpc.ChannelFor("livecommerce.v1.RoomService"), principals, slots, metrics, {}),
        alerts(rpc.ChannelFor("livecommerce.v1.AttributionService"), slots, metrics,
               [](const std::string&) { return false; }, {}),
        readiness(rpc, absl::Seconds(60), {}),
        gateway(Gateway::Deps{&router, &rpc, &auth, &tokens, &login, &slots, &readiness, &metrics,
                              &principals, nullptr},
                BuildOpenApi(router.routes()), GatewayOptions{}),
        server(std::move(options), gateway, hub, alerts, metrics) {
    EXPECT_TRUE(server.Start().ok());
  }
  ~Stack() { server.Stop(); }

  common::PrincipalCodec principals{"unit-internal-secret-0123456789abcdef"};
  SessionTokenCodec tokens{"unit-session-secret-0123456789abcdef"};
  NoRevocations store;
  RevocationList revoked{store};
  Authenticator auth{tokens, principals, revoked};
  LocalLoginProvider login;
  SocketSlots slots{5};
  RpcClient rpc;
  Router router;
  Metrics metrics;
  RoomHub hub;
  AlertHub alerts;
  Readiness readiness;
  Gateway gateway;
  HttpServer server;
};

// A blocking loopback client bound to `source` (any 127.x.y.z: one machine, many addresses).
class Client {
 public:
  Client(int port, const char* source = "127.0.0.1") {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    inet_pton(AF_INET, source, &from.sin_addr);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof(from)), 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0;
  }
  ~Client() { close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  bool Send(const std::string& bytes) {
    return send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // What arrives until the peer closes, `enough` bytes are in, or `wait` passes; `closed` tells
  // whether the peer closed (EOF or reset).
  std::string Receive(std::chrono::milliseconds wait, bool* closed = nullptr,
                      size_t enough = SIZE_MAX) {
    std::string got;
    auto deadline = std::chrono::steady_clock::now() + wait;
    if (closed != nullptr) *closed = false;
    while (got.size() < enough) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buffer[4096];
      ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        if (closed != nullptr) *closed = true;
        break;
      }
      got.append(buffer, static_cast<size_t>(n));
      if (got.find("\r\n\r\n") != std::string::npos && enough == SIZE_MAX) {
        // One whole answer (they are small here): the body follows its headers at once.
        size_t length_at = got.find("Content-Length: ");
        if (length_at != std::string::npos) {
          size_t length = std::stoul(got.substr(length_at + 16));
          if (got.size() >= got.find("\r\n\r\n") + 4 + length) break;
        }
      }
    }
    return got;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

const char kHealth[] = "GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n";

HttpServerOptions Options() {
  HttpServerOptions o;
  o.port = 0;
  o.threads = 2;
  o.read_timeout = absl::Milliseconds(500);
  o.idle_timeout = absl::Seconds(5);
  o.max_body_bytes = 4096;
  o.shutdown_grace = absl::Milliseconds(200);
  return o;
}

TEST(HttpServerLimitsTest, TricklingHeadersAreCutAtTheReadDeadlineWhileOthersAreServed) {
  Stack stack(Options());
  Client slow(stack.server.port(), "127.0.0.2");
  ASSERT_TRUE(slow.connected());
  auto started = std::chrono::steady_clock::now();
  std::string request = kHealth;
  bool closed = false;
  // One byte every 100 ms: 35 bytes would take 3.5 s; the deadline is 0.5 s after the first.
  for (size_t i = 0; i < request.size() && !closed; ++i) {
    if (!slow.Send(request.substr(i, 1))) break;
    slow.Receive(std::chrono::milliseconds(100), &closed);
    if (i == 2) {
      Client normal(stack.server.port());
      ASSERT_TRUE(normal.Send(kHealth));
      EXPECT_NE(normal.Receive(std::chrono::seconds(2)).find("200 OK"), std::string::npos);
    }
  }
  if (!closed) slow.Receive(std::chrono::seconds(2), &closed);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_TRUE(closed);
  EXPECT_LT(seconds, 2.0);
  // The socket is closed when the timer fires; the count follows in the read's handler.
  bool counted = false;
  for (int i = 0; i < 100 && !counted; ++i) {
    counted =
        stack.metrics.Render().find("lc_gateway_read_timeouts_total 1\n") != std::string::npos;
    if (!counted) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(counted);
}

TEST(HttpServerLimitsTest, TricklingBodyIsCutToo) {
  Stack stack(Options());
  Client slow(stack.server.port());
  ASSERT_TRUE(
      slow.Send("POST /v1/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
                "Content-Length: 100\r\n\r\n{"));
  bool closed = false;
  for (int i = 0; i < 30 && !closed; ++i) {
    slow.Send(" ");
    slow.Receive(std::chrono::milliseconds(100), &closed);
  }
  EXPECT_TRUE(closed);
}

TEST(HttpServerLimitsTest, AnIdleKeepAliveConnectionWaitsForTheIdleTimeoutNotTheReadDeadline) {
  Stack stack(Options());
  Client client(stack.server.port());
  ASSERT_TRUE(client.Send(kHealth));
  EXPECT_NE(client.Receive(std::chrono::seconds(2)).find("200 OK"), std::string::npos);
  bool closed = false;
  client.Receive(std::chrono::milliseconds(1200), &closed);  // over twice the read deadline
  EXPECT_FALSE(closed);
  ASSERT_TRUE(client.Send(kHealth));
  EXPECT_NE(client.Receive(std::chrono::seconds(2)).find("200 OK"), std::string::npos);
}

TEST(HttpServerLimitsTest, ConnectionsPerAddressAreCapped) {
  HttpServerOptions options = Options();
  options.max_connections_per_ip = 3;
  Stack stack(options);
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(stack.server.port(), "127.0.0.3"));
    ASSERT_TRUE(held.back()->Send(kHealth));
    ASSERT_NE(held.back()->Receive(std::chrono::seconds(2)).find("200 OK"), std::string::npos);
  }
  // The fourth from the same address is closed at accept (the handshake itself is the kernel's).
  Client refused(stack.server.port(), "127.0.0.3");
  refused.Send(kHealth);
  bool closed = false;
  EXPECT_EQ(refused.Receive(std::chrono::seconds(2), &closed), "");
  EXPECT_TRUE(closed);
  // Another address is not affected.
  Client other(stack.server.port(), "127.0.0.4");
  ASSERT_TRUE(other.Send(kHealth));
  EXPECT_NE(other.Receive(std::chrono::seconds(2)).find("200 OK"), std::string::npos);
  // A place given back is taken again.
  held.pop_back();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Client again(stack.server.port(), "127.0.0.3");
  ASSERT_TRUE(again.Send(kHealth));
  EXPECT_NE(again.Receive(std::chrono::seconds(2)).find("200 OK"), std::string::npos);
  std::string metrics = stack.metrics.Render();
  EXPECT_NE(metrics.find("lc_gateway_connections_refused_total{limit=\"address\"} 1\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("lc_gateway_connections_open 4\n"), std::string::npos) << metrics;
}

TEST(HttpServerLimitsTest, TotalConnectionsAreCapped) {
  HttpServerOptions options = Options();
  options.max_connections = 2;
  Stack stack(options);
  Client a(stack.server.port(), "127.0.0.5");
  Client b(stack.server.port(), "127.0.0.6");
  for (Client* c : {&a, &b}) {
    ASSERT_TRUE(c->Send(kHealth));
    ASSERT_NE(c->Receive(std::chrono::seconds(2)).find("200 OK"), std::string::npos);
  }
  Client c(stack.server.port(), "127.0.0.7");
  c.Send(kHealth);
  bool closed = false;
  EXPECT_EQ(c.Receive(std::chrono::seconds(2), &closed), "");
  EXPECT_TRUE(closed);
  EXPECT_NE(stack.metrics.Render().find("lc_gateway_connections_refused_total{limit=\"total\"} 1"),
            std::string::npos);
}

TEST(HttpServerLimitsTest, OversizedBodyIs413AndDeepJsonIs400) {
  Stack stack(Options());
  {
    Client client(stack.server.port());
    ASSERT_TRUE(
        client.Send("POST /v1/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
                    "Content-Length: 1000000\r\n\r\n{"));
    std::string answer = client.Receive(std::chrono::seconds(2));
    EXPECT_NE(answer.find("413"), std::string::npos) << answer;
    EXPECT_NE(answer.find("\"message\":\"body: larger than 4096 bytes\""), std::string::npos)
        << answer;
  }
  {
    std::string deep = std::string(2000, '[') + std::string(2000, ']');
    Client client(stack.server.port());
    ASSERT_TRUE(client.Send(
        absl::StrCat("POST /v1/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
                     "Content-Length: ",
                     deep.size(), "\r\n\r\n", deep)));
    std::string answer = client.Receive(std::chrono::seconds(2));
    EXPECT_NE(answer.find("400 Bad Request"), std::string::npos) << answer;
    EXPECT_NE(answer.find("nested deeper than 32 levels"), std::string::npos) << answer;
    // The connection is still good for the next request.
    ASSERT_TRUE(client.Send(kHealth));
    EXPECT_NE(client.Receive(std::chrono::seconds(2)).find("200 OK"), std::string::npos);
  }
}

TEST(HttpServerLimitsTest, LimitsLoadFromTheEnvironment) {
  absl::StatusOr<HttpServerOptions> defaults = LoadHttpServerOptions();
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->read_timeout, absl::Seconds(10));
  EXPECT_EQ(defaults->max_ws_message_bytes, 4096u);
  EXPECT_EQ(defaults->max_connections, 20000u);
  EXPECT_EQ(defaults->max_connections_per_ip, 512u);
  setenv("LC_GATEWAY_READ_TIMEOUT_MS", "2500", 1);
  setenv("LC_GATEWAY_MAX_WS_MESSAGE_BYTES", "8192", 1);
  setenv("LC_GATEWAY_MAX_CONNECTIONS", "0", 1);
  setenv("LC_GATEWAY_MAX_CONNECTIONS_PER_IP", "64", 1);
  absl::StatusOr<HttpServerOptions> set = LoadHttpServerOptions();
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->read_timeout, absl::Milliseconds(2500));
  EXPECT_EQ(set->max_ws_message_bytes, 8192u);
  EXPECT_EQ(set->max_connections, 0u);
  EXPECT_EQ(set->max_connections_per_ip, 64u);
  setenv("LC_GATEWAY_READ_TIMEOUT_MS", "0", 1);  // below the minimum: a deadline of nothing
  absl::StatusOr<HttpServerOptions> bad = LoadHttpServerOptions();
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("LC_GATEWAY_READ_TIMEOUT_MS"), std::string::npos)
      << bad.status();
  for (const char* name : {"LC_GATEWAY_READ_TIMEOUT_MS", "LC_GATEWAY_MAX_WS_MESSAGE_BYTES",
                           "LC_GATEWAY_MAX_CONNECTIONS", "LC_GATEWAY_MAX_CONNECTIONS_PER_IP"}) {
    unsetenv(name);
  }
}

// Request ids: a caller's usable X-Request-Id is answered back (and logged, and passed on to the
// services); otherwise the gateway makes one (16 hex characters), malformed or missing alike.
std::string ResponseRequestId(const std::string& answer) {
  const std::string name = "X-Request-Id: ";
  size_t at = answer.find(name);
  if (at == std::string::npos) return "";
  size_t end = answer.find("\r\n", at);
  return answer.substr(at + name.size(), end - at - name.size());
}

TEST(HttpServerRequestIdTest, EchoesTheCallersIdOrMakesOne) {
  Stack stack(Options());
  {
    Client client(stack.server.port());
    ASSERT_TRUE(
        client.Send("GET /healthz HTTP/1.1\r\nHost: gw\r\nX-Request-Id: op-trace.42\r\n\r\n"));
    EXPECT_EQ(ResponseRequestId(client.Receive(std::chrono::seconds(2))), "op-trace.42");
    // The next request on the same connection has its own.
    ASSERT_TRUE(client.Send(kHealth));
    std::string made = ResponseRequestId(client.Receive(std::chrono::seconds(2)));
    EXPECT_EQ(made.size(), 16u);
    EXPECT_EQ(made.find_first_not_of("0123456789abcdef"), std::string::npos) << made;
  }
  {
    Client client(stack.server.port());
    ASSERT_TRUE(client.Send(
        "GET /healthz HTTP/1.1\r\nHost: gw\r\nX-Request-Id: " + std::string(65, 'a') + "\r\n\r\n"));
    EXPECT_EQ(ResponseRequestId(client.Receive(std::chrono::seconds(2))).size(), 16u);
  }
  {
    // Errors carry one too.
    Client client(stack.server.port());
    ASSERT_TRUE(client.Send("GET /v1/nowhere HTTP/1.1\r\nHost: gw\r\nX-Request-Id: r-404\r\n\r\n"));
    std::string answer = client.Receive(std::chrono::seconds(2));
    EXPECT_NE(answer.find("404"), std::string::npos) << answer;
    EXPECT_EQ(ResponseRequestId(answer), "r-404");
  }
  std::string metrics = stack.metrics.Render();
  EXPECT_NE(metrics.find("lc_gateway_http_requests_total{route=\"healthz\",status=\"200\"} 3\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("lc_gateway_http_request_duration_seconds_count{route=\"healthz\"} 3\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("lc_gateway_http_errors_total{route=\"unmatched\"} 1\n"),
            std::string::npos)
      << metrics;
}

}  // namespace
}  // namespace livecommerce::gateway
