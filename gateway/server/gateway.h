#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/auth/authenticator.h"
#include "gateway/auth/login_provider.h"
#include "gateway/auth/session_token.h"
#include "gateway/http/json_binding.h"
#include "gateway/http/metrics.h"
#include "gateway/http/rate_limiter.h"
#include "gateway/http/read_cache.h"
#include "gateway/http/router.h"
#include "gateway/http/static_files.h"
#include "gateway/server/alert_hub.h"
#include "gateway/server/readiness.h"
#include "gateway/server/room_hub.h"
#include "gateway/server/rpc_client.h"
#include "gateway/server/socket_slots.h"
#include "services/common/ttl_cache.h"

namespace livecommerce::gateway {

struct GatewayOptions {
  absl::Duration request_timeout = absl::Seconds(5);  // also the deadline of the gRPC call
  absl::Duration cache_ttl = absl::Seconds(1);        // 0: no read cache
  // How long past cache_ttl a cached read is still served while one refresh runs behind it.
  absl::Duration cache_stale = absl::Seconds(2);
  double ip_rate = 200;  // requests/s per client IP; 0: no limit
  double ip_burst = 400;
  double principal_rate = 20;  // requests/s per authenticated principal; 0: no limit
  double principal_burst = 40;
  absl::Duration viewer_token_ttl = absl::Hours(24);
  std::string notify_brand = "platform";      // brand of the SERVICE principal for notifications
  int max_json_depth = kDefaultMaxJsonDepth;  // request bodies nested deeper: 400
};

// LC_GATEWAY_REQUEST_TIMEOUT_MS, LC_GATEWAY_CACHE_TTL_MS, LC_GATEWAY_CACHE_STALE_MS,
// LC_GATEWAY_IP_RATE, LC_GATEWAY_IP_BURST, LC_GATEWAY_PRINCIPAL_RATE, LC_GATEWAY_PRINCIPAL_BURST,
// LC_GATEWAY_VIEWER_TOKEN_TTL_MS, LC_GATEWAY_MAX_JSON_DEPTH.
absl::StatusOr<GatewayOptions> LoadGatewayOptions();

// A request as read from the connection.
struct HttpRequest {
  std::string method;
  std::string target;  // path and query
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string client_ip;
  absl::Time received;
  std::string Header(absl::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  int retry_after_seconds = 0;  // > 0: a Retry-After header
  // When set, the body instead of `body`: a cached answer, written without being copied.
  std::shared_ptr<const std::string> shared_body;
};

using Reply = std::function<void(HttpResponse)>;

// What a granted WebSocket needs: for a room, once its viewer has joined; for alerts, once the
// associate has been checked. Holds a reserved per-principal slot.
struct SocketGrant {
  SocketKind kind = SocketKind::kRoom;
  SocketInfo info;          // kRoom
  std::string joined_json;  // kRoom: the first message, {"type":"joined","joined":{...}}
  AlertSocketInfo alerts;   // kAlerts
};

// The HTTP API: matches a request to its route, authenticates and limits it, turns JSON into the
// service's request, calls the service without blocking, and answers with its JSON or the mapped
// error. Knows nothing of sockets: the server hands requests in and writes what `reply` gets
// (from any thread, exactly once).
class Gateway final {
 public:
  struct Deps {
    const Router* router;
    RpcClient* rpc;
    Authenticator* auth;
    const SessionTokenCodec* tokens;
    LoginProvider* login;
    SocketSlots* slots;
    Readiness* readiness;
    Metrics* metrics;
    const common::PrincipalCodec* principals;
    const StaticFiles* console;  // the console's files under /console/; null: none
  };
  Gateway(Deps deps, std::string openapi_json, GatewayOptions options);

  void Handle(HttpRequest request, Reply reply);

