// The gRPC bootstrap: health checking, reflection and graceful shutdown, on a real server bound to
// a free port. Uses the generic stub so no generated health or reflection code is needed.
#include "services/common/grpc_server.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <thread>

#include "gtest/gtest.h"
#include "services/common/poller_keepalive.h"

namespace livecommerce::common {
namespace {

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string out;
  for (const grpc::Slice& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

grpc::ByteBuffer Buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// Calls grpc.health.v1.Health/Check for the whole server; returns the serving status (1 = SERVING).
int HealthStatus(grpc::GenericStub& stub, grpc::CompletionQueue& cq) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::ByteBuffer response;
  grpc::Status status;
  auto call = stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check", Buffer(""), &cq);
  call->StartCall();
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  EXPECT_TRUE(cq.Next(&tag, &ok));
  if (!status.ok()) return -static_cast<int>(status.error_code());
  std::string bytes = Flatten(response);  // field 1, varint: 0x08 <status>
  return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : -100;
}

TEST(GrpcServerTest, ServesHealthAndReflectionThenShutsDown) {
  auto server = GrpcServer::Start(ServerOptions{}, {});
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string((*server)->port()),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  EXPECT_EQ(HealthStatus(stub, cq), 1);

  // Reflection: list the services (ServerReflectionRequest.list_services = "", field 7).
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    auto call = stub.PrepareCall(
        &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
    void* tag = nullptr;
    bool ok = false;
    call->StartCall(reinterpret_cast<void*>(2));
    ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
    call->Write(Buffer(std::string("\x3a\x00", 2)), reinterpret_cast<void*>(3));
    ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
    grpc::ByteBuffer response;
    call->Read(&response, reinterpret_cast<void*>(4));
    ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
    EXPECT_NE(Flatten(response).find("grpc.health.v1.Health"), std::string::npos);
    call->WritesDone(reinterpret_cast<void*>(5));
    ASSERT_TRUE(cq.Next(&tag, &ok));
    grpc::Status status;
    call->Finish(&status, reinterpret_cast<void*>(6));
    ASSERT_TRUE(cq.Next(&tag, &ok));
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  (*server)->Shutdown();
  (*server)->Shutdown();  // idempotent
  int after = HealthStatus(stub, cq);
  EXPECT_NE(after, 1);  // no longer serving: the call fails
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }
}

// The keep-alive's health checks complete, one after another, until it is destroyed (which
// waits for the last one); the stall it prevents is checked across processes by
// tests/e2e/poller_stall_probe.py.
TEST(PollerKeepAliveTest, KeepsCompletingCallbacksUntilDestroyed) {
  auto keepalive = std::make_unique<PollerKeepAlive>(absl::Milliseconds(20));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (keepalive->completed() < 5 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(keepalive->completed(), 5);
  keepalive.reset();  // must not hang nor leave a callback behind
}

TEST(GrpcServerTest, BusyPortIsReported) {
  auto first = GrpcServer::Start(ServerOptions{}, {});
  ASSERT_TRUE(first.ok());
  ServerOptions options;
  options.address = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = GrpcServer::Start(options, {});
  EXPECT_FALSE(second.ok());
}

TEST(GrpcServerTest, ServerOptionsFromEnvironment) {
  setenv("LC_TESTSVC_ADDR", "127.0.0.1:7999", 1);
  setenv("LC_GRPC_MAX_THREADS", "2", 1);
  EXPECT_FALSE(LoadServerOptions("TESTSVC", 7000).ok());  // below the minimum of 4
  unsetenv("LC_GRPC_MAX_THREADS");
  auto options = LoadServerOptions("TESTSVC", 7000);
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->address, "127.0.0.1:7999");
  unsetenv("LC_TESTSVC_ADDR");
  EXPECT_EQ(LoadServerOptions("TESTSVC", 7000)->address, "127.0.0.1:7000");
}

}  // namespace
}  // namespace livecommerce::common
