#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "livecommerce/v1/room.pb.h"
#include "services/common/events.h"
#include "services/common/mysql_client.h"

namespace livecommerce::room {

// The replay of an ended session (docs/STREAMING.md, "Replays").
struct ReplayRecord {
  int64_t session_id = 0;
  std::string brand_id;
  int64_t room_id = 0;
  std::string location;
  int64_t duration_seconds = 0;
  v1::ReplaySource source = v1::REPLAY_SOURCE_UNSPECIFIED;
  absl::Time created_at;
};

// A pin or unpin during a live session (written by RoomStore::UpdatePin).
struct MomentRecord {
  int64_t id = 0;
  int64_t session_id = 0;
  v1::ProductMomentKind kind = v1::PRODUCT_MOMENT_KIND_UNSPECIFIED;
  std::string product_id;
  std::string sku_id;
  absl::Time at;
  int64_t offset_ms = 0;
};

// A viewer starting to watch a session's replay.
struct ReplayView {
  int64_t session_id = 0;
  std::string viewer_id;
  std::string brand_id;
  int64_t room_id = 0;
  std::string associate_id;  // behind the viewer's invite, if any
  absl::Time at;
};

// Replays, product moments and replay views (tables room_replays, room_session_moments,
// room_replay_views; recordings are MysqlStreamStore's). Each method is atomic. UNAVAILABLE when
// the database cannot be reached.
class MysqlReplayStore final {
 public:
  // `events` (may be null: no events) publishes ReplayViewed with a first view.
  explicit MysqlReplayStore(common::MysqlPool& pool, const common::EventOutbox* events = nullptr)
      : pool_(pool), events_(events) {}

  // The session's replay: the one set (a recording that arrived after the end, or ops'), else its
  // longest recording; nullopt when it has neither. The caller checks the session has ended.
  absl::StatusOr<std::optional<ReplayRecord>> Find(int64_t session_id);
  // The room's latest ended session that has a replay (set, or a recording); 0 when none.
  absl::StatusOr<int64_t> LatestReplaySession(int64_t room_id);
  // Sets the session's replay as ops registered it, replacing any before. The caller checks the
  // session is the room's and has ended (an ended session stays ended).
  absl::StatusOr<ReplayRecord> SetByOps(const ReplayRecord& replay);
  // The session's moments in timeline order.
  absl::StatusOr<std::vector<MomentRecord>> Moments(int64_t session_id);
  // Records the view once per session and viewer, with ReplayViewed in the same transaction;
  // true when it was the viewer's first.
  absl::StatusOr<bool> RecordView(const ReplayView& view);

 private:
  common::MysqlPool& pool_;
  const common::EventOutbox* events_;
};

}  // namespace livecommerce::room
