#include "services/room/store/mysql_room_store.h"

#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "services/common/status.h"

namespace livecommerce::room {
namespace {

using common::FromSqlTime;
using common::MysqlConnection;
using common::ToSqlTime;

constexpr char kRoomColumns[] =
    "id, brand_id, title, description, cover_image_url, scheduled_start, scheduled_end, "
    "visibility, audiences, objective, format, status, host_associate_id, current_session_id, "
    "pinned_product_id, pinned_sku_id, pinned_at, created_by, created_at, updated_at, "
    "associate_invites_enabled, associate_invite_quota";

constexpr char kSessionColumns[] =
    "id, brand_id, room_id, status, presence_buckets, started_at, ended_at, reach, "
    "peak_concurrency, total_joins, duration_seconds, watch_ms";

constexpr char kInviteColumns[] =
    "id, brand_id, room_id, token_hash, cohort, client_ref, associate_id, expires_at, revoked_at, "
    "bound_viewer_id, bound_at, last_joined_at, issued_by, created_at";

absl::Time RequiredTime(sql::ResultSet& rs, int column) {
  return common::SqlTimeAt(rs, column).value_or(absl::UnixEpoch());
}

std::string Text(sql::ResultSet& rs, int column) {
  return rs.isNull(column) ? std::string() : std::string(rs.getString(column));
}

void SetOptionalTime(sql::PreparedStatement& s, int index, const std::optional<absl::Time>& t) {
  if (t.has_value()) {
    s.setDateTime(index, ToSqlTime(*t));
  } else {
    s.setNull(index, 0);
  }
}

RoomRecord ReadRoom(sql::ResultSet& rs) {
  RoomRecord room;
  room.id = rs.getInt64(1);
  room.brand_id = Text(rs, 2);
  room.title = Text(rs, 3);
  room.description = Text(rs, 4);
  room.cover_image_url = Text(rs, 5);
  room.scheduled_start = RequiredTime(rs, 6);
  room.scheduled_end = common::SqlTimeAt(rs, 7);
  room.visibility = static_cast<Visibility>(rs.getInt(8));
  room.audiences = AudiencesFromBits(static_cast<uint32_t>(rs.getUInt(9)));
  room.objective = static_cast<Objective>(rs.getInt(10));
  room.format = static_cast<Format>(rs.getInt(11));
  room.status = static_cast<RoomStatus>(rs.getInt(12));
  room.host_associate_id = Text(rs, 13);
  room.current_session_id = rs.isNull(14) ? 0 : rs.getInt64(14);
  if (!rs.isNull(15)) {
    room.pinned = PinnedRef{Text(rs, 15), Text(rs, 16), RequiredTime(rs, 17)};
  }
  room.created_by = Text(rs, 18);
  room.created_at = RequiredTime(rs, 19);
  room.updated_at = RequiredTime(rs, 20);
  room.associate_invites_enabled = rs.getInt(21) != 0;
  room.associate_invite_quota = rs.getInt(22);
  return room;
}

SessionRecord ReadSession(sql::ResultSet& rs) {
  SessionRecord session;
  session.id = rs.getInt64(1);
  session.brand_id = Text(rs, 2);
  session.room_id = rs.getInt64(3);
  session.status = static_cast<SessionStatus>(rs.getInt(4));
  session.presence_buckets = rs.getInt(5);
  session.started_at = RequiredTime(rs, 6);
  session.ended_at = common::SqlTimeAt(rs, 7);
  session.stats.reach = rs.getInt64(8);
  session.stats.peak_concurrency = rs.getInt64(9);
  session.stats.total_joins = rs.getInt64(10);
  session.duration_seconds = rs.getInt64(11);
  session.stats.watch_ms = rs.getInt64(12);
  return session;
}

InviteRecord ReadInvite(sql::ResultSet& rs) {
  InviteRecord invite;
  invite.id = rs.getInt64(1);
  invite.brand_id = Text(rs, 2);
  invite.room_id = rs.getInt64(3);
  invite.token_hash = Text(rs, 4);
  invite.cohort = Text(rs, 5);
  invite.client_ref = Text(rs, 6);
  invite.associate_id = Text(rs, 7);
  invite.expires_at = common::SqlTimeAt(rs, 8);
  invite.revoked_at = common::SqlTimeAt(rs, 9);
  invite.bound_viewer_id = Text(rs, 10);
  invite.bound_at = common::SqlTimeAt(rs, 11);
  invite.last_joined_at = common::SqlTimeAt(rs, 12);
  invite.issued_by = Text(rs, 13);
  invite.created_at = RequiredTime(rs, 14);
  return invite;
}

absl::StatusOr<RoomRecord> SelectRoom(MysqlConnection& c, int64_t room_id, bool for_update) {
  sql::PreparedStatement& s = c.Prepare(absl::StrCat(
      "SELECT ", kRoomColumns, " FROM rooms WHERE id = ?", for_update ? " FOR UPDATE" : ""));
  s.setInt64(1, room_id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  if (!rs->next()) {
    return absl::NotFoundError("room_id: no such room");
  }
  return ReadRoom(*rs);
}

void WriteRoom(MysqlConnection& c, const RoomRecord& room) {
  sql::PreparedStatement& s = c.Prepare(
      "UPDATE rooms SET title = ?, description = ?, cover_image_url = ?, scheduled_start = ?, "
      "scheduled_end = ?, visibility = ?, audiences = ?, objective = ?, format = ?, status = ?, "
      "host_associate_id = ?, current_session_id = ?, pinned_product_id = ?, pinned_sku_id = ?, "
      "pinned_at = ?, updated_at = ?, associate_invites_enabled = ?, associate_invite_quota = ? "
      "WHERE id = ?");
  s.setString(1, room.title);
  s.setString(2, room.description);
  s.setString(3, room.cover_image_url);
  s.setDateTime(4, ToSqlTime(room.scheduled_start));
  SetOptionalTime(s, 5, room.scheduled_end);
  s.setInt(6, room.visibility);
  s.setUInt(7, AudienceBits(room.audiences));
  s.setInt(8, room.objective);
  s.setInt(9, room.format);
  s.setInt(10, room.status);
  s.setString(11, room.host_associate_id);
  if (room.current_session_id != 0) {
    s.setInt64(12, room.current_session_id);
  } else {
    s.setNull(12, 0);
  }
  if (room.pinned.has_value()) {
    s.setString(13, room.pinned->product_id);
    s.setString(14, room.pinned->sku_id);
    s.setDateTime(15, ToSqlTime(room.pinned->pinned_at));
  } else {
    s.setNull(13, 0);
    s.setNull(14, 0);
    s.setNull(15, 0);
  }
  s.setDateTime(16, ToSqlTime(room.updated_at));
  s.setInt(17, room.associate_invites_enabled ? 1 : 0);
  s.setInt(18, room.associate_invite_quota);
  s.setInt64(19, room.id);
  s.executeUpdate();
}

absl::StatusOr<SessionRecord> SelectSession(MysqlConnection& c, int64_t session_id) {
  sql::PreparedStatement& s =
      c.Prepare(absl::StrCat("SELECT ", kSessionColumns, " FROM room_sessions WHERE id = ?"));
  s.setInt64(1, session_id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  if (!rs->next()) {
    return absl::NotFoundError("session_id: no such session");
  }
  return ReadSession(*rs);
}

absl::StatusOr<InviteRecord> SelectInvite(MysqlConnection& c, int64_t invite_id) {
  sql::PreparedStatement& s =
      c.Prepare(absl::StrCat("SELECT ", kInviteColumns, " FROM room_invites WHERE id = ?"));
  s.setInt64(1, invite_id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  if (!rs->next()) {
    return absl::NotFoundError("invite_id: no such invite");
  }
  return ReadInvite(*rs);
}

absl::StatusOr<std::optional<InviteRecord>> SelectBoundInvite(MysqlConnection& c, int64_t room_id,
                                                              const std::string& viewer_id) {
  sql::PreparedStatement& s =
      c.Prepare(absl::StrCat("SELECT ", kInviteColumns,
                             " FROM room_invites WHERE room_id = ? AND bound_viewer_id = ? "
                             "ORDER BY revoked_at IS NOT NULL, id DESC LIMIT 1"));
  s.setInt64(1, room_id);
  s.setString(2, viewer_id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  if (!rs->next()) {
    return std::optional<InviteRecord>();
  }
  return std::optional<InviteRecord>(ReadInvite(*rs));
}

std::istream* BinaryStream(const std::string& bytes, std::istringstream& holder) {
  holder.str(bytes);
  return &holder;
}

// Inserts invites (token hashes set) in the caller's transaction; returns them with ids.
absl::StatusOr<std::vector<InviteRecord>> InsertInvites(MysqlConnection& c,
                                                        const std::vector<InviteRecord>& invites) {
  std::vector<InviteRecord> created;
  created.reserve(invites.size());
  for (const InviteRecord& invite : invites) {
    sql::PreparedStatement& s = c.Prepare(
        "INSERT INTO room_invites (brand_id, room_id, token_hash, cohort, client_ref, "
        "associate_id, expires_at, issued_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    std::istringstream hash;
    s.setString(1, invite.brand_id);
    s.setInt64(2, invite.room_id);
    s.setBlob(3, BinaryStream(invite.token_hash, hash));
    s.setString(4, invite.cohort);
    s.setString(5, invite.client_ref);
    s.setString(6, invite.associate_id);
    SetOptionalTime(s, 7, invite.expires_at);
    s.setString(8, invite.issued_by);
    s.setDateTime(9, ToSqlTime(invite.created_at));
    s.executeUpdate();
    InviteRecord stored = invite;
    stored.id = c.LastInsertId();
    created.push_back(std::move(stored));
  }
  return created;
}

// Invites an associate issued themselves for a room (revoked ones count: the quota is of issues).
int CountOwnInvites(MysqlConnection& c, int64_t room_id, const std::string& associate_id) {
  sql::PreparedStatement& s = c.Prepare(
      "SELECT COUNT(*) FROM room_invites WHERE room_id = ? AND associate_id = ? AND issued_by = ?");
  s.setInt64(1, room_id);
  s.setString(2, associate_id);
  s.setString(3, associate_id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  return rs->next() ? rs->getInt(1) : 0;
}

}  // namespace

absl::StatusOr<RoomRecord> MysqlRoomStore::CreateRoom(const RoomRecord& room) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<RoomRecord> {
    sql::PreparedStatement& s = c.Prepare(
        "INSERT INTO rooms (brand_id, title, description, cover_image_url, scheduled_start, "
        "scheduled_end, visibility, audiences, objective, format, status, host_associate_id, "
        "created_by, created_at, updated_at, associate_invites_enabled, associate_invite_quota) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.setString(1, room.brand_id);
    s.setString(2, room.title);
    s.setString(3, room.description);
    s.setString(4, room.cover_image_url);
    s.setDateTime(5, ToSqlTime(room.scheduled_start));
    SetOptionalTime(s, 6, room.scheduled_end);
    s.setInt(7, room.visibility);
    s.setUInt(8, AudienceBits(room.audiences));
    s.setInt(9, room.objective);
    s.setInt(10, room.format);
    s.setInt(11, room.status);
    s.setString(12, room.host_associate_id);
    s.setString(13, room.created_by);
    s.setDateTime(14, ToSqlTime(room.created_at));
    s.setDateTime(15, ToSqlTime(room.updated_at));
    s.setInt(16, room.associate_invites_enabled ? 1 : 0);
    s.setInt(17, room.associate_invite_quota);
    s.executeUpdate();
    return SelectRoom(c, c.LastInsertId(), false);
  });
}

absl::StatusOr<RoomRecord> MysqlRoomStore::GetRoom(int64_t room_id) {
  return pool_.Run([&](MysqlConnection& c) { return SelectRoom(c, room_id, false); });
}

absl::StatusOr<RoomRecord> MysqlRoomStore::UpdateRoom(
    int64_t room_id, const std::function<absl::Status(RoomRecord&)>& mutate) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<RoomRecord> {
    LC_ASSIGN_OR_RETURN(RoomRecord room, SelectRoom(c, room_id, true));
    LC_RETURN_IF_ERROR(mutate(room));
    WriteRoom(c, room);
    return room;
  });
}

absl::StatusOr<std::vector<RoomRecord>> MysqlRoomStore::ListRooms(const RoomQuery& query) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<RoomRecord>> {
    // Fixed SQL text per filter combination, so each shape is prepared once per connection.
    std::string sql =
        absl::StrCat("SELECT ", kRoomColumns, " FROM rooms WHERE brand_id = ? AND id > ?");
    if (query.status != v1::ROOM_STATUS_UNSPECIFIED) {
      absl::StrAppend(&sql, " AND status = ?");
    }
    if (query.public_only) {
      absl::StrAppend(&sql, " AND visibility = ?");
    }
    absl::StrAppend(&sql, " ORDER BY id LIMIT ?");
    sql::PreparedStatement& s = c.Prepare(sql);
    int i = 1;
    s.setString(i++, query.brand_id);
    s.setInt64(i++, query.after_id);
    if (query.status != v1::ROOM_STATUS_UNSPECIFIED) {
      s.setInt(i++, query.status);
    }
    if (query.public_only) {
      s.setInt(i++, v1::VISIBILITY_PUBLIC);
    }
    s.setInt(i++, query.limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<RoomRecord> rooms;
    while (rs->next()) {
      rooms.push_back(ReadRoom(*rs));
    }
    return rooms;
  });
}

absl::StatusOr<std::pair<RoomRecord, SessionRecord>> MysqlRoomStore::StartSession(
    int64_t room_id, absl::Time now, int presence_buckets) {
  return pool_.InTransaction(
      [&](MysqlConnection& c) -> absl::StatusOr<std::pair<RoomRecord, SessionRecord>> {
        LC_ASSIGN_OR_RETURN(RoomRecord room, SelectRoom(c, room_id, true));
        LC_RETURN_IF_ERROR(CheckTransition(room.status, v1::ROOM_STATUS_LIVE));
        sql::PreparedStatement& insert = c.Prepare(
            "INSERT INTO room_sessions (brand_id, room_id, status, live_room_id, presence_buckets, "
            "started_at) VALUES (?, ?, ?, ?, ?, ?)");
        insert.setString(1, room.brand_id);
        insert.setInt64(2, room.id);
        insert.setInt(3, v1::SESSION_STATUS_LIVE);
        insert.setInt64(4, room.id);
        insert.setInt(5, presence_buckets);
        insert.setDateTime(6, ToSqlTime(now));
        insert.executeUpdate();
        int64_t session_id = c.LastInsertId();
        room.status = v1::ROOM_STATUS_LIVE;
        room.current_session_id = session_id;
        room.pinned.reset();
        room.updated_at = now;
        WriteRoom(c, room);
        LC_ASSIGN_OR_RETURN(SessionRecord session, SelectSession(c, session_id));
        return std::make_pair(std::move(room), std::move(session));
      });
}

absl::StatusOr<std::pair<RoomRecord, SessionRecord>> MysqlRoomStore::EndSession(
    int64_t room_id, absl::Time now,
    const std::function<absl::StatusOr<SessionStats>(const SessionRecord&)>& final_stats) {
  return pool_.InTransaction(
      [&](MysqlConnection& c) -> absl::StatusOr<std::pair<RoomRecord, SessionRecord>> {
        LC_ASSIGN_OR_RETURN(RoomRecord room, SelectRoom(c, room_id, true));
        LC_RETURN_IF_ERROR(CheckTransition(room.status, v1::ROOM_STATUS_ENDED));
        LC_ASSIGN_OR_RETURN(SessionRecord session, SelectSession(c, room.current_session_id));
        LC_ASSIGN_OR_RETURN(SessionStats stats, final_stats(session));
        int64_t duration = DurationSeconds(session.started_at, now);
        sql::PreparedStatement& update = c.Prepare(
            "UPDATE room_sessions SET status = ?, live_room_id = NULL, ended_at = ?, reach = ?, "
            "peak_concurrency = ?, total_joins = ?, duration_seconds = ?, watch_ms = ? WHERE id = "
            "? AND "
            "status = ?");
        update.setInt(1, v1::SESSION_STATUS_ENDED);
        update.setDateTime(2, ToSqlTime(now));
        update.setInt64(3, stats.reach);
        update.setInt64(4, stats.peak_concurrency);
        update.setInt64(5, stats.total_joins);
        update.setInt64(6, duration);
        update.setInt64(7, stats.watch_ms);
        update.setInt64(8, session.id);
        update.setInt(9, v1::SESSION_STATUS_LIVE);
        if (update.executeUpdate() != 1) {
          return absl::AbortedError("session was ended concurrently");
        }
        room.status = v1::ROOM_STATUS_ENDED;
        room.pinned.reset();
        room.updated_at = now;
        WriteRoom(c, room);
        LC_ASSIGN_OR_RETURN(SessionRecord ended, SelectSession(c, session.id));
        return std::make_pair(std::move(room), std::move(ended));
      });
}

absl::StatusOr<SessionRecord> MysqlRoomStore::GetSession(int64_t session_id) {
  return pool_.Run([&](MysqlConnection& c) { return SelectSession(c, session_id); });
}

absl::StatusOr<std::vector<SessionRecord>> MysqlRoomStore::ListSessions(int64_t room_id,
                                                                        int64_t after_id,
                                                                        int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<SessionRecord>> {
    sql::PreparedStatement& s = c.Prepare(
        absl::StrCat("SELECT ", kSessionColumns,
                     " FROM room_sessions WHERE room_id = ? AND id > ? ORDER BY id LIMIT ?"));
    s.setInt64(1, room_id);
    s.setInt64(2, after_id);
    s.setInt(3, limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<SessionRecord> sessions;
    while (rs->next()) {
      sessions.push_back(ReadSession(*rs));
    }
    return sessions;
  });
}

absl::StatusOr<std::vector<SessionRecord>> MysqlRoomStore::ListLiveSessions() {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<SessionRecord>> {
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(
        "SELECT ", kSessionColumns, " FROM room_sessions WHERE live_room_id IS NOT NULL"));
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<SessionRecord> sessions;
    while (rs->next()) {
      sessions.push_back(ReadSession(*rs));
    }
    return sessions;
  });
}

absl::StatusOr<std::vector<InviteRecord>> MysqlRoomStore::CreateInvites(
    const std::vector<InviteRecord>& invites) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<std::vector<InviteRecord>> {
    return InsertInvites(c, invites);
  });
}

