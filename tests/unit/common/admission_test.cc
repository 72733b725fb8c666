// Refusing load instead of queueing it (services/common/admission.h): the admission queue's
// bounds and deadline drops, the overload refusal and its retry hint from absl to gRPC and back,
// the hint in the trailing metadata of a real server's answer, and a call's deadline carried to
// the calls its handler makes.
#include "services/common/admission.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/grpc_server.h"
#include "services/common/handler.h"
#include "services/common/in_flight_limit.h"
#include "services/common/principal.h"
#include "services/common/retry_hint.h"
#include "services/common/service_client.h"
#include "services/common/status.h"

namespace livecommerce::common {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1800000000);

AdmissionOptions Small() {
  AdmissionOptions o;
  o.max_queued = 3;
  o.max_queue_delay = absl::Milliseconds(10);
  o.retry_after = absl::Milliseconds(250);
  return o;
}

TEST(AdmissionQueueTest, RefusesPastItsLengthAndLeavesTheItemWithTheCaller) {
  AdmissionQueue<std::string> q(Small(), "the test queue");
  for (int i = 0; i < 3; ++i) {
    std::string item = "item-" + std::to_string(i);
    ASSERT_TRUE(q.Push(item, absl::InfiniteFuture(), kT0).ok());
  }
  std::string fourth = "item-3";
  absl::Status refused = q.Push(fourth, absl::InfiniteFuture(), kT0);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(OverloadRetryAfter(refused), absl::Milliseconds(250));
  EXPECT_NE(refused.message().find("the test queue is at capacity"), std::string::npos);
  EXPECT_EQ(fourth, "item-3");  // not moved from: the caller answers it
  EXPECT_EQ(q.size(), 3u);
}

TEST(AdmissionQueueTest, RefusesWhileItsOldestItemHasWaitedTooLong) {
  AdmissionQueue<int> q(Small(), "q");
  int a = 1;
  ASSERT_TRUE(q.Push(a, absl::InfiniteFuture(), kT0).ok());
  int b = 2;
  // 10 ms is still within the bound; past it a newcomer would wait at least as long.
  EXPECT_TRUE(q.Push(b, absl::InfiniteFuture(), kT0 + absl::Milliseconds(10)).ok());
  int c = 3;
  EXPECT_FALSE(q.Push(c, absl::InfiniteFuture(), kT0 + absl::Milliseconds(11)).ok());
  // Once the old ones are taken, the queue admits again.
  std::vector<int> expired;
  EXPECT_EQ(q.Take(10, kT0 + absl::Milliseconds(11), &expired), (std::vector<int>{1, 2}));
  EXPECT_TRUE(q.Push(c, absl::InfiniteFuture(), kT0 + absl::Milliseconds(12)).ok());
}

TEST(AdmissionQueueTest, TakesInOrderAndSetsAsideWhatIsPastItsDeadline) {
  AdmissionOptions big;
  big.max_queued = 100;
  big.max_queue_delay = absl::Seconds(10);
  AdmissionQueue<int> q(big, "q");
  for (int i = 0; i < 6; ++i) {
    // Odd items' callers give up at kT0 + 5 ms.
    absl::Time deadline = i % 2 == 1 ? kT0 + absl::Milliseconds(5) : absl::InfiniteFuture();
    ASSERT_TRUE(q.Push(i, deadline, kT0).ok());
  }
  std::vector<int> expired;
  // Expired items on the way do not count against the batch's size; it stops at the batch's end.
  EXPECT_EQ(q.Take(2, kT0 + absl::Milliseconds(6), &expired), (std::vector<int>{0, 2}));
  EXPECT_EQ(expired, (std::vector<int>{1}));
  expired.clear();
  // Before the deadline nothing is set aside.
  int six = 6;
  EXPECT_TRUE(q.Push(six, kT0 + absl::Seconds(1), kT0).ok());
  EXPECT_EQ(q.Take(10, kT0 + absl::Milliseconds(7), &expired), (std::vector<int>{4, 6}));
  EXPECT_EQ(expired, (std::vector<int>{3, 5}));
  EXPECT_TRUE(q.empty());
}

