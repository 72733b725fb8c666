#include "services/attribution/store/mysql_attribution_store.h"

#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <algorithm>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"

namespace livecommerce::attribution {
namespace {

using common::FormatId;
using common::MysqlConnection;
using common::SqlTimeAt;
using common::ToSqlTime;
using common::ToTimestamp;

int64_t IdOf(const std::string& id) {
  int64_t value = 0;
  return absl::SimpleAtoi(id, &value) && value > 0 ? value : 0;
}

void SetNullableId(sql::PreparedStatement& s, int index, int64_t id) {
  if (id == 0) {
    s.setNull(index, 0);
  } else {
    s.setInt64(index, id);
  }
}

int64_t NullableIdAt(sql::ResultSet& rs, int column) {
  return rs.isNull(column) ? 0 : rs.getInt64(column);
}

absl::Time TimeAt(sql::ResultSet& rs, int column) {
  return SqlTimeAt(rs, column).value_or(absl::UnixEpoch());
}

// "?, ?, ?" for `n` columns, repeated as `rows` row groups.
std::string Rows(int columns, size_t rows) {
  std::string one = "(";
  for (int i = 0; i < columns; ++i) absl::StrAppend(&one, i == 0 ? "?" : ", ?");
  one += ")";
  std::string all;
  for (size_t r = 0; r < rows; ++r) absl::StrAppend(&all, r == 0 ? "" : ", ", one);
  return all;
}

// ---- Stores and associates ----

constexpr char kAssociateColumns[] = "id, brand_id, store_id, name, status, created_at, updated_at";

v1::Associate ReadAssociate(sql::ResultSet& rs) {
  v1::Associate a;
  a.set_id(FormatId(rs.getInt64(1)));
  a.set_brand_id(rs.getString(2));
  a.set_store_id(FormatId(rs.getInt64(3)));
  a.set_name(rs.getString(4));
  a.set_status(static_cast<v1::AssociateStatus>(rs.getInt(5)));
  ToTimestamp(TimeAt(rs, 6), a.mutable_created_at());
  ToTimestamp(TimeAt(rs, 7), a.mutable_updated_at());
  return a;
}

absl::StatusOr<v1::Associate> SelectAssociate(MysqlConnection& c, const std::string& brand_id,
                                              int64_t id, bool lock) {
  sql::PreparedStatement& s = c.Prepare(
      absl::StrCat("SELECT ", kAssociateColumns, " FROM associates WHERE id = ? AND brand_id = ?",
                   lock ? " FOR UPDATE" : ""));
  s.setInt64(1, id);
  s.setString(2, brand_id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  if (!rs->next()) return absl::NotFoundError("associate_id: no such associate");
  return ReadAssociate(*rs);
}

absl::Status CheckStoreIn(MysqlConnection& c, const std::string& brand_id, int64_t store_id) {
  sql::PreparedStatement& s =
      c.Prepare("SELECT 1 FROM attribution_stores WHERE id = ? AND brand_id = ?");
  s.setInt64(1, store_id);
  s.setString(2, brand_id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  if (!rs->next()) return absl::NotFoundError("store_id: no such store");
  return absl::OkStatus();
}

// ---- Links, touches, bindings ----

constexpr char kLinkColumns[] =
    "id, brand_id, associate_id, target, room_id, product_id, share_channel, created_at";

v1::ShareLink ReadLink(sql::ResultSet& rs) {
  v1::ShareLink l;
  l.set_id(FormatId(rs.getInt64(1)));
  l.set_brand_id(rs.getString(2));
  l.set_associate_id(FormatId(rs.getInt64(3)));
  l.set_target(static_cast<v1::ShareTarget>(rs.getInt(4)));
  l.set_room_id(rs.getString(5));
  l.set_product_id(rs.getString(6));
  l.set_share_channel(static_cast<v1::ShareChannel>(rs.getInt(7)));
  ToTimestamp(TimeAt(rs, 8), l.mutable_created_at());
  return l;
}

constexpr char kTouchColumns[] =
    "id, viewer_id, associate_id, room_id, product_id, channel, source, share_link_id, touched_at";

v1::Touch ReadTouch(sql::ResultSet& rs) {
  v1::Touch t;
  t.set_id(FormatId(rs.getInt64(1)));
  t.set_viewer_id(rs.getString(2));
  t.set_associate_id(FormatId(rs.getInt64(3)));
  t.set_room_id(rs.getString(4));
  t.set_product_id(rs.getString(5));
  t.set_channel(static_cast<v1::Channel>(rs.getInt(6)));
  t.set_source(static_cast<v1::TouchSource>(rs.getInt(7)));
  t.set_share_link_id(FormatId(NullableIdAt(rs, 8)));
  ToTimestamp(TimeAt(rs, 9), t.mutable_touched_at());
  return t;
}

constexpr char kBindingColumns[] =
    "b.id, b.viewer_id, b.associate_id, b.reason, b.previous_associate_id, b.changed_by, b.note, "
    "b.bound_at, b.protected_until";

struct BindingRow {
  int64_t id = 0;
  int64_t associate_id = 0;
  absl::Time bound_at;
  absl::Time protected_until;
  v1::ClientBinding proto;
};

BindingRow ReadBinding(sql::ResultSet& rs) {
  BindingRow row;
  row.id = rs.getInt64(1);
  row.associate_id = rs.getInt64(3);
  row.bound_at = TimeAt(rs, 8);
  row.protected_until = TimeAt(rs, 9);
  v1::ClientBinding& b = row.proto;
  b.set_viewer_id(rs.getString(2));
  b.set_associate_id(FormatId(row.associate_id));
  b.set_reason(static_cast<v1::BindingReason>(rs.getInt(4)));
  b.set_previous_associate_id(FormatId(NullableIdAt(rs, 5)));
  b.set_changed_by(rs.getString(6));
  b.set_note(rs.getString(7));
  ToTimestamp(row.bound_at, b.mutable_bound_at());
  ToTimestamp(row.protected_until, b.mutable_protected_until());
  return row;
}

// The viewer's latest binding made at or before `t` (locked when asked).
std::optional<BindingRow> LatestBinding(MysqlConnection& c, const std::string& brand_id,
                                        const std::string& viewer_id, absl::Time t, bool lock) {
  sql::PreparedStatement& s = c.Prepare(absl::StrCat(
      "SELECT ", kBindingColumns,
      " FROM client_bindings b WHERE b.brand_id = ? AND b.viewer_id = ? AND b.bound_at <= ? "
      "ORDER BY b.bound_at DESC, b.id DESC LIMIT 1",
      lock ? " FOR UPDATE" : ""));
  s.setString(1, brand_id);
  s.setString(2, viewer_id);
  s.setDateTime(3, ToSqlTime(t));
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  if (!rs->next()) return std::nullopt;
  return ReadBinding(*rs);
}

// Takes the viewer's binding lock until the transaction ends (inserted on first use; an upsert so
// the lock is exclusive at once, never a shared lock upgraded).
void LockViewer(MysqlConnection& c, const std::string& brand_id, const std::string& viewer_id) {
  sql::PreparedStatement& s = c.Prepare(
      "INSERT INTO client_binding_locks (brand_id, viewer_id, changes) VALUES (?, ?, 1) ON "
      "DUPLICATE KEY UPDATE changes = changes + 1");
  s.setString(1, brand_id);
  s.setString(2, viewer_id);
  s.executeUpdate();
}

BindingRow InsertBinding(MysqlConnection& c, const std::string& brand_id,
                         const std::string& viewer_id, int64_t associate_id,
                         v1::BindingReason reason, int64_t previous, int64_t touch_id,
                         const std::string& changed_by, const std::string& note, absl::Time at,
                         absl::Time until) {
  sql::PreparedStatement& s = c.Prepare(
      "INSERT INTO client_bindings (brand_id, viewer_id, associate_id, reason, "
      "previous_associate_id, touch_id, changed_by, note, bound_at, protected_until) VALUES (?, ?, "
      "?, ?, ?, ?, ?, ?, ?, ?)");
  s.setString(1, brand_id);
  s.setString(2, viewer_id);
  s.setInt64(3, associate_id);
  s.setInt(4, reason);
  SetNullableId(s, 5, previous);
  SetNullableId(s, 6, touch_id);
  s.setString(7, changed_by);
  s.setString(8, note);
  s.setDateTime(9, ToSqlTime(at));
  s.setDateTime(10, ToSqlTime(until));
  s.executeUpdate();
  BindingRow row;
  row.id = c.LastInsertId();
  row.associate_id = associate_id;
  row.bound_at = at;
  row.protected_until = until;
  row.proto.set_viewer_id(viewer_id);
  row.proto.set_associate_id(FormatId(associate_id));
  row.proto.set_reason(reason);
  row.proto.set_previous_associate_id(FormatId(previous));
  row.proto.set_changed_by(changed_by);
  row.proto.set_note(note);
  ToTimestamp(at, row.proto.mutable_bound_at());
  ToTimestamp(until, row.proto.mutable_protected_until());
  return row;
}

// ---- Orders and entries ----

constexpr char kOrderColumns[] =
    "o.id, o.order_id, o.buyer_id, o.room_id, o.session_id, o.amount_fen, o.currency, o.paid_at, "
    "o.channel, o.associate_id, o.store_id, o.host_associate_id, o.inviting_associate_id, o.rule, "
    "o.reason, o.touch_id, o.settle_at, o.recorded_at, (SELECT COALESCE(SUM(r.amount_fen), 0) "
    "FROM attributed_refunds r WHERE r.brand_id = o.brand_id AND r.order_id = o.order_id)";

v1::AttributedOrder ReadOrder(sql::ResultSet& rs) {
  v1::AttributedOrder o;
  o.set_order_id(rs.getString(2));
  o.set_buyer_id(rs.getString(3));
  o.set_room_id(rs.getString(4));
  o.set_session_id(rs.getString(5));
  o.mutable_amount()->set_amount_fen(rs.getInt64(6));
  o.mutable_amount()->set_currency(rs.getString(7));
  ToTimestamp(TimeAt(rs, 8), o.mutable_paid_at());
  o.set_channel(static_cast<v1::Channel>(rs.getInt(9)));
  o.set_associate_id(FormatId(NullableIdAt(rs, 10)));
  o.set_store_id(FormatId(NullableIdAt(rs, 11)));
  o.set_host_associate_id(FormatId(NullableIdAt(rs, 12)));
  o.set_inviting_associate_id(FormatId(NullableIdAt(rs, 13)));
  o.set_rule(static_cast<v1::AttributionRule>(rs.getInt(14)));
  o.set_reason(rs.getString(15));
  o.set_touch_id(FormatId(NullableIdAt(rs, 16)));
  ToTimestamp(TimeAt(rs, 17), o.mutable_settle_at());
  ToTimestamp(TimeAt(rs, 18), o.mutable_recorded_at());
  o.mutable_refunded()->set_amount_fen(rs.getInt64(19));
  o.mutable_refunded()->set_currency(o.amount().currency());
  return o;
}

constexpr char kEntryColumns[] =
    "e.id, e.order_id, e.kind, e.refund_id, e.recipient, e.recipient_id, e.store_id, e.rule_id, "
    "e.rule_version, e.line_no, e.basis_points, e.base_fen, e.amount_fen, e.currency, "
    "e.booked_at, e.settle_at";

// Reads an entry; `settled_through` decides its status.
v1::LedgerEntry ReadEntry(sql::ResultSet& rs, absl::Time settled_through) {
  v1::LedgerEntry e;
  e.set_id(FormatId(rs.getInt64(1)));
  e.set_order_id(rs.getString(2));
  e.set_kind(static_cast<v1::EntryKind>(rs.getInt(3)));
  e.set_refund_id(rs.getString(4));
  e.set_recipient(static_cast<v1::Recipient>(rs.getInt(5)));
  e.set_recipient_id(rs.getString(6));
  e.set_store_id(FormatId(rs.getInt64(7)));
  e.set_rule_id(FormatId(rs.getInt64(8)));
  e.set_rule_version(rs.getInt(9));
  e.set_line_no(rs.getInt(10));
  e.set_basis_points(rs.getInt(11));
  e.set_base_fen(rs.getInt64(12));
  e.mutable_amount()->set_amount_fen(rs.getInt64(13));
  e.mutable_amount()->set_currency(rs.getString(14));
  absl::Time booked = TimeAt(rs, 15);
  absl::Time settle = TimeAt(rs, 16);
  ToTimestamp(booked, e.mutable_booked_at());
  ToTimestamp(settle, e.mutable_settle_at());
  e.set_status(settle < settled_through ? v1::ENTRY_STATUS_SETTLED : v1::ENTRY_STATUS_PENDING);
  return e;
}

absl::Time ReadSettledThrough(MysqlConnection& c, bool share_lock) {
  sql::PreparedStatement& s =
      c.Prepare(absl::StrCat("SELECT settled_through FROM settlement_clock WHERE id = 1",
                             share_lock ? " LOCK IN SHARE MODE" : ""));
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  return rs->next() ? TimeAt(*rs, 1) : absl::UnixEpoch();
}

std::vector<v1::LedgerEntry> SelectEntries(MysqlConnection& c, const std::string& where,
                                           const std::vector<std::string>& params,
                                           absl::Time settled_through) {
  sql::PreparedStatement& s =
      c.Prepare(absl::StrCat("SELECT ", kEntryColumns, " FROM commission_entries e WHERE ", where));
  for (size_t i = 0; i < params.size(); ++i) s.setString(static_cast<int>(i + 1), params[i]);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  std::vector<v1::LedgerEntry> out;
  while (rs->next()) out.push_back(ReadEntry(*rs, settled_through));
  return out;
}

constexpr int kOrderInsertColumns = 18;
constexpr char kOrderInsert[] =
    "INSERT INTO attributed_orders (brand_id, order_id, buyer_id, room_id, session_id, "
    "amount_fen, currency, paid_at, channel, associate_id, store_id, host_associate_id, "
    "inviting_associate_id, rule, reason, touch_id, settle_at, recorded_at) VALUES ";

void BindOrder(sql::PreparedStatement& s, int base, const PaidOrderWrite& w) {
  const v1::AttributedOrder& o = w.order;
  s.setString(base + 1, w.brand_id);
  s.setString(base + 2, o.order_id());
  s.setString(base + 3, o.buyer_id());
  s.setString(base + 4, o.room_id());
  s.setString(base + 5, o.session_id());
  s.setInt64(base + 6, o.amount().amount_fen());
  s.setString(base + 7, o.amount().currency());
  s.setDateTime(base + 8, ToSqlTime(common::FromTimestamp(o.paid_at())));
  s.setInt(base + 9, o.channel());
  SetNullableId(s, base + 10, IdOf(o.associate_id()));
  SetNullableId(s, base + 11, w.store_id);
  SetNullableId(s, base + 12, IdOf(o.host_associate_id()));
  SetNullableId(s, base + 13, IdOf(o.inviting_associate_id()));
  s.setInt(base + 14, o.rule());
  s.setString(base + 15, o.reason().substr(0, 300));
  SetNullableId(s, base + 16, IdOf(o.touch_id()));
  s.setDateTime(base + 17, ToSqlTime(common::FromTimestamp(o.settle_at())));
  s.setDateTime(base + 18, ToSqlTime(w.booked_at));
}

constexpr int kEntryInsertColumns = 17;
constexpr char kEntryInsert[] =
    "INSERT INTO commission_entries (brand_id, order_id, kind, refund_id, reverses_entry_id, "
    "recipient, recipient_id, store_id, rule_id, rule_version, line_no, basis_points, base_fen, "
    "amount_fen, currency, booked_at, settle_at) VALUES ";

struct EntryRow {
  const std::string* brand_id;
  const std::string* order_id;
  v1::EntryKind kind;
  std::string refund_id;
  int64_t reverses = 0;
  v1::Recipient recipient;
  std::string recipient_id;
  int64_t store_id = 0;
  int64_t rule_id = 0;
  int32_t rule_version = 0;
  int32_t line_no = 0;
  int32_t basis_points = 0;
  int64_t base_fen = 0;
  int64_t amount_fen = 0;
  std::string currency;
  absl::Time booked_at;
  absl::Time settle_at;
};

void BindEntry(sql::PreparedStatement& s, int base, const EntryRow& e) {
  s.setString(base + 1, *e.brand_id);
  s.setString(base + 2, *e.order_id);
  s.setInt(base + 3, e.kind);
  s.setString(base + 4, e.refund_id);
  SetNullableId(s, base + 5, e.reverses);
  s.setInt(base + 6, e.recipient);
  s.setString(base + 7, e.recipient_id);
  s.setInt64(base + 8, e.store_id);
  s.setInt64(base + 9, e.rule_id);
  s.setInt(base + 10, e.rule_version);
  s.setInt(base + 11, e.line_no);
  s.setInt(base + 12, e.basis_points);
  s.setInt64(base + 13, e.base_fen);
  s.setInt64(base + 14, e.amount_fen);
  s.setString(base + 15, e.currency);
  s.setDateTime(base + 16, ToSqlTime(e.booked_at));
  s.setDateTime(base + 17, ToSqlTime(e.settle_at));
}

void InsertEntries(MysqlConnection& c, const std::vector<EntryRow>& rows) {
  constexpr size_t kChunk = 512;
  for (size_t start = 0; start < rows.size(); start += kChunk) {
    size_t n = std::min(kChunk, rows.size() - start);
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(kEntryInsert, Rows(kEntryInsertColumns, n)));
    for (size_t i = 0; i < n; ++i) {
      BindEntry(s, static_cast<int>(i) * kEntryInsertColumns, rows[start + i]);
    }
    s.executeUpdate();
  }
}

std::string SqlDay(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

// Adds entries to the daily totals. Keys are upserted in sorted order, so concurrent writers lock
// shared rows (a team's day) in the same order.
void AddToDailyTotals(MysqlConnection& c, const std::vector<EntryRow>& rows) {
  using Key = std::tuple<std::string, std::string, int, std::string, int64_t, std::string, int,
                         std::string>;
  std::map<Key, std::pair<int64_t, int64_t>> sums;
  for (const EntryRow& e : rows) {
    auto& slot = sums[Key{*e.brand_id, SqlDay(e.booked_at), e.recipient, e.recipient_id, e.store_id,
                          e.currency, e.kind, SqlDay(e.settle_at)}];
    slot.first += e.amount_fen;
    slot.second += 1;
  }
  constexpr size_t kChunk = 256;
  std::vector<std::pair<Key, std::pair<int64_t, int64_t>>> all(sums.begin(), sums.end());
  for (size_t start = 0; start < all.size(); start += kChunk) {
    size_t n = std::min(kChunk, all.size() - start);
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(
        "INSERT INTO commission_daily_totals (brand_id, day, recipient, recipient_id, store_id, "
        "currency, kind, settle_day, amount_fen, entries) VALUES ",
        Rows(10, n),
        " ON DUPLICATE KEY UPDATE amount_fen = amount_fen + VALUES(amount_fen), entries = entries "
        "+ VALUES(entries)"));
    for (size_t i = 0; i < n; ++i) {
      const auto& [key, sum] = all[start + i];
      int b = static_cast<int>(i) * 10;
      s.setString(b + 1, std::get<0>(key));
      s.setString(b + 2, std::get<1>(key));
      s.setInt(b + 3, std::get<2>(key));
      s.setString(b + 4, std::get<3>(key));
      s.setInt64(b + 5, std::get<4>(key));
      s.setString(b + 6, std::get<5>(key));
      s.setInt(b + 7, std::get<6>(key));
      s.setString(b + 8, std::get<7>(key));
      s.setInt64(b + 9, sum.first);
      s.setInt64(b + 10, sum.second);
    }
    s.executeUpdate();
  }
}

std::vector<EntryRow> SaleRows(const PaidOrderWrite& w) {
  std::vector<EntryRow> rows;
  absl::Time settle_at = common::FromTimestamp(w.order.settle_at());
  for (const EntryDraft& d : w.entries) {
    EntryRow r;
    r.brand_id = &w.brand_id;
    r.order_id = &w.order.order_id();
    r.kind = v1::ENTRY_KIND_SALE;
    r.recipient = d.recipient;
    r.recipient_id = d.recipient_id;
    r.store_id = w.store_id;
    r.rule_id = d.rule_id;
    r.rule_version = d.rule_version;
    r.line_no = d.line_no;
    r.basis_points = d.basis_points;
    r.base_fen = d.base_fen;
    r.amount_fen = d.amount_fen;
    r.currency = w.order.amount().currency();
    r.booked_at = w.booked_at;
    r.settle_at = settle_at;
    rows.push_back(std::move(r));
  }
  return rows;
}

constexpr int kAlertInsertColumns = 12;
constexpr char kAlertInsert[] =
    "INSERT INTO associate_alerts (brand_id, associate_id, viewer_id, kind, room_id, session_id, "
    "order_id, sku_id, amount_fen, currency, dedupe_key, occurred_at) VALUES ";

void BindAlert(sql::PreparedStatement& s, int base, const std::string& brand_id, const v1::Alert& a,
               const std::string& dedupe_key) {
  s.setString(base + 1, brand_id);
  s.setInt64(base + 2, IdOf(a.associate_id()));
  s.setString(base + 3, a.viewer_id());
  s.setInt(base + 4, a.kind());
  s.setString(base + 5, a.room_id());
  s.setString(base + 6, a.session_id());
  s.setString(base + 7, a.order_id());
  s.setString(base + 8, a.sku_id());
  s.setInt64(base + 9, a.amount().amount_fen());
  s.setString(base + 10, a.amount().currency());
  if (dedupe_key.empty()) {
    s.setNull(base + 11, 0);
  } else {
    s.setString(base + 11, dedupe_key);
  }
  s.setDateTime(base + 12, ToSqlTime(common::FromTimestamp(a.occurred_at())));
}

std::string PaidAlertKey(const std::string& order_id) { return absl::StrCat("paid:", order_id); }

// Writes orders (with entries and alerts) in the current transaction.
void InsertPaidOrders(MysqlConnection& c, const std::vector<const PaidOrderWrite*>& writes) {
  sql::PreparedStatement& s =
      c.Prepare(absl::StrCat(kOrderInsert, Rows(kOrderInsertColumns, writes.size())));
  for (size_t i = 0; i < writes.size(); ++i) {
    BindOrder(s, static_cast<int>(i) * kOrderInsertColumns, *writes[i]);
  }
  s.executeUpdate();
  std::vector<EntryRow> entries;
  std::vector<const PaidOrderWrite*> alerted;
  for (const PaidOrderWrite* w : writes) {
    std::vector<EntryRow> rows = SaleRows(*w);
    entries.insert(entries.end(), std::make_move_iterator(rows.begin()),
                   std::make_move_iterator(rows.end()));
    if (w->paid_alert.has_value()) alerted.push_back(w);
  }
  if (!entries.empty()) {
    InsertEntries(c, entries);
    AddToDailyTotals(c, entries);
  }
  if (!alerted.empty()) {
    sql::PreparedStatement& a =
        c.Prepare(absl::StrCat(kAlertInsert, Rows(kAlertInsertColumns, alerted.size())));
    for (size_t i = 0; i < alerted.size(); ++i) {
      BindAlert(a, static_cast<int>(i) * kAlertInsertColumns, alerted[i]->brand_id,
                *alerted[i]->paid_alert, PaidAlertKey(alerted[i]->order.order_id()));
    }
    a.executeUpdate();
  }
}

// ---- Rules ----

constexpr char kRuleColumns[] =
    "r.id, r.version, r.scope, r.scope_id, r.effective_from, r.effective_to, r.created_by, "
    "r.created_at, l.line_no, l.recipient, l.party, l.basis_points";

v1::CommissionRule RuleProto(const RuleSpec& rule, const std::string& created_by,
                             absl::Time created_at) {
  v1::CommissionRule r;
  r.set_id(FormatId(rule.id));
  r.set_scope(rule.scope);
  r.set_scope_id(rule.scope_id);
  r.set_version(rule.version);
  ToTimestamp(rule.effective_from, r.mutable_effective_from());
  if (rule.effective_to.has_value()) ToTimestamp(*rule.effective_to, r.mutable_effective_to());
  for (const SplitLineSpec& line : rule.lines) {
    v1::SplitLine* l = r.add_lines();
    l->set_recipient(line.recipient);
    l->set_party(line.party);
    l->set_basis_points(line.basis_points);
  }
  r.set_created_by(created_by);
  ToTimestamp(created_at, r.mutable_created_at());
  return r;
}

// ---- Alerts ----

constexpr char kAlertColumns[] =
    "id, associate_id, viewer_id, kind, room_id, session_id, order_id, sku_id, amount_fen, "
    "currency, occurred_at";

v1::Alert ReadAlert(sql::ResultSet& rs) {
  v1::Alert a;
  a.set_id(FormatId(rs.getInt64(1)));
  a.set_associate_id(FormatId(rs.getInt64(2)));
  a.set_viewer_id(rs.getString(3));
  a.set_kind(static_cast<v1::AlertKind>(rs.getInt(4)));
  a.set_room_id(rs.getString(5));
  a.set_session_id(rs.getString(6));
  a.set_order_id(rs.getString(7));
  a.set_sku_id(rs.getString(8));
  if (rs.getInt64(9) != 0) {
    a.mutable_amount()->set_amount_fen(rs.getInt64(9));
    a.mutable_amount()->set_currency(rs.getString(10));
  }
  ToTimestamp(TimeAt(rs, 11), a.mutable_occurred_at());
  return a;
}

// WHERE clauses (and their string parameters) for a ledger filter over commission_entries e.
void AppendFilter(const v1::LedgerFilter& f, std::string& where, std::vector<std::string>& params,
                  const std::string& t = "e") {
  if (!f.associate_id().empty()) {
    where += absl::StrCat(" AND ", t, ".recipient IN (1, 2, 3) AND ", t, ".recipient_id = ?");
    params.push_back(f.associate_id());
  }
  if (!f.store_id().empty()) {
    where += absl::StrCat(" AND ", t, ".store_id = ?");
    params.push_back(f.store_id());
  }
  if (f.recipient() != v1::RECIPIENT_UNSPECIFIED) {
    where += absl::StrCat(" AND ", t, ".recipient = ", static_cast<int>(f.recipient()));
  }
  if (!f.recipient_id().empty()) {
    where += absl::StrCat(" AND ", t, ".recipient_id = ?");
    params.push_back(f.recipient_id());
  }
}

}  // namespace

struct MysqlAttributionStore::Pending {
  const PaidOrderRequest* request = nullptr;
  PaidOrderWrite* write = nullptr;
  std::promise<absl::StatusOr<bool>> done;
};

namespace {

// The facts of the buyers of a batch (one brand), read in one round trip: every binding row and
// every touch in the widest window, sorted out per order in memory.
void LoadBatchFacts(MysqlConnection& c, const std::string& brand_id,
                    const std::vector<const PaidOrderRequest*>& requests,
                    std::vector<AttributionFacts>& out) {
  std::vector<std::string> buyers;
  absl::Time from = absl::InfiniteFuture(), to = absl::InfinitePast();
  for (const PaidOrderRequest* r : requests) {
    if (r->buyer_id.empty()) continue;
    buyers.push_back(r->buyer_id);
    from = std::min(from, r->paid_at - std::max(r->window, absl::ZeroDuration()));
    to = std::max(to, r->paid_at);
  }
  if (buyers.empty()) return;
  std::sort(buyers.begin(), buyers.end());
  buyers.erase(std::unique(buyers.begin(), buyers.end()), buyers.end());
  size_t slots = 1;
  while (slots < buyers.size()) slots *= 2;
  std::string in = "?";
  for (size_t i = 1; i < slots; ++i) in += ", ?";
  sql::PreparedStatement& q = c.Prepare(absl::StrCat(
      "SELECT 0, b.viewer_id, 0, b.associate_id, a.store_id, a.status, '', 0, b.bound_at, "
      "b.protected_until, b.id FROM client_bindings b JOIN associates a ON a.id = b.associate_id "
      "WHERE b.brand_id = ? AND b.viewer_id IN (",
      in,
      ") UNION ALL SELECT 1, t.viewer_id, t.id, t.associate_id, a.store_id, a.status, t.room_id, "
      "t.channel, t.touched_at, t.touched_at, t.id FROM touches t JOIN associates a ON a.id = "
      "t.associate_id WHERE t.brand_id = ? AND t.viewer_id IN (",
      in, ") AND t.touched_at >= ? AND t.touched_at <= ?"));
  int k = 1;
  for (int part = 0; part < 2; ++part) {
    q.setString(k++, brand_id);
    for (size_t i = 0; i < slots; ++i) q.setString(k++, buyers[std::min(i, buyers.size() - 1)]);
  }
  q.setDateTime(k++, ToSqlTime(from));
  q.setDateTime(k++, ToSqlTime(to));
  struct Binding {
    BindingFact fact;
    int64_t id;
  };
  std::map<std::string, std::vector<Binding>> bindings;
  std::map<std::string, std::vector<TouchFact>> touches;
  std::unique_ptr<sql::ResultSet> rs(q.executeQuery());
  while (rs->next()) {
    std::string viewer = rs->getString(2);
    AssociateRef associate{rs->getInt64(4), rs->getInt64(5),
                           rs->getInt(6) == v1::ASSOCIATE_STATUS_ACTIVE};
    if (rs->getInt(1) == 0) {
      bindings[viewer].push_back(
          Binding{BindingFact{associate, TimeAt(*rs, 9), TimeAt(*rs, 10)}, rs->getInt64(11)});
    } else {
      TouchFact t;
      t.id = rs->getInt64(3);
      t.associate = associate;
      t.room_id = rs->getString(7);
      t.channel = static_cast<v1::Channel>(rs->getInt(8));
      t.at = TimeAt(*rs, 9);
      touches[viewer].push_back(std::move(t));
    }
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    const PaidOrderRequest& r = *requests[i];
    AttributionFacts& facts = out[i];
    facts.paid_at = r.paid_at;
    if (r.buyer_id.empty()) continue;
    const Binding* latest = nullptr;
    for (const Binding& b : bindings[r.buyer_id]) {
      if (b.fact.bound_at > r.paid_at) continue;
      if (latest == nullptr || b.fact.bound_at > latest->fact.bound_at ||
          (b.fact.bound_at == latest->fact.bound_at && b.id > latest->id)) {
        latest = &b;
      }
    }
    if (latest != nullptr) facts.binding = latest->fact;
    for (const TouchFact& t : touches[r.buyer_id]) {
      if (t.at <= r.paid_at && t.at >= r.paid_at - r.window) facts.touches.push_back(t);
    }
  }
}

// Which of the orders are recorded already (one query; the IN list padded like the facts').
std::vector<bool> RecordedOrders(MysqlConnection& c, const std::string& brand_id,
                                 const std::vector<const PaidOrderRequest*>& requests) {
  size_t slots = 1;
  while (slots < requests.size()) slots *= 2;
  std::string in = "?";
  for (size_t i = 1; i < slots; ++i) in += ", ?";
  sql::PreparedStatement& q = c.Prepare(absl::StrCat(
      "SELECT order_id FROM attributed_orders WHERE brand_id = ? AND order_id IN (", in, ")"));
  q.setString(1, brand_id);
  for (size_t i = 0; i < slots; ++i) {
    q.setString(static_cast<int>(i + 2), requests[std::min(i, requests.size() - 1)]->order_id);
  }
  std::unique_ptr<sql::ResultSet> rs(q.executeQuery());
  std::set<std::string> known;
  while (rs->next()) known.insert(rs->getString(1));
  std::vector<bool> out;
  for (const PaidOrderRequest* r : requests) out.push_back(known.count(r->order_id) > 0);
  return out;
}

}  // namespace

MysqlAttributionStore::MysqlAttributionStore(common::MysqlPool& pool, Options options)
    : pool_(pool), options_(options) {
  for (int i = 0; i < std::max(1, options_.writers); ++i) {
    writers_.emplace_back([this] { WriterLoop(); });
  }
}

MysqlAttributionStore::~MysqlAttributionStore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : writers_) t.join();
}

