#include "services/order/api/order_service.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <map>
#include <optional>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/config.h"
#include "services/common/crypto.h"
#include "services/common/log_format.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "services/common/validation.h"
#include "services/order/domain/order.h"
#include "services/order/domain/outbox.h"
#include "services/order/jobs/outbox_relay.h"

namespace livecommerce::order {
namespace {

using common::InvalidField;
using common::Principal;
using common::Role;
using common::Roles;

// Carts and checkouts are viewers' own.
constexpr Roles kBuyer{Role::kViewer};
// Orders are listed by their buyers (their own) and by ops and finance.
constexpr Roles kOrderListers{Role::kViewer, Role::kOps, Role::kFinance};
// An order is cancelled by its buyer or by ops.
constexpr Roles kCancellers{Role::kViewer, Role::kOps};
// Fulfilment, completion and refunds are ops' work.
constexpr Roles kOpsOnly{Role::kOps};
// A sandbox order is paid by its buyer (or a service acting for them).
constexpr Roles kSandboxPayers{Role::kViewer, Role::kService};

constexpr int kMaxCheckoutLines = 50;

absl::Status ValidateLineIds(const std::string& sku_id, const std::string& sale_id) {
  LC_RETURN_IF_ERROR(common::ParseId("sku_id", sku_id).status());
  if (!sale_id.empty()) {
    LC_RETURN_IF_ERROR(common::ParseId("sale_id", sale_id).status());
  }
  return absl::OkStatus();
}

v1::PaymentIncidentState IncidentState(RefundStatus refund_status) {
  switch (refund_status) {
    case RefundStatus::kSucceeded:
      return v1::PAYMENT_INCIDENT_STATE_REFUNDED;
    case RefundStatus::kFailed:
      return v1::PAYMENT_INCIDENT_STATE_REFUND_FAILED;
    default:
      return v1::PAYMENT_INCIDENT_STATE_REFUND_REQUESTED;
  }
}

// Failures a caller is told to retry (a service or the database was unavailable, the checkout
// was interrupted): recorded as the refusal, but not the answer to a retry with the same key.
bool IsTransient(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded ||
         code == absl::StatusCode::kAborted || code == absl::StatusCode::kCancelled;
}

}  // namespace

absl::StatusOr<OrderOptions> LoadOrderOptions() {
  OrderOptions options;
  auto window =
      common::EnvMillis("LC_ORDER_PAYMENT_WINDOW_MS", 15 * 60 * 1000, 10000, 24LL * 3600 * 1000);
  if (!window.ok()) return window.status();
  options.payment_window = *window;
  auto checkout_timeout =
      common::EnvMillis("LC_ORDER_CHECKOUT_TIMEOUT_MS", 60 * 1000, 1000, 3600LL * 1000);
  if (!checkout_timeout.ok()) return checkout_timeout.status();
  options.checkout_timeout = *checkout_timeout;
  auto max_checkouts = common::EnvInt("LC_ORDER_MAX_CHECKOUTS", 64, 1, 100000);
  if (!max_checkouts.ok()) return max_checkouts.status();
  options.max_checkouts_in_flight = *max_checkouts;
  auto retry_after = common::EnvMillis("LC_RETRY_AFTER_MS", 200, 1, 600000);
  if (!retry_after.ok()) return retry_after.status();
  options.retry_after = *retry_after;
  std::string provider = common::EnvString("LC_PAYMENT_PROVIDER", "sandbox");
  if (provider == "sandbox") {
    options.default_provider = v1::PAYMENT_PROVIDER_SANDBOX;
  } else if (provider == "wechat") {
    options.default_provider = v1::PAYMENT_PROVIDER_WECHAT_PAY;
  } else {
    return absl::InvalidArgumentError("LC_PAYMENT_PROVIDER must be sandbox or wechat");
  }
  auto sandbox = common::EnvInt("LC_PAYMENT_SANDBOX", 1, 0, 1);
  if (!sandbox.ok()) return sandbox.status();
  options.sandbox_enabled = *sandbox == 1;
  if (!options.sandbox_enabled && options.default_provider == v1::PAYMENT_PROVIDER_SANDBOX) {
    return absl::InvalidArgumentError(
        "LC_PAYMENT_SANDBOX=0 needs another LC_PAYMENT_PROVIDER (wechat)");
  }
  return options;
}

OrderServiceImpl::OrderServiceImpl(CartStore& carts, OrderStore& orders, StockClient& stock,
                                   Payments payments, const common::Clock& clock,
                                   const common::PrincipalCodec& codec, OrderOptions options,
                                   AttributionClient* attribution, FunnelReporter* funnel,
                                   ReferenceChecker* references)
    : carts_(carts),
      orders_(orders),
      stock_(stock),
      attribution_(attribution),
      funnel_(funnel),
      references_(references),
      payments_(std::move(payments)),
      clock_(clock),
      codec_(codec),
      options_(options) {
  // Switched off, the sandbox is simply not a provider here.
  if (!options_.sandbox_enabled) payments_.sandbox = nullptr;
}

// ---- Carts -------------------------------------------------------------------------------------

grpc::Status OrderServiceImpl::GetCart(grpc::ServerContext* context,
                                       const v1::GetCartRequest* request,
                                       v1::GetCartResponse* response) {
  return frame_.Run(*context, kBuyer, [&](const Principal& buyer) -> absl::Status {
    LC_ASSIGN_OR_RETURN(*response->mutable_cart(), carts_.Get(buyer.brand_id, buyer.subject));
    return absl::OkStatus();
  });
}

grpc::Status OrderServiceImpl::AddCartItem(grpc::ServerContext* context,
                                           const v1::AddCartItemRequest* request,
                                           v1::AddCartItemResponse* response) {
  return frame_.Run(*context, kBuyer, [&](const Principal& buyer) -> absl::Status {
    if (!request->has_item()) return InvalidField("item", "is required");
    LC_RETURN_IF_ERROR(ValidateCartItem(request->item()));
    if (references_ != nullptr) {  // the buyer's brand's, and visible to them, before it is kept
      const v1::CartItem& item = request->item();
      LC_RETURN_IF_ERROR(references_->CheckItem(buyer.brand_id, buyer.subject, "item",
                                                item.sku_id(), item.sale_id()));
      LC_RETURN_IF_ERROR(references_->CheckRoom(buyer.brand_id, buyer.subject, "item.room",
                                                item.room().room_id(), item.room().session_id()));
      LC_RETURN_IF_ERROR(
          references_->CheckAttribution(buyer.brand_id, "item.attribution", item.attribution()));
    }
    LC_ASSIGN_OR_RETURN(*response->mutable_cart(),
                        carts_.Add(buyer.brand_id, buyer.subject, request->item(), clock_.Now()));
    if (attribution_ != nullptr) {  // the client's associate is told (best effort)
      v1::RecordClientActivityRequest activity;
      activity.set_viewer_id(buyer.subject);
      activity.set_kind(v1::ACTIVITY_KIND_ADDED_TO_CART);
      activity.set_room_id(request->item().room().room_id());
      activity.set_session_id(request->item().room().session_id());
      activity.set_sku_id(request->item().sku_id());
      attribution_->ReportActivity(buyer.brand_id, activity);
    }
    if (funnel_ != nullptr && !request->item().room().session_id().empty()) {
      funnel_->AddedToCart(buyer.brand_id, buyer.subject, request->item().room().session_id());
    }
    return absl::OkStatus();
  });
}

grpc::Status OrderServiceImpl::UpdateCartItem(grpc::ServerContext* context,
                                              const v1::UpdateCartItemRequest* request,
                                              v1::UpdateCartItemResponse* response) {
  return frame_.Run(*context, kBuyer, [&](const Principal& buyer) -> absl::Status {
    LC_RETURN_IF_ERROR(ValidateLineIds(request->sku_id(), request->sale_id()));
    if (request->quantity() < 0 || request->quantity() > kMaxLineQuantity) {
      return InvalidField("quantity", "must be between 0 and 99");
    }
    LC_ASSIGN_OR_RETURN(*response->mutable_cart(),
                        carts_.SetQuantity(buyer.brand_id, buyer.subject, request->sku_id(),
                                           request->sale_id(), request->quantity()));
    return absl::OkStatus();
  });
}

grpc::Status OrderServiceImpl::RemoveCartItem(grpc::ServerContext* context,
                                              const v1::RemoveCartItemRequest* request,
                                              v1::RemoveCartItemResponse* response) {
  return frame_.Run(*context, kBuyer, [&](const Principal& buyer) -> absl::Status {
    LC_RETURN_IF_ERROR(ValidateLineIds(request->sku_id(), request->sale_id()));
    LC_ASSIGN_OR_RETURN(*response->mutable_cart(),
                        carts_.SetQuantity(buyer.brand_id, buyer.subject, request->sku_id(),
                                           request->sale_id(), 0));
    return absl::OkStatus();
  });
}

grpc::Status OrderServiceImpl::ClearCart(grpc::ServerContext* context,
                                         const v1::ClearCartRequest* request,
                                         v1::ClearCartResponse* response) {
  return frame_.Run(*context, kBuyer, [&](const Principal& buyer) -> absl::Status {
    return carts_.Clear(buyer.brand_id, buyer.subject);
  });
}

// ---- Orders ------------------------------------------------------------------------------------

void OrderServiceImpl::ToProto(const OrderRecord& order, bool with_address, v1::Order* out,
                               const std::map<int64_t, PaymentIncidentRecord>* incidents) const {
  out->set_id(common::FormatId(order.id));
  out->set_brand_id(order.brand_id);
  out->set_buyer_id(order.buyer_id);
  out->set_status(PublicStatus(order.status));
  for (const OrderLineRecord& line : order.lines) {
    v1::OrderLine* l = out->add_lines();
    l->set_line_id(absl::StrCat(line.line_no));
    l->set_product_id(common::FormatId(line.product_id));
    l->set_sku_id(common::FormatId(line.sku_id));
    l->set_sale_id(common::FormatId(line.sale_id));
    l->set_product_name(line.product_name);
    l->set_quantity(line.quantity);
    l->mutable_unit_price()->set_amount_fen(line.unit_price_fen);
    l->mutable_unit_price()->set_currency(order.currency);
    l->mutable_line_total()->set_amount_fen(line.line_total_fen);
    l->mutable_line_total()->set_currency(order.currency);
    l->set_refunded_quantity(line.refunded_quantity);
    l->set_reservation_id(line.reservation_id);
  }
  out->mutable_total()->set_amount_fen(order.total_fen);
  out->mutable_total()->set_currency(order.currency);
  out->mutable_refunded()->set_amount_fen(order.refunded_fen);
  out->mutable_refunded()->set_currency(order.currency);
  out->mutable_room()->set_room_id(common::FormatId(order.room_id));
  out->mutable_room()->set_session_id(common::FormatId(order.session_id));
  out->mutable_room()->set_broadcast(order.broadcast);
  *out->mutable_attribution() = order.attribution;
  if (with_address) *out->mutable_address() = order.address;
  if (order.status == OrderState::kPendingPayment) *out->mutable_payment() = order.payment_params;
  common::ToTimestamp(order.created_at, out->mutable_created_at());
  common::ToTimestamp(order.updated_at, out->mutable_updated_at());
  if (order.expires_at.has_value())
    common::ToTimestamp(*order.expires_at, out->mutable_expires_at());
  if (order.paid_at.has_value()) common::ToTimestamp(*order.paid_at, out->mutable_paid_at());
  if (incidents != nullptr) {
    if (auto found = incidents->find(order.id); found != incidents->end()) {
      const PaymentIncidentRecord& incident = found->second;
      v1::PaymentIncident* p = out->mutable_payment_incident();
      p->set_transaction_id(incident.payment.transaction_id);
      p->mutable_amount()->set_amount_fen(incident.payment.amount_fen);
      p->mutable_amount()->set_currency(incident.payment.currency);
      p->set_refund_id(incident.refund_key);
      p->set_state(IncidentState(incident.refund_status));
      common::ToTimestamp(incident.created_at, p->mutable_received_at());
    }
  }
}

absl::StatusOr<std::map<int64_t, PaymentIncidentRecord>> OrderServiceImpl::IncidentsOf(
    const std::vector<OrderRecord>& orders) {
  std::vector<int64_t> ids;
  for (const OrderRecord& o : orders) {
    if (IsNoLongerPayable(o.status)) ids.push_back(o.id);
  }
  return orders_.Incidents(ids);
}

absl::StatusOr<OrderRecord> OrderServiceImpl::Reserve(OrderRecord order) {
  // Reservations outlive the payment window a little, so the expiry job releases them first.
  absl::Duration ttl = options_.payment_window + absl::Minutes(5);
  absl::Status refusal;
  std::vector<ReservedStock> reserved;
  std::vector<SkuInfo> described;
  for (const OrderLineRecord& line : order.lines) {
    absl::StatusOr<ReservedStock> r =
        stock_.Reserve(order.brand_id, line.reservation_id, line.sku_id, line.sale_id,
                       order.buyer_id, line.quantity, ttl);
    absl::StatusOr<SkuInfo> info =
        r.ok() ? stock_.Describe(order.brand_id, line.sku_id) : absl::StatusOr<SkuInfo>(r.status());
    if (!info.ok()) {
      refusal = absl::Status(info.status().code(), absl::StrCat("lines[", line.line_no - 1,
                                                                "]: ", info.status().message()));
      break;
    }
    reserved.push_back(*r);
    described.push_back(*info);
  }
  absl::Time now = clock_.Now();
  if (refusal.ok()) {
    for (size_t i = 1; i < reserved.size(); ++i) {
      if (reserved[i].currency != reserved[0].currency) {
        refusal = common::InvalidField("lines", "must all be in one currency");
      }
    }
  }
  if (!refusal.ok()) {
    // Refused: record why (a retry with the same key gets the same answer) and release whatever
    // was reserved, through the outbox so it happens even if this process dies now.
    LC_ASSIGN_OR_RETURN(
        OrderRecord refused,
        orders_.Update(order.id, [&](OrderRecord& o, std::vector<OutboxMessage>& out) {
          if (o.status != OrderState::kReserving) return absl::OkStatus();
          o.status = OrderState::kRefused;
          o.failure = EncodeFailure(refusal);
          o.updated_at = now;
          out = ReleaseAll(o);
          return absl::OkStatus();
        }));
    ReleaseReservationsNow(orders_, stock_, clock_, refused);
    return refusal;
  }
  std::vector<LineAmounts> amounts;
  for (size_t i = 0; i < order.lines.size(); ++i) {
    amounts.push_back({order.lines[i].quantity, reserved[i].unit_price_fen, 0});
  }
  LC_ASSIGN_OR_RETURN(int64_t total, OrderTotal(amounts));
  // The provider needs the priced order.
  OrderRecord priced = order;
  priced.currency = reserved[0].currency;
  priced.total_fen = total;
  for (size_t i = 0; i < priced.lines.size(); ++i) {
    priced.lines[i].product_name = described[i].product_name;
  }
  PaymentGateway* gateway =
      order.provider == v1::PAYMENT_PROVIDER_WECHAT_PAY ? payments_.wechat : payments_.sandbox;
  absl::StatusOr<v1::PaymentParams> prepared =
      gateway->Prepare(priced, now + options_.payment_window);
  if (!prepared.ok()) {
    // No way to pay: give the stock back now rather than when the order would expire.
    absl::Status failure = prepared.status();
    LC_ASSIGN_OR_RETURN(
        OrderRecord refused,
        orders_.Update(order.id, [&](OrderRecord& o, std::vector<OutboxMessage>& out) {
          if (o.status != OrderState::kReserving) return absl::OkStatus();
          o.status = OrderState::kRefused;
          o.failure = EncodeFailure(failure);
          o.updated_at = now;
          out = ReleaseAll(o);
          return absl::OkStatus();
        }));
    ReleaseReservationsNow(orders_, stock_, clock_, refused);
    return failure;
  }
  priced.payment_params = *std::move(prepared);
  for (size_t i = 0; i < priced.lines.size(); ++i) {
    priced.lines[i].unit_price_fen = reserved[i].unit_price_fen;
    priced.lines[i].line_total_fen = amounts[i].quantity * amounts[i].unit_price_fen;
    priced.lines[i].product_id = described[i].product_id;
  }
  priced.expires_at = now + options_.payment_window;
  priced.updated_at = now;
  return orders_.MarkPending(priced);
}

absl::StatusOr<OrderRecord> OrderServiceImpl::PlaceOrder(const Principal& buyer,
                                                         const v1::CheckoutRequest& request) {
  if (request.idempotency_key().size() > 64 || !common::IsValidId(request.idempotency_key())) {
    return InvalidField("idempotency_key", "must be 1-64 characters of letters, digits, _ . : -");
  }
  std::vector<v1::CheckoutLine> lines;
  v1::Cart cart;
  if (request.from_cart()) {
    if (!request.lines().empty()) return InvalidField("lines", "give from_cart or lines, not both");
    LC_ASSIGN_OR_RETURN(cart, carts_.Get(buyer.brand_id, buyer.subject));
    for (const v1::CartItem& item : cart.items()) {
      v1::CheckoutLine line;
      line.set_sku_id(item.sku_id());
      line.set_sale_id(item.sale_id());
      line.set_quantity(item.quantity());
      lines.push_back(std::move(line));
    }
  } else {
    lines.assign(request.lines().begin(), request.lines().end());
  }
  if (lines.empty() || static_cast<int>(lines.size()) > kMaxCheckoutLines) {
    return InvalidField("lines", absl::StrCat("must hold 1 to ", kMaxCheckoutLines, " lines"));
  }
  OrderRecord draft;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string field = absl::StrCat("lines[", i, "]");
    OrderLineRecord line;
    line.line_no = static_cast<int>(i) + 1;
    absl::StatusOr<int64_t> sku =
        common::ParseId(absl::StrCat(field, ".sku_id"), lines[i].sku_id());
    if (!sku.ok()) return sku.status();
    line.sku_id = *sku;
    if (!lines[i].sale_id().empty()) {
      LC_ASSIGN_OR_RETURN(line.sale_id,
                          common::ParseId(absl::StrCat(field, ".sale_id"), lines[i].sale_id()));
    }
    if (lines[i].quantity() <= 0 || lines[i].quantity() > kMaxLineQuantity) {
      return InvalidField(absl::StrCat(field, ".quantity"), "must be between 1 and 99");
    }
    line.quantity = lines[i].quantity();
    draft.lines.push_back(std::move(line));
  }
  LC_RETURN_IF_ERROR(ValidateAddress(request.address()));
  LC_RETURN_IF_ERROR(ValidateAttribution(request.attribution()));
  if (references_ != nullptr) {
    // Every id named beside the lines is the buyer's brand's (another brand's is unknown), and
    // the room one the buyer is admitted to, before the order is written. The lines' SKUs and
    // sales are checked by the catalog when they are reserved.
    LC_RETURN_IF_ERROR(references_->CheckRoom(buyer.brand_id, buyer.subject, "room",
                                              request.room().room_id(),
                                              request.room().session_id()));
    LC_RETURN_IF_ERROR(
        references_->CheckAttribution(buyer.brand_id, "attribution", request.attribution()));
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].sale_id().empty()) continue;
      LC_RETURN_IF_ERROR(references_->CheckItem(
          buyer.brand_id, buyer.subject, absl::StrCat("lines[", i, "]"), "", lines[i].sale_id()));
    }
  }
  if (!request.room().room_id().empty()) {
    LC_ASSIGN_OR_RETURN(draft.room_id, common::ParseId("room.room_id", request.room().room_id()));
  }
  if (!request.room().session_id().empty()) {
    LC_ASSIGN_OR_RETURN(draft.session_id,
                        common::ParseId("room.session_id", request.room().session_id()));
  }
  // Bought from the live or from its replay: reported apart, credited alike.
  if (!v1::Broadcast_IsValid(request.room().broadcast())) {
    return InvalidField("room.broadcast", "is not a broadcast");
  }
  if (draft.session_id == 0) {
    if (request.room().broadcast() != v1::BROADCAST_UNSPECIFIED) {
      return InvalidField("room.broadcast", "needs room.session_id");
    }
  } else {
    draft.broadcast = request.room().broadcast() == v1::BROADCAST_REPLAY ? v1::BROADCAST_REPLAY
                                                                         : v1::BROADCAST_LIVE;
  }
  v1::PaymentProvider provider = request.provider() == v1::PAYMENT_PROVIDER_UNSPECIFIED
                                     ? options_.default_provider
                                     : request.provider();
  if (!v1::PaymentProvider_IsValid(provider) ||
      (provider == v1::PAYMENT_PROVIDER_WECHAT_PAY && payments_.wechat == nullptr) ||
      (provider == v1::PAYMENT_PROVIDER_SANDBOX && payments_.sandbox == nullptr)) {
    return InvalidField("provider", "is not available");
  }
  // The request as it will be served: the same key must always mean this.
  v1::CheckoutRequest canonical = request;
  canonical.clear_lines();
  canonical.set_from_cart(false);
  for (const v1::CheckoutLine& line : lines) *canonical.add_lines() = line;
  canonical.set_provider(provider);
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    canonical.SerializeToCodedStream(&coded);
  }
  absl::Time now = clock_.Now();
  draft.brand_id = buyer.brand_id;
  draft.buyer_id = buyer.subject;
  draft.idempotency_key = request.idempotency_key();
  draft.request_hash = common::HexEncode(common::Sha256(bytes));
  draft.attribution = request.attribution();
  draft.address = request.address();
  draft.provider = provider;
  draft.created_at = now;
  draft.updated_at = now;
  LC_ASSIGN_OR_RETURN(OrderChange begun, orders_.BeginCheckout(draft));
  OrderRecord order = std::move(begun.order);
  if (order.request_hash != draft.request_hash) {
    return absl::AlreadyExistsError("idempotency_key: already used for a different checkout");
  }
  if (begun.changed) {
    LC_ASSIGN_OR_RETURN(order, Reserve(std::move(order)));
    if (attribution_ != nullptr) {  // an order awaiting payment: the associate may follow up
      v1::RecordClientActivityRequest activity;
      activity.set_viewer_id(order.buyer_id);
      activity.set_kind(v1::ACTIVITY_KIND_ORDER_CREATED);
      if (order.room_id != 0) activity.set_room_id(common::FormatId(order.room_id));
      if (order.session_id != 0) activity.set_session_id(common::FormatId(order.session_id));
      activity.set_order_id(common::FormatId(order.id));
      activity.mutable_amount()->set_amount_fen(order.total_fen);
      activity.mutable_amount()->set_currency(order.currency);
      attribution_->ReportActivity(order.brand_id, activity);
    }
    if (request.from_cart()) {
      absl::Status cleared = carts_.Clear(buyer.brand_id, buyer.subject);
      if (!cleared.ok())
        spdlog::warn("order {}: cart not cleared: {}", order.id, cleared.message());
    }
  } else {
    // A repeat: wait for the first attempt to finish if it is still reserving.
    for (int i = 0; i < 100 && order.status == OrderState::kReserving; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      LC_ASSIGN_OR_RETURN(order, orders_.Get(order.id));
    }
    if (order.status == OrderState::kReserving) {
      return absl::AbortedError("idempotency_key: the first checkout is still running; try again");
    }
    if (order.status == OrderState::kRefused) {
      absl::Status failure = DecodeFailure(order.failure);
      if (IsTransient(failure.code())) {
        // The first answer said "try again", but this key's checkout is over (its stock went
        // back): a retry with it must not be told to try again forever.
        return absl::FailedPreconditionError(
            absl::StrCat("idempotency_key: this checkout was refused (", failure.message(),
                         "); check out again with a new idempotency_key"));
      }
      return failure;
    }
  }
  return order;
}

