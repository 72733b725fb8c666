#include "gateway/server/gateway.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/http/json_binding.h"
#include "gateway/http/status_map.h"
#include "gateway/proto/gateway.pb.h"
#include "gateway/server/chat_hub.h"
#include "livecommerce/v1/order.pb.h"
#include "livecommerce/v1/room.pb.h"
#include "services/common/admission.h"
#include "services/common/config.h"
#include "services/common/crypto.h"
#include "services/common/log_format.h"
#include "services/common/proto_util.h"
#include "services/common/request_id.h"
#include "services/common/status.h"

namespace livecommerce::gateway {
namespace {

constexpr char kJoinRoom[] = "livecommerce.v1.RoomService.JoinRoom";
constexpr char kGetRoom[] = "livecommerce.v1.RoomService.GetRoom";
constexpr char kNotify[] = "livecommerce.v1.OrderService.HandlePaymentNotification";
constexpr char kStreamCallback[] = "livecommerce.v1.RoomService.HandleStreamCallback";

bool IsJsonContentType(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  return value.empty() || absl::StartsWithIgnoreCase(value, "application/json");
}

// One user of one brand in one role: the key of their rate limit and socket slots.
std::string PrincipalKey(const SessionClaims& claims) {
  return absl::StrCat(claims.brand_id, "/", common::RoleName(claims.role), "/", claims.subject);
}

}  // namespace

absl::StatusOr<GatewayOptions> LoadGatewayOptions() {
  GatewayOptions o;
  auto timeout = common::EnvMillis("LC_GATEWAY_REQUEST_TIMEOUT_MS", 5000, 100, 120000);
  auto cache = common::EnvMillis("LC_GATEWAY_CACHE_TTL_MS", 1000, 0, 60000);
  auto stale = common::EnvMillis("LC_GATEWAY_CACHE_STALE_MS", 2000, 0, 60000);
  auto ip_rate = common::EnvInt("LC_GATEWAY_IP_RATE", 200, 0, 100000000);
  auto ip_burst = common::EnvInt("LC_GATEWAY_IP_BURST", 400, 1, 100000000);
  auto p_rate = common::EnvInt("LC_GATEWAY_PRINCIPAL_RATE", 20, 0, 100000000);
  auto p_burst = common::EnvInt("LC_GATEWAY_PRINCIPAL_BURST", 40, 1, 100000000);
  auto ttl = common::EnvMillis("LC_GATEWAY_VIEWER_TOKEN_TTL_MS", 24 * 3600 * 1000LL, 60000,
                               90LL * 24 * 3600 * 1000);
  auto depth = common::EnvInt("LC_GATEWAY_MAX_JSON_DEPTH", kDefaultMaxJsonDepth, 4, 1000);
  for (const absl::Status& s :
       {timeout.status(), cache.status(), stale.status(), ip_rate.status(), ip_burst.status(),
        p_rate.status(), p_burst.status(), ttl.status(), depth.status()}) {
    if (!s.ok()) return s;
  }
  o.request_timeout = *timeout;
  o.cache_ttl = *cache;
  o.cache_stale = *stale;
  o.ip_rate = static_cast<double>(*ip_rate);
  o.ip_burst = static_cast<double>(*ip_burst);
  o.principal_rate = static_cast<double>(*p_rate);
  o.principal_burst = static_cast<double>(*p_burst);
  o.viewer_token_ttl = *ttl;
  o.max_json_depth = static_cast<int>(*depth);
  return o;
}

std::string HttpRequest::Header(absl::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return "";
}

HttpResponse ErrorResponse(grpc::StatusCode code, absl::string_view message,
                           absl::string_view reason) {
  HttpResponse r;
  r.status = HttpStatusOf(code);
  r.body = ErrorJson(code, message, reason);
  return r;
}

HttpResponse ErrorResponse(const absl::Status& status) {
  return ErrorResponse(static_cast<grpc::StatusCode>(status.code()), status.message());
}

HttpResponse RpcErrorResponse(const grpc::Status& status, absl::string_view rpc) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE: {
      spdlog::warn("{}: unavailable: {}", rpc, status.error_message());
      HttpResponse r = ErrorResponse(status.error_code(), "a service is unavailable; try again",
                                     kReasonUnavailable);
      r.retry_after_seconds = 1;
      return r;
    }
    case grpc::StatusCode::RESOURCE_EXHAUSTED: {
      if (common::IsServiceAnswer(status)) {  // the service's own limit: the user's to act on
        std::string reason = RefusalReasonOf(status.error_message());
        return ErrorResponse(
            status.error_code(), status.error_message(),
            reason.empty() ? std::string(kReasonLimitReached) : absl::AsciiStrToUpper(reason));
      }
      // The service shed the call: its admission refused it (with a hint), or gRPC did (its
      // threads or memory were exhausted).
      spdlog::warn("{}: overloaded: {}", rpc, status.error_message());
      HttpResponse r = ErrorResponse(grpc::StatusCode::UNAVAILABLE,
                                     "the service is at capacity; try again", kReasonOverloaded);
      std::optional<absl::Duration> retry = common::OverloadRetryAfter(status);
      // Whole seconds, rounded up: Retry-After has no finer unit.
      r.retry_after_seconds =
          retry.has_value()
              ? std::max(
                    1, static_cast<int>(absl::ToInt64Seconds(absl::Ceil(*retry, absl::Seconds(1)))))
              : 1;
      return r;
    }
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return ErrorResponse(status.error_code(), "the request took too long");
    case grpc::StatusCode::CANCELLED:
      return ErrorResponse(status.error_code(), "the request was cancelled");
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::DATA_LOSS:
    case grpc::StatusCode::UNIMPLEMENTED:
      spdlog::error("{}: {} {}", rpc, StatusCodeName(status.error_code()), status.error_message());
      return ErrorResponse(status.error_code(), "internal error");
    default: {
      // The interaction service's refusals ("muted: ...") name their reason for the client.
      std::string reason = RefusalReasonOf(status.error_message());
      return ErrorResponse(status.error_code(), status.error_message(),
                           absl::AsciiStrToUpper(reason));
    }
  }
}

