// MysqlAttributionStore: ledger entries, statement totals and lines, settlement.
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "services/attribution/store/mysql_attribution_store.h"
#include "services/attribution/store/mysql_rows.h"
#include "services/common/proto_util.h"

namespace livecommerce::attribution {

using common::MysqlConnection;
using common::Sql;
using common::SqlRow;
using common::SqlStatement;
using common::ToSqlTime;
using common::ToTimestamp;
using mysql_rows::EntryQuery;
using mysql_rows::EntryReader;
using mysql_rows::IdOf;
using mysql_rows::Lock;
using mysql_rows::ReadSettledThrough;
using mysql_rows::SqlDay;

namespace {

// A ledger filter as WHERE conditions over the entries (or daily totals) aliased `t`, and the
// text parameters they take, in order.
struct FilterClause {
  std::string where;
  std::vector<std::string> params;
};

FilterClause LedgerFilterClause(const v1::LedgerFilter& f, const std::string& t = "e") {
  FilterClause out;
  if (!f.associate_id().empty()) {
    absl::StrAppend(&out.where, " AND ", t, ".recipient IN (1, 2, 3) AND ", t, ".recipient_id = ?");
    out.params.push_back(f.associate_id());
  }
  if (!f.store_id().empty()) {
    absl::StrAppend(&out.where, " AND ", t, ".store_id = ?");
    out.params.push_back(f.store_id());
  }
  if (f.recipient() != v1::RECIPIENT_UNSPECIFIED) {
    absl::StrAppend(&out.where, " AND ", t, ".recipient = ", static_cast<int>(f.recipient()));
  }
  if (!f.recipient_id().empty()) {
    absl::StrAppend(&out.where, " AND ", t, ".recipient_id = ?");
    out.params.push_back(f.recipient_id());
  }
  return out;
}

void BindFilter(SqlStatement& s, const FilterClause& filter) {
  for (const std::string& p : filter.params) s.Bind(p);
}

// The rows a statement grouping counts (its groups, its totals and its lines alike): by associate,
// the entries paying associates (associate, host, inviting); by store, those of stores' orders;
// by recipient, all.
std::string GroupedRows(v1::StatementGrouping grouping, const std::string& t) {
  switch (grouping) {
    case v1::STATEMENT_GROUPING_ASSOCIATE:
      return absl::StrCat(" AND ", t, ".recipient IN (1, 2, 3)");
    case v1::STATEMENT_GROUPING_STORE:
      return absl::StrCat(" AND ", t, ".store_id > 0");
    default:
      return "";
  }
}

// The sums of a statement group (or of a currency).
struct Sums {
  int64_t sales = 0;
  int64_t reversals = 0;
  int64_t receivables = 0;
  int64_t net = 0;
  int64_t settled = 0;
  int64_t entries = 0;
  int64_t sale_entries = 0;

  void Add(const Sums& o) {
    sales += o.sales;
    reversals += o.reversals;
    receivables += o.receivables;
    net += o.net;
    settled += o.settled;
    entries += o.entries;
    sale_entries += o.sale_entries;
  }
};

// A statement group: (recipient, recipient or store id, currency). Recipient is 0 when grouping
// by associate or store.
struct GroupKey {
  int64_t recipient = 0;
  std::string id;
  std::string currency;