grpc::Status OrderServiceImpl::Checkout(grpc::ServerContext* context,
                                        const v1::CheckoutRequest* request,
                                        v1::CheckoutResponse* response) {
  return frame_.Run(*context, kBuyer, [&](const Principal& buyer) -> absl::Status {
    common::InFlightLimit::Slot slot(checkouts_);
    if (!slot.admitted()) return common::Overloaded("checkouts", options_.retry_after);
    LC_ASSIGN_OR_RETURN(OrderRecord order, PlaceOrder(buyer, *request));
    ToProto(order, true, response->mutable_order());
    return absl::OkStatus();
  });
}

absl::Status OrderServiceImpl::CheckVisible(const Principal& caller, const OrderRecord& order) {
  bool staff =
      caller.role == Role::kOps || caller.role == Role::kFinance || caller.role == Role::kService;
  bool mine = caller.role == Role::kViewer && order.buyer_id == caller.subject;
  if (order.brand_id != caller.brand_id || !(staff || mine) ||
      order.status == OrderState::kReserving || order.status == OrderState::kRefused) {
    return absl::NotFoundError("order_id: no such order");
  }
  return absl::OkStatus();
}

absl::StatusOr<OrderRecord> OrderServiceImpl::LoadVisible(const Principal& caller,
                                                          const std::string& order_id) {
  LC_ASSIGN_OR_RETURN(int64_t id, common::ParseId("order_id", order_id));
  LC_ASSIGN_OR_RETURN(OrderRecord order, orders_.Get(id));
  LC_RETURN_IF_ERROR(CheckVisible(caller, order));
  return order;
}

