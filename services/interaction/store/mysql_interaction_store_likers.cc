// MysqlInteractionStore: the likers of sessions (session_likers) and their ViewerLiked events.
#include "absl/strings/str_cat.h"
#include "livecommerce/events/v1/interaction_events.pb.h"
#include "services/common/proto_util.h"
#include "services/common/sql.h"
#include "services/interaction/store/mysql_interaction_store.h"

namespace livecommerce::interaction {

absl::StatusOr<int> MysqlInteractionStore::RecordLikers(const std::string& brand_id,
                                                        int64_t room_id, int64_t session_id,
                                                        const std::vector<NewLiker>& likers,
                                                        absl::Time now) {
  if (likers.empty()) return 0;
  return pool_.InTransaction([&](common::MysqlConnection& c) -> absl::StatusOr<int> {
    std::vector<common::OutgoingEvent> events;
    int added = 0;
    for (const NewLiker& liker : likers) {
      // One row at a time: the rows changed say exactly which likers are new, and a concurrent
      // flush inserting the same liker waits for this one's commit, then inserts nothing.
      int inserted =
          common::Sql(c,
                      "INSERT IGNORE INTO session_likers (session_id, viewer_id, "
                      "brand_id, room_id, first_liked_at, recorded_at) VALUES (?, ?, "
                      "?, ?, ?, ?)",
                      session_id, liker.viewer_id, brand_id, room_id, liker.first_liked_at, now)
              .Execute();
      if (inserted == 0) continue;
      ++added;
      if (events_ == nullptr) continue;
      events::v1::ViewerLiked liked;
      liked.set_room_id(common::FormatId(room_id));
      liked.set_session_id(common::FormatId(session_id));
      liked.set_viewer_id(liker.viewer_id);
      if (liker.first_liked_at.has_value()) {
        common::ToTimestamp(*liker.first_liked_at, liked.mutable_first_liked_at());
      }
      events.push_back(common::OutgoingEvent::Of(
          brand_id, absl::StrCat(session_id, ":", liker.viewer_id), liked));
    }
    if (!events.empty()) events_->PublishAll(c, events, now);
    return added;
  });
}

}  // namespace livecommerce::interaction