// ---- Stores and associates ----

absl::StatusOr<v1::Store> MysqlAttributionStore::CreateStore(const std::string& brand_id,
                                                             const v1::Store& store,
                                                             absl::Time now) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<v1::Store> {
    sql::PreparedStatement& s = c.Prepare(
        "INSERT INTO attribution_stores (brand_id, name, city, created_at) VALUES (?, ?, ?, ?)");
    s.setString(1, brand_id);
    s.setString(2, store.name());
    s.setString(3, store.city());
    s.setDateTime(4, ToSqlTime(now));
    s.executeUpdate();
    v1::Store out = store;
    out.set_id(FormatId(c.LastInsertId()));
    out.set_brand_id(brand_id);
    ToTimestamp(now, out.mutable_created_at());
    return out;
  });
}

absl::StatusOr<std::vector<v1::Store>> MysqlAttributionStore::ListStores(
    const std::string& brand_id, int64_t after_id, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<v1::Store>> {
    sql::PreparedStatement& s = c.Prepare(
        "SELECT id, name, city, created_at FROM attribution_stores WHERE brand_id = ? AND id > ? "
        "ORDER BY id LIMIT ?");
    s.setString(1, brand_id);
    s.setInt64(2, after_id);
    s.setInt(3, limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<v1::Store> out;
    while (rs->next()) {
      v1::Store st;
      st.set_id(FormatId(rs->getInt64(1)));
      st.set_brand_id(brand_id);
      st.set_name(rs->getString(2));
      st.set_city(rs->getString(3));
      ToTimestamp(TimeAt(*rs, 4), st.mutable_created_at());
      out.push_back(std::move(st));
    }
    return out;
  });
}

