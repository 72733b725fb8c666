// The stream's pure decisions (services/room/domain/stream.h): push keys, and what each callback
// does, in order and out of order.
#include <cstdint>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "services/room/domain/stream.h"

namespace livecommerce::room {
namespace {

using stream::StreamEvent;
using stream::StreamEventKind;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);
constexpr char kSecret[] = "unit-test-push-key-secret";

StreamRecord Waiting() {
  StreamRecord s;
  s.room_id = 7;
  s.brand_id = "maison";
  s.stream_name = "abcdefghijklmnopqrstuvwx";
  s.state = v1::STREAM_STATE_WAITING;
  s.state_since = kNow - absl::Hours(1);
  return s;
}

RoomRecord Room(v1::RoomStatus status, bool start_on_publish) {
  RoomRecord r;
  r.id = 7;
  r.brand_id = "maison";
  r.status = status;
  r.start_on_publish = start_on_publish;
  return r;
}

StreamEvent Event(StreamEventKind kind, const std::string& sequence) {
  StreamEvent e;
  e.kind = kind;
  e.stream_name = "abcdefghijklmnopqrstuvwx";
  e.sequence = sequence;
  e.occurred_at = kNow - absl::Milliseconds(300);
  e.dedupe_key = "k";
  return e;
}

TEST(StreamNameTest, IsRandomAndWithinTheProvidersAlphabet) {
  std::set<std::string> names;
  for (int i = 0; i < 200; ++i) {
    std::string name = NewStreamName();
    EXPECT_EQ(name.size(), 24u);
    EXPECT_TRUE(stream::IsValidStreamName(name)) << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), 200u);
}

TEST(PushKeyTest, DependsOnSecretNameAndVersion) {
  std::string key = PushKey(kSecret, "stream-a", 1);
  EXPECT_EQ(key.size(), 32u);
  EXPECT_TRUE(stream::IsValidPushKey(key));
  EXPECT_EQ(key, PushKey(kSecret, "stream-a", 1));
  EXPECT_NE(key, PushKey(kSecret, "stream-a", 2));
  EXPECT_NE(key, PushKey(kSecret, "stream-b", 1));
  EXPECT_NE(key, PushKey("another-secret-of-16", "stream-a", 1));
}

TEST(PushKeyTest, ARotatedKeyNoLongerMatches) {
  StreamRecord s = Waiting();
  std::string first = PushKey(kSecret, s.stream_name, s.key_version);
  EXPECT_TRUE(PushKeyMatches(kSecret, s, first));
  ++s.key_version;
  EXPECT_FALSE(PushKeyMatches(kSecret, s, first));
  EXPECT_TRUE(PushKeyMatches(kSecret, s, PushKey(kSecret, s.stream_name, s.key_version)));
  EXPECT_FALSE(PushKeyMatches(kSecret, s, ""));
}

TEST(DecideTest, AStartWithTheRightKeyMarksTheStreamUp) {
  StreamDecision d = Decide(Waiting(), Room(v1::ROOM_STATUS_LIVE, false),
                            Event(StreamEventKind::kPublishStarted, "1"), true, false, kNow);
  EXPECT_TRUE(d.accepted);
  EXPECT_TRUE(d.changes);
  EXPECT_FALSE(d.go_live);  // already live
  EXPECT_EQ(d.next.state, v1::STREAM_STATE_UP);
  EXPECT_EQ(d.next.state_since, kNow);
  EXPECT_EQ(d.next.publish_sequence, "1");
  EXPECT_EQ(d.next.publish_started_at, kNow - absl::Milliseconds(300));
}

TEST(DecideTest, AWrongKeyIsRefusedAndChangesNothing) {
  StreamDecision d = Decide(Waiting(), Room(v1::ROOM_STATUS_SCHEDULED, true),
                            Event(StreamEventKind::kPublishStarted, "1"), false, false, kNow);
  EXPECT_FALSE(d.accepted);
  EXPECT_FALSE(d.changes);
  EXPECT_FALSE(d.go_live);
}

TEST(DecideTest, OnlyAScheduledRoomThatStartsOnPublishGoesLive) {
  StreamEvent start = Event(StreamEventKind::kPublishStarted, "1");
  EXPECT_TRUE(
      Decide(Waiting(), Room(v1::ROOM_STATUS_SCHEDULED, true), start, true, false, kNow).go_live);
  EXPECT_FALSE(
      Decide(Waiting(), Room(v1::ROOM_STATUS_SCHEDULED, false), start, true, false, kNow).go_live);
  // An ended room is not reopened by a push: ops go live again.
  EXPECT_FALSE(
      Decide(Waiting(), Room(v1::ROOM_STATUS_ENDED, true), start, true, false, kNow).go_live);
  EXPECT_FALSE(
      Decide(Waiting(), Room(v1::ROOM_STATUS_LIVE, true), start, true, false, kNow).go_live);
}

TEST(DecideTest, AStopOfTheCurrentPushInterruptsALiveSession) {
  StreamRecord up = Decide(Waiting(), Room(v1::ROOM_STATUS_LIVE, false),
                           Event(StreamEventKind::kPublishStarted, "1"), true, false, kNow)
                        .next;
  StreamDecision d =
      Decide(up, Room(v1::ROOM_STATUS_LIVE, false), Event(StreamEventKind::kPublishStopped, "1"),
             false, false, kNow + absl::Seconds(5));
  EXPECT_TRUE(d.changes);
  EXPECT_EQ(d.next.state, v1::STREAM_STATE_INTERRUPTED);
  EXPECT_EQ(d.next.state_since, kNow + absl::Seconds(5));
  // Before going live there is no session to interrupt: the stream waits.
  StreamDecision preview =
      Decide(up, Room(v1::ROOM_STATUS_SCHEDULED, false),
             Event(StreamEventKind::kPublishStopped, "1"), false, false, kNow + absl::Seconds(5));
  EXPECT_EQ(preview.next.state, v1::STREAM_STATE_WAITING);
}

