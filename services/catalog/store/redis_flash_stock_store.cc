#include "services/catalog/store/redis_flash_stock_store.h"

#include <algorithm>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/status.h"

namespace livecommerce::catalog {
namespace {

using common::RedisScript;
using common::RedisScriptCall;
using common::RedisValue;

// Every script takes the six keys of one bucket: avail sold buyers res holds exp.
// A missing avail key means the bucket is not loaded: scripts change nothing and say so.

// ARGV: res_id buyer qty limit expires_ms now_ms.
// Returns {"OK"|"DUP", entry} | {"LIMIT", left} | {"EMPTY", avail} | {"NOINIT"}.
const RedisScript kReserve(R"lua(
local entry = redis.call('HGET', KEYS[4], ARGV[1])
if entry then return {'DUP', entry} end
local avail = redis.call('GET', KEYS[1])
if not avail then return {'NOINIT'} end
avail = tonumber(avail)
local qty, limit, now = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6])
local bought = tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')
if bought + qty > limit then return {'LIMIT', tostring(limit - bought)} end
local from_hold, hold_id, hold_left, hold_exp = 0, '0', 0, '0'
local hold = redis.call('HGET', KEYS[5], ARGV[2])
if hold then
  local hq, he, hid = string.match(hold, '^(%d+):(%d+):(%d+)$')
  if tonumber(he) > now then
    from_hold = math.min(tonumber(hq), qty)
    hold_left, hold_exp, hold_id = tonumber(hq) - from_hold, he, hid
  end
end
local need = qty - from_hold
if need > avail then return {'EMPTY', tostring(avail)} end
if need > 0 then redis.call('DECRBY', KEYS[1], need) end
if from_hold > 0 then
  if hold_left > 0 then
    redis.call('HSET', KEYS[5], ARGV[2], hold_left .. ':' .. hold_exp .. ':' .. hold_id)
  else
    redis.call('HDEL', KEYS[5], ARGV[2])
    redis.call('ZREM', KEYS[6], 'hold:' .. ARGV[2])
  end
end
redis.call('HINCRBY', KEYS[3], ARGV[2], qty)
entry = 'R:' .. ARGV[3] .. ':' .. from_hold .. ':' .. hold_id .. ':' .. ARGV[2]
redis.call('HSET', KEYS[4], ARGV[1], entry)
redis.call('ZADD', KEYS[6], ARGV[5], ARGV[1])
return {'OK', entry}
)lua");

// ARGV: res_id. R -> C. Returns 1 when confirmed now, 0 when already done or unknown, -1 not
// loaded.
const RedisScript kConfirm(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local entry = redis.call('HGET', KEYS[4], ARGV[1])
if not entry or string.sub(entry, 1, 1) ~= 'R' then return 0 end
local qty = tonumber(string.match(entry, '^R:(%d+):'))
redis.call('HSET', KEYS[4], ARGV[1], 'C' .. string.sub(entry, 2))
redis.call('INCRBY', KEYS[2], qty)
redis.call('ZREM', KEYS[6], ARGV[1])
return 1
)lua");

// ARGV: res_id. R -> X, units back to avail. Returns the units returned, or -1 when not loaded.
const RedisScript kRelease(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local entry = redis.call('HGET', KEYS[4], ARGV[1])
if not entry or string.sub(entry, 1, 1) ~= 'R' then return 0 end
local qty, buyer = string.match(entry, '^R:(%d+):%d+:%d+:(.*)$')
qty = tonumber(qty)
redis.call('INCRBY', KEYS[1], qty)
if redis.call('HINCRBY', KEYS[3], buyer, -qty) <= 0 then redis.call('HDEL', KEYS[3], buyer) end
redis.call('HSET', KEYS[4], ARGV[1], 'X' .. string.sub(entry, 2))
redis.call('ZREM', KEYS[6], ARGV[1])
return qty
)lua");

// ARGV: client qty expires_ms hold_id now_ms. Returns {"OK"} | {"EXISTS"} | {"EMPTY", avail} |
// {"NOINIT"}.
const RedisScript kHold(R"lua(
local avail = redis.call('GET', KEYS[1])
if not avail then return {'NOINIT'} end
local current = redis.call('HGET', KEYS[5], ARGV[1])
if current then
  local he = tonumber(string.match(current, '^%d+:(%d+):'))
  if he > tonumber(ARGV[5]) then return {'EXISTS'} end
  return {'EXPIRED_PENDING'}
end
local qty = tonumber(ARGV[2])
if qty > tonumber(avail) then return {'EMPTY', avail} end
redis.call('DECRBY', KEYS[1], qty)
redis.call('HSET', KEYS[5], ARGV[1], ARGV[2] .. ':' .. ARGV[3] .. ':' .. ARGV[4])
redis.call('ZADD', KEYS[6], ARGV[3], 'hold:' .. ARGV[1])
return {'OK'}
)lua");

