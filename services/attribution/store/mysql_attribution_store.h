#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "services/attribution/store/attribution_store.h"
#include "services/common/events.h"
#include "services/common/mysql_client.h"

namespace livecommerce::attribution {

// AttributionStore on MySQL (db/migrations/0005_attribution.sql). One class, implemented in one
// file per section of the interface:
//   mysql_attribution_store.cc             construction and the batched paid-order writers
//   mysql_attribution_store_directory.cc   stores and associates
//   mysql_attribution_store_links.cc       share links and touches
//   mysql_attribution_store_bindings.cc    bindings and attribution facts
//   mysql_attribution_store_ledger.cc      rules, attributed orders, refunds
//   mysql_attribution_store_statements.cc  entries, statement totals and lines, settlement
//   mysql_attribution_store_alerts.cc      alerts, the unpaid order watch, client presence
//   mysql_attribution_store_questions.cc   clients' comments (CommentPosted) as question alerts
// with the row readers they share in mysql_rows.h.
//
// Paid orders are the hot path: concurrent RecordPaidOrder calls are gathered by a few writer
// threads. For a batch, one query reads the facts of all its buyers (padded to a power of two of
// them, so few statements are prepared), then one transaction writes it, one multi-row INSERT per
// table.
// When any order of a batch was recorded before (the unique key on (brand, order id) refuses the
// batch), the batch is written again one order per transaction, so each call still learns whether
// its own order was new. Either way an order and its entries commit together or not at all.
class MysqlAttributionStore final : public AttributionStore {
 public:
  struct Options {
    int writers = 4;
    int max_batch = 128;
    // Publishes OrderCredited with each paid order it records (may be null: no events;
    // docs/EVENTS.md).
    const common::EventOutbox* events = nullptr;
  };
  MysqlAttributionStore(common::MysqlPool& pool, Options options);
  explicit MysqlAttributionStore(common::MysqlPool& pool)
      : MysqlAttributionStore(pool, Options{}) {}
  ~MysqlAttributionStore() override;

  // Directory.
  absl::StatusOr<v1::Store> CreateStore(const std::string& brand_id, const v1::Store& store,
                                        absl::Time now) override;
  absl::StatusOr<std::vector<v1::Store>> ListStores(const std::string& brand_id, int64_t after_id,
                                                    int limit) override;
  absl::Status CheckStore(const std::string& brand_id, int64_t store_id) override;
  absl::StatusOr<v1::Associate> CreateAssociate(const std::string& brand_id,
                                                const v1::Associate& associate,
                                                absl::Time now) override;
  absl::StatusOr<v1::Associate> UpdateAssociate(const std::string& brand_id,
                                                const v1::UpdateAssociateRequest& update,
                                                absl::Time now) override;
  absl::StatusOr<v1::Associate> GetAssociate(const std::string& brand_id,
                                             int64_t associate_id) override;
  absl::StatusOr<std::vector<v1::Associate>> ListAssociates(const std::string& brand_id,
                                                            int64_t store_id,
                                                            v1::AssociateStatus status,
                                                            int64_t after_id, int limit) override;
  absl::StatusOr<std::optional<AssociateRef>> AssociateRefOf(const std::string& brand_id,
                                                             int64_t associate_id) override;

  // Share links and touches.
  absl::StatusOr<v1::ShareLink> CreateShareLink(const std::string& brand_id,
                                                const v1::ShareLink& link, absl::Time now) override;
  absl::StatusOr<v1::ShareLink> GetShareLink(const std::string& brand_id, int64_t link_id) override;
  absl::StatusOr<std::vector<v1::ShareLink>> ListShareLinks(const std::string& brand_id,
                                                            int64_t associate_id, int64_t after_id,
                                                            int limit) override;
  absl::StatusOr<v1::ShareLinkCode> ShareLinkCodeOnce(
      const std::string& brand_id, int64_t link_id,
      const std::function<absl::StatusOr<v1::ShareLinkCode>(const v1::ShareLink&)>& make,
      absl::Time now) override;
  absl::StatusOr<RecordedTouch> RecordTouch(const std::string& brand_id, const v1::Touch& touch,
                                            const std::string& touch_key,
                                            absl::Duration protection) override;

