#include "services/report/store/report_store.h"

#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "livecommerce/events/v1/events.pb.h"
#include "livecommerce/v1/order.pb.h"
#include "services/common/log_format.h"
#include "services/common/mysql_batcher.h"
#include "services/common/proto_util.h"
#include "services/common/sql.h"
#include "services/common/status.h"
#include "services/report/store/engagement_events.h"
#include "services/report/store/interaction_events.h"

namespace livecommerce::report {
namespace {

namespace ev = events::v1;
using common::MysqlConnection;
using common::Sql;
using common::SqlRow;

struct Contribution {
  Dimension dimension;
  std::string key;
  int64_t orders = 0;
  int64_t units = 0;
  int64_t gmv_fen = 0;
  int64_t refunds_fen = 0;
  int64_t refunded_orders = 0;
};

// Adds each contribution to the session's sales rows, counting the buyer once per row: one read
// of the rows the buyer is already in, one insert of the others, one multi-row upsert.
void AddAll(MysqlConnection& c, int64_t session_id, const std::string& brand_id,
            const std::string& currency, const std::string& buyer_id,
            const std::vector<Contribution>& parts) {
  if (parts.empty()) return;
  std::set<std::pair<int, std::string>> known;
  if (!buyer_id.empty()) {
    Sql(c,
        "SELECT dimension, dim_key FROM report_session_buyers WHERE session_id = ? AND buyer_id "
        "= ?",
        session_id, buyer_id)
        .ForEach([&](const SqlRow& row) {
          known.emplace(static_cast<int>(row.Int("dimension")), row.Str("dim_key"));
        });
  }
  std::vector<bool> new_buyer(parts.size(), false);
  std::vector<size_t> inserts;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (buyer_id.empty() || !known.emplace(parts[i].dimension, parts[i].key).second) continue;
    new_buyer[i] = true;
    inserts.push_back(i);
  }
  if (!inserts.empty()) {
    common::SqlStatement b(c, absl::StrCat("INSERT INTO report_session_buyers (session_id, "
                                           "dimension, dim_key, buyer_id, brand_id) VALUES ",
                                           common::Placeholders(inserts.size(), 5)));
    for (size_t i : inserts)
      b.Bind(session_id, parts[i].dimension, parts[i].key, buyer_id, brand_id);
    b.Execute();
  }
  common::SqlStatement u(
      c, absl::StrCat(
             "INSERT INTO report_session_sales (session_id, dimension, dim_key, brand_id, "
             "currency, orders, buyers, units, gmv_fen, refunds_fen, refunded_orders) VALUES ",
             common::Placeholders(parts.size(), 11),
             " ON DUPLICATE KEY UPDATE orders = orders + VALUES(orders), buyers = buyers + "
             "VALUES(buyers), units = units + VALUES(units), gmv_fen = gmv_fen + VALUES(gmv_fen), "
             "refunds_fen = refunds_fen + VALUES(refunds_fen), refunded_orders = refunded_orders "
             "+ VALUES(refunded_orders)"));
  for (size_t i = 0; i < parts.size(); ++i) {
    const Contribution& k = parts[i];
    u.Bind(session_id, k.dimension, k.key, brand_id, currency, k.orders, new_buyer[i] ? 1 : 0,
           k.units, k.gmv_fen, k.refunds_fen, k.refunded_orders);
  }
  u.Execute();
}

// Contributions of many orders at once: summed per (session, dimension, key) with the buyers
// seen there, written with multi-row statements (a buyer already in a row is not counted again).
class SalesBatch {
 public:
  void Add(int64_t session_id, const std::string& brand_id, const std::string& currency,
           const std::string& buyer_id, const Contribution& part) {
    Sum& sum = sums_[{session_id, part.dimension, part.key}];
    sum.brand_id = brand_id;
    sum.currency = currency;
    sum.part.dimension = part.dimension;
    sum.part.key = part.key;
    sum.part.orders += part.orders;
    sum.part.units += part.units;
    sum.part.gmv_fen += part.gmv_fen;
    if (!buyer_id.empty()) buyers_.emplace(session_id, part.dimension, part.key, buyer_id);
  }

