#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "livecommerce/events/v1/events.pb.h"
#include "services/common/clock.h"
#include "services/common/events.h"
#include "services/common/mysql_client.h"
#include "services/report/domain/report.h"

namespace livecommerce::report {

// report_orders.state
enum class OrderState : int { kWaitingForSession = 0, kCounted = 1, kCountedNowhere = 2 };

// A paid order as the report keeps it.
struct OrderRow {
  int64_t order_id = 0;
  std::string brand_id;
  int64_t session_id = 0;
  std::string buyer_id;
  int channel = 0;
  std::string carried_associate;
  std::string currency;
  int64_t amount_fen = 0;
  int64_t units = 0;
  absl::Time paid_at;
  events::v1::OrderPaid paid;  // with its lines
  OrderState state = OrderState::kWaitingForSession;
  bool credited = false;
  std::string counted_associate;
  int64_t refunded_fen = 0;
};

// The breakdowns of a session's sales. kBroadcast keys are BROADCAST_LIVE / BROADCAST_REPLAY;
// kAssociateBroadcast keys "<associate id>|BROADCAST_...".
enum Dimension : int {
  kWhole = 0,
  kChannel = 1,
  kAssociate = 2,
  kProduct = 3,
  kBroadcast = 4,
  kAssociateBroadcast = 5,
};

// The breakdown key of the broadcast an order was bought from: an order of a session from before
// broadcasts were recorded was bought live.
std::string BroadcastKey(int broadcast);
std::string AssociateBroadcastKey(const std::string& associate_id, int broadcast);

// Funnel steps counted here (joined and paid come from presence and sales).
enum FunnelStepCode : int { kViewedProduct = 1, kAddedToCart = 2, kCheckedOut = 3 };

struct FunnelFact {
  int64_t session_id = 0;
  FunnelStepCode step = kViewedProduct;
  std::string viewer_id;
  // Whose fact it is: it counts only into a known session of this brand (never another brand's).
  std::string brand_id;
};

struct BreakdownRow {
  Dimension dimension = kWhole;
  std::string key;
  std::string currency;
  Sales sales;
};

// The report's own tables: sessions, paid orders, credits and refunds as the room, order and
// attribution services published them, comments and likes as the interaction service did
// (interaction_events.h) (events, applied once each by common::EventConsumer), and the
// aggregates kept from them, so a report reads a few rows. Nothing here reads another service's
// tables.
//
// A paid order counts into its session once the session is known (SessionStarted), whole, by
// channel and by product; by associate once the attribution service credited it (OrderCredited)
// or, after `credit_wait` without a decision, under the associate carried into checkout. Its
// refunds count when it is counted by associate, each once, so every breakdown takes them back
// together. What arrives before what it depends on waits in the tables, never lost.
class MysqlReportStore {
 public:
  // Reports are read through `reads` when given (a replica), the aggregates kept through `pool`
  // (the primary).
  MysqlReportStore(common::MysqlPool& pool, const common::Clock& clock,
                   common::MysqlPool* reads = nullptr,
                   absl::Duration credit_wait = absl::Seconds(60))
      : pool_(pool),
        reads_(reads != nullptr ? *reads : pool),
        clock_(clock),
        credit_wait_(credit_wait) {}

  // Registers the handlers of every event the report consumes.
  void Subscribe(common::EventConsumer& consumer);

  // Paid orders whose credit did not come within the credit wait, counted under the associate
  // carried into checkout (the binary runs it periodically); how many.
  absl::StatusOr<int> CreditOverdue(int limit);

  // Viewers reaching funnel steps: each once per session and step.
  absl::Status RecordFunnel(const std::vector<FunnelFact>& facts);
  // Distinct viewers per step of a session (steps nobody reached are left out).
  absl::StatusOr<std::map<int, int64_t>> GetFunnel(int64_t session_id);

  // A session of the room service with its room's settings and sales; nullopt when unknown.
  absl::StatusOr<std::optional<SessionRow>> GetSession(int64_t session_id);
  absl::StatusOr<std::vector<BreakdownRow>> GetBreakdowns(int64_t session_id);
  // Sessions of a brand started in [from, to), newest first.
  absl::StatusOr<std::vector<SessionRow>> ListSessions(const std::string& brand_id, absl::Time from,
                                                       absl::Time to);

 private:
  // Counts what of paid order `order_id` can be counted now (see the class comment).
  absl::Status CountOrder(common::MysqlConnection& c, int64_t order_id);
  absl::Status CountOrder(common::MysqlConnection& c, OrderRow& order, bool refunds_possible);
  // Paid orders, a run of them at once (a relay delivers them in bulk).
  absl::Status ApplyPaid(
      common::MysqlConnection& c,
      const std::vector<std::pair<const events::v1::Event*, events::v1::OrderPaid>>& run);
  // The brand of a session the report knows; nullopt while it is unknown.
  absl::StatusOr<std::optional<std::string>> SessionBrand(common::MysqlConnection& c,
                                                          int64_t session_id);
  // A session became known: its waiting orders and funnel facts count.
  absl::Status SessionKnown(common::MysqlConnection& c, int64_t session_id,
                            const std::string& brand_id);

  common::MysqlPool& pool_;
  common::MysqlPool& reads_;
  const common::Clock& clock_;
  absl::Duration credit_wait_;
  std::mutex mu_;
  std::unordered_map<int64_t, std::string> session_brands_ ABSL_GUARDED_BY(mu_);
};

}  // namespace livecommerce::report
