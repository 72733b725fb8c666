#pragma once

#include "services/catalog/store/product_store.h"
#include "services/common/mysql_client.h"

namespace livecommerce::catalog {

// ProductStore on MySQL (tables products, skus, room_products, room_product_prices; see
// db/migrations/0002_catalog.sql). Image URLs and SKU attributes are JSON columns.
class MysqlProductStore final : public ProductStore {
 public:
  explicit MysqlProductStore(common::MysqlPool& pool) : pool_(pool) {}

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
  common::MysqlPool& pool_;
};

}  // namespace livecommerce::catalog
