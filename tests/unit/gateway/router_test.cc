#include "gateway/http/router.h"

#include <gtest/gtest.h>

#include <set>

#include "gateway/http/status_map.h"
#include "gateway/routes.h"

namespace livecommerce::gateway {
namespace {

Route R(std::string method, std::string pattern, std::string name) {
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.name = std::move(name);
  return r;
}

TEST(RouterTest, MatchesLiteralsAndBindsParameters) {
  Router router({R("GET", "/v1/rooms", "list"), R("GET", "/v1/rooms/{room_id}", "get"),
                 R("POST", "/v1/rooms/{room_id}/products/reorder", "reorder"),
                 R("DELETE", "/v1/rooms/{room_id}/products/{product_id}", "detach")});
  RouteMatch m = router.Match("GET", "/v1/rooms/42");
  ASSERT_EQ(m.outcome, RouteMatch::Outcome::kFound);
  EXPECT_EQ(m.route->name, "get");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "room_id");
  EXPECT_EQ(m.params[0].second, "42");

  m = router.Match("POST", "/v1/rooms/7/products/reorder");
  ASSERT_EQ(m.outcome, RouteMatch::Outcome::kFound);
  EXPECT_EQ(m.route->name, "reorder");

  // The same path with DELETE is the parameter route.
  m = router.Match("DELETE", "/v1/rooms/7/products/reorder");
  ASSERT_EQ(m.outcome, RouteMatch::Outcome::kFound);
  EXPECT_EQ(m.route->name, "detach");
  EXPECT_EQ(m.params[1].second, "reorder");
}

TEST(RouterTest, TellsUnknownPathsFromWrongMethods) {
  Router router({R("GET", "/v1/rooms/{room_id}", "get")});
  EXPECT_EQ(router.Match("DELETE", "/v1/rooms/1").outcome, RouteMatch::Outcome::kMethodNotAllowed);
  EXPECT_EQ(router.Match("GET", "/v1/rooms").outcome, RouteMatch::Outcome::kNotFound);
  EXPECT_EQ(router.Match("GET", "/v1/rooms/1/x").outcome, RouteMatch::Outcome::kNotFound);
  EXPECT_EQ(router.Match("GET", "/v1/rooms//").outcome, RouteMatch::Outcome::kNotFound);
  EXPECT_EQ(router.Match("GET", "v1/rooms/1").outcome, RouteMatch::Outcome::kNotFound);
  EXPECT_EQ(router.Match("GET", "/v1/rooms/a b").outcome, RouteMatch::Outcome::kNotFound);
}

TEST(RouterTest, ApiRoutesAreUniqueAndReachable) {
  std::vector<Route> routes = ApiRoutes();
  Router router(routes);
  std::set<std::string> names;
  std::set<std::string> keys;
  for (const Route& route : routes) {
    EXPECT_TRUE(names.insert(route.name).second) << "duplicate name " << route.name;
    EXPECT_TRUE(keys.insert(route.method + " " + route.pattern).second)
        << "duplicate route " << route.pattern;
    // A concrete path of each route finds that very route, not an earlier one.
    std::string path = route.pattern;
    for (size_t open = path.find('{'); open != std::string::npos; open = path.find('{')) {
      path.replace(open, path.find('}', open) - open + 1, "x1");
    }
    RouteMatch m = router.Match(route.method, path);
    ASSERT_EQ(m.outcome, RouteMatch::Outcome::kFound) << path;
    EXPECT_EQ(m.route->name, route.name) << path;
    if (route.kind == RouteKind::kRpc) {
      EXPECT_FALSE(route.rpc.empty()) << route.name;
      EXPECT_TRUE(route.authenticated()) << route.name << " must need a token";
    }
  }
}

TEST(StatusMapTest, MapsEveryCodeToItsHttpStatus) {
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::OK), 200);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::INVALID_ARGUMENT), 400);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::UNAUTHENTICATED), 401);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::PERMISSION_DENIED), 403);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::NOT_FOUND), 404);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::ALREADY_EXISTS), 409);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::FAILED_PRECONDITION), 409);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::ABORTED), 409);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::RESOURCE_EXHAUSTED), 429);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::CANCELLED), 499);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::UNIMPLEMENTED), 501);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::UNAVAILABLE), 503);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::DEADLINE_EXCEEDED), 504);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::INTERNAL), 500);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::DATA_LOSS), 500);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::UNKNOWN), 500);
  EXPECT_EQ(HttpStatusOf(grpc::StatusCode::OUT_OF_RANGE), 400);
}

TEST(StatusMapTest, ErrorBodyNamesTheCodeAndEscapesTheMessage) {
  EXPECT_EQ(ErrorJson(grpc::StatusCode::NOT_FOUND, "room_id: no \"such\" room"),
            R"({"code":"NOT_FOUND","message":"room_id: no \"such\" room"})");
}

}  // namespace
}  // namespace livecommerce::gateway
