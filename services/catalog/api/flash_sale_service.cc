#include "services/catalog/api/flash_sale_service.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/config.h"
#include "services/common/log_format.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"

namespace livecommerce::catalog {
namespace {

using common::FormatId;
using common::InvalidField;
using common::ParseId;
using common::Principal;
using common::Role;
using common::ToTimestamp;

constexpr int kSweepBatch = 500;

StockLayout LayoutOf(const FlashSaleRecord& sale) { return StockLayout{sale.id, sale.buckets}; }

void ToProto(const FlashReservationRecord& r, const FlashSaleRecord& sale, v1::Reservation* out) {
  out->set_reservation_id(r.reservation_id);
  out->set_sale_id(FormatId(r.sale_id));
  out->set_sku_id(FormatId(sale.sku_id));
  out->set_buyer_id(r.buyer_id);
  out->set_quantity(r.quantity);
  out->set_status(r.status);
  ToTimestamp(r.expires_at, out->mutable_expires_at());
  out->mutable_unit_price()->set_amount_fen(sale.sale_price_fen);
  out->mutable_unit_price()->set_currency(sale.currency);
}

ReservationStatus FromState(ReservationState state) {
  switch (state) {
    case ReservationState::kReserved:
      return v1::RESERVATION_STATUS_RESERVED;
    case ReservationState::kConfirmed:
      return v1::RESERVATION_STATUS_CONFIRMED;
    case ReservationState::kReleased:
      return v1::RESERVATION_STATUS_RELEASED;
    case ReservationState::kExpired:
      return v1::RESERVATION_STATUS_EXPIRED;
  }
  return v1::RESERVATION_STATUS_UNSPECIFIED;
}

void ToProto(const InventoryReservation& r, const SkuRecord& sku, v1::Reservation* out) {
  out->set_reservation_id(r.reservation_id);
  out->set_sku_id(FormatId(r.sku_id));
  out->set_buyer_id(r.buyer_id);
  out->set_quantity(r.quantity);
  out->set_status(FromState(r.state));
  ToTimestamp(r.expires_at, out->mutable_expires_at());
  out->mutable_unit_price()->set_amount_fen(sku.price_fen);
  out->mutable_unit_price()->set_currency(sku.currency);
}

void ToProto(const HoldRecord& h, absl::Time now, v1::Hold* out) {
  out->set_id(FormatId(h.id));
  out->set_sale_id(FormatId(h.sale_id));
  out->set_client_id(h.client_id);
  out->set_quantity(h.quantity);
  out->set_status(h.status == v1::HOLD_STATUS_ACTIVE && h.expires_at <= now
                      ? v1::HOLD_STATUS_EXPIRED
                      : h.status);
  ToTimestamp(h.expires_at, out->mutable_expires_at());
  out->set_created_by(h.created_by);
}

bool IsStaff(const Principal& p) {
  return p.role == Role::kOps || p.role == Role::kAssociate || p.role == Role::kService ||
         p.role == Role::kFinance;
}

absl::Status ValidateTtl(absl::string_view field, int32_t seconds, int min, int max) {
  if (seconds < min || seconds > max) {
    return InvalidField(field, absl::StrCat("must be between ", min, " and ", max, " seconds"));
  }
  return absl::OkStatus();
}

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

absl::StatusOr<Principal> FlashSaleServiceImpl::Caller(
    const grpc::ServerContextBase& context) const {
  return common::PrincipalFromContext(context, codec_, clock_.Now());
}

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
    rebuilds_.Request(sale.id, absl::Now());
  }
  out->set_remaining(figures.remaining);
  out->set_sold(figures.sold);
  out->set_held(figures.held);
  return absl::OkStatus();
}

absl::Status FlashSaleServiceImpl::CheckCanSee(const Principal& caller,
                                               const FlashSaleRecord& sale) {
  if (caller.brand_id != sale.brand_id) {
    return absl::NotFoundError("sale_id: no such flash sale");
  }
  if (IsStaff(caller)) {
    return absl::OkStatus();
  }
  LC_ASSIGN_OR_RETURN(RoomAccess access,
                      rooms_.Access(sale.brand_id, FormatId(sale.room_id), caller.subject));
  if (!access.admitted) {
    return absl::PermissionDeniedError("room_id: this room is private; an invite is needed");
  }
  return absl::OkStatus();
}

bool FlashSaleServiceImpl::KnownAdmitted(const std::string& brand_id, int64_t room_id,
                                         const std::string& viewer_id) {
  bool known_public = false;
  bool refresh = false;
  {
    absl::Time now = absl::Now();
    std::lock_guard<std::mutex> lock(rooms_mu_);
    auto it = room_info_.find(room_id);
    if (it != room_info_.end() && it->second.access.brand_id == brand_id &&
        it->second.access.visibility == v1::VISIBILITY_PUBLIC) {
      absl::Duration age = now - it->second.fetched_at;
      known_public = age < options_.access_stale_limit;
      if (known_public && age >= options_.access_cache_ttl && !it->second.refreshing) {
        it->second.refreshing = true;
        refresh = true;
      }
    }
  }
  if (refresh) {
    recorders_.Submit([this, brand_id, room_id] { RefreshRoom(brand_id, room_id); });
  }
  if (known_public) return true;
  return admitted_cache_.Get(absl::StrCat(brand_id, "|", room_id, "|", viewer_id)).has_value();
}

