#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/catalog/domain/flash_sale.h"
#include "services/catalog/store/flash_stock_store.h"

namespace livecommerce::catalog {

// The record of flash sales, reservations and holds (MySQL). Each method is one transaction.
// Errors: NOT_FOUND for unknown ids, UNAVAILABLE when the database cannot be reached.
class FlashSaleStore {
 public:
  virtual ~FlashSaleStore() = default;

  virtual absl::StatusOr<FlashSaleRecord> CreateSale(const FlashSaleRecord& sale) = 0;
  virtual absl::StatusOr<FlashSaleRecord> GetSale(int64_t sale_id) = 0;
  virtual absl::StatusOr<std::vector<FlashSaleRecord>> ListRoomSales(int64_t room_id) = 0;
  // Sales whose stock may still move: not over for long, or with live reservations or holds.
  virtual absl::StatusOr<std::vector<FlashSaleRecord>> ListSalesToSweep(absl::Time now) = 0;
  // Row-locked read-modify-write; an error from `mutate` writes nothing.
  virtual absl::StatusOr<FlashSaleRecord> UpdateSale(
      int64_t sale_id, const std::function<absl::Status(FlashSaleRecord&)>& mutate) = 0;

  // Records a reservation (and takes its hold units off the hold). ALREADY_EXISTS when the id is
  // taken.
  virtual absl::StatusOr<FlashReservationRecord> InsertReservation(
      const FlashReservationRecord& reservation, int64_t hold_id) = 0;
  // Records many reservations (none taking hold units) in one statement. One status per row, in
  // order: OK, or ALREADY_EXISTS when the id was taken before; a failure of the whole statement
  // is returned for every row.
  virtual std::vector<absl::Status> InsertReservations(
      const std::vector<FlashReservationRecord>& reservations) = 0;
  virtual absl::StatusOr<FlashReservationRecord> GetReservation(
      const std::string& reservation_id) = 0;
  virtual absl::StatusOr<FlashReservationRecord> UpdateReservation(
      const std::string& reservation_id,
      const std::function<absl::Status(FlashReservationRecord&)>& mutate) = 0;
  virtual absl::StatusOr<std::vector<FlashReservationRecord>> DueReservations(absl::Time now,
                                                                              int limit) = 0;

  virtual absl::StatusOr<HoldRecord> InsertHold(const HoldRecord& hold) = 0;
  virtual absl::StatusOr<HoldRecord> GetHold(int64_t hold_id) = 0;
  virtual absl::StatusOr<HoldRecord> UpdateHold(
      int64_t hold_id, const std::function<absl::Status(HoldRecord&)>& mutate) = 0;
  virtual absl::StatusOr<std::vector<HoldRecord>> DueHolds(absl::Time now, int limit) = 0;

  // With the sale's row locked: marks its due reservations and holds EXPIRED, reads what the live
  // stock must be, and calls `load` with it before committing (so no rebuild races another).
  virtual absl::Status RebuildUnderLock(
      int64_t sale_id, absl::Time now,
      const std::function<absl::Status(const FlashSaleRecord&, const StockSnapshot&)>& load) = 0;
};

}  // namespace livecommerce::catalog
