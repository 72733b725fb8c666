#pragma once

#include "services/catalog/store/inventory_store.h"
#include "services/common/mysql_client.h"

namespace livecommerce::catalog {

// InventoryStore on MySQL: skus.on_hand / skus.reserved and the sku_reservations ledger (see
// db/migrations/0002_catalog.sql). Reserve changes the SKU row with one conditional UPDATE
// (`on_hand - reserved >= quantity`) and records the reservation in the same transaction;
// Confirm, Release and expiry lock the reservation row first, then the SKU row.
class MysqlInventoryStore final : public InventoryStore {
 public:
  explicit MysqlInventoryStore(common::MysqlPool& pool) : pool_(pool) {}

  // Also INVALID_ARGUMENT naming the field for an empty or malformed reservation_id or buyer_id, a
  // quantity that is not positive, or an unset expires_at.
  absl::StatusOr<InventoryReservation> Reserve(const InventoryReservation& reservation) override;
  absl::StatusOr<InventoryReservation> Confirm(const std::string& reservation_id,
                                               absl::Time now) override;
  absl::StatusOr<InventoryReservation> Release(const std::string& reservation_id,
                                               absl::Time now) override;
  absl::StatusOr<int> ExpireDue(absl::Time now, int limit) override;

 private:
  common::MysqlPool& pool_;
};

}  // namespace livecommerce::catalog