void FlashSaleServiceImpl::RememberRoom(int64_t room_id, const RoomAccess& access) {
  constexpr size_t kMaxRooms = 10000;
  std::lock_guard<std::mutex> lock(rooms_mu_);
  if (room_info_.size() >= kMaxRooms) room_info_.clear();
  room_info_[room_id] =
      RoomInfo{RoomAccess{access.brand_id, access.visibility, access.status, false, "", ""},
               absl::Now(), false};
}

void FlashSaleServiceImpl::RefreshRoom(const std::string& brand_id, int64_t room_id) {
  absl::StatusOr<RoomAccess> access = rooms_.Access(brand_id, FormatId(room_id), "");
  if (access.ok() && access->brand_id == brand_id) {
    RememberRoom(room_id, *access);
    return;
  }
  std::lock_guard<std::mutex> lock(rooms_mu_);
  if (access.ok() || access.status().code() == absl::StatusCode::kNotFound) {
    room_info_.erase(room_id);  // gone, or not the brand's: ask again next time
  } else if (auto it = room_info_.find(room_id); it != room_info_.end()) {
    it->second.refreshing = false;  // the room service is down: served until the stale limit
  }
}

absl::Status FlashSaleServiceImpl::CheckAdmitted(const std::string& brand_id, int64_t room_id,
                                                 const std::string& viewer_id,
                                                 absl::string_view field) {
  if (KnownAdmitted(brand_id, room_id, viewer_id)) return absl::OkStatus();
  LC_ASSIGN_OR_RETURN(RoomAccess access, rooms_.Access(brand_id, FormatId(room_id), viewer_id));
  if (access.brand_id != brand_id) {
    return absl::NotFoundError("room_id: no such room");
  }
  RememberRoom(room_id, access);
  if (!access.admitted) {
    return absl::PermissionDeniedError(
        absl::StrCat(field, ": not admitted to this private room; an invite is needed"));
  }
  admitted_cache_.Put(absl::StrCat(brand_id, "|", room_id, "|", viewer_id), true);
  return absl::OkStatus();
}

// ---- Sales -------------------------------------------------------------------------------------

absl::Status FlashSaleServiceImpl::DoCreateFlashSale(const grpc::ServerContext& context,
                                                     const v1::CreateFlashSaleRequest& request,
                                                     v1::CreateFlashSaleResponse& response) {
  LC_ASSIGN_OR_RETURN(Principal caller, Caller(context));
  if (caller.role != Role::kOps) {
    return absl::PermissionDeniedError("only ops create flash sales");
  }
  LC_ASSIGN_OR_RETURN(int64_t room_id, ParseId("room_id", request.room_id()));
  LC_ASSIGN_OR_RETURN(int64_t sku_id, ParseId("sku_id", request.sku_id()));
  FlashSaleRecord sale;
  sale.brand_id = caller.brand_id;
  sale.room_id = room_id;
  sale.sku_id = sku_id;
  sale.sale_price_fen = request.sale_price().amount_fen();
  sale.currency = request.sale_price().currency();
  sale.total_stock = request.total_stock();
  sale.per_buyer_limit = request.per_buyer_limit();
  if (request.has_starts_at()) {
    LC_ASSIGN_OR_RETURN(sale.starts_at, common::ParseTimestamp("starts_at", request.starts_at()));
  } else {
    sale.starts_at = absl::UnixEpoch();
  }
  if (request.has_ends_at()) {
    LC_ASSIGN_OR_RETURN(sale.ends_at, common::ParseTimestamp("ends_at", request.ends_at()));
  }
  sale.buckets = request.buckets() == 0 ? options_.default_buckets : request.buckets();
  LC_RETURN_IF_ERROR(ValidateNewSale(sale));
  absl::Time now = clock_.Now();
  if (sale.ends_at <= now) {
    return InvalidField("ends_at", "must be in the future");
  }
  // The room must be this brand's (the room service hides other brands' rooms).
  LC_ASSIGN_OR_RETURN(RoomAccess room, rooms_.Access(caller.brand_id, request.room_id(), ""));
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
    rebuilds_.Request(created.id, absl::Now());
  }
  spdlog::info("flash sale {} created in room {}: {} units", created.id, created.room_id,
               created.total_stock);
  return FillSale(created, response.mutable_sale());
}

grpc::Status FlashSaleServiceImpl::CreateFlashSale(grpc::ServerContext* context,
                                                   const v1::CreateFlashSaleRequest* request,
                                                   v1::CreateFlashSaleResponse* response) {
  return common::ToGrpcStatus(DoCreateFlashSale(*context, *request, *response));
}

