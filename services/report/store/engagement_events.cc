#include "services/report/store/engagement_events.h"

#include <string>

#include "livecommerce/events/v1/events.pb.h"
#include "services/common/log_format.h"
#include "services/common/sql.h"

namespace livecommerce::report {
namespace {

namespace ev = events::v1;
using common::MysqlConnection;
using common::Sql;

enum class Step { kReminded, kReplayViewed };

// Notes that `viewer` reached `step` in the session, and adds one to the step's count the first
// time only: an insert that finds the row and an update that finds the flag set change nothing.
void MarkViewer(MysqlConnection& c, int64_t session_id, const std::string& brand_id,
                const std::string& viewer_id, Step step) {
  const bool reminded = step == Step::kReminded;
  bool first = Sql(c,
                   "INSERT IGNORE INTO report_engagement_viewers (session_id, brand_id, viewer_id, "
                   "reminded, replay_viewed) VALUES (?, ?, ?, ?, ?)",
                   session_id, brand_id, viewer_id, reminded, !reminded)
                   .Execute() == 1;
  if (!first) {
    first =
        Sql(c,
            reminded ? "UPDATE report_engagement_viewers SET reminded = 1 WHERE session_id = "
                       "? AND brand_id = ? AND viewer_id = ? AND reminded = 0"
                     : "UPDATE report_engagement_viewers SET replay_viewed = 1 WHERE "
                       "session_id = ? AND brand_id = ? AND viewer_id = ? AND replay_viewed = 0",
            session_id, brand_id, viewer_id)
            .Execute() == 1;
  }
  if (!first) return;
  Sql(c,
      reminded ? "INSERT INTO report_session_engagement (session_id, brand_id, reminded) VALUES "
                 "(?, ?, 1) ON DUPLICATE KEY UPDATE reminded = reminded + 1"
               : "INSERT INTO report_session_engagement (session_id, brand_id, replay_viewers) "
                 "VALUES (?, ?, 1) ON DUPLICATE KEY UPDATE replay_viewers = replay_viewers + 1",
      session_id, brand_id)
      .Execute();
}

// An event that could never count is logged and passed over, so that it does not hold up those
// behind it.
bool Countable(const ev::Event& e, int64_t session_id, const std::string& viewer_id) {
  if (session_id > 0 && !viewer_id.empty()) return true;
  spdlog::warn("report: {} event {} names no session or viewer; not counted", e.type(), e.id());
  return false;
}

}  // namespace

void SubscribeEngagement(common::EventConsumer& consumer) {
  consumer.On<ev::SessionAudienceBooked>(
      [](MysqlConnection& c, const ev::Event& e, const ev::SessionAudienceBooked& b) {
        if (b.session_id() <= 0) return absl::OkStatus();
        // One snapshot per session, taken when it went live: delivered again, it sets the same.
        Sql(c,
            "INSERT INTO report_session_engagement (session_id, brand_id, invited, reserved) "
            "VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE invited = VALUES(invited), reserved = "
            "VALUES(reserved)",
            b.session_id(), e.brand_id(), b.invited(), b.reserved())
            .Execute();
        return absl::OkStatus();
      });
  consumer.On<ev::ReminderSent>(
      [](MysqlConnection& c, const ev::Event& e, const ev::ReminderSent& r) {
        if (Countable(e, r.session_id(), r.viewer_id())) {
          MarkViewer(c, r.session_id(), e.brand_id(), r.viewer_id(), Step::kReminded);
        }
        return absl::OkStatus();
      });
  consumer.On<ev::ReplayViewed>(
      [](MysqlConnection& c, const ev::Event& e, const ev::ReplayViewed& v) {
        if (Countable(e, v.session_id(), v.viewer_id())) {
          MarkViewer(c, v.session_id(), e.brand_id(), v.viewer_id(), Step::kReplayViewed);
        }
        return absl::OkStatus();
      });
}

}  // namespace livecommerce::report