// ARGV: client hold_id. Returns the units given back, or -1 when not loaded.
const RedisScript kUnhold(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local current = redis.call('HGET', KEYS[5], ARGV[1])
if not current then return 0 end
local qty, hid = string.match(current, '^(%d+):%d+:(%d+)$')
if hid ~= ARGV[2] then return 0 end
redis.call('INCRBY', KEYS[1], qty)
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[6], 'hold:' .. ARGV[1])
return tonumber(qty)
)lua");

// Takes units from a donor bucket: at least ARGV[1] if it has them, up to half of what it has.
// Returns the units taken (0 when empty), or -1 when not loaded.
const RedisScript kTake(R"lua(
local avail = redis.call('GET', KEYS[1])
if not avail then return -1 end
avail = tonumber(avail)
local take = math.min(avail, math.max(tonumber(ARGV[1]), math.floor(avail / 2)))
if take > 0 then redis.call('DECRBY', KEYS[1], take) end
return take
)lua");

// Adds ARGV[1] units to a bucket. Returns 1, or -1 when not loaded.
const RedisScript kGive(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('INCRBY', KEYS[1], ARGV[1])
return 1
)lua");

// Replaces a bucket. ARGV: avail sold, then items "b|buyer|qty", "r|res_id|entry|expires_ms",
// "c|res_id|entry", "h|client|entry|expires_ms".
const RedisScript kLoad(R"lua(
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
for i = 3, #ARGV do
  local kind, a, b, c = string.match(ARGV[i], '^(%a)|([^|]*)|([^|]*)|?([^|]*)$')
  if kind == 'b' then redis.call('HSET', KEYS[3], a, b)
  elseif kind == 'r' then redis.call('HSET', KEYS[4], a, b); redis.call('ZADD', KEYS[6], c, a)
  elseif kind == 'c' then redis.call('HSET', KEYS[4], a, b)
  elseif kind == 'h' then redis.call('HSET', KEYS[5], a, b); redis.call('ZADD', KEYS[6], c, 'hold:' .. a)
  end
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[1], ARGV[1])
return 1
)lua");

std::vector<std::string> BucketKeys(int64_t sale_id, int bucket) {
  std::string prefix = absl::StrCat("lc:{fs:", sale_id, ":", bucket, "}:");
  return {prefix + "avail", prefix + "sold",  prefix + "buyers",
          prefix + "res",   prefix + "holds", prefix + "exp"};
}

// Parses "state:quantity:from_hold:hold_id:buyer".
bool ParseEntry(const std::string& entry, StockReserveResult* out) {
  std::vector<std::string> parts = absl::StrSplit(entry, absl::MaxSplits(':', 4));
  if (parts.size() != 5 || parts[0].size() != 1) return false;
  out->state = static_cast<StockReserveResult::State>(parts[0][0]);
  out->buyer_id = parts[4];
  return absl::SimpleAtoi(parts[1], &out->quantity) &&
         absl::SimpleAtoi(parts[2], &out->from_hold) && absl::SimpleAtoi(parts[3], &out->hold_id);
}

// A RESERVE reply as a result; EMPTY (the home bucket is short) reads as kSoldOut.
absl::StatusOr<StockReserveResult> ParseReserveReply(const absl::StatusOr<RedisValue>& reply) {
  if (!reply.ok()) return reply.status();
  if (reply->elements.empty()) return absl::InternalError("redis: empty reserve reply");
  const std::string& tag = reply->elements[0].str;
  StockReserveResult result;
  if (tag == "OK" || tag == "DUP") {
    result.outcome = StockReserveResult::Outcome::kReserved;
    result.duplicate = tag == "DUP";
    if (reply->elements.size() < 2 || !ParseEntry(reply->elements[1].str, &result)) {
      return absl::InternalError("redis: malformed reservation entry");
    }
  } else if (tag == "NOINIT") {
    result.outcome = StockReserveResult::Outcome::kNotLoaded;
  } else if (tag == "LIMIT") {
    result.outcome = StockReserveResult::Outcome::kLimit;
    (void)absl::SimpleAtoi(reply->elements[1].str, &result.limit_left);
  } else {
    result.outcome = StockReserveResult::Outcome::kSoldOut;
  }
  return result;
}

