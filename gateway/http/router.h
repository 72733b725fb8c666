#pragma once

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/common/principal.h"

namespace livecommerce::gateway {

// How the gateway answers a route.
enum class RouteKind {
  kRpc,             // JSON <-> one unary RPC of a service
  kLogin,           // POST /v1/login
  kPaymentNotify,   // raw body and headers to OrderService.HandlePaymentNotification
  kStreamCallback,  // the streaming server's callbacks, raw, to RoomService.HandleStreamCallback
  kRoomSocket,      // the room WebSocket
  kAlertSocket,     // an associate's alerts WebSocket
  kHealth,
  kReady,
  kMetrics,
  kOpenApi,
};

// One entry of the route table. Adding an RPC to the HTTP API is one entry.
struct Route {
  std::string method;               // GET, POST, PUT, PATCH, DELETE
  std::string pattern;              // "/v1/rooms/{room_id}/products": {name} binds a request field
  std::string name;                 // stable id: metrics label and OpenAPI operationId
  std::string rpc;                  // full method, "livecommerce.v1.RoomService.GetRoom" (kRpc)
  std::vector<common::Role> roles;  // who may call it; empty: no token needed
  std::string summary;
  RouteKind kind = RouteKind::kRpc;
  bool brand_from_token = false;  // fill the request's empty brand_id from the token
  bool cacheable = false;         // a read whose answer may be reused briefly, per principal
  std::string response_field;     // answer only this field of the response ("order.payment")
  bool authenticated() const { return !roles.empty(); }
  bool Allows(common::Role role) const;
};

// Every role but SERVICE (which only services use).
std::vector<common::Role> AnyUser();
std::vector<common::Role> Roles(std::initializer_list<common::Role> roles);

struct RouteMatch {
  enum class Outcome { kFound, kNotFound, kMethodNotAllowed };
  Outcome outcome = Outcome::kNotFound;
  const Route* route = nullptr;
  std::vector<std::pair<std::string, std::string>> params;  // {name} -> segment
};

// Matches a request path (no query) against the table. A literal segment never matches a {param}
// of another route first: routes are tried in table order, so list literal routes first.
class Router final {
 public:
  explicit Router(std::vector<Route> routes);
  RouteMatch Match(absl::string_view method, absl::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  struct Compiled {
    std::vector<std::string> segments;  // "{room_id}" kept as is
  };
  std::vector<Route> routes_;
  std::vector<Compiled> compiled_;
};

// Splits a request target "/a/b?x=1" into its path "/a/b" and query "x=1" (empty without '?').
void SplitTarget(absl::string_view target, std::string* path, std::string* query);

// Splits "/a/b/c" into {"a","b","c"}; false for an empty segment or one that is not printable.
bool SplitPath(absl::string_view path, std::vector<absl::string_view>* segments);

}  // namespace livecommerce::gateway
