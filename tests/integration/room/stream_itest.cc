// The stream of a room through the room service over gRPC, against the real Redis and MariaDB:
// push addresses and who may read them, the local streaming server's callbacks (as the gateway
// hands them on) driving the session, their replays and disorder, the grace period, recordings
// and key rotation. The streaming server itself (nginx-rtmp, ffmpeg, a browser) is in
// tests/e2e/stream_test.sh.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/grpc_server.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"
#include "services/common/sql.h"
#include "services/room/api/room_service.h"
#include "services/room/store/mysql_room_store.h"
#include "services/room/store/redis_presence_store.h"
#include "services/room/store/stream_store.h"
#include "services/room/stream/local_provider.h"
#include "services/room/stream/room_streams.h"
#include "tests/integration/room/room_itest_base.h"
#include "tests/support/test_env.h"

namespace livecommerce::room {
namespace {

using itest::kBrand;
using itest::kT0;

constexpr char kCallbackSecret[] = "stream-itest-callback-secret";

class StreamTest : public itest::RoomItestBase {
 protected:
  void SetUp() override {
    redis_ = testing::ConnectTestRedis();
    mysql_ = testing::ConnectTestMysql({"room_stream_callbacks", "room_recordings", "room_streams",
                                        "room_invites", "room_sessions", "rooms"});
    ASSERT_NE(redis_, nullptr);
    ASSERT_NE(mysql_, nullptr);
    provider_ = LocalProvider("stream-itest-play-secret");
    ASSERT_NE(provider_, nullptr);
    rooms_ = std::make_unique<MysqlRoomStore>(*mysql_);
    presence_ = std::make_unique<RedisPresenceStore>(*redis_, options_.presence_window);
    ASSERT_TRUE(presence_->LoadScripts().ok());
    stream_store_ = std::make_unique<MysqlStreamStore>(*mysql_);
    StreamOptions stream_options;
    stream_options.grace = absl::Seconds(30);
    stream_options.play_ttl = absl::Minutes(10);
    stream_options.key_secret = "stream-itest-key-secret";
    stream_options.callback_secret = kCallbackSecret;
    streams_ =
        std::make_unique<RoomStreams>(*stream_store_, *rooms_, *provider_, clock_, stream_options);
    service_ = std::make_unique<RoomServiceImpl>(*rooms_, *presence_, catalog_, clock_, codec_,
                                                 options_, nullptr, nullptr, streams_.get());
    Serve(*service_);
  }

