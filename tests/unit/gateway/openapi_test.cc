#include "gateway/http/openapi.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gateway/routes.h"
#include "gateway/server/rpc_client.h"

namespace livecommerce::gateway {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(OpenApiTest, DescribesExactlyTheRouteTable) {
  LinkServiceDescriptors();
  std::vector<Route> routes = ApiRoutes();
  nlohmann::json doc = nlohmann::json::parse(BuildOpenApi(routes));
  size_t operations = 0;
  for (const auto& [path, methods] : doc["paths"].items()) operations += methods.size();
  EXPECT_EQ(operations, routes.size());
  for (const Route& route : routes) {
    ASSERT_TRUE(doc["paths"].contains(route.pattern)) << route.pattern;
    const nlohmann::json& op = doc["paths"][route.pattern][Lower(route.method)];
    ASSERT_TRUE(op.is_object()) << route.method << " " << route.pattern;
    EXPECT_EQ(op["operationId"], route.name);
    EXPECT_EQ(op.contains("security"), route.authenticated()) << route.name;
    if (route.kind == RouteKind::kRpc) {
      // Every RPC named in the table exists in the protos.
      EXPECT_EQ(op["x-rpc"], route.rpc);
      EXPECT_TRUE(op["responses"].contains("200")) << route.name;
    }
  }
  // Schemas are resolvable.
  EXPECT_TRUE(doc["components"]["schemas"].contains("livecommerce.v1.Room"));
  EXPECT_TRUE(doc["components"]["schemas"].contains("livecommerce.gateway.ErrorBody"));
}

TEST(OpenApiTest, DocsListEveryRoute) {
  std::ifstream in(std::string(LC_SOURCE_DIR) + "/docs/API.md");
  ASSERT_TRUE(in) << "docs/API.md missing";
  std::stringstream text;
  text << in.rdbuf();
  for (const Route& route : ApiRoutes()) {
    std::string entry = "`" + route.method + " " + route.pattern + "`";
    EXPECT_NE(text.str().find(entry), std::string::npos) << "docs/API.md does not list " << entry;
  }
}

}  // namespace
}  // namespace livecommerce::gateway
