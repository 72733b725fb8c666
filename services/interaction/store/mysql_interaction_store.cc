#include "services/interaction/store/mysql_interaction_store.h"

#include "absl/strings/str_cat.h"
#include "services/common/proto_util.h"
#include "services/common/sql.h"

namespace livecommerce::interaction {
namespace {

using common::MysqlConnection;
using common::Sql;
using common::SqlRow;

constexpr char kCommentColumns[] =
    "SELECT id, brand_id, room_id, session_id, author_id, author_role, client_id, text, "
    "reply_to, status, invite_associate_id, streamed, created_at FROM comments ";

CommentRecord ReadComment(const SqlRow& row) {
  CommentRecord r;
  r.id = row.Int("id");
  r.brand_id = row.Str("brand_id");
  r.room_id = row.Int("room_id");
  r.session_id = row.Int("session_id");
  r.author_id = row.Str("author_id");
  r.author_role = row.Enum<v1::AuthorRole>("author_role");
  r.client_id = row.Str("client_id");
  r.text = row.Str("text");
  r.reply_to = row.OptInt("reply_to");
  r.status = row.Enum<v1::CommentStatus>("status");
  r.invite_associate_id = row.Str("invite_associate_id");
  r.streamed = row.Bool("streamed");
  r.created_at = row.Time("created_at");
  return r;
}

void Audit(MysqlConnection& c, const ModerationAction& a) {
  Sql(c,
      "INSERT INTO comment_actions (brand_id, actor_id, actor_role, action, room_id, target, "
      "reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      a.brand_id, a.actor_id, a.actor_role, a.action, a.room_id, a.target, a.reason, a.at)
      .Execute();
}

std::optional<CommentRecord> SelectComment(MysqlConnection& c, int64_t id, bool for_update) {
  return Sql(c, absl::StrCat(kCommentColumns, "WHERE id = ?", for_update ? " FOR UPDATE" : ""), id)
      .One(ReadComment);
}

// Bumps the brand's list version (creating its row), on `c`.
int64_t BumpVersion(MysqlConnection& c, const std::string& brand_id, absl::Time now) {
  Sql(c,
      "INSERT INTO brand_moderation (brand_id, words_version, hold_when_check_unavailable, "
      "updated_at) VALUES (?, 1, 1, ?) ON DUPLICATE KEY UPDATE words_version = words_version + 1, "
      "updated_at = VALUES(updated_at)",
      brand_id, now)
      .Execute();
  return Sql(c, "SELECT words_version FROM brand_moderation WHERE brand_id = ?", brand_id)
      .Scalar()
      .value_or(0);
}

}  // namespace

absl::StatusOr<std::optional<CommentRecord>> MysqlInteractionStore::FindByClientId(
    int64_t room_id, const std::string& author_id, const std::string& client_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::optional<CommentRecord>> {
    return Sql(c,
               absl::StrCat(kCommentColumns,
                            "WHERE room_id = ? AND author_id = ? AND client_id = ?"),
               room_id, author_id, client_id)
        .One(ReadComment);
  });
}

absl::StatusOr<std::optional<CommentRecord>> MysqlInteractionStore::Get(const std::string& brand_id,
                                                                        int64_t id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::optional<CommentRecord>> {
    std::optional<CommentRecord> r = SelectComment(c, id, false);
    if (r.has_value() && r->brand_id != brand_id) return std::nullopt;
    return r;
  });
}

absl::StatusOr<InteractionStore::Inserted> MysqlInteractionStore::Insert(
    CommentRecord record, std::optional<events::v1::CommentPosted> posted) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<Inserted> {
    std::optional<int> inserted =
        Sql(c,
            "INSERT INTO comments (brand_id, room_id, session_id, author_id, author_role, "
            "client_id, text, reply_to, status, invite_associate_id, streamed, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
            record.brand_id, record.room_id, record.session_id, record.author_id,
            record.author_role, record.client_id, record.text, record.reply_to, record.status,
            record.invite_associate_id, record.created_at, record.created_at)
            .ExecuteUnless(common::kSqlDuplicateKey);
    if (!inserted.has_value()) {
      std::optional<CommentRecord> existing =
          Sql(c,
              absl::StrCat(kCommentColumns,
                           "WHERE room_id = ? AND author_id = ? AND client_id = ?"),
              record.room_id, record.author_id, record.client_id)
              .One(ReadComment);
      if (!existing.has_value()) return absl::AbortedError("comment: lost a race, try again");
      return Inserted{*std::move(existing), true};
    }
    record.id = c.LastInsertId();
    if (posted.has_value() && events_ != nullptr) {
      posted->set_comment_id(common::FormatId(record.id));
      events_->Publish(c, record.brand_id, common::FormatId(record.id), *posted, record.created_at);
    }
    return Inserted{std::move(record), false};
  });
}

absl::Status MysqlInteractionStore::MarkStreamed(int64_t id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::Status {
    Sql(c, "UPDATE comments SET streamed = 1 WHERE id = ?", id).Execute();
    return absl::OkStatus();
  });
}

