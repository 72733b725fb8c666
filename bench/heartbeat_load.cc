// Load generator for the `heartbeat` scenario: one public room, N viewers who join and then send
// heartbeats through gRPC at a fixed aggregate rate (open loop: latency is measured from when each
// heartbeat was due, so a slow server cannot hide its queueing). Prints one line of key=value
// figures on stdout; bench/run turns it into the RESULT line.
//
// With --steps it runs the steps bench/run asks for on standard input ("RATE SECONDS" a line,
// bench/step.h), one line of figures each, and makes its end check when the input ends. With
// --floor it drives the no-op server (bench/noop_server.cc) instead: the same calls on the same
// connections, without the room's setup, joins or end check.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "bench/step.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"

namespace {

using livecommerce::common::AttachPrincipal;
using livecommerce::common::Principal;
using livecommerce::common::PrincipalCodec;
using livecommerce::common::Role;
namespace v1 = livecommerce::v1;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string target = "127.0.0.1:7101";
  std::string secret = "livecommerce-local-internal-secret";
  std::string brand = "bench";
  int viewers = 300000;
  int rate = 10000;
  int duration_s = 60;
  int channels = 4;
  int join_window = 128;
  int deadline_ms = 10000;
  bool steps = false;  // read steps from standard input
  bool floor = false;  // the target is the no-op floor server
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    std::string key = argv[i];
    if (key == "--steps" || key == "--floor") {
      (key == "--steps" ? o.steps : o.floor) = true;
      --i;  // a flag: no value follows
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", key.c_str());
      std::exit(2);
    }
    std::string value = argv[i + 1];
    auto as_int = [&](int* out) {
      if (!absl::SimpleAtoi(value, out)) {
        std::fprintf(stderr, "%s needs a number\n", key.c_str());
        std::exit(2);
      }
    };
    if (key == "--target")
      o.target = value;
    else if (key == "--secret")
      o.secret = value;
    else if (key == "--brand")
      o.brand = value;
    else if (key == "--viewers")
      as_int(&o.viewers);
    else if (key == "--rate")
      as_int(&o.rate);
    else if (key == "--duration")
      as_int(&o.duration_s);
    else if (key == "--channels")
      as_int(&o.channels);
    else if (key == "--join-window")
      as_int(&o.join_window);
    else if (key == "--deadline-ms")
      as_int(&o.deadline_ms);
    else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      std::exit(2);
    }
  }
  return o;
}

