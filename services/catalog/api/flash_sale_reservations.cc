// FlashSaleServiceImpl: holds and reservations (flash and regular inventory).
#include "absl/strings/str_cat.h"
#include "services/catalog/api/flash_sale_service.h"
#include "services/catalog/api/flash_sale_shared.h"
#include "services/common/admission.h"
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
using common::Roles;
using common::ToTimestamp;

// Ops hold units for any client of the brand; associates for theirs.
constexpr Roles kHolders{Role::kOps, Role::kAssociate};

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

absl::Status ValidateTtl(absl::string_view field, int32_t seconds, int min, int max) {
  if (seconds < min || seconds > max) {
    return InvalidField(field, absl::StrCat("must be between ", min, " and ", max, " seconds"));
  }
  return absl::OkStatus();
}

}  // namespace

// ---- Holds -------------------------------------------------------------------------------------

grpc::Status FlashSaleServiceImpl::CreateHold(grpc::ServerContext* context,
                                              const v1::CreateHoldRequest* request,
                                              v1::CreateHoldResponse* response) {
  return frame_.Run(*context, kHolders, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(int64_t sale_id, ParseId("sale_id", request->sale_id()));
    if (!common::IsValidId(request->client_id())) {
      return InvalidField("client_id", "is not a valid viewer id");
    }
    LC_RETURN_IF_ERROR(ValidateQuantity(request->quantity()));
    LC_RETURN_IF_ERROR(
        ValidateTtl("ttl_seconds", request->ttl_seconds(), kMinHoldTtlSeconds, kMaxHoldTtlSeconds));
    LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, Sale(sale_id, true));
    if (sale.brand_id != caller.brand_id) {
      return absl::NotFoundError("sale_id: no such flash sale");
    }
    // Units are held only for a client the sale's room admits (a private room: invited ones).
    LC_RETURN_IF_ERROR(
        CheckAdmitted(sale.brand_id, sale.room_id, request->client_id(), "client_id"));
    if (request->quantity() > sale.per_buyer_limit) {
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
    hold.client_id = request->client_id();
    hold.quantity = request->quantity();
    hold.status = v1::HOLD_STATUS_ACTIVE;
    hold.expires_at = now + absl::Seconds(request->ttl_seconds());
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
      rebuilds_.Request(sale.id, wall_clock_.Now());
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
    ToProto(created, now, response->mutable_hold());
    return absl::OkStatus();
  });
}

grpc::Status FlashSaleServiceImpl::ReleaseHold(grpc::ServerContext* context,
                                               const v1::ReleaseHoldRequest* request,
                                               v1::ReleaseHoldResponse* response) {
  return frame_.Run(*context, kHolders, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(int64_t id, ParseId("hold_id", request->hold_id()));
    LC_ASSIGN_OR_RETURN(HoldRecord hold, sales_.GetHold(id));
    if (hold.brand_id != caller.brand_id) {
      return absl::NotFoundError("hold_id: no such hold");
    }
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
  });
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
      rebuilds_.Request(sale.id, wall_clock_.Now());
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
    if (taken.result.state != StockReserveResult::State::kReserved) {
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
  absl::StatusOr<Principal> caller = frame_.Caller(*context);
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
  prepared->deadline = common::DeadlineOf(*context);
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
      expires_at, now, taken.deadline,
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

grpc::Status FlashSaleServiceImpl::ConfirmReservation(grpc::ServerContext* context,
                                                      const v1::ConfirmReservationRequest* request,
                                                      v1::ConfirmReservationResponse* response) {
  return frame_.Run(*context, common::kServiceOnly, [&](const Principal& caller) -> absl::Status {
    LC_RETURN_IF_ERROR(ValidateReservationId(request->reservation_id()));
    LC_ASSIGN_OR_RETURN(std::optional<FlashReservationRecord> found,
                        FindFlashReservation(caller, request->reservation_id(), /*confirm=*/true,
                                             *response->mutable_reservation()));
    if (!found.has_value()) return absl::OkStatus();  // a regular reservation, settled
    return ConfirmFlash(*found, *response);
  });
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
  return frame_.Run(*context, common::kServiceOnly, [&](const Principal& caller) -> absl::Status {
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
  });
}

grpc::Status FlashSaleServiceImpl::ReleaseReservation(grpc::ServerContext* context,
                                                      const v1::ReleaseReservationRequest* request,
                                                      v1::ReleaseReservationResponse* response) {
  return frame_.Run(*context, common::kServiceOnly, [&](const Principal& caller) -> absl::Status {
    LC_RETURN_IF_ERROR(ValidateReservationId(request->reservation_id()));
    LC_ASSIGN_OR_RETURN(std::optional<FlashReservationRecord> found,
                        FindFlashReservation(caller, request->reservation_id(), /*confirm=*/false,
                                             *response->mutable_reservation()));
    if (!found.has_value()) return absl::OkStatus();  // a regular reservation, settled
    LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, Sale(found->sale_id, false));
    LC_ASSIGN_OR_RETURN(
        FlashReservationRecord updated,
        sales_.UpdateReservation(
            request->reservation_id(), [&](FlashReservationRecord& r) -> absl::Status {
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
        rebuilds_.Request(sale.id, wall_clock_.Now());
      }
      return returned.status();
    }
    ToProto(updated, sale, response->mutable_reservation());
    return absl::OkStatus();
  });
}

}  // namespace livecommerce::catalog