  void Write(MysqlConnection& c) {
    // Buyers seen before in these sessions are not counted again.
    std::map<int64_t, std::set<std::string>> by_session;
    for (const auto& [session, dimension, key, buyer] : buyers_) by_session[session].insert(buyer);
    for (const auto& entry : by_session) {
      const int64_t session = entry.first;
      std::vector<std::string> list(entry.second.begin(), entry.second.end());
      common::ForEachChunk(list.size(), [&](size_t offset, size_t count) {
        common::SqlStatement q(
            c, absl::StrCat("SELECT dimension, dim_key, buyer_id FROM report_session_buyers WHERE "
                            "session_id = ? AND buyer_id IN ",
                            common::Placeholders(1, count)));
        q.Bind(session);
        for (size_t i = 0; i < count; ++i) q.Bind(list[offset + i]);
        q.ForEach([&](const SqlRow& row) {
          buyers_.erase({session, static_cast<int>(row.Int("dimension")), row.Str("dim_key"),
                         row.Str("buyer_id")});
        });
      });
    }
    std::vector<const Buyer*> fresh;
    std::map<Key, int64_t> buyer_counts;
    for (const Buyer& b : buyers_) {
      fresh.push_back(&b);
      ++buyer_counts[{std::get<0>(b), std::get<1>(b), std::get<2>(b)}];
    }
    common::ForEachChunk(fresh.size(), [&](size_t offset, size_t count) {
      common::SqlStatement insert(
          c, absl::StrCat("INSERT INTO report_session_buyers (session_id, dimension, dim_key, "
                          "buyer_id, brand_id) VALUES ",
                          common::Placeholders(count, 5)));
      for (size_t i = 0; i < count; ++i) {
        const auto& [session, dimension, key, buyer] = *fresh[offset + i];
        insert.Bind(session, dimension, key, buyer, sums_.at({session, dimension, key}).brand_id);
      }
      insert.Execute();
    });
    std::vector<std::pair<const Key*, const Sum*>> upserts;
    for (const auto& [key, sum] : sums_) upserts.emplace_back(&key, &sum);
    common::ForEachChunk(upserts.size(), [&](size_t offset, size_t count) {
      common::SqlStatement u(
          c, absl::StrCat("INSERT INTO report_session_sales (session_id, dimension, dim_key, "
                          "brand_id, currency, orders, buyers, units, gmv_fen) VALUES ",
                          common::Placeholders(count, 9),
                          " ON DUPLICATE KEY UPDATE orders = orders + VALUES(orders), buyers = "
                          "buyers + VALUES(buyers), units = units + VALUES(units), gmv_fen = "
                          "gmv_fen + VALUES(gmv_fen)"));
      for (size_t i = 0; i < count; ++i) {
        const Key& key = *upserts[offset + i].first;
        const Sum& sum = *upserts[offset + i].second;
        u.Bind(std::get<0>(key), std::get<1>(key), std::get<2>(key), sum.brand_id, sum.currency,
               sum.part.orders, buyer_counts[key], sum.part.units, sum.part.gmv_fen);
      }
      u.Execute();
    });
  }

 private:
  using Key = std::tuple<int64_t, int, std::string>;
  using Buyer = std::tuple<int64_t, int, std::string, std::string>;
  struct Sum {
    std::string brand_id, currency;
    Contribution part{kWhole, ""};
  };
  std::map<Key, Sum> sums_;
  std::set<Buyer> buyers_;
};

// The ids among `ids` that `query` (ending in "IN ") returns as its column `column`.
std::set<int64_t> IdsIn(MysqlConnection& c, const std::string& query, const char* column,
                        const std::vector<int64_t>& ids) {
  std::set<int64_t> found;
  common::ForEachChunk(ids.size(), [&](size_t offset, size_t count) {
    common::SqlStatement q(c, absl::StrCat(query, common::Placeholders(1, count)));
    for (size_t i = 0; i < count; ++i) q.Bind(ids[offset + i]);
    q.ForEach([&](const SqlRow& row) { found.insert(row.Int(column)); });
  });
  return found;
}

}  // namespace

std::string BroadcastKey(int broadcast) {
  return broadcast == v1::BROADCAST_REPLAY ? "BROADCAST_REPLAY" : "BROADCAST_LIVE";
}

std::string AssociateBroadcastKey(const std::string& associate_id, int broadcast) {
  return absl::StrCat(associate_id, "|", BroadcastKey(broadcast));
}