absl::StatusOr<IssuedInvites> MysqlRoomStore::CreateAssociateInvites(
    int64_t room_id, const std::string& associate_id, const std::vector<InviteRecord>& invites) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<IssuedInvites> {
    // The room's row lock serialises every associate's issuing in this room: the count below and
    // the inserts cannot interleave with another call's.
    LC_ASSIGN_OR_RETURN(RoomRecord room, SelectRoom(c, room_id, true));
    if (!room.associate_invites_enabled) {
      return absl::PermissionDeniedError("room_id: this room is not open to associates' invites");
    }
    AssociateQuota quota{room.associate_invite_quota, CountOwnInvites(c, room_id, associate_id)};
    LC_RETURN_IF_ERROR(CheckAssociateQuota(quota, static_cast<int>(invites.size())));
    LC_ASSIGN_OR_RETURN(std::vector<InviteRecord> created, InsertInvites(c, invites));
    quota.issued += static_cast<int>(created.size());
    return IssuedInvites{std::move(created), quota};
  });
}

absl::StatusOr<AssociateQuota> MysqlRoomStore::AssociateInviteQuota(
    int64_t room_id, const std::string& associate_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<AssociateQuota> {
    LC_ASSIGN_OR_RETURN(RoomRecord room, SelectRoom(c, room_id, false));
    return AssociateQuota{room.associate_invite_quota, CountOwnInvites(c, room_id, associate_id)};
  });
}

