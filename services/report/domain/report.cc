#include "services/report/domain/report.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "services/common/money.h"
#include "services/common/proto_util.h"

namespace livecommerce::report {
namespace {

std::vector<v1::Audience> AudiencesOf(uint32_t bits) {
  std::vector<v1::Audience> out;
  for (int a = v1::Audience_MIN; a <= v1::Audience_MAX; ++a) {
    if (a != v1::AUDIENCE_UNSPECIFIED && (bits & (1u << a)) != 0) {
      out.push_back(static_cast<v1::Audience>(a));
    }
  }
  return out;
}

std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string CsvTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace

namespace {

// part / whole in basis points, rounded down; 0 when either is not positive.
int64_t RateBp(int64_t part, int64_t whole) {
  if (whole <= 0 || part <= 0) return 0;
  return static_cast<int64_t>(static_cast<__int128>(part) * 10000 / whole);
}

// Compares part_a / whole_a with part_b / whole_b exactly: negative, zero or positive. Both
// wholes must be positive.
int CompareRates(int64_t part_a, int64_t whole_a, int64_t part_b, int64_t whole_b) {
  __int128 left = static_cast<__int128>(part_a) * whole_b;
  __int128 right = static_cast<__int128>(part_b) * whole_a;
  return left < right ? -1 : left > right ? 1 : 0;
}

// Sessions that reached anyone first, the higher rate first among them; 0 when they tie.
int CompareRatesOfReach(int64_t part_a, int64_t reach_a, int64_t part_b, int64_t reach_b) {
  if (reach_a <= 0 || reach_b <= 0) {
    if ((reach_a <= 0) != (reach_b <= 0)) return reach_b <= 0 ? 1 : -1;
    return 0;
  }
  return CompareRates(part_a, reach_a, part_b, reach_b);
}

Correlation RateCorrelation(const std::vector<SessionRow>& rows,
                            const std::function<double(const SessionRow&)>& x) {
  std::vector<double> xs, rate;
  for (const SessionRow& row : rows) {
    if (row.reach <= 0) continue;
    xs.push_back(x(row));
    rate.push_back(static_cast<double>(row.sales.buyers) / static_cast<double>(row.reach));
  }
  return Correlation{Pearson(xs, rate), static_cast<int64_t>(xs.size())};
}

}  // namespace

int64_t ConversionRateBp(int64_t buyers, int64_t reach) { return RateBp(buyers, reach); }

int64_t InteractionRateBp(int64_t interacting_viewers, int64_t reach) {
  return RateBp(interacting_viewers, reach);
}

int64_t AverageOrderValueFen(int64_t gmv_fen, int64_t orders) {
  return orders <= 0 ? 0 : gmv_fen / orders;
}

std::map<int64_t, ProductRefund> LastRefundByProduct(const std::vector<OrderLineAmounts>& lines,
                                                     const std::vector<RefundOfOrder>& refunds) {
  std::vector<int64_t> refunded(lines.size(), 0);  // fen given back on each line so far
  auto line_value = [&](size_t i) { return lines[i].quantity * lines[i].unit_price_fen; };
  auto product_complete = [&](int64_t product) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].product_id == product && refunded[i] < line_value(i)) return false;
    }
    return true;
  };
  std::map<int64_t, ProductRefund> last;
  for (const RefundOfOrder& refund : refunds) {
    last.clear();
    if (refund.amount_fen <= 0 || lines.empty()) continue;
    std::vector<int64_t> weights(lines.size(), 0);
    if (refund.lines.empty()) {
      for (size_t i = 0; i < lines.size(); ++i) {
        weights[i] = std::max<int64_t>(0, line_value(i) - refunded[i]);
      }
    } else {
      for (const auto& [index, quantity] : refund.lines) {
        if (index < lines.size() && quantity > 0) {
          weights[index] += quantity * lines[index].unit_price_fen;
        }
      }
    }
    std::map<int64_t, bool> complete_before;
    for (const OrderLineAmounts& line : lines) {
      complete_before.emplace(line.product_id, product_complete(line.product_id));
    }
    std::vector<int64_t> shares = common::Apportion(refund.amount_fen, weights);
    for (size_t i = 0; i < lines.size(); ++i) {
      refunded[i] += shares[i];
      if (shares[i] > 0) last[lines[i].product_id].refunds_fen += shares[i];
    }
    for (auto& [product, share] : last) {
      share.completed = !complete_before[product] && product_complete(product);
    }
  }
  return last;
}