namespace {

std::string ChannelKey(int channel) {
  return v1::Channel_IsValid(channel) ? v1::Channel_Name(static_cast<v1::Channel>(channel))
                                      : absl::StrCat(channel);
}

using Keys = std::vector<std::pair<Dimension, std::string>>;

// The breakdowns a counted order is in besides its products: the session as a whole, its channel
// and its broadcast (live or replay).
Keys SaleKeys(const OrderRow& o) {
  return {{kWhole, ""},
          {kChannel, ChannelKey(o.channel)},
          {kBroadcast, BroadcastKey(o.paid.broadcast())}};
}

// Those it joins once its associate is decided (counted_associate): the associate's, alone and
// by broadcast.
Keys CreditKeys(const OrderRow& o) {
  return {{kAssociate, o.counted_associate},
          {kAssociateBroadcast, AssociateBroadcastKey(o.counted_associate, o.paid.broadcast())}};
}

Contribution Sale(Dimension dimension, const std::string& key, int64_t units, int64_t gmv_fen) {
  Contribution part{dimension, key};
  part.orders = 1;
  part.units = units;
  part.gmv_fen = gmv_fen;
  return part;
}

// What a counted order adds to its session's sales: the order under each of SaleKeys, and each
// product's units and amount under that product.
std::vector<Contribution> SaleParts(const OrderRow& o) {
  std::vector<Contribution> parts;
  for (const auto& [dimension, key] : SaleKeys(o)) {
    parts.push_back(Sale(dimension, key, o.units, o.amount_fen));
  }
  std::map<int64_t, std::pair<int64_t, int64_t>> by_product;
  for (const ev::OrderLine& line : o.paid.lines()) {
    by_product[line.product_id()].first += line.quantity();
    by_product[line.product_id()].second += line.line_total_fen();
  }
  for (const auto& [product, sums] : by_product) {
    parts.push_back(Sale(kProduct, absl::StrCat(product), sums.first, sums.second));
  }
  return parts;
}

// What it adds once credited: the order under each of CreditKeys.
std::vector<Contribution> CreditParts(const OrderRow& o) {
  std::vector<Contribution> parts;
  for (const auto& [dimension, key] : CreditKeys(o)) {
    parts.push_back(Sale(dimension, key, o.units, o.amount_fen));
  }
  return parts;
}

// The brand of each of `sessions` the report knows (from the room service's events).
std::map<int64_t, std::string> SessionBrands(MysqlConnection& c, const std::set<int64_t>& ids) {
  std::vector<int64_t> sessions(ids.begin(), ids.end());
  std::map<int64_t, std::string> brands;
  common::ForEachChunk(sessions.size(), [&](size_t offset, size_t count) {
    common::SqlStatement q(c, absl::StrCat("SELECT session_id, brand_id FROM report_sessions "
                                           "WHERE session_id IN ",
                                           common::Placeholders(1, count)));
    for (size_t i = 0; i < count; ++i) q.Bind(sessions[offset + i]);
    q.ForEach([&](const SqlRow& row) { brands[row.Int("session_id")] = row.Str("brand_id"); });
  });
  return brands;
}

// Adds `added` viewers to step `step` of a session.
void AddFunnelCount(MysqlConnection& c, int64_t session_id, int step, int64_t added,
                    const std::string& brand_id) {
  if (added == 0) return;
  Sql(c,
      "INSERT INTO report_session_funnel (session_id, step, viewers, brand_id) VALUES (?, ?, ?, "
      "?) ON DUPLICATE KEY UPDATE viewers = viewers + VALUES(viewers)",
      session_id, step, added, brand_id)
      .Execute();
}

// Records funnel facts in the caller's transaction: new viewers of each (session, step) and its
// count. A fact counts only into a session of its own brand; one naming a session the report
// does not know yet waits uncounted until the session's event arrives (SessionKnown).
void AddFunnel(MysqlConnection& c, const std::vector<FunnelFact>& facts) {
  std::set<int64_t> ids;
  for (const FunnelFact& f : facts) ids.insert(f.session_id);
  std::map<int64_t, std::string> brands = SessionBrands(c, ids);
  struct Group {
    std::string brand_id;
    bool counted = true;
    std::vector<const std::string*> viewers;
  };
  std::map<std::tuple<int64_t, int, std::string>, Group> groups;
  int64_t dropped = 0;
  for (const FunnelFact& f : facts) {
    auto found = brands.find(f.session_id);
    if (found != brands.end() && found->second != f.brand_id) {
      ++dropped;
      continue;
    }
    Group& g = groups[{f.session_id, f.step, f.brand_id}];
    g.brand_id = f.brand_id;
    g.counted = found != brands.end();
    g.viewers.push_back(&f.viewer_id);
  }
  if (dropped > 0) {
    spdlog::warn("report: {} funnel facts name another brand's sessions; not counted", dropped);
  }
  for (const auto& entry : groups) {
    const Group& group = entry.second;
    int64_t session_id = std::get<0>(entry.first);
    int step = std::get<1>(entry.first);
    int64_t added = 0;
    common::ForEachChunk(group.viewers.size(), [&](size_t offset, size_t count) {
      common::SqlStatement s(
          c, absl::StrCat("INSERT IGNORE INTO report_funnel_viewers (session_id, step, viewer_id, "
                          "brand_id, counted) VALUES ",
                          common::Placeholders(count, 5)));
      for (size_t i = 0; i < count; ++i) {
        s.Bind(session_id, step, *group.viewers[offset + i], group.brand_id, group.counted);
      }
      added += s.Execute();
    });
    if (group.counted) AddFunnelCount(c, session_id, step, added, group.brand_id);
  }
}

constexpr char kSessionSelect[] =
    "SELECT s.session_id, s.brand_id, s.room_id, s.title, s.visibility, s.audiences, "
    "s.objective, s.format, s.ended_at IS NULL AS live, s.started_at, s.ended_at, "
    "s.duration_seconds, s.reach, s.peak_concurrency, s.total_joins, s.watch_ms, t.currency, "
    "COALESCE(t.orders, 0) AS orders, COALESCE(t.buyers, 0) AS buyers, COALESCE(t.units, 0) AS "
    "units, COALESCE(t.gmv_fen, 0) AS gmv_fen, COALESCE(t.refunds_fen, 0) AS refunds_fen, "
    "COALESCE(t.refunded_orders, 0) AS refunded_orders, COALESCE(i.comments, 0) AS comments, "
    "COALESCE(i.commenters, 0) AS commenters, COALESCE(i.likes, 0) AS likes, "
    "COALESCE(i.likers, 0) AS likers, COALESCE(i.interacting_viewers, 0) AS "
    "interacting_viewers, COALESCE(g.invited, 0) AS invited, COALESCE(g.reserved, 0) AS "
    "reserved, COALESCE(g.reminded, 0) AS reminded, COALESCE(g.replay_viewers, 0) AS "
    "replay_viewers, COALESCE(rp.orders, 0) AS replay_orders, COALESCE(rp.buyers, 0) AS "
    "replay_buyers, COALESCE(rp.gmv_fen, 0) AS replay_gmv_fen FROM report_sessions s LEFT JOIN "
    "report_session_sales t ON t.session_id = s.session_id AND t.dimension = 0 AND t.dim_key = "
    "'' LEFT JOIN report_session_interaction i ON i.session_id = s.session_id AND i.brand_id = "
    "s.brand_id LEFT JOIN report_session_engagement g ON g.session_id = s.session_id AND "
    "g.brand_id = s.brand_id LEFT JOIN report_session_sales rp ON rp.session_id = s.session_id "
    "AND rp.dimension = 4 AND rp.dim_key = 'BROADCAST_REPLAY' ";

SessionRow ReadSession(const SqlRow& row) {
  SessionRow s;
  s.session_id = row.Int("session_id");
  s.brand_id = row.Str("brand_id");
  s.room_id = row.Int("room_id");
  s.title = row.Str("title");
  s.visibility = row.Enum<v1::Visibility>("visibility");
  s.audiences = static_cast<uint32_t>(row.Int("audiences"));
  s.objective = row.Enum<v1::Objective>("objective");
  s.format = row.Enum<v1::Format>("format");
  s.live = row.Bool("live");
  s.started_at = row.Time("started_at");
  s.ended_at = row.OptTime("ended_at");
  s.duration_seconds = row.Int("duration_seconds");
  s.reach = row.Int("reach");
  s.peak_concurrency = row.Int("peak_concurrency");
  s.total_joins = row.Int("total_joins");
  s.watch_ms = row.Int("watch_ms");
  if (!row.IsNull("currency")) s.currency = row.Str("currency");
  s.sales = Sales{row.Int("orders"),  row.Int("buyers"),      row.Int("units"),
                  row.Int("gmv_fen"), row.Int("refunds_fen"), row.Int("refunded_orders")};
  s.interaction = Interaction{row.Int("comments"), row.Int("commenters"), row.Int("likes"),
                              row.Int("likers"), row.Int("interacting_viewers")};
  s.engagement =
      Engagement{row.Int("invited"),        row.Int("reserved"),      row.Int("reminded"),
                 row.Int("replay_viewers"), row.Int("replay_orders"), row.Int("replay_buyers"),
                 row.Int("replay_gmv_fen")};
  return s;
}

OrderRow ReadOrder(const SqlRow& row) {
  OrderRow o;
  o.order_id = row.Int("order_id");
  o.brand_id = row.Str("brand_id");
  o.session_id = row.Int("session_id");
  o.buyer_id = row.Str("buyer_id");
  o.channel = static_cast<int>(row.Int("channel"));
  o.carried_associate = row.Str("carried_associate");
  o.currency = row.Str("currency");
  o.amount_fen = row.Int("amount_fen");
  o.units = row.Int("units");
  o.paid_at = row.Time("paid_at");
  o.paid.ParseFromString(row.Bytes("order_lines"));
  o.state = row.Enum<OrderState>("state");
  o.credited = row.Bool("credited");
  o.counted_associate = row.Str("counted_associate");
  o.refunded_fen = row.Int("refunded_fen");
  return o;
}

struct RefundRow {
  int64_t refund_id = 0;
  int64_t amount_fen = 0;
  ev::OrderRefunded refund;
  bool applied = false;
};

std::vector<RefundRow> Refunds(MysqlConnection& c, int64_t order_id) {
  return Sql(c,
             "SELECT refund_id, amount_fen, refund_lines, applied FROM report_refunds WHERE "
             "order_id = ? ORDER BY refund_id",
             order_id)
      .All([](const SqlRow& row) {
        RefundRow r;
        r.refund_id = row.Int("refund_id");
        r.amount_fen = row.Int("amount_fen");
        r.refund.ParseFromString(row.Bytes("refund_lines"));
        r.applied = row.Bool("applied");
        return r;
      });
}

// Takes the order's pending refunds back from every breakdown, oldest first.
void CountRefunds(MysqlConnection& c, OrderRow& order) {
  std::vector<RefundRow> refunds = Refunds(c, order.order_id);
  std::vector<OrderLineAmounts> lines;
  for (const ev::OrderLine& line : order.paid.lines()) {
    lines.push_back({line.product_id(), line.quantity(), line.unit_price_fen()});
  }
  std::vector<RefundOfOrder> so_far;
  for (const RefundRow& r : refunds) {
    RefundOfOrder of;
    of.amount_fen = r.amount_fen;
    for (const ev::RefundedLine& l : r.refund.lines()) {
      if (l.line_no() >= 1)
        of.lines.emplace_back(static_cast<size_t>(l.line_no() - 1), l.quantity());
    }
    so_far.push_back(std::move(of));
    if (r.applied) continue;
    if (order.state == OrderState::kCounted && r.amount_fen != 0) {
      int64_t before = order.refunded_fen;
      int64_t after = before + r.amount_fen;
      // Refunded in full by this refund: counted once, when the sum reaches the amount paid.
      int64_t in_full = after >= order.amount_fen && before < order.amount_fen ? 1 : 0;
      std::vector<Contribution> parts;
      Keys keys = SaleKeys(order);
      for (auto& credit_key : CreditKeys(order)) keys.push_back(std::move(credit_key));
      for (const auto& [dimension, key] : keys) {
        Contribution part{dimension, key};
        part.refunds_fen = r.amount_fen;
        part.refunded_orders = in_full;
        parts.push_back(part);
      }
      for (const auto& [product, share] : LastRefundByProduct(lines, so_far)) {
        Contribution part{kProduct, absl::StrCat(product)};
        part.refunds_fen = share.refunds_fen;
        part.refunded_orders = share.completed ? 1 : 0;
        parts.push_back(part);
      }
      AddAll(c, order.session_id, order.brand_id, order.currency, "", parts);
      order.refunded_fen = after;
      Sql(c, "UPDATE report_orders SET refunded_fen = ? WHERE order_id = ?", order.refunded_fen,
          order.order_id)
          .Execute();
    }
    Sql(c, "UPDATE report_refunds SET applied = 1 WHERE refund_id = ?", r.refund_id).Execute();
  }
}

}  // namespace