  // Bindings.
  absl::StatusOr<std::vector<v1::ClientBinding>> BindingHistory(const std::string& brand_id,
                                                                const std::string& viewer_id,
                                                                int limit) override;
  absl::StatusOr<v1::ClientBinding> Reassign(const std::string& brand_id,
                                             const std::string& viewer_id, int64_t associate_id,
                                             const std::string& changed_by, const std::string& note,
                                             absl::Time now, absl::Duration protection) override;
  absl::StatusOr<std::vector<ClientRow>> ListClients(const std::string& brand_id,
                                                     int64_t associate_id, absl::Time now,
                                                     int64_t after_id, int limit) override;
  absl::StatusOr<std::optional<BindingFact>> BindingAt(const std::string& brand_id,
                                                       const std::string& viewer_id,
                                                       absl::Time t) override;
  absl::StatusOr<AttributionFacts> LoadFacts(const std::string& brand_id,
                                             const std::string& buyer_id, absl::Time paid_at,
                                             absl::Duration window) override;

  // Ledger.
  absl::StatusOr<v1::CommissionRule> CreateRule(const std::string& brand_id, const RuleSpec& rule,
                                                const std::string& created_by,
                                                absl::Time now) override;
  absl::StatusOr<std::vector<RuleSpec>> LoadRules(const std::string& brand_id) override;
  absl::StatusOr<std::vector<v1::CommissionRule>> ListRules(const std::string& brand_id,
                                                            v1::RuleScope scope,
                                                            const std::string& scope_id,
                                                            int64_t after_id, int limit) override;
  absl::StatusOr<RecordedPaidOrder> RecordPaidOrder(const PaidOrderRequest& request) override;
  absl::StatusOr<AttributedOrderRecord> GetAttributedOrder(const std::string& brand_id,
                                                           const std::string& order_id) override;
  absl::StatusOr<std::vector<AttributedOrderRow>> ListAttributedOrders(
      const std::string& brand_id, int64_t associate_id, std::optional<absl::Time> from,
      std::optional<absl::Time> to, int64_t after_id, int limit) override;
  absl::StatusOr<RefundResult> RecordRefund(const RefundWrite& write) override;

  // Statements.
  absl::StatusOr<std::vector<v1::LedgerEntry>> ListEntries(const std::string& brand_id,
                                                           const v1::LedgerFilter& filter,
                                                           const std::string& order_id,
                                                           int64_t after_id, int limit) override;
  absl::StatusOr<v1::Statement> StatementTotals(const std::string& brand_id, absl::Time start,
                                                absl::Time end, v1::StatementGrouping grouping,
                                                const v1::LedgerFilter& filter) override;
  absl::StatusOr<std::vector<StatementLine>> StatementLines(
      const std::string& brand_id, absl::Time start, absl::Time end, v1::StatementGrouping grouping,
      const v1::LedgerFilter& filter, std::optional<LineCursor> after, int limit) override;
  absl::StatusOr<absl::Time> SettledThrough() override;
  absl::StatusOr<absl::Time> Settle(absl::Time through, absl::Time now) override;

  // Alerts.
  absl::StatusOr<v1::Alert> AddAlert(const std::string& brand_id, const v1::Alert& alert,
                                     const std::string& dedupe_key) override;
  absl::StatusOr<std::vector<v1::Alert>> ListAlerts(const std::string& brand_id,
                                                    int64_t associate_id, int64_t after_id,
                                                    int limit) override;
  absl::Status WatchUnpaidOrder(const std::string& brand_id, const v1::Alert& order) override;
  absl::StatusOr<int> AlertUnpaidOrders(absl::Time created_before) override;
  absl::Status SetPresence(const std::string& brand_id, const std::string& room_id,
                           const std::string& viewer_id, int64_t associate_id, Presence presence,
                           absl::Time at) override;
  absl::StatusOr<std::vector<std::string>> WatchingClients(const std::string& brand_id,
                                                           int64_t associate_id,
                                                           const std::string& room_id) override;

  // Events from other services (docs/EVENTS.md). Makes `consumer` apply the interaction service's
  // events. CommentPosted: a client's comment (author_role "viewer") raises one
  // ALERT_KIND_QUESTION alert (per comment id, however often it is delivered) for the associate
  // the client is bound to at the comment's time, else for the active associate of the brand
  // behind the client's invite; nobody's client raises nothing. Runs in the consumer's
  // transaction; `raised` (may be empty) is called there for each alert written, so the caller
  // can wake its alert watchers once the delivery has committed. A comment whose ids do not fit is
  // skipped with a warning (never its text), so that it cannot hold back the producer's later
  // events. LikesCounted: nothing to do.
  void SubscribeInteractionEvents(common::EventConsumer& consumer, std::function<void()> raised);

 private:
  struct Pending;
  void WriterLoop();
  void WriteBatch(std::vector<Pending*>& batch);

  common::MysqlPool& pool_;
  Options options_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Pending*> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> writers_;
};

}  // namespace livecommerce::attribution