absl::StatusOr<FlashSaleRecord> FlashSaleServiceImpl::ChangeSale(
    const grpc::ServerContext& context, const std::string& sale_id,
    const std::function<absl::Status(FlashSaleRecord&)>& change) {
  LC_ASSIGN_OR_RETURN(Principal caller, Caller(context));
  LC_ASSIGN_OR_RETURN(int64_t id, ParseId("sale_id", sale_id));
  LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, Sale(id, true));
  if (sale.brand_id != caller.brand_id) {
    return absl::NotFoundError("sale_id: no such flash sale");
  }
  LC_RETURN_IF_ERROR(common::RequireRole(caller, sale.brand_id, {Role::kOps}));
  LC_ASSIGN_OR_RETURN(FlashSaleRecord changed, sales_.UpdateSale(id, change));
  ForgetSale(id);
  return changed;
}

grpc::Status FlashSaleServiceImpl::StartFlashSale(grpc::ServerContext* context,
                                                  const v1::StartFlashSaleRequest* request,
                                                  v1::StartFlashSaleResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    absl::Time now = clock_.Now();
    LC_ASSIGN_OR_RETURN(
        FlashSaleRecord sale,
        ChangeSale(*context, request->sale_id(), [&](FlashSaleRecord& s) -> absl::Status {
          if (EffectiveStatus(s, now) != v1::FLASH_SALE_STATUS_SCHEDULED) {
            return absl::FailedPreconditionError("sale_id: only a scheduled sale can start");
          }
          s.starts_at = now;
          s.updated_at = now;
          return absl::OkStatus();
        }));
    return FillSale(sale, response->mutable_sale());
  }());
}

grpc::Status FlashSaleServiceImpl::EndFlashSale(grpc::ServerContext* context,
                                                const v1::EndFlashSaleRequest* request,
                                                v1::EndFlashSaleResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    absl::Time now = clock_.Now();
    LC_ASSIGN_OR_RETURN(
        FlashSaleRecord sale,
        ChangeSale(*context, request->sale_id(), [&](FlashSaleRecord& s) -> absl::Status {
          if (EffectiveStatus(s, now) != v1::FLASH_SALE_STATUS_ACTIVE) {
            return absl::FailedPreconditionError("sale_id: only an active sale can end");
          }
          s.status = v1::FLASH_SALE_STATUS_ENDED;
          s.ends_at = now;
          s.updated_at = now;
          return absl::OkStatus();
        }));
    return FillSale(sale, response->mutable_sale());
  }());
}

grpc::Status FlashSaleServiceImpl::CancelFlashSale(grpc::ServerContext* context,
                                                   const v1::CancelFlashSaleRequest* request,
                                                   v1::CancelFlashSaleResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    absl::Time now = clock_.Now();
    LC_ASSIGN_OR_RETURN(
        FlashSaleRecord sale,
        ChangeSale(*context, request->sale_id(), [&](FlashSaleRecord& s) -> absl::Status {
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
  }());
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
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_ASSIGN_OR_RETURN(int64_t id, ParseId("sale_id", request->sale_id()));
    LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, Sale(id, true));
    if (sale.brand_id != caller.brand_id) {
      return absl::NotFoundError("sale_id: no such flash sale");
    }
    LC_RETURN_IF_ERROR(common::RequireRole(caller, sale.brand_id, {Role::kOps, Role::kService}));
    LC_RETURN_IF_ERROR(Rebuild(id));
    return FillSale(sale, response->mutable_sale());
  }());
}

grpc::Status FlashSaleServiceImpl::GetFlashSale(grpc::ServerContext* context,
                                                const v1::GetFlashSaleRequest* request,
                                                v1::GetFlashSaleResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_ASSIGN_OR_RETURN(int64_t id, ParseId("sale_id", request->sale_id()));
    LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, Sale(id, false));
    LC_RETURN_IF_ERROR(CheckCanSee(caller, sale));
    return FillSale(sale, response->mutable_sale());
  }());
}

grpc::Status FlashSaleServiceImpl::ListRoomFlashSales(grpc::ServerContext* context,
                                                      const v1::ListRoomFlashSalesRequest* request,
                                                      v1::ListRoomFlashSalesResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
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
  }());
}

// ---- Holds -------------------------------------------------------------------------------------