Gateway::Gateway(Deps deps, std::string openapi_json, GatewayOptions options)
    : deps_(deps),
      openapi_json_(std::move(openapi_json)),
      options_(std::move(options)),
      ip_limiter_(options_.ip_rate, options_.ip_burst),
      principal_limiter_(options_.principal_rate, options_.principal_burst),
      cache_(options_.cache_ttl, options_.cache_stale, 200000),
      renderings_(absl::Seconds(10), 2000) {
  const std::vector<Route>& routes = deps_.router->routes();
  for (size_t i = 0; i < routes.size(); ++i) {
    const google::protobuf::MethodDescriptor* method = nullptr;
    if (routes[i].kind == RouteKind::kRpc) {
      method = deps_.rpc->FindMethod(routes[i].rpc);
      if (method == nullptr) {
        spdlog::error("route {}: no such RPC {}", routes[i].name, routes[i].rpc);
      }
    }
    if (routes[i].kind == RouteKind::kRoomSocket) socket_route_ = i;
    if (routes[i].kind == RouteKind::kAlertSocket) alert_socket_route_ = i;
    methods_.push_back(method);
  }
}

Reply Gateway::Measured(size_t route_index, absl::Time started, Reply reply) {
  // The request id is this thread's while the request is dispatched; the answer may come on
  // another thread.
  return [this, route_index, started, request_id = std::string(common::CurrentRequestId()),
          reply = std::move(reply)](HttpResponse response) {
    deps_.metrics->RecordRequest(route_index, response.status, absl::Now() - started, request_id);
    reply(std::move(response));
  };
}

