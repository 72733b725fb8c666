#include "services/room/store/mysql_room_store.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "livecommerce/events/v1/events.pb.h"
#include "services/common/proto_util.h"
#include "services/common/sql.h"
#include "services/common/status.h"
#include "services/room/store/mysql_reservation_store.h"

namespace livecommerce::room {
namespace {

using common::MysqlConnection;
using common::Sql;
using common::SqlBytes;
using common::SqlRow;
using common::SqlStatement;

constexpr char kRoomColumns[] =
    "id, brand_id, title, description, cover_image_url, scheduled_start, scheduled_end, "
    "visibility, audiences, objective, format, status, host_associate_id, current_session_id, "
    "pinned_product_id, pinned_sku_id, pinned_at, created_by, created_at, updated_at, "
    "associate_invites_enabled, associate_invite_quota, start_on_publish";

constexpr char kSessionColumns[] =
    "id, brand_id, room_id, status, presence_buckets, started_at, ended_at, reach, "
    "peak_concurrency, total_joins, duration_seconds, watch_ms";

constexpr char kInviteColumns[] =
    "id, brand_id, room_id, token_hash, cohort, client_ref, associate_id, expires_at, revoked_at, "
    "bound_viewer_id, bound_at, last_joined_at, issued_by, created_at";

RoomRecord ReadRoom(const SqlRow& row) {
  RoomRecord room;
  room.id = row.Int("id");
  room.brand_id = row.Str("brand_id");
  room.title = row.Str("title");
  room.description = row.Str("description");
  room.cover_image_url = row.Str("cover_image_url");
  room.scheduled_start = row.Time("scheduled_start");
  room.scheduled_end = row.OptTime("scheduled_end");
  room.visibility = row.Enum<Visibility>("visibility");
  room.audiences = AudiencesFromBits(static_cast<uint32_t>(row.UInt("audiences")));
  room.objective = row.Enum<Objective>("objective");
  room.format = row.Enum<Format>("format");
  room.status = row.Enum<RoomStatus>("status");
  room.host_associate_id = row.Str("host_associate_id");
  room.current_session_id = row.Int("current_session_id");  // 0 when NULL: none yet
  if (!row.IsNull("pinned_product_id")) {
    room.pinned =
        PinnedRef{row.Str("pinned_product_id"), row.Str("pinned_sku_id"), row.Time("pinned_at")};
  }
  room.created_by = row.Str("created_by");
  room.created_at = row.Time("created_at");
  room.updated_at = row.Time("updated_at");
  room.associate_invites_enabled = row.Bool("associate_invites_enabled");
  room.associate_invite_quota = static_cast<int>(row.Int("associate_invite_quota"));
  room.start_on_publish = row.Bool("start_on_publish");
  return room;
}

SessionRecord ReadSession(const SqlRow& row) {
  SessionRecord session;
  session.id = row.Int("id");
  session.brand_id = row.Str("brand_id");
  session.room_id = row.Int("room_id");
  session.status = row.Enum<SessionStatus>("status");
  session.presence_buckets = static_cast<int>(row.Int("presence_buckets"));
  session.started_at = row.Time("started_at");
  session.ended_at = row.OptTime("ended_at");
  session.stats.reach = row.Int("reach");
  session.stats.peak_concurrency = row.Int("peak_concurrency");
  session.stats.total_joins = row.Int("total_joins");
  session.duration_seconds = row.Int("duration_seconds");
  session.stats.watch_ms = row.Int("watch_ms");
  return session;
}

InviteRecord ReadInvite(const SqlRow& row) {
  InviteRecord invite;
  invite.id = row.Int("id");
  invite.brand_id = row.Str("brand_id");
  invite.room_id = row.Int("room_id");
  invite.token_hash = row.Bytes("token_hash");
  invite.cohort = row.Str("cohort");
  invite.client_ref = row.Str("client_ref");
  invite.associate_id = row.Str("associate_id");
  invite.expires_at = row.OptTime("expires_at");
  invite.revoked_at = row.OptTime("revoked_at");
  invite.bound_viewer_id = row.Str("bound_viewer_id");
  invite.bound_at = row.OptTime("bound_at");
  invite.last_joined_at = row.OptTime("last_joined_at");
  invite.issued_by = row.Str("issued_by");
  invite.created_at = row.Time("created_at");
  return invite;
}

absl::StatusOr<RoomRecord> SelectRoom(MysqlConnection& c, int64_t room_id, bool for_update) {
  std::optional<RoomRecord> room =
      Sql(c,
          absl::StrCat("SELECT ", kRoomColumns, " FROM rooms WHERE id = ?",
                       for_update ? " FOR UPDATE" : ""),
          room_id)
          .One(ReadRoom);
  if (!room.has_value()) {
    return absl::NotFoundError("room_id: no such room");
  }
  return *std::move(room);
}

void WriteRoom(MysqlConnection& c, const RoomRecord& room) {
  const std::optional<PinnedRef>& pinned = room.pinned;
  Sql(c,
      "UPDATE rooms SET title = ?, description = ?, cover_image_url = ?, scheduled_start = ?, "
      "scheduled_end = ?, visibility = ?, audiences = ?, objective = ?, format = ?, status = ?, "
      "host_associate_id = ?, current_session_id = ?, pinned_product_id = ?, pinned_sku_id = ?, "
      "pinned_at = ?, updated_at = ?, associate_invites_enabled = ?, associate_invite_quota = ?, "
      "start_on_publish = ? WHERE id = ?",
      room.title, room.description, room.cover_image_url, room.scheduled_start, room.scheduled_end,
      room.visibility, AudienceBits(room.audiences), room.objective, room.format, room.status,
      room.host_associate_id,
      room.current_session_id != 0 ? std::optional<int64_t>(room.current_session_id) : std::nullopt,
      pinned.has_value() ? std::optional<std::string>(pinned->product_id) : std::nullopt,
      pinned.has_value() ? std::optional<std::string>(pinned->sku_id) : std::nullopt,
      pinned.has_value() ? std::optional<absl::Time>(pinned->pinned_at) : std::nullopt,
      room.updated_at, room.associate_invites_enabled, room.associate_invite_quota,
      room.start_on_publish, room.id)
      .Execute();
}

absl::StatusOr<SessionRecord> SelectSession(MysqlConnection& c, int64_t session_id) {
  std::optional<SessionRecord> session =
      Sql(c, absl::StrCat("SELECT ", kSessionColumns, " FROM room_sessions WHERE id = ?"),
          session_id)
          .One(ReadSession);
  if (!session.has_value()) {
    return absl::NotFoundError("session_id: no such session");
  }
  return *std::move(session);
}

absl::StatusOr<InviteRecord> SelectInvite(MysqlConnection& c, int64_t invite_id) {
  std::optional<InviteRecord> invite =
      Sql(c, absl::StrCat("SELECT ", kInviteColumns, " FROM room_invites WHERE id = ?"), invite_id)
          .One(ReadInvite);
  if (!invite.has_value()) {
    return absl::NotFoundError("invite_id: no such invite");
  }
  return *std::move(invite);
}

absl::StatusOr<std::optional<InviteRecord>> SelectBoundInvite(MysqlConnection& c, int64_t room_id,
                                                              const std::string& viewer_id) {
  return Sql(c,
             absl::StrCat("SELECT ", kInviteColumns,
                          " FROM room_invites WHERE room_id = ? AND bound_viewer_id = ? "
                          "ORDER BY revoked_at IS NOT NULL, id DESC LIMIT 1"),
             room_id, viewer_id)
      .One(ReadInvite);
}

// Inserts invites (token hashes set) in the caller's transaction; returns them with ids.
absl::StatusOr<std::vector<InviteRecord>> InsertInvites(MysqlConnection& c,
                                                        const std::vector<InviteRecord>& invites) {
  std::vector<InviteRecord> created;
  created.reserve(invites.size());
  for (const InviteRecord& invite : invites) {
    Sql(c,
        "INSERT INTO room_invites (brand_id, room_id, token_hash, cohort, client_ref, "
        "associate_id, expires_at, issued_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        invite.brand_id, invite.room_id, SqlBytes{invite.token_hash}, invite.cohort,
        invite.client_ref, invite.associate_id, invite.expires_at, invite.issued_by,
        invite.created_at)
        .Execute();
    InviteRecord stored = invite;
    stored.id = c.LastInsertId();
    created.push_back(std::move(stored));
  }
  return created;
}

// Invites an associate issued themselves for a room (revoked ones count: the quota is of issues).
int CountOwnInvites(MysqlConnection& c, int64_t room_id, const std::string& associate_id) {
  return static_cast<int>(
      Sql(c,
          "SELECT COUNT(*) FROM room_invites WHERE room_id = ? AND associate_id = ? AND "
          "issued_by = ?",
          room_id, associate_id, associate_id)
          .Scalar()
          .value_or(0));
}

}  // namespace

absl::StatusOr<RoomRecord> MysqlRoomStore::CreateRoom(const RoomRecord& room) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<RoomRecord> {
    Sql(c,
        "INSERT INTO rooms (brand_id, title, description, cover_image_url, scheduled_start, "
        "scheduled_end, visibility, audiences, objective, format, status, host_associate_id, "
        "created_by, created_at, updated_at, associate_invites_enabled, associate_invite_quota, "
        "start_on_publish) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        room.brand_id, room.title, room.description, room.cover_image_url, room.scheduled_start,
        room.scheduled_end, room.visibility, AudienceBits(room.audiences), room.objective,
        room.format, room.status, room.host_associate_id, room.created_by, room.created_at,
        room.updated_at, room.associate_invites_enabled, room.associate_invite_quota,
        room.start_on_publish)
        .Execute();
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

namespace {

// A product moment of a live session, in the transaction that changes the pin.
void WriteMoment(MysqlConnection& c, const RoomRecord& room, const SessionRecord& session,
                 v1::ProductMomentKind kind, const PinnedRef& product, absl::Time now) {
  // The server's clock on both ends: a moment before the start (clock skew between replicas)
  // seeks to the beginning.
  int64_t offset_ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(now - session.started_at));
  Sql(c,
      "INSERT INTO room_session_moments (brand_id, room_id, session_id, kind, product_id, "
      "sku_id, occurred_at, offset_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      room.brand_id, room.id, session.id, kind, product.product_id, product.sku_id, now, offset_ms)
      .Execute();
}

}  // namespace

absl::StatusOr<RoomRecord> MysqlRoomStore::UpdatePin(
    int64_t room_id, absl::Time now, const std::function<absl::Status(RoomRecord&)>& mutate) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<RoomRecord> {
    LC_ASSIGN_OR_RETURN(RoomRecord room, SelectRoom(c, room_id, true));
    const std::optional<PinnedRef> before = room.pinned;
    LC_RETURN_IF_ERROR(mutate(room));
    WriteRoom(c, room);
    if (room.status != v1::ROOM_STATUS_LIVE || room.current_session_id == 0) return room;
    // A new pin (a re-pin of the same product too: it is presented again) or the pin removed.
    const PinnedRef* moment = nullptr;
    v1::ProductMomentKind kind = v1::PRODUCT_MOMENT_KIND_UNSPECIFIED;
    if (room.pinned.has_value() &&
        (!before.has_value() || before->product_id != room.pinned->product_id ||
         before->sku_id != room.pinned->sku_id || before->pinned_at != room.pinned->pinned_at)) {
      moment = &*room.pinned;
      kind = v1::PRODUCT_MOMENT_KIND_PIN;
    } else if (!room.pinned.has_value() && before.has_value()) {
      moment = &*before;
      kind = v1::PRODUCT_MOMENT_KIND_UNPIN;
    }
    if (moment == nullptr) return room;
    LC_ASSIGN_OR_RETURN(SessionRecord session, SelectSession(c, room.current_session_id));
    WriteMoment(c, room, session, kind, *moment, now);
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
    SqlStatement select = Sql(c, sql, query.brand_id, query.after_id);
    if (query.status != v1::ROOM_STATUS_UNSPECIFIED) {
      select.Bind(query.status);
    }
    if (query.public_only) {
      select.Bind(v1::VISIBILITY_PUBLIC);
    }
    return select.Bind(query.limit).All(ReadRoom);
  });
}

