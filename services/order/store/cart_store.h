#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "livecommerce/v1/order.pb.h"

namespace livecommerce::order {

// Carts (Redis), one per buyer of a brand, expiring when left alone. Each change is atomic.
// Errors: UNAVAILABLE when Redis cannot be reached.
class CartStore {
 public:
  virtual ~CartStore() = default;
  // Adds to the quantity of the same SKU (and sale); a new line keeps the room and attribution it
  // came with. FAILED_PRECONDITION past the limits of lines or quantity per line.
  virtual absl::StatusOr<v1::Cart> Add(const std::string& brand_id, const std::string& buyer_id,
                                       const v1::CartItem& item, absl::Time now) = 0;
  // Sets a line's quantity (0 removes it). NOT_FOUND when the line is not in the cart.
  virtual absl::StatusOr<v1::Cart> SetQuantity(const std::string& brand_id,
                                               const std::string& buyer_id,
                                               const std::string& sku_id,
                                               const std::string& sale_id, int64_t quantity) = 0;
  virtual absl::StatusOr<v1::Cart> Get(const std::string& brand_id,
                                       const std::string& buyer_id) = 0;
  virtual absl::Status Clear(const std::string& brand_id, const std::string& buyer_id) = 0;
};

}  // namespace livecommerce::order
