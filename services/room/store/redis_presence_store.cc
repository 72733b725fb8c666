#include "services/room/store/redis_presence_store.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace livecommerce::room {
namespace {

// Join or heartbeat of one device. KEYS: conn devs reach joins. ARGV: viewer device now_ms
// window_ms mode ttl_s. Returns 0 (heartbeat of a device that is not present), 1 (applied), 2
// (joined as a new arrival). Device entries are "device=last_ms" joined by ';'.
const common::RedisScript kTouchScript(R"lua(
local viewer, device, mode = ARGV[1], ARGV[2], ARGV[5]
local now = tonumber(ARGV[3])
local cutoff = now - tonumber(ARGV[4])
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. cutoff, 'LIMIT', 0, 64)
if #stale > 0 then
  redis.call('ZREM', KEYS[1], unpack(stale))
  redis.call('HDEL', KEYS[2], unpack(stale))
end
local others, had_device = {}, false
local current = redis.call('HGET', KEYS[2], viewer)
if current then
  for d, ts in string.gmatch(current, '([^=;]+)=(%d+)') do
    if tonumber(ts) >= cutoff then
      if d == device then had_device = true else others[#others + 1] = d .. '=' .. ts end
    end
  end
end
if mode == 'hb' and not had_device then return 0 end
local was_present = had_device or #others > 0
if #others >= 16 then table.remove(others, 1) end
others[#others + 1] = device .. '=' .. ARGV[3]
redis.call('HSET', KEYS[2], viewer, table.concat(others, ';'))
redis.call('ZADD', KEYS[1], ARGV[3], viewer)
if mode ~= 'join' then return 1 end
redis.call('PFADD', KEYS[3], viewer)
local arrived = 0
if not was_present then
  redis.call('INCR', KEYS[4])
  arrived = 1
end
for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ARGV[6]) end
return 1 + arrived
)lua");

// Leave of one device. KEYS: conn devs. ARGV: viewer device now_ms window_ms.
const common::RedisScript kLeaveScript(R"lua(
local cutoff = tonumber(ARGV[3]) - tonumber(ARGV[4])
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current then return 0 end
local others, newest = {}, nil
for d, ts in string.gmatch(current, '([^=;]+)=(%d+)') do
  local t = tonumber(ts)
  if d ~= ARGV[2] and t >= cutoff then
    others[#others + 1] = d .. '=' .. ts
    if newest == nil or t > newest then newest = t end
  end
end
if #others == 0 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
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
  return {prefix + "conn", prefix + "devs", prefix + "reach", prefix + "joins"};
}

}  // namespace

RedisPresenceStore::RedisPresenceStore(common::RedisPool& redis, absl::Duration window)
    : redis_(redis), window_(window), batcher_(redis) {}

void RedisPresenceStore::HeartbeatAsync(const PresenceSession& session,
                                        const std::string& viewer_id, const std::string& device_id,
                                        absl::Time now,
                                        std::function<void(absl::StatusOr<bool>)> done) {
  batcher_.Eval(kTouchScript, TouchCall(session, viewer_id, device_id, now, false),
                [done = std::move(done)](absl::StatusOr<common::RedisValue> reply) {
                  absl::StatusOr<int64_t> result = common::IntegerReply(reply);
                  if (!result.ok()) {
                    done(result.status());
                  } else {
                    done(*result != 0);
                  }
                });
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
  std::vector<std::string> keys = BucketKeys(session.session_id, bucket);
  keys.resize(2);
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
  commands.reserve(static_cast<size_t>(session.buckets) * 3);
  for (int b = 0; b < session.buckets; ++b) {
    std::vector<std::string> keys = BucketKeys(session.session_id, b);
    commands.push_back({"ZCOUNT", keys[0], cutoff, "+inf"});
    commands.push_back({"PFCOUNT", keys[2]});
    commands.push_back({"GET", keys[3]});
  }
  auto results = redis_.Pipeline(commands);
  if (!results.ok()) {
    return results.status();
  }
  LiveCounts counts;
  for (size_t i = 0; i < results->size(); i += 3) {
    absl::StatusOr<int64_t> concurrent = common::IntegerReply((*results)[i]);
    absl::StatusOr<int64_t> reach = common::IntegerReply((*results)[i + 1]);
    absl::StatusOr<int64_t> joins = common::IntegerReply((*results)[i + 2]);
    for (const auto* v : {&concurrent, &reach, &joins}) {
      if (!v->ok()) {
        return v->status();
      }
    }
    counts.concurrent += *concurrent;
    counts.reach += *reach;
    counts.joins += *joins;
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
