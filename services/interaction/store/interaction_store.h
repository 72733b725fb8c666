#pragma once

// The interaction service's system of record (MySQL): comments, moderation and its audit, the
// brands' blocked words and settings, like totals per session. Every method is one transaction.
// Codes: UNAVAILABLE when MySQL cannot be reached, INTERNAL for anything else that fails; a
// method names the others it returns.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "livecommerce/events/v1/interaction_events.pb.h"
#include "services/interaction/domain/comment.h"
#include "services/interaction/store/live_store.h"

namespace livecommerce::interaction {

struct BrandModeration {
  int64_t words_version = 0;  // 0: the brand never set a list
  bool hold_when_check_unavailable = true;
};

struct BlockedWordList {
  std::vector<std::string> words;
  BrandModeration moderation;
};

class InteractionStore {
 public:
  virtual ~InteractionStore() = default;

  // The comment a sender already posted with `client_id`, if any.
  virtual absl::StatusOr<std::optional<CommentRecord>> FindByClientId(
      int64_t room_id, const std::string& author_id, const std::string& client_id) = 0;
  // A comment of the brand (another brand's: nullopt).
  virtual absl::StatusOr<std::optional<CommentRecord>> Get(const std::string& brand_id,
                                                           int64_t id) = 0;
  // Stores `record` (its id and created_at filled in) and, when given, publishes `posted` (its
  // comment id filled in) in the same transaction. When (room, author, client_id) already has a
  // comment, nothing is written and that comment is answered with `duplicate` set.
  struct Inserted {
    CommentRecord record;
    bool duplicate = false;
  };
  virtual absl::StatusOr<Inserted> Insert(CommentRecord record,
                                          std::optional<events::v1::CommentPosted> posted) = 0;
  // Notes that a delivered comment is in the room's stream.
  virtual absl::Status MarkStreamed(int64_t id) = 0;
  // Moves a comment of the brand from one of `from` to `to`, audited by `action` (its target
  // filled in), publishing `posted` when given. NOT_FOUND for an unknown comment or another
  // brand's; FAILED_PRECONDITION when its status is not one of `from`. Answers the comment after.
  virtual absl::StatusOr<CommentRecord> Transition(
      const std::string& brand_id, int64_t id, const std::vector<v1::CommentStatus>& from,
      v1::CommentStatus to, ModerationAction action,
      std::optional<events::v1::CommentPosted> posted) = 0;

  // A session's comments in id order after `after_id`, at most `limit` (all statuses).
  virtual absl::StatusOr<std::vector<CommentRecord>> ListSession(const std::string& brand_id,
                                                                 int64_t room_id,
                                                                 int64_t session_id,
                                                                 int64_t after_id, int limit) = 0;
  // The last `limit` delivered comments of a session, oldest first.
  virtual absl::StatusOr<std::vector<CommentRecord>> Recent(const std::string& brand_id,
                                                            int64_t session_id, int limit) = 0;
  // A room's held comments in id order after `after_id`, at most `limit`.
  virtual absl::StatusOr<std::vector<CommentRecord>> ListHeld(const std::string& brand_id,
                                                              int64_t room_id, int64_t after_id,
                                                              int limit) = 0;

  // Until when the viewer is muted in the room at `now` (nullopt: not muted).
  virtual absl::StatusOr<std::optional<absl::Time>> MutedUntil(int64_t room_id,
                                                               const std::string& viewer_id,
                                                               absl::Time now) = 0;
  // Whether the viewer is banned from the brand's rooms at `now`.
  virtual absl::StatusOr<bool> IsBanned(const std::string& brand_id, const std::string& viewer_id,
                                        absl::Time now) = 0;
  // Mutes (replacing any earlier mute of the viewer in the room) and audits.
  virtual absl::Status Mute(int64_t room_id, const std::string& viewer_id, absl::Time until,
                            const ModerationAction& action) = 0;
  // Bans brand-wide (`until` nullopt: for good; replacing an earlier ban) and audits.
  virtual absl::Status Ban(const std::string& viewer_id, std::optional<absl::Time> until,
                           const ModerationAction& action) = 0;
  // Sets (or, with an empty text, removes) the room's announcement and audits.
  virtual absl::Status SetAnnouncement(int64_t room_id, const std::string& text,
                                       const ModerationAction& action) = 0;
  // The room's announcement ("" when none).
  virtual absl::StatusOr<std::string> Announcement(const std::string& brand_id,
                                                   int64_t room_id) = 0;

  // The brand's list version and settings (defaults when it has none).
  virtual absl::StatusOr<BrandModeration> Moderation(const std::string& brand_id) = 0;
  virtual absl::StatusOr<BlockedWordList> BlockedWords(const std::string& brand_id) = 0;
  // Replaces the brand's list, bumps its version and audits; the new version.
  virtual absl::StatusOr<int64_t> SetBlockedWords(const std::vector<std::string>& words,
                                                  const ModerationAction& action) = 0;
  virtual absl::Status SetHoldWhenCheckUnavailable(bool hold, const ModerationAction& action) = 0;

  // Raises the session's stored like total to `total` (never lowers it) and, when it rose,
  // publishes LikesCounted. Whether it rose.
  virtual absl::StatusOr<bool> RecordLikes(const std::string& brand_id, int64_t room_id,
                                           int64_t session_id, int64_t total, absl::Time now) = 0;
  // The stored total (0 when none).
  virtual absl::StatusOr<int64_t> StoredLikes(const std::string& brand_id, int64_t session_id) = 0;
  // Records the session's likers not recorded before and publishes ViewerLiked for each of them,
  // in one transaction; a liker recorded before is left as it was, so a flush repeated (after a
  // crash, or by two replicas at once) publishes nobody twice. How many were new.
  virtual absl::StatusOr<int> RecordLikers(const std::string& brand_id, int64_t room_id,
                                           int64_t session_id, const std::vector<NewLiker>& likers,
                                           absl::Time now) = 0;
};

}  // namespace livecommerce::interaction
