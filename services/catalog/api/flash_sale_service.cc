#include "services/catalog/api/flash_sale_service.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/catalog/api/flash_sale_shared.h"
#include "services/common/config.h"
#include "services/common/log_format.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"

namespace livecommerce::catalog {
namespace {

using common::FormatId;
using common::InvalidField;
using common::kAnyRole;
using common::ParseId;
using common::Principal;
using common::Role;
using common::Roles;
using common::ToTimestamp;

constexpr int kSweepBatch = 500;
constexpr Roles kOpsOnly{Role::kOps};
// The order service rebuilds a sale's live stock when it finds it missing; ops when they ask.
constexpr Roles kRebuilders{Role::kOps, Role::kService};

}  // namespace

absl::StatusOr<FlashSaleOptions> LoadFlashSaleOptions() {
  FlashSaleOptions options;
  auto buckets = common::EnvInt("LC_FLASH_BUCKETS", options.default_buckets, 1, kMaxSaleBuckets);
  auto grace = common::EnvMillis("LC_FLASH_REBUILD_GRACE_MS", 1000, 0, 60000);
  if (!buckets.ok()) return buckets.status();
  if (!grace.ok()) return grace.status();
  options.default_buckets = static_cast<int>(*buckets);
  options.rebuild_grace = *grace;
  return options;
}

void RebuildQueue::Request(int64_t sale_id, absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  requested_.emplace(sale_id, now);
}

std::vector<int64_t> RebuildQueue::TakeDue(absl::Time now, absl::Duration grace) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int64_t> due;
  for (auto it = requested_.begin(); it != requested_.end();) {
    if (now - it->second >= grace) {
      due.push_back(it->first);
      it = requested_.erase(it);
    } else {
      ++it;
    }
  }
  return due;
}

FlashSaleServiceImpl::FlashSaleServiceImpl(FlashSaleStore& sales, FlashStockStore& stock,
                                           ProductStore& products, InventoryStore& inventory,
                                           RoomDirectory& rooms, RebuildQueue& rebuilds,
                                           const common::Clock& clock,
                                           const common::PrincipalCodec& codec,
                                           FlashSaleOptions options)
    : sales_(sales),
      stock_(stock),
      products_(products),
      inventory_(inventory),
      rooms_(rooms),
      rebuilds_(rebuilds),
      clock_(clock),
      codec_(codec),
      options_(options),
      recorders_(options.record_threads) {}

absl::StatusOr<FlashSaleRecord> FlashSaleServiceImpl::Sale(int64_t sale_id, bool fresh) {
  if (!fresh) {
    if (std::optional<FlashSaleRecord> cached = sale_cache_.Get(sale_id)) return *cached;
  }
  LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, sales_.GetSale(sale_id));
  sale_cache_.Put(sale_id, sale);
  return sale;
}

void FlashSaleServiceImpl::ForgetSale(int64_t sale_id) { sale_cache_.Erase(sale_id); }

absl::StatusOr<SkuRecord> FlashSaleServiceImpl::CachedSku(int64_t sku_id) {
  if (std::optional<SkuRecord> cached = sku_cache_.Get(sku_id)) return *cached;
  LC_ASSIGN_OR_RETURN(SkuRecord sku, products_.GetSku(sku_id));
  sku_cache_.Put(sku_id, sku);
  return sku;
}

absl::Status FlashSaleServiceImpl::FillSale(const FlashSaleRecord& sale, v1::FlashSale* out) {
  out->set_id(FormatId(sale.id));
  out->set_brand_id(sale.brand_id);
  out->set_room_id(FormatId(sale.room_id));
  out->set_sku_id(FormatId(sale.sku_id));
  out->set_product_id(FormatId(sale.product_id));
  out->mutable_sale_price()->set_amount_fen(sale.sale_price_fen);
  out->mutable_sale_price()->set_currency(sale.currency);
  out->set_total_stock(sale.total_stock);
  out->set_per_buyer_limit(sale.per_buyer_limit);
  ToTimestamp(sale.starts_at, out->mutable_starts_at());
  ToTimestamp(sale.ends_at, out->mutable_ends_at());
  out->set_status(EffectiveStatus(sale, clock_.Now()));
  out->set_buckets(sale.buckets);
  ToTimestamp(sale.created_at, out->mutable_created_at());
  LC_ASSIGN_OR_RETURN(StockFigures figures, stock_.Figures(LayoutOf(sale)));
  if (!figures.loaded) {
    rebuilds_.Request(sale.id, wall_clock_.Now());
  }
  out->set_remaining(figures.remaining);
  out->set_sold(figures.sold);
  out->set_held(figures.held);
  return absl::OkStatus();
}

