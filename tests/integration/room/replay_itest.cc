// Replays through the room service over gRPC, against the real Redis and MariaDB: product moments
// written with the pin on the session's timeline, a recording becoming the session's replay, ops
// registering one, the live's audience rules, signed expiring play addresses and replay reach
// counted once per viewer, apart from live presence, with its event.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/events.h"
#include "services/common/grpc_server.h"
#include "services/common/http_client.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"
#include "services/common/sql.h"
#include "services/room/api/room_service.h"
#include "services/room/store/mysql_room_store.h"
#include "services/room/store/redis_presence_store.h"
#include "services/room/store/replay_store.h"
#include "services/room/store/stream_store.h"
#include "services/room/stream/local_provider.h"
#include "services/room/stream/room_streams.h"
#include "tests/integration/room/room_itest_base.h"
#include "tests/support/test_env.h"

namespace livecommerce::room {
namespace {

using itest::kBrand;
using itest::kT0;

constexpr char kCallbackSecret[] = "replay-itest-callback-secret";

class ReplayTest : public itest::RoomItestBase {
 protected:
  void SetUp() override {
    redis_ = testing::ConnectTestRedis();
    mysql_ =
        testing::ConnectTestMysql({"room_replay_views", "room_replays", "room_session_moments",
                                   "room_event_outbox", "room_stream_callbacks", "room_recordings",
                                   "room_streams", "room_invites", "room_sessions", "rooms"});
    ASSERT_NE(redis_, nullptr);
    ASSERT_NE(mysql_, nullptr);
    provider_ = LocalProvider("replay-itest-play-secret");
    ASSERT_NE(provider_, nullptr);
    rooms_ = std::make_unique<MysqlRoomStore>(*mysql_, &outbox_);
    presence_ = std::make_unique<RedisPresenceStore>(*redis_, options_.presence_window);
    ASSERT_TRUE(presence_->LoadScripts().ok());
    stream_store_ = std::make_unique<MysqlStreamStore>(*mysql_);
    StreamOptions stream_options;
    stream_options.play_ttl = absl::Minutes(10);
    stream_options.key_secret = "replay-itest-key-secret";
    stream_options.callback_secret = kCallbackSecret;
    streams_ =
        std::make_unique<RoomStreams>(*stream_store_, *rooms_, *provider_, clock_, stream_options);
    replays_ = std::make_unique<MysqlReplayStore>(*mysql_, &outbox_);
    service_ = std::make_unique<RoomServiceImpl>(*rooms_, *presence_, catalog_, clock_, codec_,
                                                 options_, nullptr, nullptr, streams_.get(),
                                                 nullptr, replays_.get());
    Serve(*service_);
  }

