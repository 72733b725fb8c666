// The floor of the gRPC hot paths (issue 21): a callback server implementing RoomService.Heartbeat
// and FlashSaleService.ReserveStock that answers every call at once with a response of the same
// shape as the real service's (the same fields, fixed values), touching neither Redis nor MySQL.
// What a load generator measures against it is the cost of gRPC alone on this machine: the same
// generator, connections and message sizes as against the real services, nothing behind them.
// It has none of the services' interceptors (metrics, access log): those are part of what a
// service adds above the floor. Prints `port=N` on stdout once it listens; runs until killed.
#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "livecommerce/v1/flash.grpc.pb.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/common/proto_util.h"

namespace {

namespace v1 = livecommerce::v1;

class NoopRoom final : public v1::RoomService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* context,
                                      const v1::HeartbeatRequest* /*request*/,
                                      v1::HeartbeatResponse* response) override {
    // The real answer carries the interval the viewer should keep (30 s in the benchmarks).
    response->set_heartbeat_interval_seconds(30);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

class NoopFlash final : public v1::FlashSaleService::CallbackService {
 public:
  grpc::ServerUnaryReactor* ReserveStock(grpc::CallbackServerContext* context,
                                         const v1::ReserveStockRequest* request,
                                         v1::ReserveStockResponse* response) override {
    // A winner's answer, the largest a reserve sends: every field the real one fills. The ids
    // echo the request (as the real service's do), so the bytes on the wire match too.
    v1::Reservation* r = response->mutable_reservation();
    r->set_reservation_id(request->reservation_id());
    r->set_sale_id(request->sale_id());
    r->set_sku_id("100001");
    r->set_buyer_id(request->buyer_id());
    r->set_quantity(request->quantity());
    r->set_status(v1::RESERVATION_STATUS_RESERVED);
    livecommerce::common::ToTimestamp(absl::Now() + absl::Seconds(request->ttl_seconds()),
                                      r->mutable_expires_at());
    r->mutable_unit_price()->set_amount_fen(1990000);
    r->mutable_unit_price()->set_currency("CNY");
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i];
    if (key == "--port" && absl::SimpleAtoi(argv[i + 1], &port)) continue;
    std::fprintf(stderr, "usage: noop_server [--port N]\n");
    return 2;
  }
  // As the services do (services/common/grpc_server.cc): Debian's abseil would otherwise check
  // every mutex for lock-order cycles on each call, a cost the services do not pay.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  NoopRoom room;
  NoopFlash flash;
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials(),
                           &bound);
  // The services' defaults, so that only the work behind the RPC differs.
  grpc::ResourceQuota quota("lc-noop");
  quota.SetMaxThreads(256);
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(&room);
  builder.RegisterService(&flash);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound == 0) {
    std::fprintf(stderr, "cannot listen on port %d\n", port);
    return 1;
  }
  std::printf("port=%d\n", bound);
  std::fflush(stdout);
  server->Wait();
  return 0;
}
