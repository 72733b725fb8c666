// The gateway passes the request id it is dispatching to the services: RpcClient calls a real
// in-process CatalogService (behind the services' metrics interceptor) and the handler sees the
// id that was current on the calling thread.
#include "services/common/request_id.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>

#include "gateway/server/rpc_client.h"
#include "livecommerce/v1/catalog.grpc.pb.h"
#include "services/common/grpc_server.h"

namespace livecommerce::gateway {
namespace {

class RecordingCatalog final : public v1::CatalogService::Service {
 public:
  grpc::Status GetProduct(grpc::ServerContext*, const v1::GetProductRequest*,
                          v1::GetProductResponse*) override {
    std::lock_guard<std::mutex> lock(mu);
    seen = std::string(common::CurrentRequestId());
    return grpc::Status::OK;
  }
  std::mutex mu;
  std::string seen;
};

// Calls GetProduct through the client and waits for its answer.
grpc::Status CallGetProduct(RpcClient& rpc) {
  const google::protobuf::MethodDescriptor* method =
      rpc.FindMethod("livecommerce.v1.CatalogService.GetProduct");
  EXPECT_NE(method, nullptr);
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status result;
  rpc.Call(*method, rpc.NewRequest(*method), "", absl::Now() + absl::Seconds(5),
           [&](grpc::Status status, std::unique_ptr<google::protobuf::Message>) {
             std::lock_guard<std::mutex> lock(mu);
             result = std::move(status);
             done = true;
             cv.notify_one();
           });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  return result;
}

TEST(GatewayRequestIdTest, RpcCallsCarryTheDispatchingThreadsRequestId) {
  LinkServiceDescriptors();
  RecordingCatalog catalog;
  auto server = common::GrpcServer::Start(common::ServerOptions{}, {&catalog});
  ASSERT_TRUE(server.ok()) << server.status();
  RpcClient rpc(
      {{"livecommerce.v1.CatalogService", "127.0.0.1:" + std::to_string((*server)->port())}}, 1);
  {
    common::ScopedRequestId scoped("gw-0123456789abcdef");
    ASSERT_TRUE(CallGetProduct(rpc).ok());
  }
  {
    std::lock_guard<std::mutex> lock(catalog.mu);
    EXPECT_EQ(catalog.seen, "gw-0123456789abcdef");
  }
  // Outside a request (a hub's own calls) the service makes an id of its own.
  ASSERT_TRUE(CallGetProduct(rpc).ok());
  std::lock_guard<std::mutex> lock(catalog.mu);
  EXPECT_EQ(catalog.seen.size(), 16u);
  EXPECT_NE(catalog.seen, "gw-0123456789abcdef");
}

}  // namespace
}  // namespace livecommerce::gateway