// ---- Sales -------------------------------------------------------------------------------------

grpc::Status FlashSaleServiceImpl::CreateFlashSale(grpc::ServerContext* context,
                                                   const v1::CreateFlashSaleRequest* request,
                                                   v1::CreateFlashSaleResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(int64_t room_id, ParseId("room_id", request->room_id()));
    LC_ASSIGN_OR_RETURN(int64_t sku_id, ParseId("sku_id", request->sku_id()));
    FlashSaleRecord sale;
    sale.brand_id = caller.brand_id;
    sale.room_id = room_id;
    sale.sku_id = sku_id;
    sale.sale_price_fen = request->sale_price().amount_fen();
    sale.currency = request->sale_price().currency();
    sale.total_stock = request->total_stock();
    sale.per_buyer_limit = request->per_buyer_limit();
    if (request->has_starts_at()) {
      LC_ASSIGN_OR_RETURN(sale.starts_at,
                          common::ParseTimestamp("starts_at", request->starts_at()));
    } else {
      sale.starts_at = absl::UnixEpoch();
    }
    if (request->has_ends_at()) {
      LC_ASSIGN_OR_RETURN(sale.ends_at, common::ParseTimestamp("ends_at", request->ends_at()));
    }
    sale.buckets = request->buckets() == 0 ? options_.default_buckets : request->buckets();
    LC_RETURN_IF_ERROR(ValidateNewSale(sale));
    absl::Time now = clock_.Now();
    if (sale.ends_at <= now) {
      return InvalidField("ends_at", "must be in the future");
    }
    // The room must be this brand's (the room service hides other brands' rooms).
    LC_ASSIGN_OR_RETURN(RoomAccess room, rooms_.Access(caller.brand_id, request->room_id(), ""));
    if (room.brand_id != caller.brand_id) {
      return absl::NotFoundError("room_id: no such room");
    }
    absl::StatusOr<SkuRecord> sku = products_.GetSku(sku_id);
    if (!sku.ok() || sku->brand_id != caller.brand_id) {
      return sku.ok() || sku.status().code() == absl::StatusCode::kNotFound
                 ? absl::NotFoundError("sku_id: no such SKU")
                 : sku.status();
    }
    if (sku->product_status == v1::PRODUCT_STATUS_ARCHIVED) {
      return absl::FailedPreconditionError("sku_id: the product is archived");
    }
    if (sku->currency != sale.currency) {
      return InvalidField("sale_price.currency", "must be the SKU's currency");
    }
    sale.product_id = sku->product_id;
    sale.status = v1::FLASH_SALE_STATUS_SCHEDULED;
    sale.created_by = caller.subject;
    sale.created_at = now;
    sale.updated_at = now;
    LC_ASSIGN_OR_RETURN(FlashSaleRecord created, sales_.CreateSale(sale));
    StockSnapshot fresh;
    fresh.available = created.total_stock;
    absl::Status loaded = stock_.Load(LayoutOf(created), fresh);
    if (!loaded.ok()) {
      // The sale is recorded; its stock is loaded by the rebuild job as soon as Redis answers.
      spdlog::warn("flash sale {} created but its stock is not loaded yet: {}", created.id,
                   loaded.message());
      rebuilds_.Request(created.id, wall_clock_.Now());
    }
    spdlog::info("flash sale {} created in room {}: {} units", created.id, created.room_id,
                 created.total_stock);
    return FillSale(created, response->mutable_sale());
  });
}

absl::StatusOr<FlashSaleRecord> FlashSaleServiceImpl::ChangeSale(
    const Principal& caller, const std::string& sale_id,
    const std::function<absl::Status(FlashSaleRecord&)>& change) {
  LC_ASSIGN_OR_RETURN(int64_t id, ParseId("sale_id", sale_id));
  LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, Sale(id, true));
  if (sale.brand_id != caller.brand_id) {
    return absl::NotFoundError("sale_id: no such flash sale");
  }
  LC_ASSIGN_OR_RETURN(FlashSaleRecord changed, sales_.UpdateSale(id, change));
  ForgetSale(id);
  return changed;
}

grpc::Status FlashSaleServiceImpl::StartFlashSale(grpc::ServerContext* context,
                                                  const v1::StartFlashSaleRequest* request,
                                                  v1::StartFlashSaleResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    absl::Time now = clock_.Now();
    LC_ASSIGN_OR_RETURN(
        FlashSaleRecord sale,
        ChangeSale(caller, request->sale_id(), [&](FlashSaleRecord& s) -> absl::Status {
          if (EffectiveStatus(s, now) != v1::FLASH_SALE_STATUS_SCHEDULED) {
            return absl::FailedPreconditionError("sale_id: only a scheduled sale can start");
          }
          s.starts_at = now;
          s.updated_at = now;
          return absl::OkStatus();
        }));
    return FillSale(sale, response->mutable_sale());
  });
}

