#include "services/report/store/report_store.h"

#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "livecommerce/v1/order.pb.h"
#include "services/common/log_format.h"
#include "services/common/mysql_batcher.h"
#include "services/common/status.h"

namespace livecommerce::report {
namespace {

using common::MysqlConnection;
using common::ToSqlTime;

constexpr int kSourceConversions = 1;
constexpr int kSourceRefunds = 2;
constexpr int kSourceOrders = 3;
constexpr int kSourceCredits = 4;
constexpr int kOrderReserving = 0;  // orders.status while the checkout is still reserving
constexpr int kOrderRefused = 9;    // a checkout refused: no order
constexpr int kRefundFailed = 3;    // refunds.status: the provider gave up; nothing went back

int64_t Cursor(MysqlConnection& c, const std::string& name) {
  sql::PreparedStatement& make =
      c.Prepare("INSERT IGNORE INTO report_cursors (name, last_id) VALUES (?, 0)");
  make.setString(1, name);
  make.executeUpdate();
  sql::PreparedStatement& s =
      c.Prepare("SELECT last_id FROM report_cursors WHERE name = ? FOR UPDATE");
  s.setString(1, name);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  rs->next();
  return rs->getInt64(1);
}

void SetCursor(MysqlConnection& c, const std::string& name, int64_t last_id) {
  sql::PreparedStatement& s = c.Prepare("UPDATE report_cursors SET last_id = ? WHERE name = ?");
  s.setInt64(1, last_id);
  s.setString(2, name);
  s.executeUpdate();
}

std::set<int64_t> Applied(MysqlConnection& c, int source, int64_t after) {
  sql::PreparedStatement& s =
      c.Prepare("SELECT source_id FROM report_applied WHERE source = ? AND source_id > ?");
  s.setInt(1, source);
  s.setInt64(2, after);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  std::set<int64_t> ids;
  while (rs->next()) ids.insert(rs->getInt64(1));
  return ids;
}

struct AppliedRow {
  int64_t source_id;
  int64_t order_id;
  int64_t amount_fen;
  std::string dim_key = "";
};

// Records rows of `source` as applied, a multi-row statement per chunk.
void MarkApplied(MysqlConnection& c, int source, const std::vector<AppliedRow>& rows) {
  common::ForEachChunk(rows.size(), [&](size_t offset, size_t count) {
    sql::PreparedStatement& m = c.Prepare(
        absl::StrCat("INSERT INTO report_applied (source, source_id, order_id, amount_fen, "
                     "dim_key) VALUES ",
                     common::Placeholders(count, 5)));
    int p = 1;
    for (size_t i = 0; i < count; ++i) {
      m.setInt(p++, source);
      m.setInt64(p++, rows[offset + i].source_id);
      m.setInt64(p++, rows[offset + i].order_id);
      m.setInt64(p++, rows[offset + i].amount_fen);
      m.setString(p++, rows[offset + i].dim_key);
    }
    m.executeUpdate();
  });
}

struct Contribution {
  Dimension dimension;
  std::string key;
  int64_t orders = 0;
  int64_t units = 0;
  int64_t gmv_fen = 0;
  int64_t refunds_fen = 0;
  int64_t refunded_orders = 0;
};

// Adds to a session's sales row (and counts the buyer once per row when given).
void Add(MysqlConnection& c, int64_t session_id, const std::string& brand_id,
         const std::string& currency, const std::string& buyer_id, const Contribution& k) {
  int64_t new_buyer = 0;
  if (!buyer_id.empty()) {
    sql::PreparedStatement& b = c.Prepare(
        "INSERT IGNORE INTO report_session_buyers (session_id, dimension, dim_key, buyer_id, "
        "brand_id) VALUES (?, ?, ?, ?, ?)");
    b.setInt64(1, session_id);
    b.setInt(2, k.dimension);
    b.setString(3, k.key);
    b.setString(4, buyer_id);
    b.setString(5, brand_id);
    new_buyer = b.executeUpdate();
  }
  sql::PreparedStatement& s = c.Prepare(
      "INSERT INTO report_session_sales (session_id, dimension, dim_key, brand_id, currency, "
      "orders, buyers, units, gmv_fen, refunds_fen, refunded_orders) VALUES (?, ?, ?, ?, ?, ?, ?, "
      "?, ?, ?, ?) ON DUPLICATE KEY UPDATE orders = orders + VALUES(orders), buyers = buyers + "
      "VALUES(buyers), units = units + VALUES(units), gmv_fen = gmv_fen + VALUES(gmv_fen), "
      "refunds_fen = refunds_fen + VALUES(refunds_fen), refunded_orders = refunded_orders + "
      "VALUES(refunded_orders)");
  s.setInt64(1, session_id);
  s.setInt(2, k.dimension);
  s.setString(3, k.key);
  s.setString(4, brand_id);
  s.setString(5, currency);
  s.setInt64(6, k.orders);
  s.setInt64(7, new_buyer);
  s.setInt64(8, k.units);
  s.setInt64(9, k.gmv_fen);
  s.setInt64(10, k.refunds_fen);
  s.setInt64(11, k.refunded_orders);
  s.executeUpdate();
}

std::string ChannelKey(int channel) {
  return v1::Channel_IsValid(channel) ? v1::Channel_Name(static_cast<v1::Channel>(channel))
                                      : absl::StrCat(channel);
}

// The brand of each of `sessions`, as the room service recorded it (room_sessions); a session it
// never had is missing from the map.
std::map<int64_t, std::string> SessionBrands(MysqlConnection& c, const std::set<int64_t>& ids) {
  std::vector<int64_t> sessions(ids.begin(), ids.end());
  std::map<int64_t, std::string> brands;
  common::ForEachChunk(sessions.size(), [&](size_t offset, size_t count) {
    sql::PreparedStatement& q = c.Prepare(absl::StrCat(
        "SELECT id, brand_id FROM room_sessions WHERE id IN ", common::Placeholders(1, count)));
    for (size_t i = 0; i < count; ++i) q.setInt64(static_cast<int>(i + 1), sessions[offset + i]);
    std::unique_ptr<sql::ResultSet> rs(q.executeQuery());
    while (rs->next()) brands[rs->getInt64(1)] = rs->getString(2);
  });
  return brands;
}

// Whether something of `brand_id` may count into `session_id`: only into a known session of the
// same brand. Otherwise it counts nowhere, with a warning naming the source row (no personal data).
bool CountsInto(const std::map<int64_t, std::string>& brands, int64_t session_id,
                const std::string& brand_id, absl::string_view what, int64_t source_id) {
  auto found = brands.find(session_id);
  if (found != brands.end() && found->second == brand_id) return true;
  spdlog::warn("report: {} {} names session {} {}; not counted", what, source_id, session_id,
               found == brands.end() ? "that is unknown" : "of another brand");
  return false;
}

// Records funnel facts in the caller's transaction: new viewers of each (session, step) and its
// count. A fact counts only into a known session of its own brand.
void AddFunnel(MysqlConnection& c, const std::vector<FunnelFact>& facts) {
  std::set<int64_t> ids;
  for (const FunnelFact& f : facts) ids.insert(f.session_id);
  std::map<int64_t, std::string> brands = SessionBrands(c, ids);
  std::map<std::pair<int64_t, int>, std::vector<const std::string*>> groups;
  int64_t dropped = 0;
  for (const FunnelFact& f : facts) {
    auto found = brands.find(f.session_id);
    if (found == brands.end() || found->second != f.brand_id) {
      ++dropped;
      continue;
    }
    groups[{f.session_id, f.step}].push_back(&f.viewer_id);
  }
  if (dropped > 0) {
    spdlog::warn("report: {} funnel facts name unknown sessions or another brand's; not counted",
                 dropped);
  }
  for (const auto& [key, viewers] : groups) {
    const std::string& brand = brands[key.first];
    int64_t added = 0;
    common::ForEachChunk(viewers.size(), [&](size_t offset, size_t count) {
      sql::PreparedStatement& s = c.Prepare(absl::StrCat(
          "INSERT IGNORE INTO report_funnel_viewers (session_id, step, viewer_id, brand_id) "
          "VALUES ",
          common::Placeholders(count, 4)));
      int p = 1;
      for (size_t i = 0; i < count; ++i) {
        s.setInt64(p++, key.first);
        s.setInt(p++, key.second);
        s.setString(p++, *viewers[offset + i]);
        s.setString(p++, brand);
      }
      added += s.executeUpdate();
    });
    if (added == 0) continue;
    sql::PreparedStatement& u = c.Prepare(
        "INSERT INTO report_session_funnel (session_id, step, viewers, brand_id) VALUES (?, ?, ?, "
        "?) ON DUPLICATE KEY UPDATE viewers = viewers + VALUES(viewers)");
    u.setInt64(1, key.first);
    u.setInt(2, key.second);
    u.setInt64(3, added);
    u.setString(4, brand);
    u.executeUpdate();
  }
}

constexpr char kSessionSelect[] =
    "SELECT s.id, s.brand_id, s.room_id, r.title, r.visibility, r.audiences, r.objective, "
    "r.format, s.ended_at IS NULL, s.started_at, s.ended_at, s.duration_seconds, s.reach, "
    "s.peak_concurrency, s.total_joins, t.currency, COALESCE(t.orders, 0), COALESCE(t.buyers, 0), "
    "COALESCE(t.units, 0), COALESCE(t.gmv_fen, 0), COALESCE(t.refunds_fen, 0), "
    "COALESCE(t.refunded_orders, 0), s.watch_ms FROM room_sessions s JOIN rooms r ON r.id = "
    "s.room_id "
    "LEFT JOIN report_session_sales t ON t.session_id = s.id AND t.dimension = 0 AND "
    "t.dim_key = '' ";

SessionRow ReadSession(sql::ResultSet& rs) {
  SessionRow row;
  row.session_id = rs.getInt64(1);
  row.brand_id = rs.getString(2);
  row.room_id = rs.getInt64(3);
  row.title = rs.getString(4);
  row.visibility = static_cast<v1::Visibility>(rs.getInt(5));
  row.audiences = static_cast<uint32_t>(rs.getInt(6));
  row.objective = static_cast<v1::Objective>(rs.getInt(7));
  row.format = static_cast<v1::Format>(rs.getInt(8));
  row.live = rs.getInt(9) != 0;
  row.started_at = common::SqlTimeAt(rs, 10).value_or(absl::UnixEpoch());
  row.ended_at = common::SqlTimeAt(rs, 11);
  row.duration_seconds = rs.getInt64(12);
  row.reach = rs.getInt64(13);
  row.peak_concurrency = rs.getInt64(14);
  row.total_joins = rs.getInt64(15);
  if (!rs.isNull(16)) row.currency = rs.getString(16);
  row.sales = Sales{rs.getInt64(17), rs.getInt64(18), rs.getInt64(19),
                    rs.getInt64(20), rs.getInt64(21), rs.getInt64(22)};
  row.watch_ms = rs.getInt64(23);
  return row;
}

}  // namespace

absl::StatusOr<int> MysqlReportStore::ApplyConversions(absl::Time now, int limit) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<int> {
    int64_t cursor = Cursor(c, "conversions");
    std::set<int64_t> applied = Applied(c, kSourceConversions, cursor);
    sql::PreparedStatement& s = c.Prepare(
        "SELECT id, brand_id, order_id, session_id, buyer_id, amount_fen, currency, units, "
        "channel, associate_id, paid_at FROM conversions WHERE id > ? ORDER BY id LIMIT ?");
    s.setInt64(1, cursor);
    s.setInt(2, limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    struct Row {
      int64_t id, order_id, session_id, amount, units;
      std::string brand_id, buyer_id, currency, associate_id;
      int channel;
      absl::Time paid_at;
    };
    std::vector<Row> rows;
    bool settled = true;
    int64_t next_cursor = cursor;
    while (rs->next()) {
      Row row{rs->getInt64(1),
              rs->getInt64(3),
              rs->isNull(4) ? 0 : rs->getInt64(4),
              rs->getInt64(6),
              rs->getInt64(8),
              rs->getString(2),
              rs->getString(5),
              rs->getString(7),
              rs->getString(10),
              rs->getInt(9),
              common::SqlTimeAt(*rs, 11).value_or(absl::UnixEpoch())};
      settled = settled && row.paid_at < now - settle_;
      if (settled) next_cursor = row.id;
      if (applied.count(row.id) == 0) rows.push_back(std::move(row));
    }
    // Each row applied once: recorded in the same transaction as its sums.
    std::vector<AppliedRow> marks;
    for (const Row& row : rows) marks.push_back({row.id, row.order_id, row.amount});
    MarkApplied(c, kSourceConversions, marks);
    // Orders bought in a session, with their lines by product.
    // Only into a known session of the order's own brand.
    std::set<int64_t> named;
    for (const Row& row : rows) {
      if (row.session_id != 0) named.insert(row.session_id);
    }
    std::map<int64_t, std::string> session_brands = SessionBrands(c, named);
    std::vector<const Row*> in_session;
    for (const Row& row : rows) {
      if (row.session_id != 0 &&
          CountsInto(session_brands, row.session_id, row.brand_id, "conversion", row.id)) {
        in_session.push_back(&row);
      }
    }
    std::map<int64_t, std::vector<std::tuple<int64_t, int64_t, int64_t>>> lines;
    common::ForEachChunk(in_session.size(), [&](size_t offset, size_t count) {
      sql::PreparedStatement& l = c.Prepare(
          absl::StrCat("SELECT order_id, product_id, SUM(quantity), SUM(line_total_fen) FROM "
                       "order_lines WHERE order_id IN ",
                       common::Placeholders(1, count), " GROUP BY order_id, product_id"));
      for (size_t i = 0; i < count; ++i) {
        l.setInt64(static_cast<int>(i + 1), in_session[offset + i]->order_id);
      }
      std::unique_ptr<sql::ResultSet> r(l.executeQuery());
      while (r->next()) {
        lines[r->getInt64(1)].emplace_back(r->getInt64(2), r->getInt64(3), r->getInt64(4));
      }
    });
    // What the batch adds to each (session, dimension, key), and who bought there.
    using Key = std::tuple<int64_t, int, std::string>;
    struct Sum {
      std::string brand_id, currency;
      Contribution add;
    };
    std::map<Key, Sum> sums;
    std::set<std::tuple<int64_t, int, std::string, std::string>> buyers;
    std::set<int64_t> sessions;
    std::set<std::string> buyer_ids;
    auto add = [&](const Row& row, Dimension dimension, const std::string& key, int64_t units,
                   int64_t gmv) {
      Sum& sum = sums[{row.session_id, dimension, key}];
      sum.brand_id = row.brand_id;
      sum.currency = row.currency;
      sum.add.dimension = dimension;
      sum.add.key = key;
      sum.add.orders += 1;
      sum.add.units += units;
      sum.add.gmv_fen += gmv;
      if (!row.buyer_id.empty()) buyers.emplace(row.session_id, dimension, key, row.buyer_id);
    };
    for (const Row* row : in_session) {
      add(*row, kWhole, "", row->units, row->amount);
      add(*row, kChannel, ChannelKey(row->channel), row->units, row->amount);
      // By associate: ApplyCredits, once the attribution service has decided.
      for (const auto& [product, units, gmv] : lines[row->order_id]) {
        add(*row, kProduct, absl::StrCat(product), units, gmv);
      }
      sessions.insert(row->session_id);
      if (!row->buyer_id.empty()) buyer_ids.insert(row->buyer_id);
    }
    // Buyers seen before in these sessions are not counted again.
    std::vector<int64_t> session_list(sessions.begin(), sessions.end());
    std::vector<std::string> buyer_list(buyer_ids.begin(), buyer_ids.end());
    for (int64_t session : session_list) {
      common::ForEachChunk(buyer_list.size(), [&](size_t offset, size_t count) {
        sql::PreparedStatement& q = c.Prepare(absl::StrCat(
            "SELECT dimension, dim_key, buyer_id FROM report_session_buyers WHERE session_id = ? "
            "AND buyer_id IN ",
            common::Placeholders(1, count)));
        q.setInt64(1, session);
        for (size_t i = 0; i < count; ++i) {
          q.setString(static_cast<int>(i + 2), buyer_list[offset + i]);
        }
        std::unique_ptr<sql::ResultSet> r(q.executeQuery());
        while (r->next()) buyers.erase({session, r->getInt(1), r->getString(2), r->getString(3)});
      });
    }
    std::vector<std::tuple<int64_t, int, std::string, std::string>> new_buyers(buyers.begin(),
                                                                               buyers.end());
    common::ForEachChunk(new_buyers.size(), [&](size_t offset, size_t count) {
      sql::PreparedStatement& b = c.Prepare(absl::StrCat(
          "INSERT INTO report_session_buyers (session_id, dimension, dim_key, buyer_id, brand_id) "
          "VALUES ",
          common::Placeholders(count, 5)));
      int p = 1;
      for (size_t i = 0; i < count; ++i) {
        const auto& [session, dimension, key, buyer] = new_buyers[offset + i];
        b.setInt64(p++, session);
        b.setInt(p++, dimension);
        b.setString(p++, key);
        b.setString(p++, buyer);
        b.setString(p++, sums.at(Key{session, dimension, key}).brand_id);
      }
      b.executeUpdate();
    });
    std::map<Key, int64_t> buyer_counts;
    for (const auto& [session, dimension, key, buyer] : new_buyers) {
      ++buyer_counts[{session, dimension, key}];
    }
    std::vector<std::pair<const Key*, const Sum*>> upserts;
    for (const auto& [key, sum] : sums) upserts.emplace_back(&key, &sum);
    common::ForEachChunk(upserts.size(), [&](size_t offset, size_t count) {
      sql::PreparedStatement& u = c.Prepare(absl::StrCat(
          "INSERT INTO report_session_sales (session_id, dimension, dim_key, brand_id, currency, "
          "orders, buyers, units, gmv_fen) VALUES ",
          common::Placeholders(count, 9),
          " ON DUPLICATE KEY UPDATE orders = orders + VALUES(orders), buyers = buyers + "
          "VALUES(buyers), units = units + VALUES(units), gmv_fen = gmv_fen + VALUES(gmv_fen)"));
      int p = 1;
      for (size_t i = 0; i < count; ++i) {
        const Key& key = *upserts[offset + i].first;
        const Sum& sum = *upserts[offset + i].second;
        u.setInt64(p++, std::get<0>(key));
        u.setInt(p++, std::get<1>(key));
        u.setString(p++, std::get<2>(key));
        u.setString(p++, sum.brand_id);
        u.setString(p++, sum.currency);
        u.setInt64(p++, sum.add.orders);
        u.setInt64(p++, buyer_counts[key]);
        u.setInt64(p++, sum.add.units);
        u.setInt64(p++, sum.add.gmv_fen);
      }
      u.executeUpdate();
    });
    SetCursor(c, "conversions", next_cursor);
    return static_cast<int>(rows.size());
  });
}