absl::StatusOr<RoomSession> MysqlRoomStore::StartSession(int64_t room_id, absl::Time now,
                                                         int presence_buckets) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<RoomSession> {
    LC_ASSIGN_OR_RETURN(RoomRecord room, SelectRoom(c, room_id, true));
    LC_RETURN_IF_ERROR(CheckTransition(room.status, v1::ROOM_STATUS_LIVE));
    Sql(c,
        "INSERT INTO room_sessions (brand_id, room_id, status, live_room_id, presence_buckets, "
        "started_at) VALUES (?, ?, ?, ?, ?, ?)",
        room.brand_id, room.id, v1::SESSION_STATUS_LIVE, room.id, presence_buckets, now)
        .Execute();
    int64_t session_id = c.LastInsertId();
    room.status = v1::ROOM_STATUS_LIVE;
    room.current_session_id = session_id;
    room.pinned.reset();
    room.updated_at = now;
    WriteRoom(c, room);
    // The reservations' reminders are written with the session: both or neither.
    WriteLiveReminders(c, room.id, session_id, now);
    LC_ASSIGN_OR_RETURN(SessionRecord session, SelectSession(c, session_id));
    if (events_ != nullptr) {
      events::v1::SessionStarted e;
      e.set_session_id(session.id);
      e.set_room_id(room.id);
      e.set_title(room.title);
      e.set_visibility(room.visibility);
      e.set_audiences(AudienceBits(room.audiences));
      e.set_objective(room.objective);
      e.set_format(room.format);
      common::ToTimestamp(session.started_at, e.mutable_started_at());
      events_->Publish(c, room.brand_id, absl::StrCat(session.id), e, now);
      // Who was invited and who reserved, as the session starts: the funnel's first steps.
      RoomAudience audience = AudienceOfRoom(c, room.id);
      events::v1::SessionAudienceBooked booked;
      booked.set_session_id(session.id);
      booked.set_room_id(room.id);
      booked.set_invited(audience.invited);
      booked.set_reserved(audience.reserved);
      events_->Publish(c, room.brand_id, absl::StrCat(session.id), booked, now);
    }
    return RoomSession{std::move(room), std::move(session)};
  });
}

