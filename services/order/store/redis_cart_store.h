#pragma once

#include "services/common/clock.h"
#include "services/common/redis_client.h"
#include "services/order/store/cart_store.h"

namespace livecommerce::order {

// CartStore on Redis: one hash per cart under the tag {cart:<brand>:<buyer>}, with a field
// "q|<line>" for each line's quantity and "m|<line>" for the rest of the line (a serialised
// CartItem). Every change is one Lua script and renews the cart's time to live; a cart's
// expires_at is `clock`'s now plus what is left of it.
class RedisCartStore final : public CartStore {
 public:
  RedisCartStore(common::RedisPool& redis, absl::Duration ttl, const common::Clock& clock)
      : redis_(redis), ttl_(ttl), clock_(clock) {}
  absl::Status LoadScripts();

  absl::StatusOr<v1::Cart> Add(const std::string& brand_id, const std::string& buyer_id,
                               const v1::CartItem& item, absl::Time now) override;
  absl::StatusOr<v1::Cart> SetQuantity(const std::string& brand_id, const std::string& buyer_id,
                                       const std::string& sku_id, const std::string& sale_id,
                                       int64_t quantity) override;
  absl::StatusOr<v1::Cart> Get(const std::string& brand_id, const std::string& buyer_id) override;
  absl::Status Clear(const std::string& brand_id, const std::string& buyer_id) override;

 private:
  common::RedisPool& redis_;
  absl::Duration ttl_;
  const common::Clock& clock_;
};

}  // namespace livecommerce::order