absl::StatusOr<v1::Associate> MysqlAttributionStore::CreateAssociate(const std::string& brand_id,
                                                                     const v1::Associate& associate,
                                                                     absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<v1::Associate> {
    LC_RETURN_IF_ERROR(CheckStoreIn(c, brand_id, IdOf(associate.store_id())));
    sql::PreparedStatement& s = c.Prepare(
        "INSERT INTO associates (brand_id, store_id, name, status, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)");
    s.setString(1, brand_id);
    s.setInt64(2, IdOf(associate.store_id()));
    s.setString(3, associate.name());
    s.setInt(4, v1::ASSOCIATE_STATUS_ACTIVE);
    s.setDateTime(5, ToSqlTime(now));
    s.setDateTime(6, ToSqlTime(now));
    s.executeUpdate();
    return SelectAssociate(c, brand_id, c.LastInsertId(), false);
  });
}

absl::StatusOr<v1::Associate> MysqlAttributionStore::UpdateAssociate(
    const std::string& brand_id, const v1::UpdateAssociateRequest& update, absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<v1::Associate> {
    LC_ASSIGN_OR_RETURN(v1::Associate a,
                        SelectAssociate(c, brand_id, IdOf(update.associate_id()), true));
    if (update.has_name()) a.set_name(update.name());
    if (update.has_store_id()) {
      LC_RETURN_IF_ERROR(CheckStoreIn(c, brand_id, IdOf(update.store_id())));
      a.set_store_id(update.store_id());
    }
    if (update.status() != v1::ASSOCIATE_STATUS_UNSPECIFIED) a.set_status(update.status());
    sql::PreparedStatement& s = c.Prepare(
        "UPDATE associates SET name = ?, store_id = ?, status = ?, updated_at = ? WHERE id = ?");
    s.setString(1, a.name());
    s.setInt64(2, IdOf(a.store_id()));
    s.setInt(3, a.status());
    s.setDateTime(4, ToSqlTime(now));
    s.setInt64(5, IdOf(a.id()));
    s.executeUpdate();
    ToTimestamp(now, a.mutable_updated_at());
    return a;
  });
}