TEST(OverloadTest, TravelsOverGrpcWithoutTheServiceMarkAndWithItsHint) {
  absl::Status overload = Overloaded("flash stock", absl::Milliseconds(1500));
  grpc::Status wire = ToGrpcStatus(overload);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Not the service's answer to the request (a business limit) but a refusal to take it.
  EXPECT_FALSE(IsServiceAnswer(wire));
  EXPECT_EQ(OverloadRetryAfter(wire), absl::Milliseconds(1500));
  // A caller that receives it is overloaded in turn, with the same hint.
  absl::Status passed_on = FromGrpcStatus(wire, "catalog");
  EXPECT_EQ(OverloadRetryAfter(passed_on), absl::Milliseconds(1500));

  // A business limit stays the service's answer, without a hint.
  grpc::Status limit = ToGrpcStatus(absl::ResourceExhaustedError("quantity: the limit is 1"));
  EXPECT_TRUE(IsServiceAnswer(limit));
  EXPECT_EQ(OverloadRetryAfter(limit), std::nullopt);
  EXPECT_EQ(FromGrpcStatus(limit, "catalog").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(OverloadRetryAfter(FromGrpcStatus(limit, "catalog")), std::nullopt);
  // gRPC's own shedding (no details at all) reads as the peer being unavailable.
  grpc::Status threads(grpc::StatusCode::RESOURCE_EXHAUSTED, "Server Threadpool Exhausted");
  EXPECT_EQ(OverloadRetryAfter(threads), std::nullopt);
  EXPECT_EQ(FromGrpcStatus(threads, "order").code(), absl::StatusCode::kUnavailable);
  // Details that only look like the mark are not taken for it.
  EXPECT_EQ(OverloadRetryAfter(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "x",
                                            "livecommerce-overload;retry_ms=soon")),
            std::nullopt);
}

TEST(InFlightLimitTest, AdmitsUpToItsLimitAndFreesASlotWhenACallEnds) {
  InFlightLimit limit(2);
  {
    InFlightLimit::Slot a(limit);
    InFlightLimit::Slot b(limit);
    EXPECT_TRUE(a.admitted());
    EXPECT_TRUE(b.admitted());
    InFlightLimit::Slot c(limit);
    EXPECT_FALSE(c.admitted());
    // A refused call holds nothing.
    EXPECT_EQ(limit.in_flight(), 2);
  }
  EXPECT_EQ(limit.in_flight(), 0);
  InFlightLimit::Slot d(limit);
  EXPECT_TRUE(d.admitted());
}

TEST(InFlightLimitTest, ManyThreadsNeverHoldMoreThanTheLimit) {
  InFlightLimit limit(3);
  std::atomic<int> held{0};
  std::atomic<int> most{0};
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        InFlightLimit::Slot slot(limit);
        if (!slot.admitted()) continue;
        ++admitted;
        int now = ++held;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        --held;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(most.load(), 3);
  EXPECT_GT(admitted.load(), 0);
  EXPECT_EQ(limit.in_flight(), 0);
}

TEST(OverloadTest, TheHintSentIsTheRefusalsOwnOrOneSecondForGrpcsShedding) {
  EXPECT_EQ(
      RetryHintToSend(ToGrpcStatus(Overloaded("redis", absl::Milliseconds(250))), absl::Seconds(1)),
      absl::Milliseconds(250));
  EXPECT_EQ(RetryHintToSend(
                grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "Server Threadpool Exhausted"),
                absl::Seconds(1)),
            absl::Seconds(1));
  // A business limit, and anything but RESOURCE_EXHAUSTED, carry no hint.
  EXPECT_EQ(RetryHintToSend(ToGrpcStatus(absl::ResourceExhaustedError("quantity: the limit is 1")),
                            absl::Seconds(1)),
            std::nullopt);
  EXPECT_EQ(RetryHintToSend(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"), absl::Seconds(1)),
            std::nullopt);
  EXPECT_EQ(RetryHintToSend(grpc::Status::OK, absl::Seconds(1)), std::nullopt);
}

TEST(OverloadTest, OptionsComeFromTheEnvironmentAndBadValuesNameTheirVariable) {
  ::unsetenv("LC_QUEUE_MAX_DELAY_MS");
  ::unsetenv("LC_QUEUE_MAX_ITEMS");
  ::unsetenv("LC_RETRY_AFTER_MS");
  absl::StatusOr<AdmissionOptions> defaults = LoadAdmissionOptions(absl::Milliseconds(30));
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->max_queue_delay, absl::Milliseconds(30));
  EXPECT_EQ(defaults->max_queued, 10000u);
  EXPECT_EQ(defaults->retry_after, absl::Milliseconds(200));
  ::setenv("LC_QUEUE_MAX_DELAY_MS", "5", 1);
  ::setenv("LC_QUEUE_MAX_ITEMS", "64", 1);
  ::setenv("LC_RETRY_AFTER_MS", "1000", 1);
  absl::StatusOr<AdmissionOptions> set = LoadAdmissionOptions(absl::Milliseconds(30));
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->max_queue_delay, absl::Milliseconds(5));
  EXPECT_EQ(set->max_queued, 64u);
  EXPECT_EQ(set->retry_after, absl::Seconds(1));
  ::setenv("LC_QUEUE_MAX_ITEMS", "0", 1);
  absl::StatusOr<AdmissionOptions> bad = LoadAdmissionOptions(absl::Milliseconds(30));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("LC_QUEUE_MAX_ITEMS"), std::string::npos);
  ::unsetenv("LC_QUEUE_MAX_DELAY_MS");
  ::unsetenv("LC_QUEUE_MAX_ITEMS");
  ::unsetenv("LC_RETRY_AFTER_MS");
}