absl::StatusOr<int> MysqlReportStore::ApplyCredits(absl::Time now, int limit) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<int> {
    int64_t cursor = Cursor(c, "credits");
    std::set<int64_t> applied = Applied(c, kSourceCredits, cursor);
    // The attribution service's decision, when it has made one (a row, its associate or none).
    sql::PreparedStatement& s = c.Prepare(
        "SELECT c.id, c.brand_id, c.order_id, c.session_id, c.buyer_id, c.amount_fen, c.currency, "
        "c.units, c.associate_id, c.paid_at, a.id IS NOT NULL, "
        "COALESCE(CAST(a.associate_id AS CHAR), '') FROM conversions c LEFT JOIN "
        "attributed_orders a ON a.brand_id = c.brand_id AND a.order_id = CAST(c.order_id AS "
        "CHAR) WHERE c.id > ? ORDER BY c.id LIMIT ?");
    s.setInt64(1, cursor);
    s.setInt(2, limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    struct Row {
      int64_t id, order_id, session_id, amount, units;
      std::string brand_id, buyer_id, currency, carried, credited;
      bool decided;
      absl::Time paid_at;
    };
    std::vector<Row> rows;
    while (rs->next()) {
      rows.push_back(Row{rs->getInt64(1), rs->getInt64(3), rs->isNull(4) ? 0 : rs->getInt64(4),
                         rs->getInt64(6), rs->getInt64(8), rs->getString(2), rs->getString(5),
                         rs->getString(7), rs->getString(9), rs->getString(12), rs->getBoolean(11),
                         common::SqlTimeAt(*rs, 10).value_or(absl::UnixEpoch())});
    }
    std::set<int64_t> named;
    for (const Row& row : rows) {
      if (row.session_id != 0) named.insert(row.session_id);
    }
    std::map<int64_t, std::string> session_brands = SessionBrands(c, named);
    int count = 0;
    bool settled = true;
    int64_t next_cursor = cursor;
    std::vector<AppliedRow> marks;
    for (const Row& row : rows) {
      bool done = applied.count(row.id) != 0;
      bool waited = row.paid_at < now - credit_wait_;
      // Undecided and not waited for long enough: read again (the cursor stays before it).
      settled = settled && (done || row.decided || waited) && row.paid_at < now - settle_;
      if (settled) next_cursor = row.id;
      if (done || (!row.decided && !waited)) continue;
      const std::string& associate = row.decided ? row.credited : row.carried;
      marks.push_back({row.id, row.order_id, row.amount, associate});
      ++count;
      if (row.session_id == 0) continue;  // not bought in a session
      if (session_brands.count(row.session_id) == 0 ||
          session_brands.at(row.session_id) != row.brand_id) {
        continue;  // another brand's session or none known: counted nowhere (warned above)
      }
      Contribution part{kAssociate, associate};
      part.orders = 1;
      part.units = row.units;
      part.gmv_fen = row.amount;
      Add(c, row.session_id, row.brand_id, row.currency, row.buyer_id, part);
    }
    MarkApplied(c, kSourceCredits, marks);
    SetCursor(c, "credits", next_cursor);
    return count;
  });
}

