#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/common/periodic_task.h"
#include "services/common/worker_pool.h"
#include "services/order/clients/attribution_client.h"
#include "services/order/clients/stock_client.h"
#include "services/order/domain/outbox.h"
#include "services/order/payment/payment_gateway.h"
#include "services/order/store/order_store.h"

namespace livecommerce::order {

// Delivers the order service's outbox at least once: about once a `period`, the messages that are
// due, page after page, each to whom its topic names (the table in Routes(), the one place that
// maps a topic to its delivery); a message that fails is tried again after a backoff (1 s doubling
// to 60 s). Confirmations go to the catalog in one call per brand, the rest side by side. A
// cancelled or expired WeChat Pay order is closed at WeChat Pay before its stock is released
// (payment.close, then reservation.release). Safe to run in every replica: consumers are
// idempotent by the message's key. Does not own its arguments.
class OutboxRelay final {
 public:
  // `wechat` may be null (refund.request and payment.close then wait, failing, until it is
  // configured); `attribution` may be null (order.paid and order.refunded then wait in the outbox
  // until one is given).
  OutboxRelay(OrderStore& orders, StockClient& stock, PaymentGateway* wechat,
              AttributionClient* attribution, const common::Clock& clock,
              absl::Duration period = absl::Milliseconds(100));
  void Start() { task_.Start(); }
  void Stop() { task_.Stop(); }
  // One pass (what the thread does each period; tests call it): returns how many messages were
  // delivered. One pass runs at a time.
  absl::StatusOr<int> DeliverOnce() ABSL_LOCKS_EXCLUDED(pass_mu_);

 private:
  // A topic and what delivering its messages means: `deliver` one message (OK once it has had
  // its effect), or `deliver_brand` all due messages of one brand in one call (an outcome per
  // message, in order). `enabled` false: its messages wait in the outbox.
  struct Route {
    const char* topic;
    absl::Status (OutboxRelay::*deliver)(const OutboxMessage&) = nullptr;
    std::vector<absl::Status> (OutboxRelay::*deliver_brand)(
        const std::string& brand_id, const std::vector<const OutboxMessage*>& messages) = nullptr;
    bool enabled = true;
  };
  // The table of topics, in the order their due messages are read.
  std::vector<Route> Routes() const;

  // Confirms a brand's reservations at the catalog.
  std::vector<absl::Status> Confirm(const std::string& brand_id,
                                    const std::vector<const OutboxMessage*>& messages);
  // Releases a reservation at the catalog.
  absl::Status Release(const OutboxMessage& m);
  // Asks WeChat Pay to return the money of a refund.request.
  absl::Status RequestRefund(const OutboxMessage& m);
  // Closes the order at WeChat Pay, then releases its stock (queued in the outbox first, so a
  // crash after the close still releases it).
  absl::Status CloseThenRelease(const OutboxMessage& m);
  // Tells attribution of a paid order.
  absl::Status ReportPaidOrder(const OutboxMessage& m);
  // Tells attribution of a refund.
  absl::Status ReportRefund(const OutboxMessage& m);

  OrderStore& orders_;
  StockClient& stock_;
  PaymentGateway* wechat_;
  AttributionClient* attribution_;
  const common::Clock& clock_;
  const std::vector<Route> routes_;
  // Serialises passes (a timer pass and the one a job or test asks for); guards no field.
  std::mutex pass_mu_;
  common::WorkerPool workers_{16};
  common::PeriodicTask task_;  // last: stopped first on destruction
};

// A reservation.release delivered to the catalog: unknown to the catalog (the reserve never
// happened) is as good as released.
absl::Status ReleaseReservation(StockClient& stock, const std::string& brand_id,
                                const std::string& reservation_id);

// Releases the reservations of `order` right away, for the request that just queued their
// reservation.release messages, and marks those delivered; what fails stays queued for the relay.
void ReleaseReservationsNow(OrderStore& orders, StockClient& stock, const common::Clock& clock,
                            const OrderRecord& order);

}  // namespace livecommerce::order
