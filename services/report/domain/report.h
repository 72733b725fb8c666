#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "livecommerce/v1/report.pb.h"

namespace livecommerce::report {

// Sales figures in fen (see v1::SalesFigures).
struct Sales {
  int64_t orders = 0;
  int64_t buyers = 0;
  int64_t units = 0;
  int64_t gmv_fen = 0;
  int64_t refunds_fen = 0;
  int64_t refunded_orders = 0;
};

// A session's interaction (see v1::SessionReport): comments by anyone, the viewers who
// commented, the like total, the viewers who liked, and the viewers who did either.
struct Interaction {
  int64_t comments = 0;
  int64_t commenters = 0;
  int64_t likes = 0;
  int64_t likers = 0;
  int64_t interacting_viewers = 0;
};

// Before and after the live (see v1::SessionReport): the room's invitations and reservations when
// the session went live, the viewers reminded, the replay's viewers, and what they bought.
struct Engagement {
  int64_t invited = 0;
  int64_t reserved = 0;
  int64_t reminded = 0;
  int64_t replay_viewers = 0;
  int64_t replay_orders = 0;
  int64_t replay_buyers = 0;
  int64_t replay_gmv_fen = 0;
};

// One session with its room's settings, its presence figures and its sales.
struct SessionRow {
  int64_t session_id = 0;
  int64_t room_id = 0;
  std::string brand_id;
  std::string title;
  v1::Visibility visibility = v1::VISIBILITY_UNSPECIFIED;
  uint32_t audiences = 0;  // bit set: 1 << Audience value
  v1::Objective objective = v1::OBJECTIVE_UNSPECIFIED;
  v1::Format format = v1::FORMAT_UNSPECIFIED;
  bool live = false;
  absl::Time started_at;
  std::optional<absl::Time> ended_at;
  int64_t duration_seconds = 0;
  int64_t reach = 0;
  int64_t peak_concurrency = 0;
  int64_t total_joins = 0;
  int64_t watch_ms = 0;  // viewer-milliseconds watched
  std::string currency = "CNY";
  Sales sales;
  Interaction interaction;
  Engagement engagement;
};

// buyers / reach in basis points, rounded down; 0 without reach.
int64_t ConversionRateBp(int64_t buyers, int64_t reach);
// interacting viewers / reach in basis points, rounded down; 0 without reach (as conversion).
int64_t InteractionRateBp(int64_t interacting_viewers, int64_t reach);
// Viewers present on average over the session: watch time / duration; 0 without a duration.
double AverageConcurrency(int64_t watch_ms, int64_t duration_seconds);
// GMV / orders, rounded down; 0 without orders.
int64_t AverageOrderValueFen(int64_t gmv_fen, int64_t orders);

// A line of a paid order, in line_no order.
struct OrderLineAmounts {
  int64_t product_id = 0;
  int64_t quantity = 0;
  int64_t unit_price_fen = 0;
};
// A refund of an order as the order service stored it: its amount (0 when the provider gave up)
// and the lines it names as (line index, quantity); none: everything not refunded yet.
struct RefundOfOrder {
  int64_t amount_fen = 0;
  std::vector<std::pair<size_t, int64_t>> lines;
};
// What one refund gave back on one product, and whether it left the product refunded in full in
// that order (counted once, by the refund that completes it).
struct ProductRefund {
  int64_t refunds_fen = 0;
  bool completed = false;
};
// The share of each product in the last of `refunds` (an order's refunds, oldest first). Each
// refund's amount is divided over the lines it names (quantity x unit price), or over what is
// left of every line when it names none, by largest remainder, so the shares sum exactly to the
// amount and earlier refunds are taken into account.
std::map<int64_t, ProductRefund> LastRefundByProduct(const std::vector<OrderLineAmounts>& lines,
                                                     const std::vector<RefundOfOrder>& refunds);

// Pearson's r of two equally long series; 0 when there are fewer than two points or either
// series has no variance.
double Pearson(const std::vector<double>& x, const std::vector<double>& y);

struct Correlation {
  double r = 0;
  int64_t sample_size = 0;
};
// Reach against conversion rate (buyers / reach) over the sessions that reached anyone.
Correlation ReachConversionCorrelation(const std::vector<SessionRow>& rows);
// Interaction rate (interacting viewers / reach) against conversion rate over the same sessions.
Correlation InteractionConversionCorrelation(const std::vector<SessionRow>& rows);

// Whether a row passes the filters of `request` (visibility, audience, objective, format).
bool Matches(const SessionRow& row, const v1::ListSessionReportsRequest& request);
// Orders rows as asked (ties: newest first, then by session id).
void Sort(std::vector<SessionRow>& rows, v1::SessionSort sort);
// Totals by visibility, each audience, objective and format.
std::vector<v1::SegmentSummary> Segments(const std::vector<SessionRow>& rows);

void ToProto(const SessionRow& row, v1::SessionReport* out);
void ToProto(const Sales& sales, const std::string& currency, v1::SalesFigures* out);
// The rows as CSV (RFC 4180: a header line, fields quoted where needed, CRLF line ends).
std::string ToCsv(const std::vector<SessionRow>& rows);

}  // namespace livecommerce::report
