#pragma once

#include <map>
#include <string>
#include <vector>

#include "livecommerce/v1/order.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/handler.h"
#include "services/common/in_flight_limit.h"
#include "services/common/principal.h"
#include "services/order/clients/attribution_client.h"
#include "services/order/clients/funnel_reporter.h"
#include "services/order/clients/reference_checker.h"
#include "services/order/clients/stock_client.h"
#include "services/order/domain/order.h"
#include "services/order/payment/payment_gateway.h"
#include "services/order/payment/payment_notifications.h"
#include "services/order/store/cart_store.h"
#include "services/order/store/order_store.h"

namespace livecommerce::order {

struct OrderOptions {
  absl::Duration payment_window = absl::Minutes(15);  // unpaid orders expire after this
  v1::PaymentProvider default_provider = v1::PAYMENT_PROVIDER_SANDBOX;
  // Whether the sandbox provider (paid by a call, no money moves) may be used at all: never in
  // production, where a buyer could otherwise mark an order paid.
  bool sandbox_enabled = true;
  // A checkout still reserving after this long was interrupted (a crash): its stock is released.
  absl::Duration checkout_timeout = absl::Seconds(60);
  // Checkouts in progress at once (LC_ORDER_MAX_CHECKOUTS): past it a checkout is refused at
  // once with a retry hint (docs/RELIABILITY.md, "Overload") instead of waiting behind the others.
  int64_t max_checkouts_in_flight = 64;
  absl::Duration retry_after = absl::Milliseconds(200);
};

// LC_ORDER_PAYMENT_WINDOW_MS, LC_ORDER_CHECKOUT_TIMEOUT_MS, LC_PAYMENT_PROVIDER (sandbox or wechat:
// the default for checkouts that name none), LC_PAYMENT_SANDBOX (1: the sandbox may be used, 0:
// refused; 0 with LC_PAYMENT_PROVIDER=sandbox is a configuration error), LC_ORDER_MAX_CHECKOUTS and
// LC_RETRY_AFTER_MS (the hint sent with a refused checkout).
absl::StatusOr<OrderOptions> LoadOrderOptions();

// gRPC handlers of livecommerce.v1.OrderService: a viewer's cart (Redis); checkout, orders and the
// sandbox payment (MySQL, with the catalog's reservations); refunds; WeChat Pay notifications
// (payment/payment_notifications.h). No payment goes untracked: a WeChat Pay order that is
// cancelled or expires is closed at WeChat Pay before its stock goes back, and a payment that still
// arrives for it is recorded and refunded automatically, with an alert (payment_incident on the
// order).
//
// Checkout is crash-safe: the order is recorded (reserving) before any stock is reserved, with
// reservation ids that follow from it, so a retry or the recovery job finds and releases what an
// interrupted checkout took. Every later change to reservations goes through the outbox, written
// in the same transaction as the order change that causes it, and delivered by the relay
// (jobs/outbox_relay.h; expiry and recovery are jobs beside it).
class OrderServiceImpl final : public v1::OrderService::Service {
 public:
  // `attribution` (may be null) is told of cart adds and new orders (best effort); `funnel` (may
  // be null) of cart adds made during a session.
  OrderServiceImpl(CartStore& carts, OrderStore& orders, StockClient& stock, Payments payments,
                   const common::Clock& clock, const common::PrincipalCodec& codec,
                   OrderOptions options, AttributionClient* attribution = nullptr,
                   FunnelReporter* funnel = nullptr, ReferenceChecker* references = nullptr);