namespace {

// What refund `refund_id` of an order gave back on each of its products, worked out from the
// order's lines and its refunds up to this one (see LastRefundByProduct).
std::map<int64_t, ProductRefund> RefundByProduct(MysqlConnection& c, int64_t order_id,
                                                 int64_t refund_id) {
  sql::PreparedStatement& l = c.Prepare(
      "SELECT product_id, quantity, unit_price_fen FROM order_lines WHERE order_id = ? ORDER BY "
      "line_no");
  l.setInt64(1, order_id);
  std::unique_ptr<sql::ResultSet> line_rows(l.executeQuery());
  std::vector<OrderLineAmounts> lines;
  while (line_rows->next()) {
    lines.push_back({line_rows->getInt64(1), line_rows->getInt64(2), line_rows->getInt64(3)});
  }
  sql::PreparedStatement& r = c.Prepare(
      "SELECT amount_fen, status, refund_lines FROM refunds WHERE order_id = ? AND id <= ? ORDER "
      "BY id");
  r.setInt64(1, order_id);
  r.setInt64(2, refund_id);
  std::unique_ptr<sql::ResultSet> refund_rows(r.executeQuery());
  std::vector<RefundOfOrder> refunds;
  while (refund_rows->next()) {
    RefundOfOrder refund;
    refund.amount_fen = refund_rows->getInt(2) == kRefundFailed ? 0 : refund_rows->getInt64(1);
    v1::RefundOrderRequest named;
    if (named.ParseFromString(refund_rows->getString(3))) {
      for (const v1::RefundLine& line : named.lines()) {
        int64_t line_no = 0;
        if (absl::SimpleAtoi(line.line_id(), &line_no) && line_no >= 1) {
          refund.lines.emplace_back(static_cast<size_t>(line_no - 1), line.quantity());
        }
      }
    }
    refunds.push_back(std::move(refund));
  }
  return LastRefundByProduct(lines, refunds);
}

}  // namespace