std::string Entry(StockReserveResult::State state, const FlashReservationRecord& r,
                  int64_t hold_id) {
  return absl::StrCat(std::string(1, static_cast<char>(state)), ":", r.quantity, ":", r.from_hold,
                      ":", hold_id, ":", r.buyer_id);
}

}  // namespace

RedisFlashStockStore::RedisFlashStockStore(common::RedisPool& redis,
                                           common::AdmissionOptions admission, size_t max_batch)
    : redis_(redis),
      max_batch_(max_batch),
      pending_(admission, "flash stock"),
      batcher_([this] { BatchLoop(); }) {}

RedisFlashStockStore::~RedisFlashStockStore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  ready_.notify_all();
  batcher_.join();
}

void RedisFlashStockStore::ReserveAsync(const StockLayout& layout,
                                        const std::string& reservation_id,
                                        const std::string& buyer_id, int64_t quantity,
                                        int32_t per_buyer_limit, absl::Time expires_at,
                                        absl::Time now, absl::Time deadline, ReserveDone done) {
  PendingReserve pending{layout,          reservation_id, buyer_id, quantity,
                         per_buyer_limit, expires_at,     now,      std::move(done)};
  absl::Status admitted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    admitted = pending_.Push(pending, deadline, absl::Now());
  }
  if (!admitted.ok()) {
    pending.done(std::move(admitted));  // refused: nothing reached Redis
    return;
  }
  ready_.notify_one();
}

void RedisFlashStockStore::BatchLoop() {
  for (;;) {
    std::vector<PendingReserve> batch;
    std::vector<PendingReserve> expired;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ready_.wait(lock, [this] { return stop_ || !pending_.empty(); });
      if (pending_.empty()) return;
      batch = pending_.Take(max_batch_, absl::Now(), &expired);
    }
    // Their callers have given up: answered without taking stock.
    for (PendingReserve& p : expired) p.done(common::DeadlinePassed("flash stock"));
    if (batch.empty()) continue;
    std::vector<RedisScriptCall> calls;
    calls.reserve(batch.size());
    for (const PendingReserve& p : batch) {
      calls.push_back(RedisScriptCall{
          BucketKeys(p.layout.sale_id, HomeBucket(p.buyer_id, p.layout.buckets)),
          {p.reservation_id, p.buyer_id, absl::StrCat(p.quantity), absl::StrCat(p.per_buyer_limit),
           absl::StrCat(absl::ToUnixMillis(p.expires_at)),
           absl::StrCat(absl::ToUnixMillis(p.now))}});
    }
    auto replies = redis_.EvalMany(kReserve, calls);
    // Members whose home bucket was short, and the free units of every bucket of their sales (one
    // more pipeline for the whole batch): once a bucketed sale is sold out, refusals stay cheap.
    std::vector<size_t> short_home;
    std::map<int64_t, std::vector<int64_t>> free_units;  // sale -> free units per bucket
    for (size_t i = 0; i < batch.size(); ++i) {
      PendingReserve& p = batch[i];
      if (!replies.ok()) {
        p.done(replies.status());
        continue;
      }
      absl::StatusOr<StockReserveResult> result = ParseReserveReply((*replies)[i]);
      if (result.ok() && result->outcome == StockReserveResult::Outcome::kSoldOut &&
          p.layout.buckets > 1) {
        short_home.push_back(i);
        free_units.emplace(p.layout.sale_id,
                           std::vector<int64_t>(static_cast<size_t>(p.layout.buckets), 0));
        continue;
      }
      p.done(std::move(result));
    }
    if (short_home.empty()) continue;
    std::vector<std::vector<std::string>> reads;
    for (const auto& [sale_id, units] : free_units) {
      for (size_t b = 0; b < units.size(); ++b) {
        reads.push_back({"GET", BucketKeys(sale_id, static_cast<int>(b))[0]});
      }
    }
    auto values = redis_.Pipeline(reads);
    if (values.ok()) {
      size_t k = 0;
      for (auto& [sale_id, units] : free_units) {
        for (int64_t& u : units) {
          absl::StatusOr<int64_t> v = common::IntegerReply((*values)[k++]);
          u = v.ok() ? *v : 1;  // unknown: let the slow path look
        }
      }
    }
    for (size_t i : short_home) {
      PendingReserve& p = batch[i];
      const std::vector<int64_t>& units = free_units[p.layout.sale_id];
      int home = HomeBucket(p.buyer_id, p.layout.buckets);
      bool elsewhere = !values.ok();
      for (size_t b = 0; b < units.size(); ++b) {
        if (static_cast<int>(b) != home && units[b] > 0) elsewhere = true;
      }
      if (!elsewhere) {
        StockReserveResult sold_out;
        sold_out.outcome = StockReserveResult::Outcome::kSoldOut;
        p.done(sold_out);
        continue;
      }
      // Units elsewhere: the synchronous path moves them to the home bucket.
      slow_path_.Submit([this, p = std::move(p)]() mutable {
        p.done(Reserve(p.layout, p.reservation_id, p.buyer_id, p.quantity, p.per_buyer_limit,
                       p.expires_at, p.now));
      });
    }
  }
}

