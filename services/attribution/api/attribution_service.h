#pragma once

#include <condition_variable>
#include <mutex>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "livecommerce/v1/attribution.grpc.pb.h"
#include "services/attribution/clients/directories.h"
#include "services/attribution/clients/share_codes.h"
#include "services/attribution/domain/attribution_model.h"
#include "services/attribution/domain/commission.h"
#include "services/attribution/store/attribution_store.h"
#include "services/common/clock.h"
#include "services/common/handler.h"
#include "services/common/principal.h"

namespace livecommerce::attribution {

struct AttributionServiceOptions {
  AttributionOptions attribution;
  // Sale entries stay PENDING this long after payment, then the settlement job settles them.
  absl::Duration refund_window = absl::Hours(24 * 7);
  // Commission rules are re-read from MySQL at most this often per brand (and at once after a
  // rule is created through this process).
  absl::Duration rule_cache_ttl = absl::Seconds(1);
  // An associate is alerted when a client's order is still unpaid after this long.
  absl::Duration unpaid_alert_after = absl::Minutes(30);
};

// LC_ATTRIBUTION_WINDOW_DAYS, LC_PROTECTION_DAYS, LC_ATTRIBUTION_MODEL, LC_REFUND_WINDOW_DAYS
// (default 7), LC_RULE_CACHE_MS (default 1000), LC_UNPAID_ALERT_MINUTES (default 30).
absl::StatusOr<AttributionServiceOptions> LoadAttributionServiceOptions();

// gRPC handlers of livecommerce.v1.AttributionService. Handlers check the caller and the input,
// then call the store; the attribution decision and the commission arithmetic are the pure
// functions of domain/. Who may do what:
//   ops: stores, associates, reassignment; read clients, links and attributed orders;
//   finance: commission rules; read everything, statements and CSV;
//   associate: its own links, clients, attributed orders, entries, statement and alerts;
//   service: touches, paid orders, refunds and client activity;
//   viewer: opening a share link only.
// The handlers are implemented in one file per section:
//   attribution_service.cc             options, construction, the references requests make
//   attribution_service_directory.cc   stores and associates
//   attribution_service_links.cc       share links and touches
//   attribution_service_clients.cc     clients (bindings)
//   attribution_service_ledger.cc      paid orders, refunds, attributed orders, commission rules
//   attribution_service_statements.cc  entries, statements, CSV, settlement
//   attribution_service_alerts.cc      client activity, alerts, watching clients
class AttributionServiceImpl final : public v1::AttributionService::Service {
 public:
  // `codes` makes share links' codes (WeChat's); null: plain QR codes drawn here.
  AttributionServiceImpl(AttributionStore& store, Directories& directories,
                         const common::Clock& clock, const common::PrincipalCodec& codec,
                         AttributionServiceOptions options, ShareCodeMaker* codes = nullptr);