absl::Status MysqlReportStore::CountOrder(MysqlConnection& c, int64_t order_id) {
  std::optional<OrderRow> found =
      Sql(c, "SELECT * FROM report_orders WHERE order_id = ? FOR UPDATE", order_id).One(ReadOrder);
  if (!found.has_value()) return absl::OkStatus();  // not paid yet: its OrderPaid counts it
  return CountOrder(c, *found, /*refunds_possible=*/true);
}

absl::StatusOr<std::optional<std::string>> MysqlReportStore::SessionBrand(MysqlConnection& c,
                                                                          int64_t session_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto cached = session_brands_.find(session_id);
    if (cached != session_brands_.end()) return std::optional<std::string>(cached->second);
  }
  std::map<int64_t, std::string> brands = SessionBrands(c, {session_id});
  if (brands.empty()) return std::optional<std::string>();
  std::lock_guard<std::mutex> lock(mu_);
  // A session's brand never changes: remembered (a bounded number of them).
  if (session_brands_.size() >= 100000) session_brands_.clear();
  session_brands_[session_id] = brands.begin()->second;
  return std::optional<std::string>(brands.begin()->second);
}

absl::Status MysqlReportStore::CountOrder(MysqlConnection& c, OrderRow& order,
                                          bool refunds_possible) {
  OrderState state = order.state;
  bool credited = order.credited;
  std::vector<Contribution> parts;
  if (state == OrderState::kWaitingForSession) {
    LC_ASSIGN_OR_RETURN(std::optional<std::string> brand, SessionBrand(c, order.session_id));
    if (!brand.has_value()) return absl::OkStatus();  // waits for SessionStarted
    if (*brand != order.brand_id) {
      spdlog::warn("report: order {} names session {} of another brand; not counted",
                   order.order_id, order.session_id);
      state = OrderState::kCountedNowhere;
    } else {
      // By associate below, once credited.
      parts = SaleParts(order);
      state = OrderState::kCounted;
    }
  }
  if (state == OrderState::kCounted && !credited) {
    std::optional<std::string> credit =
        Sql(c, "SELECT associate_id FROM report_credits WHERE order_id = ?", order.order_id)
            .One([](const SqlRow& row) { return row.Str("associate_id"); });
    // Undecided and not waited for long enough: the associate waits for the attribution service.
    if (credit.has_value() || order.paid_at < clock_.Now() - credit_wait_) {
      order.counted_associate = credit.value_or(order.carried_associate);
      for (Contribution& part : CreditParts(order)) parts.push_back(std::move(part));
      credited = true;
    }
  }
  if (state != order.state || credited != order.credited) {
    AddAll(c, order.session_id, order.brand_id, order.currency, order.buyer_id, parts);
    order.state = state;
    order.credited = credited;
    Sql(c,
        "UPDATE report_orders SET state = ?, credited = ?, counted_associate = ? WHERE order_id = "
        "?",
        order.state, order.credited, order.counted_associate, order.order_id)
        .Execute();
  }
  if (refunds_possible && (order.credited || order.state == OrderState::kCountedNowhere)) {
    CountRefunds(c, order);
  }
  return absl::OkStatus();
}