absl::Status MysqlAttributionStore::CheckStore(const std::string& brand_id, int64_t store_id) {
  return pool_.Run(
      [&](MysqlConnection& c) -> absl::Status { return CheckStoreIn(c, brand_id, store_id); });
}

absl::StatusOr<v1::Associate> MysqlAttributionStore::GetAssociate(const std::string& brand_id,
                                                                  int64_t associate_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<v1::Associate> {
    return SelectAssociate(c, brand_id, associate_id, false);
  });
}

absl::StatusOr<std::vector<v1::Associate>> MysqlAttributionStore::ListAssociates(
    const std::string& brand_id, int64_t store_id, v1::AssociateStatus status, int64_t after_id,
    int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<v1::Associate>> {
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(
        "SELECT ", kAssociateColumns,
        " FROM associates WHERE brand_id = ? AND (? = 0 OR store_id = ?) AND (? = 0 OR status = "
        "?) AND id > ? ORDER BY id LIMIT ?"));
    s.setString(1, brand_id);
    s.setInt64(2, store_id);
    s.setInt64(3, store_id);
    s.setInt(4, status);
    s.setInt(5, status);
    s.setInt64(6, after_id);
    s.setInt(7, limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<v1::Associate> out;
    while (rs->next()) out.push_back(ReadAssociate(*rs));
    return out;
  });
}

// ---- Share links and touches ----

absl::StatusOr<v1::ShareLink> MysqlAttributionStore::CreateShareLink(const std::string& brand_id,
                                                                     const v1::ShareLink& link,
                                                                     absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<v1::ShareLink> {
    LC_ASSIGN_OR_RETURN(v1::Associate a,
                        SelectAssociate(c, brand_id, IdOf(link.associate_id()), false));
    if (a.status() != v1::ASSOCIATE_STATUS_ACTIVE) {
      return absl::FailedPreconditionError("associate_id: the associate has left");
    }
    sql::PreparedStatement& s = c.Prepare(
        "INSERT INTO share_links (brand_id, associate_id, target, room_id, product_id, "
        "share_channel, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
    s.setString(1, brand_id);
    s.setInt64(2, IdOf(link.associate_id()));
    s.setInt(3, link.target());
    s.setString(4, link.room_id());
    s.setString(5, link.product_id());
    s.setInt(6, link.share_channel());
    s.setDateTime(7, ToSqlTime(now));
    s.executeUpdate();
    v1::ShareLink out = link;
    out.set_id(FormatId(c.LastInsertId()));
    out.set_brand_id(brand_id);
    ToTimestamp(now, out.mutable_created_at());
    return out;
  });
}

absl::StatusOr<v1::ShareLink> MysqlAttributionStore::GetShareLink(const std::string& brand_id,
                                                                  int64_t link_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<v1::ShareLink> {
    sql::PreparedStatement& s = c.Prepare(
        absl::StrCat("SELECT ", kLinkColumns, " FROM share_links WHERE id = ? AND brand_id = ?"));
    s.setInt64(1, link_id);
    s.setString(2, brand_id);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    if (!rs->next()) return absl::NotFoundError("share_link_id: no such share link");
    return ReadLink(*rs);
  });
}

absl::StatusOr<std::vector<v1::ShareLink>> MysqlAttributionStore::ListShareLinks(
    const std::string& brand_id, int64_t associate_id, int64_t after_id, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<v1::ShareLink>> {
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(
        "SELECT ", kLinkColumns,
        " FROM share_links WHERE brand_id = ? AND (? = 0 OR associate_id = ?) AND id > ? ORDER "
        "BY id LIMIT ?"));
    s.setString(1, brand_id);
    s.setInt64(2, associate_id);
    s.setInt64(3, associate_id);
    s.setInt64(4, after_id);
    s.setInt(5, limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<v1::ShareLink> out;
    while (rs->next()) out.push_back(ReadLink(*rs));
    return out;
  });
}