absl::Status FlashSaleServiceImpl::DoCreateHold(const grpc::ServerContext& context,
                                                const v1::CreateHoldRequest& request,
                                                v1::CreateHoldResponse& response) {
  LC_ASSIGN_OR_RETURN(Principal caller, Caller(context));
  LC_ASSIGN_OR_RETURN(int64_t sale_id, ParseId("sale_id", request.sale_id()));
  if (!common::IsValidId(request.client_id())) {
    return InvalidField("client_id", "is not a valid viewer id");
  }
  LC_RETURN_IF_ERROR(ValidateQuantity(request.quantity()));
  LC_RETURN_IF_ERROR(
      ValidateTtl("ttl_seconds", request.ttl_seconds(), kMinHoldTtlSeconds, kMaxHoldTtlSeconds));
  LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, Sale(sale_id, true));
  if (sale.brand_id != caller.brand_id) {
    return absl::NotFoundError("sale_id: no such flash sale");
  }
  LC_RETURN_IF_ERROR(common::RequireRole(caller, sale.brand_id, {Role::kOps, Role::kAssociate}));
  // Units are held only for a client the sale's room admits (a private room: invited ones).
  LC_RETURN_IF_ERROR(CheckAdmitted(sale.brand_id, sale.room_id, request.client_id(), "client_id"));
  if (request.quantity() > sale.per_buyer_limit) {
    return InvalidField("quantity", "must not exceed the sale's per-buyer limit");
  }
  absl::Time now = clock_.Now();
  FlashSaleStatus status = EffectiveStatus(sale, now);
  if (status != v1::FLASH_SALE_STATUS_SCHEDULED && status != v1::FLASH_SALE_STATUS_ACTIVE) {
    return absl::FailedPreconditionError("sale_id: the flash sale is over");
  }
  HoldRecord hold;
  hold.brand_id = sale.brand_id;
  hold.sale_id = sale.id;
  hold.client_id = request.client_id();
  hold.quantity = request.quantity();
  hold.status = v1::HOLD_STATUS_ACTIVE;
  hold.expires_at = now + absl::Seconds(request.ttl_seconds());
  hold.created_by = caller.subject;
  hold.created_at = now;
  LC_ASSIGN_OR_RETURN(HoldRecord created, sales_.InsertHold(hold));
  absl::StatusOr<StockReserveResult> taken = stock_.Hold(
      LayoutOf(sale), created.client_id, created.quantity, created.id, created.expires_at, now);
  absl::Status refusal;
  if (!taken.ok()) {
    refusal = taken.status();
  } else if (taken->outcome == StockReserveResult::Outcome::kLimit) {
    refusal = absl::AlreadyExistsError("client_id: the client already has a hold on this sale");
  } else if (taken->outcome == StockReserveResult::Outcome::kSoldOut) {
    refusal = absl::FailedPreconditionError("quantity: not enough units left to hold");
  } else if (taken->outcome == StockReserveResult::Outcome::kNotLoaded) {
    rebuilds_.Request(sale.id, absl::Now());
    refusal = absl::UnavailableError("flash stock is being restored, try again");
  }
  if (!refusal.ok()) {
    (void)sales_.UpdateHold(created.id, [](HoldRecord& h) {
      h.status = v1::HOLD_STATUS_RELEASED;
      h.quantity = 0;
      return absl::OkStatus();
    });
    return refusal;
  }
  ToProto(created, now, response.mutable_hold());
  return absl::OkStatus();
}

grpc::Status FlashSaleServiceImpl::CreateHold(grpc::ServerContext* context,
                                              const v1::CreateHoldRequest* request,
                                              v1::CreateHoldResponse* response) {
  return common::ToGrpcStatus(DoCreateHold(*context, *request, *response));
}

grpc::Status FlashSaleServiceImpl::ReleaseHold(grpc::ServerContext* context,
                                               const v1::ReleaseHoldRequest* request,
                                               v1::ReleaseHoldResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_ASSIGN_OR_RETURN(int64_t id, ParseId("hold_id", request->hold_id()));
    LC_ASSIGN_OR_RETURN(HoldRecord hold, sales_.GetHold(id));
    if (hold.brand_id != caller.brand_id) {
      return absl::NotFoundError("hold_id: no such hold");
    }
    LC_RETURN_IF_ERROR(common::RequireRole(caller, hold.brand_id, {Role::kOps, Role::kAssociate}));
    // Ops release any hold of the brand; an associate only the holds they placed for their clients.
    if (caller.role == Role::kAssociate && hold.created_by != caller.subject) {
      return absl::PermissionDeniedError("hold_id: placed by another associate");
    }
    LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, Sale(hold.sale_id, false));
    LC_ASSIGN_OR_RETURN(HoldRecord released, sales_.UpdateHold(id, [](HoldRecord& h) {
      if (h.status == v1::HOLD_STATUS_ACTIVE) {
        h.status = v1::HOLD_STATUS_RELEASED;
      }
      return absl::OkStatus();
    }));
    if (released.status != v1::HOLD_STATUS_USED) {
      LC_RETURN_IF_ERROR(stock_.Unhold(LayoutOf(sale), released.client_id, released.id).status());
    }
    ToProto(released, clock_.Now(), response->mutable_hold());
    return absl::OkStatus();
  }());
}

// ---- Reservations ------------------------------------------------------------------------------

absl::StatusOr<FlashSaleServiceImpl::TakenStock> FlashSaleServiceImpl::PrepareFlashTake(
    const Principal& caller, const v1::ReserveStockRequest& request) {
  LC_ASSIGN_OR_RETURN(int64_t sale_id, ParseId("sale_id", request.sale_id()));
  LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, Sale(sale_id, false));
  if (sale.brand_id != caller.brand_id) {
    return absl::NotFoundError("sale_id: no such flash sale");
  }
  if (!request.room_id().empty() && request.room_id() != FormatId(sale.room_id)) {
    return absl::NotFoundError("sale_id: no such flash sale in this room");
  }
  absl::Time now = clock_.Now();
  LC_RETURN_IF_ERROR(CheckReservable(sale, now));
  absl::Time expires_at = now + absl::Seconds(request.ttl_seconds());
  return TakenStock{std::move(sale), StockReserveResult{}, now, expires_at};
}

