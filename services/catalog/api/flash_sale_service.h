#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "livecommerce/v1/flash.grpc.pb.h"
#include "services/catalog/clients/room_directory.h"
#include "services/catalog/store/flash_sale_store.h"
#include "services/catalog/store/flash_stock_store.h"
#include "services/catalog/store/inventory_store.h"
#include "services/catalog/store/product_store.h"
#include "services/common/clock.h"
#include "services/common/handler.h"
#include "services/common/principal.h"
#include "services/common/ttl_cache.h"
#include "services/common/worker_pool.h"

namespace livecommerce::catalog {

struct FlashSaleOptions {
  int default_buckets = 4;
  absl::Duration sale_cache_ttl = absl::Seconds(1);
  // How long a rebuild waits after the live stock went missing, so reservations already taken from
  // Redis reach MySQL before the snapshot (longer than a reserve call can take).
  absl::Duration rebuild_grace = absl::Seconds(1);
  // Threads that write reservations to MySQL, off gRPC's callback threads.
  int record_threads = 16;
  // How long the reserve path trusts what the room service said about a room's visibility and
  // about a viewer's admission to a private room (an invite revoked meanwhile still buys until).
  absl::Duration access_cache_ttl = absl::Seconds(2);
  // A public room's visibility older than access_cache_ttl is still served while one background
  // call refreshes it (no storm of calls when it expires), up to this age.
  absl::Duration access_stale_limit = absl::Seconds(10);
};

// LC_FLASH_BUCKETS, LC_FLASH_REBUILD_GRACE_MS.
absl::StatusOr<FlashSaleOptions> LoadFlashSaleOptions();

// Rebuilds of live stock asked for by the hot path, done by a background job.
class RebuildQueue {
 public:
  void Request(int64_t sale_id, absl::Time now);
  // Sales whose request is older than `grace`; they leave the queue.
  std::vector<int64_t> TakeDue(absl::Time now, absl::Duration grace);

