#pragma once

#include <map>
#include <mutex>

#include "livecommerce/v1/order.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/principal.h"
#include "services/common/worker_pool.h"
#include "services/order/clients/attribution_client.h"
#include "services/order/clients/funnel_reporter.h"
#include "services/order/clients/reference_checker.h"
#include "services/order/clients/stock_client.h"
#include "services/order/domain/order.h"
#include "services/order/payment/payment_gateway.h"
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
};

// LC_ORDER_PAYMENT_WINDOW_MS, LC_ORDER_CHECKOUT_TIMEOUT_MS, LC_PAYMENT_PROVIDER (sandbox or wechat:
// the default for checkouts that name none), LC_PAYMENT_SANDBOX (1: the sandbox may be used, 0:
// refused; 0 with LC_PAYMENT_PROVIDER=sandbox is a configuration error).
absl::StatusOr<OrderOptions> LoadOrderOptions();

// The payment providers the service can use. WeChat Pay is optional (unset: not configured).
struct Payments {
  PaymentGateway* sandbox = nullptr;
  PaymentGateway* wechat = nullptr;
  const WechatPayCrypto* wechat_crypto = nullptr;  // verifies WeChat Pay notifications
  std::string wechat_mchid;
  std::string wechat_appid;
};

// gRPC handlers of livecommerce.v1.OrderService: a viewer's cart (Redis); checkout, orders and the
// sandbox payment (MySQL, with the catalog's reservations); refunds and WeChat Pay notifications.
// No payment goes untracked: a WeChat Pay order that is cancelled or expires is closed at WeChat
// Pay before its stock goes back, and a payment that still arrives for it is recorded and
// refunded automatically, with an alert (payment_incident on the order).
//
// Checkout is crash-safe: the order is recorded (reserving) before any stock is reserved, with
// reservation ids that follow from it, so a retry or the recovery job finds and releases what an
// interrupted checkout took. Every later change to reservations goes through the outbox, written
// in the same transaction as the order change that causes it.
class OrderServiceImpl final : public v1::OrderService::Service {
 public:
  // `attribution` (may be null: paid orders and refunds wait in the outbox until one is given)
  // is told of each paid order and refund by the outbox relay; `funnel` (may be null) of cart
  // adds made during a session.
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

  // Background work, one pass each (the binary runs them periodically; tests call them).
  // Delivers due outbox messages (to the catalog, attribution, WeChat Pay); returns how many were
  // delivered. A cancelled or expired WeChat Pay order is closed at WeChat Pay before its stock is
  // released (payment.close, then reservation.release).
  absl::StatusOr<int> DeliverOutboxOnce();
  // Unpaid orders past their payment window become EXPIRED and release their stock (WeChat Pay
  // orders once closed there).
  absl::StatusOr<int> ExpireOnce();
  // Checkouts interrupted while reserving are refused and release what they took.
  absl::StatusOr<int> RecoverOnce();

 private:
  // The viewer whose cart it is: carts belong to viewers only.
  absl::StatusOr<common::Principal> Buyer(const grpc::ServerContext& context) const;

  absl::Status DoRefund(const grpc::ServerContext& context, const v1::RefundOrderRequest& request,
                        v1::RefundOrderResponse& response);
  // Delivers a refund.request outbox message to WeChat Pay.
  absl::Status RequestRefund(const std::string& payload);
  // Delivers an order.refunded outbox message to attribution.
  absl::Status ReportRefund(const std::string& key);
  absl::Status HandleWechatNotification(const v1::HandlePaymentNotificationRequest& request);
  // A verified refund notification: the refund it answers gets its outcome.
  absl::Status HandleRefundResult(const RefundResult& refund);
  // A genuine payment of an order that was cancelled or expired: recorded and refunded
  // automatically (once however often it comes), with an alert for ops; the order stays as it is.
  absl::Status RecordLatePayment(const OrderRecord& order, const PaidTransaction& paid);
  // Delivers a payment.close message: closes the order at WeChat Pay, then releases its stock
  // (queued in the outbox first, so a crash after the close still releases it).
  absl::Status CloseThenRelease(const std::string& key);
  // The payment incidents of those of `orders` that may have one, by order id.
  absl::StatusOr<std::map<int64_t, PaymentIncidentRecord>> IncidentsOf(
      const std::vector<OrderRecord>& orders);
  absl::Status DoCheckout(const common::Principal& buyer, const v1::CheckoutRequest& request,
                          v1::Order& out);
  // Reserves every line of a new order and prices it, or refuses it (releasing what was taken).
  absl::StatusOr<OrderRecord> Reserve(OrderRecord order);
  // NOT_FOUND unless the caller may see the order (its buyer, or staff of the brand).
  static absl::Status CheckVisible(const common::Principal& caller, const OrderRecord& order);
  // The order if the caller may see it (the buyer, or staff of the brand); NOT_FOUND otherwise.
  absl::StatusOr<OrderRecord> LoadVisible(const common::Principal& caller,
                                          const std::string& order_id);
  absl::StatusOr<OrderRecord> ChangeAsOps(const grpc::ServerContext& context,
                                          const std::string& order_id, OrderStatus to);
  void ToProto(const OrderRecord& order, bool with_address, v1::Order* out,
               const std::map<int64_t, PaymentIncidentRecord>* incidents = nullptr) const;
  // Confirms (or releases) the reservations of an order right away, for the request that just
  // queued it; what fails here stays queued for the relay.
  void SettleNow(const OrderRecord& order, const std::string& topic);
  // Sends one outbox message; OK when it has had its effect.
  absl::Status Deliver(const OutboxMessage& m);

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
  std::mutex relay_mu_;                   // one relay pass at a time
  common::WorkerPool relay_workers_{16};  // last member: drained first on destruction
};

}  // namespace livecommerce::order