absl::StatusOr<std::pair<v1::Touch, std::optional<v1::ClientBinding>>>
MysqlAttributionStore::RecordTouch(const std::string& brand_id, const v1::Touch& touch,
                                   const std::string& touch_key, absl::Duration protection) {
  using Result = std::pair<v1::Touch, std::optional<v1::ClientBinding>>;
  absl::Time at = common::FromTimestamp(touch.touched_at());
  auto existing = [&](MysqlConnection& c) -> absl::StatusOr<std::optional<Result>> {
    if (touch_key.empty()) return std::optional<Result>();
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(
        "SELECT ", kTouchColumns, " FROM touches WHERE brand_id = ? AND touch_key = ?"));
    s.setString(1, brand_id);
    s.setString(2, touch_key);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    if (!rs->next()) return std::optional<Result>();
    v1::Touch first = ReadTouch(*rs);
    std::optional<BindingRow> b = LatestBinding(c, brand_id, first.viewer_id(),
                                                common::FromTimestamp(first.touched_at()), false);
    return std::optional<Result>(
        Result{first, b.has_value() ? std::optional(b->proto) : std::nullopt});
  };
  absl::StatusOr<Result> recorded =
      pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<Result> {
        LC_ASSIGN_OR_RETURN(std::optional<Result> first, existing(c));
        if (first.has_value()) return *first;
        int64_t associate_id = IdOf(touch.associate_id());
        LC_ASSIGN_OR_RETURN(v1::Associate a, SelectAssociate(c, brand_id, associate_id, false));
        sql::PreparedStatement& s = c.Prepare(
            "INSERT INTO touches (brand_id, viewer_id, associate_id, room_id, product_id, channel, "
            "source, share_link_id, touch_key, touched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        s.setString(1, brand_id);
        s.setString(2, touch.viewer_id());
        s.setInt64(3, associate_id);
        s.setString(4, touch.room_id());
        s.setString(5, touch.product_id());
        s.setInt(6, touch.channel());
        s.setInt(7, touch.source());
        SetNullableId(s, 8, IdOf(touch.share_link_id()));
        if (touch_key.empty()) {
          s.setNull(9, 0);
        } else {
          s.setString(9, touch_key);
        }
        s.setDateTime(10, ToSqlTime(at));
        s.executeUpdate();
        Result result{touch, std::nullopt};
        int64_t touch_id = c.LastInsertId();
        result.first.set_id(FormatId(touch_id));

        LockViewer(c, brand_id, touch.viewer_id());
        std::optional<BindingRow> current =
            LatestBinding(c, brand_id, touch.viewer_id(), at, false);
        bool in_force =
            current.has_value() && current->bound_at <= at && at < current->protected_until;
        if (in_force && current->associate_id != associate_id) {
          // A binding to an associate who has left protects nobody.
          absl::StatusOr<v1::Associate> bound =
              SelectAssociate(c, brand_id, current->associate_id, false);
          in_force = bound.ok() && bound->status() == v1::ASSOCIATE_STATUS_ACTIVE;
        }
        if (a.status() == v1::ASSOCIATE_STATUS_ACTIVE) {
          if (!in_force) {
            current = InsertBinding(c, brand_id, touch.viewer_id(), associate_id,
                                    v1::BINDING_REASON_TOUCH,
                                    current.has_value() ? current->associate_id : 0, touch_id, "",
                                    "", at, at + protection);
          } else if (current->associate_id == associate_id) {
            current = InsertBinding(c, brand_id, touch.viewer_id(), associate_id,
                                    v1::BINDING_REASON_RENEWED, associate_id, touch_id, "", "", at,
                                    std::max(current->protected_until, at + protection));
          }
        }
        if (current.has_value()) result.second = current->proto;
        return result;
      });
  if (recorded.status().code() == absl::StatusCode::kAlreadyExists && !touch_key.empty()) {
    // Another call with the same key won the race: answer with its touch.
    return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<Result> {
      LC_ASSIGN_OR_RETURN(std::optional<Result> first, existing(c));
      if (!first.has_value()) return absl::AbortedError("touch_key: concurrent touch, try again");
      return *first;
    });
  }
  return recorded;
}

// ---- Bindings ----

absl::StatusOr<std::vector<v1::ClientBinding>> MysqlAttributionStore::BindingHistory(
    const std::string& brand_id, const std::string& viewer_id, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<v1::ClientBinding>> {
    sql::PreparedStatement& s = c.Prepare(
        absl::StrCat("SELECT ", kBindingColumns,
                     " FROM client_bindings b WHERE b.brand_id = ? AND b.viewer_id = ? ORDER BY "
                     "b.bound_at DESC, b.id DESC LIMIT ?"));
    s.setString(1, brand_id);
    s.setString(2, viewer_id);
    s.setInt(3, limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<v1::ClientBinding> out;
    while (rs->next()) out.push_back(ReadBinding(*rs).proto);
    return out;
  });
}

absl::StatusOr<v1::ClientBinding> MysqlAttributionStore::Reassign(
    const std::string& brand_id, const std::string& viewer_id, int64_t associate_id,
    const std::string& changed_by, const std::string& note, absl::Time now,
    absl::Duration protection) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<v1::ClientBinding> {
    LC_ASSIGN_OR_RETURN(v1::Associate a, SelectAssociate(c, brand_id, associate_id, false));
    if (a.status() != v1::ASSOCIATE_STATUS_ACTIVE) {
      return absl::FailedPreconditionError("associate_id: the associate has left");
    }
    LockViewer(c, brand_id, viewer_id);
    std::optional<BindingRow> current = LatestBinding(c, brand_id, viewer_id, now, false);
    return InsertBinding(c, brand_id, viewer_id, associate_id, v1::BINDING_REASON_REASSIGNED,
                         current.has_value() ? current->associate_id : 0, 0, changed_by, note, now,
                         now + protection)
        .proto;
  });
}

absl::StatusOr<std::vector<std::pair<v1::ClientBinding, int64_t>>>
MysqlAttributionStore::ListClients(const std::string& brand_id, int64_t associate_id,
                                   absl::Time now, int64_t after_id, int limit) {
  using Page = std::vector<std::pair<v1::ClientBinding, int64_t>>;
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<Page> {
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(
        "SELECT ", kBindingColumns,
        " FROM client_bindings b WHERE b.brand_id = ? AND b.associate_id = ? AND b.bound_at <= ? "
        "AND b.protected_until > ? AND b.id > ? AND NOT EXISTS (SELECT 1 FROM client_bindings n "
        "WHERE n.brand_id = b.brand_id AND n.viewer_id = b.viewer_id AND n.bound_at <= ? AND "
        "(n.bound_at > b.bound_at OR (n.bound_at = b.bound_at AND n.id > b.id))) ORDER BY b.id "
        "LIMIT ?"));
    s.setString(1, brand_id);
    s.setInt64(2, associate_id);
    s.setDateTime(3, ToSqlTime(now));
    s.setDateTime(4, ToSqlTime(now));
    s.setInt64(5, after_id);
    s.setDateTime(6, ToSqlTime(now));
    s.setInt(7, limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    Page out;
    while (rs->next()) {
      BindingRow row = ReadBinding(*rs);
      out.emplace_back(std::move(row.proto), row.id);
    }
    return out;
  });
}

absl::StatusOr<std::optional<BindingFact>> MysqlAttributionStore::BindingAt(
    const std::string& brand_id, const std::string& viewer_id, absl::Time t) {
  LC_ASSIGN_OR_RETURN(AttributionFacts facts,
                      LoadFacts(brand_id, viewer_id, t, absl::ZeroDuration()));
  return facts.binding;
}

absl::StatusOr<AttributionFacts> MysqlAttributionStore::LoadFacts(const std::string& brand_id,
                                                                  const std::string& buyer_id,
                                                                  absl::Time paid_at,
                                                                  absl::Duration window) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<AttributionFacts> {
    AttributionFacts facts;
    facts.paid_at = paid_at;
    // The binding and the touches in one round trip: this runs for every paid order.
    sql::PreparedStatement& q = c.Prepare(
        "(SELECT 0 AS src, 0 AS id, b.associate_id, a.store_id, a.status, '' AS room_id, 0 AS "
        "channel, b.bound_at AS t1, b.protected_until AS t2 FROM client_bindings b JOIN "
        "associates a ON a.id = b.associate_id WHERE b.brand_id = ? AND b.viewer_id = ? AND "
        "b.bound_at <= ? ORDER BY b.bound_at DESC, b.id DESC LIMIT 1) UNION ALL (SELECT 1, t.id, "
        "t.associate_id, a.store_id, a.status, t.room_id, t.channel, t.touched_at, t.touched_at "
        "FROM touches t JOIN associates a ON a.id = t.associate_id WHERE t.brand_id = ? AND "
        "t.viewer_id = ? AND t.touched_at >= ? AND t.touched_at <= ? ORDER BY t.touched_at DESC, "
        "t.id DESC LIMIT 200)");
    q.setString(1, brand_id);
    q.setString(2, buyer_id);
    q.setDateTime(3, ToSqlTime(paid_at));
    q.setString(4, brand_id);
    q.setString(5, buyer_id);
    q.setDateTime(6, ToSqlTime(paid_at - std::max(window, absl::ZeroDuration())));
    q.setDateTime(7, ToSqlTime(paid_at));
    std::unique_ptr<sql::ResultSet> rs(q.executeQuery());
    while (rs->next()) {
      AssociateRef associate{rs->getInt64(3), rs->getInt64(4),
                             rs->getInt(5) == v1::ASSOCIATE_STATUS_ACTIVE};
      if (rs->getInt(1) == 0) {
        facts.binding = BindingFact{associate, TimeAt(*rs, 8), TimeAt(*rs, 9)};
      } else if (window > absl::ZeroDuration()) {
        TouchFact fact;
        fact.id = rs->getInt64(2);
        fact.associate = associate;
        fact.room_id = rs->getString(6);
        fact.channel = static_cast<v1::Channel>(rs->getInt(7));
        fact.at = TimeAt(*rs, 8);
        facts.touches.push_back(std::move(fact));
      }
    }
    return facts;
  });
}

absl::StatusOr<std::optional<AssociateRef>> MysqlAttributionStore::AssociateRefOf(
    const std::string& brand_id, int64_t associate_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::optional<AssociateRef>> {
    sql::PreparedStatement& s =
        c.Prepare("SELECT store_id, status FROM associates WHERE id = ? AND brand_id = ?");
    s.setInt64(1, associate_id);
    s.setString(2, brand_id);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    if (!rs->next()) return std::optional<AssociateRef>();
    return std::optional<AssociateRef>(
        AssociateRef{associate_id, rs->getInt64(1), rs->getInt(2) == v1::ASSOCIATE_STATUS_ACTIVE});
  });
}

// ---- Rules ----

absl::StatusOr<v1::CommissionRule> MysqlAttributionStore::CreateRule(const std::string& brand_id,
                                                                     const RuleSpec& rule_in,
                                                                     const std::string& created_by,
                                                                     absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<v1::CommissionRule> {
    RuleSpec rule = rule_in;
    sql::PreparedStatement& v = c.Prepare(
        "SELECT COALESCE(MAX(version), 0) FROM commission_rules WHERE brand_id = ? AND scope = ? "
        "AND scope_id = ? FOR UPDATE");
    v.setString(1, brand_id);
    v.setInt(2, rule.scope);
    v.setString(3, rule.scope_id);
    std::unique_ptr<sql::ResultSet> rs(v.executeQuery());
    rule.version = rs->next() ? rs->getInt(1) + 1 : 1;
    sql::PreparedStatement& s = c.Prepare(
        "INSERT INTO commission_rules (brand_id, scope, scope_id, version, effective_from, "
        "effective_to, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    s.setString(1, brand_id);
    s.setInt(2, rule.scope);
    s.setString(3, rule.scope_id);
    s.setInt(4, rule.version);
    s.setDateTime(5, ToSqlTime(rule.effective_from));
    if (rule.effective_to.has_value()) {
      s.setDateTime(6, ToSqlTime(*rule.effective_to));
    } else {
      s.setNull(6, 0);
    }
    s.setString(7, created_by);
    s.setDateTime(8, ToSqlTime(now));
    s.executeUpdate();
    rule.id = c.LastInsertId();
    for (size_t i = 0; i < rule.lines.size(); ++i) {
      sql::PreparedStatement& l = c.Prepare(
          "INSERT INTO commission_rule_lines (rule_id, line_no, recipient, party, basis_points, "
          "brand_id) VALUES (?, ?, ?, ?, ?, ?)");
      l.setInt64(1, rule.id);
      l.setInt(2, static_cast<int>(i));
      l.setInt(3, rule.lines[i].recipient);
      l.setString(4, rule.lines[i].party);
      l.setInt(5, rule.lines[i].basis_points);
      l.setString(6, brand_id);
      l.executeUpdate();
    }
    return RuleProto(rule, created_by, now);
  });
}

