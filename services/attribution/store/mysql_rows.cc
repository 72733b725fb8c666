#include "services/attribution/store/mysql_rows.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/proto_util.h"

namespace livecommerce::attribution::mysql_rows {

using common::FormatId;
using common::ToTimestamp;

int64_t IdOf(const std::string& id) {
  int64_t value = 0;
  return absl::SimpleAtoi(id, &value) && value > 0 ? value : 0;
}

std::optional<int64_t> NullableId(int64_t id) {
  return id == 0 ? std::nullopt : std::optional<int64_t>(id);
}

std::optional<std::string> NullableText(const std::string& text) {
  return text.empty() ? std::nullopt : std::optional<std::string>(text);
}

std::string Rows(int columns, size_t rows) {
  std::string one = absl::StrCat("(", Placeholders(static_cast<size_t>(columns)), ")");
  std::string all;
  for (size_t r = 0; r < rows; ++r) absl::StrAppend(&all, r == 0 ? "" : ", ", one);
  return all;
}

std::string Placeholders(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) absl::StrAppend(&out, i == 0 ? "?" : ", ?");
  return out;
}

const char* LockClause(Lock lock) {
  switch (lock) {
    case Lock::kShared:
      return " LOCK IN SHARE MODE";
    case Lock::kExclusive:
      return " FOR UPDATE";
    case Lock::kNone:
      break;
  }
  return "";
}

// ---- Stores and associates ----

v1::Associate ReadAssociate(const SqlRow& row) {
  v1::Associate a;
  a.set_id(FormatId(row.Int("id")));
  a.set_brand_id(row.Str("brand_id"));
  a.set_store_id(FormatId(row.Int("store_id")));
  a.set_name(row.Str("name"));
  a.set_status(row.Enum<v1::AssociateStatus>("status"));
  ToTimestamp(row.Time("created_at"), a.mutable_created_at());
  ToTimestamp(row.Time("updated_at"), a.mutable_updated_at());
  return a;
}

absl::StatusOr<v1::Associate> SelectAssociate(MysqlConnection& c, const std::string& brand_id,
                                              int64_t id, Lock lock) {
  std::optional<v1::Associate> found =
      Sql(c,
          absl::StrCat("SELECT ", kAssociateColumns,
                       " FROM associates WHERE id = ? AND brand_id = ?", LockClause(lock)),
          id, brand_id)
          .One(ReadAssociate);
  if (!found.has_value()) return absl::NotFoundError("associate_id: no such associate");
  return *std::move(found);
}

absl::Status CheckStoreIn(MysqlConnection& c, const std::string& brand_id, int64_t store_id) {
  if (!Sql(c, "SELECT 1 FROM attribution_stores WHERE id = ? AND brand_id = ?", store_id, brand_id)
           .Scalar()
           .has_value()) {
    return absl::NotFoundError("store_id: no such store");
  }
  return absl::OkStatus();
}

// ---- Bindings ----

BindingRow ReadBinding(const SqlRow& row) {
  BindingRow out;
  out.id = row.Int("id");
  out.associate_id = row.Int("associate_id");
  out.bound_at = row.Time("bound_at");
  out.protected_until = row.Time("protected_until");
  v1::ClientBinding& b = out.proto;
  b.set_viewer_id(row.Str("viewer_id"));
  b.set_associate_id(FormatId(out.associate_id));
  b.set_reason(row.Enum<v1::BindingReason>("reason"));
  b.set_previous_associate_id(FormatId(row.Int("previous_associate_id")));
  b.set_changed_by(row.Str("changed_by"));
  b.set_note(row.Str("note"));
  ToTimestamp(out.bound_at, b.mutable_bound_at());
  ToTimestamp(out.protected_until, b.mutable_protected_until());
  return out;
}

std::optional<BindingRow> LatestBinding(MysqlConnection& c, const std::string& brand_id,
                                        const std::string& viewer_id, absl::Time t) {
  return Sql(c,
             absl::StrCat("SELECT ", kBindingColumns,
                          " FROM client_bindings b WHERE b.brand_id = ? AND b.viewer_id = ? AND "
                          "b.bound_at <= ? ORDER BY b.bound_at DESC, b.id DESC LIMIT 1"),
             brand_id, viewer_id, t)
      .One(ReadBinding);
}