absl::StatusOr<RoomSession> MysqlRoomStore::EndSession(
    int64_t room_id, absl::Time now,
    const std::function<absl::StatusOr<SessionStats>(const SessionRecord&)>& final_stats) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<RoomSession> {
    LC_ASSIGN_OR_RETURN(RoomRecord room, SelectRoom(c, room_id, true));
    LC_RETURN_IF_ERROR(CheckTransition(room.status, v1::ROOM_STATUS_ENDED));
    LC_ASSIGN_OR_RETURN(SessionRecord session, SelectSession(c, room.current_session_id));
    LC_ASSIGN_OR_RETURN(SessionStats stats, final_stats(session));
    int64_t duration = DurationSeconds(session.started_at, now);
    int ended =
        Sql(c,
            "UPDATE room_sessions SET status = ?, live_room_id = NULL, ended_at = ?, "
            "reach = ?, peak_concurrency = ?, total_joins = ?, duration_seconds = ?, "
            "watch_ms = ? WHERE id = ? AND status = ?",
            v1::SESSION_STATUS_ENDED, now, stats.reach, stats.peak_concurrency, stats.total_joins,
            duration, stats.watch_ms, session.id, v1::SESSION_STATUS_LIVE)
            .Execute();
    if (ended != 1) {
      return absl::AbortedError("session was ended concurrently");
    }
    room.status = v1::ROOM_STATUS_ENDED;
    // A product still presented when the live ends stops being presented then: the replay's
    // timeline closes it as an unpin would.
    if (room.pinned.has_value()) {
      WriteMoment(c, room, session, v1::PRODUCT_MOMENT_KIND_UNPIN, *room.pinned, now);
    }
    room.pinned.reset();
    room.updated_at = now;
    WriteRoom(c, room);
    LC_ASSIGN_OR_RETURN(SessionRecord closed, SelectSession(c, session.id));
    if (events_ != nullptr) {
      events::v1::SessionEnded e;
      e.set_session_id(closed.id);
      e.set_room_id(room.id);
      common::ToTimestamp(closed.ended_at.value_or(now), e.mutable_ended_at());
      e.set_duration_seconds(closed.duration_seconds);
      e.set_reach(closed.stats.reach);
      e.set_peak_concurrency(closed.stats.peak_concurrency);
      e.set_total_joins(closed.stats.total_joins);
      e.set_watch_ms(closed.stats.watch_ms);
      events_->Publish(c, room.brand_id, absl::StrCat(closed.id), e, now);
    }
    return RoomSession{std::move(room), std::move(closed)};
  });
}

