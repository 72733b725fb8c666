// The room service end to end over gRPC (in-process server on a free port) against the real Redis
// and MariaDB that scripts/test starts.
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/grpc_server.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"
#include "services/room/api/room_service.h"
#include "services/room/jobs/peak_sampler.h"
#include "services/room/store/mysql_room_store.h"
#include "services/room/store/redis_presence_store.h"
#include "tests/support/fake_catalog_directory.h"
#include "tests/support/test_env.h"

namespace livecommerce::room {
namespace {

using common::Principal;
using common::Role;

const absl::Time kT0 = absl::FromUnixSeconds(1800000000);
constexpr char kBrand[] = "maison";

class RoomServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = testing::ConnectTestRedis();
    mysql_ = testing::ConnectTestMysql({"room_invites", "room_sessions", "rooms"});
    ASSERT_NE(redis_, nullptr);
    ASSERT_NE(mysql_, nullptr);
    StartService();
  }
  void TearDown() override { StopService(); }

  void StartService() {
    rooms_ = std::make_unique<MysqlRoomStore>(*mysql_);
    presence_ = std::make_unique<RedisPresenceStore>(*redis_, options_.presence_window);
    ASSERT_TRUE(presence_->LoadScripts().ok());
    service_ =
        std::make_unique<RoomServiceImpl>(*rooms_, *presence_, catalog_, clock_, codec_, options_);
    auto server = common::GrpcServer::Start(common::ServerOptions{}, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                       grpc::InsecureChannelCredentials());
    stub_ = v1::RoomService::NewStub(channel);
  }

  // Stops the server and drops the service, the stores and the connection pools: a restart.
  void StopService() {
    stub_.reset();
    if (server_) server_->Shutdown();
    server_.reset();
    service_.reset();
    presence_.reset();
    rooms_.reset();
  }

  void RestartWithFreshPools() {
    StopService();
    redis_ = *common::RedisPool::Create(testing::TestRedisConfig());
    mysql_ = *common::MysqlPool::Create(testing::TestMysqlConfig());
    StartService();
  }

  std::unique_ptr<grpc::ClientContext> As(const Principal& p) {
    auto context = std::make_unique<grpc::ClientContext>();
    common::AttachPrincipal(*context, codec_.Encode(p));
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }
  Principal Ops(const std::string& brand = kBrand) {
    return {Role::kOps, brand, "ops-1", kT0 + absl::Hours(24)};
  }
  Principal Viewer(const std::string& id, const std::string& brand = kBrand) {
    return {Role::kViewer, brand, id, kT0 + absl::Hours(24)};
  }
  Principal Service() { return {Role::kService, kBrand, "gateway", kT0 + absl::Hours(24)}; }

  v1::CreateRoomRequest RoomRequest(v1::Visibility visibility) {
    v1::CreateRoomRequest request;
    request.set_brand_id(kBrand);
    request.set_title("Spring preview");
    request.set_description("Private preview of the spring collection");
    request.set_cover_image_url("https://cdn.example.com/spring.jpg");
    common::ToTimestamp(kT0 + absl::Hours(1), request.mutable_scheduled_start());
    common::ToTimestamp(kT0 + absl::Hours(2), request.mutable_scheduled_end());
    request.set_visibility(visibility);
    request.add_audiences(v1::AUDIENCE_CLIENTS);
    request.add_audiences(v1::AUDIENCE_PROSPECTS);
    request.set_objective(v1::OBJECTIVE_PURCHASE);
    request.set_format(v1::FORMAT_SALES_DRIVEN);
    return request;
  }