  grpc::Status CreateStore(grpc::ServerContext* context, const v1::CreateStoreRequest* request,
                           v1::CreateStoreResponse* response) override;
  grpc::Status ListStores(grpc::ServerContext* context, const v1::ListStoresRequest* request,
                          v1::ListStoresResponse* response) override;
  grpc::Status CreateAssociate(grpc::ServerContext* context,
                               const v1::CreateAssociateRequest* request,
                               v1::CreateAssociateResponse* response) override;
  grpc::Status UpdateAssociate(grpc::ServerContext* context,
                               const v1::UpdateAssociateRequest* request,
                               v1::UpdateAssociateResponse* response) override;
  grpc::Status GetAssociate(grpc::ServerContext* context, const v1::GetAssociateRequest* request,
                            v1::GetAssociateResponse* response) override;
  grpc::Status ListAssociates(grpc::ServerContext* context,
                              const v1::ListAssociatesRequest* request,
                              v1::ListAssociatesResponse* response) override;
  grpc::Status CreateShareLink(grpc::ServerContext* context,
                               const v1::CreateShareLinkRequest* request,
                               v1::CreateShareLinkResponse* response) override;
  grpc::Status ListShareLinks(grpc::ServerContext* context,
                              const v1::ListShareLinksRequest* request,
                              v1::ListShareLinksResponse* response) override;
  grpc::Status OpenShareLink(grpc::ServerContext* context, const v1::OpenShareLinkRequest* request,
                             v1::OpenShareLinkResponse* response) override;
  grpc::Status GetShareLink(grpc::ServerContext* context, const v1::GetShareLinkRequest* request,
                            v1::GetShareLinkResponse* response) override;
  grpc::Status GetShareLinkCode(grpc::ServerContext* context,
                                const v1::GetShareLinkCodeRequest* request,
                                v1::GetShareLinkCodeResponse* response) override;
  grpc::Status RecordTouch(grpc::ServerContext* context, const v1::RecordTouchRequest* request,
                           v1::RecordTouchResponse* response) override;
  grpc::Status ListClients(grpc::ServerContext* context, const v1::ListClientsRequest* request,
                           v1::ListClientsResponse* response) override;
  grpc::Status GetClientBinding(grpc::ServerContext* context,
                                const v1::GetClientBindingRequest* request,
                                v1::GetClientBindingResponse* response) override;
  grpc::Status ReassignClient(grpc::ServerContext* context,
                              const v1::ReassignClientRequest* request,
                              v1::ReassignClientResponse* response) override;
  grpc::Status RecordPaidOrder(grpc::ServerContext* context, const v1::PaidOrderEvent* request,
                               v1::RecordPaidOrderResponse* response) override;
  grpc::Status RecordRefund(grpc::ServerContext* context, const v1::RefundEvent* request,
                            v1::RecordRefundResponse* response) override;
  grpc::Status GetOrderAttribution(grpc::ServerContext* context,
                                   const v1::GetOrderAttributionRequest* request,
                                   v1::GetOrderAttributionResponse* response) override;
  grpc::Status ListAttributedOrders(grpc::ServerContext* context,
                                    const v1::ListAttributedOrdersRequest* request,
                                    v1::ListAttributedOrdersResponse* response) override;
  grpc::Status CreateCommissionRule(grpc::ServerContext* context,
                                    const v1::CreateCommissionRuleRequest* request,
                                    v1::CreateCommissionRuleResponse* response) override;
  grpc::Status ListCommissionRules(grpc::ServerContext* context,
                                   const v1::ListCommissionRulesRequest* request,
                                   v1::ListCommissionRulesResponse* response) override;
  grpc::Status ListCommissionEntries(grpc::ServerContext* context,
                                     const v1::ListCommissionEntriesRequest* request,
                                     v1::ListCommissionEntriesResponse* response) override;
  grpc::Status GetStatement(grpc::ServerContext* context, const v1::GetStatementRequest* request,
                            v1::GetStatementResponse* response) override;
  grpc::Status ExportStatementCsv(grpc::ServerContext* context,
                                  const v1::ExportStatementCsvRequest* request,
                                  v1::ExportStatementCsvResponse* response) override;
  grpc::Status RecordClientActivity(grpc::ServerContext* context,
                                    const v1::RecordClientActivityRequest* request,
                                    v1::RecordClientActivityResponse* response) override;
  grpc::Status ListAlerts(grpc::ServerContext* context, const v1::ListAlertsRequest* request,
                          v1::ListAlertsResponse* response) override;
  // Sends initial metadata `x-lc-stream: open` as soon as the caller is accepted (the gateway
  // tells its WebSocket the subscription is live then), the alerts after `after_id`, then each
  // new one.
  grpc::Status WatchAlerts(grpc::ServerContext* context, const v1::WatchAlertsRequest* request,
                           grpc::ServerWriter<v1::WatchAlertsResponse>* writer) override;
  grpc::Status ListWatchingClients(grpc::ServerContext* context,
                                   const v1::ListWatchingClientsRequest* request,
                                   v1::ListWatchingClientsResponse* response) override;