absl::Status FlashSaleServiceImpl::InterpretTake(TakenStock& taken,
                                                 absl::StatusOr<StockReserveResult> result,
                                                 const v1::ReserveStockRequest& request) {
  if (!result.ok()) {
    return result.status();
  }
  const FlashSaleRecord& sale = taken.sale;
  switch (result->outcome) {
    case StockReserveResult::Outcome::kNotLoaded:
      rebuilds_.Request(sale.id, absl::Now());
      return absl::UnavailableError("flash stock is being restored, try again");
    case StockReserveResult::Outcome::kLimit:
      return absl::ResourceExhaustedError(
          absl::StrCat("quantity: the per-buyer limit is ", sale.per_buyer_limit, "; ",
                       std::max<int64_t>(0, result->limit_left), " more allowed"));
    case StockReserveResult::Outcome::kSoldOut:
      return absl::FailedPreconditionError("sale_id: sold out");
    case StockReserveResult::Outcome::kReserved:
      break;
  }
  if (result->duplicate &&
      (result->buyer_id != request.buyer_id() || result->quantity != request.quantity())) {
    return absl::AlreadyExistsError("reservation_id: already used for another buyer or quantity");
  }
  taken.result = *std::move(result);
  return absl::OkStatus();
}

absl::Status FlashSaleServiceImpl::RecordFlashReservation(const TakenStock& taken,
                                                          const v1::ReserveStockRequest& request,
                                                          v1::Reservation& out) {
  const FlashSaleRecord& sale = taken.sale;
  if (taken.result.duplicate) {
    absl::StatusOr<FlashReservationRecord> existing =
        sales_.GetReservation(request.reservation_id());
    if (existing.ok()) {
      ToProto(*existing, sale, &out);
      return absl::OkStatus();
    }
    if (existing.status().code() != absl::StatusCode::kNotFound) {
      return existing.status();
    }
    if (taken.result.state != 'R') {
      return absl::FailedPreconditionError("reservation_id: this reservation has expired");
    }
    // The first attempt took the units but never reached MySQL: record it now.
  }
  FlashReservationRecord record;
  record.reservation_id = request.reservation_id();
  record.brand_id = sale.brand_id;
  record.sale_id = sale.id;
  record.buyer_id = request.buyer_id();
  record.quantity = request.quantity();
  record.from_hold = taken.result.from_hold;
  record.status = v1::RESERVATION_STATUS_RESERVED;
  record.expires_at = taken.expires_at;
  record.created_at = taken.now;
  absl::StatusOr<FlashReservationRecord> stored =
      sales_.InsertReservation(record, taken.result.hold_id);
  if (!stored.ok()) {
    return HandleUnrecorded(taken, request, stored.status(), out);
  }
  ToProto(*stored, sale, &out);
  return absl::OkStatus();
}

absl::Status FlashSaleServiceImpl::HandleUnrecorded(const TakenStock& taken,
                                                    const v1::ReserveStockRequest& request,
                                                    const absl::Status& failure,
                                                    v1::Reservation& out) {
  const FlashSaleRecord& sale = taken.sale;
  // Give the units back: without a record they could never be confirmed.
  absl::StatusOr<int64_t> returned =
      stock_.Release(LayoutOf(sale), request.reservation_id(), request.buyer_id());
  if (!returned.ok()) {
    spdlog::warn("flash sale {}: reservation not recorded and its units not returned yet ({})",
                 sale.id, returned.status().message());
  }
  if (failure.code() != absl::StatusCode::kAlreadyExists) {
    return failure;
  }
  // Recorded by an earlier attempt whose Redis entry was lost since: that record stands.
  LC_ASSIGN_OR_RETURN(FlashReservationRecord existing,
                      sales_.GetReservation(request.reservation_id()));
  if (existing.sale_id != sale.id || existing.buyer_id != request.buyer_id() ||
      existing.quantity != request.quantity()) {
    return absl::AlreadyExistsError(
        "reservation_id: already used for another sale, buyer or quantity");
  }
  ToProto(existing, sale, &out);
  return absl::OkStatus();
}

void FlashSaleServiceImpl::DrainPendingRecords() {
  constexpr size_t kMaxBatch = 128;
  std::vector<PendingRecord> batch;
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    while (!pending_.empty() && batch.size() < kMaxBatch) {
      batch.push_back(std::move(pending_.front()));
      pending_.pop_front();
    }
  }
  std::vector<PendingRecord> plain;
  for (PendingRecord& p : batch) {
    if (p.taken.result.duplicate || p.taken.result.from_hold > 0) {
      p.reactor->Finish(common::ToGrpcStatus(
          RecordFlashReservation(p.taken, *p.request, *p.response->mutable_reservation())));
    } else {
      plain.push_back(std::move(p));
    }
  }
  if (plain.empty()) return;
  std::vector<FlashReservationRecord> records;
  records.reserve(plain.size());
  for (const PendingRecord& p : plain) {
    FlashReservationRecord r;
    r.reservation_id = p.request->reservation_id();
    r.brand_id = p.taken.sale.brand_id;
    r.sale_id = p.taken.sale.id;
    r.buyer_id = p.request->buyer_id();
    r.quantity = p.request->quantity();
    r.status = v1::RESERVATION_STATUS_RESERVED;
    r.expires_at = p.taken.expires_at;
    r.created_at = p.taken.now;
    records.push_back(std::move(r));
  }
  std::vector<absl::Status> results = sales_.InsertReservations(records);
  for (size_t i = 0; i < plain.size(); ++i) {
    v1::Reservation& out = *plain[i].response->mutable_reservation();
    absl::Status status = results[i];
    if (status.ok()) {
      ToProto(records[i], plain[i].taken.sale, &out);
    } else {
      status = HandleUnrecorded(plain[i].taken, *plain[i].request, status, out);
    }
    plain[i].reactor->Finish(common::ToGrpcStatus(status));
  }
}

