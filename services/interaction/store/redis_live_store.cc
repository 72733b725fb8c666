#include "services/interaction/store/redis_live_store.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace livecommerce::interaction {
namespace {

// KEYS: author interval, room second. ARGV: interval_ms room_cap. Returns 0 allowed, 1 too fast,
// 2 room busy.
const common::RedisScript kCommentSlotScript(R"lua(
local interval = tonumber(ARGV[1])
if interval > 0 and redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
local cap = tonumber(ARGV[2])
if cap > 0 then
  local n = tonumber(redis.call('GET', KEYS[2]) or '0')
  if n >= cap then return 2 end
  redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], 2)
end
if interval > 0 then redis.call('SET', KEYS[1], '1', 'PX', interval) end
return 0
)lua");

// KEYS: total, batch, viewer second, likers, new likers. ARGV: count batch_ttl_s
// batches_per_second viewer now_ms. Returns {kind, total}: kind 0 counted, 1 duplicate, 2 too
// fast. A viewer's first counted batch of the session also enters the likers set and, with its
// time, the new likers the flush has yet to publish (a set answers "new?" in one step; the hash
// keeps the flush's work to the viewers it has not seen).
const common::RedisScript kLikesScript(R"lua(
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {1, tonumber(redis.call('GET', KEYS[1]) or '0')}
end
local n = redis.call('INCR', KEYS[3])
if n == 1 then redis.call('EXPIRE', KEYS[3], 2) end
if n > tonumber(ARGV[3]) then
  return {2, tonumber(redis.call('GET', KEYS[1]) or '0')}
end
redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2])
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
local week = 7 * 24 * 3600
redis.call('EXPIRE', KEYS[1], week)
if redis.call('SADD', KEYS[4], ARGV[4]) == 1 then
  redis.call('HSETNX', KEYS[5], ARGV[4], ARGV[5])
  redis.call('EXPIRE', KEYS[5], week)
end
redis.call('EXPIRE', KEYS[4], week)
return {0, total}
)lua");

std::string RoomPrefix(int64_t room_id) { return absl::StrCat("lc:{room:", room_id, "}:"); }

std::string LikesKey(int64_t room_id, int64_t session_id) {
  return absl::StrCat(RoomPrefix(room_id), "likes:", session_id);
}

std::string NewLikersKey(int64_t room_id, int64_t session_id) {
  return absl::StrCat(RoomPrefix(room_id), "lnew:", session_id);
}

}  // namespace

std::string ChatStreamKey(int64_t room_id) { return RoomPrefix(room_id) + "chat"; }

std::string LikersKey(int64_t room_id, int64_t session_id) {
  return absl::StrCat(RoomPrefix(room_id), "likers:", session_id);
}

absl::Status RedisLiveStore::LoadScripts() {
  return redis_.LoadScripts({&kCommentSlotScript, &kLikesScript});
}

absl::StatusOr<RateVerdict> RedisLiveStore::TakeCommentSlot(int64_t room_id,
                                                            const std::string& author,
                                                            absl::Duration min_interval,
                                                            int room_per_second, absl::Time now) {
  std::string prefix = RoomPrefix(room_id);
  absl::StatusOr<int64_t> verdict = common::IntegerReply(redis_.Eval(
      kCommentSlotScript,
      {absl::StrCat(prefix, "crate:", author),
       absl::StrCat(prefix, "ccap:", absl::ToUnixSeconds(now))},
      {absl::StrCat(absl::ToInt64Milliseconds(min_interval)), absl::StrCat(room_per_second)}));
  if (!verdict.ok()) return verdict.status();
  switch (*verdict) {
    case 0:
      return RateVerdict::kAllowed;
    case 1:
      return RateVerdict::kTooFast;
    case 2:
      return RateVerdict::kRoomBusy;
    default:
      return absl::InternalError("comment slot script: unexpected answer");
  }
}