absl::Status MysqlReportStore::SessionKnown(MysqlConnection& c, int64_t session_id,
                                            const std::string& brand_id) {
  std::vector<int64_t> waiting =
      Sql(c, "SELECT order_id FROM report_orders WHERE session_id = ? AND state = ?", session_id,
          OrderState::kWaitingForSession)
          .All([](const SqlRow& row) { return row.Int("order_id"); });
  for (int64_t order_id : waiting) LC_RETURN_IF_ERROR(CountOrder(c, order_id));
  // Funnel facts that waited for the session: its brand's count, others' go.
  std::vector<std::pair<int, int64_t>> steps =
      Sql(c,
          "SELECT step, COUNT(*) AS n FROM report_funnel_viewers WHERE session_id = ? AND "
          "counted = 0 AND brand_id = ? GROUP BY step",
          session_id, brand_id)
          .All([](const SqlRow& row) {
            return std::make_pair(static_cast<int>(row.Int("step")), row.Int("n"));
          });
  if (!steps.empty()) {
    Sql(c,
        "UPDATE report_funnel_viewers SET counted = 1 WHERE session_id = ? AND counted = 0 AND "
        "brand_id = ?",
        session_id, brand_id)
        .Execute();
    for (const auto& [step, n] : steps) AddFunnelCount(c, session_id, step, n, brand_id);
  }
  int dropped =
      Sql(c, "DELETE FROM report_funnel_viewers WHERE session_id = ? AND counted = 0", session_id)
          .Execute();
  if (dropped > 0) {
    spdlog::warn("report: {} funnel facts named session {} of another brand; not counted", dropped,
                 session_id);
  }
  return absl::OkStatus();
}