// A service whose GetRoom refuses as overloaded, and whose GetRoomStats reports the deadline its
// body sees and the one it would give a call to another service.
class Refusing final : public v1::RoomService::Service {
 public:
  Refusing() : codec_("admission-test-secret-0123456789"), frame_(codec_, clock_) {}
  const PrincipalCodec& codec() const { return codec_; }

  grpc::Status GetRoom(grpc::ServerContext* context, const v1::GetRoomRequest*,
                       v1::GetRoomResponse*) override {
    return frame_.Run(*context, kAnyRole, [&](const Principal&) -> absl::Status {
      return Overloaded("rooms", absl::Milliseconds(300));
    });
  }
  grpc::Status GetRoomStats(grpc::ServerContext* context, const v1::GetRoomStatsRequest*,
                            v1::GetRoomStatsResponse*) override {
    return frame_.Run(*context, kAnyRole, [&](const Principal&) -> absl::Status {
      seen_deadline_ = CurrentDeadline();
      auto next = ServiceCallContext(codec_, "maison", "room", absl::Seconds(30));
      next_deadline_ = absl::FromChrono(next->deadline());
      return absl::OkStatus();
    });
  }

  absl::Time seen_deadline_;
  absl::Time next_deadline_;

 private:
  SystemClock clock_;
  PrincipalCodec codec_;
  HandlerFrame frame_;
};

TEST(OverloadTest, ARealServerSendsTheHintInTrailingMetadataAndHandlersCarryTheDeadline) {
  Refusing service;
  auto server = GrpcServer::Start(ServerOptions{}, {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::RoomService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string((*server)->port()), grpc::InsecureChannelCredentials()));
  Principal ops{Role::kOps, "maison", "ops-1", absl::Now() + absl::Hours(1)};

  grpc::ClientContext refused_call;
  AttachPrincipal(refused_call, service.codec().Encode(ops));
  v1::GetRoomRequest request;
  v1::GetRoomResponse response;
  grpc::Status refused = stub->GetRoom(&refused_call, request, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(OverloadRetryAfter(refused), absl::Milliseconds(300));
  auto trailing = refused_call.GetServerTrailingMetadata();
  auto hint = trailing.find(kRetryPushbackMetadata);
  ASSERT_NE(hint, trailing.end());
  EXPECT_EQ(std::string(hint->second.data(), hint->second.size()), "300");

  // The handler's body runs under its caller's deadline, and gives the next hop no longer.
  grpc::ClientContext timed_call;
  AttachPrincipal(timed_call, service.codec().Encode(ops));
  absl::Time deadline = absl::Now() + absl::Seconds(2);
  timed_call.set_deadline(absl::ToChronoTime(deadline));
  v1::GetRoomStatsRequest stats_request;
  v1::GetRoomStatsResponse stats;
  ASSERT_TRUE(stub->GetRoomStats(&timed_call, stats_request, &stats).ok());
  EXPECT_LT(absl::AbsDuration(service.seen_deadline_ - deadline), absl::Milliseconds(50));
  EXPECT_LE(service.next_deadline_, service.seen_deadline_);
  // Outside a handler (and after it) there is none.
  EXPECT_EQ(CurrentDeadline(), absl::InfiniteFuture());

  // A call without a deadline leaves the next hop its own timeout.
  grpc::ClientContext open_call;
  AttachPrincipal(open_call, service.codec().Encode(ops));
  ASSERT_TRUE(stub->GetRoomStats(&open_call, stats_request, &stats).ok());
  EXPECT_EQ(service.seen_deadline_, absl::InfiniteFuture());
  EXPECT_GT(service.next_deadline_, absl::Now() + absl::Seconds(25));
  (*server)->Shutdown();
}

}  // namespace
}  // namespace livecommerce::common