absl::StatusOr<std::shared_ptr<const AuthContext>> Gateway::Authenticate(
    const HttpRequest& request, absl::string_view query_token) {
  std::string header = request.Header("authorization");
  absl::string_view token = BearerToken(header);
  if (token.empty()) token = query_token;
  if (token.empty()) {
    return absl::UnauthenticatedError("token: missing (Authorization: Bearer <token>)");
  }
  return deps_.auth->Authenticate(token, absl::Now());
}

std::optional<HttpResponse> Gateway::LimitAddress(const HttpRequest& request) {
  RateLimiter::Decision d =
      ip_limiter_.Take(absl::StrCat("ip:", request.client_ip), request.received);
  if (d.allowed) return std::nullopt;
  deps_.metrics->RecordRateLimited(true);
  HttpResponse r = ErrorResponse(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "rate: too many requests from this address", kReasonRateLimited);
  r.retry_after_seconds = d.retry_after_seconds;
  return r;
}

std::optional<HttpResponse> Gateway::LimitPrincipal(const std::string& key, absl::Time now) {
  RateLimiter::Decision d = principal_limiter_.Take(key, now);
  if (d.allowed) return std::nullopt;
  deps_.metrics->RecordRateLimited(false);
  HttpResponse r = ErrorResponse(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "rate: too many requests from this user", kReasonRateLimited);
  r.retry_after_seconds = d.retry_after_seconds;
  return r;
}

absl::Status Gateway::CheckRole(const Route& route, const AuthContext& auth) const {
  if (!route.Allows(auth.claims.role)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "role: the ", common::RoleName(auth.claims.role), " role may not call ", route.name));
  }
  return absl::OkStatus();
}

bool Gateway::IsSocketRoute(absl::string_view method, absl::string_view target) const {
  std::string path, query;
  SplitTarget(target, &path, &query);
  RouteMatch match = deps_.router->Match(method, path);
  return match.route != nullptr && (match.route->kind == RouteKind::kRoomSocket ||
                                    match.route->kind == RouteKind::kAlertSocket);
}

void Gateway::Handle(HttpRequest request, Reply reply) {
  std::string path, query;
  SplitTarget(request.target, &path, &query);
  const std::vector<Route>& routes = deps_.router->routes();
  if (deps_.console != nullptr && deps_.console->Covers(path)) {
    ServeConsole(request, path, Measured(routes.size(), request.received, std::move(reply)));
    return;
  }
  RouteMatch match = deps_.router->Match(request.method, path);
  size_t index =
      match.route != nullptr ? static_cast<size_t>(match.route - routes.data()) : routes.size();
  Reply done = Measured(index, request.received, std::move(reply));
  if (match.outcome == RouteMatch::Outcome::kNotFound) {
    done(ErrorResponse(grpc::StatusCode::NOT_FOUND, "path: no such route"));
    return;
  }
  if (match.outcome == RouteMatch::Outcome::kMethodNotAllowed) {
    HttpResponse r;
    r.status = 405;
    r.body = ErrorJson(grpc::StatusCode::INVALID_ARGUMENT,
                       absl::StrCat("method: ", request.method, " is not allowed on this path"));
    done(std::move(r));
    return;
  }
  const Route& route = *match.route;
  bool probe = route.kind == RouteKind::kHealth || route.kind == RouteKind::kReady ||
               route.kind == RouteKind::kMetrics || route.kind == RouteKind::kPaymentNotify ||
               route.kind == RouteKind::kStreamCallback;
  if (!probe) {
    if (std::optional<HttpResponse> limited = LimitAddress(request)) {
      done(*std::move(limited));
      return;
    }
  }
  switch (route.kind) {
    case RouteKind::kHealth:
      done(HttpResponse{200, "application/json", "{\"status\":\"ok\"}", 0, nullptr});
      return;
    case RouteKind::kReady:
      done(HttpResponse{deps_.readiness->ready() ? 200 : 503, "application/json",
                        deps_.readiness->Json(), 0, nullptr});
      return;
    case RouteKind::kMetrics:
      done(HttpResponse{200, "text/plain; version=0.0.4", deps_.metrics->Render(), 0, nullptr});
      return;
    case RouteKind::kOpenApi:
      done(HttpResponse{200, "application/json", openapi_json_, 0, nullptr});
      return;
    case RouteKind::kLogin:
      HandleLogin(std::move(request), std::move(done));
      return;
    case RouteKind::kPaymentNotify:
      HandleNotify(std::move(request), std::move(done));
      return;
    case RouteKind::kStreamCallback:
      HandleStreamCallback(match.params, std::move(request), std::move(done));
      return;
    case RouteKind::kRoomSocket:
    case RouteKind::kAlertSocket:
      done(ErrorResponse(grpc::StatusCode::INVALID_ARGUMENT,
                         "upgrade: this route is a WebSocket; send an Upgrade request"));
      return;
    case RouteKind::kRpc:
      break;
  }
  absl::StatusOr<std::shared_ptr<const AuthContext>> auth = Authenticate(request, "");
  if (!auth.ok()) {
    done(ErrorResponse(auth.status()));
    return;
  }
  if (absl::Status allowed = CheckRole(route, **auth); !allowed.ok()) {
    done(ErrorResponse(allowed));
    return;
  }
  if (std::optional<HttpResponse> limited =
          LimitPrincipal(PrincipalKey((*auth)->claims), request.received)) {
    done(*std::move(limited));
    return;
  }
  HandleRpc(route, index, std::move(match.params), *std::move(auth), std::move(request),
            std::move(done));
}

