#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/catalog/domain/product.h"

namespace livecommerce::catalog {

struct ProductQuery {
  std::string brand_id;
  std::string category;                                   // empty: any
  ProductStatus status = v1::PRODUCT_STATUS_UNSPECIFIED;  // UNSPECIFIED: any
  int64_t after_id = 0;                                   // page cursor: ids greater than this
  int limit = 20;
};

// A room item with its product (and the product's SKUs) as they are now.
struct RoomProductView {
  RoomProductRecord item;
  ProductRecord product;
};

// The system of record for products, SKUs and room product lists (MySQL). Each method is atomic.
// Errors: NOT_FOUND "<field>: no such ..." for unknown ids, ALREADY_EXISTS for a SKU code the
// brand already uses, UNAVAILABLE when the database cannot be reached. Brand checks are the
// caller's: the store returns rows of any brand.
class ProductStore {
 public:
  virtual ~ProductStore() = default;

  // Inserts the product and its SKUs (with their initial on_hand). ALREADY_EXISTS
  // "skus[i].sku_code: ..." when a code is taken.
  virtual absl::StatusOr<ProductRecord> CreateProduct(const ProductRecord& product) = 0;
  // With its SKUs. NOT_FOUND "product_id: no such product".
  virtual absl::StatusOr<ProductRecord> GetProduct(int64_t product_id) = 0;
  // Reads the product (with SKUs) under a row lock, lets `mutate` change its own fields and
  // status (an error aborts with nothing written), then writes them back. SKUs are not written.
  virtual absl::StatusOr<ProductRecord> UpdateProduct(
      int64_t product_id, const std::function<absl::Status(ProductRecord&)>& mutate) = 0;
  // Products of a brand in id order, with their SKUs.
  virtual absl::StatusOr<std::vector<ProductRecord>> ListProducts(const ProductQuery& query) = 0;

  // Adds a SKU to a product after `check` accepted the product (read under a row lock, so SKU
  // counts cannot race). ALREADY_EXISTS "sku.sku_code: ..." when the code is taken.
  virtual absl::StatusOr<SkuRecord> AddSku(
      int64_t product_id, const SkuRecord& sku,
      const std::function<absl::Status(const ProductRecord&)>& check) = 0;
  // NOT_FOUND "sku_id: no such SKU". The price is resolved (own price, else list price).
  virtual absl::StatusOr<SkuRecord> GetSku(int64_t sku_id) = 0;
  // Reads the SKU and its product under row locks, lets `mutate` change the SKU's own price and
  // attributes, then writes them back.
  virtual absl::StatusOr<SkuRecord> UpdateSku(
      int64_t sku_id,
      const std::function<absl::Status(const ProductRecord&, SkuRecord&)>& mutate) = 0;
  // Sets on_hand with one conditional update: FAILED_PRECONDITION "on_hand: ..." when fewer than
  // the units reserved.
  virtual absl::StatusOr<SkuRecord> SetOnHand(int64_t sku_id, int64_t on_hand, absl::Time now) = 0;

  // Attaches a product to a room's list, or changes its attachment (cohort, prices, position) when
  // it is already there, after `check` accepted the product (read under a shared lock). Positions
  // stay dense (1..n); `item.position` 0 or past the end puts it last. FAILED_PRECONDITION when
  // the room already lists kMaxRoomProducts other products.
  virtual absl::StatusOr<RoomProductView> AttachRoomProduct(
      const RoomProductRecord& item,
      const std::function<absl::Status(const ProductRecord&)>& check) = 0;
  // NOT_FOUND "product_id: not on the room's list".
  virtual absl::Status DetachRoomProduct(const std::string& brand_id, int64_t room_id,
                                         int64_t product_id, absl::Time now) = 0;
  // Puts the list in the order of `product_ids`, which must name exactly the products on it
  // (FAILED_PRECONDITION otherwise).
  virtual absl::Status ReorderRoomProducts(const std::string& brand_id, int64_t room_id,
                                           const std::vector<int64_t>& product_ids,
                                           absl::Time now) = 0;
  // Every item of the room's list in order, with products and SKUs, from one snapshot.
  virtual absl::StatusOr<std::vector<RoomProductView>> ListRoomProducts(const std::string& brand_id,
                                                                        int64_t room_id) = 0;
};

}  // namespace livecommerce::catalog