absl::Status MysqlReportStore::ApplyPaid(
    MysqlConnection& c, const std::vector<std::pair<const ev::Event*, ev::OrderPaid>>& run) {
  std::vector<int64_t> ids;
  for (const auto& [event, paid] : run) ids.push_back(paid.order_id());
  // An order paid once already (its event delivered again under another id) counts once.
  std::set<int64_t> known =
      IdsIn(c, "SELECT order_id FROM report_orders WHERE order_id IN ", "order_id", ids);
  std::set<int64_t> with_refunds =
      IdsIn(c, "SELECT DISTINCT order_id FROM report_refunds WHERE order_id IN ", "order_id", ids);
  std::map<int64_t, std::string> credits;
  common::ForEachChunk(ids.size(), [&](size_t offset, size_t count) {
    common::SqlStatement q(
        c, absl::StrCat("SELECT order_id, associate_id FROM report_credits WHERE order_id IN ",
                        common::Placeholders(1, count)));
    for (size_t i = 0; i < count; ++i) q.Bind(ids[offset + i]);
    q.ForEach([&](const SqlRow& row) { credits[row.Int("order_id")] = row.Str("associate_id"); });
  });
  absl::Time overdue = clock_.Now() - credit_wait_;
  std::vector<OrderRow> orders;
  SalesBatch sales;
  for (const auto& [event, p] : run) {
    if (!known.insert(p.order_id()).second) continue;
    OrderRow o;
    o.order_id = p.order_id();
    o.brand_id = event->brand_id();
    o.session_id = p.session_id();
    o.buyer_id = p.buyer_id();
    o.channel = p.channel();
    o.carried_associate = p.associate_id();
    o.currency = p.currency();
    o.amount_fen = p.amount_fen();
    o.units = p.units();
    o.paid_at = common::FromTimestamp(p.paid_at());
    o.paid = p;
    // Not bought in a session: nothing of it counts into a session report.
    o.state = o.session_id == 0 ? OrderState::kCountedNowhere : OrderState::kWaitingForSession;
    if (o.state == OrderState::kWaitingForSession) {
      LC_ASSIGN_OR_RETURN(std::optional<std::string> brand, SessionBrand(c, o.session_id));
      if (brand.has_value() && *brand != o.brand_id) {
        spdlog::warn("report: order {} names session {} of another brand; not counted", o.order_id,
                     o.session_id);
        o.state = OrderState::kCountedNowhere;
      } else if (brand.has_value()) {
        o.state = OrderState::kCounted;
        std::vector<Contribution> parts = SaleParts(o);
        auto credit = credits.find(o.order_id);
        if (credit != credits.end() || o.paid_at < overdue) {
          o.counted_associate = credit != credits.end() ? credit->second : o.carried_associate;
          o.credited = true;
          for (Contribution& part : CreditParts(o)) parts.push_back(std::move(part));
        }
        for (const Contribution& part : parts) {
          sales.Add(o.session_id, o.brand_id, o.currency, o.buyer_id, part);
        }
      }
    }
    orders.push_back(std::move(o));
  }
  common::ForEachChunk(orders.size(), [&](size_t offset, size_t count) {
    common::SqlStatement insert(
        c, absl::StrCat("INSERT INTO report_orders (order_id, brand_id, session_id, buyer_id, "
                        "channel, carried_associate, currency, amount_fen, units, paid_at, "
                        "order_lines, state, credited, counted_associate) VALUES ",
                        common::Placeholders(count, 14)));
    std::vector<std::string> payloads;
    payloads.reserve(count);
    for (size_t i = 0; i < count; ++i)
      payloads.push_back(orders[offset + i].paid.SerializeAsString());
    for (size_t i = 0; i < count; ++i) {
      const OrderRow& o = orders[offset + i];
      insert.Bind(o.order_id, o.brand_id, o.session_id, o.buyer_id, o.channel, o.carried_associate,
                  o.currency, o.amount_fen, o.units, o.paid_at, common::SqlBytes{payloads[i]},
                  o.state, o.credited, o.counted_associate);
    }
    insert.Execute();
  });
  sales.Write(c);
  // Refunds that came before their order count now.
  for (OrderRow& o : orders) {
    if (with_refunds.count(o.order_id) != 0 &&
        (o.credited || o.state == OrderState::kCountedNowhere)) {
      CountRefunds(c, o);
    }
  }
  return absl::OkStatus();
}