grpc::Status FlashSaleServiceImpl::EndFlashSale(grpc::ServerContext* context,
                                                const v1::EndFlashSaleRequest* request,
                                                v1::EndFlashSaleResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    absl::Time now = clock_.Now();
    LC_ASSIGN_OR_RETURN(
        FlashSaleRecord sale,
        ChangeSale(caller, request->sale_id(), [&](FlashSaleRecord& s) -> absl::Status {
          if (EffectiveStatus(s, now) != v1::FLASH_SALE_STATUS_ACTIVE) {
            return absl::FailedPreconditionError("sale_id: only an active sale can end");
          }
          s.status = v1::FLASH_SALE_STATUS_ENDED;
          s.ends_at = now;
          s.updated_at = now;
          return absl::OkStatus();
        }));
    return FillSale(sale, response->mutable_sale());
  });
}

grpc::Status FlashSaleServiceImpl::CancelFlashSale(grpc::ServerContext* context,
                                                   const v1::CancelFlashSaleRequest* request,
                                                   v1::CancelFlashSaleResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    absl::Time now = clock_.Now();
    LC_ASSIGN_OR_RETURN(
        FlashSaleRecord sale,
        ChangeSale(caller, request->sale_id(), [&](FlashSaleRecord& s) -> absl::Status {
          FlashSaleStatus status = EffectiveStatus(s, now);
          if (status != v1::FLASH_SALE_STATUS_SCHEDULED && status != v1::FLASH_SALE_STATUS_ACTIVE) {
            return absl::FailedPreconditionError(
                "sale_id: only a scheduled or active sale can be cancelled");
          }
          s.status = v1::FLASH_SALE_STATUS_CANCELLED;
          s.updated_at = now;
          return absl::OkStatus();
        }));
    return FillSale(sale, response->mutable_sale());
  });
}

absl::Status FlashSaleServiceImpl::Rebuild(int64_t sale_id) {
  absl::Status status = sales_.RebuildUnderLock(
      sale_id, clock_.Now(), [&](const FlashSaleRecord& sale, const StockSnapshot& snapshot) {
        return stock_.Load(LayoutOf(sale), snapshot);
      });
  if (status.ok()) {
    spdlog::info("flash sale {}: live stock rebuilt from the record", sale_id);
  }
  return status;
}

grpc::Status FlashSaleServiceImpl::RebuildFlashStock(grpc::ServerContext* context,
                                                     const v1::RebuildFlashStockRequest* request,
                                                     v1::RebuildFlashStockResponse* response) {
  return frame_.Run(*context, kRebuilders, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(int64_t id, ParseId("sale_id", request->sale_id()));
    LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, Sale(id, true));
    if (sale.brand_id != caller.brand_id) {
      return absl::NotFoundError("sale_id: no such flash sale");
    }
    LC_RETURN_IF_ERROR(Rebuild(id));
    return FillSale(sale, response->mutable_sale());
  });
}

grpc::Status FlashSaleServiceImpl::GetFlashSale(grpc::ServerContext* context,
                                                const v1::GetFlashSaleRequest* request,
                                                v1::GetFlashSaleResponse* response) {
  return frame_.Run(*context, kAnyRole, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(int64_t id, ParseId("sale_id", request->sale_id()));
    LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, Sale(id, false));
    LC_RETURN_IF_ERROR(CheckCanSee(caller, sale));
    return FillSale(sale, response->mutable_sale());
  });
}

grpc::Status FlashSaleServiceImpl::ListRoomFlashSales(grpc::ServerContext* context,
                                                      const v1::ListRoomFlashSalesRequest* request,
                                                      v1::ListRoomFlashSalesResponse* response) {
  return frame_.Run(*context, kAnyRole, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(int64_t room_id, ParseId("room_id", request->room_id()));
    LC_ASSIGN_OR_RETURN(RoomAccess access, rooms_.Access(caller.brand_id, request->room_id(),
                                                         IsStaff(caller) ? "" : caller.subject));
    if (!IsStaff(caller) && !access.admitted) {
      return absl::PermissionDeniedError("room_id: this room is private; an invite is needed");
    }
    LC_ASSIGN_OR_RETURN(std::vector<FlashSaleRecord> sales, sales_.ListRoomSales(room_id));
    for (const FlashSaleRecord& sale : sales) {
      if (sale.brand_id != caller.brand_id) continue;
      LC_RETURN_IF_ERROR(FillSale(sale, response->add_sales()));
    }
    return absl::OkStatus();
  });
}