absl::Status FlashSaleServiceImpl::ReserveRegular(const Principal& caller,
                                                  const v1::ReserveStockRequest& request,
                                                  v1::Reservation& out) {
  LC_ASSIGN_OR_RETURN(int64_t sku_id, ParseId("sku_id", request.sku_id()));
  absl::StatusOr<SkuRecord> sku = CachedSku(sku_id);
  if (!sku.ok() || sku->brand_id != caller.brand_id) {
    return sku.ok() || sku.status().code() == absl::StatusCode::kNotFound
               ? absl::NotFoundError("sku_id: no such SKU")
               : sku.status();
  }
  if (sku->product_status != v1::PRODUCT_STATUS_ACTIVE) {
    return absl::FailedPreconditionError("sku_id: the product is not on sale");
  }
  // An order placed in a room: the room must be the brand's and admit the buyer.
  if (!request.room_id().empty()) {
    LC_ASSIGN_OR_RETURN(int64_t room_id, ParseId("room_id", request.room_id()));
    LC_RETURN_IF_ERROR(CheckAdmitted(caller.brand_id, room_id, request.buyer_id(), "buyer_id"));
  }
  InventoryReservation reservation;
  reservation.reservation_id = request.reservation_id();
  reservation.brand_id = caller.brand_id;
  reservation.sku_id = sku_id;
  reservation.buyer_id = request.buyer_id();
  reservation.quantity = request.quantity();
  reservation.state = ReservationState::kReserved;
  reservation.expires_at = clock_.Now() + absl::Seconds(request.ttl_seconds());
  LC_ASSIGN_OR_RETURN(InventoryReservation stored, inventory_.Reserve(reservation));
  ToProto(stored, *sku, &out);
  return absl::OkStatus();
}

