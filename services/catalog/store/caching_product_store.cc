#include "services/catalog/store/caching_product_store.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"

namespace livecommerce::catalog {

absl::StatusOr<ProductRecord> CachingProductStore::CreateProduct(const ProductRecord& product) {
  absl::StatusOr<ProductRecord> created = store_.CreateProduct(product);
  room_lists_.Clear();
  return created;
}

absl::StatusOr<ProductRecord> CachingProductStore::GetProduct(int64_t product_id) {
  return store_.GetProduct(product_id);
}

absl::StatusOr<ProductRecord> CachingProductStore::UpdateProduct(
    int64_t product_id, const std::function<absl::Status(ProductRecord&)>& mutate) {
  absl::StatusOr<ProductRecord> updated = store_.UpdateProduct(product_id, mutate);
  room_lists_.Clear();
  return updated;
}

absl::StatusOr<std::vector<ProductRecord>> CachingProductStore::ListProducts(
    const ProductQuery& query) {
  return store_.ListProducts(query);
}

absl::StatusOr<SkuRecord> CachingProductStore::AddSku(
    int64_t product_id, const SkuRecord& sku,
    const std::function<absl::Status(const ProductRecord&)>& check) {
  absl::StatusOr<SkuRecord> added = store_.AddSku(product_id, sku, check);
  room_lists_.Clear();
  return added;
}

absl::StatusOr<SkuRecord> CachingProductStore::GetSku(int64_t sku_id) {
  return store_.GetSku(sku_id);
}

absl::StatusOr<SkuRecord> CachingProductStore::UpdateSku(
    int64_t sku_id, const std::function<absl::Status(const ProductRecord&, SkuRecord&)>& mutate) {
  absl::StatusOr<SkuRecord> updated = store_.UpdateSku(sku_id, mutate);
  room_lists_.Clear();
  return updated;
}

absl::StatusOr<SkuRecord> CachingProductStore::SetOnHand(int64_t sku_id, int64_t on_hand,
                                                         absl::Time now) {
  absl::StatusOr<SkuRecord> updated = store_.SetOnHand(sku_id, on_hand, now);
  room_lists_.Clear();
  return updated;
}

absl::StatusOr<RoomProductView> CachingProductStore::AttachRoomProduct(
    const RoomProductRecord& item, const std::function<absl::Status(const ProductRecord&)>& check) {
  absl::StatusOr<RoomProductView> attached = store_.AttachRoomProduct(item, check);
  room_lists_.Clear();
  return attached;
}

absl::Status CachingProductStore::DetachRoomProduct(const std::string& brand_id, int64_t room_id,
                                                    int64_t product_id, absl::Time now) {
  absl::Status detached = store_.DetachRoomProduct(brand_id, room_id, product_id, now);
  room_lists_.Clear();
  return detached;
}

absl::Status CachingProductStore::ReorderRoomProducts(const std::string& brand_id, int64_t room_id,
                                                      const std::vector<int64_t>& product_ids,
                                                      absl::Time now) {
  absl::Status reordered = store_.ReorderRoomProducts(brand_id, room_id, product_ids, now);
  room_lists_.Clear();
  return reordered;
}

absl::StatusOr<std::vector<RoomProductView>> CachingProductStore::ListRoomProducts(
    const std::string& brand_id, int64_t room_id) {
  std::string key = absl::StrCat(room_id, "/", brand_id);
  if (std::optional<std::vector<RoomProductView>> cached = room_lists_.Get(key)) {
    return *std::move(cached);
  }
  uint64_t generation = room_lists_.Generation();
  absl::StatusOr<std::vector<RoomProductView>> list = store_.ListRoomProducts(brand_id, room_id);
  if (list.ok()) room_lists_.PutIfUnchanged(key, *list, generation);
  return list;
}

}  // namespace livecommerce::catalog