  bool operator<(const GroupKey& o) const {
    return std::tie(recipient, id, currency) < std::tie(o.recipient, o.id, o.currency);
  }
};

// Where the sums of a period come from: the entries themselves, or the daily totals for whole UTC
// days.
enum class TotalsSource { kEntries, kDailyTotals };

void FillTotals(const std::string& currency, const Sums& g, v1::StatementTotals* t) {
  t->set_currency(currency);
  t->set_sales_fen(g.sales);
  t->set_reversals_fen(g.reversals);
  t->set_receivables_fen(g.receivables);
  t->set_net_fen(g.net);
  t->set_settled_fen(g.settled);
  t->set_pending_fen(g.net - g.settled);
  t->set_entries(g.entries);
  t->set_sale_entries(g.sale_entries);
}

}  // namespace

absl::StatusOr<std::vector<v1::LedgerEntry>> MysqlAttributionStore::ListEntries(
    const std::string& brand_id, const v1::LedgerFilter& filter, const std::string& order_id,
    int64_t after_id, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<v1::LedgerEntry>> {
    FilterClause clause = LedgerFilterClause(filter);
    std::string where = absl::StrCat("e.brand_id = ?", clause.where);
    if (!order_id.empty()) where += " AND e.order_id = ?";
    where += absl::StrCat(" AND e.id > ", after_id, " ORDER BY e.id LIMIT ", limit);
    SqlStatement s = Sql(c, EntryQuery(where), brand_id);
    BindFilter(s, clause);
    if (!order_id.empty()) s.Bind(order_id);
    return s.All(EntryReader(ReadSettledThrough(c, Lock::kNone)));
  });
}

absl::StatusOr<v1::Statement> MysqlAttributionStore::StatementTotals(
    const std::string& brand_id, absl::Time start, absl::Time end, v1::StatementGrouping grouping,
    const v1::LedgerFilter& filter) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<v1::Statement> {
    v1::Statement st;
    absl::Time settled_through = ReadSettledThrough(c, Lock::kNone);
    ToTimestamp(settled_through, st.mutable_settled_through());
    // Whole UTC days from the daily totals; the partial days at either end from the entries.
    absl::TimeZone utc = absl::UTCTimeZone();
    absl::Time first_day = absl::FromCivil(absl::ToCivilDay(start, utc), utc);
    if (first_day < start) first_day += absl::Hours(24);
    absl::Time last_day = absl::FromCivil(absl::ToCivilDay(end, utc), utc);
    std::map<GroupKey, Sums> groups;
    auto query = [&](TotalsSource source, absl::Time from, absl::Time to) {
      bool daily = source == TotalsSource::kDailyTotals;
      std::string t = daily ? "d" : "e";
      // Days compare as DATE text, times as DATETIME text: both bound as strings.
      auto bound = [&](absl::Time at) { return daily ? SqlDay(at) : ToSqlTime(at); };
      FilterClause clause = LedgerFilterClause(filter, t);
      std::string where = absl::StrCat(daily ? "d.brand_id = ? AND d.day >= ? AND d.day < ?"
                                             : "e.brand_id = ? AND e.booked_at >= ? AND "
                                               "e.booked_at < ?",
                                       clause.where, GroupedRows(grouping, t));
      std::string key, select;
      switch (grouping) {
        case v1::STATEMENT_GROUPING_ASSOCIATE:
          key = absl::StrCat(t, ".recipient_id");
          select = absl::StrCat("0 AS recipient, ", key, " AS group_id");
          break;
        case v1::STATEMENT_GROUPING_STORE:
          key = absl::StrCat(t, ".store_id");
          select = absl::StrCat("0 AS recipient, ", key, " AS group_id");
          break;
        default:
          key = absl::StrCat(t, ".recipient, ", t, ".recipient_id");
          select = absl::StrCat(t, ".recipient AS recipient, ", t, ".recipient_id AS group_id");
          break;
      }
      std::string count = daily ? "d.entries" : "1";
      std::string settled = daily ? "d.settle_day < ?" : "e.settle_at < ?";
      std::string sql_text = absl::StrCat(
          "SELECT ", select, ", ", t, ".currency, SUM(CASE WHEN ", t, ".kind = 1 THEN ", t,
          ".amount_fen ELSE 0 END) AS sales, SUM(CASE WHEN ", t, ".kind = 2 THEN ", t,
          ".amount_fen ELSE 0 END) AS reversals, SUM(CASE WHEN ", t, ".kind = 3 THEN ", t,
          ".amount_fen ELSE 0 END) AS receivables, SUM(", t, ".amount_fen) AS net, SUM(CASE WHEN ",
          settled, " THEN ", t, ".amount_fen ELSE 0 END) AS settled, SUM(", count,
          ") AS entries, SUM(CASE WHEN ", t, ".kind = 1 THEN ", count,
          " ELSE 0 END) AS sale_entries FROM ",
          daily ? "commission_daily_totals d" : "commission_entries e", " WHERE ", where,
          " GROUP BY ", key, ", ", t, ".currency");
      SqlStatement s = Sql(c, sql_text, bound(settled_through), brand_id, bound(from), bound(to));
      BindFilter(s, clause);
      s.ForEach([&](const SqlRow& row) {
        groups[GroupKey{row.Int("recipient"), row.Str("group_id"), row.Str("currency")}].Add(
            Sums{row.Int("sales"), row.Int("reversals"), row.Int("receivables"), row.Int("net"),
                 row.Int("settled"), row.Int("entries"), row.Int("sale_entries")});
      });
    };
    if (first_day >= last_day) {
      query(TotalsSource::kEntries, start, end);
    } else {
      if (start < first_day) query(TotalsSource::kEntries, start, first_day);
      query(TotalsSource::kDailyTotals, first_day, last_day);
      if (last_day < end) query(TotalsSource::kEntries, last_day, end);
    }
    std::map<std::string, Sums> by_currency;
    for (const auto& [key, g] : groups) {
      v1::StatementGroup* out = st.add_groups();
      out->set_recipient(static_cast<v1::Recipient>(key.recipient));
      out->set_recipient_id(key.id);
      FillTotals(key.currency, g, out->mutable_totals());
      by_currency[key.currency].Add(g);
    }
    for (const auto& [currency, g] : by_currency) FillTotals(currency, g, st.add_totals());
    return st;
  });
}