absl::Status RedisFlashStockStore::LoadScripts() {
  return redis_.LoadScripts(
      {&kReserve, &kConfirm, &kRelease, &kHold, &kUnhold, &kTake, &kGive, &kLoad});
}

absl::StatusOr<int64_t> RedisFlashStockStore::Refill(const StockLayout& layout, int home,
                                                     int64_t need) {
  if (layout.buckets <= 1) return 0;
  std::vector<std::vector<std::string>> reads;
  for (int b = 0; b < layout.buckets; ++b) {
    reads.push_back({"GET", BucketKeys(layout.sale_id, b)[0]});
  }
  LC_ASSIGN_OR_RETURN(auto values, redis_.Pipeline(reads));
  // Richest donors first: fewer moves, and the buckets even out.
  std::vector<std::pair<int64_t, int>> donors;
  for (int b = 0; b < layout.buckets; ++b) {
    if (b == home) continue;
    LC_ASSIGN_OR_RETURN(int64_t avail, common::IntegerReply(values[static_cast<size_t>(b)]));
    if (avail > 0) donors.emplace_back(avail, b);
  }
  std::sort(donors.rbegin(), donors.rend());
  int64_t moved = 0;
  for (const auto& [avail, donor] : donors) {
    if (moved >= need) break;
    LC_ASSIGN_OR_RETURN(int64_t taken,
                        common::IntegerReply(redis_.Eval(kTake, BucketKeys(layout.sale_id, donor),
                                                         {absl::StrCat(need - moved)})));
    if (taken <= 0) continue;
    LC_ASSIGN_OR_RETURN(int64_t given,
                        common::IntegerReply(redis_.Eval(kGive, BucketKeys(layout.sale_id, home),
                                                         {absl::StrCat(taken)})));
    if (given < 0) {
      // The home bucket vanished (Redis lost it) mid-move: put the units back where they were.
      (void)redis_.Eval(kGive, BucketKeys(layout.sale_id, donor), {absl::StrCat(taken)});
      return absl::UnavailableError("flash stock is being restored, try again");
    }
    moved += taken;
  }
  return moved;
}

absl::StatusOr<StockReserveResult> RedisFlashStockStore::Reserve(
    const StockLayout& layout, const std::string& reservation_id, const std::string& buyer_id,
    int64_t quantity, int32_t per_buyer_limit, absl::Time expires_at, absl::Time now) {
  int home = HomeBucket(buyer_id, layout.buckets);
  std::vector<std::string> keys = BucketKeys(layout.sale_id, home);
  std::vector<std::string> args = {reservation_id,
                                   buyer_id,
                                   absl::StrCat(quantity),
                                   absl::StrCat(per_buyer_limit),
                                   absl::StrCat(absl::ToUnixMillis(expires_at)),
                                   absl::StrCat(absl::ToUnixMillis(now))};
  // Two refills at most: another buyer may take the moved units before this one gets them.
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::StatusOr<RedisValue> reply = redis_.Eval(kReserve, keys, args);
    LC_ASSIGN_OR_RETURN(StockReserveResult result, ParseReserveReply(reply));
    if (result.outcome != StockReserveResult::Outcome::kSoldOut) {
      return result;
    }
    // EMPTY: the home bucket is short.
    int64_t have = 0;
    if (reply->elements.size() > 1) (void)absl::SimpleAtoi(reply->elements[1].str, &have);
    LC_ASSIGN_OR_RETURN(int64_t moved, Refill(layout, home, quantity - have));
    if (moved == 0) {
      return result;
    }
  }
  StockReserveResult busy;
  busy.outcome = StockReserveResult::Outcome::kSoldOut;
  return busy;
}

