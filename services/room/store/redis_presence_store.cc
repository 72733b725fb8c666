#include "services/room/store/redis_presence_store.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace livecommerce::room {
namespace {

// Join or heartbeat of one device. KEYS: conn devs reach joins watched watch. ARGV: viewer device
// now_ms window_ms mode ttl_s. Returns 0 (heartbeat of a device that is not present), 1 (applied),
// 2 (joined as a new arrival). Device entries are "device=last_ms" joined by ';'. Watch time: while
// a viewer stays present, the time since the moment counted up to (`watched`) is added to `watch`,
// so each viewer's stay is counted once from arrival to their last heartbeat or leave.
const common::RedisScript kTouchScript(R"lua(
local viewer, device, mode = ARGV[1], ARGV[2], ARGV[5]
local now = tonumber(ARGV[3])
local cutoff = now - tonumber(ARGV[4])
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. cutoff, 'LIMIT', 0, 64)
if #stale > 0 then
  redis.call('ZREM', KEYS[1], unpack(stale))
  redis.call('HDEL', KEYS[2], unpack(stale))
  redis.call('HDEL', KEYS[5], unpack(stale))
end
local others, had_device, newest = {}, false, now
local current = redis.call('HGET', KEYS[2], viewer)
if current then
  for d, ts in string.gmatch(current, '([^=;]+)=(%d+)') do
    local t = tonumber(ts)
    if t >= cutoff then
      if d == device then had_device = true else others[#others + 1] = d .. '=' .. ts end
      if t > newest then newest = t end
    end
  end
end
if mode == 'hb' and not had_device then return 0 end
local was_present = had_device or #others > 0
local counted = tonumber(redis.call('HGET', KEYS[5], viewer) or '0')
if was_present and counted > 0 then
  if now > counted then
    redis.call('INCRBY', KEYS[6], now - counted)
    redis.call('HSET', KEYS[5], viewer, ARGV[3])
  end
else
  redis.call('HSET', KEYS[5], viewer, ARGV[3])
end
if #others >= 16 then table.remove(others, 1) end
others[#others + 1] = device .. '=' .. ARGV[3]
redis.call('HSET', KEYS[2], viewer, table.concat(others, ';'))
redis.call('ZADD', KEYS[1], newest, viewer)
if mode ~= 'join' then return 1 end
redis.call('PFADD', KEYS[3], viewer)
local arrived = 0
if not was_present then
  redis.call('INCR', KEYS[4])
  arrived = 1
end
for i = 1, 6 do redis.call('EXPIRE', KEYS[i], ARGV[6]) end
return 1 + arrived
)lua");

// Leave of one device. KEYS: conn devs watched watch. ARGV: viewer device now_ms window_ms. The
// stay is counted up to the leave while the viewer was still present.
const common::RedisScript kLeaveScript(R"lua(
local now = tonumber(ARGV[3])
local cutoff = now - tonumber(ARGV[4])
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current then return 0 end
local others, newest, present = {}, nil, false
for d, ts in string.gmatch(current, '([^=;]+)=(%d+)') do
  local t = tonumber(ts)
  if t >= cutoff then
    present = true
    if d ~= ARGV[2] then
      others[#others + 1] = d .. '=' .. ts
      if newest == nil or t > newest then newest = t end
    end
  end
end
local counted = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if present and counted > 0 and now > counted then
  redis.call('INCRBY', KEYS[4], now - counted)
end
if #others == 0 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
if now > counted then redis.call('HSET', KEYS[3], ARGV[1], ARGV[3]) end
redis.call('HSET', KEYS[2], ARGV[1], table.concat(others, ';'))
redis.call('ZADD', KEYS[1], newest, ARGV[1])
return 2
)lua");

// Raises a stored maximum. KEYS: peak. ARGV: value ttl_s. Returns the maximum.
const common::RedisScript kMaxScript(R"lua(
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local value = tonumber(ARGV[1])
if value > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return value
end
return current
)lua");

// Presence keys outlive a session that was never ended properly by this long.
constexpr int64_t kKeyTtlSeconds = 3 * 24 * 3600;

std::string BucketPrefix(int64_t session_id, int bucket) {
  return absl::StrCat("lc:{ses:", session_id, ":", bucket, "}:");
}

std::string PeakKey(int64_t session_id) { return absl::StrCat("lc:{ses:", session_id, "}:peak"); }

std::vector<std::string> BucketKeys(int64_t session_id, int bucket) {
  std::string prefix = BucketPrefix(session_id, bucket);
  return {prefix + "conn",  prefix + "devs",    prefix + "reach",
          prefix + "joins", prefix + "watched", prefix + "watch"};
}

}  // namespace

RedisPresenceStore::RedisPresenceStore(common::RedisPool& redis, absl::Duration window,
                                       common::AdmissionOptions admission)
    : redis_(redis), window_(window), batcher_(redis, 512, admission) {}

void RedisPresenceStore::HeartbeatAsync(const PresenceSession& session,
                                        const std::string& viewer_id, const std::string& device_id,
                                        absl::Time now, absl::Time deadline,
                                        std::function<void(absl::StatusOr<bool>)> done) {
  batcher_.Eval(
      kTouchScript, TouchCall(session, viewer_id, device_id, now, false),
      [done = std::move(done)](absl::StatusOr<common::RedisValue> reply) {
        absl::StatusOr<int64_t> result = common::IntegerReply(reply);
        if (!result.ok()) {
          done(result.status());
        } else {
          done(*result != 0);
        }
      },
      deadline);
}

absl::Status RedisPresenceStore::LoadScripts() {
  return redis_.LoadScripts({&kTouchScript, &kLeaveScript, &kMaxScript});
}

common::RedisScriptCall RedisPresenceStore::TouchCall(const PresenceSession& session,
                                                      const std::string& viewer_id,
                                                      const std::string& device_id, absl::Time now,
                                                      bool join) const {
  int bucket = PresenceBucket(viewer_id, session.buckets);
  return common::RedisScriptCall{BucketKeys(session.session_id, bucket),
                                 {viewer_id, device_id, absl::StrCat(absl::ToUnixMillis(now)),
                                  absl::StrCat(absl::ToInt64Milliseconds(window_)),
                                  join ? "join" : "hb", absl::StrCat(kKeyTtlSeconds)}};
}

common::RedisScriptCall RedisPresenceStore::LeaveCall(const PresenceSession& session,
                                                      const std::string& viewer_id,
                                                      const std::string& device_id,
                                                      absl::Time now) const {
  int bucket = PresenceBucket(viewer_id, session.buckets);
  std::vector<std::string> all = BucketKeys(session.session_id, bucket);
  std::vector<std::string> keys = {all[0], all[1], all[4], all[5]};
  return common::RedisScriptCall{std::move(keys),
                                 {viewer_id, device_id, absl::StrCat(absl::ToUnixMillis(now)),
                                  absl::StrCat(absl::ToInt64Milliseconds(window_))}};
}

absl::StatusOr<bool> RedisPresenceStore::Join(const PresenceSession& session,
                                              const std::string& viewer_id,
                                              const std::string& device_id, absl::Time now) {
  common::RedisScriptCall call = TouchCall(session, viewer_id, device_id, now, true);
  absl::StatusOr<int64_t> result =
      common::IntegerReply(redis_.Eval(kTouchScript, call.keys, call.args));
  if (!result.ok()) {
    return result.status();
  }
  return *result == 2;
}

absl::StatusOr<bool> RedisPresenceStore::Heartbeat(const PresenceSession& session,
                                                   const std::string& viewer_id,
                                                   const std::string& device_id, absl::Time now) {
  common::RedisScriptCall call = TouchCall(session, viewer_id, device_id, now, false);
  absl::StatusOr<int64_t> result =
      common::IntegerReply(redis_.Eval(kTouchScript, call.keys, call.args));
  if (!result.ok()) {
    return result.status();
  }
  return *result != 0;
}

absl::Status RedisPresenceStore::Leave(const PresenceSession& session, const std::string& viewer_id,
                                       const std::string& device_id, absl::Time now) {
  common::RedisScriptCall call = LeaveCall(session, viewer_id, device_id, now);
  return common::IntegerReply(redis_.Eval(kLeaveScript, call.keys, call.args)).status();
}

absl::StatusOr<std::vector<bool>> RedisPresenceStore::Apply(const std::vector<PresenceOp>& ops,
                                                            absl::Time now) {
  std::vector<common::RedisScriptCall> touches;
  std::vector<common::RedisScriptCall> leaves;
  std::vector<size_t> touch_index;
  for (size_t i = 0; i < ops.size(); ++i) {
    const PresenceOp& op = ops[i];
    if (op.kind == PresenceOp::Kind::kHeartbeat) {
      touches.push_back(TouchCall(op.session, op.viewer_id, op.device_id, now, false));
      touch_index.push_back(i);
    } else {
      leaves.push_back(LeaveCall(op.session, op.viewer_id, op.device_id, now));
    }
  }
  std::vector<bool> applied(ops.size(), true);
  if (!touches.empty()) {
    auto results = redis_.EvalMany(kTouchScript, touches);
    if (!results.ok()) {
      return results.status();
    }
    for (size_t j = 0; j < results->size(); ++j) {
      absl::StatusOr<int64_t> value = common::IntegerReply((*results)[j]);
      if (!value.ok()) {
        return value.status();
      }
      applied[touch_index[j]] = *value != 0;
    }
  }
  if (!leaves.empty()) {
    auto results = redis_.EvalMany(kLeaveScript, leaves);
    if (!results.ok()) {
      return results.status();
    }
    for (const auto& result : *results) {
      if (!result.ok()) {
        return result.status();
      }
    }
  }
  return applied;
}

absl::StatusOr<LiveCounts> RedisPresenceStore::Counts(const PresenceSession& session,
                                                      absl::Time now) {
  std::string cutoff = absl::StrCat(absl::ToUnixMillis(now - window_));
  std::vector<std::vector<std::string>> commands;
  constexpr size_t kPerBucket = 4;
  commands.reserve(static_cast<size_t>(session.buckets) * kPerBucket);
  for (int b = 0; b < session.buckets; ++b) {
    std::vector<std::string> keys = BucketKeys(session.session_id, b);
    commands.push_back({"ZCOUNT", keys[0], cutoff, "+inf"});
    commands.push_back({"PFCOUNT", keys[2]});
    commands.push_back({"GET", keys[3]});
    commands.push_back({"GET", keys[5]});
  }
  auto results = redis_.Pipeline(commands);
  if (!results.ok()) {
    return results.status();
  }
  LiveCounts counts;
  for (size_t i = 0; i < results->size(); i += kPerBucket) {
    absl::StatusOr<int64_t> concurrent = common::IntegerReply((*results)[i]);
    absl::StatusOr<int64_t> reach = common::IntegerReply((*results)[i + 1]);
    absl::StatusOr<int64_t> joins = common::IntegerReply((*results)[i + 2]);
    absl::StatusOr<int64_t> watch_ms = common::IntegerReply((*results)[i + 3]);
    for (const auto* v : {&concurrent, &reach, &joins, &watch_ms}) {
      if (!v->ok()) {
        return v->status();
      }
    }
    counts.concurrent += *concurrent;
    counts.reach += *reach;
    counts.joins += *joins;
    counts.watch_ms += *watch_ms;
  }
  absl::StatusOr<int64_t> peak = common::IntegerReply(
      redis_.Eval(kMaxScript, {PeakKey(session.session_id)},
                  {absl::StrCat(counts.concurrent), absl::StrCat(kKeyTtlSeconds)}));
  if (!peak.ok()) {
    return peak.status();
  }
  counts.peak = *peak;
  return counts;
}

absl::Status RedisPresenceStore::Retire(const PresenceSession& session, absl::Duration ttl) {
  std::vector<std::vector<std::string>> commands;
  std::string seconds = absl::StrCat(std::max<int64_t>(1, absl::ToInt64Seconds(ttl)));
  for (int b = 0; b < session.buckets; ++b) {
    for (const std::string& key : BucketKeys(session.session_id, b)) {
      commands.push_back({"EXPIRE", key, seconds});
    }
  }
  commands.push_back({"EXPIRE", PeakKey(session.session_id), seconds});
  auto results = redis_.Pipeline(commands);
  if (!results.ok()) {
    return results.status();
  }
  for (const auto& r : *results) {
    if (!r.ok()) {
      return r.status();
    }
  }
  return absl::OkStatus();
}

}  // namespace livecommerce::room