namespace {

struct LoadedRule {
  RuleSpec spec;
  std::string created_by;
  absl::Time created_at;
};

std::vector<LoadedRule> SelectRules(MysqlConnection& c, const std::string& brand_id) {
  sql::PreparedStatement& s = c.Prepare(absl::StrCat(
      "SELECT ", kRuleColumns,
      " FROM commission_rules r JOIN commission_rule_lines l ON l.rule_id = r.id WHERE "
      "r.brand_id = ? ORDER BY r.id, l.line_no"));
  s.setString(1, brand_id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  std::vector<LoadedRule> rules;
  while (rs->next()) {
    int64_t id = rs->getInt64(1);
    if (rules.empty() || rules.back().spec.id != id) {
      LoadedRule r;
      r.spec.id = id;
      r.spec.version = rs->getInt(2);
      r.spec.scope = static_cast<v1::RuleScope>(rs->getInt(3));
      r.spec.scope_id = rs->getString(4);
      r.spec.effective_from = TimeAt(*rs, 5);
      r.spec.effective_to = SqlTimeAt(*rs, 6);
      r.created_by = rs->getString(7);
      r.created_at = TimeAt(*rs, 8);
      rules.push_back(std::move(r));
    }
    SplitLineSpec line;
    line.recipient = static_cast<v1::Recipient>(rs->getInt(10));
    line.party = rs->getString(11);
    line.basis_points = rs->getInt(12);
    rules.back().spec.lines.push_back(std::move(line));
  }
  return rules;
}

}  // namespace

absl::StatusOr<std::vector<RuleSpec>> MysqlAttributionStore::LoadRules(
    const std::string& brand_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<RuleSpec>> {
    std::vector<RuleSpec> out;
    for (LoadedRule& r : SelectRules(c, brand_id)) out.push_back(std::move(r.spec));
    return out;
  });
}

absl::StatusOr<std::vector<v1::CommissionRule>> MysqlAttributionStore::ListRules(
    const std::string& brand_id, v1::RuleScope scope, const std::string& scope_id, int64_t after_id,
    int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<v1::CommissionRule>> {
    std::vector<v1::CommissionRule> out;
    for (const LoadedRule& r : SelectRules(c, brand_id)) {
      if (r.spec.id <= after_id) continue;
      if (scope != v1::RULE_SCOPE_UNSPECIFIED && r.spec.scope != scope) continue;
      if (!scope_id.empty() && r.spec.scope_id != scope_id) continue;
      out.push_back(RuleProto(r.spec, r.created_by, r.created_at));
      if (static_cast<int>(out.size()) >= limit) break;
    }
    return out;
  });
}

// ---- Paid orders: batched writes ----

absl::StatusOr<bool> MysqlAttributionStore::RecordPaidOrder(const PaidOrderRequest& request,
                                                            PaidOrderWrite& written) {
  Pending pending;
  pending.request = &request;
  pending.write = &written;
  std::future<absl::StatusOr<bool>> done = pending.done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return absl::UnavailableError("attribution store is shutting down");
    queue_.push_back(&pending);
  }
  wake_.notify_one();
  return done.get();
}

void MysqlAttributionStore::WriterLoop() {
  for (;;) {
    std::vector<Pending*> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      while (!queue_.empty() && static_cast<int>(batch.size()) < options_.max_batch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    WriteBatch(batch);
  }
}

void MysqlAttributionStore::WriteBatch(std::vector<Pending*>& batch) {
  // Replays are common (an at-least-once outbox): orders already recorded are answered as such
  // and left out, so one replay does not make its whole batch fail on the unique key. The same
  // order twice in a batch is written once.
  std::map<std::pair<std::string, std::string>, size_t> first_of;
  std::vector<size_t> repeat_of(batch.size(), SIZE_MAX);
  std::map<std::string, std::vector<size_t>> by_brand;
  for (size_t i = 0; i < batch.size(); ++i) {
    const PaidOrderRequest& r = *batch[i]->request;
    auto [it, inserted] = first_of.emplace(std::make_pair(r.brand_id, r.order_id), i);
    if (!inserted) {
      repeat_of[i] = it->second;
      continue;
    }
    by_brand[r.brand_id].push_back(i);
  }
  std::vector<AttributionFacts> facts(batch.size());
  std::vector<bool> recorded(batch.size(), false);
  absl::Status loaded = pool_.Run([&](MysqlConnection& c) {
    for (const auto& [brand, indexes] : by_brand) {
      std::vector<const PaidOrderRequest*> requests;
      for (size_t i : indexes) requests.push_back(batch[i]->request);
      std::vector<AttributionFacts> found(requests.size());
      LoadBatchFacts(c, brand, requests, found);
      std::vector<bool> known = RecordedOrders(c, brand, requests);
      for (size_t k = 0; k < indexes.size(); ++k) {
        facts[indexes[k]] = std::move(found[k]);
        recorded[indexes[k]] = known[k];
      }
    }
    return absl::OkStatus();
  });
  if (!loaded.ok()) {
    for (Pending* p : batch) p->done.set_value(loaded);
    return;
  }
  std::vector<size_t> fresh;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (repeat_of[i] != SIZE_MAX || recorded[i]) continue;
    *batch[i]->write = batch[i]->request->complete(std::move(facts[i]));
    fresh.push_back(i);
  }
  // One transaction for every new order. If another writer recorded one of them meanwhile (a
  // duplicate delivered at the same time), the unique key refuses the batch: look again at which
  // are recorded and retry without them; after a few rounds, write each on its own.
  std::vector<absl::StatusOr<bool>> result(batch.size(), false);
  // OK only once the remaining fresh orders have been written together.
  absl::Status together = absl::AbortedError("not written yet");
  for (int round = 0; round < 3 && !fresh.empty(); ++round) {
    std::vector<const PaidOrderWrite*> writes;
    for (size_t i : fresh) writes.push_back(batch[i]->write);
    together = pool_.InTransaction([&](MysqlConnection& c) {
      InsertPaidOrders(c, writes);
      return absl::OkStatus();
    });
    if (together.code() != absl::StatusCode::kAlreadyExists) break;
    std::map<std::string, std::vector<size_t>> fresh_by_brand;
    for (size_t i : fresh) fresh_by_brand[batch[i]->request->brand_id].push_back(i);
    std::set<size_t> now_recorded;
    absl::Status rechecked = pool_.Run([&](MysqlConnection& c) {
      for (const auto& [brand, indexes] : fresh_by_brand) {
        std::vector<const PaidOrderRequest*> requests;
        for (size_t i : indexes) requests.push_back(batch[i]->request);
        std::vector<bool> known = RecordedOrders(c, brand, requests);
        for (size_t k = 0; k < indexes.size(); ++k) {
          if (known[k]) now_recorded.insert(indexes[k]);
        }
      }
      return absl::OkStatus();
    });
    if (!rechecked.ok() || now_recorded.empty()) break;
    std::vector<size_t> still;
    for (size_t i : fresh) {
      if (now_recorded.count(i) == 0) still.push_back(i);
    }
    fresh = std::move(still);
  }
  for (size_t i : fresh) {
    if (together.ok()) {
      result[i] = true;
      continue;
    }
    absl::Status alone = together;
    if (fresh.size() > 1 || together.code() == absl::StatusCode::kAlreadyExists ||
        together.code() == absl::StatusCode::kAborted) {
      alone = pool_.InTransaction([&](MysqlConnection& c) {
        InsertPaidOrders(c, {batch[i]->write});
        return absl::OkStatus();
      });
    }
    if (alone.ok()) {
      result[i] = true;
    } else if (alone.code() == absl::StatusCode::kAlreadyExists) {
      result[i] = false;
    } else {
      result[i] = alone;
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (repeat_of[i] != SIZE_MAX) {
      // Recorded by its first occurrence in this batch (or failed with it).
      const absl::StatusOr<bool>& first = result[repeat_of[i]];
      result[i] = first.ok() ? absl::StatusOr<bool>(false) : first;
    }
    batch[i]->done.set_value(result[i]);
  }
}

absl::StatusOr<std::pair<v1::AttributedOrder, std::vector<v1::LedgerEntry>>>
MysqlAttributionStore::GetAttributedOrder(const std::string& brand_id,
                                          const std::string& order_id) {
  using Result = std::pair<v1::AttributedOrder, std::vector<v1::LedgerEntry>>;
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<Result> {
    sql::PreparedStatement& s =
        c.Prepare(absl::StrCat("SELECT ", kOrderColumns,
                               " FROM attributed_orders o WHERE o.brand_id = ? AND "
                               "o.order_id = ?"));
    s.setString(1, brand_id);
    s.setString(2, order_id);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    if (!rs->next()) return absl::NotFoundError("order_id: no attributed order with this id");
    Result result;
    result.first = ReadOrder(*rs);
    result.second = SelectEntries(c, "e.brand_id = ? AND e.order_id = ? ORDER BY e.id",
                                  {brand_id, order_id}, ReadSettledThrough(c, false));
    return result;
  });
}