// The console's files are public (the API calls they make carry the user's token).
void Gateway::ServeConsole(const HttpRequest& request, absl::string_view path, Reply done) {
  if (std::optional<HttpResponse> limited = LimitAddress(request)) {
    done(*std::move(limited));
    return;
  }
  if (request.method != "GET") {
    HttpResponse r = ErrorResponse(grpc::StatusCode::INVALID_ARGUMENT,
                                   "method: the console's files are read with GET");
    r.status = 405;
    done(std::move(r));
    return;
  }
  const StaticFiles::File* file = deps_.console->Find(path);
  if (file == nullptr) {
    done(ErrorResponse(grpc::StatusCode::NOT_FOUND, "path: no such file of the console"));
    return;
  }
  done(HttpResponse{200, file->content_type, "", 0, file->body});
}

void Gateway::HandleRpc(const Route& route, size_t route_index,
                        std::vector<std::pair<std::string, std::string>> params,
                        std::shared_ptr<const AuthContext> auth, HttpRequest request, Reply reply) {
  const google::protobuf::MethodDescriptor* method = methods_[route_index];
  if (method == nullptr) {
    reply(ErrorResponse(grpc::StatusCode::UNIMPLEMENTED, "route: not available"));
    return;
  }
  if (!request.body.empty() && !IsJsonContentType(request.Header("content-type"))) {
    HttpResponse r =
        ErrorResponse(grpc::StatusCode::INVALID_ARGUMENT, "content-type: must be application/json");
    r.status = 415;
    reply(std::move(r));
    return;
  }
  // A cached answer is looked up before anything is bound: the same route, target and principal
  // bind the same request, and only successful answers are kept.
  std::string cache_key;
  // Viewers only: they are the crowd the cache is for, and they never write what these routes
  // read; staff (ops pinning a product, say) read their own writes at once.
  bool cached = route.cacheable && options_.cache_ttl > absl::ZeroDuration() &&
                request.body.empty() && auth->claims.role == common::Role::kViewer;
  if (cached) {
    // Per principal: what a caller may see (a private room, cohort prices) depends on who asks.
    cache_key = absl::StrCat(route.name, "\n", request.target, "\n", PrincipalKey(auth->claims));
    ReadCache::Lookup hit = cache_.Get(cache_key, request.received);
    deps_.metrics->RecordCache(hit.body != nullptr);
    if (hit.body != nullptr) {
      HttpResponse r;
      r.shared_body = std::move(hit.body);
      reply(std::move(r));
      if (!hit.refresh) return;
      // Served a little stale: this request goes on, unseen, to fetch the answer again.
      reply = [this, cache_key](HttpResponse) { cache_.Abandon(cache_key); };
    }
  }
  std::unique_ptr<google::protobuf::Message> message = deps_.rpc->NewRequest(*method);
  std::string path, query;
  SplitTarget(request.target, &path, &query);
  if (absl::Status s = BindRequest(request.body, query, params, *message, options_.max_json_depth);
      !s.ok()) {
    reply(ErrorResponse(s));
    return;
  }
  if (route.brand_from_token) {
    FillBrand(*message, auth->claims.brand_id);
  }
  absl::Time deadline = request.received + options_.request_timeout;
  deps_.rpc->Call(
      *method, std::move(message), auth->encoded_principal, deadline,
      [this, &route, cached, cache_key = std::move(cache_key), reply = std::move(reply)](
          grpc::Status status, std::unique_ptr<google::protobuf::Message> response) {
        if (!status.ok()) {
          reply(RpcErrorResponse(status, route.rpc));
          return;
        }
        absl::Time now = absl::Now();
        HttpResponse r;
        if (cached) {
          std::string rendering_key = absl::StrCat(route.name, "\n");
          response->AppendToString(&rendering_key);
          if (std::optional<std::shared_ptr<const std::string>> known =
                  renderings_.Get(rendering_key)) {
            r.shared_body = *std::move(known);
          } else {
            r.shared_body =
                std::make_shared<const std::string>(ToJson(*response, route.response_field));
            renderings_.Put(rendering_key, r.shared_body);
          }
          cache_.Put(cache_key, r.shared_body, now);
        } else {
          r.shared_body =
              std::make_shared<const std::string>(ToJson(*response, route.response_field));
        }
        reply(std::move(r));
      });
}

