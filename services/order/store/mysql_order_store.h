#pragma once

#include <atomic>
#include <memory>
#include <optional>

#include "services/common/events.h"
#include "services/common/mysql_batcher.h"
#include "services/common/mysql_client.h"
#include "services/order/store/order_store.h"

namespace livecommerce::order {

// OrderStore on MySQL (tables orders, order_lines, payments, payment_incidents, refunds,
// order_outbox, order_event_outbox).
// BeginCheckout, MarkPending and MarkPaid calls that arrive together are group-committed
// (common::MysqlBatcher): one transaction and a few multi-row statements for the whole batch.
class MysqlOrderStore final : public OrderStore {
 public:
  // `events` (may be null: no events) publishes CheckoutStarted, OrderPaid and OrderRefunded in
  // the transactions that place, pay and refund orders (docs/EVENTS.md).
  // `checkout_admission` bounds the queue of checkouts' first writes: a checkout the store cannot
  // start quickly is refused (Overloaded) before it reserves anything; the writes that continue
  // accepted checkouts and payments are never refused.
  explicit MysqlOrderStore(
      common::MysqlPool& pool, const common::EventOutbox* events = nullptr,
      common::AdmissionOptions checkout_admission = common::AdmissionOptions::Unbounded());
  ~MysqlOrderStore() override;

  absl::StatusOr<OrderChange> BeginCheckout(const OrderRecord& draft) override;
  absl::StatusOr<OrderRecord> MarkPending(const OrderRecord& priced) override;
  absl::StatusOr<OrderRecord> Update(
      int64_t order_id,
      const std::function<absl::Status(OrderRecord&, std::vector<OutboxMessage>&)>& change)
      override;
  absl::StatusOr<OrderChange> MarkPaid(int64_t order_id, const PaymentRecord& payment,
                                       absl::Time now, const PaymentCheck& check) override;
  absl::StatusOr<OrderChange> Refund(
      int64_t order_id, RefundRecord refund,
      const std::function<absl::Status(OrderRecord&, RefundRecord&, std::vector<OutboxMessage>&)>&
          apply,
      absl::Time now) override;
  absl::StatusOr<OrderRecord> Get(int64_t order_id) override;
  absl::StatusOr<std::vector<RefundRecord>> ListRefunds(int64_t order_id) override;
  absl::StatusOr<bool> SettleRefund(int64_t order_id, const std::string& refund_key,
                                    RefundStatus status, absl::Time now) override;
  absl::StatusOr<bool> RecordLatePayment(int64_t order_id, const PaymentRecord& payment,
                                         const RefundRecord& refund,
                                         const std::vector<OutboxMessage>& messages,
                                         absl::Time now) override;
  absl::StatusOr<std::map<int64_t, PaymentIncidentRecord>> Incidents(
      const std::vector<int64_t>& order_ids) override;
  absl::StatusOr<std::vector<OrderRecord>> List(const std::string& brand_id,
                                                const std::string& buyer_id,
                                                std::optional<OrderState> status,
                                                bool incidents_only, int64_t after_id,
                                                int limit) override;
  absl::StatusOr<std::vector<int64_t>> Due(OrderState status, absl::Time before,
                                           int limit) override;
  absl::StatusOr<std::vector<OutboxMessage>> DueMessages(const std::vector<std::string>& topics,
                                                         absl::Time now, int limit) override;
  absl::Status MarkDelivered(int64_t message_id, absl::Time now) override;
  absl::Status MarkDeliveredMany(const std::vector<int64_t>& message_ids, absl::Time now) override;
  absl::Status MarkDeliveredByKey(const std::string& topic, const std::string& key,
                                  absl::Time now) override;
  absl::Status MarkFailed(int64_t message_id, const std::string& error,
                          absl::Time next_attempt) override;
  // For monitoring (the outbox-lag gauge): when the oldest message still pending (undelivered,
  // whatever its topic or next attempt) was written; nullopt when none is. UNAVAILABLE when
  // MySQL is down.
  absl::StatusOr<std::optional<absl::Time>> OldestPendingOutbox();

 private:
  struct BeginItem {
    const OrderRecord* draft;
    absl::StatusOr<OrderRecord> result;
  };
  struct PendingItem {
    const OrderRecord* priced;
    absl::Status result;
  };
  struct PaidItem {
    int64_t order_id;
    PaymentRecord payment;
    absl::Time now;
    const PaymentCheck* check;
    absl::StatusOr<OrderChange> result;
  };
  absl::Status ApplyBegins(common::MysqlConnection& c, const std::vector<BeginItem*>& items);
  absl::Status ApplyPendings(common::MysqlConnection& c, const std::vector<PendingItem*>& items);
  absl::Status ApplyPaids(common::MysqlConnection& c, const std::vector<PaidItem*>& items);

  common::MysqlPool& pool_;
  const common::EventOutbox* events_;
  // The server's auto_increment_increment once read; -1 when it interleaves ids.
  std::atomic<int64_t> autoinc_step_{0};
  std::unique_ptr<common::MysqlBatcher<BeginItem>> begins_;
  std::unique_ptr<common::MysqlBatcher<PendingItem>> pendings_;
  std::unique_ptr<common::MysqlBatcher<PaidItem>> paids_;
};

}  // namespace livecommerce::order
