#include <map>

#include "gtest/gtest.h"
#include "services/room/domain/room.h"

namespace livecommerce::room {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1800000000);

RoomRecord ValidRoom() {
  RoomRecord room;
  room.brand_id = "maison";
  room.title = "Spring private preview";
  room.description = "For our clients.\nWith champagne.";
  room.cover_image_url = "https://cdn.example.com/cover.jpg";
  room.scheduled_start = kStart;
  room.scheduled_end = kStart + absl::Hours(1);
  room.visibility = v1::VISIBILITY_PRIVATE;
  room.audiences = {v1::AUDIENCE_CLIENTS, v1::AUDIENCE_PROSPECTS};
  room.objective = v1::OBJECTIVE_PURCHASE;
  room.format = v1::FORMAT_SALES_DRIVEN;
  return room;
}

void ExpectInvalidField(const RoomRecord& room, absl::string_view field) {
  absl::Status status = ValidateRoom(room);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(status.message().substr(0, field.size()), field) << status;
}

TEST(ValidateRoomTest, AcceptsAValidRoom) { EXPECT_TRUE(ValidateRoom(ValidRoom()).ok()); }

TEST(ValidateRoomTest, AssociateInvitesNeedAQuotaWhenEnabledAndNoneWhenNot) {
  RoomRecord room = ValidRoom();
  room.associate_invites_enabled = true;
  room.associate_invite_quota = 0;
  EXPECT_EQ(ValidateRoom(room).message(),
            "associate_invites.quota_per_associate: must be 1 to 10000 when associate invites are "
            "enabled");
  room.associate_invite_quota = kMaxAssociateInviteQuota + 1;
  EXPECT_FALSE(ValidateRoom(room).ok());
  room.associate_invite_quota = 25;
  EXPECT_TRUE(ValidateRoom(room).ok());
  room.associate_invites_enabled = false;
  EXPECT_EQ(ValidateRoom(room).code(), absl::StatusCode::kInvalidArgument);
  room.associate_invite_quota = 0;
  EXPECT_TRUE(ValidateRoom(room).ok());
}

TEST(AssociateQuotaTest, AllowsUpToTheQuotaAndSaysWhatIsLeft) {
  EXPECT_TRUE(CheckAssociateQuota({10, 7}, 3).ok());
  absl::Status over = CheckAssociateQuota({10, 7}, 4);
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(over.message(), "count: quota of 10 invites reached, 3 left");
  EXPECT_EQ(CheckAssociateQuota({10, 12}, 1).message(),
            "count: quota of 10 invites reached, 0 left");  // the quota was lowered since
  EXPECT_EQ((AssociateQuota{10, 12}.Left()), 0);
}

TEST(ValidateRoomTest, NamesTheBadField) {
  RoomRecord room = ValidRoom();
  room.title = "";
  ExpectInvalidField(room, "title");
  room = ValidRoom();
  room.title = std::string(kMaxTitleBytes + 1, 'x');
  ExpectInvalidField(room, "title");
  room = ValidRoom();
  room.description = std::string(kMaxDescriptionBytes + 1, 'x');
  ExpectInvalidField(room, "description");
  room = ValidRoom();
  room.cover_image_url = "javascript:alert(1)";
  ExpectInvalidField(room, "cover_image_url");
  room = ValidRoom();
  room.scheduled_end = kStart - absl::Minutes(1);
  ExpectInvalidField(room, "scheduled_end");
  room = ValidRoom();
  room.scheduled_start = absl::UnixEpoch();
  ExpectInvalidField(room, "scheduled_start");
  room = ValidRoom();
  room.visibility = static_cast<Visibility>(9);
  ExpectInvalidField(room, "visibility");
  room = ValidRoom();
  room.audiences = {};
  ExpectInvalidField(room, "audiences");
  room = ValidRoom();
  room.audiences = {v1::AUDIENCE_CLIENTS, v1::AUDIENCE_CLIENTS};
  ExpectInvalidField(room, "audiences");
  room = ValidRoom();
  room.objective = v1::OBJECTIVE_UNSPECIFIED;
  ExpectInvalidField(room, "objective");
  room = ValidRoom();
  room.format = static_cast<Format>(77);
  ExpectInvalidField(room, "format");
  room = ValidRoom();
  room.brand_id = "bad brand";
  ExpectInvalidField(room, "brand_id");
}

TEST(TransitionTest, AllowsTheLifecycle) {
  EXPECT_TRUE(CheckTransition(v1::ROOM_STATUS_SCHEDULED, v1::ROOM_STATUS_LIVE).ok());
  EXPECT_TRUE(CheckTransition(v1::ROOM_STATUS_LIVE, v1::ROOM_STATUS_ENDED).ok());
  EXPECT_TRUE(CheckTransition(v1::ROOM_STATUS_ENDED, v1::ROOM_STATUS_LIVE).ok());
}

