// How the gateway answers a failed service call: a business limit and an overloaded service must
// not look alike. The overload is produced by a real gRPC server whose threads are exhausted.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gateway/server/gateway.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/common/admission.h"
#include "services/common/grpc_server.h"
#include "services/common/service_client.h"
#include "services/common/status.h"

namespace livecommerce::gateway {
namespace {

std::string Header(const HttpResponse& r) {
  return r.retry_after_seconds > 0 ? std::to_string(r.retry_after_seconds) : "";
}

// GetRoom blocks until released (holding a server thread); GetRoomStats answers a per-buyer-like
// limit of the service's own.
class SlowRooms final : public v1::RoomService::Service {
 public:
  grpc::Status GetRoom(grpc::ServerContext*, const v1::GetRoomRequest*,
                       v1::GetRoomResponse*) override {
    ++entered_;
    release_.WaitForNotificationWithTimeout(absl::Seconds(20));
    return grpc::Status::OK;
  }
  grpc::Status GetRoomStats(grpc::ServerContext*, const v1::GetRoomStatsRequest*,
                            v1::GetRoomStatsResponse*) override {
    return common::ToGrpcStatus(absl::ResourceExhaustedError("count: quota of 5 invites reached"));
  }
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }
  std::atomic<int> entered_{0};

 private:
  absl::Notification release_;
};

class RpcErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    common::ServerOptions options;
    options.address = "127.0.0.1:0";
    options.max_threads = 4;
    options.shutdown_grace = absl::Milliseconds(100);
    auto server = common::GrpcServer::Start(options, {&rooms_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::RoomService::NewStub(channel_);
  }
  void TearDown() override { rooms_.Release(); }

  SlowRooms rooms_;
  std::unique_ptr<common::GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RoomService::Stub> stub_;
};

TEST_F(RpcErrorTest, TheServicesOwnLimitIsTheUsersToActOn) {
  grpc::ClientContext context;
  v1::GetRoomStatsResponse response;
  grpc::Status status = stub_->GetRoomStats(&context, v1::GetRoomStatsRequest(), &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(common::IsServiceAnswer(status));
  HttpResponse r = RpcErrorResponse(status, "GetRoomStats");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(Header(r), "");  // waiting does not lift a quota
  EXPECT_NE(r.body.find("\"reason\":\"LIMIT_REACHED\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("count: quota of 5 invites reached"), std::string::npos) << r.body;
  // A service relaying it to its own caller keeps it a limit.
  EXPECT_EQ(common::FromGrpcStatus(status, "room service").code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(RpcErrorTest, AServerOutOfThreadsIsAnOverloadToRetry) {
  // Far more concurrent calls than the server has threads: gRPC itself refuses some.
  constexpr int kCalls = 32;
  std::vector<std::future<grpc::Status>> calls;
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(std::async(std::launch::async, [this] {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
      v1::GetRoomResponse response;
      return stub_->GetRoom(&context, v1::GetRoomRequest(), &response);
    }));
  }
  // Let every call reach the server before the blocked ones are let go.
  for (int i = 0; i < 200 && rooms_.entered_.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  rooms_.Release();
  int shed = 0;
  for (auto& call : calls) {
    grpc::Status status = call.get();
    if (status.ok()) continue;
    ASSERT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
    ++shed;
    EXPECT_FALSE(common::IsServiceAnswer(status));
    HttpResponse r = RpcErrorResponse(status, "GetRoom");
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(Header(r), "1");
    EXPECT_NE(r.body.find("\"reason\":\"OVERLOADED\""), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("Threadpool"), std::string::npos) << r.body;
    // A service calling the overloaded one passes it on as UNAVAILABLE, never as a limit.
    EXPECT_EQ(common::FromGrpcStatus(status, "room service").code(),
              absl::StatusCode::kUnavailable);
  }
  EXPECT_GT(shed, 0) << "the server never ran out of threads";
}

// A service's admission refusing the call: 503 OVERLOADED, Retry-After from its hint in whole
// seconds rounded up, never the service's own wording.
TEST(RpcErrorMapTest, AnAdmissionRefusalIsAnOverloadWithItsHint) {
  grpc::Status refused =
      common::ToGrpcStatus(common::Overloaded("flash stock", absl::Milliseconds(1500)));
  HttpResponse r = RpcErrorResponse(refused, "ReserveStock");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Header(r), "2");
  EXPECT_NE(r.body.find("\"reason\":\"OVERLOADED\""), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("flash stock"), std::string::npos) << r.body;
  r = RpcErrorResponse(common::ToGrpcStatus(common::Overloaded("x", absl::Milliseconds(200))), "X");
  EXPECT_EQ(Header(r), "1");
  // A business limit stays the user's 429 without Retry-After.
  r = RpcErrorResponse(
      common::ToGrpcStatus(absl::ResourceExhaustedError("quantity: the limit is 1")), "X");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(Header(r), "");
}

TEST(RpcErrorMapTest, UnavailableIsRetriedLater) {
  HttpResponse r =
      RpcErrorResponse(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connect failed"), "X");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Header(r), "1");
  EXPECT_NE(r.body.find("\"reason\":\"UNAVAILABLE\""), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("connect failed"), std::string::npos) << r.body;
  r = RpcErrorResponse(common::ToGrpcStatus(absl::FailedPreconditionError("sale_id: sold out")),
                       "X");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(Header(r), "");
}

}  // namespace
}  // namespace livecommerce::gateway
