#pragma once

#include "services/catalog/store/flash_sale_store.h"
#include "services/common/mysql_client.h"

namespace livecommerce::catalog {

// FlashSaleStore on MySQL (tables flash_sales, flash_reservations, flash_holds).
class MysqlFlashSaleStore final : public FlashSaleStore {
 public:
  explicit MysqlFlashSaleStore(common::MysqlPool& pool) : pool_(pool) {}

  absl::StatusOr<FlashSaleRecord> CreateSale(const FlashSaleRecord& sale) override;
  absl::StatusOr<FlashSaleRecord> GetSale(int64_t sale_id) override;
  absl::StatusOr<std::vector<FlashSaleRecord>> ListRoomSales(int64_t room_id) override;
  absl::StatusOr<std::vector<FlashSaleRecord>> ListSalesToSweep(absl::Time now) override;
  absl::StatusOr<FlashSaleRecord> UpdateSale(
      int64_t sale_id, const std::function<absl::Status(FlashSaleRecord&)>& mutate) override;
  absl::StatusOr<FlashReservationRecord> InsertReservation(
      const FlashReservationRecord& reservation, int64_t hold_id) override;
  std::vector<absl::Status> InsertReservations(
      const std::vector<FlashReservationRecord>& reservations) override;
  absl::StatusOr<FlashReservationRecord> GetReservation(const std::string& reservation_id) override;
  absl::StatusOr<FlashReservationRecord> UpdateReservation(
      const std::string& reservation_id,
      const std::function<absl::Status(FlashReservationRecord&)>& mutate) override;
  absl::StatusOr<std::vector<FlashReservationRecord>> DueReservations(absl::Time now,
                                                                      int limit) override;
  absl::StatusOr<HoldRecord> InsertHold(const HoldRecord& hold) override;
  absl::StatusOr<HoldRecord> GetHold(int64_t hold_id) override;
  absl::StatusOr<HoldRecord> UpdateHold(
      int64_t hold_id, const std::function<absl::Status(HoldRecord&)>& mutate) override;
  absl::StatusOr<std::vector<HoldRecord>> DueHolds(absl::Time now, int limit) override;
  absl::Status RebuildUnderLock(
      int64_t sale_id, absl::Time now,
      const std::function<absl::Status(const FlashSaleRecord&, const StockSnapshot&)>& load)
      override;

 private:
  common::MysqlPool& pool_;
};

}  // namespace livecommerce::catalog