absl::StatusOr<SessionRecord> MysqlRoomStore::GetSession(int64_t session_id) {
  return pool_.Run([&](MysqlConnection& c) { return SelectSession(c, session_id); });
}

absl::StatusOr<std::vector<SessionRecord>> MysqlRoomStore::ListSessions(int64_t room_id,
                                                                        int64_t after_id,
                                                                        int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<SessionRecord>> {
    return Sql(c,
               absl::StrCat("SELECT ", kSessionColumns,
                            " FROM room_sessions WHERE room_id = ? AND id > ? ORDER BY id LIMIT ?"),
               room_id, after_id, limit)
        .All(ReadSession);
  });
}

absl::StatusOr<std::vector<SessionRecord>> MysqlRoomStore::ListLiveSessions() {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<SessionRecord>> {
    return Sql(c, absl::StrCat("SELECT ", kSessionColumns,
                               " FROM room_sessions WHERE live_room_id IS NOT NULL"))
        .All(ReadSession);
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
    Sql(c, "UPDATE room_invites SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", now,
        invite_id)
        .Execute();
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
    SqlStatement select = Sql(c, sql, query.room_id, query.after_id);
    if (!query.cohort.empty()) {
      select.Bind(query.cohort);
    }
    if (!query.associate_id.empty()) {
      select.Bind(query.associate_id);
    }
    return select.Bind(query.limit).All(ReadInvite);
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
      invite = Sql(c,
                   absl::StrCat("SELECT ", kInviteColumns,
                                " FROM room_invites WHERE token_hash = ? FOR UPDATE"),
                   SqlBytes{token_hash})
                   .One(ReadInvite);
      if (!invite.has_value()) {
        return absl::PermissionDeniedError("invite_token: not a valid invite");
      }
      if (invite->room_id != room_id) {
        return absl::PermissionDeniedError("invite_token: this invite is for another room");
      }
      LC_RETURN_IF_ERROR(CheckInviteUsable(*invite, viewer_id, now));
      if (invite->bound_viewer_id.empty()) {
        // The row is locked: the first viewer to get here binds it.
        int bound = Sql(c,
                        "UPDATE room_invites SET bound_viewer_id = ?, bound_at = ? WHERE id = ? "
                        "AND bound_viewer_id IS NULL",
                        viewer_id, now, invite->id)
                        .Execute();
        if (bound != 1) {
          return absl::PermissionDeniedError("invite_token: this invite belongs to another viewer");
        }
        invite->bound_viewer_id = viewer_id;
      }
    }
    Sql(c, "UPDATE room_invites SET last_joined_at = ? WHERE id = ?", now, invite->id).Execute();
    return InviteGrant{invite->id, invite->cohort, invite->associate_id};
  });
}

}  // namespace livecommerce::room