// ---- Sweeping ----------------------------------------------------------------------------------

absl::Status FlashSaleServiceImpl::Settle(const FlashSaleRecord& sale, const DueEntry& entry) {
  StockLayout layout = LayoutOf(sale);
  if (absl::StartsWith(entry.member, "hold:")) {
    return absl::OkStatus();  // holds are settled from their records (DueHolds)
  }
  absl::StatusOr<FlashReservationRecord> record = sales_.GetReservation(entry.member);
  if (!record.ok() && record.status().code() != absl::StatusCode::kNotFound) {
    return record.status();
  }
  if (!record.ok()) {
    // Units taken in Redis whose record never reached MySQL: nobody can confirm them.
    return stock_.ReleaseAt(layout, entry.bucket, entry.member).status();
  }
  switch (record->status) {
    case v1::RESERVATION_STATUS_CONFIRMED:
      return stock_.Confirm(layout, record->reservation_id, record->buyer_id);
    case v1::RESERVATION_STATUS_RESERVED: {
      LC_ASSIGN_OR_RETURN(
          FlashReservationRecord expired,
          sales_.UpdateReservation(record->reservation_id, [&](FlashReservationRecord& r) {
            if (r.status == v1::RESERVATION_STATUS_RESERVED && r.expires_at <= clock_.Now()) {
              r.status = v1::RESERVATION_STATUS_EXPIRED;
            }
            return absl::OkStatus();
          }));
      if (expired.status == v1::RESERVATION_STATUS_EXPIRED) {
        return stock_.Release(layout, expired.reservation_id, expired.buyer_id).status();
      }
      if (expired.status == v1::RESERVATION_STATUS_CONFIRMED) {
        return stock_.Confirm(layout, expired.reservation_id, expired.buyer_id);
      }
      return absl::OkStatus();
    }
    default:
      return stock_.Release(layout, record->reservation_id, record->buyer_id).status();
  }
}

absl::StatusOr<int> FlashSaleServiceImpl::SweepOnce() {
  absl::Time now = clock_.Now();
  int settled = 0;
  for (int64_t sale_id : rebuilds_.TakeDue(wall_clock_.Now(), options_.rebuild_grace)) {
    absl::Status rebuilt = Rebuild(sale_id);
    if (!rebuilt.ok()) {
      spdlog::warn("flash sale {}: rebuild failed: {}", sale_id, rebuilt.message());
      rebuilds_.Request(sale_id, wall_clock_.Now());
    }
  }
  LC_ASSIGN_OR_RETURN(std::vector<FlashReservationRecord> due,
                      sales_.DueReservations(now, kSweepBatch));
  for (const FlashReservationRecord& r : due) {
    LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, Sale(r.sale_id, false));
    LC_RETURN_IF_ERROR(Settle(sale, DueEntry{0, r.reservation_id}));
    ++settled;
  }
  LC_ASSIGN_OR_RETURN(std::vector<HoldRecord> holds, sales_.DueHolds(now, kSweepBatch));
  for (const HoldRecord& h : holds) {
    LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, Sale(h.sale_id, false));
    LC_ASSIGN_OR_RETURN(HoldRecord expired, sales_.UpdateHold(h.id, [&](HoldRecord& hold) {
      if (hold.status == v1::HOLD_STATUS_ACTIVE && hold.expires_at <= now) {
        hold.status = v1::HOLD_STATUS_EXPIRED;
      }
      return absl::OkStatus();
    }));
    if (expired.status == v1::HOLD_STATUS_EXPIRED) {
      LC_RETURN_IF_ERROR(stock_.Unhold(LayoutOf(sale), expired.client_id, expired.id).status());
      ++settled;
    }
  }
  // Entries past their expiry that the record no longer explains (a crash between the two
  // writes): a little later than the records, so the usual path goes first.
  LC_ASSIGN_OR_RETURN(std::vector<FlashSaleRecord> sales, sales_.ListSalesToSweep(now));
  for (const FlashSaleRecord& sale : sales) {
    LC_ASSIGN_OR_RETURN(std::vector<DueEntry> entries,
                        stock_.Due(LayoutOf(sale), now - absl::Seconds(5), 100));
    for (const DueEntry& entry : entries) {
      LC_RETURN_IF_ERROR(Settle(sale, entry));
      ++settled;
    }
  }
  return settled;
}

}  // namespace livecommerce::catalog
