#pragma once

#include "services/common/redis_client.h"
#include "services/interaction/store/live_store.h"

namespace livecommerce::interaction {

// LiveStore in Redis. Keys of one room share the hash tag {room:<id>}:
//   lc:{room:<id>}:chat                           the live stream (XADD MAXLEN ~)
//   lc:{room:<id>}:crate:<author>                 an author's comment interval (PX)
//   lc:{room:<id>}:ccap:<unix second>             the room's comments in that second
//   lc:{room:<id>}:likes:<session>                the session's like total
//   lc:{room:<id>}:lbatch:<session>:<viewer>:<batch>  a batch counted (EX: the batch ttl)
//   lc:{room:<id>}:lrate:<viewer>:<unix second>   a viewer's batches in that second
//   lc:{room:<id>}:likers:<session>               the session's likers (set of viewer ids)
//   lc:{room:<id>}:lnew:<session>                 likers not yet published (viewer -> unix ms)
class RedisLiveStore final : public LiveStore {
 public:
  explicit RedisLiveStore(common::RedisPool& redis) : redis_(redis) {}

  absl::Status LoadScripts();
  absl::StatusOr<RateVerdict> TakeCommentSlot(int64_t room_id, const std::string& author,
                                              absl::Duration min_interval, int room_per_second,
                                              absl::Time now) override;
  absl::StatusOr<std::string> Append(int64_t room_id, const std::string& json,
                                     int max_len) override;
  absl::StatusOr<LikeOutcome> AddLikes(int64_t room_id, int64_t session_id,
                                       const std::string& viewer, const std::string& batch_id,
                                       int64_t count, absl::Duration batch_ttl,
                                       int batches_per_second, absl::Time now) override;
  absl::StatusOr<int64_t> Likes(int64_t room_id, int64_t session_id) override;
  absl::StatusOr<NewLikersPage> NewLikers(int64_t room_id, int64_t session_id,
                                          const std::string& cursor, int count) override;
  absl::Status ForgetNewLikers(int64_t room_id, int64_t session_id,
                               const std::vector<std::string>& viewers) override;

 private:
  common::RedisPool& redis_;
};

}  // namespace livecommerce::interaction