grpc::Status OrderServiceImpl::GetOrder(grpc::ServerContext* context,
                                        const v1::GetOrderRequest* request,
                                        v1::GetOrderResponse* response) {
  // Whoever may see the order (LoadVisible answers NOT_FOUND for anyone else).
  return frame_.Run(*context, common::kAnyRole, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(OrderRecord order, LoadVisible(caller, request->order_id()));
    LC_ASSIGN_OR_RETURN(auto incidents, IncidentsOf({order}));
    ToProto(order, caller.role != Role::kFinance, response->mutable_order(), &incidents);
    return absl::OkStatus();
  });
}

grpc::Status OrderServiceImpl::ListOrders(grpc::ServerContext* context,
                                          const v1::ListOrdersRequest* request,
                                          v1::ListOrdersResponse* response) {
  return frame_.Run(*context, kOrderListers, [&](const Principal& caller) -> absl::Status {
    if (request->brand_id() != caller.brand_id) {
      return absl::PermissionDeniedError("brand_id: caller belongs to another brand");
    }
    // Viewers only ever see their own.
    std::string buyer = caller.role == Role::kViewer ? caller.subject : request->buyer_id();
    if (!v1::OrderStatus_IsValid(request->status())) {
      return InvalidField("status", "is not a status");
    }
    std::optional<OrderState> status;
    if (request->status() != v1::ORDER_STATUS_UNSPECIFIED) status = StateOf(request->status());
    LC_ASSIGN_OR_RETURN(
        common::PageRequest page,
        common::ParsePageRequest(request->page_size(), request->page_token(), 20, 100));
    LC_ASSIGN_OR_RETURN(std::vector<OrderRecord> orders,
                        orders_.List(caller.brand_id, buyer, status,
                                     request->payment_incidents_only(), page.after, page.fetch()));
    bool more = common::TrimPage(orders, page.limit);
    LC_ASSIGN_OR_RETURN(auto incidents, IncidentsOf(orders));
    for (const OrderRecord& o : orders) {
      ToProto(o, caller.role != Role::kFinance, response->add_orders(), &incidents);
    }
    if (more) response->set_next_page_token(common::EncodePageToken(orders.back().id));
    return absl::OkStatus();
  });
}