absl::StatusOr<CommentRecord> MysqlInteractionStore::Transition(
    const std::string& brand_id, int64_t id, const std::vector<v1::CommentStatus>& from,
    v1::CommentStatus to, ModerationAction action,
    std::optional<events::v1::CommentPosted> posted) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<CommentRecord> {
    std::optional<CommentRecord> r = SelectComment(c, id, true);
    if (!r.has_value() || r->brand_id != brand_id) {
      return absl::NotFoundError("comment_id: no such comment");
    }
    if (std::find(from.begin(), from.end(), r->status) == from.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("comment_id: the comment is ", v1::CommentStatus_Name(r->status)));
    }
    Sql(c, "UPDATE comments SET status = ?, updated_at = ? WHERE id = ?", to, action.at, id)
        .Execute();
    r->status = to;
    action.target = common::FormatId(id);
    action.room_id = r->room_id;
    Audit(c, action);
    if (posted.has_value() && events_ != nullptr) {
      posted->set_comment_id(common::FormatId(id));
      events_->Publish(c, brand_id, common::FormatId(id), *posted, action.at);
    }
    return *std::move(r);
  });
}

absl::StatusOr<std::vector<CommentRecord>> MysqlInteractionStore::ListSession(
    const std::string& brand_id, int64_t room_id, int64_t session_id, int64_t after_id, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<CommentRecord>> {
    return Sql(c,
               absl::StrCat(kCommentColumns,
                            "WHERE session_id = ? AND id > ? AND brand_id = ? AND room_id = ? "
                            "ORDER BY id LIMIT ?"),
               session_id, after_id, brand_id, room_id, limit)
        .All(ReadComment);
  });
}

absl::StatusOr<std::vector<CommentRecord>> MysqlInteractionStore::Recent(
    const std::string& brand_id, int64_t session_id, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<CommentRecord>> {
    std::vector<CommentRecord> rows =
        Sql(c,
            absl::StrCat(kCommentColumns,
                         "WHERE session_id = ? AND brand_id = ? AND status = ? "
                         "ORDER BY id DESC LIMIT ?"),
            session_id, brand_id, v1::COMMENT_STATUS_DELIVERED, limit)
            .All(ReadComment);
    std::reverse(rows.begin(), rows.end());
    return rows;
  });
}

absl::StatusOr<std::vector<CommentRecord>> MysqlInteractionStore::ListHeld(
    const std::string& brand_id, int64_t room_id, int64_t after_id, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<CommentRecord>> {
    return Sql(c,
               absl::StrCat(kCommentColumns,
                            "WHERE room_id = ? AND status = ? AND brand_id = ? AND id > ? "
                            "ORDER BY id LIMIT ?"),
               room_id, v1::COMMENT_STATUS_HELD, brand_id, after_id, limit)
        .All(ReadComment);
  });
}

absl::StatusOr<std::optional<absl::Time>> MysqlInteractionStore::MutedUntil(
    int64_t room_id, const std::string& viewer_id, absl::Time now) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::optional<absl::Time>> {
    return Sql(c,
               "SELECT muted_until FROM room_mutes WHERE room_id = ? AND viewer_id = ? AND "
               "muted_until > ?",
               room_id, viewer_id, now)
        .One([](const SqlRow& row) { return row.Time("muted_until"); });
  });
}

absl::StatusOr<bool> MysqlInteractionStore::IsBanned(const std::string& brand_id,
                                                     const std::string& viewer_id, absl::Time now) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<bool> {
    return Sql(c,
               "SELECT 1 AS banned FROM brand_bans WHERE brand_id = ? AND viewer_id = ? AND "
               "(banned_until IS NULL OR banned_until > ?)",
               brand_id, viewer_id, now)
        .Scalar()
        .has_value();
  });
}

absl::Status MysqlInteractionStore::Mute(int64_t room_id, const std::string& viewer_id,
                                         absl::Time until, const ModerationAction& action) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::Status {
    Sql(c,
        "INSERT INTO room_mutes (brand_id, room_id, viewer_id, muted_until, reason, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE muted_until = VALUES(muted_until), "
        "reason = VALUES(reason), created_at = VALUES(created_at)",
        action.brand_id, room_id, viewer_id, until, action.reason, action.at)
        .Execute();
    Audit(c, action);
    return absl::OkStatus();
  });
}

absl::Status MysqlInteractionStore::Ban(const std::string& viewer_id,
                                        std::optional<absl::Time> until,
                                        const ModerationAction& action) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::Status {
    Sql(c,
        "INSERT INTO brand_bans (brand_id, viewer_id, banned_until, reason, created_at) "
        "VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE banned_until = VALUES(banned_until), "
        "reason = VALUES(reason), created_at = VALUES(created_at)",
        action.brand_id, viewer_id, until, action.reason, action.at)
        .Execute();
    Audit(c, action);
    return absl::OkStatus();
  });
}