  grpc::Status PushAddress(const Principal& who, const std::string& room_id,
                           v1::GetPushAddressResponse* out) {
    v1::GetPushAddressRequest request;
    request.set_room_id(room_id);
    return stub_->GetPushAddress(As(who).get(), request, out);
  }
  v1::GetPushAddressResponse PushAddress(const std::string& room_id) {
    v1::GetPushAddressResponse out;
    grpc::Status status = PushAddress(Ops(), room_id, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }
  // The stream name and key of a push address (OBS's "stream key": <name>?key=<key>).
  static std::pair<std::string, std::string> NameAndKey(const v1::PushAddress& push) {
    std::vector<std::string> parts = absl::StrSplit(push.stream_key(), "?key=");
    EXPECT_EQ(parts.size(), 2u) << push.stream_key();
    return {parts[0], parts.size() > 1 ? parts[1] : ""};
  }

  // A callback of the local server as the gateway passes it on.
  grpc::Status Callback(const std::string& route, const std::string& body,
                        v1::HandleStreamCallbackResponse* out,
                        const std::string& secret = kCallbackSecret) {
    v1::HandleStreamCallbackRequest request;
    request.set_provider("local");
    request.set_secret(secret);
    request.set_route(route);
    request.set_content_type("application/x-www-form-urlencoded");
    request.set_body(body);
    return stub_->HandleStreamCallback(As(Service()).get(), request, out);
  }
  int Publish(const std::string& name, const std::string& key, int clientid) {
    v1::HandleStreamCallbackResponse out;
    grpc::Status status =
        Callback("on_publish",
                 absl::StrCat("app=live&flashver=FMLE&call=publish&name=", name,
                              "&type=live&key=", key, "&clientid=", clientid, "&addr=127.0.0.1"),
                 &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out.http_status();
  }
  void PublishDone(const std::string& name, int clientid) {
    v1::HandleStreamCallbackResponse out;
    grpc::Status status = Callback(
        "on_publish_done",
        absl::StrCat("app=live&call=publish_done&name=", name, "&clientid=", clientid), &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(out.http_status(), 200);
  }

  v1::Room GetRoom(const std::string& room_id) {
    v1::GetRoomRequest request;
    request.set_room_id(room_id);
    v1::GetRoomResponse response;
    EXPECT_TRUE(stub_->GetRoom(As(Ops()).get(), request, &response).ok());
    return response.room();
  }
  v1::RoomStats Stats(const std::string& room_id) {
    v1::GetRoomStatsRequest request;
    request.set_room_id(room_id);
    v1::GetRoomStatsResponse response;
    EXPECT_TRUE(stub_->GetRoomStats(As(Ops()).get(), request, &response).ok());
    return response.stats();
  }
  // The stats cache of the stream lives a second of real time.
  void LetCachesExpire() { absl::SleepFor(absl::Milliseconds(1100)); }

  std::unique_ptr<stream::StreamProvider> provider_;
  std::unique_ptr<MysqlRoomStore> rooms_;
  std::unique_ptr<RedisPresenceStore> presence_;
  std::unique_ptr<MysqlStreamStore> stream_store_;
  std::unique_ptr<RoomStreams> streams_;
  std::unique_ptr<RoomServiceImpl> service_;
};

TEST_F(StreamTest, OpsAndTheHostReadThePushAddressAndNobodyElse) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  v1::GetPushAddressResponse first = PushAddress(room.id());
  auto [name, key] = NameAndKey(first.push());
  EXPECT_EQ(name.size(), 24u);
  EXPECT_EQ(first.push().url(), absl::StrCat("rtmp://127.0.0.1:1935/live/", name, "?key=", key));
  EXPECT_EQ(first.stream().state(), v1::STREAM_STATE_WAITING);
  EXPECT_NE(first.preview().hls().find(absl::StrCat("/", name, "/index.m3u8")), std::string::npos);
  // Asked again: the same stream and key.
  EXPECT_EQ(PushAddress(room.id()).push().url(), first.push().url());

  v1::GetPushAddressResponse out;
  EXPECT_EQ(PushAddress(Viewer("v1"), room.id(), &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(PushAddress(Associate("sa-1"), room.id(), &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(PushAddress(Ops("rival"), room.id(), &out).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(out.push().url().empty());
}

TEST_F(StreamTest, APushWithTheKeyMakesAScheduledRoomLiveAndViewersGetPlayAddresses) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC, true);
  auto [name, key] = NameAndKey(PushAddress(room.id()).push());
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Publish(name, key, 7), 200);
  v1::Room live = GetRoom(room.id());
  EXPECT_EQ(live.status(), v1::ROOM_STATUS_LIVE);
  v1::RoomStats stats = Stats(room.id());
  EXPECT_EQ(stats.stream().state(), v1::STREAM_STATE_UP);
  EXPECT_GE(stats.stream().publish_to_live_ms(), 0);

  v1::JoinRoomRequest join;
  join.set_room_id(room.id());
  join.set_device_id("phone-1");
  v1::JoinRoomResponse joined;
  ASSERT_TRUE(stub_->JoinRoom(As(Viewer("v1")).get(), join, &joined).ok());
  EXPECT_NE(joined.play().hls().find("/play/"), std::string::npos);
  EXPECT_EQ(joined.play().expires_at().seconds(),
            absl::ToUnixSeconds(clock_.Now() + absl::Minutes(10)));
  EXPECT_EQ(joined.stats().stream().state(), v1::STREAM_STATE_UP);

  // The same start told again (the server retried it): still one session.
  EXPECT_EQ(Publish(name, key, 7), 200);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM room_sessions"), 1);
}

TEST_F(StreamTest, AWrongKeyOrAForgedCallbackChangesNothing) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC, true);
  auto [name, key] = NameAndKey(PushAddress(room.id()).push());
  EXPECT_EQ(Publish(name, "not-the-key", 3), 403);
  EXPECT_EQ(Publish("no-such-stream", key, 3), 403);
  v1::HandleStreamCallbackResponse out;
  grpc::Status forged = Callback(
      "on_publish", absl::StrCat("app=live&call=publish&name=", name, "&key=", key, "&clientid=4"),
      &out, "a-guessed-callback-secret");
  EXPECT_EQ(forged.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status malformed = Callback("on_publish", "app=live&call=publish", &out);
  EXPECT_EQ(malformed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Only the gateway's service principal hands callbacks on.
  v1::HandleStreamCallbackRequest request;
  request.set_provider("local");
  request.set_secret(kCallbackSecret);
  EXPECT_EQ(stub_->HandleStreamCallback(As(Ops()).get(), request, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(GetRoom(room.id()).status(), v1::ROOM_STATUS_SCHEDULED);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM room_sessions"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM room_streams WHERE state = 1"), 1);
}

TEST_F(StreamTest, AStoppedPushInterruptsAndTheSameSessionResumesWithinTheGrace) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC, true);
  auto [name, key] = NameAndKey(PushAddress(room.id()).push());
  ASSERT_EQ(Publish(name, key, 10), 200);
  std::string session = GetRoom(room.id()).current_session_id();
  clock_.Advance(absl::Seconds(5));
  PublishDone(name, 10);
  LetCachesExpire();
  v1::RoomStats stats = Stats(room.id());
  EXPECT_EQ(stats.stream().state(), v1::STREAM_STATE_INTERRUPTED);
  EXPECT_EQ(stats.stream().ends_at().seconds(), absl::ToUnixSeconds(clock_.Now()) + 30);
  // The watchdog within the grace ends nothing.
  clock_.Advance(absl::Seconds(20));
  EXPECT_EQ(*service_->EndAbandonedSessions(), 0);
  // The encoder reconnects (a new connection): the same session goes on.
  EXPECT_EQ(Publish(name, key, 11), 200);
  v1::Room back = GetRoom(room.id());
  EXPECT_EQ(back.status(), v1::ROOM_STATUS_LIVE);
  EXPECT_EQ(back.current_session_id(), session);
  LetCachesExpire();
  EXPECT_EQ(Stats(room.id()).stream().state(), v1::STREAM_STATE_UP);
  // The first connection's stop, told again late, does not interrupt the second.
  PublishDone(name, 10);
  LetCachesExpire();
  EXPECT_EQ(Stats(room.id()).stream().state(), v1::STREAM_STATE_UP);
}

// The room's watchers (the gateway, for its sockets) hear of the push starting and stopping at
// once, not with the next per-second stats: the test clock never moves, so no periodic stats
// come after the first.
TEST_F(StreamTest, WatchersAreToldAtOnceWhenThePushStartsAndStops) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC, true);
  auto [name, key] = NameAndKey(PushAddress(room.id()).push());
  auto context = As(Service());
  v1::WatchRoomRequest watch;
  watch.set_room_id(room.id());
  auto reader = stub_->WatchRoom(context.get(), watch);
  // Reads stats messages until one has the status and stream state asked for (the stream may
  // be seen up a poll before the session is live); false if the watch ends first (the context's
  // deadline is 10 s).
  v1::RoomStats stats;
  auto stats_reach = [&](v1::RoomStatus status, v1::StreamState state) {
    v1::WatchRoomResponse message;
    while (reader->Read(&message)) {
      if (!message.has_stats()) continue;
      stats = message.stats();
      if (stats.status() == status && stats.stream().state() == state) return true;
    }
    return false;
  };
  v1::WatchRoomResponse first;
  do {
    ASSERT_TRUE(reader->Read(&first));
  } while (!first.has_stats());
  EXPECT_EQ(first.stats().status(), v1::ROOM_STATUS_SCHEDULED);
  EXPECT_NE(first.stats().stream().state(), v1::STREAM_STATE_UP);

