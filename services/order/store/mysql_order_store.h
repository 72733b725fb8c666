#pragma once

#include "services/common/mysql_client.h"
#include "services/order/store/order_store.h"

namespace livecommerce::order {

// OrderStore on MySQL (tables orders, order_lines, payments, conversions, order_outbox).
class MysqlOrderStore final : public OrderStore {
 public:
  explicit MysqlOrderStore(common::MysqlPool& pool) : pool_(pool) {}

  absl::StatusOr<std::pair<OrderRecord, bool>> BeginCheckout(const OrderRecord& draft) override;
  absl::StatusOr<OrderRecord> Update(
      int64_t order_id,
      const std::function<absl::Status(OrderRecord&, std::vector<OutboxMessage>&)>& change)
      override;
  absl::StatusOr<std::pair<OrderRecord, bool>> MarkPaid(int64_t order_id,
                                                        const PaymentRecord& payment,
                                                        absl::Time now) override;
  absl::StatusOr<std::pair<OrderRecord, bool>> Refund(
      int64_t order_id, RefundRecord refund,
      const std::function<absl::Status(OrderRecord&, RefundRecord&, std::vector<OutboxMessage>&)>&
          apply,
      absl::Time now) override;
  absl::StatusOr<OrderRecord> Get(int64_t order_id) override;
  absl::StatusOr<std::vector<OrderRecord>> List(const std::string& brand_id,
                                                const std::string& buyer_id, int status,
                                                int64_t after_id, int limit) override;
  absl::StatusOr<std::vector<int64_t>> Due(int status, absl::Time before, int limit) override;
  absl::StatusOr<std::vector<OutboxMessage>> DueMessages(const std::vector<std::string>& topics,
                                                         absl::Time now, int limit) override;
  absl::Status MarkDelivered(int64_t message_id, absl::Time now) override;
  absl::Status MarkDeliveredByKey(const std::string& topic, const std::string& key,
                                  absl::Time now) override;
  absl::Status MarkFailed(int64_t message_id, const std::string& error,
                          absl::Time next_attempt) override;

 private:
  common::MysqlPool& pool_;
};

}  // namespace livecommerce::order
