#include "services/report/store/interaction_events.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "livecommerce/events/v1/interaction_events.pb.h"
#include "services/common/log_format.h"
#include "services/common/sql.h"

namespace livecommerce::report {
namespace {

namespace ev = events::v1;
using common::MysqlConnection;
using common::Sql;

// What an event adds to a session's counts (likes: a total, kept as the largest seen).
struct InteractionChange {
  int64_t comments = 0;
  int64_t commenters = 0;
  int64_t likes = 0;
  int64_t likers = 0;
  int64_t interacting_viewers = 0;
};

void AddInteraction(MysqlConnection& c, int64_t session_id, const std::string& brand_id,
                    const InteractionChange& change) {
  Sql(c,
      "INSERT INTO report_session_interaction (session_id, brand_id, comments, commenters, "
      "likes, likers, interacting_viewers) VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
      "comments = comments + VALUES(comments), commenters = commenters + VALUES(commenters), "
      "likes = GREATEST(likes, VALUES(likes)), likers = likers + VALUES(likers), "
      "interacting_viewers = interacting_viewers + VALUES(interacting_viewers)",
      session_id, brand_id, change.comments, change.commenters, change.likes, change.likers,
      change.interacting_viewers)
      .Execute();
}

enum class Act { kCommented, kLiked };

// Notes that `viewer` did `act` in the session: whether it is the first time they did it and
// whether it is the first time they did anything. An insert that finds the row and an update
// that finds the flag set change nothing, so two events racing for one viewer count once.
struct FirstTime {
  bool act = false;
  bool viewer = false;
};
FirstTime MarkViewer(MysqlConnection& c, int64_t session_id, const std::string& brand_id,
                     const std::string& viewer_id, Act act) {
  bool commented = act == Act::kCommented;
  if (Sql(c,
          "INSERT IGNORE INTO report_interacting_viewers (session_id, brand_id, viewer_id, "
          "commented, liked) VALUES (?, ?, ?, ?, ?)",
          session_id, brand_id, viewer_id, commented, !commented)
          .Execute() == 1) {
    return {true, true};
  }
  int changed = Sql(c,
                    commented ? "UPDATE report_interacting_viewers SET commented = 1 WHERE "
                                "session_id = ? AND brand_id = ? AND viewer_id = ? AND "
                                "commented = 0"
                              : "UPDATE report_interacting_viewers SET liked = 1 WHERE "
                                "session_id = ? AND brand_id = ? AND viewer_id = ? AND liked = 0",
                    session_id, brand_id, viewer_id)
                    .Execute();
  return {changed == 1, false};
}

// An id of the interaction service's payload; nullopt (logged) when it is not one, so that an
// event that could never count does not hold up those behind it.
std::optional<int64_t> PayloadId(const ev::Event& e, const char* field, const std::string& value) {
  int64_t id = 0;
  if (absl::SimpleAtoi(value, &id) && id > 0) return id;
  spdlog::warn("report: {} event {} has no valid {} (\"{}\"); not counted", e.type(), e.id(), field,
               value);
  return std::nullopt;
}

absl::Status ApplyComment(MysqlConnection& c, const ev::Event& e, const ev::CommentPosted& p) {
  std::optional<int64_t> comment_id = PayloadId(e, "comment_id", p.comment_id());
  std::optional<int64_t> session_id = PayloadId(e, "session_id", p.session_id());
  if (!comment_id.has_value() || !session_id.has_value()) return absl::OkStatus();
  // A comment published again (under another event id) counts once.
  if (Sql(c,
          "INSERT IGNORE INTO report_comments (brand_id, comment_id, session_id) VALUES (?, ?, ?)",
          e.brand_id(), *comment_id, *session_id)
          .Execute() == 0) {
    return absl::OkStatus();
  }
  InteractionChange change;
  change.comments = 1;
  // Commenters are viewers: the host and associates talk to them, they are not the audience.
  if (p.author_role() == "viewer" && !p.author_id().empty()) {
    FirstTime first = MarkViewer(c, *session_id, e.brand_id(), p.author_id(), Act::kCommented);
    change.commenters = first.act ? 1 : 0;
    change.interacting_viewers = first.viewer ? 1 : 0;
  }
  AddInteraction(c, *session_id, e.brand_id(), change);
  return absl::OkStatus();
}

absl::Status ApplyLiked(MysqlConnection& c, const ev::Event& e, const ev::ViewerLiked& p) {
  std::optional<int64_t> session_id = PayloadId(e, "session_id", p.session_id());
  if (!session_id.has_value()) return absl::OkStatus();
  if (p.viewer_id().empty()) {
    spdlog::warn("report: ViewerLiked event {} names no viewer; not counted", e.id());
    return absl::OkStatus();
  }
  FirstTime first = MarkViewer(c, *session_id, e.brand_id(), p.viewer_id(), Act::kLiked);
  if (!first.act) return absl::OkStatus();
  InteractionChange change;
  change.likers = 1;
  change.interacting_viewers = first.viewer ? 1 : 0;
  AddInteraction(c, *session_id, e.brand_id(), change);
  return absl::OkStatus();
}

absl::Status ApplyLikes(MysqlConnection& c, const ev::Event& e, const ev::LikesCounted& p) {
  std::optional<int64_t> session_id = PayloadId(e, "session_id", p.session_id());
  if (!session_id.has_value()) return absl::OkStatus();
  // A total, not an increment: the largest one seen, whatever the order.
  InteractionChange change;
  change.likes = std::max<int64_t>(0, p.total());
  AddInteraction(c, *session_id, e.brand_id(), change);
  return absl::OkStatus();
}

}  // namespace

void SubscribeInteraction(common::EventConsumer& consumer) {
  consumer.On<ev::CommentPosted>(ApplyComment);
  consumer.On<ev::ViewerLiked>(ApplyLiked);
  consumer.On<ev::LikesCounted>(ApplyLikes);
}

}  // namespace livecommerce::report