void Gateway::HandleLogin(HttpRequest request, Reply reply) {
  LoginRequest login;
  if (!IsJsonContentType(request.Header("content-type"))) {
    HttpResponse r =
        ErrorResponse(grpc::StatusCode::INVALID_ARGUMENT, "content-type: must be application/json");
    r.status = 415;
    reply(std::move(r));
    return;
  }
  if (absl::Status s = BindJsonBody(request.body, login, options_.max_json_depth); !s.ok()) {
    reply(ErrorResponse(s));
    return;
  }
  if (login.code().empty()) {
    reply(ErrorResponse(grpc::StatusCode::INVALID_ARGUMENT, "code: required"));
    return;
  }
  if (!common::IsValidId(login.brand_id())) {
    reply(ErrorResponse(grpc::StatusCode::INVALID_ARGUMENT,
                        "brand_id: required, 1-128 of [A-Za-z0-9_.:-]"));
    return;
  }
  std::string brand = login.brand_id();
  deps_.login->Exchange(
      brand, login.code(), [this, brand, reply = std::move(reply)](absl::StatusOr<std::string> id) {
        if (!id.ok()) {
          reply(ErrorResponse(id.status()));
          return;
        }
        absl::Time now = absl::Now();
        SessionClaims claims{NewTokenId(), common::Role::kViewer,          brand, *id,
                             now,          now + options_.viewer_token_ttl};
        absl::StatusOr<std::string> token = deps_.tokens->Issue(claims);
        if (!token.ok()) {
          reply(ErrorResponse(token.status()));
          return;
        }
        LoginResponse out;
        out.set_token(*token);
        common::ToTimestamp(claims.expires_at, out.mutable_expires_at());
        out.set_role("viewer");
        out.set_brand_id(brand);
        out.set_subject(claims.subject);
        reply(HttpResponse{200, "application/json", ToJson(out), 0, nullptr});
      });
}