void LockViewer(MysqlConnection& c, const std::string& brand_id, const std::string& viewer_id) {
  Sql(c,
      "INSERT INTO client_binding_locks (brand_id, viewer_id, changes) VALUES (?, ?, 1) ON "
      "DUPLICATE KEY UPDATE changes = changes + 1",
      brand_id, viewer_id)
      .Execute();
}

BindingRow InsertBinding(MysqlConnection& c, const std::string& brand_id, const NewBinding& b) {
  Sql(c,
      "INSERT INTO client_bindings (brand_id, viewer_id, associate_id, reason, "
      "previous_associate_id, touch_id, changed_by, note, bound_at, protected_until) VALUES (?, ?, "
      "?, ?, ?, ?, ?, ?, ?, ?)",
      brand_id, b.viewer_id, b.associate_id, b.reason, NullableId(b.previous_associate_id),
      NullableId(b.touch_id), b.changed_by, b.note, b.bound_at, b.protected_until)
      .Execute();
  BindingRow row;
  row.id = c.LastInsertId();
  row.associate_id = b.associate_id;
  row.bound_at = b.bound_at;
  row.protected_until = b.protected_until;
  row.proto.set_viewer_id(b.viewer_id);
  row.proto.set_associate_id(FormatId(b.associate_id));
  row.proto.set_reason(b.reason);
  row.proto.set_previous_associate_id(FormatId(b.previous_associate_id));
  row.proto.set_changed_by(b.changed_by);
  row.proto.set_note(b.note);
  ToTimestamp(b.bound_at, row.proto.mutable_bound_at());
  ToTimestamp(b.protected_until, row.proto.mutable_protected_until());
  return row;
}

// ---- Ledger entries ----

std::string EntryQuery(absl::string_view where) {
  return absl::StrCat("SELECT ", kEntryColumns, " FROM commission_entries e WHERE ", where);
}

v1::LedgerEntry ReadEntry(const SqlRow& row, absl::Time settled_through) {
  v1::LedgerEntry e;
  e.set_id(FormatId(row.Int("id")));
  e.set_order_id(row.Str("order_id"));
  e.set_kind(row.Enum<v1::EntryKind>("kind"));
  e.set_refund_id(row.Str("refund_id"));
  e.set_recipient(row.Enum<v1::Recipient>("recipient"));
  e.set_recipient_id(row.Str("recipient_id"));
  e.set_store_id(FormatId(row.Int("store_id")));
  e.set_rule_id(FormatId(row.Int("rule_id")));
  e.set_rule_version(static_cast<int32_t>(row.Int("rule_version")));
  e.set_line_no(static_cast<int32_t>(row.Int("line_no")));
  e.set_basis_points(static_cast<int32_t>(row.Int("basis_points")));
  e.set_base_fen(row.Int("base_fen"));
  e.mutable_amount()->set_amount_fen(row.Int("amount_fen"));
  e.mutable_amount()->set_currency(row.Str("currency"));
  absl::Time booked = row.Time("booked_at");
  absl::Time settle = row.Time("settle_at");
  ToTimestamp(booked, e.mutable_booked_at());
  ToTimestamp(settle, e.mutable_settle_at());
  e.set_status(settle < settled_through ? v1::ENTRY_STATUS_SETTLED : v1::ENTRY_STATUS_PENDING);
  return e;
}

absl::Time ReadSettledThrough(MysqlConnection& c, Lock lock) {
  return Sql(c, absl::StrCat("SELECT settled_through FROM settlement_clock WHERE id = 1",
                             LockClause(lock)))
      .One([](const SqlRow& row) { return row.Time("settled_through"); })
      .value_or(absl::UnixEpoch());
}