  v1::Room CreateRoom(v1::Visibility visibility) {
    v1::CreateRoomResponse response;
    grpc::Status status = stub_->CreateRoom(As(Ops()).get(), RoomRequest(visibility), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.room();
  }

  v1::Session GoLive(const std::string& room_id) {
    v1::GoLiveRequest request;
    request.set_room_id(room_id);
    v1::GoLiveResponse response;
    grpc::Status status = stub_->GoLive(As(Ops()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.session();
  }

  grpc::Status Join(const Principal& viewer, const std::string& room_id,
                    const std::string& token = "", const std::string& device = "phone",
                    v1::JoinRoomResponse* out = nullptr) {
    v1::JoinRoomRequest request;
    request.set_room_id(room_id);
    request.set_device_id(device);
    request.set_invite_token(token);
    v1::JoinRoomResponse response;
    return stub_->JoinRoom(As(viewer).get(), request, out != nullptr ? out : &response);
  }

  std::vector<v1::Invite> Issue(const std::string& room_id, int count,
                                const std::string& associate = "") {
    v1::IssueInvitesRequest request;
    request.set_room_id(room_id);
    request.set_cohort("VIP clients");
    request.set_associate_id(associate);
    request.set_count(count);
    v1::IssueInvitesResponse response;
    grpc::Status status = stub_->IssueInvites(As(Ops()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.invites().begin(), response.invites().end()};
  }

  v1::RoomStats Stats(const std::string& room_id) {
    v1::GetRoomStatsRequest request;
    request.set_room_id(room_id);
    v1::GetRoomStatsResponse response;
    grpc::Status status = stub_->GetRoomStats(As(Ops()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.stats();
  }

  int64_t CountRows(const std::string& table) {
    auto n = mysql_->Run([&](common::MysqlConnection& c) -> absl::StatusOr<int64_t> {
      std::unique_ptr<sql::ResultSet> rs(c.Prepare("SELECT COUNT(*) FROM " + table).executeQuery());
      rs->next();
      return rs->getInt64(1);
    });
    return n.ok() ? *n : -1;
  }

  common::FakeClock clock_{kT0};
  testing::FakeCatalogDirectory catalog_;
  common::PrincipalCodec codec_{"integration-test-secret-0123456789"};
  RoomServiceOptions options_ = [] {
    RoomServiceOptions o;
    o.watch_pin_poll = absl::Milliseconds(20);
    return o;
  }();
  std::unique_ptr<common::RedisPool> redis_;
  std::unique_ptr<common::MysqlPool> mysql_;
  std::unique_ptr<MysqlRoomStore> rooms_;
  std::unique_ptr<RedisPresenceStore> presence_;
  std::unique_ptr<RoomServiceImpl> service_;
  std::unique_ptr<common::GrpcServer> server_;
  std::unique_ptr<v1::RoomService::Stub> stub_;
};

TEST_F(RoomServiceTest, CreateGetUpdateList) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PRIVATE);
  EXPECT_FALSE(room.id().empty());
  EXPECT_EQ(room.status(), v1::ROOM_STATUS_SCHEDULED);
  EXPECT_EQ(room.audiences_size(), 2);

  v1::UpdateRoomRequest update;
  update.set_room_id(room.id());
  update.set_title("Spring preview, Shanghai");
  update.mutable_audiences()->add_audiences(v1::AUDIENCE_FOLLOWERS);
  v1::UpdateRoomResponse updated;
  ASSERT_TRUE(stub_->UpdateRoom(As(Ops()).get(), update, &updated).ok());
  EXPECT_EQ(updated.room().title(), "Spring preview, Shanghai");
  EXPECT_EQ(updated.room().description(), room.description());  // untouched
  ASSERT_EQ(updated.room().audiences_size(), 1);

  v1::GetRoomRequest get;
  get.set_room_id(room.id());
  v1::GetRoomResponse got;
  ASSERT_TRUE(stub_->GetRoom(As(Ops()).get(), get, &got).ok());
  EXPECT_EQ(got.room().title(), "Spring preview, Shanghai");

  // Pagination and status filter.
  for (int i = 0; i < 4; ++i) CreateRoom(v1::VISIBILITY_PUBLIC);
  GoLive(room.id());
  std::vector<std::string> seen;
  std::string token;
  do {
    v1::ListRoomsRequest list;
    list.set_brand_id(kBrand);
    list.set_page_size(2);
    list.set_page_token(token);
    v1::ListRoomsResponse page;
    ASSERT_TRUE(stub_->ListRooms(As(Ops()).get(), list, &page).ok());
    for (const auto& r : page.rooms()) seen.push_back(r.id());
    token = page.next_page_token();
  } while (!token.empty());
  EXPECT_EQ(seen.size(), 5u);
  v1::ListRoomsRequest live;
  live.set_brand_id(kBrand);
  live.set_status(v1::ROOM_STATUS_LIVE);
  v1::ListRoomsResponse live_rooms;
  ASSERT_TRUE(stub_->ListRooms(As(Ops()).get(), live, &live_rooms).ok());
  ASSERT_EQ(live_rooms.rooms_size(), 1);
  EXPECT_EQ(live_rooms.rooms(0).id(), room.id());
  // Viewers list public rooms only.
  v1::ListRoomsRequest viewer_list;
  viewer_list.set_brand_id(kBrand);
  v1::ListRoomsResponse viewer_rooms;
  ASSERT_TRUE(stub_->ListRooms(As(Viewer("v1")).get(), viewer_list, &viewer_rooms).ok());
  EXPECT_EQ(viewer_rooms.rooms_size(), 4);
}

TEST_F(RoomServiceTest, BadInputIsRefusedNamingTheFieldAndChangesNothing) {
  struct Case {
    std::function<void(v1::CreateRoomRequest&)> mutate;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](auto& r) { r.set_title(""); }, "title"},
      {[](auto& r) { r.set_title(std::string(201, 'x')); }, "title"},
      {[](auto& r) { r.set_description(std::string(5000, 'x')); }, "description"},
      {[](auto& r) { r.set_visibility(static_cast<v1::Visibility>(42)); }, "visibility"},
      {[](auto& r) { r.set_objective(v1::OBJECTIVE_UNSPECIFIED); }, "objective"},
      {[](auto& r) { r.clear_audiences(); }, "audiences"},
      {[](auto& r) { r.clear_scheduled_start(); }, "scheduled_start"},
      {[](auto& r) {
         common::ToTimestamp(kT0, r.mutable_scheduled_end());  // before the start
       },
       "scheduled_end"},
      {[](auto& r) { r.set_cover_image_url("ftp://x"); }, "cover_image_url"},
  };
  for (const Case& c : cases) {
    v1::CreateRoomRequest request = RoomRequest(v1::VISIBILITY_PUBLIC);
    c.mutate(request);
    v1::CreateRoomResponse response;
    grpc::Status status = stub_->CreateRoom(As(Ops()).get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(status.error_message().rfind(c.field, 0), 0u) << status.error_message();
  }
  EXPECT_EQ(CountRows("rooms"), 0);

  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  v1::UpdateRoomRequest update;
  update.set_room_id(room.id());
  update.set_title("");
  v1::UpdateRoomResponse updated;
  EXPECT_EQ(stub_->UpdateRoom(As(Ops()).get(), update, &updated).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::GetRoomRequest get;
  get.set_room_id(room.id());
  v1::GetRoomResponse got;
  ASSERT_TRUE(stub_->GetRoom(As(Ops()).get(), get, &got).ok());
  EXPECT_EQ(got.room().title(), room.title());

  get.set_room_id("999999");
  EXPECT_EQ(stub_->GetRoom(As(Ops()).get(), get, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  get.set_room_id("abc");
  grpc::Status bad_id = stub_->GetRoom(As(Ops()).get(), get, &got);
  EXPECT_EQ(bad_id.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bad_id.error_message().rfind("room_id", 0), 0u);
}

TEST_F(RoomServiceTest, CallersAreAuthenticatedAndAuthorised) {
  v1::CreateRoomResponse response;
  grpc::ClientContext anonymous;
  EXPECT_EQ(
      stub_->CreateRoom(&anonymous, RoomRequest(v1::VISIBILITY_PUBLIC), &response).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext forged;
  common::PrincipalCodec wrong("some-other-secret-0123456789");
  common::AttachPrincipal(forged, wrong.Encode(Ops()));
  EXPECT_EQ(stub_->CreateRoom(&forged, RoomRequest(v1::VISIBILITY_PUBLIC), &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stub_->CreateRoom(As(Viewer("v1")).get(), RoomRequest(v1::VISIBILITY_PUBLIC), &response)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(
      stub_->CreateRoom(As(Ops("other-brand")).get(), RoomRequest(v1::VISIBILITY_PUBLIC), &response)
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CountRows("rooms"), 0);

  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  v1::GoLiveRequest live;
  live.set_room_id(room.id());
  v1::GoLiveResponse live_response;
  EXPECT_EQ(stub_->GoLive(As(Viewer("v1")).get(), live, &live_response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Another brand's ops do not even see the room.
  EXPECT_EQ(stub_->GoLive(As(Ops("other-brand")).get(), live, &live_response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(RoomServiceTest, LifecycleRefusesIllegalTransitions) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  v1::EndSessionRequest end;
  end.set_room_id(room.id());
  v1::EndSessionResponse ended;
  EXPECT_EQ(stub_->EndSession(As(Ops()).get(), end, &ended).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::Session first = GoLive(room.id());
  v1::GoLiveRequest again;
  again.set_room_id(room.id());
  v1::GoLiveResponse again_response;
  EXPECT_EQ(stub_->GoLive(As(Ops()).get(), again, &again_response).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(stub_->EndSession(As(Ops()).get(), end, &ended).ok());
  EXPECT_EQ(ended.room().status(), v1::ROOM_STATUS_ENDED);
  EXPECT_EQ(stub_->EndSession(As(Ops()).get(), end, &ended).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // A room can go live again: a new session with its own id.
  v1::Session second = GoLive(room.id());
  EXPECT_NE(second.id(), first.id());
  EXPECT_EQ(CountRows("room_sessions"), 2);
}

TEST_F(RoomServiceTest, PrivateRoomAdmitsOnlyInvitedViewers) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PRIVATE);
  std::vector<v1::Invite> invites = Issue(room.id(), 3, "sa-42");
  ASSERT_EQ(invites.size(), 3u);
  EXPECT_EQ(invites[0].token().size(), 43u);
  GoLive(room.id());

  EXPECT_EQ(Join(Viewer("stranger"), room.id()).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Join(Viewer("stranger"), room.id(), "made-up-token").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  v1::JoinRoomResponse joined;
  grpc::Status ok = Join(Viewer("alice"), room.id(), invites[0].token(), "phone", &joined);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(joined.cohort(), "VIP clients");
  EXPECT_EQ(joined.associate_id(), "sa-42");
  EXPECT_EQ(joined.stats().concurrent_viewers(), 1);

  // Alice's invite is hers: Bob cannot use it.
  EXPECT_EQ(Join(Viewer("bob"), room.id(), invites[0].token()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Alice comes back without the token, on another device.
  EXPECT_TRUE(Join(Viewer("alice"), room.id(), "", "laptop").ok());
  // Alice holding a second token does not consume it.
  EXPECT_TRUE(Join(Viewer("alice"), room.id(), invites[1].token()).ok());
  EXPECT_TRUE(Join(Viewer("bob"), room.id(), invites[1].token()).ok());

  // Revoked and expired invites are refused.
  v1::RevokeInviteRequest revoke;
  revoke.set_invite_id(invites[2].id());
  v1::RevokeInviteResponse revoked;
  ASSERT_TRUE(stub_->RevokeInvite(As(Ops()).get(), revoke, &revoked).ok());
  EXPECT_EQ(revoked.invite().status(), v1::INVITE_STATUS_REVOKED);
  EXPECT_EQ(Join(Viewer("carol"), room.id(), invites[2].token()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  v1::IssueInvitesRequest expiring;
  expiring.set_room_id(room.id());
  expiring.set_cohort("prospects");
  expiring.set_count(1);
  common::ToTimestamp(kT0 + absl::Minutes(10), expiring.mutable_expires_at());
  v1::IssueInvitesResponse expiring_response;
  ASSERT_TRUE(stub_->IssueInvites(As(Ops()).get(), expiring, &expiring_response).ok());
  clock_.Advance(absl::Minutes(11));
  EXPECT_EQ(Join(Viewer("dave"), room.id(), expiring_response.invites(0).token()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Viewers without an invite cannot read the private room either.
  v1::GetRoomStatsRequest stats_request;
  stats_request.set_room_id(room.id());
  v1::GetRoomStatsResponse stats_response;
  EXPECT_EQ(stub_->GetRoomStats(As(Viewer("stranger")).get(), stats_request, &stats_response)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(stub_->GetRoomStats(As(Viewer("alice")).get(), stats_request, &stats_response).ok());

  // Ops see who was invited, by whom, and who came.
  v1::ListInvitesRequest list;
  list.set_room_id(room.id());
  list.set_associate_id("sa-42");
  v1::ListInvitesResponse listed;
  ASSERT_TRUE(stub_->ListInvites(As(Ops()).get(), list, &listed).ok());
  ASSERT_EQ(listed.invites_size(), 3);
  EXPECT_EQ(listed.invites(0).bound_viewer_id(), "alice");
  EXPECT_TRUE(listed.invites(0).has_last_joined_at());
  EXPECT_EQ(listed.invites(0).status(), v1::INVITE_STATUS_BOUND);
  EXPECT_EQ(listed.invites(1).bound_viewer_id(), "bob");
  EXPECT_TRUE(listed.invites(0).token().empty());  // never shown again
  EXPECT_EQ(listed.invites(2).status(), v1::INVITE_STATUS_REVOKED);
}

TEST_F(RoomServiceTest, OneInviteBindsToExactlyOneViewerUnderARace) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PRIVATE);
  std::string token = Issue(room.id(), 1)[0].token();
  GoLive(room.id());
  std::atomic<int> admitted{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      grpc::Status s = Join(Viewer("racer-" + std::to_string(i)), room.id(), token);
      if (s.ok()) {
        ++admitted;
      } else if (s.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
        ++refused;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 1);
  EXPECT_EQ(refused.load(), 15);
  EXPECT_EQ(Stats(room.id()).concurrent_viewers(), 1);
}

TEST_F(RoomServiceTest, CountsStayExactUnderConcurrentJoins) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  GoLive(room.id());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Principal viewer = Viewer("v" + std::to_string(t * kPerThread + i));
        if (!Join(viewer, room.id(), "", "phone").ok()) ++failures;
        // The same viewer on a second device counts once.
        if (i % 3 == 0 && !Join(viewer, room.id(), "", "pad").ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  v1::RoomStats stats = Stats(room.id());
  EXPECT_EQ(stats.concurrent_viewers(), kThreads * kPerThread);
  EXPECT_EQ(stats.total_joins(), kThreads * kPerThread);
  EXPECT_NEAR(static_cast<double>(stats.reach()), kThreads * kPerThread,
              0.03 * kThreads * kPerThread);
  EXPECT_EQ(stats.peak_concurrency(), kThreads * kPerThread);
}

TEST_F(RoomServiceTest, SilentViewersDropOutWithoutLeaving) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  GoLive(room.id());
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(Join(Viewer("v" + std::to_string(i)), room.id()).ok());
  }
  // The sampler records the peak while all six are present.
  PeakSampler sampler(*rooms_, *presence_, clock_, absl::Seconds(1));
  EXPECT_EQ(sampler.SampleOnce(), 1);
  clock_.Advance(absl::Seconds(20));
  for (int i = 0; i < 2; ++i) {
    v1::HeartbeatRequest hb;
    hb.set_room_id(room.id());
    hb.set_device_id("phone");
    v1::HeartbeatResponse hb_response;
    ASSERT_TRUE(stub_->Heartbeat(As(Viewer("v" + std::to_string(i))).get(), hb, &hb_response).ok());
    EXPECT_EQ(hb_response.heartbeat_interval_seconds(), 10);
  }
  clock_.Advance(absl::Seconds(15));
  v1::RoomStats stats = Stats(room.id());
  EXPECT_EQ(stats.concurrent_viewers(), 2);
  EXPECT_EQ(stats.peak_concurrency(), 6);
  // A dropped viewer's heartbeat is refused: they must join again (and pass the checks again).
  v1::HeartbeatRequest late;
  late.set_room_id(room.id());
  late.set_device_id("phone");
  v1::HeartbeatResponse late_response;
  EXPECT_EQ(stub_->Heartbeat(As(Viewer("v5")).get(), late, &late_response).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // Leave takes a viewer out at once.
  v1::LeaveRoomRequest leave;
  leave.set_room_id(room.id());
  leave.set_device_id("phone");
  v1::LeaveRoomResponse left;
  ASSERT_TRUE(stub_->LeaveRoom(As(Viewer("v0")).get(), leave, &left).ok());
  EXPECT_EQ(Stats(room.id()).concurrent_viewers(), 1);
}

TEST_F(RoomServiceTest, BatchPresenceIsForTheGatewayAndAppliesEvents) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  GoLive(room.id());
  ASSERT_TRUE(Join(Viewer("a"), room.id()).ok());
  ASSERT_TRUE(Join(Viewer("b"), room.id()).ok());
  clock_.Advance(absl::Seconds(25));
  v1::BatchPresenceRequest batch;
  auto add = [&](const std::string& viewer, v1::PresenceEvent::Kind kind) {
    v1::PresenceEvent* e = batch.add_events();
    e->set_room_id(room.id());
    e->set_viewer_id(viewer);
    e->set_device_id("phone");
    e->set_kind(kind);
  };
  add("a", v1::PresenceEvent::KIND_HEARTBEAT);
  add("b", v1::PresenceEvent::KIND_LEAVE);
  add("never-joined", v1::PresenceEvent::KIND_HEARTBEAT);
  v1::BatchPresenceResponse response;
  EXPECT_EQ(stub_->BatchPresence(As(Viewer("a")).get(), batch, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->BatchPresence(As(Service()).get(), batch, &response).ok());
  ASSERT_EQ(response.applied_size(), 3);
  EXPECT_TRUE(response.applied(0));
  EXPECT_TRUE(response.applied(1));
  EXPECT_FALSE(response.applied(2));
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Stats(room.id()).concurrent_viewers(), 1);

  batch.mutable_events(0)->set_device_id("bad device id");
  grpc::Status bad = stub_->BatchPresence(As(Service()).get(), batch, &response);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("events[0].device_id"), std::string::npos);
}

TEST_F(RoomServiceTest, EndedSessionWritesItsStatsToMysql) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  v1::Session session = GoLive(room.id());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Join(Viewer("v" + std::to_string(i)), room.id()).ok());
  PeakSampler sampler(*rooms_, *presence_, clock_, absl::Seconds(1));
  EXPECT_EQ(sampler.SampleOnce(), 1);
  clock_.Advance(absl::Seconds(20));  // three viewers watch 20 s and leave; two go silent
  for (int i = 0; i < 3; ++i) {
    v1::LeaveRoomRequest leave;
    leave.set_room_id(room.id());
    leave.set_device_id("phone");
    v1::LeaveRoomResponse left;
    ASSERT_TRUE(stub_->LeaveRoom(As(Viewer("v" + std::to_string(i))).get(), leave, &left).ok());
  }
  ASSERT_TRUE(Join(Viewer("v0"), room.id()).ok());  // a second arrival of v0
  clock_.Advance(absl::Minutes(42));
  v1::EndSessionRequest end;
  end.set_room_id(room.id());
  v1::EndSessionResponse ended;
  ASSERT_TRUE(stub_->EndSession(As(Ops()).get(), end, &ended).ok());
  EXPECT_EQ(ended.session().status(), v1::SESSION_STATUS_ENDED);

  auto row = mysql_->Run([&](common::MysqlConnection& c) -> absl::StatusOr<std::vector<int64_t>> {
    sql::PreparedStatement& s = c.Prepare(
        "SELECT reach, peak_concurrency, total_joins, duration_seconds, status, "
        "live_room_id IS NULL, watch_ms FROM room_sessions WHERE id = ?");
    s.setInt64(1, std::stoll(session.id()));
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    if (!rs->next()) return absl::NotFoundError("no session row");
    return std::vector<int64_t>{rs->getInt64(1), rs->getInt64(2), rs->getInt64(3), rs->getInt64(4),
                                rs->getInt64(5), rs->getInt64(6), rs->getInt64(7)};
  });
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ((*row)[0], 5);  // reach
  EXPECT_EQ((*row)[1], 5);  // peak
  EXPECT_EQ((*row)[2], 6);  // joins
  EXPECT_EQ((*row)[3], 42 * 60 + 20);
  EXPECT_EQ((*row)[4], v1::SESSION_STATUS_ENDED);
  EXPECT_EQ((*row)[5], 1);
  EXPECT_EQ((*row)[6], 3 * 20 * 1000);  // watch time: the three who left, 20 s each
  EXPECT_EQ(ended.session().watch_seconds(), 60);

  // After the end, stats come from MySQL and joining is refused.
  v1::RoomStats stats = Stats(room.id());
  EXPECT_EQ(stats.status(), v1::ROOM_STATUS_ENDED);
  EXPECT_EQ(stats.reach(), 5);
  EXPECT_EQ(stats.concurrent_viewers(), 0);
  EXPECT_EQ(Join(Viewer("late"), room.id()).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(RoomServiceTest, RestartLosesNothingCommitted) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PRIVATE);
  std::vector<v1::Invite> invites = Issue(room.id(), 2, "sa-7");
  v1::Session session = GoLive(room.id());
  ASSERT_TRUE(Join(Viewer("alice"), room.id(), invites[0].token()).ok());
  ASSERT_TRUE(Join(Viewer("bob"), room.id(), invites[1].token()).ok());
  v1::PinProductRequest pin;
  pin.set_room_id(room.id());
  pin.set_product_id("prod-1");
  pin.set_sku_id("sku-1-red-m");
  v1::PinProductResponse pinned;
  ASSERT_TRUE(stub_->PinProduct(As(Ops()).get(), pin, &pinned).ok());

  RestartWithFreshPools();

  v1::GetRoomRequest get;
  get.set_room_id(room.id());
  v1::GetRoomResponse got;
  ASSERT_TRUE(stub_->GetRoom(As(Ops()).get(), get, &got).ok());
  EXPECT_EQ(got.room().status(), v1::ROOM_STATUS_LIVE);
  EXPECT_EQ(got.room().current_session_id(), session.id());
  EXPECT_EQ(got.room().pinned().sku_id(), "sku-1-red-m");
  v1::RoomStats stats = Stats(room.id());
  EXPECT_EQ(stats.concurrent_viewers(), 2);
  // Bindings survived: alice's invite still refuses carol, and alice gets in without a token.
  EXPECT_EQ(Join(Viewer("carol"), room.id(), invites[0].token(), "pad").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::HeartbeatRequest hb;
  hb.set_room_id(room.id());
  hb.set_device_id("phone");
  v1::HeartbeatResponse hb_response;
  EXPECT_TRUE(stub_->Heartbeat(As(Viewer("alice")).get(), hb, &hb_response).ok());
  v1::EndSessionRequest end;
  end.set_room_id(room.id());
  v1::EndSessionResponse ended;
  ASSERT_TRUE(stub_->EndSession(As(Ops()).get(), end, &ended).ok());
  EXPECT_EQ(ended.session().reach(), 2);
  EXPECT_EQ(ended.session().total_joins(), 2);
}

TEST_F(RoomServiceTest, PinIsReadByViewersAndPushedByWatch) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  v1::PinProductRequest pin;
  pin.set_room_id(room.id());
  pin.set_product_id("prod-1");
  v1::PinProductResponse pinned;
  EXPECT_EQ(stub_->PinProduct(As(Ops()).get(), pin, &pinned).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);  // not live yet
  GoLive(room.id());
  ASSERT_TRUE(Join(Viewer("v1"), room.id()).ok());

  auto context = As(Viewer("v1"));
  v1::WatchRoomRequest watch;
  watch.set_room_id(room.id());
  auto reader = stub_->WatchRoom(context.get(), watch);
  v1::WatchRoomResponse message;
  // First come the current pin (none) and the stats.
  ASSERT_TRUE(reader->Read(&message));
  ASSERT_TRUE(message.has_pinned());
  EXPECT_TRUE(message.pinned().product_id().empty());
  ASSERT_TRUE(reader->Read(&message));
  ASSERT_TRUE(message.has_stats());
  EXPECT_EQ(message.stats().concurrent_viewers(), 1);

  v1::PinProductRequest unknown = pin;
  unknown.set_product_id("not-in-catalog");
  EXPECT_EQ(stub_->PinProduct(As(Ops()).get(), unknown, &pinned).error_code(),
            grpc::StatusCode::NOT_FOUND);
  pin.set_sku_id("sku-9");
  ASSERT_TRUE(stub_->PinProduct(As(Ops()).get(), pin, &pinned).ok());
  EXPECT_EQ(pinned.pinned().product_name(), "Product prod-1");
  EXPECT_EQ(pinned.pinned().price().amount_fen(), 129900);
  bool saw_pin = false;
  for (int i = 0; i < 20 && !saw_pin; ++i) {
    ASSERT_TRUE(reader->Read(&message));
    saw_pin = message.has_pinned() && message.pinned().sku_id() == "sku-9";
  }
  EXPECT_TRUE(saw_pin);
  EXPECT_EQ(message.pinned().product_name(), "Product prod-1");
  // The room's flash stock rides along with the stats.
  v1::FlashStock stock;
  stock.set_sale_id("77");
  stock.set_remaining(42);
  catalog_.SetFlashStock({stock});
  clock_.Advance(absl::Seconds(2));
  bool saw_stock = false;
  for (int i = 0; i < 50 && !saw_stock; ++i) {
    ASSERT_TRUE(reader->Read(&message));
    saw_stock = message.has_flash_stock() && message.flash_stock().sales_size() == 1 &&
                message.flash_stock().sales(0).remaining() == 42;
  }
  EXPECT_TRUE(saw_stock);
  context->TryCancel();
  reader->Finish();

  v1::GetPinnedProductRequest get_pin;
  get_pin.set_room_id(room.id());
  v1::GetPinnedProductResponse got_pin;
  ASSERT_TRUE(stub_->GetPinnedProduct(As(Viewer("v2")).get(), get_pin, &got_pin).ok());
  EXPECT_EQ(got_pin.pinned().product_id(), "prod-1");
  EXPECT_EQ(got_pin.pinned().image_url(), "https://cdn.example.com/prod-1.jpg");
  v1::UnpinProductRequest unpin;
  unpin.set_room_id(room.id());
  v1::UnpinProductResponse unpinned;
  ASSERT_TRUE(stub_->UnpinProduct(As(Ops()).get(), unpin, &unpinned).ok());
  ASSERT_TRUE(stub_->GetPinnedProduct(As(Viewer("v2")).get(), get_pin, &got_pin).ok());
  EXPECT_FALSE(got_pin.has_pinned());
}

}  // namespace
}  // namespace livecommerce::room

namespace livecommerce::room {
namespace {

TEST_F(RoomServiceTest, ViewerAccessIsForServicesAndReportsTheInvite) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PRIVATE);
  std::string token = Issue(room.id(), 1, "sa-9")[0].token();
  GoLive(room.id());
  ASSERT_TRUE(Join(Viewer("alice"), room.id(), token).ok());
  v1::GetViewerAccessRequest request;
  request.set_room_id(room.id());
  request.set_viewer_id("alice");
  v1::GetViewerAccessResponse response;
  EXPECT_EQ(stub_->GetViewerAccess(As(Viewer("alice")).get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->GetViewerAccess(As(Service()).get(), request, &response).ok());
  EXPECT_TRUE(response.admitted());
  EXPECT_EQ(response.cohort(), "VIP clients");
  EXPECT_EQ(response.associate_id(), "sa-9");
  EXPECT_EQ(response.brand_id(), kBrand);
  EXPECT_EQ(response.status(), v1::ROOM_STATUS_LIVE);
  request.set_viewer_id("bob");
  ASSERT_TRUE(stub_->GetViewerAccess(As(Service()).get(), request, &response).ok());
  EXPECT_FALSE(response.admitted());
  EXPECT_TRUE(response.cohort().empty());
}

}  // namespace
}  // namespace livecommerce::room