absl::StatusOr<int> MysqlReportStore::ApplyRefunds(absl::Time now, int limit) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<int> {
    int64_t cursor = Cursor(c, "refunds");
    std::set<int64_t> applied = Applied(c, kSourceRefunds, cursor);
    sql::PreparedStatement& s = c.Prepare(
        "SELECT id, order_id, amount_fen, status, created_at FROM refunds WHERE id > ? ORDER BY "
        "id LIMIT ?");
    s.setInt64(1, cursor);
    s.setInt(2, limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    struct Row {
      int64_t id, order_id, amount;
      int status;
      absl::Time created_at;
    };
    std::vector<Row> rows;
    while (rs->next()) {
      rows.push_back(Row{rs->getInt64(1), rs->getInt64(2), rs->getInt64(3), rs->getInt(4),
                         common::SqlTimeAt(*rs, 5).value_or(absl::UnixEpoch())});
    }
    int count = 0;
    bool settled = true;
    int64_t next_cursor = cursor;
    for (const Row& row : rows) {
      bool done = applied.count(row.id) != 0;
      // A refund WeChat Pay gave up on gave nothing back (counted as requested meanwhile).
      int64_t amount = row.status == kRefundFailed ? 0 : row.amount;
      std::unique_ptr<sql::ResultSet> paid;
      bool counted = false, waiting = false;
      if (!done) {
        sql::PreparedStatement& conv = c.Prepare(
            "SELECT c.session_id, c.brand_id, c.currency, c.channel, c.amount_fen, "
            "(SELECT dim_key FROM report_applied r WHERE r.order_id = c.order_id AND r.source = "
            "?) FROM conversions c WHERE c.order_id = ?");
        conv.setInt(1, kSourceCredits);
        conv.setInt64(2, row.order_id);
        paid.reset(conv.executeQuery());
        counted = paid->next() && !paid->isNull(1) && amount != 0;
        // The order is not credited to an associate yet: the refund waits for it, whole, so that
        // every breakdown takes it back together (the cursor stays before it).
        waiting = counted && paid->isNull(6);
      }
      settled = settled && !waiting && row.created_at < now - settle_;
      if (settled) next_cursor = row.id;
      if (done || waiting) continue;
      MarkApplied(c, kSourceRefunds, {{row.id, row.order_id, amount}});
      ++count;
      if (!counted) continue;
      int64_t session_id = paid->getInt64(1);
      std::string brand_id = paid->getString(2), currency = paid->getString(3);
      if (!CountsInto(SessionBrands(c, {session_id}), session_id, brand_id, "refund", row.id)) {
        continue;
      }
      std::string channel = ChannelKey(paid->getInt(4)), associate = paid->getString(6);
      int64_t order_amount = paid->getInt64(5);
      sql::PreparedStatement& sum = c.Prepare(
          "SELECT COALESCE(SUM(amount_fen), 0) FROM report_applied WHERE order_id = ? AND "
          "source = ?");
      sum.setInt64(1, row.order_id);
      sum.setInt(2, kSourceRefunds);
      std::unique_ptr<sql::ResultSet> total(sum.executeQuery());
      total->next();
      int64_t refunded = total->getInt64(1);
      // Refunded in full by this refund: counted once, when the sum reaches the amount paid.
      int64_t in_full = refunded >= order_amount && refunded - amount < order_amount ? 1 : 0;
      for (const auto& [dimension, key] : std::vector<std::pair<Dimension, std::string>>{
               {kWhole, ""}, {kChannel, channel}, {kAssociate, associate}}) {
        Contribution part{dimension, key};
        part.refunds_fen = amount;
        part.refunded_orders = in_full;
        Add(c, session_id, brand_id, currency, "", part);
      }
      for (const auto& [product, share] : RefundByProduct(c, row.order_id, row.id)) {
        Contribution part{kProduct, absl::StrCat(product)};
        part.refunds_fen = share.refunds_fen;
        part.refunded_orders = share.completed ? 1 : 0;
        Add(c, session_id, brand_id, currency, "", part);
      }
    }
    SetCursor(c, "refunds", next_cursor);
    return count;
  });
}

