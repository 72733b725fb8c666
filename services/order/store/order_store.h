#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "livecommerce/v1/order.pb.h"
#include "services/order/domain/order_record.h"
#include "services/order/domain/outbox.h"

namespace livecommerce::order {

// An order as a store call left it, and whether this call changed it (`changed` false: an
// earlier call already had: a checkout key used before, a payment already recorded, a refund
// already requested), so a retry answers the first result without doing it twice.
struct OrderChange {
  OrderRecord order;
  bool changed = false;
};

// The record of orders (MySQL). Each method is one transaction. Errors: NOT_FOUND for unknown
// ids, UNAVAILABLE when the database cannot be reached.
class OrderStore {
 public:
  virtual ~OrderStore() = default;

  // Inserts the order (status OrderState::kReserving, lines with their reservation ids) unless its
  // buyer already used its idempotency key: then returns that order, unchanged.
  virtual absl::StatusOr<OrderChange> BeginCheckout(const OrderRecord& draft) = 0;
  // The checkout `priced` (begun by BeginCheckout, still reserving) becomes PENDING_PAYMENT
  // with what `priced` carries: currency, total, payment params, expiry, updated_at and each
  // line's product id, name, unit price and total. Returns the order as written; ABORTED when it
  // is no longer reserving (recovery gave up on it).
  virtual absl::StatusOr<OrderRecord> MarkPending(const OrderRecord& priced) = 0;
  // Row-locked read-modify-write of an order and its lines; `change` may queue outbox messages.
  // An error from `change` writes nothing.
  virtual absl::StatusOr<OrderRecord> Update(
      int64_t order_id,
      const std::function<absl::Status(OrderRecord&, std::vector<OutboxMessage>&)>& change) = 0;
  // Pays a PENDING_PAYMENT order whose amount matches: the order becomes PAID, and the payment,
  // the conversion and the outbox messages (confirm each reservation, tell attribution) are
  // written in the same transaction. A payment already recorded (a replay) changes nothing.
  // Returns the order and whether this call paid it. FAILED_PRECONDITION when the order cannot be
  // paid (wrong amount, not pending). `check`, when given, first sees the locked order: an error
  // from it is the answer and writes nothing; it may fill in the payment (a sandbox payment pays
  // what the order costs).
  using PaymentCheck = std::function<absl::Status(const OrderRecord&, PaymentRecord&)>;
  virtual absl::StatusOr<OrderChange> MarkPaid(int64_t order_id, const PaymentRecord& payment,
                                               absl::Time now, const PaymentCheck& check) = 0;
  // Records a refund of an order: unless `refund.refund_key` was used for this order before (then
  // returns the order as it is and false), locks the order, lets `apply` change it (an error writes
  // nothing), and writes the order, the refund and the outbox messages `apply` queued in one
  // transaction; `apply` sets refund.amount_fen.
  virtual absl::StatusOr<OrderChange> Refund(
      int64_t order_id, RefundRecord refund,
      const std::function<absl::Status(OrderRecord&, RefundRecord&, std::vector<OutboxMessage>&)>&
          apply,
      absl::Time now) = 0;
  virtual absl::StatusOr<OrderRecord> Get(int64_t order_id) = 0;
  // The refunds of an order, oldest first.
  virtual absl::StatusOr<std::vector<RefundRecord>> ListRefunds(int64_t order_id) = 0;
  // Records the provider's outcome of a requested refund; returns whether it changed (a
  // repeated notification changes nothing). NOT_FOUND for an unknown refund.
  virtual absl::StatusOr<bool> SettleRefund(int64_t order_id, const std::string& refund_key,
                                            RefundStatus status, absl::Time now) = 0;
  // Records `payment` of an order that is CANCELLED or EXPIRED, in one transaction with the order
  // locked: the payment, an incident, `refund` (its amount the payment's, status requested) and
  // the outbox `messages` (the refund request). The order itself does not change: no conversion,
  // no order.paid. Returns whether this call recorded it (false: this transaction was recorded
  // before, a replay, nothing written). FAILED_PRECONDITION when the order is not cancelled or
  // expired or was paid by another transaction.
  virtual absl::StatusOr<bool> RecordLatePayment(int64_t order_id, const PaymentRecord& payment,
                                                 const RefundRecord& refund,
                                                 const std::vector<OutboxMessage>& messages,
                                                 absl::Time now) = 0;
  // The incidents of these orders (those that have one), by order id.
  virtual absl::StatusOr<std::map<int64_t, PaymentIncidentRecord>> Incidents(
      const std::vector<int64_t>& order_ids) = 0;
  // A page of a brand's orders (of a buyer when `buyer_id` is not empty, in a status when one is
  // given), by id, never those still reserving or refused; with `incidents_only`, only orders with
  // a payment incident.
  virtual absl::StatusOr<std::vector<OrderRecord>> List(const std::string& brand_id,
                                                        const std::string& buyer_id,
                                                        std::optional<OrderState> status,
                                                        bool incidents_only, int64_t after_id,
                                                        int limit) = 0;
  // Orders in `status` whose expires_at (or, for OrderState::kReserving, created_at) is before
  // `before`.
  virtual absl::StatusOr<std::vector<int64_t>> Due(OrderState status, absl::Time before,
                                                   int limit) = 0;

  // Pending outbox messages of `topics` due at `now`, oldest first.
  virtual absl::StatusOr<std::vector<OutboxMessage>> DueMessages(
      const std::vector<std::string>& topics, absl::Time now, int limit) = 0;
  virtual absl::Status MarkDelivered(int64_t message_id, absl::Time now) = 0;
  virtual absl::Status MarkDeliveredMany(const std::vector<int64_t>& message_ids,
                                         absl::Time now) = 0;
  // The same for a message known by its topic and key (just delivered by the request that wrote
  // it, before the relay saw it).
  virtual absl::Status MarkDeliveredByKey(const std::string& topic, const std::string& key,
                                          absl::Time now) = 0;
  virtual absl::Status MarkFailed(int64_t message_id, const std::string& error,
                                  absl::Time next_attempt) = 0;
};

}  // namespace livecommerce::order