void Gateway::HandleNotify(HttpRequest request, Reply reply) {
  const google::protobuf::MethodDescriptor* method = deps_.rpc->FindMethod(kNotify);
  if (method == nullptr) {
    reply(ErrorResponse(grpc::StatusCode::UNIMPLEMENTED, "route: not available"));
    return;
  }
  // The body goes on as bytes (its signature covers them), but no notification nests deeply.
  if (absl::Status s = CheckJsonDepth(request.body, options_.max_json_depth); !s.ok()) {
    reply(ErrorResponse(s));
    return;
  }
  auto message = std::make_unique<v1::HandlePaymentNotificationRequest>();
  message->set_provider(v1::PAYMENT_PROVIDER_WECHAT_PAY);
  message->set_body(std::move(request.body));
  for (auto& [name, value] : request.headers) {
    (*message->mutable_headers())[name] = value;
  }
  ForwardAsGateway(
      *method, kNotify, std::move(message), request.received,
      [](const google::protobuf::Message& response) {
        v1::HandlePaymentNotificationResponse out;
        out.CopyFrom(response);
        HttpResponse r;
        r.status = out.http_status() > 0 ? out.http_status() : 200;
        r.body = out.http_body();
        return r;
      },
      std::move(reply));
}

void Gateway::ForwardAsGateway(const google::protobuf::MethodDescriptor& method, const char* rpc,
                               std::unique_ptr<google::protobuf::Message> message,
                               absl::Time received,
                               std::function<HttpResponse(const google::protobuf::Message&)> answer,
                               Reply reply) {
  std::string principal = deps_.principals->Encode(common::Principal{
      common::Role::kService, options_.notify_brand, "gateway", absl::Now() + absl::Minutes(5)});
  deps_.rpc->Call(method, std::move(message), principal, received + options_.request_timeout,
                  [rpc, answer = std::move(answer), reply = std::move(reply)](
                      grpc::Status status, std::unique_ptr<google::protobuf::Message> response) {
                    reply(status.ok() ? answer(*response) : RpcErrorResponse(status, rpc));
                  });
}

// The streaming server's callbacks go on untouched: the room service verifies them (the local
// server's path secret, Tencent's signature) and says what to answer; a refused push is a 403,
// which makes nginx-rtmp drop it.
void Gateway::HandleStreamCallback(const std::vector<std::pair<std::string, std::string>>& params,
                                   HttpRequest request, Reply reply) {
  const google::protobuf::MethodDescriptor* method = deps_.rpc->FindMethod(kStreamCallback);
  if (method == nullptr) {
    reply(ErrorResponse(grpc::StatusCode::UNIMPLEMENTED, "route: not available"));
    return;
  }
  auto message = std::make_unique<v1::HandleStreamCallbackRequest>();
  message->set_provider("tencent");
  for (const auto& [name, value] : params) {
    if (name == "secret") {
      message->set_provider("local");
      message->set_secret(value);
    } else if (name == "callback") {
      message->set_route(value);
    }
  }
  message->set_content_type(std::string(request.Header("content-type")));
  message->set_body(std::move(request.body));
  ForwardAsGateway(
      *method, kStreamCallback, std::move(message), request.received,
      [](const google::protobuf::Message& response) {
        v1::HandleStreamCallbackResponse out;
        out.CopyFrom(response);
        HttpResponse r;
        r.status = out.http_status() > 0 ? out.http_status() : 200;
        r.content_type = out.content_type().empty() ? "text/plain" : out.content_type();
        r.body = out.body();
        return r;
      },
      std::move(reply));
}