std::string SqlDay(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

namespace {

constexpr int kEntryInsertColumns = 17;
constexpr char kEntryInsert[] =
    "INSERT INTO commission_entries (brand_id, order_id, kind, refund_id, reverses_entry_id, "
    "recipient, recipient_id, store_id, rule_id, rule_version, line_no, basis_points, base_fen, "
    "amount_fen, currency, booked_at, settle_at) VALUES ";

// A row of commission_daily_totals.
struct DailyKey {
  std::string brand_id;
  std::string day;
  v1::Recipient recipient;
  std::string recipient_id;
  int64_t store_id;
  std::string currency;
  v1::EntryKind kind;
  std::string settle_day;

  bool operator<(const DailyKey& o) const {
    return std::tie(brand_id, day, recipient, recipient_id, store_id, currency, kind, settle_day) <
           std::tie(o.brand_id, o.day, o.recipient, o.recipient_id, o.store_id, o.currency, o.kind,
                    o.settle_day);
  }
};

struct DailySum {
  int64_t amount_fen = 0;
  int64_t entries = 0;
};

// Adds entries to the daily totals. Keys are upserted in sorted order, so concurrent writers lock
// shared rows (a team's day) in the same order.
void AddToDailyTotals(MysqlConnection& c, const std::vector<EntryRow>& rows) {
  std::map<DailyKey, DailySum> sums;
  for (const EntryRow& e : rows) {
    DailySum& sum = sums[DailyKey{*e.brand_id, SqlDay(e.booked_at), e.recipient, e.recipient_id,
                                  e.store_id, e.currency, e.kind, SqlDay(e.settle_at)}];
    sum.amount_fen += e.amount_fen;
    sum.entries += 1;
  }
  constexpr size_t kChunk = 256;
  auto next = sums.begin();
  for (size_t left = sums.size(); left > 0;) {
    size_t n = std::min(kChunk, left);
    left -= n;
    SqlStatement s = Sql(
        c, absl::StrCat(
               "INSERT INTO commission_daily_totals (brand_id, day, recipient, recipient_id, "
               "store_id, currency, kind, settle_day, amount_fen, entries) VALUES ",
               Rows(10, n),
               " ON DUPLICATE KEY UPDATE amount_fen = amount_fen + VALUES(amount_fen), entries = "
               "entries + VALUES(entries)"));
    for (size_t i = 0; i < n; ++i, ++next) {
      const auto& [key, sum] = *next;
      s.Bind(key.brand_id, key.day, key.recipient, key.recipient_id, key.store_id, key.currency,
             key.kind, key.settle_day, sum.amount_fen, sum.entries);
    }
    s.Execute();
  }
}

}  // namespace

void InsertEntries(MysqlConnection& c, const std::vector<EntryRow>& rows) {
  constexpr size_t kChunk = 512;
  for (size_t start = 0; start < rows.size(); start += kChunk) {
    size_t n = std::min(kChunk, rows.size() - start);
    SqlStatement s = Sql(c, absl::StrCat(kEntryInsert, Rows(kEntryInsertColumns, n)));
    for (size_t i = 0; i < n; ++i) {
      const EntryRow& e = rows[start + i];
      s.Bind(*e.brand_id, *e.order_id, e.kind, e.refund_id, NullableId(e.reverses), e.recipient,
             e.recipient_id, e.store_id, e.rule_id, e.rule_version, e.line_no, e.basis_points,
             e.base_fen, e.amount_fen, e.currency, e.booked_at, e.settle_at);
    }
    s.Execute();
  }
  AddToDailyTotals(c, rows);
}

// ---- Alerts ----

void InsertAlerts(MysqlConnection& c, const std::vector<AlertRow>& alerts) {
  if (alerts.empty()) return;
  SqlStatement s = Sql(
      c, absl::StrCat("INSERT INTO associate_alerts (brand_id, associate_id, viewer_id, kind, "
                      "room_id, session_id, order_id, sku_id, amount_fen, currency, dedupe_key, "
                      "occurred_at) VALUES ",
                      Rows(12, alerts.size())));
  for (const AlertRow& row : alerts) {
    const v1::Alert& a = *row.alert;
    s.Bind(*row.brand_id, IdOf(a.associate_id()), a.viewer_id(), a.kind(), a.room_id(),
           a.session_id(), a.order_id(), a.sku_id(), a.amount().amount_fen(), a.amount().currency(),
           NullableText(row.dedupe_key), common::FromTimestamp(a.occurred_at()));
  }
  s.Execute();
}

}  // namespace livecommerce::attribution::mysql_rows