grpc::Status OrderServiceImpl::CancelOrder(grpc::ServerContext* context,
                                           const v1::CancelOrderRequest* request,
                                           v1::CancelOrderResponse* response) {
  // The buyer, or ops of the order's brand (LoadVisible answers 404 for anyone else's order).
  return frame_.Run(*context, kCancellers, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(OrderRecord order, LoadVisible(caller, request->order_id()));
    absl::Time now = clock_.Now();
    LC_ASSIGN_OR_RETURN(
        OrderRecord cancelled,
        orders_.Update(order.id, [&](OrderRecord& o, std::vector<OutboxMessage>& out) {
          LC_RETURN_IF_ERROR(CheckTransition(o.status, OrderState::kCancelled));
          o.status = OrderState::kCancelled;
          o.updated_at = now;
          out = EndUnpaid(o);
          return absl::OkStatus();
        }));
    // A WeChat Pay order is closed there by the outbox relay first, which then releases.
    if (cancelled.provider != v1::PAYMENT_PROVIDER_WECHAT_PAY) {
      ReleaseReservationsNow(orders_, stock_, clock_, cancelled);
    }
    ToProto(cancelled, true, response->mutable_order());
    return absl::OkStatus();
  });
}

absl::StatusOr<OrderRecord> OrderServiceImpl::ChangeStatus(const Principal& caller,
                                                           const std::string& order_id,
                                                           OrderState to) {
  LC_ASSIGN_OR_RETURN(OrderRecord order, LoadVisible(caller, order_id));
  absl::Time now = clock_.Now();
  return orders_.Update(order.id, [&](OrderRecord& o, std::vector<OutboxMessage>&) {
    LC_RETURN_IF_ERROR(CheckTransition(o.status, to));
    o.status = to;
    o.updated_at = now;
    return absl::OkStatus();
  });
}

