#pragma once

// The interaction service's real-time state (Redis): the per-room live stream the gateways read,
// rate limits, and like totals per session. Every multi-step change is one Lua script on one
// room's hash tag. Codes: UNAVAILABLE when Redis cannot be reached, INTERNAL for error replies.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace livecommerce::interaction {

enum class RateVerdict { kAllowed, kTooFast, kRoomBusy };

// A viewer who liked a session for the first time, not yet published (see LiveStore::NewLikers).
struct NewLiker {
  std::string viewer_id;
  std::optional<absl::Time> first_liked_at;  // the first counted batch; nullopt if unknown
};
struct NewLikersPage {
  std::vector<NewLiker> likers;
  std::string cursor;  // "" when the scan is done
};

struct LikeOutcome {
  enum class Kind { kCounted, kDuplicate, kTooFast };
  Kind kind = Kind::kCounted;
  int64_t total = 0;  // the session's total after the batch
};

class LiveStore {
 public:
  virtual ~LiveStore() = default;

  // Takes one comment slot for `author` in the room: at most one per `min_interval` per author
  // and `room_per_second` per room and second (checked in that order; a refused comment takes
  // no slot of the room).
  virtual absl::StatusOr<RateVerdict> TakeCommentSlot(int64_t room_id, const std::string& author,
                                                      absl::Duration min_interval,
                                                      int room_per_second, absl::Time now) = 0;
  // Appends `json` to the room's stream (bounded to about `max_len` entries); the entry id.
  virtual absl::StatusOr<std::string> Append(int64_t room_id, const std::string& json,
                                             int max_len) = 0;
  // Counts a batch of `count` likes by `viewer` once: a batch id seen before in the session (for
  // `batch_ttl`) is a duplicate; more than `batches_per_second` batches of one viewer in a second
  // are refused (a duplicate is answered even then). The viewer's first counted batch of the
  // session makes them one of its likers and a new liker (NewLikers) in the same step.
  virtual absl::StatusOr<LikeOutcome> AddLikes(int64_t room_id, int64_t session_id,
                                               const std::string& viewer,
                                               const std::string& batch_id, int64_t count,
                                               absl::Duration batch_ttl, int batches_per_second,
                                               absl::Time now) = 0;
  virtual absl::StatusOr<int64_t> Likes(int64_t room_id, int64_t session_id) = 0;
  // The session's new likers, a page of about `count` at a time from `cursor` ("" to start):
  // viewers whose first like has not yet been forgotten with ForgetNewLikers. They stay in Redis
  // until then, so a flush that dies half-way (or a restart) loses none: the next finds them
  // again. A scan may answer a liker twice; every liker there from its start to its end is
  // answered at least once.
  virtual absl::StatusOr<NewLikersPage> NewLikers(int64_t room_id, int64_t session_id,
                                                  const std::string& cursor, int count) = 0;
  // Removes `viewers` from the session's new likers (once their first like is recorded).
  virtual absl::Status ForgetNewLikers(int64_t room_id, int64_t session_id,
                                       const std::vector<std::string>& viewers) = 0;
};

// The Redis keys (hash tag {room:<id>}), for the store and docs/INTERACTION.md.
std::string ChatStreamKey(int64_t room_id);
// The session's likers: every viewer who liked it (a set; 7 days after its last like).
std::string LikersKey(int64_t room_id, int64_t session_id);

}  // namespace livecommerce::interaction
