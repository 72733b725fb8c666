#pragma once

#include <memory>
#include <string>

#include "services/catalog/store/inventory_store.h"
#include "services/common/mysql_batcher.h"
#include "services/common/mysql_client.h"

namespace livecommerce::catalog {

// InventoryStore on MySQL: skus.on_hand / skus.reserved and the sku_reservations ledger (see
// db/migrations/0002_catalog.sql). Reserve changes the SKU row with one conditional UPDATE
// (`on_hand - reserved >= quantity`) and records the reservation in the same transaction;
// Confirm, Release and expiry lock the reservation row first, then the SKU row.
//
// Reserve and Confirm calls that arrive together are group-committed (common::MysqlBatcher): one
// transaction, one conditional UPDATE per SKU for the batch's units (falling back to one per
// reservation when the SKU cannot cover them all) and one multi-row statement for the
// reservations, so a busy SKU does not pay a commit per checkout.
class MysqlInventoryStore final : public InventoryStore {
 public:
  explicit MysqlInventoryStore(common::MysqlPool& pool);
  ~MysqlInventoryStore() override;

  // Also INVALID_ARGUMENT naming the field for an empty or malformed reservation_id or buyer_id, a
  // quantity that is not positive, or an unset expires_at.
  absl::StatusOr<InventoryReservation> Reserve(const InventoryReservation& reservation) override;
  absl::StatusOr<InventoryReservation> Confirm(const std::string& reservation_id,
                                               absl::Time now) override;
  // The confirmations are committed in as few batches as there are (not one by one).
  std::vector<absl::StatusOr<InventoryReservation>> ConfirmMany(
      const std::vector<std::string>& reservation_ids, absl::Time now) override;
  absl::StatusOr<InventoryReservation> Release(const std::string& reservation_id,
                                               absl::Time now) override;
  absl::StatusOr<int> ExpireDue(absl::Time now, int limit) override;

 private:
  struct ReserveItem {
    const InventoryReservation* asked;
    absl::StatusOr<InventoryReservation> result;
  };
  struct ConfirmItem {
    std::string reservation_id;
    absl::Time now;
    absl::StatusOr<InventoryReservation> result;
  };
  absl::Status ApplyReserves(common::MysqlConnection& c, const std::vector<ReserveItem*>& items);
  absl::Status ApplyConfirms(common::MysqlConnection& c, const std::vector<ConfirmItem*>& items);

  common::MysqlPool& pool_;
  std::unique_ptr<common::MysqlBatcher<ReserveItem>> reserves_;
  std::unique_ptr<common::MysqlBatcher<ConfirmItem>> confirms_;
};

}  // namespace livecommerce::catalog