absl::StatusOr<std::string> RedisLiveStore::Append(int64_t room_id, const std::string& json,
                                                   int max_len) {
  absl::StatusOr<common::RedisValue> id = redis_.Command(
      {"XADD", ChatStreamKey(room_id), "MAXLEN", "~", absl::StrCat(max_len), "*", "json", json});
  if (!id.ok()) return id.status();
  if (id->type != common::RedisValue::Type::kString) {
    return absl::InternalError("XADD: unexpected answer");
  }
  return id->str;
}

absl::StatusOr<LikeOutcome> RedisLiveStore::AddLikes(int64_t room_id, int64_t session_id,
                                                     const std::string& viewer,
                                                     const std::string& batch_id, int64_t count,
                                                     absl::Duration batch_ttl,
                                                     int batches_per_second, absl::Time now) {
  std::string prefix = RoomPrefix(room_id);
  absl::StatusOr<common::RedisValue> reply = redis_.Eval(
      kLikesScript,
      {LikesKey(room_id, session_id),
       absl::StrCat(prefix, "lbatch:", session_id, ":", viewer, ":", batch_id),
       absl::StrCat(prefix, "lrate:", viewer, ":", absl::ToUnixSeconds(now)),
       LikersKey(room_id, session_id), NewLikersKey(room_id, session_id)},
      {absl::StrCat(count), absl::StrCat(std::max<int64_t>(1, absl::ToInt64Seconds(batch_ttl))),
       absl::StrCat(batches_per_second), viewer, absl::StrCat(absl::ToUnixMillis(now))});
  if (!reply.ok()) return reply.status();
  if (reply->type != common::RedisValue::Type::kArray || reply->elements.size() != 2) {
    return absl::InternalError("likes script: unexpected answer");
  }
  LikeOutcome out;
  out.kind = static_cast<LikeOutcome::Kind>(reply->elements[0].integer);
  out.total = reply->elements[1].integer;
  return out;
}

absl::StatusOr<int64_t> RedisLiveStore::Likes(int64_t room_id, int64_t session_id) {
  return common::IntegerReply(redis_.Command({"GET", LikesKey(room_id, session_id)}));
}

absl::StatusOr<NewLikersPage> RedisLiveStore::NewLikers(int64_t room_id, int64_t session_id,
                                                        const std::string& cursor, int count) {
  absl::StatusOr<common::RedisValue> reply =
      redis_.Command({"HSCAN", NewLikersKey(room_id, session_id), cursor.empty() ? "0" : cursor,
                      "COUNT", absl::StrCat(std::max(1, count))});
  if (!reply.ok()) return reply.status();
  if (reply->type != common::RedisValue::Type::kArray || reply->elements.size() != 2 ||
      reply->elements[1].type != common::RedisValue::Type::kArray ||
      reply->elements[1].elements.size() % 2 != 0) {
    return absl::InternalError("HSCAN: unexpected answer");
  }
  NewLikersPage page;
  page.cursor = reply->elements[0].str == "0" ? "" : reply->elements[0].str;
  const std::vector<common::RedisValue>& fields = reply->elements[1].elements;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    NewLiker liker;
    liker.viewer_id = fields[i].str;
    int64_t millis = 0;
    // A time that does not read (never written so by the script) leaves the time unknown.
    if (absl::SimpleAtoi(fields[i + 1].str, &millis) && millis > 0) {
      liker.first_liked_at = absl::FromUnixMillis(millis);
    }
    page.likers.push_back(std::move(liker));
  }
  return page;
}

absl::Status RedisLiveStore::ForgetNewLikers(int64_t room_id, int64_t session_id,
                                             const std::vector<std::string>& viewers) {
  if (viewers.empty()) return absl::OkStatus();
  std::vector<std::string> command = {"HDEL", NewLikersKey(room_id, session_id)};
  command.insert(command.end(), viewers.begin(), viewers.end());
  return redis_.Command(command).status();
}

}  // namespace livecommerce::interaction