  grpc::Status Pin(const std::string& room_id, const std::string& product,
                   const std::string& sku = "") {
    v1::PinProductRequest request;
    request.set_room_id(room_id);
    request.set_product_id(product);
    request.set_sku_id(sku);
    v1::PinProductResponse response;
    return stub_->PinProduct(As(Ops()).get(), request, &response);
  }
  grpc::Status Unpin(const std::string& room_id) {
    v1::UnpinProductRequest request;
    request.set_room_id(room_id);
    v1::UnpinProductResponse response;
    return stub_->UnpinProduct(As(Ops()).get(), request, &response);
  }
  grpc::Status SetReplay(const std::string& room_id, const std::string& session_id,
                         const std::string& location, int64_t seconds,
                         v1::SetReplayResponse* out = nullptr, const Principal* who = nullptr) {
    v1::SetReplayRequest request;
    request.set_room_id(room_id);
    request.set_session_id(session_id);
    request.set_location(location);
    request.set_duration_seconds(seconds);
    v1::SetReplayResponse response;
    return stub_->SetReplay(As(who != nullptr ? *who : Ops()).get(), request,
                            out != nullptr ? out : &response);
  }
  grpc::Status GetReplay(const Principal& who, const std::string& room_id, v1::Replay* out,
                         const std::string& session_id = "", const std::string& token = "") {
    v1::GetReplayRequest request;
    request.set_room_id(room_id);
    request.set_session_id(session_id);
    request.set_invite_token(token);
    v1::GetReplayResponse response;
    grpc::Status status = stub_->GetReplay(As(who).get(), request, &response);
    if (out != nullptr) *out = response.replay();
    return status;
  }
  grpc::Status JoinReplay(const Principal& who, const std::string& room_id,
                          v1::JoinReplayResponse* out, const std::string& token = "") {
    v1::JoinReplayRequest request;
    request.set_room_id(room_id);
    request.set_invite_token(token);
    return stub_->JoinReplay(As(who).get(), request, out);
  }
  std::vector<v1::Invite> Issue(const std::string& room_id, int count,
                                const std::string& associate) {
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
  // A callback of the local streaming server as the gateway passes it on.
  int Callback(const std::string& route, const std::string& body) {
    v1::HandleStreamCallbackRequest request;
    request.set_provider("local");
    request.set_secret(kCallbackSecret);
    request.set_route(route);
    request.set_content_type("application/x-www-form-urlencoded");
    request.set_body(body);
    v1::HandleStreamCallbackResponse out;
    grpc::Status status = stub_->HandleStreamCallback(As(Service()).get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out.http_status();
  }
  std::string StreamName(const std::string& room_id) {
    v1::GetPushAddressRequest request;
    request.set_room_id(room_id);
    v1::GetPushAddressResponse out;
    grpc::Status status = stub_->GetPushAddress(As(Ops()).get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out.push().stream_key().substr(0, out.push().stream_key().find('?'));
  }
  void RecordDone(const std::string& name, const std::string& file) {
    EXPECT_EQ(Callback("on_record_done",
                       absl::StrCat("app=live&call=record_done&name=", name,
                                    "&clientid=9&recorder=&path=%2Fvar%2Frec%2F", file)),
              200);
  }
  // A live session with a pin at 1 min, another product at 2 min 30 s, an unpin at 4 min and
  // the first product again at 5 min, ended at 6 min.
  std::string PresentAndEnd(const std::string& room_id) {
    clock_.Set(kT0);
    std::string session = GoLive(room_id);
    clock_.Advance(absl::Minutes(1));
    EXPECT_TRUE(Pin(room_id, "prod-bag", "sku-bag-black").ok());
    clock_.Advance(absl::Seconds(90));
    EXPECT_TRUE(Pin(room_id, "prod-scarf").ok());
    clock_.Advance(absl::Seconds(90));
    EXPECT_TRUE(Unpin(room_id).ok());
    clock_.Advance(absl::Minutes(1));
    EXPECT_TRUE(Pin(room_id, "prod-bag", "sku-bag-red").ok());
    clock_.Advance(absl::Minutes(1));
    End(room_id);
    return session;
  }

  common::EventOutbox outbox_{"room", "room_event_outbox", {"report"}};
  std::unique_ptr<stream::StreamProvider> provider_;
  std::unique_ptr<MysqlRoomStore> rooms_;
  std::unique_ptr<RedisPresenceStore> presence_;
  std::unique_ptr<MysqlStreamStore> stream_store_;
  std::unique_ptr<RoomStreams> streams_;
  std::unique_ptr<MysqlReplayStore> replays_;
  std::unique_ptr<RoomServiceImpl> service_;
};

TEST_F(ReplayTest, PinsAndUnpinsAreMomentsAtTheirOffsetFromTheSessionStart) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  // Pins outside a live session are refused, unpins change nothing: neither is a moment.
  EXPECT_EQ(Pin(room.id(), "prod-bag").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(Unpin(room.id()).ok());
  std::string session = PresentAndEnd(room.id());
  // The red bag, still presented when the live ended, is closed by the end: a fifth moment.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM room_session_moments"), 5);
  ASSERT_TRUE(SetReplay(room.id(), session, "https://vod.example.com/a/replay.mp4", 360).ok());

  v1::Replay replay;
  ASSERT_TRUE(GetReplay(Viewer("v1"), room.id(), &replay).ok());
  EXPECT_EQ(replay.session_id(), session);
  ASSERT_EQ(replay.moments_size(), 5);
  EXPECT_EQ(replay.moments(0).kind(), v1::PRODUCT_MOMENT_KIND_PIN);
  EXPECT_EQ(replay.moments(0).product_id(), "prod-bag");
  EXPECT_EQ(replay.moments(0).sku_id(), "sku-bag-black");
  EXPECT_EQ(replay.moments(0).offset_ms(), 60000);
  EXPECT_EQ(replay.moments(0).product_name(), "Product prod-bag");
  EXPECT_EQ(replay.moments(0).price().amount_fen(), 129900);
  EXPECT_EQ(replay.moments(1).product_id(), "prod-scarf");
  EXPECT_EQ(replay.moments(1).offset_ms(), 150000);
  EXPECT_EQ(replay.moments(2).kind(), v1::PRODUCT_MOMENT_KIND_UNPIN);
  EXPECT_EQ(replay.moments(2).product_id(), "prod-scarf");
  EXPECT_EQ(replay.moments(2).offset_ms(), 240000);
  EXPECT_EQ(replay.moments(3).offset_ms(), 300000);
  EXPECT_EQ(common::FromTimestamp(replay.moments(3).at()), kT0 + absl::Minutes(5));
  EXPECT_EQ(replay.moments(4).kind(), v1::PRODUCT_MOMENT_KIND_UNPIN);
  EXPECT_EQ(replay.moments(4).product_id(), "prod-bag");
  EXPECT_EQ(replay.moments(4).sku_id(), "sku-bag-red");
  EXPECT_EQ(replay.moments(4).offset_ms(), 360000);  // the session's end
  // The products presented: each once, at its first pin.
  ASSERT_EQ(replay.products_size(), 2);
  EXPECT_EQ(replay.products(0).product_id(), "prod-bag");
  EXPECT_EQ(replay.products(0).sku_id(), "sku-bag-black");
  EXPECT_EQ(replay.products(0).offset_ms(), 60000);
  EXPECT_EQ(replay.products(0).image_url(), "https://cdn.example.com/prod-bag.jpg");
  EXPECT_EQ(replay.products(1).product_id(), "prod-scarf");
  EXPECT_EQ(replay.products(1).offset_ms(), 150000);
  EXPECT_EQ(common::FromTimestamp(replay.session_started_at()), kT0);
  EXPECT_EQ(common::FromTimestamp(replay.session_ended_at()), kT0 + absl::Minutes(6));
}

TEST_F(ReplayTest, ARecordingOfTheEndedSessionBecomesItsReplayAndOpsMayReplaceIt) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  std::string name = StreamName(room.id());
  v1::Replay replay;
  EXPECT_EQ(GetReplay(Viewer("v1"), room.id(), &replay).error_code(), grpc::StatusCode::NOT_FOUND);
  std::string session = PresentAndEnd(room.id());
  EXPECT_EQ(GetReplay(Viewer("v1"), room.id(), &replay).error_code(), grpc::StatusCode::NOT_FOUND);
  RecordDone(name, absl::StrCat(name, "-1.flv"));
  RecordDone(name, absl::StrCat(name, "-1.flv"));  // the callback again changes nothing
  EXPECT_EQ(Count("SELECT COUNT(*) FROM room_replays"), 1);
  ASSERT_TRUE(GetReplay(Viewer("v1"), room.id(), &replay, session).ok());
  EXPECT_EQ(replay.source(), v1::REPLAY_SOURCE_RECORDING);
  EXPECT_TRUE(absl::StrContains(replay.play().hls(), absl::StrCat("/", name, "-1.mp4")))
      << replay.play().hls();
  EXPECT_EQ(replay.moments_size(), 5);

  // A later recording of the same session does not replace it; ops may.
  RecordDone(name, absl::StrCat(name, "-2.flv"));
  ASSERT_TRUE(GetReplay(Viewer("v1"), room.id(), &replay).ok());
  EXPECT_TRUE(absl::StrContains(replay.play().hls(), "-1.mp4"));
  v1::SetReplayResponse set;
  ASSERT_TRUE(SetReplay(room.id(), session, "edited/autumn-cut.mp4", 300, &set).ok());
  EXPECT_EQ(set.replay().source(), v1::REPLAY_SOURCE_OPS);
  ASSERT_TRUE(GetReplay(Viewer("v1"), room.id(), &replay).ok());
  EXPECT_EQ(replay.source(), v1::REPLAY_SOURCE_OPS);
  EXPECT_EQ(replay.duration_seconds(), 300);
  EXPECT_TRUE(absl::StrContains(replay.play().hls(), "/autumn-cut.mp4"));
}

TEST_F(ReplayTest, ARecordingMadeWhileLiveIsTheReplayOnceTheSessionEnds) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  std::string name = StreamName(room.id());
  std::string session = GoLive(room.id());
  RecordDone(name, "segment-short.flv");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM room_replays"), 0);
  v1::Replay replay;
  EXPECT_EQ(GetReplay(Viewer("v1"), room.id(), &replay, session).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  End(room.id());
  ASSERT_TRUE(GetReplay(Viewer("v1"), room.id(), &replay).ok());
  EXPECT_EQ(replay.session_id(), session);
  EXPECT_TRUE(absl::StrContains(replay.play().hls(), "segment-short.mp4"));
}

TEST_F(ReplayTest, SetReplayIsValidatedAndOnlyForEndedSessions) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  std::string session = GoLive(room.id());
  struct Case {
    std::string session_id, location;
    int64_t seconds;
    std::string field;
  };
  std::vector<Case> cases = {
      {"", "https://vod.example.com/a.mp4", 60, "session_id"},
      {"abc", "https://vod.example.com/a.mp4", 60, "session_id"},
      {session, "", 60, "location"},
      {session, "https://vod.example.com/a b.mp4", 60, "location"},
      {session, "http://vod.example.com/a.mp4", 60, "location"},
      {session, "ftp://vod.example.com/a.mp4", 60, "location"},
      {session, "https:///a.mp4", 60, "location"},
      {session, "../../etc/passwd", 60, "location"},
      {session, std::string(1025, 'a'), 60, "location"},
      {session, "https://vod.example.com/a.mp4", 0, "duration_seconds"},
      {session, "https://vod.example.com/a.mp4", -5, "duration_seconds"},
      {session, "https://vod.example.com/a.mp4", 8 * 24 * 3600, "duration_seconds"},
  };
  for (const Case& c : cases) {
    grpc::Status status = SetReplay(room.id(), c.session_id, c.location, c.seconds);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.location;
    EXPECT_TRUE(absl::StartsWith(status.error_message(), c.field))
        << c.field << ": " << status.error_message();
  }
  // The live session has no replay yet: viewers join the live.
  grpc::Status live = SetReplay(room.id(), session, "https://vod.example.com/a.mp4", 60);
  EXPECT_EQ(live.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StartsWith(live.error_message(), "session_id")) << live.error_message();
  End(room.id());
  // Another room's session, another brand's room, and callers other than ops.
  v1::Room other = CreateRoom(v1::VISIBILITY_PUBLIC);
  EXPECT_EQ(SetReplay(other.id(), session, "https://vod.example.com/a.mp4", 60).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(SetReplay(room.id(), "999999", "https://vod.example.com/a.mp4", 60).error_code(),
            grpc::StatusCode::NOT_FOUND);
  Principal elsewhere = Ops("elsewhere");
  EXPECT_EQ(SetReplay(room.id(), session, "https://vod.example.com/a.mp4", 60, nullptr, &elsewhere)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  Principal associate = Associate("assoc-7");
  EXPECT_EQ(SetReplay(room.id(), session, "https://vod.example.com/a.mp4", 60, nullptr, &associate)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM room_replays"), 0);
  ASSERT_TRUE(SetReplay(room.id(), session, "https://vod.example.com/a.mp4", 60).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM room_replays"), 1);
}

TEST_F(ReplayTest, APrivateReplayNeedsTheInviteAsTheLiveDoes) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PRIVATE);
  std::vector<v1::Invite> invites = Issue(room.id(), 2, "assoc-7");
  std::string session = PresentAndEnd(room.id());
  ASSERT_TRUE(SetReplay(room.id(), session, "rec/private.flv", 360).ok());
  v1::Replay replay;
  EXPECT_EQ(GetReplay(Viewer("stranger"), room.id(), &replay).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::JoinReplayResponse joined;
  EXPECT_EQ(JoinReplay(Viewer("stranger"), room.id(), &joined).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(
      GetReplay(Viewer("stranger"), room.id(), &replay, "", "not-a-real-invite-token").error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  // Another brand's viewer sees no such room.
  EXPECT_EQ(GetReplay(Viewer("v1", "elsewhere"), room.id(), &replay).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // With the invite: admitted, and told who invited them (a purchase credits the associate).
  ASSERT_TRUE(GetReplay(Viewer("client-a"), room.id(), &replay, "", invites[0].token()).ok());
  EXPECT_EQ(replay.associate_id(), "assoc-7");
  // The invite is now bound to them: later without the token, and nobody else with it.
  ASSERT_TRUE(GetReplay(Viewer("client-a"), room.id(), &replay).ok());
  EXPECT_EQ(GetReplay(Viewer("client-b"), room.id(), &replay, "", invites[0].token()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Staff of the brand see it.
  EXPECT_TRUE(GetReplay(Associate("assoc-7"), room.id(), &replay).ok());
  EXPECT_TRUE(GetReplay(Ops(), room.id(), &replay).ok());
}

TEST_F(ReplayTest, ThePlayAddressIsSignedAndExpires) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  std::string session = PresentAndEnd(room.id());
  ASSERT_TRUE(SetReplay(room.id(), session, "/var/rec/autumn.flv", 360).ok());
  clock_.Set(kT0 + absl::Hours(48));
  v1::Replay first;
  ASSERT_TRUE(GetReplay(Viewer("v1"), room.id(), &first).ok());
  absl::Time expires = kT0 + absl::Hours(48) + absl::Minutes(10);
  EXPECT_EQ(common::FromTimestamp(first.play().expires_at()), expires);
  // <play_base>/replay/<expires>/<signature>/<file>: only the file name travels.
  std::string prefix =
      absl::StrCat("http://127.0.0.1:8088/replay/", absl::ToUnixSeconds(expires), "/");
  EXPECT_TRUE(absl::StartsWith(first.play().hls(), prefix)) << first.play().hls();
  // The recording's MP4 copy is what the streaming server serves (scripts/remux-recording).
  EXPECT_TRUE(absl::EndsWith(first.play().hls(), "/autumn.mp4")) << first.play().hls();
  EXPECT_FALSE(absl::StrContains(first.play().hls(), "/var/rec"));
  // Signed anew for each caller: later, a later expiry and another signature.
  clock_.Advance(absl::Minutes(15));
  v1::Replay later;
  ASSERT_TRUE(GetReplay(Viewer("v1"), room.id(), &later).ok());
  EXPECT_EQ(common::FromTimestamp(later.play().expires_at()), expires + absl::Minutes(15));
  EXPECT_NE(later.play().hls(), first.play().hls());
}

TEST_F(ReplayTest, ReplayViewsCountOncePerViewerApartFromLivePresenceWithTheirEvent) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  std::string session = PresentAndEnd(room.id());
  ASSERT_TRUE(SetReplay(room.id(), session, "rec/autumn.flv", 360).ok());
  v1::GetSessionRequest get_session;
  get_session.set_session_id(session);
  v1::GetSessionResponse before;
  ASSERT_TRUE(stub_->GetSession(As(Ops()).get(), get_session, &before).ok());
  int64_t events_before = Count(
      "SELECT COUNT(*) FROM room_event_outbox WHERE type = 'livecommerce.events.v1.ReplayViewed'");

  v1::JoinReplayResponse joined;
  ASSERT_TRUE(JoinReplay(Viewer("v1"), room.id(), &joined).ok());
  EXPECT_TRUE(joined.first_view());
  EXPECT_EQ(joined.replay().session_id(), session);
  EXPECT_EQ(joined.replay().moments_size(), 5);
  ASSERT_TRUE(JoinReplay(Viewer("v1"), room.id(), &joined).ok());
  EXPECT_FALSE(joined.first_view());
  ASSERT_TRUE(JoinReplay(Viewer("v2"), room.id(), &joined).ok());
  EXPECT_TRUE(joined.first_view());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM room_replay_views"), 2);
  // Only viewers join a replay.
  EXPECT_EQ(JoinReplay(Ops(), room.id(), &joined).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // One event per first view, for each subscriber (the report).
  EXPECT_EQ(Count("SELECT COUNT(*) FROM room_event_outbox WHERE type = "
                  "'livecommerce.events.v1.ReplayViewed'") -
                events_before,
            2);
  EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM room_event_outbox WHERE type = "
                               "'livecommerce.events.v1.ReplayViewed' AND event_key = '",
                               session, ":v1'")),
            1);
  // The live's figures are untouched: no presence, no reach, no joins.
  v1::GetSessionResponse after;
  ASSERT_TRUE(stub_->GetSession(As(Ops()).get(), get_session, &after).ok());
  EXPECT_EQ(after.session().reach(), before.session().reach());
  EXPECT_EQ(after.session().total_joins(), before.session().total_joins());
  v1::GetRoomStatsRequest stats_request;
  stats_request.set_room_id(room.id());
  v1::GetRoomStatsResponse stats;
  ASSERT_TRUE(stub_->GetRoomStats(As(Ops()).get(), stats_request, &stats).ok());
  EXPECT_EQ(stats.stats().concurrent_viewers(), 0);
  EXPECT_EQ(stats.stats().reach(), 0);
  EXPECT_EQ(stats.stats().total_joins(), 0);
}

}  // namespace
}  // namespace livecommerce::room