void MysqlReportStore::Subscribe(common::EventConsumer& consumer) {
  consumer.On<ev::SessionStarted>(
      [this](MysqlConnection& c, const ev::Event& e, const ev::SessionStarted& s) {
        Sql(c,
            "INSERT INTO report_sessions (session_id, brand_id, room_id, title, visibility, "
            "audiences, objective, format, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON "
            "DUPLICATE KEY UPDATE title = VALUES(title), visibility = VALUES(visibility), "
            "audiences = VALUES(audiences), objective = VALUES(objective), format = "
            "VALUES(format), started_at = VALUES(started_at)",
            s.session_id(), e.brand_id(), s.room_id(), s.title(), s.visibility(), s.audiences(),
            s.objective(), s.format(), common::FromTimestamp(s.started_at()))
            .Execute();
        return SessionKnown(c, s.session_id(), e.brand_id());
      });
  consumer.On<ev::SessionEnded>(
      [this](MysqlConnection& c, const ev::Event& e, const ev::SessionEnded& s) {
        Sql(c,
            "INSERT INTO report_sessions (session_id, brand_id, room_id, ended_at, "
            "duration_seconds, reach, peak_concurrency, total_joins, watch_ms) VALUES (?, ?, ?, "
            "?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE ended_at = VALUES(ended_at), "
            "duration_seconds = VALUES(duration_seconds), reach = VALUES(reach), "
            "peak_concurrency = VALUES(peak_concurrency), total_joins = VALUES(total_joins), "
            "watch_ms = VALUES(watch_ms)",
            s.session_id(), e.brand_id(), s.room_id(), common::FromTimestamp(s.ended_at()),
            s.duration_seconds(), s.reach(), s.peak_concurrency(), s.total_joins(), s.watch_ms())
            .Execute();
        return SessionKnown(c, s.session_id(), e.brand_id());
      });
  consumer.OnBatch<ev::OrderPaid>(
      [this](MysqlConnection& c,
             const std::vector<std::pair<const ev::Event*, ev::OrderPaid>>& run) {
        return ApplyPaid(c, run);
      });
  consumer.On<ev::OrderCredited>(
      [this](MysqlConnection& c, const ev::Event& e, const ev::OrderCredited& p) {
        Sql(c,
            "INSERT IGNORE INTO report_credits (order_id, brand_id, associate_id, credited_at) "
            "VALUES (?, ?, ?, ?)",
            p.order_id(), e.brand_id(), p.associate_id(), common::FromTimestamp(p.credited_at()))
            .Execute();
        return CountOrder(c, p.order_id());
      });
  consumer.On<ev::OrderRefunded>(
      [this](MysqlConnection& c, const ev::Event& e, const ev::OrderRefunded& r) {
        Sql(c,
            "INSERT IGNORE INTO report_refunds (refund_id, order_id, brand_id, amount_fen, "
            "refund_lines, requested_at) VALUES (?, ?, ?, ?, ?, ?)",
            r.refund_id(), r.order_id(), e.brand_id(), r.amount_fen(),
            common::SqlBytes{r.SerializeAsString()}, common::FromTimestamp(r.requested_at()))
            .Execute();
        return CountOrder(c, r.order_id());
      });
  // Comments, likes and likers (their own tables; see interaction_events.h).
  SubscribeInteraction(consumer);
  // Invitations, reservations, reminders and replay viewers (engagement_events.h).
  SubscribeEngagement(consumer);
  consumer.On<ev::CheckoutStarted>(
      [](MysqlConnection& c, const ev::Event& e, const ev::CheckoutStarted& s) {
        if (s.session_id() != 0) {
          AddFunnel(c, {FunnelFact{s.session_id(), kCheckedOut, s.buyer_id(), e.brand_id()}});
        }
        return absl::OkStatus();
      });
}

