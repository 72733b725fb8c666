#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace livecommerce::catalog {

enum class ReservationState { kReserved, kConfirmed, kReleased, kExpired };

// Units of one SKU's regular inventory set aside for one checkout.
struct InventoryReservation {
  std::string reservation_id;  // chosen by the caller (the order service); the idempotency key
  std::string brand_id;
  int64_t sku_id = 0;
  std::string buyer_id;
  int64_t quantity = 0;
  ReservationState state = ReservationState::kReserved;
  absl::Time expires_at;
};

// Regular (non-flash) inventory per SKU, in MySQL: on_hand units, of which `reserved` are set
// aside. Every change is one transaction with conditional updates, so available (on_hand -
// reserved) never goes below zero. All three changes are idempotent by reservation id: repeating a
// call returns the reservation as it is and changes nothing.
class InventoryStore {
 public:
  virtual ~InventoryStore() = default;
  // FAILED_PRECONDITION "quantity: only N available" when there is not enough; NOT_FOUND for an
  // unknown SKU; ALREADY_EXISTS when the reservation id was used for a different SKU, buyer or
  // quantity.
  virtual absl::StatusOr<InventoryReservation> Reserve(const InventoryReservation& reservation) = 0;
  // RESERVED -> CONFIRMED: the units leave on_hand for good. FAILED_PRECONDITION when the
  // reservation was released or has expired (at `now`); NOT_FOUND when unknown.
  virtual absl::StatusOr<InventoryReservation> Confirm(const std::string& reservation_id,
                                                       absl::Time now) = 0;
  // Confirm for each of `reservation_ids`, as one call: outcomes in the same order.
  virtual std::vector<absl::StatusOr<InventoryReservation>> ConfirmMany(
      const std::vector<std::string>& reservation_ids, absl::Time now) = 0;
  // RESERVED -> RELEASED: the units become available again. FAILED_PRECONDITION when confirmed.
  virtual absl::StatusOr<InventoryReservation> Release(const std::string& reservation_id,
                                                       absl::Time now) = 0;
  // RESERVED reservations past expires_at -> EXPIRED, their units available again. At most
  // `limit` per call; returns how many expired.
  virtual absl::StatusOr<int> ExpireDue(absl::Time now, int limit) = 0;
};

}  // namespace livecommerce::catalog
