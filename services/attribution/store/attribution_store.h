#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "livecommerce/v1/attribution.pb.h"
#include "services/attribution/domain/attribution_model.h"
#include "services/attribution/domain/commission.h"
#include "services/attribution/domain/records.h"

namespace livecommerce::attribution {

// Everything the attribution service keeps, in MySQL. Ids are the API's strings; an unknown id (or
// another brand's) is NOT_FOUND; a database that cannot be reached is UNAVAILABLE.
class AttributionStore {
 public:
  virtual ~AttributionStore() = default;

  // ---- Directory: stores and associates ----
  virtual absl::StatusOr<v1::Store> CreateStore(const std::string& brand_id, const v1::Store& store,
                                                absl::Time now) = 0;
  virtual absl::StatusOr<std::vector<v1::Store>> ListStores(const std::string& brand_id,
                                                            int64_t after_id, int limit) = 0;
  // OK when the store is the brand's; NOT_FOUND (store_id) otherwise.
  virtual absl::Status CheckStore(const std::string& brand_id, int64_t store_id) = 0;
  // NOT_FOUND (store_id) when the store is not the brand's.
  virtual absl::StatusOr<v1::Associate> CreateAssociate(const std::string& brand_id,
                                                        const v1::Associate& associate,
                                                        absl::Time now) = 0;
  virtual absl::StatusOr<v1::Associate> UpdateAssociate(const std::string& brand_id,
                                                        const v1::UpdateAssociateRequest& update,
                                                        absl::Time now) = 0;
  virtual absl::StatusOr<v1::Associate> GetAssociate(const std::string& brand_id,
                                                     int64_t associate_id) = 0;
  virtual absl::StatusOr<std::vector<v1::Associate>> ListAssociates(const std::string& brand_id,
                                                                    int64_t store_id,
                                                                    v1::AssociateStatus status,
                                                                    int64_t after_id,
                                                                    int limit) = 0;
  // An associate as attribution needs it; nullopt when unknown.
  virtual absl::StatusOr<std::optional<AssociateRef>> AssociateRefOf(const std::string& brand_id,
                                                                     int64_t associate_id) = 0;

  // ---- Share links and touches ----
  virtual absl::StatusOr<v1::ShareLink> CreateShareLink(const std::string& brand_id,
                                                        const v1::ShareLink& link,
                                                        absl::Time now) = 0;
  virtual absl::StatusOr<v1::ShareLink> GetShareLink(const std::string& brand_id,
                                                     int64_t link_id) = 0;
  virtual absl::StatusOr<std::vector<v1::ShareLink>> ListShareLinks(const std::string& brand_id,
                                                                    int64_t associate_id,
                                                                    int64_t after_id,
                                                                    int limit) = 0;
  // The link's code: the one kept, or the one `make` returns for the link (scene, page, image,
  // content_type, source), kept. Made at most once per link: the link's row stays locked while
  // `make` runs, so a concurrent caller waits and reads the first one's. NOT_FOUND when the link
  // is unknown or another brand's; an error of `make` keeps nothing.
  virtual absl::StatusOr<v1::ShareLinkCode> ShareLinkCodeOnce(
      const std::string& brand_id, int64_t link_id,
      const std::function<absl::StatusOr<v1::ShareLinkCode>(const v1::ShareLink&)>& make,
      absl::Time now) = 0;
  // Records a touch and, in the same transaction, the binding it makes: a viewer not bound in
  // protection at the touch becomes the associate's client; a touch by the bound associate renews
  // the protection; another associate's touch leaves the binding alone, unless the bound associate
  // has left. An associate who has left binds nobody. With a touch_key already used, returns the
  // first touch and records nothing. Returns the touch and the viewer's binding after it.
  virtual absl::StatusOr<RecordedTouch> RecordTouch(const std::string& brand_id,
                                                    const v1::Touch& touch,
                                                    const std::string& touch_key,
                                                    absl::Duration protection) = 0;

  // ---- Bindings ----
  virtual absl::StatusOr<std::vector<v1::ClientBinding>> BindingHistory(
      const std::string& brand_id, const std::string& viewer_id, int limit) = 0;
  // Moves the viewer to `associate_id` (active, the brand's) for a new protection period,
  // recording who did it. NOT_FOUND (associate_id); FAILED_PRECONDITION when it has left.
  virtual absl::StatusOr<v1::ClientBinding> Reassign(const std::string& brand_id,
                                                     const std::string& viewer_id,
                                                     int64_t associate_id,
                                                     const std::string& changed_by,
                                                     const std::string& note, absl::Time now,
                                                     absl::Duration protection) = 0;
  // The viewers bound to the associate in protection at `now`, by binding id.
  virtual absl::StatusOr<std::vector<ClientRow>> ListClients(const std::string& brand_id,
                                                             int64_t associate_id, absl::Time now,
                                                             int64_t after_id, int limit) = 0;
  // The binding of the viewer in force at `t` (latest made at or before t), if any.
  virtual absl::StatusOr<std::optional<BindingFact>> BindingAt(const std::string& brand_id,
                                                               const std::string& viewer_id,
                                                               absl::Time t) = 0;
  // Attribution facts of a buyer: the binding made at or before paid_at and the touches in
  // [paid_at - window, paid_at].
  virtual absl::StatusOr<AttributionFacts> LoadFacts(const std::string& brand_id,
                                                     const std::string& buyer_id,
                                                     absl::Time paid_at, absl::Duration window) = 0;