double AverageConcurrency(int64_t watch_ms, int64_t duration_seconds) {
  if (duration_seconds <= 0) return 0;
  return static_cast<double>(watch_ms) / (static_cast<double>(duration_seconds) * 1000.0);
}

double Pearson(const std::vector<double>& x, const std::vector<double>& y) {
  size_t n = std::min(x.size(), y.size());
  if (n < 2) return 0;
  double mean_x = 0, mean_y = 0;
  for (size_t i = 0; i < n; ++i) {
    mean_x += x[i];
    mean_y += y[i];
  }
  mean_x /= static_cast<double>(n);
  mean_y /= static_cast<double>(n);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    double dx = x[i] - mean_x, dy = y[i] - mean_y;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx <= 0 || syy <= 0) return 0;
  return sxy / std::sqrt(sxx * syy);
}

Correlation ReachConversionCorrelation(const std::vector<SessionRow>& rows) {
  return RateCorrelation(rows,
                         [](const SessionRow& row) { return static_cast<double>(row.reach); });
}

Correlation InteractionConversionCorrelation(const std::vector<SessionRow>& rows) {
  return RateCorrelation(rows, [](const SessionRow& row) {
    return static_cast<double>(row.interaction.interacting_viewers) /
           static_cast<double>(row.reach);
  });
}

bool Matches(const SessionRow& row, const v1::ListSessionReportsRequest& request) {
  if (request.visibility() != v1::VISIBILITY_UNSPECIFIED &&
      row.visibility != request.visibility()) {
    return false;
  }
  if (request.audience() != v1::AUDIENCE_UNSPECIFIED &&
      (row.audiences & (1u << request.audience())) == 0) {
    return false;
  }
  if (request.objective() != v1::OBJECTIVE_UNSPECIFIED && row.objective != request.objective()) {
    return false;
  }
  return request.format() == v1::FORMAT_UNSPECIFIED || row.format == request.format();
}

void Sort(std::vector<SessionRow>& rows, v1::SessionSort sort) {
  auto newest = [](const SessionRow& a, const SessionRow& b) {
    return std::tie(b.started_at, b.session_id) < std::tie(a.started_at, a.session_id);
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const SessionRow& a, const SessionRow& b) {
    switch (sort) {
      case v1::SESSION_SORT_REACH:
        if (a.reach != b.reach) return a.reach > b.reach;
        break;
      case v1::SESSION_SORT_CONVERSION: {
        // Compared exactly: buyers_a / reach_a against buyers_b / reach_b.
        int order = CompareRatesOfReach(a.sales.buyers, a.reach, b.sales.buyers, b.reach);
        if (order != 0) return order > 0;
        break;
      }
      case v1::SESSION_SORT_INTERACTION: {
        int order = CompareRatesOfReach(a.interaction.interacting_viewers, a.reach,
                                        b.interaction.interacting_viewers, b.reach);
        if (order != 0) return order > 0;
        break;
      }
      case v1::SESSION_SORT_GMV:
        if (a.sales.gmv_fen != b.sales.gmv_fen) return a.sales.gmv_fen > b.sales.gmv_fen;
        break;
      default:
        break;
    }
    return newest(a, b);
  });
}