absl::Status MysqlInteractionStore::SetAnnouncement(int64_t room_id, const std::string& text,
                                                    const ModerationAction& action) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::Status {
    if (text.empty()) {
      Sql(c, "DELETE FROM announcements WHERE room_id = ?", room_id).Execute();
    } else {
      Sql(c,
          "INSERT INTO announcements (room_id, brand_id, text, set_by, updated_at) VALUES "
          "(?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE text = VALUES(text), set_by = VALUES(set_by), "
          "updated_at = VALUES(updated_at)",
          room_id, action.brand_id, text, action.actor_id, action.at)
          .Execute();
    }
    Audit(c, action);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::string> MysqlInteractionStore::Announcement(const std::string& brand_id,
                                                                int64_t room_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::string> {
    std::optional<std::string> text =
        Sql(c, "SELECT text FROM announcements WHERE room_id = ? AND brand_id = ?", room_id,
            brand_id)
            .One([](const SqlRow& row) { return row.Str("text"); });
    return text.value_or("");
  });
}

absl::StatusOr<BrandModeration> MysqlInteractionStore::Moderation(const std::string& brand_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<BrandModeration> {
    return Sql(c,
               "SELECT words_version, hold_when_check_unavailable FROM brand_moderation "
               "WHERE brand_id = ?",
               brand_id)
        .One([](const SqlRow& row) {
          return BrandModeration{row.Int("words_version"), row.Bool("hold_when_check_unavailable")};
        })
        .value_or(BrandModeration{});
  });
}

absl::StatusOr<BlockedWordList> MysqlInteractionStore::BlockedWords(const std::string& brand_id) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<BlockedWordList> {
    BlockedWordList list;
    list.moderation = Sql(c,
                          "SELECT words_version, hold_when_check_unavailable FROM "
                          "brand_moderation WHERE brand_id = ?",
                          brand_id)
                          .One([](const SqlRow& row) {
                            return BrandModeration{row.Int("words_version"),
                                                   row.Bool("hold_when_check_unavailable")};
                          })
                          .value_or(BrandModeration{});
    list.words =
        Sql(c, "SELECT word FROM blocked_words WHERE brand_id = ? ORDER BY position", brand_id)
            .All([](const SqlRow& row) { return row.Str("word"); });
    return list;
  });
}

absl::StatusOr<int64_t> MysqlInteractionStore::SetBlockedWords(
    const std::vector<std::string>& words, const ModerationAction& action) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<int64_t> {
    // The version row first: it serialises concurrent replacements of one brand's list.
    int64_t version = BumpVersion(c, action.brand_id, action.at);
    Sql(c, "DELETE FROM blocked_words WHERE brand_id = ?", action.brand_id).Execute();
    constexpr size_t kChunk = 500;
    for (size_t start = 0; start < words.size(); start += kChunk) {
      size_t end = std::min(words.size(), start + kChunk);
      std::string query = "INSERT INTO blocked_words (brand_id, position, word) VALUES ";
      for (size_t i = start; i < end; ++i)
        absl::StrAppend(&query, i == start ? "" : ", ", "(?, ?, ?)");
      common::SqlStatement insert(c, query);
      for (size_t i = start; i < end; ++i) {
        insert.Bind(action.brand_id, static_cast<int64_t>(i), words[i]);
      }
      insert.Execute();
    }
    Audit(c, action);
    return version;
  });
}

absl::Status MysqlInteractionStore::SetHoldWhenCheckUnavailable(bool hold,
                                                                const ModerationAction& action) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::Status {
    Sql(c,
        "INSERT INTO brand_moderation (brand_id, words_version, hold_when_check_unavailable, "
        "updated_at) VALUES (?, 0, ?, ?) ON DUPLICATE KEY UPDATE hold_when_check_unavailable = "
        "VALUES(hold_when_check_unavailable), updated_at = VALUES(updated_at)",
        action.brand_id, hold, action.at)
        .Execute();
    Audit(c, action);
    return absl::OkStatus();
  });
}

absl::StatusOr<bool> MysqlInteractionStore::RecordLikes(const std::string& brand_id,
                                                        int64_t room_id, int64_t session_id,
                                                        int64_t total, absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<bool> {
    std::optional<int64_t> stored =
        Sql(c, "SELECT likes FROM session_likes WHERE session_id = ? FOR UPDATE", session_id)
            .Scalar();
    if (stored.has_value() && *stored >= total) return false;
    Sql(c,
        "INSERT INTO session_likes (session_id, brand_id, room_id, likes, updated_at) VALUES "
        "(?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE likes = GREATEST(likes, VALUES(likes)), "
        "updated_at = VALUES(updated_at)",
        session_id, brand_id, room_id, total, now)
        .Execute();
    if (events_ != nullptr) {
      events::v1::LikesCounted counted;
      counted.set_room_id(common::FormatId(room_id));
      counted.set_session_id(common::FormatId(session_id));
      counted.set_total(total);
      common::ToTimestamp(now, counted.mutable_counted_at());
      events_->Publish(c, brand_id, common::FormatId(session_id), counted, now);
    }
    return true;
  });
}

absl::StatusOr<int64_t> MysqlInteractionStore::StoredLikes(const std::string& brand_id,
                                                           int64_t session_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<int64_t> {
    return Sql(c, "SELECT likes FROM session_likes WHERE session_id = ? AND brand_id = ?",
               session_id, brand_id)
        .Scalar()
        .value_or(0);
  });
}

}  // namespace livecommerce::interaction