absl::StatusOr<std::vector<StatementLine>> MysqlAttributionStore::StatementLines(
    const std::string& brand_id, absl::Time start, absl::Time end, v1::StatementGrouping grouping,
    const v1::LedgerFilter& filter, std::optional<LineCursor> after, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<StatementLine>> {
    absl::Time settled_through = ReadSettledThrough(c, Lock::kNone);
    FilterClause clause = LedgerFilterClause(filter);
    std::string where = absl::StrCat("e.brand_id = ? AND e.booked_at >= ? AND e.booked_at < ?",
                                     clause.where, GroupedRows(grouping, "e"));
    if (after.has_value()) where += " AND (e.booked_at > ? OR (e.booked_at = ? AND e.id > ?))";
    where += absl::StrCat(" ORDER BY e.booked_at, e.id LIMIT ", limit);
    SqlStatement s = Sql(c, EntryQuery(where), brand_id, start, end);
    BindFilter(s, clause);
    if (after.has_value()) s.Bind(after->booked_at, after->booked_at, after->id);
    auto read = EntryReader(settled_through);
    return s.All([&](const SqlRow& row) {
      v1::LedgerEntry e = read(row);
      LineCursor cursor{common::FromTimestamp(e.booked_at()), IdOf(e.id())};
      return StatementLine{std::move(e), cursor};
    });
  });
}

absl::StatusOr<absl::Time> MysqlAttributionStore::SettledThrough() {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<absl::Time> {
    return ReadSettledThrough(c, Lock::kNone);
  });
}

absl::StatusOr<absl::Time> MysqlAttributionStore::Settle(absl::Time through_in, absl::Time now) {
  // Settlement is daily: up to the start of the UTC day of `through`.
  absl::Time through =
      absl::FromCivil(absl::ToCivilDay(through_in, absl::UTCTimeZone()), absl::UTCTimeZone());
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<absl::Time> {
    // The exclusive lock waits for refunds in flight, which read the mark under a shared lock.
    Sql(c,
        "UPDATE settlement_clock SET settled_through = GREATEST(settled_through, ?) WHERE id = 1",
        through)
        .Execute();
    absl::Time mark = ReadSettledThrough(c, Lock::kNone);
    Sql(c, "INSERT INTO settlement_runs (settled_through, ran_at) VALUES (?, ?)", mark, now)
        .Execute();
    return mark;
  });
}

}  // namespace livecommerce::attribution