  ASSERT_EQ(Publish(name, key, 20), 200);
  ASSERT_TRUE(stats_reach(v1::ROOM_STATUS_LIVE, v1::STREAM_STATE_UP))
      << "the watcher never heard the push start";
  EXPECT_EQ(stats.session_id(), GetRoom(room.id()).current_session_id());

  PublishDone(name, 20);
  ASSERT_TRUE(stats_reach(v1::ROOM_STATUS_LIVE, v1::STREAM_STATE_INTERRUPTED))
      << "the watcher never heard the push stop";
  context->TryCancel();
}

TEST_F(StreamTest, ASessionWhosePushDoesNotComeBackEndsAfterTheGrace) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC, true);
  auto [name, key] = NameAndKey(PushAddress(room.id()).push());
  ASSERT_EQ(Publish(name, key, 20), 200);
  PublishDone(name, 20);
  clock_.Advance(absl::Seconds(31));
  EXPECT_EQ(*service_->EndAbandonedSessions(), 1);
  EXPECT_EQ(*service_->EndAbandonedSessions(), 0);
  v1::Room ended = GetRoom(room.id());
  EXPECT_EQ(ended.status(), v1::ROOM_STATUS_ENDED);
  LetCachesExpire();
  EXPECT_EQ(Stats(room.id()).stream().state(), v1::STREAM_STATE_ENDED);
  // A late push to the ended room is taken (a preview) but does not reopen it.
  EXPECT_EQ(Publish(name, key, 21), 200);
  EXPECT_EQ(GetRoom(room.id()).status(), v1::ROOM_STATUS_ENDED);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM room_sessions"), 1);
  // Nor do ops read a push address of an ended room.
  v1::GetPushAddressResponse out;
  EXPECT_EQ(PushAddress(Ops(), room.id(), &out).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(StreamTest, ARoomThatDoesNotStartOnPublishWaitsForOps) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  auto [name, key] = NameAndKey(PushAddress(room.id()).push());
  ASSERT_EQ(Publish(name, key, 30), 200);
  EXPECT_EQ(GetRoom(room.id()).status(), v1::ROOM_STATUS_SCHEDULED);
  LetCachesExpire();
  EXPECT_EQ(Stats(room.id()).stream().state(), v1::STREAM_STATE_UP);  // ops see the preview
  clock_.Advance(absl::Milliseconds(1500));
  v1::GoLiveRequest go;
  go.set_room_id(room.id());
  v1::GoLiveResponse live;
  ASSERT_TRUE(stub_->GoLive(As(Ops()).get(), go, &live).ok());
  LetCachesExpire();
  v1::RoomStats stats = Stats(room.id());
  EXPECT_EQ(stats.stream().state(), v1::STREAM_STATE_UP);
  EXPECT_EQ(stats.stream().publish_to_live_ms(), 1500);
}

TEST_F(StreamTest, RecordingsAreRegisteredOnceAgainstTheSession) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC, true);
  auto [name, key] = NameAndKey(PushAddress(room.id()).push());
  ASSERT_EQ(Publish(name, key, 40), 200);
  std::string session = GetRoom(room.id()).current_session_id();
  std::string body = absl::StrCat("app=live&call=record_done&name=", name,
                                  "&clientid=40&recorder=&path=%2Fvar%2Frec%2F", name, "-1.flv");
  for (int i = 0; i < 2; ++i) {
    v1::HandleStreamCallbackResponse out;
    ASSERT_TRUE(Callback("on_record_done", body, &out).ok());
    EXPECT_EQ(out.http_status(), 200);
  }
  v1::ListRecordingsRequest request;
  request.set_room_id(room.id());
  v1::ListRecordingsResponse recordings;
  ASSERT_TRUE(stub_->ListRecordings(As(Ops()).get(), request, &recordings).ok());
  ASSERT_EQ(recordings.recordings_size(), 1);
  EXPECT_EQ(recordings.recordings(0).session_id(), session);
  EXPECT_EQ(recordings.recordings(0).location(), absl::StrCat("/var/rec/", name, "-1.flv"));
  EXPECT_EQ(stub_->ListRecordings(As(Viewer("v1")).get(), request, &recordings).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(StreamTest, ARotatedKeyNoLongerOpensAPush) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  auto [name, old_key] = NameAndKey(PushAddress(room.id()).push());
  v1::RotatePushKeyRequest request;
  request.set_room_id(room.id());
  v1::RotatePushKeyResponse rotated;
  ASSERT_TRUE(stub_->RotatePushKey(As(Ops()).get(), request, &rotated).ok());
  auto [same_name, new_key] = NameAndKey(rotated.push());
  EXPECT_EQ(same_name, name);
  EXPECT_NE(new_key, old_key);
  EXPECT_EQ(Publish(name, old_key, 50), 403);
  EXPECT_EQ(Publish(name, new_key, 51), 200);
  EXPECT_EQ(PushAddress(room.id()).push().url(), rotated.push().url());
}

}  // namespace
}  // namespace livecommerce::room