TEST(TransitionTest, RefusesEverythingElse) {
  for (auto [from, to] : std::vector<std::pair<RoomStatus, RoomStatus>>{
           {v1::ROOM_STATUS_SCHEDULED, v1::ROOM_STATUS_ENDED},
           {v1::ROOM_STATUS_LIVE, v1::ROOM_STATUS_LIVE},
           {v1::ROOM_STATUS_ENDED, v1::ROOM_STATUS_ENDED},
           {v1::ROOM_STATUS_LIVE, v1::ROOM_STATUS_SCHEDULED}}) {
    EXPECT_EQ(CheckTransition(from, to).code(), absl::StatusCode::kFailedPrecondition);
  }
}

TEST(UpdateTest, VisibilityIsFrozenWhileLive) {
  RoomRecord before = ValidRoom();
  before.status = v1::ROOM_STATUS_LIVE;
  RoomRecord after = before;
  after.visibility = v1::VISIBILITY_PUBLIC;
  EXPECT_EQ(CheckUpdateAllowed(before, after).code(), absl::StatusCode::kFailedPrecondition);
  before.status = v1::ROOM_STATUS_SCHEDULED;
  after.status = v1::ROOM_STATUS_SCHEDULED;
  EXPECT_TRUE(CheckUpdateAllowed(before, after).ok());
}

TEST(AudienceTest, BitsRoundTrip) {
  std::vector<Audience> audiences = {v1::AUDIENCE_FOLLOWERS, v1::AUDIENCE_PROSPECTS};
  EXPECT_EQ(AudiencesFromBits(AudienceBits(audiences)), audiences);
  EXPECT_TRUE(AudiencesFromBits(0).empty());
}

TEST(InviteTest, StatusAndUsability) {
  InviteRecord invite;
  invite.expires_at = kStart + absl::Hours(1);
  EXPECT_EQ(StatusOf(invite, kStart), v1::INVITE_STATUS_OPEN);
  EXPECT_TRUE(CheckInviteUsable(invite, "viewer-a", kStart).ok());
  EXPECT_EQ(StatusOf(invite, kStart + absl::Hours(2)), v1::INVITE_STATUS_EXPIRED);
  EXPECT_EQ(CheckInviteUsable(invite, "viewer-a", kStart + absl::Hours(2)).code(),
            absl::StatusCode::kPermissionDenied);
  invite.bound_viewer_id = "viewer-a";
  EXPECT_EQ(StatusOf(invite, kStart), v1::INVITE_STATUS_BOUND);
  EXPECT_TRUE(CheckInviteUsable(invite, "viewer-a", kStart).ok());
  EXPECT_EQ(CheckInviteUsable(invite, "viewer-b", kStart).code(),
            absl::StatusCode::kPermissionDenied);
  invite.revoked_at = kStart;
  EXPECT_EQ(StatusOf(invite, kStart), v1::INVITE_STATUS_REVOKED);
  EXPECT_EQ(CheckInviteUsable(invite, "viewer-a", kStart).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(PresenceBucketTest, StableAndSpread) {
  EXPECT_EQ(PresenceBucket("viewer-1", 8), PresenceBucket("viewer-1", 8));
  EXPECT_EQ(PresenceBucket("viewer-1", 1), 0);
  std::map<int, int> counts;
  for (int i = 0; i < 8000; ++i) {
    int b = PresenceBucket("viewer-" + std::to_string(i), 8);
    ASSERT_GE(b, 0);
    ASSERT_LT(b, 8);
    ++counts[b];
  }
  ASSERT_EQ(counts.size(), 8u);
  for (auto [bucket, n] : counts) {
    EXPECT_GT(n, 800) << bucket;
    EXPECT_LT(n, 1200) << bucket;
  }
}

TEST(DeviceIdTest, Validation) {
  EXPECT_TRUE(ValidateDeviceId("iphone-15.a1").ok());
  EXPECT_FALSE(ValidateDeviceId("").ok());
  EXPECT_FALSE(ValidateDeviceId(std::string(65, 'd')).ok());
  EXPECT_FALSE(ValidateDeviceId("dev=1;x").ok());
}

TEST(DurationTest, WholeSeconds) {
  EXPECT_EQ(DurationSeconds(kStart, kStart + absl::Milliseconds(90500)), 90);
  EXPECT_EQ(DurationSeconds(kStart, kStart - absl::Seconds(1)), 0);
}

}  // namespace
}  // namespace livecommerce::room
