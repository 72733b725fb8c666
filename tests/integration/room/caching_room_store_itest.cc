// CachingRoomStore in front of the real MysqlRoomStore (the MariaDB that scripts/test starts): a
// room is read once per ttl, a write through the cache (settings, a session started or ended) is
// seen at once, a write that bypasses it (another replica) is seen after the ttl.
#include <memory>

#include "gtest/gtest.h"
#include "services/common/clock.h"
#include "services/room/store/caching_room_store.h"
#include "services/room/store/mysql_room_store.h"
#include "tests/support/test_env.h"

namespace livecommerce::room {
namespace {

class CachingRoomStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mysql_ = testing::ConnectTestMysql(
        {"room_session_moments", "room_invites", "room_sessions", "rooms"});
    ASSERT_NE(mysql_, nullptr);
    store_ = std::make_unique<MysqlRoomStore>(*mysql_);
  }

  int64_t CreateRoom() {
    RoomRecord room;
    room.brand_id = "maison";
    room.title = "Autumn";
    room.scheduled_start = clock_.Now() + absl::Hours(1);
    room.visibility = v1::VISIBILITY_PUBLIC;
    room.objective = v1::OBJECTIVE_PURCHASE;
    room.format = v1::FORMAT_SALES_DRIVEN;
    room.created_by = "ops-1";
    room.created_at = room.updated_at = clock_.Now();
    auto created = store_->CreateRoom(room);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->id : 0;
  }

  static std::function<absl::Status(RoomRecord&)> Retitle(const std::string& title) {
    return [title](RoomRecord& room) {
      room.title = title;
      return absl::OkStatus();
    };
  }

  std::string Title(RoomStore& store, int64_t id) {
    auto room = store.GetRoom(id);
    EXPECT_TRUE(room.ok()) << room.status();
    return room.ok() ? room->title : "";
  }

  common::SystemClock clock_;
  std::unique_ptr<common::MysqlPool> mysql_;
  std::unique_ptr<MysqlRoomStore> store_;
};

TEST_F(CachingRoomStoreTest, KeepsTheRoomUntilAWriteThroughIt) {
  CachingRoomStore cache(*store_, absl::Hours(1));
  int64_t id = CreateRoom();
  EXPECT_EQ(Title(cache, id), "Autumn");

  // Another replica renames it: this process keeps serving what it read.
  ASSERT_TRUE(store_->UpdateRoom(id, Retitle("Winter")).ok());
  EXPECT_EQ(Title(cache, id), "Autumn");

  ASSERT_TRUE(cache.UpdateRoom(id, Retitle("Spring")).ok());
  EXPECT_EQ(Title(cache, id), "Spring");

  // Going live and ending through the cache are seen at once.
  ASSERT_TRUE(cache.StartSession(id, clock_.Now(), 4).ok());
  auto live = cache.GetRoom(id);
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(live->status, v1::ROOM_STATUS_LIVE);
  EXPECT_NE(live->current_session_id, 0);
  ASSERT_TRUE(cache
                  .EndSession(id, clock_.Now(),
                              [](const SessionRecord&) -> absl::StatusOr<SessionStats> {
                                return SessionStats{};
                              })
                  .ok());
  auto ended = cache.GetRoom(id);
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_EQ(ended->status, v1::ROOM_STATUS_ENDED);
}

TEST_F(CachingRoomStoreTest, AFailedWriteStillDropsTheRoom) {
  CachingRoomStore cache(*store_, absl::Hours(1));
  int64_t id = CreateRoom();
  EXPECT_EQ(Title(cache, id), "Autumn");
  ASSERT_TRUE(store_->UpdateRoom(id, Retitle("Winter")).ok());
  auto refused = cache.UpdateRoom(id, [](RoomRecord&) { return absl::InvalidArgumentError("no"); });
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Title(cache, id), "Winter");
}

TEST_F(CachingRoomStoreTest, AnExpiredOrZeroTtlReadsTheStore) {
  CachingRoomStore short_lived(*store_, absl::Milliseconds(50));
  CachingRoomStore none(*store_, absl::ZeroDuration());
  int64_t id = CreateRoom();
  EXPECT_EQ(Title(short_lived, id), "Autumn");
  EXPECT_EQ(Title(none, id), "Autumn");
  ASSERT_TRUE(store_->UpdateRoom(id, Retitle("Winter")).ok());
  EXPECT_EQ(Title(none, id), "Winter");
  absl::SleepFor(absl::Milliseconds(60));
  EXPECT_EQ(Title(short_lived, id), "Winter");
}

TEST_F(CachingRoomStoreTest, AnUnknownRoomIsNotFound) {
  CachingRoomStore cache(*store_, absl::Hours(1));
  EXPECT_EQ(cache.GetRoom(999999).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace livecommerce::room