TEST(DecideTest, AStopOfAnotherPushChangesNothing) {
  // e.g. the publish_done of a second push nginx refused while the first was live.
  StreamRecord up = Decide(Waiting(), Room(v1::ROOM_STATUS_LIVE, false),
                           Event(StreamEventKind::kPublishStarted, "1"), true, false, kNow)
                        .next;
  StreamDecision d = Decide(up, Room(v1::ROOM_STATUS_LIVE, false),
                            Event(StreamEventKind::kPublishStopped, "2"), false, false, kNow);
  EXPECT_FALSE(d.changes);
  EXPECT_TRUE(d.accepted);
  EXPECT_FALSE(d.ignored.empty());
}

TEST(DecideTest, AStartAfterItsOwnStopChangesNothing) {
  StreamDecision d = Decide(Waiting(), Room(v1::ROOM_STATUS_SCHEDULED, true),
                            Event(StreamEventKind::kPublishStarted, "1"), true, true, kNow);
  EXPECT_FALSE(d.changes);
  EXPECT_FALSE(d.go_live);
  EXPECT_TRUE(d.accepted);
}

TEST(DecideTest, AResumedPushBringsAnInterruptedSessionBack) {
  RoomRecord live = Room(v1::ROOM_STATUS_LIVE, false);
  StreamRecord s =
      Decide(Waiting(), live, Event(StreamEventKind::kPublishStarted, "1"), true, false, kNow).next;
  s = Decide(s, live, Event(StreamEventKind::kPublishStopped, "1"), false, false, kNow).next;
  ASSERT_EQ(s.state, v1::STREAM_STATE_INTERRUPTED);
  StreamDecision back = Decide(s, live, Event(StreamEventKind::kPublishStarted, "2"), true, false,
                               kNow + absl::Seconds(20));
  EXPECT_TRUE(back.changes);
  EXPECT_EQ(back.next.state, v1::STREAM_STATE_UP);
  EXPECT_EQ(back.next.publish_sequence, "2");
  // The old push's stop, arriving late, no longer interrupts it.
  EXPECT_FALSE(Decide(back.next, live, Event(StreamEventKind::kPublishStopped, "1"), false, false,
                      kNow + absl::Seconds(21))
                   .changes);
}

TEST(DecideTest, ARepeatedStartOfTheSamePushChangesNothingButStillGoesLive) {
  RoomRecord scheduled = Room(v1::ROOM_STATUS_SCHEDULED, true);
  StreamRecord up =
      Decide(Waiting(), scheduled, Event(StreamEventKind::kPublishStarted, "1"), true, false, kNow)
          .next;
  StreamDecision again = Decide(up, scheduled, Event(StreamEventKind::kPublishStarted, "1"), true,
                                false, kNow + absl::Seconds(60));
  EXPECT_FALSE(again.changes);
  EXPECT_TRUE(again.go_live);  // idempotent: a session started meanwhile refuses it harmlessly
}

TEST(StreamStatusTest, AnInterruptedStreamSaysWhenTheSessionEnds) {
  StreamRecord s = Waiting();
  s.state = v1::STREAM_STATE_INTERRUPTED;
  s.state_since = kNow;
  v1::StreamStatus status = StatusOf(s, absl::Seconds(45));
  EXPECT_EQ(status.state(), v1::STREAM_STATE_INTERRUPTED);
  EXPECT_EQ(status.ends_at().seconds(), absl::ToUnixSeconds(kNow + absl::Seconds(45)));
  s.state = v1::STREAM_STATE_UP;
  EXPECT_FALSE(StatusOf(s, absl::Seconds(45)).has_ends_at());
  StreamRecord ended = Ended(s, kNow);
  EXPECT_EQ(ended.state, v1::STREAM_STATE_ENDED);
  EXPECT_TRUE(ended.publish_sequence.empty());
}

TEST(ReplayValidationTest, LocationsAreHttpsUrlsOrRecordingPaths) {
  for (const char* ok : {"https://vod.example.com/a/b.mp4", "rec/autumn.flv", "/var/rec/a.flv",
                         "https://vod.example.com/a.mp4?x=1"}) {
    EXPECT_TRUE(ValidateReplayLocation(ok).ok()) << ok;
  }
  for (const std::string& bad :
       {std::string(), std::string(1025, 'a'), std::string("a b.flv"), std::string("a\tb"),
        std::string("http://vod.example.com/a.mp4"), std::string("ftp://h/a"),
        std::string("https://"), std::string("https:///a.mp4"), std::string("../etc/passwd"),
        std::string("rec/../../x"), std::string("https://h/a/..?x")}) {
    absl::Status s = ValidateReplayLocation(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(absl::StartsWith(s.message(), "location")) << s.message();
  }
  EXPECT_TRUE(ValidateReplayDuration(1).ok());
  EXPECT_TRUE(ValidateReplayDuration(7 * 24 * 3600).ok());
  for (int64_t bad : {int64_t{0}, int64_t{-1}, int64_t{7 * 24 * 3600 + 1}}) {
    absl::Status s = ValidateReplayDuration(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(absl::StartsWith(s.message(), "duration_seconds")) << s.message();
  }
}

}  // namespace
}  // namespace livecommerce::room