absl::StatusOr<std::vector<std::pair<v1::AttributedOrder, int64_t>>>
MysqlAttributionStore::ListAttributedOrders(const std::string& brand_id, int64_t associate_id,
                                            std::optional<absl::Time> from,
                                            std::optional<absl::Time> to, int64_t after_id,
                                            int limit) {
  using Page = std::vector<std::pair<v1::AttributedOrder, int64_t>>;
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<Page> {
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(
        "SELECT ", kOrderColumns,
        " FROM attributed_orders o WHERE o.brand_id = ? AND (? = 0 OR o.associate_id = ?) AND "
        "o.paid_at >= ? AND o.paid_at < ? AND o.id > ? ORDER BY o.id LIMIT ?"));
    s.setString(1, brand_id);
    s.setInt64(2, associate_id);
    s.setInt64(3, associate_id);
    s.setDateTime(4, ToSqlTime(from.value_or(absl::FromUnixSeconds(0))));
    s.setDateTime(5, ToSqlTime(to.value_or(absl::FromUnixSeconds(253402300799))));
    s.setInt64(6, after_id);
    s.setInt(7, limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<std::pair<v1::AttributedOrder, int64_t>> out;
    while (rs->next()) out.emplace_back(ReadOrder(*rs), rs->getInt64(1));
    return out;
  });
}

// ---- Refunds ----

absl::StatusOr<RefundResult> MysqlAttributionStore::RecordRefund(const RefundWrite& w) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<RefundResult> {
    sql::PreparedStatement& o = c.Prepare(
        "SELECT amount_fen, currency, settle_at, store_id FROM attributed_orders WHERE brand_id "
        "= ? AND order_id = ? FOR UPDATE");
    o.setString(1, w.brand_id);
    o.setString(2, w.order_id);
    std::unique_ptr<sql::ResultSet> ors(o.executeQuery());
    if (!ors->next()) {
      return absl::FailedPreconditionError(
          "order_id: the paid order has not been recorded yet; send the refund again later");
    }
    int64_t order_fen = ors->getInt64(1);
    std::string currency = ors->getString(2);
    absl::Time order_settle_at = TimeAt(*ors, 3);
    int64_t store_id = NullableIdAt(*ors, 4);

    auto refunded_total = [&]() {
      sql::PreparedStatement& s = c.Prepare(
          "SELECT COALESCE(SUM(amount_fen), 0) FROM attributed_refunds WHERE brand_id = ? AND "
          "order_id = ?");
      s.setString(1, w.brand_id);
      s.setString(2, w.order_id);
      std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
      return rs->next() ? rs->getInt64(1) : int64_t{0};
    };
    RefundResult result;
    result.currency = currency;
    sql::PreparedStatement& dup = c.Prepare(
        "SELECT 1 FROM attributed_refunds WHERE brand_id = ? AND order_id = ? AND refund_id = ?");
    dup.setString(1, w.brand_id);
    dup.setString(2, w.order_id);
    dup.setString(3, w.refund_id);
    std::unique_ptr<sql::ResultSet> drs(dup.executeQuery());
    absl::Time settled_through = ReadSettledThrough(c, true);
    if (drs->next()) {
      result.replayed = true;
      result.refunded_fen = refunded_total();
      result.entries =
          SelectEntries(c, "e.brand_id = ? AND e.order_id = ? AND e.refund_id = ? ORDER BY e.id",
                        {w.brand_id, w.order_id, w.refund_id}, settled_through);
      return result;
    }
    if (w.currency != currency) {
      return common::InvalidField("amount.currency", "differs from the paid order's currency");
    }
    int64_t before = refunded_total();
    if (w.amount_fen > order_fen - before) {
      return absl::FailedPreconditionError(
          absl::StrCat("amount: exceeds what is left unrefunded (", order_fen - before, " fen)"));
    }
    int64_t after = before + w.amount_fen;
    bool after_settlement = order_settle_at < settled_through;

    sql::PreparedStatement& ins = c.Prepare(
        "INSERT INTO attributed_refunds (brand_id, order_id, refund_id, amount_fen, currency, "
        "refunded_at, after_settlement, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    ins.setString(1, w.brand_id);
    ins.setString(2, w.order_id);
    ins.setString(3, w.refund_id);
    ins.setInt64(4, w.amount_fen);
    ins.setString(5, currency);
    ins.setDateTime(6, ToSqlTime(w.refunded_at));
    ins.setInt(7, after_settlement ? 1 : 0);
    ins.setDateTime(8, ToSqlTime(w.booked_at));
    ins.executeUpdate();

    // The sale entries and what each has had reversed so far.
    std::vector<v1::LedgerEntry> sales =
        SelectEntries(c, "e.brand_id = ? AND e.order_id = ? AND e.kind = 1 ORDER BY e.id",
                      {w.brand_id, w.order_id}, settled_through);
    std::map<int64_t, int64_t> reversed;
    sql::PreparedStatement& r = c.Prepare(
        "SELECT reverses_entry_id, SUM(amount_fen) FROM commission_entries WHERE brand_id = ? AND "
        "order_id = ? AND kind <> 1 GROUP BY reverses_entry_id");
    r.setString(1, w.brand_id);
    r.setString(2, w.order_id);
    std::unique_ptr<sql::ResultSet> rrs(r.executeQuery());
    while (rrs->next()) reversed[NullableIdAt(*rrs, 1)] = rrs->getInt64(2);
    std::vector<int64_t> sale_fen, reversed_fen;
    for (const v1::LedgerEntry& e : sales) {
      sale_fen.push_back(e.amount().amount_fen());
      reversed_fen.push_back(reversed[IdOf(e.id())]);
    }
    std::vector<int64_t> reversals = RefundReversals(sale_fen, reversed_fen, after, order_fen);
    std::vector<EntryRow> rows;
    for (size_t i = 0; i < sales.size(); ++i) {
      const v1::LedgerEntry& e = sales[i];
      EntryRow row;
      row.brand_id = &w.brand_id;
      row.order_id = &w.order_id;
      row.kind = after_settlement ? v1::ENTRY_KIND_RECEIVABLE : v1::ENTRY_KIND_REVERSAL;
      row.refund_id = w.refund_id;
      row.reverses = IdOf(e.id());
      row.recipient = e.recipient();
      row.recipient_id = e.recipient_id();
      row.store_id = store_id;
      row.rule_id = IdOf(e.rule_id());
      row.rule_version = e.rule_version();
      row.line_no = e.line_no();
      row.basis_points = e.basis_points();
      row.base_fen = e.base_fen();
      row.amount_fen = reversals[i];
      row.currency = currency;
      row.booked_at = w.booked_at;
      // Before settlement a reversal settles with its sale; a receivable is due at once.
      row.settle_at = after_settlement ? w.booked_at : order_settle_at;
      rows.push_back(std::move(row));
    }
    if (!rows.empty()) {
      InsertEntries(c, rows);
      AddToDailyTotals(c, rows);
    }
    result.refunded_fen = after;
    result.entries =
        SelectEntries(c, "e.brand_id = ? AND e.order_id = ? AND e.refund_id = ? ORDER BY e.id",
                      {w.brand_id, w.order_id, w.refund_id}, settled_through);
    return result;
  });
}

// ---- Ledger reads ----

absl::StatusOr<std::vector<v1::LedgerEntry>> MysqlAttributionStore::ListEntries(
    const std::string& brand_id, const v1::LedgerFilter& filter, const std::string& order_id,
    int64_t after_id, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<v1::LedgerEntry>> {
    std::string where = "e.brand_id = ?";
    std::vector<std::string> params = {brand_id};
    AppendFilter(filter, where, params);
    if (!order_id.empty()) {
      where += " AND e.order_id = ?";
      params.push_back(order_id);
    }
    where += absl::StrCat(" AND e.id > ", after_id, " ORDER BY e.id LIMIT ", limit);
    return SelectEntries(c, where, params, ReadSettledThrough(c, false));
  });
}

// The rows a statement grouping counts (its groups, its totals and its lines alike): by associate,
// the entries paying associates (associate, host, inviting); by store, those of stores' orders;
// by recipient, all.
namespace {
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
}  // namespace

absl::StatusOr<v1::Statement> MysqlAttributionStore::StatementTotals(
    const std::string& brand_id, absl::Time start, absl::Time end, v1::StatementGrouping grouping,
    const v1::LedgerFilter& filter) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<v1::Statement> {
    v1::Statement st;
    absl::Time settled_through = ReadSettledThrough(c, false);
    ToTimestamp(settled_through, st.mutable_settled_through());
    // Whole UTC days from the daily totals; the partial days at either end from the entries.
    absl::TimeZone utc = absl::UTCTimeZone();
    absl::Time first_day = absl::FromCivil(absl::ToCivilDay(start, utc), utc);
    if (first_day < start) first_day += absl::Hours(24);
    absl::Time last_day = absl::FromCivil(absl::ToCivilDay(end, utc), utc);
    struct Sums {
      int64_t sales = 0, reversals = 0, receivables = 0, net = 0, settled = 0, entries = 0,
              sale_entries = 0;
    };
    std::map<std::tuple<int, std::string, std::string>, Sums> groups;
    auto query = [&](bool daily, absl::Time from, absl::Time to) {
      std::string t = daily ? "d" : "e";
      std::string where = daily ? "d.brand_id = ? AND d.day >= ? AND d.day < ?"
                                : "e.brand_id = ? AND e.booked_at >= ? AND e.booked_at < ?";
      std::vector<std::string> params = {brand_id, daily ? SqlDay(from) : ToSqlTime(from),
                                         daily ? SqlDay(to) : ToSqlTime(to)};
      AppendFilter(filter, where, params, t);
      std::string key, select;
      where += GroupedRows(grouping, t);
      switch (grouping) {
        case v1::STATEMENT_GROUPING_ASSOCIATE:
          key = absl::StrCat(t, ".recipient_id");
          select = absl::StrCat("0, ", key);
          break;
        case v1::STATEMENT_GROUPING_STORE:
          key = absl::StrCat(t, ".store_id");
          select = absl::StrCat("0, ", key);
          break;
        default:
          key = absl::StrCat(t, ".recipient, ", t, ".recipient_id");
          select = key;
          break;
      }
      std::string count = daily ? "d.entries" : "1";
      std::string settled = daily ? "d.settle_day < ?" : "e.settle_at < ?";
      std::string sql_text = absl::StrCat(
          "SELECT ", select, ", ", t, ".currency, SUM(CASE WHEN ", t, ".kind = 1 THEN ", t,
          ".amount_fen ELSE 0 END), SUM(CASE WHEN ", t, ".kind = 2 THEN ", t,
          ".amount_fen ELSE 0 END), SUM(CASE WHEN ", t, ".kind = 3 THEN ", t,
          ".amount_fen ELSE 0 END), SUM(", t, ".amount_fen), SUM(CASE WHEN ", settled, " THEN ", t,
          ".amount_fen ELSE 0 END), SUM(", count, "), SUM(CASE WHEN ", t, ".kind = 1 THEN ", count,
          " ELSE 0 END) FROM ", daily ? "commission_daily_totals d" : "commission_entries e",
          " WHERE ", where, " GROUP BY ", key, ", ", t, ".currency");
      sql::PreparedStatement& s = c.Prepare(sql_text);
      s.setString(1, daily ? SqlDay(settled_through) : ToSqlTime(settled_through));
      for (size_t i = 0; i < params.size(); ++i) s.setString(static_cast<int>(i + 2), params[i]);
      std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
      while (rs->next()) {
        Sums& g = groups[{rs->getInt(1), rs->getString(2), rs->getString(3)}];
        g.sales += rs->getInt64(4);
        g.reversals += rs->getInt64(5);
        g.receivables += rs->getInt64(6);
        g.net += rs->getInt64(7);
        g.settled += rs->getInt64(8);
        g.entries += rs->getInt64(9);
        g.sale_entries += rs->getInt64(10);
      }
    };
    if (first_day >= last_day) {
      query(false, start, end);
    } else {
      if (start < first_day) query(false, start, first_day);
      query(true, first_day, last_day);
      if (last_day < end) query(false, last_day, end);
    }
    auto fill = [](const std::string& currency, const Sums& g, v1::StatementTotals* t) {
      t->set_currency(currency);
      t->set_sales_fen(g.sales);
      t->set_reversals_fen(g.reversals);
      t->set_receivables_fen(g.receivables);
      t->set_net_fen(g.net);
      t->set_settled_fen(g.settled);
      t->set_pending_fen(g.net - g.settled);
      t->set_entries(g.entries);
      t->set_sale_entries(g.sale_entries);
    };
    std::map<std::string, Sums> by_currency;
    for (const auto& [key, g] : groups) {
      const auto& [recipient, id, currency] = key;
      v1::StatementGroup* out = st.add_groups();
      out->set_recipient(static_cast<v1::Recipient>(recipient));
      out->set_recipient_id(id);
      fill(currency, g, out->mutable_totals());
      Sums& total = by_currency[currency];
      total.sales += g.sales;
      total.reversals += g.reversals;
      total.receivables += g.receivables;
      total.net += g.net;
      total.settled += g.settled;
      total.entries += g.entries;
      total.sale_entries += g.sale_entries;
    }
    for (const auto& [currency, g] : by_currency) fill(currency, g, st.add_totals());
    return st;
  });
}