absl::Status RedisFlashStockStore::Confirm(const StockLayout& layout,
                                           const std::string& reservation_id,
                                           const std::string& buyer_id) {
  LC_ASSIGN_OR_RETURN(
      int64_t result,
      common::IntegerReply(
          redis_.Eval(kConfirm, BucketKeys(layout.sale_id, HomeBucket(buyer_id, layout.buckets)),
                      {reservation_id})));
  if (result < 0) return absl::UnavailableError("flash stock is being restored, try again");
  return absl::OkStatus();
}

absl::StatusOr<int64_t> RedisFlashStockStore::Release(const StockLayout& layout,
                                                      const std::string& reservation_id,
                                                      const std::string& buyer_id) {
  return ReleaseAt(layout, HomeBucket(buyer_id, layout.buckets), reservation_id);
}

absl::StatusOr<int64_t> RedisFlashStockStore::ReleaseAt(const StockLayout& layout, int bucket,
                                                        const std::string& reservation_id) {
  LC_ASSIGN_OR_RETURN(int64_t result,
                      common::IntegerReply(redis_.Eval(kRelease, BucketKeys(layout.sale_id, bucket),
                                                       {reservation_id})));
  if (result < 0) return absl::UnavailableError("flash stock is being restored, try again");
  return result;
}

absl::StatusOr<StockReserveResult> RedisFlashStockStore::Hold(const StockLayout& layout,
                                                              const std::string& client_id,
                                                              int64_t quantity, int64_t hold_id,
                                                              absl::Time expires_at,
                                                              absl::Time now) {
  int home = HomeBucket(client_id, layout.buckets);
  std::vector<std::string> keys = BucketKeys(layout.sale_id, home);
  std::vector<std::string> args = {client_id, absl::StrCat(quantity),
                                   absl::StrCat(absl::ToUnixMillis(expires_at)),
                                   absl::StrCat(hold_id), absl::StrCat(absl::ToUnixMillis(now))};
  StockReserveResult result;
  for (int attempt = 0; attempt < 3; ++attempt) {
    LC_ASSIGN_OR_RETURN(RedisValue reply, redis_.Eval(kHold, keys, args));
    const std::string& tag = reply.elements.empty() ? std::string() : reply.elements[0].str;
    if (tag == "OK") {
      result.outcome = StockReserveResult::Outcome::kReserved;
      result.quantity = quantity;
      return result;
    }
    if (tag == "NOINIT") {
      result.outcome = StockReserveResult::Outcome::kNotLoaded;
      return result;
    }
    if (tag == "EXISTS" || tag == "EXPIRED_PENDING") {
      result.outcome = StockReserveResult::Outcome::kLimit;
      return result;
    }
    int64_t have = 0;
    (void)absl::SimpleAtoi(reply.elements.size() > 1 ? reply.elements[1].str : "0", &have);
    LC_ASSIGN_OR_RETURN(int64_t moved, Refill(layout, home, quantity - have));
    if (moved == 0) break;
  }
  result.outcome = StockReserveResult::Outcome::kSoldOut;
  return result;
}

absl::StatusOr<int64_t> RedisFlashStockStore::Unhold(const StockLayout& layout,
                                                     const std::string& client_id,
                                                     int64_t hold_id) {
  LC_ASSIGN_OR_RETURN(
      int64_t result,
      common::IntegerReply(
          redis_.Eval(kUnhold, BucketKeys(layout.sale_id, HomeBucket(client_id, layout.buckets)),
                      {client_id, absl::StrCat(hold_id)})));
  if (result < 0) return absl::UnavailableError("flash stock is being restored, try again");
  return result;
}

