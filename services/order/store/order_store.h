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

namespace livecommerce::order {

// Internal states of an order row besides the public OrderStatus values.
inline constexpr int kStatusReserving = 0;  // checkout in progress: stock being reserved
inline constexpr int kStatusRefused = 9;    // checkout refused (sold out, limit ...): no order

struct OrderLineRecord {
  int line_no = 0;
  int64_t product_id = 0;
  int64_t sku_id = 0;
  int64_t sale_id = 0;  // 0: regular stock
  std::string product_name;
  int64_t quantity = 0;
  int64_t unit_price_fen = 0;
  int64_t line_total_fen = 0;
  int64_t refunded_quantity = 0;
  std::string reservation_id;
};

struct OrderRecord {
  int64_t id = 0;
  std::string brand_id;
  std::string buyer_id;
  std::string idempotency_key;
  std::string request_hash;
  int status = kStatusReserving;
  std::string failure;  // "<code>:<message>" when refused
  std::string currency = "CNY";
  int64_t total_fen = 0;
  int64_t refunded_fen = 0;
  int64_t room_id = 0;
  int64_t session_id = 0;
  v1::Attribution attribution;
  v1::DeliveryAddress address;
  v1::PaymentProvider provider = v1::PAYMENT_PROVIDER_SANDBOX;
  v1::PaymentParams payment_params;
  std::optional<absl::Time> expires_at;
  std::optional<absl::Time> paid_at;
  absl::Time created_at;
  absl::Time updated_at;
  std::vector<OrderLineRecord> lines;
};

// A message to another service, written in the same transaction as the change that causes it and
// delivered (at least once) by the outbox relay.
struct OutboxMessage {
  int64_t id = 0;
  std::string brand_id;
  std::string topic;
  std::string key;
  std::string payload;
  int attempts = 0;
};

inline constexpr char kTopicConfirmReservation[] = "reservation.confirm";
inline constexpr char kTopicReleaseReservation[] = "reservation.release";
inline constexpr char kTopicOrderPaid[] = "order.paid";
inline constexpr char kTopicOrderRefunded[] = "order.refunded";
inline constexpr char kTopicRefundRequest[] = "refund.request";
// Close a cancelled or expired WeChat Pay order at WeChat Pay (key and payload: the order id); its
// delivery queues the order's reservation.release messages once the order cannot be paid.
inline constexpr char kTopicPaymentClose[] = "payment.close";

inline constexpr int kRefundRequested = 1;  // asked of the provider, no answer yet
inline constexpr int kRefundSucceeded = 2;  // the money went back
inline constexpr int kRefundFailed = 3;     // the provider gave up (abnormal or closed)

struct RefundRecord {
  std::string refund_key;
  int64_t amount_fen = 0;
  std::string lines;  // serialised request lines
  std::string reason;
  int status = 1;  // kRefundRequested, kRefundSucceeded or kRefundFailed
  std::string requested_by;
  absl::Time created_at;
};

struct PaymentRecord {
  v1::PaymentProvider provider = v1::PAYMENT_PROVIDER_SANDBOX;
  std::string transaction_id;
  int64_t amount_fen = 0;
  std::string currency;
};

// A payment that arrived for an order no longer payable (CANCELLED or EXPIRED): recorded, not
// counted as a sale, refunded automatically (`refund_key`).
struct PaymentIncidentRecord {
  int64_t order_id = 0;
  int order_status = 0;  // when the payment arrived
  PaymentRecord payment;
  std::string refund_key;
  int refund_status = kRefundRequested;  // of that refund
  absl::Time created_at;
};

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

  // Inserts the order (status kStatusReserving, lines with their reservation ids) unless its
  // buyer already used its idempotency key: then returns that order, unchanged.
  virtual absl::StatusOr<OrderChange> BeginCheckout(const OrderRecord& draft) = 0;
  // The checkout `priced` (begun by BeginCheckout, still kStatusReserving) becomes PENDING_PAYMENT
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
                                            int status, absl::Time now) = 0;
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
  // A page of a brand's orders (of a buyer, in a status when given), by id; with
  // `incidents_only`, only orders with a payment incident.
  virtual absl::StatusOr<std::vector<OrderRecord>> List(const std::string& brand_id,
                                                        const std::string& buyer_id, int status,
                                                        bool incidents_only, int64_t after_id,
                                                        int limit) = 0;
  // Orders in `status` whose expires_at (or, for kStatusReserving, created_at) is before `before`.
  virtual absl::StatusOr<std::vector<int64_t>> Due(int status, absl::Time before, int limit) = 0;

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