absl::Status FlashSaleServiceImpl::ValidateReserve(const Principal& caller,
                                                   const v1::ReserveStockRequest& request) {
  if (caller.role != Role::kService) {
    return absl::PermissionDeniedError("ReserveStock is for the order service only");
  }
  LC_RETURN_IF_ERROR(ValidateReservationId(request.reservation_id()));
  if (!common::IsValidId(request.buyer_id())) {
    return InvalidField("buyer_id", "is not a valid viewer id");
  }
  LC_RETURN_IF_ERROR(ValidateQuantity(request.quantity()));
  LC_RETURN_IF_ERROR(ValidateTtl("ttl_seconds", request.ttl_seconds(), kMinReservationTtlSeconds,
                                 kMaxReservationTtlSeconds));
  if (request.target_case() == v1::ReserveStockRequest::TARGET_NOT_SET) {
    return InvalidField("target", "give sale_id or sku_id");
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* FlashSaleServiceImpl::ReserveStock(grpc::CallbackServerContext* context,
                                                             const v1::ReserveStockRequest* request,
                                                             v1::ReserveStockResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Principal> caller = Caller(*context);
  absl::Status valid = caller.ok() ? ValidateReserve(*caller, *request) : caller.status();
  if (!valid.ok()) {
    reactor->Finish(common::ToGrpcStatus(valid));
    return reactor;
  }
  if (request->target_case() == v1::ReserveStockRequest::kSkuId) {
    Principal who = *caller;
    recorders_.Submit([this, who, request, response, reactor] {
      reactor->Finish(
          common::ToGrpcStatus(ReserveRegular(who, *request, *response->mutable_reservation())));
    });
    return reactor;
  }
  // Most attempts in a storm end with Redis alone (refused, or a repeat); only units actually
  // taken go on to MySQL, on the worker pool. Redis is asked in batches shared with other calls.
  absl::StatusOr<TakenStock> prepared = PrepareFlashTake(*caller, *request);
  if (!prepared.ok()) {
    reactor->Finish(common::ToGrpcStatus(prepared.status()));
    return reactor;
  }
  // A private room's pieces are for its audience only. A public room, or a buyer admitted lately,
  // is known from the caches; otherwise the room service is asked, off the callback thread.
  if (KnownAdmitted(prepared->sale.brand_id, prepared->sale.room_id, request->buyer_id())) {
    TakeFlashStock(*std::move(prepared), request, response, reactor);
    return reactor;
  }
  recorders_.Submit([this, taken = *std::move(prepared), request, response, reactor]() mutable {
    absl::Status admitted =
        CheckAdmitted(taken.sale.brand_id, taken.sale.room_id, request->buyer_id(), "buyer_id");
    if (!admitted.ok()) {
      reactor->Finish(common::ToGrpcStatus(admitted));
      return;
    }
    TakeFlashStock(std::move(taken), request, response, reactor);
  });
  return reactor;
}

void FlashSaleServiceImpl::TakeFlashStock(TakenStock taken, const v1::ReserveStockRequest* request,
                                          v1::ReserveStockResponse* response,
                                          grpc::ServerUnaryReactor* reactor) {
  StockLayout layout = LayoutOf(taken.sale);
  absl::Time expires_at = taken.expires_at;
  absl::Time now = taken.now;
  int32_t per_buyer_limit = taken.sale.per_buyer_limit;
  stock_.ReserveAsync(
      layout, request->reservation_id(), request->buyer_id(), request->quantity(), per_buyer_limit,
      expires_at, now,
      [this, taken = std::move(taken), request, response,
       reactor](absl::StatusOr<StockReserveResult> result) mutable {
        absl::Status status = InterpretTake(taken, std::move(result), *request);
        if (!status.ok()) {
          reactor->Finish(common::ToGrpcStatus(status));
          return;
        }
        {
          std::lock_guard<std::mutex> lock(pending_mu_);
          pending_.push_back(PendingRecord{std::move(taken), request, response, reactor});
        }
        recorders_.Submit([this] { DrainPendingRecords(); });
      });
}

absl::StatusOr<std::optional<FlashReservationRecord>> FlashSaleServiceImpl::FindFlashReservation(
    const Principal& caller, const std::string& reservation_id, bool confirm,
    v1::Reservation& out) {
  // Regular inventory first: its confirmations are group-committed, and a flash reservation
  // costs that batch one more key in a lookup.
  absl::StatusOr<InventoryReservation> regular =
      confirm ? inventory_.Confirm(reservation_id, clock_.Now())
              : inventory_.Release(reservation_id, clock_.Now());
  if (regular.ok()) {
    if (regular->brand_id != caller.brand_id) {
      return absl::NotFoundError("reservation_id: no such reservation");
    }
    LC_ASSIGN_OR_RETURN(SkuRecord sku, CachedSku(regular->sku_id));
    ToProto(*regular, sku, &out);
    return std::optional<FlashReservationRecord>();
  }
  if (regular.status().code() != absl::StatusCode::kNotFound) return regular.status();
  // Not one of regular inventory: a flash reservation, settled by the caller.
  LC_ASSIGN_OR_RETURN(FlashReservationRecord found, sales_.GetReservation(reservation_id));
  if (found.brand_id != caller.brand_id) {
    return absl::NotFoundError("reservation_id: no such reservation");
  }
  return std::optional<FlashReservationRecord>(std::move(found));
}

absl::Status FlashSaleServiceImpl::DoConfirm(const grpc::ServerContext& context,
                                             const v1::ConfirmReservationRequest& request,
                                             v1::ConfirmReservationResponse& response) {
  LC_ASSIGN_OR_RETURN(Principal caller, Caller(context));
  if (caller.role != Role::kService) {
    return absl::PermissionDeniedError("ConfirmReservation is for the order service only");
  }
  LC_RETURN_IF_ERROR(ValidateReservationId(request.reservation_id()));
  LC_ASSIGN_OR_RETURN(std::optional<FlashReservationRecord> found,
                      FindFlashReservation(caller, request.reservation_id(), /*confirm=*/true,
                                           *response.mutable_reservation()));
  if (!found.has_value()) return absl::OkStatus();  // a regular reservation, settled
  return ConfirmFlash(*found, response);
}

absl::Status FlashSaleServiceImpl::ConfirmFlash(const FlashReservationRecord& found,
                                                v1::ConfirmReservationResponse& response) {
  LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, Sale(found.sale_id, false));
  absl::Time now = clock_.Now();
  LC_ASSIGN_OR_RETURN(FlashReservationRecord updated,
                      sales_.UpdateReservation(
                          found.reservation_id, [&](FlashReservationRecord& r) -> absl::Status {
                            if (r.status == v1::RESERVATION_STATUS_RESERVED) {
                              r.status = r.expires_at > now ? v1::RESERVATION_STATUS_CONFIRMED
                                                            : v1::RESERVATION_STATUS_EXPIRED;
                            }
                            return absl::OkStatus();
                          }));
  switch (updated.status) {
    case v1::RESERVATION_STATUS_CONFIRMED: {
      absl::Status confirmed =
          stock_.Confirm(LayoutOf(sale), updated.reservation_id, updated.buyer_id);
      if (!confirmed.ok()) {
        // Recorded as confirmed; the sweeper brings Redis in line.
        spdlog::warn("reservation of sale {} confirmed, live stock not marked yet: {}", sale.id,
                     confirmed.message());
      }
      ToProto(updated, sale, response.mutable_reservation());
      return absl::OkStatus();
    }
    case v1::RESERVATION_STATUS_EXPIRED:
      (void)stock_.Release(LayoutOf(sale), updated.reservation_id, updated.buyer_id);
      return absl::FailedPreconditionError("reservation_id: the reservation has expired");
    default:
      return absl::FailedPreconditionError("reservation_id: the reservation was released");
  }
}

grpc::Status FlashSaleServiceImpl::ConfirmReservations(
    grpc::ServerContext* context, const v1::ConfirmReservationsRequest* request,
    v1::ConfirmReservationsResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    if (caller.role != Role::kService) {
      return absl::PermissionDeniedError("ConfirmReservations is for the order service only");
    }
    if (request->reservation_ids_size() < 1 || request->reservation_ids_size() > 500) {
      return InvalidField("reservation_ids", "must hold 1 to 500 ids");
    }
    std::vector<std::string> ids(request->reservation_ids().begin(),
                                 request->reservation_ids().end());
    // Regular inventory in shared transactions; what it does not know is a flash reservation.
    std::vector<absl::StatusOr<InventoryReservation>> regular =
        inventory_.ConfirmMany(ids, clock_.Now());
    for (size_t i = 0; i < ids.size(); ++i) {
      absl::Status status = [&]() -> absl::Status {
        if (regular[i].ok()) {
          return regular[i]->brand_id == caller.brand_id
                     ? absl::OkStatus()
                     : absl::NotFoundError("reservation_id: no such reservation");
        }
        if (regular[i].status().code() != absl::StatusCode::kNotFound) return regular[i].status();
        LC_ASSIGN_OR_RETURN(FlashReservationRecord found, sales_.GetReservation(ids[i]));
        if (found.brand_id != caller.brand_id) {
          return absl::NotFoundError("reservation_id: no such reservation");
        }
        v1::ConfirmReservationResponse unused;
        return ConfirmFlash(found, unused);
      }();
      v1::ConfirmReservationsResponse::Outcome* outcome = response->add_outcomes();
      outcome->set_reservation_id(ids[i]);
      outcome->set_code(static_cast<int>(status.code()));
      outcome->set_message(std::string(status.message()));
    }
    return absl::OkStatus();
  }());
}

