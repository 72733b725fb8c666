#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "services/catalog/store/flash_stock_store.h"
#include "services/common/admission.h"
#include "services/common/redis_client.h"
#include "services/common/worker_pool.h"

namespace livecommerce::catalog {

// FlashStockStore on Redis. Keys of bucket b of sale s, all under the hash tag {fs:s:b}:
//   avail  units free to reserve (its absence means the bucket is not loaded)
//   sold   units confirmed
//   buyers hash buyer -> units reserved or bought (the per-buyer count)
//   res    hash reservation id -> "state:quantity:from_hold:hold_id:buyer"
//   holds  hash client -> "quantity:expires_ms:hold_id"
//   exp    sorted set of live reservation ids and "hold:<client>" by expiry (ms)
//
// ReserveAsync batches: reserves that arrive together go to Redis in one pipeline (one write and
// one read for many), which is what lets a storm of attempts through on few cores. A batch member
// whose home bucket is short finishes on a worker with the synchronous path (refills). The queue
// admits what it can serve quickly (common/admission.h): a storm past the store's capacity is
// refused at once, with a retry hint, instead of waiting.
class RedisFlashStockStore final : public FlashStockStore {
 public:
  explicit RedisFlashStockStore(
      common::RedisPool& redis,
      common::AdmissionOptions admission = common::AdmissionOptions::Unbounded(),
      size_t max_batch = 512);
  ~RedisFlashStockStore() override;
  absl::Status LoadScripts();

  void ReserveAsync(const StockLayout& layout, const std::string& reservation_id,
                    const std::string& buyer_id, int64_t quantity, int32_t per_buyer_limit,
                    absl::Time expires_at, absl::Time now, absl::Time deadline,
                    ReserveDone done) override;

  absl::StatusOr<StockReserveResult> Reserve(const StockLayout& layout,
                                             const std::string& reservation_id,
                                             const std::string& buyer_id, int64_t quantity,
                                             int32_t per_buyer_limit, absl::Time expires_at,
                                             absl::Time now) override;
  absl::Status Confirm(const StockLayout& layout, const std::string& reservation_id,
                       const std::string& buyer_id) override;
  absl::StatusOr<int64_t> Release(const StockLayout& layout, const std::string& reservation_id,
                                  const std::string& buyer_id) override;
  absl::StatusOr<int64_t> ReleaseAt(const StockLayout& layout, int bucket,
                                    const std::string& reservation_id) override;
  absl::StatusOr<StockReserveResult> Hold(const StockLayout& layout, const std::string& client_id,
                                          int64_t quantity, int64_t hold_id, absl::Time expires_at,
                                          absl::Time now) override;
  absl::StatusOr<int64_t> Unhold(const StockLayout& layout, const std::string& client_id,
                                 int64_t hold_id) override;
  absl::StatusOr<StockFigures> Figures(const StockLayout& layout) override;
  absl::Status Load(const StockLayout& layout, const StockSnapshot& snapshot) override;
  absl::StatusOr<std::vector<DueEntry>> Due(const StockLayout& layout, absl::Time before,
                                            int limit) override;

 private:
  // Moves units from other buckets into `home` until it has `need` (or nothing is left).
  // Returns the units moved.
  absl::StatusOr<int64_t> Refill(const StockLayout& layout, int home, int64_t need);

  struct PendingReserve {
    StockLayout layout;
    std::string reservation_id;
    std::string buyer_id;
    int64_t quantity;
    int32_t per_buyer_limit;
    absl::Time expires_at;
    absl::Time now;
    ReserveDone done;
  };
  void BatchLoop();

  common::RedisPool& redis_;
  std::mutex mu_;
  std::condition_variable ready_;
  size_t max_batch_;
  common::AdmissionQueue<PendingReserve> pending_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  common::WorkerPool slow_path_{4};
  std::thread batcher_;
};

}  // namespace livecommerce::catalog