void Gateway::PrepareSocket(HttpRequest request, std::function<void(SocketGrant)> granted,
                            Reply refused) {
  std::string path, query;
  SplitTarget(request.target, &path, &query);
  RouteMatch match = deps_.router->Match(request.method, path);
  bool alerts = match.route != nullptr && match.route->kind == RouteKind::kAlertSocket;
  Reply done =
      Measured(alerts ? alert_socket_route_ : socket_route_, request.received, std::move(refused));
  if (match.route == nullptr || (match.route->kind != RouteKind::kRoomSocket && !alerts)) {
    done(ErrorResponse(grpc::StatusCode::NOT_FOUND, "path: no such route"));
    return;
  }
  const Route& route = *match.route;
  if (std::optional<HttpResponse> limited = LimitAddress(request)) {
    done(*std::move(limited));
    return;
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> params = ParseQuery(query);
  if (!params.ok()) {
    done(ErrorResponse(params.status()));
    return;
  }
  std::string token, device_id, invite_token, after_id;
  bool watch = false;
  for (const auto& [name, value] : *params) {
    if (name == "access_token") {
      token = value;
    } else if (name == "watch" && !alerts && (value == "1" || value == "true")) {
      watch = true;
    } else if (name == "device_id" && !alerts) {
      device_id = value;
    } else if (name == "invite_token" && !alerts) {
      invite_token = value;
    } else if (name == "after_id" && alerts) {
      after_id = value;
    } else {
      done(ErrorResponse(grpc::StatusCode::INVALID_ARGUMENT,
                         absl::StrCat(name, ": unknown parameter")));
      return;
    }
  }
  int64_t after = 0;
  if (!after_id.empty() && (!absl::SimpleAtoi(after_id, &after) || after <= 0)) {
    done(ErrorResponse(grpc::StatusCode::INVALID_ARGUMENT,
                       "after_id: must be the id of an alert (a positive integer)"));
    return;
  }
  absl::StatusOr<std::shared_ptr<const AuthContext>> auth = Authenticate(request, token);
  if (!auth.ok()) {
    done(ErrorResponse(auth.status()));
    return;
  }
  if (absl::Status allowed = CheckRole(route, **auth); !allowed.ok()) {
    done(ErrorResponse(allowed));
    return;
  }
  const SessionClaims& claims = (*auth)->claims;
  if (watch && claims.role != common::Role::kOps) {
    done(ErrorResponse(grpc::StatusCode::PERMISSION_DENIED,
                       "watch: only ops watch a room without joining it"));
    return;
  }
  std::string principal_key = PrincipalKey(claims);
  if (std::optional<HttpResponse> limited = LimitPrincipal(principal_key, request.received)) {
    done(*std::move(limited));
    return;
  }
  SocketKind kind = alerts ? SocketKind::kAlerts : SocketKind::kRoom;
  if (!deps_.slots->TryReserve(principal_key)) {
    deps_.metrics->SocketRefused(kind);
    done(ErrorResponse(grpc::StatusCode::RESOURCE_EXHAUSTED,
                       "socket: too many open WebSockets for this user", kReasonLimitReached));
    return;
  }
  if (!alerts) {
    JoinRoomSocket(match, **auth, std::move(principal_key), device_id, invite_token, watch,
                   request.received, std::move(granted), std::move(done));
    return;
  }
  // The service authorises the stream itself (an associate's own alerts) once the socket is open.
  SocketGrant grant;
  grant.kind = SocketKind::kAlerts;
  grant.alerts.brand_id = claims.brand_id;
  grant.alerts.associate_id = claims.subject;
  grant.alerts.principal = (*auth)->encoded_principal;
  grant.alerts.principal_key = std::move(principal_key);
  grant.alerts.token_id = claims.token_id;
  grant.alerts.expires_at = claims.expires_at;
  grant.alerts.after_id = after_id;
  deps_.metrics->RecordRequest(alert_socket_route_, 101, absl::Now() - request.received);
  granted(std::move(grant));
}

void Gateway::JoinRoomSocket(const RouteMatch& match, const AuthContext& auth,
                             std::string principal_key, const std::string& device_id,
                             const std::string& invite_token, bool watch, absl::Time received,
                             std::function<void(SocketGrant)> granted, Reply done) {
  const SessionClaims& claims = auth.claims;
  if (watch) {
    WatchRoomSocket(match, auth, std::move(principal_key), received, std::move(granted),
                    std::move(done));
    return;
  }
  const google::protobuf::MethodDescriptor* method = deps_.rpc->FindMethod(kJoinRoom);
  auto join = std::make_unique<v1::JoinRoomRequest>();
  join->set_room_id(match.params.empty() ? "" : match.params[0].second);
  join->set_device_id(device_id.empty() ? absl::StrCat("ws-", common::RandomToken(9)) : device_id);
  join->set_invite_token(invite_token);
  SocketInfo info;
  info.brand_id = claims.brand_id;
  info.room_id = join->room_id();
  info.viewer_id = claims.subject;
  info.device_id = join->device_id();
  info.principal = auth.encoded_principal;
  info.principal_key = std::move(principal_key);
  deps_.rpc->Call(
      *method, std::move(join), auth.encoded_principal, received + options_.request_timeout,
      [this, info = std::move(info), granted = std::move(granted), done = std::move(done),
       started = received](grpc::Status status,
                           std::unique_ptr<google::protobuf::Message> response) mutable {
        if (!status.ok()) {
          deps_.slots->Release(info.principal_key);
          done(RpcErrorResponse(status, kJoinRoom));
          return;
        }
        v1::JoinRoomResponse joined;
        joined.CopyFrom(*response);
        info.heartbeat_interval =
            absl::Seconds(std::max<int32_t>(1, joined.heartbeat_interval_seconds()));
        deps_.metrics->RecordRequest(socket_route_, 101, absl::Now() - started);
        SocketGrant grant;
        grant.kind = SocketKind::kRoom;
        grant.info = std::move(info);
        grant.joined_json = absl::StrCat("{\"type\":\"joined\",\"joined\":", ToJson(joined), "}");
        granted(std::move(grant));
      });
}

// Ops watching a room (a live dashboard): the room service says whether they may read it (a room
// of their brand), then the socket gets the room's messages without a join, so the watcher is
// not counted among the viewers.
void Gateway::WatchRoomSocket(const RouteMatch& match, const AuthContext& auth,
                              std::string principal_key, absl::Time received,
                              std::function<void(SocketGrant)> granted, Reply done) {
  const google::protobuf::MethodDescriptor* method = deps_.rpc->FindMethod(kGetRoom);
  auto get = std::make_unique<v1::GetRoomRequest>();
  get->set_room_id(match.params.empty() ? "" : match.params[0].second);
  SocketInfo info;
  info.brand_id = auth.claims.brand_id;
  info.room_id = get->room_id();
  info.viewer_id = auth.claims.subject;
  info.device_id = absl::StrCat("watch-", common::RandomToken(9));
  info.principal = auth.encoded_principal;
  info.principal_key = std::move(principal_key);
  info.watch_only = true;
  deps_.rpc->Call(
      *method, std::move(get), auth.encoded_principal, received + options_.request_timeout,
      [this, info = std::move(info), granted = std::move(granted), done = std::move(done),
       started = received](grpc::Status status,
                           std::unique_ptr<google::protobuf::Message> response) mutable {
        if (!status.ok()) {
          deps_.slots->Release(info.principal_key);
          done(RpcErrorResponse(status, kGetRoom));
          return;
        }
        deps_.metrics->RecordRequest(socket_route_, 101, absl::Now() - started);
        SocketGrant grant;
        grant.kind = SocketKind::kRoom;
        grant.info = std::move(info);
        grant.joined_json =
            absl::StrCat("{\"type\":\"watching\",\"watching\":", ToJson(*response), "}");
        granted(std::move(grant));
      });
}

}  // namespace livecommerce::gateway
