#pragma once

#include "services/common/events.h"
#include "services/common/mysql_client.h"
#include "services/interaction/store/interaction_store.h"

namespace livecommerce::interaction {

// InteractionStore in MySQL (db/migrations/interaction). `events` (may be null: no events)
// publishes CommentPosted, LikesCounted and ViewerLiked in the transactions that make them true.
class MysqlInteractionStore final : public InteractionStore {
 public:
  explicit MysqlInteractionStore(common::MysqlPool& pool,
                                 const common::EventOutbox* events = nullptr)
      : pool_(pool), events_(events) {}

  absl::StatusOr<std::optional<CommentRecord>> FindByClientId(
      int64_t room_id, const std::string& author_id, const std::string& client_id) override;
  absl::StatusOr<std::optional<CommentRecord>> Get(const std::string& brand_id,
                                                   int64_t id) override;
  absl::StatusOr<Inserted> Insert(CommentRecord record,
                                  std::optional<events::v1::CommentPosted> posted) override;
  absl::Status MarkStreamed(int64_t id) override;
  absl::StatusOr<CommentRecord> Transition(
      const std::string& brand_id, int64_t id, const std::vector<v1::CommentStatus>& from,
      v1::CommentStatus to, ModerationAction action,
      std::optional<events::v1::CommentPosted> posted) override;
  absl::StatusOr<std::vector<CommentRecord>> ListSession(const std::string& brand_id,
                                                         int64_t room_id, int64_t session_id,
                                                         int64_t after_id, int limit) override;
  absl::StatusOr<std::vector<CommentRecord>> Recent(const std::string& brand_id, int64_t session_id,
                                                    int limit) override;
  absl::StatusOr<std::vector<CommentRecord>> ListHeld(const std::string& brand_id, int64_t room_id,
                                                      int64_t after_id, int limit) override;
  absl::StatusOr<std::optional<absl::Time>> MutedUntil(int64_t room_id,
                                                       const std::string& viewer_id,
                                                       absl::Time now) override;
  absl::StatusOr<bool> IsBanned(const std::string& brand_id, const std::string& viewer_id,
                                absl::Time now) override;
  absl::Status Mute(int64_t room_id, const std::string& viewer_id, absl::Time until,
                    const ModerationAction& action) override;
  absl::Status Ban(const std::string& viewer_id, std::optional<absl::Time> until,
                   const ModerationAction& action) override;
  absl::Status SetAnnouncement(int64_t room_id, const std::string& text,
                               const ModerationAction& action) override;
  absl::StatusOr<std::string> Announcement(const std::string& brand_id, int64_t room_id) override;
  absl::StatusOr<BrandModeration> Moderation(const std::string& brand_id) override;
  absl::StatusOr<BlockedWordList> BlockedWords(const std::string& brand_id) override;
  absl::StatusOr<int64_t> SetBlockedWords(const std::vector<std::string>& words,
                                          const ModerationAction& action) override;
  absl::Status SetHoldWhenCheckUnavailable(bool hold, const ModerationAction& action) override;
  absl::StatusOr<bool> RecordLikes(const std::string& brand_id, int64_t room_id, int64_t session_id,
                                   int64_t total, absl::Time now) override;
  absl::StatusOr<int64_t> StoredLikes(const std::string& brand_id, int64_t session_id) override;
  // In mysql_interaction_store_likers.cc.
  absl::StatusOr<int> RecordLikers(const std::string& brand_id, int64_t room_id, int64_t session_id,
                                   const std::vector<NewLiker>& likers, absl::Time now) override;

 private:
  common::MysqlPool& pool_;
  const common::EventOutbox* events_;
};

}  // namespace livecommerce::interaction