  grpc::Status GetCart(grpc::ServerContext* context, const v1::GetCartRequest* request,
                       v1::GetCartResponse* response) override;
  grpc::Status AddCartItem(grpc::ServerContext* context, const v1::AddCartItemRequest* request,
                           v1::AddCartItemResponse* response) override;
  grpc::Status UpdateCartItem(grpc::ServerContext* context,
                              const v1::UpdateCartItemRequest* request,
                              v1::UpdateCartItemResponse* response) override;
  grpc::Status RemoveCartItem(grpc::ServerContext* context,
                              const v1::RemoveCartItemRequest* request,
                              v1::RemoveCartItemResponse* response) override;
  grpc::Status ClearCart(grpc::ServerContext* context, const v1::ClearCartRequest* request,
                         v1::ClearCartResponse* response) override;
  grpc::Status Checkout(grpc::ServerContext* context, const v1::CheckoutRequest* request,
                        v1::CheckoutResponse* response) override;
  grpc::Status GetOrder(grpc::ServerContext* context, const v1::GetOrderRequest* request,
                        v1::GetOrderResponse* response) override;
  grpc::Status ListOrders(grpc::ServerContext* context, const v1::ListOrdersRequest* request,
                          v1::ListOrdersResponse* response) override;
  grpc::Status CancelOrder(grpc::ServerContext* context, const v1::CancelOrderRequest* request,
                           v1::CancelOrderResponse* response) override;
  grpc::Status FulfillOrder(grpc::ServerContext* context, const v1::FulfillOrderRequest* request,
                            v1::FulfillOrderResponse* response) override;
  grpc::Status CompleteOrder(grpc::ServerContext* context, const v1::CompleteOrderRequest* request,
                             v1::CompleteOrderResponse* response) override;
  // Whole or per line, idempotent by refund_id. The sandbox refunds at once; WeChat Pay is asked
  // through the outbox (retried until it accepts).
  grpc::Status RefundOrder(grpc::ServerContext* context, const v1::RefundOrderRequest* request,
                           v1::RefundOrderResponse* response) override;
  grpc::Status ConfirmSandboxPayment(grpc::ServerContext* context,
                                     const v1::ConfirmSandboxPaymentRequest* request,
                                     v1::ConfirmSandboxPaymentResponse* response) override;
  // From the gateway, untouched: verified (signature, time, decryption) before anything changes;
  // a genuine payment of the right amount pays its order once, however often it comes.
  grpc::Status HandlePaymentNotification(grpc::ServerContext* context,
                                         const v1::HandlePaymentNotificationRequest* request,
                                         v1::HandlePaymentNotificationResponse* response) override;

 private:
  // Checks out for `buyer`: validates, records the order, reserves and prices it (or answers what
  // a first checkout with the same idempotency key answered).
  absl::StatusOr<OrderRecord> PlaceOrder(const common::Principal& buyer,
                                         const v1::CheckoutRequest& request);
  // Reserves every line of a new order and prices it, or refuses it (releasing what was taken).
  absl::StatusOr<OrderRecord> Reserve(OrderRecord order);
  // Records a refund asked by `caller` (ops of the order's brand).
  absl::StatusOr<OrderRecord> RecordRefund(const common::Principal& caller,
                                           const v1::RefundOrderRequest& request);
  // NOT_FOUND unless the caller may see the order (its buyer, or staff of the brand).
  static absl::Status CheckVisible(const common::Principal& caller, const OrderRecord& order);
  // The order if the caller may see it (the buyer, or staff of the brand); NOT_FOUND otherwise.
  absl::StatusOr<OrderRecord> LoadVisible(const common::Principal& caller,
                                          const std::string& order_id);
  // Moves an order the caller may see to `to`, where the lifecycle allows it.
  absl::StatusOr<OrderRecord> ChangeStatus(const common::Principal& caller,
                                           const std::string& order_id, OrderState to);
  // The payment incidents of those of `orders` that may have one, by order id.
  absl::StatusOr<std::map<int64_t, PaymentIncidentRecord>> IncidentsOf(
      const std::vector<OrderRecord>& orders);
  void ToProto(const OrderRecord& order, bool with_address, v1::Order* out,
               const std::map<int64_t, PaymentIncidentRecord>* incidents = nullptr) const;

  CartStore& carts_;
  OrderStore& orders_;
  StockClient& stock_;
  AttributionClient* attribution_;
  FunnelReporter* funnel_;
  // Checks the ids a cart item or checkout names (brand, private rooms); null only in tests that
  // run the order service alone.
  ReferenceChecker* references_;
  Payments payments_;
  const common::Clock& clock_;
  const common::PrincipalCodec& codec_;
  OrderOptions options_;
  common::HandlerFrame frame_{codec_, clock_};
  common::InFlightLimit checkouts_{options_.max_checkouts_in_flight};
  PaymentNotifications notifications_{orders_, payments_, clock_};
};

}  // namespace livecommerce::order
