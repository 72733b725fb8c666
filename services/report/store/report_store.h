#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/mysql_client.h"
#include "services/report/domain/report.h"

namespace livecommerce::report {

enum Dimension : int { kWhole = 0, kChannel = 1, kAssociate = 2, kProduct = 3 };

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

// The report aggregates in MySQL, and the consumer that keeps them up to date from the order
// service's conversions (paid orders) and refunds. Each Apply* call is one transaction that reads
// the rows after its cursor, applies those not applied before (report_applied makes a row count
// once) and moves the cursor up to the rows older than `settle`: rows are read again until then,
// so one committed late with a smaller id is not skipped.
class MysqlReportStore {
 public:
  // Reports are read through `reads` when given (a replica), the aggregates kept through `pool`
  // (the primary).
  // `credit_wait`: how long a paid order waits for the attribution service's decision before
  // its sale is put under the associate carried into checkout (attribution down or absent).
  explicit MysqlReportStore(common::MysqlPool& pool, absl::Duration settle = absl::Seconds(2),
                            common::MysqlPool* reads = nullptr,
                            absl::Duration credit_wait = absl::Seconds(60))
      : pool_(pool),
        reads_(reads != nullptr ? *reads : pool),
        settle_(settle),
        credit_wait_(credit_wait) {}

  // Paid orders into session sales (whole, by channel and product); how many applied.
  absl::StatusOr<int> ApplyConversions(absl::Time now, int limit);
  // Paid orders into session sales by associate: the associate the attribution service credited
  // (attributed_orders), or after `credit_wait` with no decision, the one carried into checkout;
  // how many applied. An order is credited once, and its refunds go to the same associate.
  absl::StatusOr<int> ApplyCredits(absl::Time now, int limit);
  // Refunds into session refunds (whole, by channel, associate and product); how many applied. A
  // refund of an order not yet credited waits for the credit.
  absl::StatusOr<int> ApplyRefunds(absl::Time now, int limit);

  // Orders placed in sessions (awaiting payment or beyond) into the checked-out step; how many
  // orders were read into it.
  absl::StatusOr<int> ApplyCheckouts(absl::Time now, int limit);
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
  common::MysqlPool& pool_;
  common::MysqlPool& reads_;
  absl::Duration settle_;
  absl::Duration credit_wait_;
};

}  // namespace livecommerce::report
