#include "absl/strings/str_cat.h"
#include "services/common/sql.h"
#include "services/room/store/stream_store.h"

namespace livecommerce::room {
namespace {

using common::MysqlConnection;
using common::Sql;
using common::SqlRow;

constexpr char kStreamColumns[] =
    "room_id, brand_id, stream_name, key_version, state, state_since, publish_sequence, "
    "publish_started_at, publish_to_live_ms, created_at, updated_at";

constexpr char kRecordingColumns[] =
    "id, brand_id, room_id, session_id, location, duration_seconds, size_bytes, created_at";

StreamRecord ReadStream(const SqlRow& row) {
  StreamRecord s;
  s.room_id = row.Int("room_id");
  s.brand_id = row.Str("brand_id");
  s.stream_name = row.Str("stream_name");
  s.key_version = static_cast<int>(row.Int("key_version"));
  s.state = row.Enum<StreamState>("state");
  s.state_since = row.Time("state_since");
  s.publish_sequence = row.Str("publish_sequence");
  s.publish_started_at = row.OptTime("publish_started_at");
  s.publish_to_live_ms = row.Int("publish_to_live_ms");
  s.created_at = row.Time("created_at");
  s.updated_at = row.Time("updated_at");
  return s;
}

RecordingRecord ReadRecording(const SqlRow& row) {
  RecordingRecord r;
  r.id = row.Int("id");
  r.brand_id = row.Str("brand_id");
  r.room_id = row.Int("room_id");
  r.session_id = row.Int("session_id");
  r.location = row.Str("location");
  r.duration_seconds = row.Int("duration_seconds");
  r.size_bytes = row.Int("size_bytes");
  r.created_at = row.Time("created_at");
  return r;
}

std::optional<StreamRecord> SelectStream(MysqlConnection& c, int64_t room_id, bool for_update) {
  return Sql(c,
             absl::StrCat("SELECT ", kStreamColumns, " FROM room_streams WHERE room_id = ?",
                          for_update ? " FOR UPDATE" : ""),
             room_id)
      .One(ReadStream);
}

void WriteStream(MysqlConnection& c, const StreamRecord& s, absl::Time now) {
  Sql(c,
      "UPDATE room_streams SET key_version = ?, state = ?, state_since = ?, publish_sequence = ?, "
      "publish_started_at = ?, publish_to_live_ms = ?, updated_at = ? WHERE room_id = ?",
      s.key_version, s.state, s.state_since, s.publish_sequence, s.publish_started_at,
      s.publish_to_live_ms, now, s.room_id)
      .Execute();
}

absl::Status NoStream() { return absl::NotFoundError("room_id: the room has no stream yet"); }

}  // namespace

absl::StatusOr<StreamRecord> MysqlStreamStore::GetOrCreate(int64_t room_id,
                                                           const std::string& brand_id,
                                                           const std::string& new_name,
                                                           absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<StreamRecord> {
    // Two first askers race to the same primary key: one row, both read it.
    Sql(c,
        "INSERT IGNORE INTO room_streams (room_id, brand_id, stream_name, key_version, state, "
        "state_since, publish_sequence, publish_to_live_ms, created_at, updated_at) VALUES (?, ?, "
        "?, 1, ?, ?, '', 0, ?, ?)",
        room_id, brand_id, new_name, v1::STREAM_STATE_WAITING, now, now, now)
        .Execute();
    std::optional<StreamRecord> s = SelectStream(c, room_id, false);
    if (!s.has_value()) return NoStream();
    return *std::move(s);
  });
}

absl::StatusOr<StreamRecord> MysqlStreamStore::Get(int64_t room_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<StreamRecord> {
    std::optional<StreamRecord> s = SelectStream(c, room_id, false);
    if (!s.has_value()) return NoStream();
    return *std::move(s);
  });
}

absl::StatusOr<StreamRecord> MysqlStreamStore::FindByName(const std::string& stream_name) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<StreamRecord> {
    std::optional<StreamRecord> s =
        Sql(c, absl::StrCat("SELECT ", kStreamColumns, " FROM room_streams WHERE stream_name = ?"),
            stream_name)
            .One(ReadStream);
    if (!s.has_value()) return absl::NotFoundError("stream: no such stream");
    return *std::move(s);
  });
}