grpc::Status OrderServiceImpl::FulfillOrder(grpc::ServerContext* context,
                                            const v1::FulfillOrderRequest* request,
                                            v1::FulfillOrderResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(OrderRecord order,
                        ChangeStatus(caller, request->order_id(), OrderState::kFulfilled));
    ToProto(order, true, response->mutable_order());
    return absl::OkStatus();
  });
}

grpc::Status OrderServiceImpl::CompleteOrder(grpc::ServerContext* context,
                                             const v1::CompleteOrderRequest* request,
                                             v1::CompleteOrderResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(OrderRecord order,
                        ChangeStatus(caller, request->order_id(), OrderState::kCompleted));
    ToProto(order, true, response->mutable_order());
    return absl::OkStatus();
  });
}

grpc::Status OrderServiceImpl::ConfirmSandboxPayment(
    grpc::ServerContext* context, const v1::ConfirmSandboxPaymentRequest* request,
    v1::ConfirmSandboxPaymentResponse* response) {
  return frame_.Run(*context, kSandboxPayers, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(int64_t order_id, common::ParseId("order_id", request->order_id()));
    // The checks run on the order as the payment transaction locked it (no read before).
    OrderStore::PaymentCheck check = [&](const OrderRecord& order,
                                         PaymentRecord& payment) -> absl::Status {
      LC_RETURN_IF_ERROR(CheckVisible(caller, order));
      if (order.provider != v1::PAYMENT_PROVIDER_SANDBOX) {
        return absl::FailedPreconditionError("order_id: not a sandbox order");
      }
      if (payments_.sandbox == nullptr) {
        return absl::FailedPreconditionError("sandbox payments are switched off here");
      }
      payment = PaymentRecord{v1::PAYMENT_PROVIDER_SANDBOX, absl::StrCat("sandbox-", order.id),
                              order.total_fen, order.currency};
      return absl::OkStatus();
    };
    // The reservations are confirmed by the outbox relay, in batches, shortly after.
    LC_ASSIGN_OR_RETURN(OrderChange paid,
                        orders_.MarkPaid(order_id, PaymentRecord{}, clock_.Now(), check));
    ToProto(paid.order, true, response->mutable_order());
    return absl::OkStatus();
  });
}