absl::StatusOr<std::vector<std::pair<v1::LedgerEntry, LineCursor>>>
MysqlAttributionStore::StatementLines(const std::string& brand_id, absl::Time start, absl::Time end,
                                      v1::StatementGrouping grouping,
                                      const v1::LedgerFilter& filter,
                                      std::optional<LineCursor> after, int limit) {
  using Lines = std::vector<std::pair<v1::LedgerEntry, LineCursor>>;
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<Lines> {
    absl::Time settled_through = ReadSettledThrough(c, false);
    std::string where = "e.brand_id = ? AND e.booked_at >= ? AND e.booked_at < ?";
    std::vector<std::string> params = {brand_id, ToSqlTime(start), ToSqlTime(end)};
    AppendFilter(filter, where, params);
    where += GroupedRows(grouping, "e");
    if (after.has_value()) {
      where += " AND (e.booked_at > ? OR (e.booked_at = ? AND e.id > ?))";
      params.push_back(ToSqlTime(after->booked_at));
      params.push_back(ToSqlTime(after->booked_at));
      params.push_back(absl::StrCat(after->id));
    }
    where += absl::StrCat(" ORDER BY e.booked_at, e.id LIMIT ", limit);
    Lines out;
    for (v1::LedgerEntry& e : SelectEntries(c, where, params, settled_through)) {
      LineCursor cursor{common::FromTimestamp(e.booked_at()), IdOf(e.id())};
      out.emplace_back(std::move(e), cursor);
    }
    return out;
  });
}

absl::StatusOr<absl::Time> MysqlAttributionStore::SettledThrough() {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<absl::Time> {
    return ReadSettledThrough(c, false);
  });
}

absl::StatusOr<absl::Time> MysqlAttributionStore::Settle(absl::Time through_in, absl::Time now) {
  // Settlement is daily: up to the start of the UTC day of `through`.
  absl::Time through =
      absl::FromCivil(absl::ToCivilDay(through_in, absl::UTCTimeZone()), absl::UTCTimeZone());
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<absl::Time> {
    // The exclusive lock waits for refunds in flight, which read the mark under a shared lock.
    sql::PreparedStatement& u = c.Prepare(
        "UPDATE settlement_clock SET settled_through = GREATEST(settled_through, ?) WHERE id = 1");
    u.setDateTime(1, ToSqlTime(through));
    u.executeUpdate();
    absl::Time mark = ReadSettledThrough(c, false);
    sql::PreparedStatement& r =
        c.Prepare("INSERT INTO settlement_runs (settled_through, ran_at) VALUES (?, ?)");
    r.setDateTime(1, ToSqlTime(mark));
    r.setDateTime(2, ToSqlTime(now));
    r.executeUpdate();
    return mark;
  });
}

// ---- Alerts ----

absl::StatusOr<v1::Alert> MysqlAttributionStore::AddAlert(const std::string& brand_id,
                                                          const v1::Alert& alert,
                                                          const std::string& dedupe_key) {
  absl::StatusOr<v1::Alert> added = pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<v1::Alert> {
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(kAlertInsert, Rows(kAlertInsertColumns, 1)));
    BindAlert(s, 0, brand_id, alert, dedupe_key);
    s.executeUpdate();
    v1::Alert out = alert;
    out.set_id(FormatId(c.LastInsertId()));
    return out;
  });
  if (added.status().code() != absl::StatusCode::kAlreadyExists) return added;
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<v1::Alert> {
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(
        "SELECT ", kAlertColumns, " FROM associate_alerts WHERE brand_id = ? AND dedupe_key = ?"));
    s.setString(1, brand_id);
    s.setString(2, dedupe_key);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    if (!rs->next()) return absl::AbortedError("concurrent alert, try again");
    return ReadAlert(*rs);
  });
}

absl::StatusOr<std::vector<v1::Alert>> MysqlAttributionStore::ListAlerts(
    const std::string& brand_id, int64_t associate_id, int64_t after_id, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<v1::Alert>> {
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(
        "SELECT ", kAlertColumns,
        " FROM associate_alerts WHERE brand_id = ? AND associate_id = ? AND id > ? ORDER BY id "
        "LIMIT ?"));
    s.setString(1, brand_id);
    s.setInt64(2, associate_id);
    s.setInt64(3, after_id);
    s.setInt(4, limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<v1::Alert> out;
    while (rs->next()) out.push_back(ReadAlert(*rs));
    return out;
  });
}

absl::Status MysqlAttributionStore::WatchUnpaidOrder(const std::string& brand_id,
                                                     const v1::Alert& order) {
  return pool_.Run([&](MysqlConnection& c) {
    sql::PreparedStatement& s = c.Prepare(
        "INSERT IGNORE INTO unpaid_order_watch (brand_id, order_id, viewer_id, associate_id, "
        "room_id, session_id, amount_fen, currency, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
        "?)");
    s.setString(1, brand_id);
    s.setString(2, order.order_id());
    s.setString(3, order.viewer_id());
    s.setInt64(4, IdOf(order.associate_id()));
    s.setString(5, order.room_id());
    s.setString(6, order.session_id());
    s.setInt64(7, order.amount().amount_fen());
    s.setString(8, order.amount().currency());
    s.setDateTime(9, ToSqlTime(common::FromTimestamp(order.occurred_at())));
    s.executeUpdate();
    return absl::OkStatus();
  });
}

absl::StatusOr<int> MysqlAttributionStore::AlertUnpaidOrders(absl::Time created_before) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<int> {
    sql::PreparedStatement& s = c.Prepare(
        "INSERT IGNORE INTO associate_alerts (brand_id, associate_id, viewer_id, kind, room_id, "
        "session_id, order_id, amount_fen, currency, dedupe_key, occurred_at) SELECT w.brand_id, "
        "w.associate_id, w.viewer_id, 3, w.room_id, w.session_id, w.order_id, w.amount_fen, "
        "w.currency, CONCAT('unpaid:', w.order_id), w.created_at FROM unpaid_order_watch w WHERE "
        "w.created_at <= ? AND NOT EXISTS (SELECT 1 FROM attributed_orders o WHERE o.brand_id = "
        "w.brand_id AND o.order_id = w.order_id)");
    s.setDateTime(1, ToSqlTime(created_before));
    int raised = s.executeUpdate();
    sql::PreparedStatement& d = c.Prepare("DELETE FROM unpaid_order_watch WHERE created_at <= ?");
    d.setDateTime(1, ToSqlTime(created_before));
    d.executeUpdate();
    return raised;
  });
}

absl::Status MysqlAttributionStore::SetPresence(const std::string& brand_id,
                                                const std::string& room_id,
                                                const std::string& viewer_id, int64_t associate_id,
                                                bool present, absl::Time at) {
  return pool_.Run([&](MysqlConnection& c) {
    sql::PreparedStatement& s = c.Prepare(
        "INSERT INTO client_presence (brand_id, room_id, viewer_id, associate_id, present, "
        "changed_at) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE associate_id = "
        "VALUES(associate_id), present = IF(VALUES(changed_at) >= changed_at, VALUES(present), "
        "present), changed_at = GREATEST(changed_at, VALUES(changed_at))");
    s.setString(1, brand_id);
    s.setString(2, room_id);
    s.setString(3, viewer_id);
    s.setInt64(4, associate_id);
    s.setInt(5, present ? 1 : 0);
    s.setDateTime(6, ToSqlTime(at));
    s.executeUpdate();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<std::string>> MysqlAttributionStore::WatchingClients(
    const std::string& brand_id, int64_t associate_id, const std::string& room_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<std::string>> {
    sql::PreparedStatement& s = c.Prepare(
        "SELECT viewer_id FROM client_presence WHERE brand_id = ? AND associate_id = ? AND "
        "room_id = ? AND present = 1 ORDER BY viewer_id LIMIT 1000");
    s.setString(1, brand_id);
    s.setInt64(2, associate_id);
    s.setString(3, room_id);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<std::string> out;
    while (rs->next()) out.push_back(rs->getString(1));
    return out;
  });
}

}  // namespace livecommerce::attribution
