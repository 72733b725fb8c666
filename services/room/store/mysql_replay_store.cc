#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "livecommerce/events/v1/events.pb.h"
#include "services/common/proto_util.h"
#include "services/common/sql.h"
#include "services/room/store/replay_store.h"

namespace livecommerce::room {
namespace {

using common::MysqlConnection;
using common::Sql;
using common::SqlRow;

ReplayRecord ReadReplay(const SqlRow& row) {
  ReplayRecord r;
  r.session_id = row.Int("session_id");
  r.brand_id = row.Str("brand_id");
  r.room_id = row.Int("room_id");
  r.location = row.Str("location");
  r.duration_seconds = row.Int("duration_seconds");
  r.source = row.Enum<v1::ReplaySource>("source");
  r.created_at = row.Time("created_at");
  return r;
}

MomentRecord ReadMoment(const SqlRow& row) {
  MomentRecord m;
  m.id = row.Int("id");
  m.session_id = row.Int("session_id");
  m.kind = row.Enum<v1::ProductMomentKind>("kind");
  m.product_id = row.Str("product_id");
  m.sku_id = row.Str("sku_id");
  m.at = row.Time("occurred_at");
  m.offset_ms = row.Int("offset_ms");
  return m;
}

}  // namespace

absl::StatusOr<std::optional<ReplayRecord>> MysqlReplayStore::Find(int64_t session_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::optional<ReplayRecord>> {
    std::optional<ReplayRecord> set =
        Sql(c,
            "SELECT session_id, brand_id, room_id, location, duration_seconds, source, created_at "
            "FROM room_replays WHERE session_id = ?",
            session_id)
            .One(ReadReplay);
    if (set.has_value()) return set;
    // A recording that arrived while the session was still live (or before this table existed).
    return Sql(c,
               "SELECT session_id, brand_id, room_id, location, duration_seconds, ? AS source, "
               "created_at FROM room_recordings WHERE session_id = ? ORDER BY duration_seconds "
               "DESC, id DESC LIMIT 1",
               v1::REPLAY_SOURCE_RECORDING, session_id)
        .One(ReadReplay);
  });
}

absl::StatusOr<int64_t> MysqlReplayStore::LatestReplaySession(int64_t room_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<int64_t> {
    return Sql(c,
               "SELECT s.id FROM room_sessions s WHERE s.room_id = ? AND s.status = ? AND (EXISTS "
               "(SELECT 1 FROM room_replays p WHERE p.session_id = s.id) OR EXISTS (SELECT 1 FROM "
               "room_recordings g WHERE g.room_id = s.room_id AND g.session_id = s.id)) ORDER BY "
               "s.id DESC LIMIT 1",
               room_id, v1::SESSION_STATUS_ENDED)
        .Scalar()
        .value_or(0);
  });
}

absl::StatusOr<ReplayRecord> MysqlReplayStore::SetByOps(const ReplayRecord& r) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<ReplayRecord> {
    Sql(c,
        "INSERT INTO room_replays (session_id, brand_id, room_id, location, duration_seconds, "
        "source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE location = "
        "VALUES(location), duration_seconds = VALUES(duration_seconds), source = VALUES(source), "
        "created_at = VALUES(created_at)",
        r.session_id, r.brand_id, r.room_id, r.location, r.duration_seconds, v1::REPLAY_SOURCE_OPS,
        r.created_at)
        .Execute();
    std::optional<ReplayRecord> stored =
        Sql(c,
            "SELECT session_id, brand_id, room_id, location, duration_seconds, source, created_at "
            "FROM room_replays WHERE session_id = ?",
            r.session_id)
            .One(ReadReplay);
    if (!stored.has_value()) return absl::InternalError("replay not stored");
    return *std::move(stored);
  });
}

absl::StatusOr<std::vector<MomentRecord>> MysqlReplayStore::Moments(int64_t session_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<MomentRecord>> {
    return Sql(c,
               "SELECT id, session_id, kind, product_id, sku_id, occurred_at, offset_ms FROM "
               "room_session_moments WHERE session_id = ? ORDER BY offset_ms, id",
               session_id)
        .All(ReadMoment);
  });
}

absl::StatusOr<bool> MysqlReplayStore::RecordView(const ReplayView& v) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<bool> {
    int inserted = Sql(c,
                       "INSERT IGNORE INTO room_replay_views (session_id, viewer_id, brand_id, "
                       "room_id, associate_id, first_viewed_at) VALUES (?, ?, ?, ?, ?, ?)",
                       v.session_id, v.viewer_id, v.brand_id, v.room_id, v.associate_id, v.at)
                       .Execute();
    if (inserted != 1) return false;
    if (events_ != nullptr) {
      events::v1::ReplayViewed e;
      e.set_session_id(v.session_id);
      e.set_room_id(v.room_id);
      e.set_viewer_id(v.viewer_id);
      e.set_associate_id(v.associate_id);
      common::ToTimestamp(v.at, e.mutable_viewed_at());
      events_->Publish(c, v.brand_id, absl::StrCat(v.session_id, ":", v.viewer_id), e, v.at);
    }
    return true;
  });
}

}  // namespace livecommerce::room
