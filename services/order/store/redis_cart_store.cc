#include "services/order/store/redis_cart_store.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "services/order/domain/order.h"

namespace livecommerce::order {
namespace {

// ARGV: line qty meta max_qty max_lines ttl_s. Returns the new quantity, -1 too many lines, -2
// too many of this line.
const common::RedisScript kAdd(R"lua(
local qf, mf = 'q|' .. ARGV[1], 'm|' .. ARGV[1]
local current = tonumber(redis.call('HGET', KEYS[1], qf) or '0')
if current == 0 and redis.call('HLEN', KEYS[1]) / 2 >= tonumber(ARGV[5]) then return -1 end
local quantity = current + tonumber(ARGV[2])
if quantity > tonumber(ARGV[4]) then return -2 end
redis.call('HSET', KEYS[1], qf, quantity)
if current == 0 then redis.call('HSET', KEYS[1], mf, ARGV[3]) end
redis.call('EXPIRE', KEYS[1], ARGV[6])
return quantity
)lua");

// ARGV: line qty ttl_s. Returns the new quantity (0: removed), or -3 when the line is absent.
const common::RedisScript kSet(R"lua(
local qf, mf = 'q|' .. ARGV[1], 'm|' .. ARGV[1]
if redis.call('HEXISTS', KEYS[1], qf) == 0 then return -3 end
local quantity = tonumber(ARGV[2])
if quantity == 0 then
  redis.call('HDEL', KEYS[1], qf, mf)
else
  redis.call('HSET', KEYS[1], qf, quantity)
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return quantity
)lua");

std::string CartKey(const std::string& brand_id, const std::string& buyer_id) {
  return absl::StrCat("lc:{cart:", brand_id, ":", buyer_id, "}:items");
}

}  // namespace

absl::Status RedisCartStore::LoadScripts() { return redis_.LoadScripts({&kAdd, &kSet}); }

absl::StatusOr<v1::Cart> RedisCartStore::Add(const std::string& brand_id,
                                             const std::string& buyer_id, const v1::CartItem& item,
                                             absl::Time now) {
  v1::CartItem meta = item;
  meta.clear_quantity();
  common::ToTimestamp(now, meta.mutable_added_at());
  LC_ASSIGN_OR_RETURN(
      common::RedisValue result,
      redis_.Eval(kAdd, {CartKey(brand_id, buyer_id)},
                  {CartLineKey(item.sku_id(), item.sale_id()), absl::StrCat(item.quantity()),
                   meta.SerializeAsString(), absl::StrCat(kMaxLineQuantity),
                   absl::StrCat(kMaxCartLines), absl::StrCat(absl::ToInt64Seconds(ttl_))}));
  if (result.integer == -1) {
    return absl::FailedPreconditionError(
        absl::StrCat("sku_id: a cart holds at most ", kMaxCartLines, " lines"));
  }
  if (result.integer == -2) {
    return absl::FailedPreconditionError(
        absl::StrCat("quantity: at most ", kMaxLineQuantity, " of one item"));
  }
  return Get(brand_id, buyer_id);
}

absl::StatusOr<v1::Cart> RedisCartStore::SetQuantity(const std::string& brand_id,
                                                     const std::string& buyer_id,
                                                     const std::string& sku_id,
                                                     const std::string& sale_id, int64_t quantity) {
  LC_ASSIGN_OR_RETURN(common::RedisValue result,
                      redis_.Eval(kSet, {CartKey(brand_id, buyer_id)},
                                  {CartLineKey(sku_id, sale_id), absl::StrCat(quantity),
                                   absl::StrCat(absl::ToInt64Seconds(ttl_))}));
  if (result.integer == -3) {
    return absl::NotFoundError("sku_id: not in the cart");
  }
  return Get(brand_id, buyer_id);
}

absl::StatusOr<v1::Cart> RedisCartStore::Get(const std::string& brand_id,
                                             const std::string& buyer_id) {
  std::string key = CartKey(brand_id, buyer_id);
  LC_ASSIGN_OR_RETURN(auto replies, redis_.Pipeline({{"HGETALL", key}, {"PTTL", key}}));
  if (!replies[0].ok()) return replies[0].status();
  if (!replies[1].ok()) return replies[1].status();
  std::map<std::string, int64_t> quantities;
  std::map<std::string, v1::CartItem> items;
  const auto& fields = replies[0]->elements;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    const std::string& field = fields[i].str;
    const std::string& value = fields[i + 1].str;
    if (absl::StartsWith(field, "q|")) {
      int64_t q = 0;
      if (absl::SimpleAtoi(value, &q)) quantities[field.substr(2)] = q;
    } else if (absl::StartsWith(field, "m|")) {
      v1::CartItem item;
      if (item.ParseFromString(value)) items[field.substr(2)] = std::move(item);
    }
  }
  v1::Cart cart;
  cart.set_buyer_id(buyer_id);
  std::vector<v1::CartItem> lines;
  for (auto& [line, item] : items) {
    auto q = quantities.find(line);
    if (q == quantities.end()) continue;
    item.set_quantity(q->second);
    lines.push_back(std::move(item));
  }
  // Oldest first, as the buyer added them.
  std::sort(lines.begin(), lines.end(), [](const v1::CartItem& a, const v1::CartItem& b) {
    return common::FromTimestamp(a.added_at()) < common::FromTimestamp(b.added_at());
  });
  for (v1::CartItem& line : lines) *cart.add_items() = std::move(line);
  int64_t pttl = replies[1]->integer;
  if (pttl > 0) {
    common::ToTimestamp(clock_.Now() + absl::Milliseconds(pttl), cart.mutable_expires_at());
  }
  return cart;
}

absl::Status RedisCartStore::Clear(const std::string& brand_id, const std::string& buyer_id) {
  return redis_.Command({"DEL", CartKey(brand_id, buyer_id)}).status();
}

}  // namespace livecommerce::order
