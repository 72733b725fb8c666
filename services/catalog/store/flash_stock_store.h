#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/catalog/domain/flash_sale.h"

namespace livecommerce::catalog {

// Where a sale's live stock lives: its id and how many buckets it is split over.
struct StockLayout {
  int64_t sale_id = 0;
  int buckets = 1;
};

struct StockReserveResult {
  // A reservation's state in the live stock, as its entry's first character stores it.
  enum class State : char {
    kReserved = 'R',
    kConfirmed = 'C',
    kGone = 'X' /* released, expired */
  };
  enum class Outcome {
    kReserved,   // units taken (now, or earlier by the same reservation id: see `duplicate`)
    kLimit,      // the buyer would pass the per-buyer limit
    kSoldOut,    // not enough units in any bucket
    kNotLoaded,  // the live stock is missing (Redis lost it): rebuild, then retry
  };
  Outcome outcome = Outcome::kSoldOut;
  bool duplicate = false;  // the reservation id was already known; fields below are the stored ones
  State state = State::kReserved;
  int64_t quantity = 0;
  int64_t from_hold = 0;
  int64_t hold_id = 0;  // the hold the units came from, if any
  std::string buyer_id;
  int64_t limit_left = 0;  // with kLimit: how many more the buyer may take
};

struct StockFigures {
  bool loaded = false;
  int64_t remaining = 0;  // units anyone may reserve
  int64_t sold = 0;       // units confirmed
  int64_t held = 0;       // units in active holds
};

// What a sale's live stock is rebuilt from (read from MySQL).
struct StockSnapshot {
  int64_t available = 0;
  std::vector<FlashReservationRecord> reservations;  // RESERVED (unexpired) and CONFIRMED
  std::vector<HoldRecord> holds;                     // ACTIVE, unexpired
};

// An entry past its expiry in a sale's live stock: a reservation id, or a hold ("hold:<client>").
struct DueEntry {
  int bucket = 0;
  std::string member;
};

// The live stock of flash sales (Redis). Each bucket of a sale is its own hash tag
// ({fs:<sale>:<bucket>}) and every change to a bucket is one Lua script, so units are never
// counted twice. A buyer's reservations, hold and per-buyer count live in the buyer's home bucket;
// when it runs short, units move to it from other buckets (each move is atomic on each side; a
// crash in between leaves units in neither bucket until a rebuild, which can undersell but never
// oversell). Errors: UNAVAILABLE when Redis cannot be reached.
class FlashStockStore {
 public:
  virtual ~FlashStockStore() = default;
  virtual absl::StatusOr<StockReserveResult> Reserve(const StockLayout& layout,
                                                     const std::string& reservation_id,
                                                     const std::string& buyer_id, int64_t quantity,
                                                     int32_t per_buyer_limit, absl::Time expires_at,
                                                     absl::Time now) = 0;
  using ReserveDone = std::function<void(absl::StatusOr<StockReserveResult>)>;
  // Reserve, answered through `done` (possibly on another thread, which `done` must not block).
  // Stores may batch concurrent calls, refusing what they cannot take quickly and dropping what
  // is still waiting at `deadline` (common/admission.h); this default calls Reserve at once.
  virtual void ReserveAsync(const StockLayout& layout, const std::string& reservation_id,
                            const std::string& buyer_id, int64_t quantity, int32_t per_buyer_limit,
                            absl::Time expires_at, absl::Time now, absl::Time deadline,
                            ReserveDone done) {
    (void)deadline;
    done(Reserve(layout, reservation_id, buyer_id, quantity, per_buyer_limit, expires_at, now));
  }
  // Marks a reservation confirmed (its units stay sold). Idempotent.
  virtual absl::Status Confirm(const StockLayout& layout, const std::string& reservation_id,
                               const std::string& buyer_id) = 0;
  // Returns a reserved (not confirmed) reservation's units. Idempotent: 0 when nothing to return.
  virtual absl::StatusOr<int64_t> Release(const StockLayout& layout,
                                          const std::string& reservation_id,
                                          const std::string& buyer_id) = 0;
  // The same, for an entry found in `bucket` whose buyer is not known (see Due).
  virtual absl::StatusOr<int64_t> ReleaseAt(const StockLayout& layout, int bucket,
                                            const std::string& reservation_id) = 0;
  // Sets units aside for one client. kReserved on success, kSoldOut, kNotLoaded; kLimit when the
  // client already has an active hold.
  virtual absl::StatusOr<StockReserveResult> Hold(const StockLayout& layout,
                                                  const std::string& client_id, int64_t quantity,
                                                  int64_t hold_id, absl::Time expires_at,
                                                  absl::Time now) = 0;
  // Returns the units of the client's hold `hold_id` (all that is left of it). Idempotent.
  virtual absl::StatusOr<int64_t> Unhold(const StockLayout& layout, const std::string& client_id,
                                         int64_t hold_id) = 0;
  virtual absl::StatusOr<StockFigures> Figures(const StockLayout& layout) = 0;
  // Replaces the sale's live stock with `snapshot`, spread over its buckets.
  virtual absl::Status Load(const StockLayout& layout, const StockSnapshot& snapshot) = 0;
  // Entries whose expiry is before `before`, at most `limit` per bucket.
  virtual absl::StatusOr<std::vector<DueEntry>> Due(const StockLayout& layout, absl::Time before,
                                                    int limit) = 0;
};

}  // namespace livecommerce::catalog