absl::StatusOr<int> MysqlReportStore::CreditOverdue(int limit) {
  absl::Time cutoff = clock_.Now() - credit_wait_;
  LC_ASSIGN_OR_RETURN(std::vector<int64_t> overdue,
                      pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<int64_t>> {
                        return Sql(c,
                                   "SELECT order_id FROM report_orders WHERE credited = 0 AND "
                                   "state = ? AND paid_at < ? ORDER BY paid_at LIMIT ?",
                                   OrderState::kCounted, cutoff, limit)
                            .All([](const SqlRow& row) { return row.Int("order_id"); });
                      }));
  for (int64_t order_id : overdue) {
    LC_RETURN_IF_ERROR(pool_.InTransaction(
        [&](MysqlConnection& c) -> absl::Status { return CountOrder(c, order_id); }));
  }
  return static_cast<int>(overdue.size());
}

absl::Status MysqlReportStore::RecordFunnel(const std::vector<FunnelFact>& facts) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::Status {
    AddFunnel(c, facts);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::map<int, int64_t>> MysqlReportStore::GetFunnel(int64_t session_id) {
  return reads_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::map<int, int64_t>> {
    std::map<int, int64_t> steps;
    Sql(c, "SELECT step, viewers FROM report_session_funnel WHERE session_id = ?", session_id)
        .ForEach([&](const SqlRow& row) {
          steps[static_cast<int>(row.Int("step"))] = row.Int("viewers");
        });
    return steps;
  });
}

absl::StatusOr<std::optional<SessionRow>> MysqlReportStore::GetSession(int64_t session_id) {
  return reads_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::optional<SessionRow>> {
    return Sql(c, absl::StrCat(kSessionSelect, "WHERE s.session_id = ?"), session_id)
        .One(ReadSession);
  });
}

absl::StatusOr<std::vector<BreakdownRow>> MysqlReportStore::GetBreakdowns(int64_t session_id) {
  return reads_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<BreakdownRow>> {
    return Sql(c,
               "SELECT dimension, dim_key, currency, orders, buyers, units, gmv_fen, refunds_fen, "
               "refunded_orders FROM report_session_sales WHERE session_id = ? AND dimension > 0 "
               "ORDER BY dimension, gmv_fen DESC, dim_key",
               session_id)
        .All([](const SqlRow& row) {
          return BreakdownRow{
              row.Enum<Dimension>("dimension"), row.Str("dim_key"), row.Str("currency"),
              Sales{row.Int("orders"), row.Int("buyers"), row.Int("units"), row.Int("gmv_fen"),
                    row.Int("refunds_fen"), row.Int("refunded_orders")}};
        });
  });
}

absl::StatusOr<std::vector<SessionRow>> MysqlReportStore::ListSessions(const std::string& brand_id,
                                                                       absl::Time from,
                                                                       absl::Time to) {
  return reads_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<SessionRow>> {
    return Sql(c,
               absl::StrCat(kSessionSelect,
                            "WHERE s.brand_id = ? AND s.started_at >= ? AND s.started_at < ? "
                            "ORDER BY s.started_at DESC, s.session_id DESC"),
               brand_id, from, to)
        .All(ReadSession);
  });
}

}  // namespace livecommerce::report