std::vector<v1::SegmentSummary> Segments(const std::vector<SessionRow>& rows) {
  struct Totals {
    int64_t sessions = 0, reach = 0, buyers = 0, gmv = 0, interacting = 0;
    std::string currency;
  };
  std::map<std::pair<std::string, std::string>, Totals> totals;
  auto add = [&](const std::string& dimension, const std::string& value, const SessionRow& row) {
    Totals& t = totals[{dimension, value}];
    ++t.sessions;
    t.reach += row.reach;
    t.buyers += row.sales.buyers;
    t.gmv += row.sales.gmv_fen;
    t.interacting += row.interaction.interacting_viewers;
    t.currency = row.currency;
  };
  for (const SessionRow& row : rows) {
    add("visibility", v1::Visibility_Name(row.visibility), row);
    for (v1::Audience a : AudiencesOf(row.audiences)) add("audience", v1::Audience_Name(a), row);
    add("objective", v1::Objective_Name(row.objective), row);
    add("format", v1::Format_Name(row.format), row);
  }
  std::vector<v1::SegmentSummary> out;
  for (const auto& [key, t] : totals) {
    v1::SegmentSummary s;
    s.set_dimension(key.first);
    s.set_value(key.second);
    s.set_sessions(t.sessions);
    s.set_reach(t.reach);
    s.set_buyers(t.buyers);
    s.mutable_gmv()->set_amount_fen(t.gmv);
    s.mutable_gmv()->set_currency(t.currency);
    s.set_conversion_rate_bp(ConversionRateBp(t.buyers, t.reach));
    s.set_interacting_viewers(t.interacting);
    s.set_interaction_rate_bp(InteractionRateBp(t.interacting, t.reach));
    out.push_back(std::move(s));
  }
  return out;
}

void ToProto(const Sales& sales, const std::string& currency, v1::SalesFigures* out) {
  out->set_orders(sales.orders);
  out->set_buyers(sales.buyers);
  out->set_units(sales.units);
  out->mutable_gmv()->set_amount_fen(sales.gmv_fen);
  out->mutable_gmv()->set_currency(currency);
  out->mutable_refunds()->set_amount_fen(sales.refunds_fen);
  out->mutable_refunds()->set_currency(currency);
  out->mutable_net_sales()->set_amount_fen(sales.gmv_fen - sales.refunds_fen);
  out->mutable_net_sales()->set_currency(currency);
  out->set_refunded_orders(sales.refunded_orders);
}

void ToProto(const SessionRow& row, v1::SessionReport* out) {
  out->set_session_id(common::FormatId(row.session_id));
  out->set_room_id(common::FormatId(row.room_id));
  out->set_title(row.title);
  out->set_visibility(row.visibility);
  for (v1::Audience a : AudiencesOf(row.audiences)) out->add_audiences(a);
  out->set_objective(row.objective);
  out->set_format(row.format);
  out->set_live(row.live);
  common::ToTimestamp(row.started_at, out->mutable_started_at());
  if (row.ended_at.has_value()) common::ToTimestamp(*row.ended_at, out->mutable_ended_at());
  out->set_duration_seconds(row.duration_seconds);
  out->set_reach(row.reach);
  out->set_peak_concurrency(row.peak_concurrency);
  out->set_total_joins(row.total_joins);
  out->set_watch_seconds(row.watch_ms / 1000);
  out->set_average_concurrency(AverageConcurrency(row.watch_ms, row.duration_seconds));
  ToProto(row.sales, row.currency, out->mutable_sales());
  out->set_conversion_rate_bp(ConversionRateBp(row.sales.buyers, row.reach));
  out->mutable_average_order_value()->set_amount_fen(
      AverageOrderValueFen(row.sales.gmv_fen, row.sales.orders));
  out->mutable_average_order_value()->set_currency(row.currency);
  out->set_comments(row.interaction.comments);
  out->set_commenters(row.interaction.commenters);
  out->set_likes(row.interaction.likes);
  out->set_likers(row.interaction.likers);
  out->set_interacting_viewers(row.interaction.interacting_viewers);
  out->set_interaction_rate_bp(InteractionRateBp(row.interaction.interacting_viewers, row.reach));
  out->set_invited(row.engagement.invited);
  out->set_reserved(row.engagement.reserved);
  out->set_reminded(row.engagement.reminded);
  out->set_replay_viewers(row.engagement.replay_viewers);
  out->set_replay_orders(row.engagement.replay_orders);
  out->set_replay_buyers(row.engagement.replay_buyers);
  out->mutable_replay_gmv()->set_amount_fen(row.engagement.replay_gmv_fen);
  out->mutable_replay_gmv()->set_currency(row.currency);
}