grpc::Status FlashSaleServiceImpl::ConfirmReservation(grpc::ServerContext* context,
                                                      const v1::ConfirmReservationRequest* request,
                                                      v1::ConfirmReservationResponse* response) {
  return common::ToGrpcStatus(DoConfirm(*context, *request, *response));
}

absl::Status FlashSaleServiceImpl::DoRelease(const grpc::ServerContext& context,
                                             const v1::ReleaseReservationRequest& request,
                                             v1::ReleaseReservationResponse& response) {
  LC_ASSIGN_OR_RETURN(Principal caller, Caller(context));
  if (caller.role != Role::kService) {
    return absl::PermissionDeniedError("ReleaseReservation is for the order service only");
  }
  LC_RETURN_IF_ERROR(ValidateReservationId(request.reservation_id()));
  LC_ASSIGN_OR_RETURN(std::optional<FlashReservationRecord> found,
                      FindFlashReservation(caller, request.reservation_id(), /*confirm=*/false,
                                           *response.mutable_reservation()));
  if (!found.has_value()) return absl::OkStatus();  // a regular reservation, settled
  LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, Sale(found->sale_id, false));
  LC_ASSIGN_OR_RETURN(FlashReservationRecord updated,
                      sales_.UpdateReservation(
                          request.reservation_id(), [&](FlashReservationRecord& r) -> absl::Status {
                            if (r.status == v1::RESERVATION_STATUS_CONFIRMED) {
                              return absl::FailedPreconditionError(
                                  "reservation_id: the reservation is confirmed; refund instead");
                            }
                            if (r.status == v1::RESERVATION_STATUS_RESERVED) {
                              r.status = v1::RESERVATION_STATUS_RELEASED;
                            }
                            return absl::OkStatus();
                          }));
  // Released now or before: returning the units again is a no-op.
  absl::StatusOr<int64_t> returned =
      stock_.Release(LayoutOf(sale), updated.reservation_id, updated.buyer_id);
  if (!returned.ok()) {
    // The live stock is missing (Redis lost it): a rebuild from the record returns these units.
    // Ask for it here: when nobody buys from or reads this sale any more, nothing else would, and
    // the order service would send this release again forever.
    if (returned.status().code() == absl::StatusCode::kUnavailable) {
      rebuilds_.Request(sale.id, absl::Now());
    }
    return returned.status();
  }
  ToProto(updated, sale, response.mutable_reservation());
  return absl::OkStatus();
}

grpc::Status FlashSaleServiceImpl::ReleaseReservation(grpc::ServerContext* context,
                                                      const v1::ReleaseReservationRequest* request,
                                                      v1::ReleaseReservationResponse* response) {
  return common::ToGrpcStatus(DoRelease(*context, *request, *response));
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
  for (int64_t sale_id : rebuilds_.TakeDue(absl::Now(), options_.rebuild_grace)) {
    absl::Status rebuilt = Rebuild(sale_id);
    if (!rebuilt.ok()) {
      spdlog::warn("flash sale {}: rebuild failed: {}", sale_id, rebuilt.message());
      rebuilds_.Request(sale_id, absl::Now());
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