  // ---- Ledger: commission rules, attributed orders and refunds ----
  virtual absl::StatusOr<v1::CommissionRule> CreateRule(const std::string& brand_id,
                                                        const RuleSpec& rule,
                                                        const std::string& created_by,
                                                        absl::Time now) = 0;
  virtual absl::StatusOr<std::vector<RuleSpec>> LoadRules(const std::string& brand_id) = 0;
  virtual absl::StatusOr<std::vector<v1::CommissionRule>> ListRules(const std::string& brand_id,
                                                                    v1::RuleScope scope,
                                                                    const std::string& scope_id,
                                                                    int64_t after_id,
                                                                    int limit) = 0;
  // Reads the buyer's facts, completes the write from them, and records the attributed order and
  // its sale entries (and the paid alert) in one transaction, keyed by (brand, order id):
  // kRecorded with the write when recorded now, kAlreadyRecorded when it had been recorded before
  // (nothing is written then).
  virtual absl::StatusOr<RecordedPaidOrder> RecordPaidOrder(const PaidOrderRequest& request) = 0;
  // NOT_FOUND (order_id) when the order has not been attributed.
  virtual absl::StatusOr<AttributedOrderRecord> GetAttributedOrder(const std::string& brand_id,
                                                                   const std::string& order_id) = 0;
  // The brand's attributed orders (the associate's when not 0) paid in [from, to), by row id.
  virtual absl::StatusOr<std::vector<AttributedOrderRow>> ListAttributedOrders(
      const std::string& brand_id, int64_t associate_id, std::optional<absl::Time> from,
      std::optional<absl::Time> to, int64_t after_id, int limit) = 0;
  // Writes the refund's reversing entries (receivables once the order has settled) in one
  // transaction keyed by (brand, order, refund id); a replay returns the first result.
  // FAILED_PRECONDITION when the order is not recorded yet or the refund exceeds what is left;
  // INVALID_ARGUMENT (amount.currency) on a currency mismatch.
  virtual absl::StatusOr<RefundResult> RecordRefund(const RefundWrite& write) = 0;

  // ---- Statements: entries, totals and settlement ----
  virtual absl::StatusOr<std::vector<v1::LedgerEntry>> ListEntries(const std::string& brand_id,
                                                                   const v1::LedgerFilter& filter,
                                                                   const std::string& order_id,
                                                                   int64_t after_id, int limit) = 0;
  // Statement groups and per-currency totals over entries booked in [start, end).
  virtual absl::StatusOr<v1::Statement> StatementTotals(const std::string& brand_id,
                                                        absl::Time start, absl::Time end,
                                                        v1::StatementGrouping grouping,
                                                        const v1::LedgerFilter& filter) = 0;
  // Statement lines booked in [start, end), by (booked_at, id), after `after`: the rows the
  // grouping counts in its totals.
  virtual absl::StatusOr<std::vector<StatementLine>> StatementLines(
      const std::string& brand_id, absl::Time start, absl::Time end, v1::StatementGrouping grouping,
      const v1::LedgerFilter& filter, std::optional<LineCursor> after, int limit) = 0;
  virtual absl::StatusOr<absl::Time> SettledThrough() = 0;
  // Settles everything due by `through` (the settlement job); returns the new mark.
  virtual absl::StatusOr<absl::Time> Settle(absl::Time through, absl::Time now) = 0;

  // ---- Alerts: associate alerts, the unpaid order watch, client presence ----
  // Records an alert once per dedupe key (empty: always); returns it, or the first.
  virtual absl::StatusOr<v1::Alert> AddAlert(const std::string& brand_id, const v1::Alert& alert,
                                             const std::string& dedupe_key) = 0;
  virtual absl::StatusOr<std::vector<v1::Alert>> ListAlerts(const std::string& brand_id,
                                                            int64_t associate_id, int64_t after_id,
                                                            int limit) = 0;
  // Remembers an order awaiting payment of an associate's client.
  virtual absl::Status WatchUnpaidOrder(const std::string& brand_id, const v1::Alert& order) = 0;
  // Alerts (once each) orders created before `created_before` that are still not recorded as
  // paid, and forgets paid ones; returns how many alerts were raised.
  virtual absl::StatusOr<int> AlertUnpaidOrders(absl::Time created_before) = 0;
  // Records whether the viewer is watching the room (the latest change by `at` wins).
  virtual absl::Status SetPresence(const std::string& brand_id, const std::string& room_id,
                                   const std::string& viewer_id, int64_t associate_id,
                                   Presence presence, absl::Time at) = 0;
  // The associate's clients present in the room (at most 1000, by viewer id).
  virtual absl::StatusOr<std::vector<std::string>> WatchingClients(const std::string& brand_id,
                                                                   int64_t associate_id,
                                                                   const std::string& room_id) = 0;
};

}  // namespace livecommerce::attribution