absl::StatusOr<InviteRecord> MysqlRoomStore::GetInvite(int64_t invite_id) {
  return pool_.Run([&](MysqlConnection& c) { return SelectInvite(c, invite_id); });
}

absl::StatusOr<InviteRecord> MysqlRoomStore::RevokeInvite(int64_t invite_id, absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<InviteRecord> {
    sql::PreparedStatement& s =
        c.Prepare("UPDATE room_invites SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
    s.setDateTime(1, ToSqlTime(now));
    s.setInt64(2, invite_id);
    s.executeUpdate();
    return SelectInvite(c, invite_id);
  });
}

absl::StatusOr<std::vector<InviteRecord>> MysqlRoomStore::ListInvites(const InviteQuery& query) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<InviteRecord>> {
    std::string sql =
        absl::StrCat("SELECT ", kInviteColumns, " FROM room_invites WHERE room_id = ? AND id > ?");
    if (!query.cohort.empty()) {
      absl::StrAppend(&sql, " AND cohort = ?");
    }
    if (!query.associate_id.empty()) {
      absl::StrAppend(&sql, " AND associate_id = ?");
    }
    absl::StrAppend(&sql, " ORDER BY id LIMIT ?");
    sql::PreparedStatement& s = c.Prepare(sql);
    int i = 1;
    s.setInt64(i++, query.room_id);
    s.setInt64(i++, query.after_id);
    if (!query.cohort.empty()) {
      s.setString(i++, query.cohort);
    }
    if (!query.associate_id.empty()) {
      s.setString(i++, query.associate_id);
    }
    s.setInt(i++, query.limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<InviteRecord> invites;
    while (rs->next()) {
      invites.push_back(ReadInvite(*rs));
    }
    return invites;
  });
}

