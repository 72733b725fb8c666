#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "livecommerce/v1/flash.pb.h"

namespace livecommerce::catalog {

using v1::FlashSaleStatus;
using v1::HoldStatus;
using v1::ReservationStatus;

inline constexpr int kMaxSaleBuckets = 64;
inline constexpr int64_t kMaxSaleStock = 10'000'000;
inline constexpr int kMinReservationTtlSeconds = 10;
inline constexpr int kMaxReservationTtlSeconds = 3600;
inline constexpr int kMinHoldTtlSeconds = 60;
inline constexpr int kMaxHoldTtlSeconds = 7 * 24 * 3600;

struct FlashSaleRecord {
  int64_t id = 0;
  std::string brand_id;
  int64_t room_id = 0;
  int64_t sku_id = 0;
  int64_t product_id = 0;
  int64_t sale_price_fen = 0;
  std::string currency;
  int64_t total_stock = 0;
  int32_t per_buyer_limit = 0;
  absl::Time starts_at;
  absl::Time ends_at;
  // As stored: SCHEDULED (the window decides whether it is active), ENDED or CANCELLED.
  FlashSaleStatus status = v1::FLASH_SALE_STATUS_SCHEDULED;
  int buckets = 1;
  std::string created_by;
  absl::Time created_at;
  absl::Time updated_at;
};

struct FlashReservationRecord {
  std::string reservation_id;
  std::string brand_id;
  int64_t sale_id = 0;
  std::string buyer_id;
  int64_t quantity = 0;
  int64_t from_hold = 0;  // units that came out of the buyer's hold
  ReservationStatus status = v1::RESERVATION_STATUS_RESERVED;
  absl::Time expires_at;
  absl::Time created_at;
};

struct HoldRecord {
  int64_t id = 0;
  std::string brand_id;
  int64_t sale_id = 0;
  std::string client_id;
  int64_t quantity = 0;  // units still held
  HoldStatus status = v1::HOLD_STATUS_ACTIVE;
  absl::Time expires_at;
  std::string created_by;
  absl::Time created_at;
};

// The status a sale has at `now`: CANCELLED and ENDED as stored; otherwise by its window.
FlashSaleStatus EffectiveStatus(const FlashSaleRecord& sale, absl::Time now);

// Checks the fields ops give for a new sale. INVALID_ARGUMENT naming the field.
absl::Status ValidateNewSale(const FlashSaleRecord& sale);

// Whether units of the sale may be reserved at `now`: FAILED_PRECONDITION outside the window.
absl::Status CheckReservable(const FlashSaleRecord& sale, absl::Time now);

// Reservation ids are chosen by callers: 1..64 of [A-Za-z0-9_.:-].
absl::Status ValidateReservationId(absl::string_view id);
absl::Status ValidateQuantity(int64_t quantity);

// The bucket that keeps a buyer's reservations, holds and per-buyer count.
int HomeBucket(absl::string_view buyer_id, int buckets);
// Splits `units` over `buckets` as evenly as possible (the first buckets get the remainder).
std::vector<int64_t> SplitStock(int64_t units, int buckets);

}  // namespace livecommerce::catalog