 private:
  std::mutex mu_;
  std::unordered_map<int64_t, absl::Time> requested_ ABSL_GUARDED_BY(mu_);
};

// gRPC handlers of livecommerce.v1.FlashSaleService. ReserveStock, the hot path of a flash-sale
// storm, is a callback method (no hand-off to the sync thread pool). The flash-sale logic that
// spans MySQL and Redis lives here: the order of the two writes is what keeps stock exact. The
// class is spread over files by section: flash_sale_service.cc (sales, rebuilds and sweeping),
// flash_sale_admission.cc (who sees a sale, whom its room admits) and flash_sale_reservations.cc
// (holds and reservations).
class FlashSaleServiceImpl final
    : public v1::FlashSaleService::WithCallbackMethod_ReserveStock<v1::FlashSaleService::Service> {
 public:
  FlashSaleServiceImpl(FlashSaleStore& sales, FlashStockStore& stock, ProductStore& products,
                       InventoryStore& inventory, RoomDirectory& rooms, RebuildQueue& rebuilds,
                       const common::Clock& clock, const common::PrincipalCodec& codec,
                       FlashSaleOptions options);

  grpc::Status CreateFlashSale(grpc::ServerContext* context,
                               const v1::CreateFlashSaleRequest* request,
                               v1::CreateFlashSaleResponse* response) override;
  grpc::Status StartFlashSale(grpc::ServerContext* context,
                              const v1::StartFlashSaleRequest* request,
                              v1::StartFlashSaleResponse* response) override;
  grpc::Status EndFlashSale(grpc::ServerContext* context, const v1::EndFlashSaleRequest* request,
                            v1::EndFlashSaleResponse* response) override;
  grpc::Status CancelFlashSale(grpc::ServerContext* context,
                               const v1::CancelFlashSaleRequest* request,
                               v1::CancelFlashSaleResponse* response) override;
  grpc::Status RebuildFlashStock(grpc::ServerContext* context,
                                 const v1::RebuildFlashStockRequest* request,
                                 v1::RebuildFlashStockResponse* response) override;
  grpc::Status GetFlashSale(grpc::ServerContext* context, const v1::GetFlashSaleRequest* request,
                            v1::GetFlashSaleResponse* response) override;
  grpc::Status ListRoomFlashSales(grpc::ServerContext* context,
                                  const v1::ListRoomFlashSalesRequest* request,
                                  v1::ListRoomFlashSalesResponse* response) override;
  grpc::Status CreateHold(grpc::ServerContext* context, const v1::CreateHoldRequest* request,
                          v1::CreateHoldResponse* response) override;
  grpc::Status ReleaseHold(grpc::ServerContext* context, const v1::ReleaseHoldRequest* request,
                           v1::ReleaseHoldResponse* response) override;
  grpc::ServerUnaryReactor* ReserveStock(grpc::CallbackServerContext* context,
                                         const v1::ReserveStockRequest* request,
                                         v1::ReserveStockResponse* response) override;
  grpc::Status ConfirmReservation(grpc::ServerContext* context,
                                  const v1::ConfirmReservationRequest* request,
                                  v1::ConfirmReservationResponse* response) override;
  grpc::Status ConfirmReservations(grpc::ServerContext* context,
                                   const v1::ConfirmReservationsRequest* request,
                                   v1::ConfirmReservationsResponse* response) override;
  grpc::Status ReleaseReservation(grpc::ServerContext* context,
                                  const v1::ReleaseReservationRequest* request,
                                  v1::ReleaseReservationResponse* response) override;

  // Rebuilds a sale's live stock from MySQL now (ops, and the background job).
  absl::Status Rebuild(int64_t sale_id);
  // Returns the stock of reservations and holds that have expired, and reconciles Redis with
  // MySQL for entries past their expiry. Returns how many entries were settled.
  absl::StatusOr<int> SweepOnce();

 private:
  absl::StatusOr<FlashSaleRecord> Sale(int64_t sale_id, bool fresh);
  void ForgetSale(int64_t sale_id);
  absl::Status FillSale(const FlashSaleRecord& sale, v1::FlashSale* out);
  absl::Status CheckCanSee(const common::Principal& caller, const FlashSaleRecord& sale);
  // Whether `viewer_id` is admitted to room `room_id` of `brand_id`, from the caches only: true for
  // a public room of the brand, or a pair the room service admitted lately.
  bool KnownAdmitted(const std::string& brand_id, int64_t room_id, const std::string& viewer_id);
  // The same, asking the room service when the caches do not know (blocking: never on a callback
  // thread). NOT_FOUND "room_id: no such room" for a room that is not the brand's;
  // PERMISSION_DENIED "<field>: ..." when the viewer holds no valid invite to the private room.
  absl::Status CheckAdmitted(const std::string& brand_id, int64_t room_id,
                             const std::string& viewer_id, absl::string_view field);

  // Changes a sale of the caller's brand (NOT_FOUND for another brand's) under its row lock.
  absl::StatusOr<FlashSaleRecord> ChangeSale(
      const common::Principal& caller, const std::string& sale_id,
      const std::function<absl::Status(FlashSaleRecord&)>& change);
  // Units taken from the live stock, still to be recorded in MySQL.
  struct TakenStock {
    FlashSaleRecord sale;
    StockReserveResult result;
    absl::Time now;
    absl::Time expires_at;
    absl::Time deadline = absl::InfiniteFuture();  // the caller's
  };
  // The checks before the Redis step of a flash reservation (run on the callback thread).
  absl::StatusOr<TakenStock> PrepareFlashTake(const common::Principal& caller,
                                              const v1::ReserveStockRequest& request);
  // The Redis step of a flash reservation and what follows it (answers through `reactor`).
  void TakeFlashStock(TakenStock taken, const v1::ReserveStockRequest* request,
                      v1::ReserveStockResponse* response, grpc::ServerUnaryReactor* reactor);
  // What the Redis step's answer means for the caller.
  absl::Status InterpretTake(TakenStock& taken, absl::StatusOr<StockReserveResult> result,
                             const v1::ReserveStockRequest& request);
  // The MySQL step: blocking, run on the worker pool.
  absl::Status RecordFlashReservation(const TakenStock& taken,
                                      const v1::ReserveStockRequest& request, v1::Reservation& out);
  // What to answer when recording taken units failed with `failure`: the units go back, and an
  // earlier record of the same reservation, if that is why, is the answer.
  absl::Status HandleUnrecorded(const TakenStock& taken, const v1::ReserveStockRequest& request,
                                const absl::Status& failure, v1::Reservation& out);
  // The SKU, read through a cache (see sku_cache_).
  absl::StatusOr<SkuRecord> CachedSku(int64_t sku_id);
  absl::Status ValidateReserve(const common::Principal& caller,
                               const v1::ReserveStockRequest& request);
  // Reservations waiting for MySQL; the recorder threads write them in batches (one statement
  // and one commit for many), so a storm's winners do not each pay a commit.
  struct PendingRecord {
    TakenStock taken;
    const v1::ReserveStockRequest* request;
    v1::ReserveStockResponse* response;
    grpc::ServerUnaryReactor* reactor;
  };
  void DrainPendingRecords();
  absl::Status ReserveRegular(const common::Principal& caller,
                              const v1::ReserveStockRequest& request, v1::Reservation& out);
  // The regular-inventory reservation `reservation_id` confirmed (or released) into `out` and
  // nullopt; or, when there is none, the flash reservation of that id of the caller's brand.
  absl::StatusOr<std::optional<FlashReservationRecord>> FindFlashReservation(
      const common::Principal& caller, const std::string& reservation_id, bool confirm,
      v1::Reservation& out);
  // Confirms a flash reservation of the caller's brand (its record and its live stock).
  absl::Status ConfirmFlash(const FlashReservationRecord& found,
                            v1::ConfirmReservationResponse& response);
  // Settles one stock entry past its expiry against the record.
  absl::Status Settle(const FlashSaleRecord& sale, const DueEntry& entry);

  FlashSaleStore& sales_;
  FlashStockStore& stock_;
  ProductStore& products_;
  InventoryStore& inventory_;
  RoomDirectory& rooms_;
  RebuildQueue& rebuilds_;
  const common::Clock& clock_;
  const common::PrincipalCodec& codec_;
  const common::HandlerFrame frame_{codec_, clock_};
  FlashSaleOptions options_;
  // Real time for the caches' ages and the rebuild queue's grace, never the injected clock: both
  // measure real work in flight, and a test's clock standing still must not keep a cache fresh.
  const common::SystemClock wall_clock_;

  // Sale settings and SKU details (price, status) for hot paths, up to sale_cache_ttl old.
  common::TtlCache<int64_t, FlashSaleRecord> sale_cache_{options_.sale_cache_ttl};
  common::TtlCache<int64_t, SkuRecord> sku_cache_{options_.sale_cache_ttl};
  // Rooms as the room service described them (brand, visibility), refreshed in the background
  // (see access_stale_limit), and "brand|room|viewer" pairs it admitted, up to access_cache_ttl
  // old: a public room's reserves cost no call per reserve.
  struct RoomInfo {
    RoomAccess access;
    absl::Time fetched_at;
    bool refreshing = false;
  };
  void RefreshRoom(const std::string& brand_id, int64_t room_id);
  void RememberRoom(int64_t room_id, const RoomAccess& access);
  std::mutex rooms_mu_;
  std::unordered_map<int64_t, RoomInfo> room_info_ ABSL_GUARDED_BY(rooms_mu_);
  common::TtlCache<std::string, bool> admitted_cache_{options_.access_cache_ttl};
  std::mutex pending_mu_;
  std::deque<PendingRecord> pending_ ABSL_GUARDED_BY(pending_mu_);
  common::WorkerPool recorders_;  // last member: drained first on destruction
};

}  // namespace livecommerce::catalog
