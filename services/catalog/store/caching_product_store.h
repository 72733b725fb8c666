#pragma once

#include <string>

#include "absl/time/time.h"
#include "services/catalog/store/product_store.h"
#include "services/common/ttl_cache.h"

namespace livecommerce::catalog {

// A ProductStore that keeps each room's product list for `ttl` after reading it, in front of the
// system of record: a crowd of viewers opening a room reads its list once a second, not once
// each. Any write through this store (a product, a SKU, stock on hand, a room's list) drops every
// kept list, since one product can be on many rooms' lists; another replica's write is seen
// within `ttl`. Everything else passes straight through. A zero `ttl` keeps nothing.
class CachingProductStore final : public ProductStore {
 public:
  CachingProductStore(ProductStore& store, absl::Duration ttl)
      : store_(store), room_lists_(ttl, 10000) {}

  absl::StatusOr<ProductRecord> CreateProduct(const ProductRecord& product) override;
  absl::StatusOr<ProductRecord> GetProduct(int64_t product_id) override;
  absl::StatusOr<ProductRecord> UpdateProduct(
      int64_t product_id, const std::function<absl::Status(ProductRecord&)>& mutate) override;
  absl::StatusOr<std::vector<ProductRecord>> ListProducts(const ProductQuery& query) override;
  absl::StatusOr<SkuRecord> AddSku(
      int64_t product_id, const SkuRecord& sku,
      const std::function<absl::Status(const ProductRecord&)>& check) override;
  absl::StatusOr<SkuRecord> GetSku(int64_t sku_id) override;
  absl::StatusOr<SkuRecord> UpdateSku(
      int64_t sku_id,
      const std::function<absl::Status(const ProductRecord&, SkuRecord&)>& mutate) override;
  absl::StatusOr<SkuRecord> SetOnHand(int64_t sku_id, int64_t on_hand, absl::Time now) override;
  absl::StatusOr<RoomProductView> AttachRoomProduct(
      const RoomProductRecord& item,
      const std::function<absl::Status(const ProductRecord&)>& check) override;
  absl::Status DetachRoomProduct(const std::string& brand_id, int64_t room_id, int64_t product_id,
                                 absl::Time now) override;
  absl::Status ReorderRoomProducts(const std::string& brand_id, int64_t room_id,
                                   const std::vector<int64_t>& product_ids,
                                   absl::Time now) override;
  absl::StatusOr<std::vector<RoomProductView>> ListRoomProducts(const std::string& brand_id,
                                                                int64_t room_id) override;

 private:
  ProductStore& store_;
  common::TtlCache<std::string, std::vector<RoomProductView>> room_lists_;
};

}  // namespace livecommerce::catalog