absl::StatusOr<int> MysqlReportStore::ApplyCheckouts(absl::Time now, int limit) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<int> {
    int64_t cursor = Cursor(c, "orders");
    std::set<int64_t> applied = Applied(c, kSourceOrders, cursor);
    sql::PreparedStatement& s = c.Prepare(
        "SELECT id, session_id, buyer_id, status, created_at, brand_id FROM orders WHERE id > ? "
        "ORDER BY id LIMIT ?");
    s.setInt64(1, cursor);
    s.setInt(2, limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<FunnelFact> facts;
    std::vector<AppliedRow> read;
    bool settled = true;
    int64_t next_cursor = cursor;
    while (rs->next()) {
      int64_t id = rs->getInt64(1);
      int status = rs->getInt(4);
      // A checkout still reserving is decided later: read again until it is.
      bool decided = status != kOrderReserving;
      settled = settled && decided &&
                common::SqlTimeAt(*rs, 5).value_or(absl::UnixEpoch()) < now - settle_;
      if (settled) next_cursor = id;
      if (!decided || applied.count(id) != 0) continue;
      read.push_back({id, id, 0});
      if (!rs->isNull(2) && status != kOrderRefused) {
        facts.push_back(
            FunnelFact{rs->getInt64(2), kCheckedOut, rs->getString(3), rs->getString(6)});
      }
    }
    MarkApplied(c, kSourceOrders, read);
    AddFunnel(c, facts);
    SetCursor(c, "orders", next_cursor);
    return static_cast<int>(read.size());
  });
}