  // Background work, one pass each (the binary runs them periodically; tests call them).
  // Settles every entry whose refund window has passed by now; returns the new mark.
  absl::StatusOr<absl::Time> SettleOnce();
  // Alerts associates of orders left unpaid longer than the configured time.
  absl::StatusOr<int> AlertUnpaidOnce();
  // Ends every WatchAlerts stream (cleanly, OK) and any started later: called before the server
  // shuts down, so that open streams do not hold the shutdown for its whole grace period. Their
  // callers reopen them elsewhere.
  void EndWatches();
  // Wakes the WatchAlerts streams of this process to read the alerts recorded since (called
  // after alerts were written outside its handlers: the question alerts events raise). Streams of
  // other processes find them by their once-a-second poll.
  void NotifyAlerts();

 private:
  // The period a statement request names, checked.
  struct StatementPeriod {
    absl::Time start;
    absl::Time end;
  };

  // The associate a request is about: an associate may name only itself (empty: itself;
  // another: PERMISSION_DENIED); the other roles the method admits may name any associate of the
  // brand (empty: 0, everyone; another brand's or an unknown one: NOT_FOUND).
  absl::StatusOr<int64_t> Whose(const common::Principal& caller, const std::string& field,
                                const std::string& asked) const;
  // References a request makes to the brand's own objects or other services' (NOT_FOUND
  // "<field>: no such X" when unknown or another brand's, which look alike).
  absl::Status KnownAssociate(const std::string& brand_id, const std::string& field,
                              int64_t associate_id) const;
  absl::Status KnownStore(const std::string& brand_id, const std::string& field,
                          int64_t store_id) const;
  absl::Status KnownRoom(const std::string& brand_id, const std::string& field,
                         const std::string& room_id) const;
  absl::Status KnownProduct(const std::string& brand_id, const std::string& field,
                            const std::string& product_id) const;
  // The associate and store a ledger filter names (staff callers).
  absl::Status KnownFilter(const common::Principal& caller, const v1::LedgerFilter& filter) const;
  // Attributes a validated paid order, splits its commission and records both (once per order).
  absl::Status AttributePaidOrder(const common::Principal& caller, const v1::PaidOrderEvent& event,
                                  v1::RecordPaidOrderResponse& response);
  // What the buyer carried at checkout (a share link or an associate), as a touch at payment when
  // it names a known link or associate of the brand.
  absl::StatusOr<std::optional<TouchFact>> CheckoutClaim(const std::string& brand_id,
                                                         const v1::PaidOrderEvent& event,
                                                         absl::Time paid_at);
  // The brand's commission rules, cached for options_.rule_cache_ttl.
  absl::StatusOr<std::vector<RuleSpec>> Rules(const std::string& brand_id);
  // Checks a statement request (narrowing the filter to an associate caller) and its period.
  absl::StatusOr<StatementPeriod> StatementRequest(const common::Principal& caller,
                                                   const google::protobuf::Timestamp& start,
                                                   const google::protobuf::Timestamp& end,
                                                   v1::StatementGrouping grouping,
                                                   v1::LedgerFilter& filter) const;

  AttributionStore& store_;
  Directories& directories_;
  const common::Clock& clock_;
  const common::PrincipalCodec& codec_;
  AttributionServiceOptions options_;
  LocalShareCodeMaker local_codes_;
  ShareCodeMaker& codes_;
  common::HandlerFrame frame_{codec_, clock_};

  struct CachedRules {
    std::vector<RuleSpec> rules;
    absl::Time loaded_at;
  };
  std::mutex rules_mu_;
  std::unordered_map<std::string, CachedRules> rules_ ABSL_GUARDED_BY(rules_mu_);

  std::mutex alerts_mu_;
  std::condition_variable alerts_cv_;
  uint64_t alerts_generation_ ABSL_GUARDED_BY(alerts_mu_) = 0;
  bool watches_ended_ ABSL_GUARDED_BY(alerts_mu_) = false;
};

}  // namespace livecommerce::attribution