  // Whether `method` `target` is a WebSocket route (a room's, or the alerts').
  bool IsSocketRoute(absl::string_view method, absl::string_view target) const;
  // The checks of a WebSocket upgrade (token in the Authorization header or the access_token
  // query parameter, role, limits) and, for a room, the viewer's JoinRoom. Exactly one of
  // `granted` (with a reserved per-principal slot) or `refused` runs, from any thread.
  void PrepareSocket(HttpRequest request, std::function<void(SocketGrant)> granted, Reply refused);

 private:
  struct Prepared;
  void ServeConsole(const HttpRequest& request, absl::string_view path, Reply done);
  void HandleRpc(const Route& route, size_t route_index,
                 std::vector<std::pair<std::string, std::string>> params,
                 std::shared_ptr<const AuthContext> auth, HttpRequest request, Reply reply);
  void HandleLogin(HttpRequest request, Reply reply);
  void HandleNotify(HttpRequest request, Reply reply);
  void HandleStreamCallback(const std::vector<std::pair<std::string, std::string>>& params,
                            HttpRequest request, Reply reply);
  // Calls `method` (`rpc` names it in errors) with `message` as the gateway's own service
  // principal (raw callbacks: WeChat Pay's, the streaming server's, whose bodies the service
  // verifies), and replies with `answer` of its response, or the mapped error.
  void ForwardAsGateway(const google::protobuf::MethodDescriptor& method, const char* rpc,
                        std::unique_ptr<google::protobuf::Message> message, absl::Time received,
                        std::function<HttpResponse(const google::protobuf::Message&)> answer,
                        Reply reply);
  // The authenticated caller, or an error response.
  absl::StatusOr<std::shared_ptr<const AuthContext>> Authenticate(const HttpRequest& request,
                                                                  absl::string_view query_token);
  absl::Status CheckRole(const Route& route, const AuthContext& auth) const;
  // A 429 answer (counted) when the client's address, or the principal `key`, is over its
  // limit; nullopt when the request may go on.
  std::optional<HttpResponse> LimitAddress(const HttpRequest& request);
  std::optional<HttpResponse> LimitPrincipal(const std::string& key, absl::Time now);
  // Reply that records metrics for `route_index`.
  Reply Measured(size_t route_index, absl::Time started, Reply reply);

  Deps deps_;
  std::string openapi_json_;
  GatewayOptions options_;
  RateLimiter ip_limiter_;
  RateLimiter principal_limiter_;
  ReadCache cache_;
  // JSON renderings of recent answers, keyed by the route and the answer's protobuf bytes: many
  // callers given the same answer (a public room's products) share one rendering, which costs
  // far more than the call.
  common::TtlCache<std::string, std::shared_ptr<const std::string>> renderings_;
  std::vector<const google::protobuf::MethodDescriptor*> methods_;  // by route index
  void JoinRoomSocket(const RouteMatch& match, const AuthContext& auth, std::string principal_key,
                      const std::string& device_id, const std::string& invite_token, bool watch,
                      absl::Time received, std::function<void(SocketGrant)> granted, Reply done);
  void WatchRoomSocket(const RouteMatch& match, const AuthContext& auth, std::string principal_key,
                       absl::Time received, std::function<void(SocketGrant)> granted, Reply done);
  size_t socket_route_ = 0;
  size_t alert_socket_route_ = 0;
};

// An error response with the mapped HTTP status and {"code", "message"}.
HttpResponse ErrorResponse(grpc::StatusCode code, absl::string_view message,
                           absl::string_view reason = "");
HttpResponse ErrorResponse(const absl::Status& status);
// The answer to a failed service call. Messages are the service's own for the codes services use,
// a generic one where gRPC itself (not the service) may have produced the message. UNAVAILABLE is
// 503 with Retry-After; RESOURCE_EXHAUSTED is the user's limit (429, LIMIT_REACHED) when the
// service answered it, and an overload (503 with Retry-After, OVERLOADED) when gRPC did ("Server
// Threadpool Exhausted").
HttpResponse RpcErrorResponse(const grpc::Status& status, absl::string_view rpc);

}  // namespace livecommerce::gateway