absl::StatusOr<std::optional<InviteRecord>> MysqlRoomStore::FindBoundInvite(
    int64_t room_id, const std::string& viewer_id) {
  return pool_.Run([&](MysqlConnection& c) { return SelectBoundInvite(c, room_id, viewer_id); });
}

absl::StatusOr<InviteGrant> MysqlRoomStore::AdmitToPrivateRoom(int64_t room_id,
                                                               const std::string& viewer_id,
                                                               const std::string& token_hash,
                                                               absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<InviteGrant> {
    LC_ASSIGN_OR_RETURN(std::optional<InviteRecord> held, SelectBoundInvite(c, room_id, viewer_id));
    std::optional<InviteRecord> invite;
    if (held.has_value() && !held->revoked_at.has_value() &&
        !(held->expires_at.has_value() && *held->expires_at <= now)) {
      // A viewer who already holds a valid invite comes back in with it, whatever token they send.
      invite = std::move(held);
    } else {
      if (token_hash.empty()) {
        if (held.has_value()) {
          LC_RETURN_IF_ERROR(CheckInviteUsable(*held, viewer_id, now));
        }
        return absl::PermissionDeniedError(
            "invite_token: this room is private; an invite is needed");
      }
      std::istringstream hash;
      sql::PreparedStatement& find = c.Prepare(absl::StrCat(
          "SELECT ", kInviteColumns, " FROM room_invites WHERE token_hash = ? FOR UPDATE"));
      find.setBlob(1, BinaryStream(token_hash, hash));
      std::unique_ptr<sql::ResultSet> rs(find.executeQuery());
      if (!rs->next()) {
        return absl::PermissionDeniedError("invite_token: not a valid invite");
      }
      invite = ReadInvite(*rs);
      if (invite->room_id != room_id) {
        return absl::PermissionDeniedError("invite_token: this invite is for another room");
      }
      LC_RETURN_IF_ERROR(CheckInviteUsable(*invite, viewer_id, now));
      if (invite->bound_viewer_id.empty()) {
        // The row is locked: the first viewer to get here binds it.
        sql::PreparedStatement& bind = c.Prepare(
            "UPDATE room_invites SET bound_viewer_id = ?, bound_at = ? WHERE id = ? AND "
            "bound_viewer_id IS NULL");
        bind.setString(1, viewer_id);
        bind.setDateTime(2, ToSqlTime(now));
        bind.setInt64(3, invite->id);
        if (bind.executeUpdate() != 1) {
          return absl::PermissionDeniedError("invite_token: this invite belongs to another viewer");
        }
        invite->bound_viewer_id = viewer_id;
      }
    }
    sql::PreparedStatement& touch =
        c.Prepare("UPDATE room_invites SET last_joined_at = ? WHERE id = ?");
    touch.setDateTime(1, ToSqlTime(now));
    touch.setInt64(2, invite->id);
    touch.executeUpdate();
    return InviteGrant{invite->id, invite->cohort, invite->associate_id};
  });
}

}  // namespace livecommerce::room