absl::StatusOr<StockFigures> RedisFlashStockStore::Figures(const StockLayout& layout) {
  std::vector<std::vector<std::string>> reads;
  for (int b = 0; b < layout.buckets; ++b) {
    std::vector<std::string> keys = BucketKeys(layout.sale_id, b);
    reads.push_back({"GET", keys[0]});
    reads.push_back({"GET", keys[1]});
    reads.push_back({"HVALS", keys[4]});
  }
  LC_ASSIGN_OR_RETURN(auto values, redis_.Pipeline(reads));
  StockFigures figures;
  figures.loaded = true;
  for (size_t i = 0; i < values.size(); i += 3) {
    if (!values[i].ok()) return values[i].status();
    if (values[i]->is_nil()) figures.loaded = false;
    LC_ASSIGN_OR_RETURN(int64_t avail, common::IntegerReply(values[i]));
    LC_ASSIGN_OR_RETURN(int64_t sold, common::IntegerReply(values[i + 1]));
    figures.remaining += avail;
    figures.sold += sold;
    if (!values[i + 2].ok()) return values[i + 2].status();
    for (const RedisValue& hold : values[i + 2]->elements) {
      int64_t units = 0;
      if (absl::SimpleAtoi(std::string(hold.str.substr(0, hold.str.find(':'))), &units)) {
        figures.held += units;
      }
    }
  }
  return figures;
}

absl::Status RedisFlashStockStore::Load(const StockLayout& layout, const StockSnapshot& snapshot) {
  std::vector<RedisScriptCall> calls(static_cast<size_t>(layout.buckets));
  std::vector<int64_t> avail = SplitStock(snapshot.available, layout.buckets);
  std::vector<int64_t> sold(static_cast<size_t>(layout.buckets), 0);
  std::vector<std::map<std::string, int64_t>> buyers(static_cast<size_t>(layout.buckets));
  for (int b = 0; b < layout.buckets; ++b) {
    calls[static_cast<size_t>(b)].keys = BucketKeys(layout.sale_id, b);
  }
  std::vector<std::vector<std::string>> items(static_cast<size_t>(layout.buckets));
  for (const FlashReservationRecord& r : snapshot.reservations) {
    size_t home = static_cast<size_t>(HomeBucket(r.buyer_id, layout.buckets));
    buyers[home][r.buyer_id] += r.quantity;
    if (r.status == v1::RESERVATION_STATUS_CONFIRMED) {
      sold[home] += r.quantity;
      items[home].push_back(absl::StrCat("c|", r.reservation_id, "|",
                                         Entry(StockReserveResult::State::kConfirmed, r, 0)));
    } else {
      items[home].push_back(absl::StrCat("r|", r.reservation_id, "|",
                                         Entry(StockReserveResult::State::kReserved, r, 0), "|",
                                         absl::ToUnixMillis(r.expires_at)));
    }
  }
  for (const HoldRecord& h : snapshot.holds) {
    size_t home = static_cast<size_t>(HomeBucket(h.client_id, layout.buckets));
    int64_t expires = absl::ToUnixMillis(h.expires_at);
    items[home].push_back(
        absl::StrCat("h|", h.client_id, "|", h.quantity, ":", expires, ":", h.id, "|", expires));
  }
  for (size_t b = 0; b < calls.size(); ++b) {
    calls[b].args = {absl::StrCat(avail[b]), absl::StrCat(sold[b])};
    for (const auto& [buyer, units] : buyers[b]) {
      calls[b].args.push_back(absl::StrCat("b|", buyer, "|", units));
    }
    calls[b].args.insert(calls[b].args.end(), items[b].begin(), items[b].end());
  }
  LC_ASSIGN_OR_RETURN(auto results, redis_.EvalMany(kLoad, calls));
  for (const auto& r : results) {
    if (!r.ok()) return r.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<DueEntry>> RedisFlashStockStore::Due(const StockLayout& layout,
                                                                absl::Time before, int limit) {
  std::vector<std::vector<std::string>> reads;
  std::string max = absl::StrCat("(", absl::ToUnixMillis(before));
  for (int b = 0; b < layout.buckets; ++b) {
    reads.push_back({"ZRANGEBYSCORE", BucketKeys(layout.sale_id, b)[5], "-inf", max, "LIMIT", "0",
                     absl::StrCat(limit)});
  }
  LC_ASSIGN_OR_RETURN(auto values, redis_.Pipeline(reads));
  std::vector<DueEntry> due;
  for (int b = 0; b < layout.buckets; ++b) {
    const auto& v = values[static_cast<size_t>(b)];
    if (!v.ok()) return v.status();
    for (const RedisValue& member : v->elements) {
      due.push_back(DueEntry{b, member.str});
    }
  }
  return due;
}

}  // namespace livecommerce::catalog