absl::StatusOr<AppliedCallback> MysqlStreamStore::ApplyCallback(
    int64_t room_id, const CallbackFact& fact, absl::Time now,
    const std::function<std::optional<StreamRecord>(const StreamRecord&, bool)>& decide) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<AppliedCallback> {
    std::optional<StreamRecord> s = SelectStream(c, room_id, true);
    if (!s.has_value()) return NoStream();
    AppliedCallback out;
    out.stream = *s;
    // Under the stream's lock, so a callback and its replay never both pass. A key seen longer
    // ago than the replay window is another callback.
    absl::Time window_start = now - fact.replay_window;
    std::optional<absl::Time> seen =
        Sql(c, "SELECT received_at FROM room_stream_callbacks WHERE dedupe_key = ?",
            fact.dedupe_key)
            .One([](const SqlRow& row) { return row.Time("received_at"); });
    out.first_time = !seen.has_value() || *seen <= window_start;
    if (!out.first_time) return out;
    Sql(c,
        "INSERT INTO room_stream_callbacks (dedupe_key, room_id, kind, sequence, received_at) "
        "VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE room_id = VALUES(room_id), kind = "
        "VALUES(kind), sequence = VALUES(sequence), received_at = VALUES(received_at)",
        fact.dedupe_key, room_id, fact.kind, fact.sequence, now)
        .Execute();
    bool stopped_before = false;
    if (fact.kind == stream::StreamEventKind::kPublishStarted && !fact.sequence.empty() &&
        fact.replay_window > absl::ZeroDuration()) {
      stopped_before =
          Sql(c,
              "SELECT COUNT(*) FROM room_stream_callbacks WHERE room_id = ? AND kind = ? AND "
              "sequence = ? AND received_at >= ?",
              room_id, stream::StreamEventKind::kPublishStopped, fact.sequence, window_start)
              .Scalar()
              .value_or(0) > 0;
    }
    std::optional<StreamRecord> next = decide(*s, stopped_before);
    if (next.has_value()) {
      WriteStream(c, *next, now);
      out.stream = *std::move(next);
    }
    return out;
  });
}

absl::StatusOr<StreamRecord> MysqlStreamStore::Update(
    int64_t room_id, const std::function<void(StreamRecord&)>& change) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<StreamRecord> {
    std::optional<StreamRecord> s = SelectStream(c, room_id, true);
    if (!s.has_value()) return NoStream();
    StreamRecord next = *s;
    change(next);
    WriteStream(c, next, next.updated_at > s->updated_at ? next.updated_at : s->updated_at);
    return next;
  });
}

absl::StatusOr<RecordingRecord> MysqlStreamStore::AddRecording(const RecordingRecord& r,
                                                               const std::string& dedupe_key) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<RecordingRecord> {
    Sql(c,
        "INSERT IGNORE INTO room_recordings (brand_id, room_id, session_id, location, "
        "duration_seconds, size_bytes, dedupe_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        r.brand_id, r.room_id, r.session_id == 0 ? std::optional<int64_t>() : r.session_id,
        r.location, r.duration_seconds, r.size_bytes, dedupe_key, r.created_at)
        .Execute();
    std::optional<RecordingRecord> stored =
        Sql(c,
            absl::StrCat("SELECT ", kRecordingColumns,
                         " FROM room_recordings WHERE dedupe_key = ?"),
            dedupe_key)
            .One(ReadRecording);
    if (!stored.has_value()) return absl::InternalError("recording not stored");
    if (stored->session_id != 0) {
      // The first recording of an ended session is its replay; ops may replace it (SetReplay).
      // One of a session still live is found by GetReplay once the session has ended.
      Sql(c,
          "INSERT IGNORE INTO room_replays (session_id, brand_id, room_id, location, "
          "duration_seconds, source, created_at) SELECT id, brand_id, room_id, ?, ?, ?, ? FROM "
          "room_sessions WHERE id = ? AND room_id = ? AND status = ?",
          stored->location, stored->duration_seconds, v1::REPLAY_SOURCE_RECORDING,
          stored->created_at, stored->session_id, stored->room_id, v1::SESSION_STATUS_ENDED)
          .Execute();
    }
    return *std::move(stored);
  });
}

absl::StatusOr<std::vector<RecordingRecord>> MysqlStreamStore::ListRecordings(int64_t room_id,
                                                                              int64_t before_id,
                                                                              int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<RecordingRecord>> {
    return Sql(c,
               absl::StrCat("SELECT ", kRecordingColumns,
                            " FROM room_recordings WHERE room_id = ? AND (? = 0 OR id < ?) "
                            "ORDER BY id DESC LIMIT ?"),
               room_id, before_id, before_id, limit)
        .All(ReadRecording);
  });
}

absl::StatusOr<std::vector<int64_t>> MysqlStreamStore::InterruptedSince(absl::Time cutoff,
                                                                        int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<int64_t>> {
    return Sql(c,
               "SELECT room_id FROM room_streams WHERE state = ? AND state_since < ? ORDER BY "
               "state_since LIMIT ?",
               v1::STREAM_STATE_INTERRUPTED, cutoff, limit)
        .All([](const SqlRow& row) { return row.Int("room_id"); });
  });
}

}  // namespace livecommerce::room