std::string ToCsv(const std::vector<SessionRow>& rows) {
  std::string csv =
      "session_id,room_id,title,visibility,audiences,objective,format,started_at,ended_at,"
      "duration_seconds,reach,peak_concurrency,total_joins,watch_seconds,average_concurrency,"
      "orders,buyers,units,currency,gmv_fen,"
      "refunds_fen,net_sales_fen,refunded_orders,conversion_rate_bp,average_order_value_fen,"
      "comments,commenters,likes,likers,interacting_viewers,interaction_rate_bp,"
      "invited,reserved,reminded,replay_viewers,replay_orders,replay_buyers,replay_gmv_fen\r\n";
  for (const SessionRow& row : rows) {
    std::vector<std::string> audiences;
    for (v1::Audience a : AudiencesOf(row.audiences)) audiences.push_back(v1::Audience_Name(a));
    std::vector<std::string> fields = {
        absl::StrCat(row.session_id),
        absl::StrCat(row.room_id),
        CsvField(row.title),
        v1::Visibility_Name(row.visibility),
        CsvField(absl::StrJoin(audiences, ";")),
        v1::Objective_Name(row.objective),
        v1::Format_Name(row.format),
        CsvTime(row.started_at),
        row.ended_at.has_value() ? CsvTime(*row.ended_at) : "",
        absl::StrCat(row.duration_seconds),
        absl::StrCat(row.reach),
        absl::StrCat(row.peak_concurrency),
        absl::StrCat(row.total_joins),
        absl::StrCat(row.watch_ms / 1000),
        absl::StrFormat("%.2f", AverageConcurrency(row.watch_ms, row.duration_seconds)),
        absl::StrCat(row.sales.orders),
        absl::StrCat(row.sales.buyers),
        absl::StrCat(row.sales.units),
        row.currency,
        absl::StrCat(row.sales.gmv_fen),
        absl::StrCat(row.sales.refunds_fen),
        absl::StrCat(row.sales.gmv_fen - row.sales.refunds_fen),
        absl::StrCat(row.sales.refunded_orders),
        absl::StrCat(ConversionRateBp(row.sales.buyers, row.reach)),
        absl::StrCat(AverageOrderValueFen(row.sales.gmv_fen, row.sales.orders)),
        absl::StrCat(row.interaction.comments),
        absl::StrCat(row.interaction.commenters),
        absl::StrCat(row.interaction.likes),
        absl::StrCat(row.interaction.likers),
        absl::StrCat(row.interaction.interacting_viewers),
        absl::StrCat(InteractionRateBp(row.interaction.interacting_viewers, row.reach)),
        absl::StrCat(row.engagement.invited),
        absl::StrCat(row.engagement.reserved),
        absl::StrCat(row.engagement.reminded),
        absl::StrCat(row.engagement.replay_viewers),
        absl::StrCat(row.engagement.replay_orders),
        absl::StrCat(row.engagement.replay_buyers),
        absl::StrCat(row.engagement.replay_gmv_fen)};
    absl::StrAppend(&csv, absl::StrJoin(fields, ","), "\r\n");
  }
  return csv;
}

}  // namespace livecommerce::report