absl::Status MysqlReportStore::RecordFunnel(const std::vector<FunnelFact>& facts) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::Status {
    AddFunnel(c, facts);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::map<int, int64_t>> MysqlReportStore::GetFunnel(int64_t session_id) {
  return reads_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::map<int, int64_t>> {
    sql::PreparedStatement& s =
        c.Prepare("SELECT step, viewers FROM report_session_funnel WHERE session_id = ?");
    s.setInt64(1, session_id);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::map<int, int64_t> steps;
    while (rs->next()) steps[rs->getInt(1)] = rs->getInt64(2);
    return steps;
  });
}

absl::StatusOr<std::optional<SessionRow>> MysqlReportStore::GetSession(int64_t session_id) {
  return reads_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::optional<SessionRow>> {
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(kSessionSelect, "WHERE s.id = ?"));
    s.setInt64(1, session_id);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    if (!rs->next()) return std::optional<SessionRow>();
    return std::optional<SessionRow>(ReadSession(*rs));
  });
}

absl::StatusOr<std::vector<BreakdownRow>> MysqlReportStore::GetBreakdowns(int64_t session_id) {
  return reads_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<BreakdownRow>> {
    sql::PreparedStatement& s = c.Prepare(
        "SELECT dimension, dim_key, currency, orders, buyers, units, gmv_fen, refunds_fen, "
        "refunded_orders FROM report_session_sales WHERE session_id = ? AND dimension > 0 "
        "ORDER BY dimension, gmv_fen DESC, dim_key");
    s.setInt64(1, session_id);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<BreakdownRow> rows;
    while (rs->next()) {
      rows.push_back(BreakdownRow{static_cast<Dimension>(rs->getInt(1)), rs->getString(2),
                                  rs->getString(3),
                                  Sales{rs->getInt64(4), rs->getInt64(5), rs->getInt64(6),
                                        rs->getInt64(7), rs->getInt64(8), rs->getInt64(9)}});
    }
    return rows;
  });
}

absl::StatusOr<std::vector<SessionRow>> MysqlReportStore::ListSessions(const std::string& brand_id,
                                                                       absl::Time from,
                                                                       absl::Time to) {
  return reads_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<SessionRow>> {
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(
        kSessionSelect,
        "WHERE s.brand_id = ? AND s.started_at >= ? AND s.started_at < ? ORDER BY s.started_at "
        "DESC, s.id DESC"));
    s.setString(1, brand_id);
    s.setDateTime(2, ToSqlTime(from));
    s.setDateTime(3, ToSqlTime(to));
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<SessionRow> rows;
    while (rs->next()) rows.push_back(ReadSession(*rs));
    return rows;
  });
}

}  // namespace livecommerce::report