struct Call {
  grpc::ClientContext context;
  grpc::Status status;
  v1::HeartbeatResponse heartbeat;
  v1::JoinRoomResponse join;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::HeartbeatResponse>> heartbeat_reader;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::JoinRoomResponse>> join_reader;
  Clock::time_point due;
};

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  PrincipalCodec codec(o.secret);
  absl::Time expiry = absl::Now() + absl::Hours(6);
  Principal ops{Role::kOps, o.brand, "bench-ops", expiry};

  std::vector<std::unique_ptr<v1::RoomService::Stub>> stubs;
  for (int i = 0; i < o.channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("lc.bench.channel", i);  // distinct arguments: a connection of its own
    stubs.push_back(v1::RoomService::NewStub(
        grpc::CreateCustomChannel(o.target, grpc::InsecureChannelCredentials(), args)));
  }
  auto ops_context = [&] {
    auto c = std::make_unique<grpc::ClientContext>();
    AttachPrincipal(*c, codec.Encode(ops));
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return c;
  };

  std::vector<std::string> tokens;
  tokens.reserve(static_cast<size_t>(o.viewers));
  for (int i = 0; i < o.viewers; ++i) {
    tokens.push_back(
        codec.Encode(Principal{Role::kViewer, o.brand, absl::StrCat("viewer-", i), expiry}));
  }

  // The room, and every viewer joins (closed loop, join_window calls in flight). The floor has
  // no room: the same heartbeats name one it does not look at.
  std::string room_id = "100001";
  double join_seconds = 0;
  int join_errors = 0;
  if (!o.floor) {
    v1::CreateRoomRequest create;
    create.set_brand_id(o.brand);
    create.set_title("Heartbeat benchmark");
    livecommerce::common::ToTimestamp(absl::Now(), create.mutable_scheduled_start());
    create.set_visibility(v1::VISIBILITY_PUBLIC);
    create.add_audiences(v1::AUDIENCE_FOLLOWERS);
    create.set_objective(v1::OBJECTIVE_AWARENESS);
    create.set_format(v1::FORMAT_INSPIRATIONAL);
    v1::CreateRoomResponse created;
    grpc::Status s = stubs[0]->CreateRoom(ops_context().get(), create, &created);
    if (!s.ok()) {
      std::fprintf(stderr, "CreateRoom: %s\n", s.error_message().c_str());
      return 1;
    }
    room_id = created.room().id();
    v1::GoLiveRequest live;
    live.set_room_id(room_id);
    v1::GoLiveResponse live_response;
    s = stubs[0]->GoLive(ops_context().get(), live, &live_response);
    if (!s.ok()) {
      std::fprintf(stderr, "GoLive: %s\n", s.error_message().c_str());
      return 1;
    }

    grpc::CompletionQueue join_cq;
    auto join_started = Clock::now();
    int next = 0;
    int in_flight = 0;
    auto start_join = [&](int i) {
      auto* call = new Call;
      AttachPrincipal(call->context, tokens[static_cast<size_t>(i)]);
      call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      v1::JoinRoomRequest request;
      request.set_room_id(room_id);
      request.set_device_id("phone");
      call->join_reader = stubs[static_cast<size_t>(i % o.channels)]->PrepareAsyncJoinRoom(
          &call->context, request, &join_cq);
      call->join_reader->StartCall();
      call->join_reader->Finish(&call->join, &call->status, call);
    };
    while (next < o.viewers && in_flight < o.join_window) {
      start_join(next++);
      ++in_flight;
    }
    while (in_flight > 0) {
      void* tag = nullptr;
      bool ok = false;
      if (!join_cq.Next(&tag, &ok)) break;
      auto* call = static_cast<Call*>(tag);
      if (!call->status.ok()) {
        if (join_errors++ < 5)
          std::fprintf(stderr, "join: %s\n", call->status.error_message().c_str());
      }
      delete call;
      --in_flight;
      if (next < o.viewers) {
        start_join(next++);
        ++in_flight;
      }
    }
    join_seconds = std::chrono::duration<double>(Clock::now() - join_started).count();
  }

  // One step: heartbeats at a fixed rate, viewers in the order they joined, carried on from
  // where the previous step stopped.
  int64_t next_viewer = 0;
  int64_t not_present_total = 0;
  int64_t errors_total = 0;
  auto run_step = [&](int rate, int duration_s, livecommerce::bench::StepTally& tally,
                      int64_t& not_present) -> double {
    const int64_t total = static_cast<int64_t>(rate) * duration_s;
    tally.all.reserve(static_cast<size_t>(total));
    tally.accepted.reserve(static_cast<size_t>(total));
    grpc::CompletionQueue cq;
    std::thread poller([&] {
      int64_t completed = 0;
      void* tag = nullptr;
      bool ok = false;
      while (completed < total && cq.Next(&tag, &ok)) {
        auto* call = static_cast<Call*>(tag);
        auto micros =
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - call->due);
        bool refused = livecommerce::bench::IsOverloadRefusal(call->status);
        bool answered =
            call->status.ok() || call->status.error_code() == grpc::StatusCode::FAILED_PRECONDITION;
        tally.Add(static_cast<uint32_t>(std::min<int64_t>(micros.count(), UINT32_MAX)), answered);
        if (refused) {
          ++tally.refused;
          if (!livecommerce::bench::HasRetryHint(call->context)) ++tally.refused_without_hint;
        } else if (call->status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
          ++not_present;  // the viewer's presence lapsed: an answer (rejoin), not an error
        } else if (!call->status.ok() && tally.errors++ < 5) {
          std::fprintf(stderr, "heartbeat: %d %s\n", static_cast<int>(call->status.error_code()),
                       call->status.error_message().c_str());
        }
        delete call;
        ++completed;
      }
    });
    auto started = Clock::now();
    const auto interval = std::chrono::nanoseconds(1000000000LL / rate);
    for (int64_t k = 0; k < total; ++k) {
      auto due = started + interval * k;
      if (due > Clock::now()) std::this_thread::sleep_until(due);
      auto* call = new Call;
      call->due = due;
      int viewer = static_cast<int>(next_viewer++ % o.viewers);
      AttachPrincipal(call->context, tokens[static_cast<size_t>(viewer)]);
      call->context.set_deadline(std::chrono::system_clock::now() +
                                 std::chrono::milliseconds(o.deadline_ms));
      v1::HeartbeatRequest request;
      request.set_room_id(room_id);
      request.set_device_id("phone");
      call->heartbeat_reader = stubs[static_cast<size_t>(k % o.channels)]->PrepareAsyncHeartbeat(
          &call->context, request, &cq);
      call->heartbeat_reader->StartCall();
      call->heartbeat_reader->Finish(&call->heartbeat, &call->status, call);
    }
    poller.join();
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    cq.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq.Next(&tag, &ok)) delete static_cast<Call*>(tag);
    not_present_total += not_present;
    errors_total += tally.errors;
    return seconds;
  };

  // Correctness: every viewer heartbeated within the window must still be present. (Steps whose
  // rate cycles through the viewers more slowly than the presence window lose some by design.)
  auto concurrent_viewers = [&](v1::GetRoomStatsResponse* stats) {
    v1::GetRoomStatsRequest stats_request;
    stats_request.set_room_id(room_id);
    grpc::Status s = stubs[0]->GetRoomStats(ops_context().get(), stats_request, stats);
    if (!s.ok()) {
      std::fprintf(stderr, "GetRoomStats: %s\n", s.error_message().c_str());
      std::exit(1);
    }
  };

  if (o.steps) {
    int rate = 0;
    int duration_s = 0;
    while (livecommerce::bench::NextStep(&rate, &duration_s)) {
      livecommerce::bench::StepTally tally;
      int64_t not_present = 0;
      double seconds = run_step(rate, duration_s, tally, not_present);
      livecommerce::bench::PrintStep(rate, seconds, tally,
                                     absl::StrCat(" not_present=", not_present));
    }
    v1::GetRoomStatsResponse stats;
    if (!o.floor) concurrent_viewers(&stats);
    int64_t concurrent = o.floor ? o.viewers : stats.stats().concurrent_viewers();
    std::printf(
        "final viewers=%d concurrent=%lld lost=%lld errors=%lld not_present=%lld "
        "join_rate=%.0f join_errors=%d\n",
        o.viewers, static_cast<long long>(concurrent),
        static_cast<long long>(o.viewers - concurrent), static_cast<long long>(errors_total),
        static_cast<long long>(not_present_total), join_seconds > 0 ? o.viewers / join_seconds : 0,
        join_errors);
    return errors_total == 0 && join_errors == 0 ? 0 : 1;
  }

  livecommerce::bench::StepTally tally;
  int64_t not_present = 0;
  double seconds = run_step(o.rate, o.duration_s, tally, not_present);
  v1::GetRoomStatsResponse stats;
  if (!o.floor) concurrent_viewers(&stats);
  int64_t concurrent = o.floor ? o.viewers : stats.stats().concurrent_viewers();
  double p50 = livecommerce::bench::PercentileMs(tally.all, 0.50);
  double p99 = livecommerce::bench::PercentileMs(tally.all, 0.99);
  std::printf(
      "rate=%.0f p50_ms=%.2f p99_ms=%.2f duration_s=%.1f heartbeats=%zu viewers=%d "
      "concurrent=%lld lost=%lld errors=%lld refused=%lld not_present=%lld reach=%lld joins=%lld "
      "join_rate=%.0f join_errors=%d\n",
      static_cast<double>(tally.all.size()) / seconds, p50, p99, seconds, tally.all.size(),
      o.viewers, static_cast<long long>(concurrent), static_cast<long long>(o.viewers - concurrent),
      static_cast<long long>(tally.errors), static_cast<long long>(tally.refused),
      static_cast<long long>(not_present), static_cast<long long>(stats.stats().reach()),
      static_cast<long long>(stats.stats().total_joins()),
      join_seconds > 0 ? o.viewers / join_seconds : 0, join_errors);
  return tally.errors == 0 && tally.refused == 0 && join_errors == 0 ? 0 : 1;
}