absl::StatusOr<OrderRecord> OrderServiceImpl::RecordRefund(const Principal& caller,
                                                           const v1::RefundOrderRequest& request) {
  LC_ASSIGN_OR_RETURN(OrderRecord order, LoadVisible(caller, request.order_id()));
  if (request.refund_id().size() > 64 || !common::IsValidId(request.refund_id())) {
    return InvalidField("refund_id", "must be 1-64 characters of letters, digits, _ . : -");
  }
  LC_RETURN_IF_ERROR(common::ValidateText("reason", request.reason(), 200, false));
  std::vector<RefundRequestLine> asked;
  for (int i = 0; i < request.lines_size(); ++i) {
    int line_no = 0;
    if (!absl::SimpleAtoi(request.lines(i).line_id(), &line_no) || line_no < 1 ||
        line_no > static_cast<int>(order.lines.size())) {
      return InvalidField(absl::StrCat("lines[", i, "].line_id"), "is not a line of this order");
    }
    asked.push_back({static_cast<size_t>(line_no - 1), request.lines(i).quantity()});
  }
  bool sandbox = order.provider != v1::PAYMENT_PROVIDER_WECHAT_PAY;
  RefundRecord refund;
  refund.refund_key = request.refund_id();
  refund.reason = request.reason();
  refund.requested_by = caller.subject;
  refund.status = sandbox ? RefundStatus::kSucceeded : RefundStatus::kRequested;
  {
    v1::RefundOrderRequest lines_only;
    *lines_only.mutable_lines() = request.lines();
    refund.lines = lines_only.SerializeAsString();
  }
  absl::Time now = clock_.Now();
  LC_ASSIGN_OR_RETURN(
      auto refunded,
      orders_.Refund(
          order.id, refund,
          [&](OrderRecord& o, RefundRecord& r, std::vector<OutboxMessage>& out) -> absl::Status {
            if (!IsPaid(o.status)) {
              return absl::FailedPreconditionError("order_id: only a paid order is refunded");
            }
            std::vector<LineAmounts> lines;
            for (const OrderLineRecord& l : o.lines) {
              lines.push_back({l.quantity, l.unit_price_fen, l.refunded_quantity});
            }
            LC_ASSIGN_OR_RETURN(r.amount_fen, RefundAmount(lines, asked));
            if (asked.empty()) {
              for (LineAmounts& l : lines) l.refunded_quantity = l.quantity;
            } else {
              for (const RefundRequestLine& a : asked)
                lines[a.line_index].refunded_quantity += a.quantity;
            }
            OrderState next = StateOf(StatusAfterRefund(lines));
            LC_RETURN_IF_ERROR(CheckTransition(o.status, next));
            for (size_t i = 0; i < lines.size(); ++i) {
              o.lines[i].refunded_quantity = lines[i].refunded_quantity;
            }
            o.refunded_fen += r.amount_fen;
            o.status = next;
            o.updated_at = now;
            // Attribution claws commissions back from this (delivered once it exists).
            out.push_back(
                RefundMessage(o.brand_id, kTopicOrderRefunded, o.id, r.refund_key, r.amount_fen));
            if (!sandbox) {
              out.push_back(
                  RefundMessage(o.brand_id, kTopicRefundRequest, o.id, r.refund_key, r.amount_fen));
            }
            return absl::OkStatus();
          },
          now));
  if (refunded.changed) {
    spdlog::info("order {} refund {}: now {}", order.id, request.refund_id(),
                 StateName(refunded.order.status));
  }
  return std::move(refunded.order);
}

grpc::Status OrderServiceImpl::RefundOrder(grpc::ServerContext* context,
                                           const v1::RefundOrderRequest* request,
                                           v1::RefundOrderResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(OrderRecord order, RecordRefund(caller, *request));
    ToProto(order, true, response->mutable_order());
    return absl::OkStatus();
  });
}

// ---- Payment notifications ---------------------------------------------------------------------

grpc::Status OrderServiceImpl::HandlePaymentNotification(
    grpc::ServerContext* context, const v1::HandlePaymentNotificationRequest* request,
    v1::HandlePaymentNotificationResponse* response) {
  // Notifications come through the gateway (a service caller).
  return frame_.Run(*context, common::kServiceOnly, [&](const Principal&) -> absl::Status {
    LC_ASSIGN_OR_RETURN(NotificationReply reply, notifications_.Handle(*request));
    response->set_http_status(reply.http_status);
    response->set_http_body(reply.body);
    return absl::OkStatus();
  });
}

}  // namespace livecommerce::order
