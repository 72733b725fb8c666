// MysqlAttributionStore: commission rules, attributed orders and refunds (the paid orders
// themselves are written by the batched writers in mysql_attribution_store.cc).
#include <map>

#include "absl/strings/str_cat.h"
#include "services/attribution/store/mysql_attribution_store.h"
#include "services/attribution/store/mysql_rows.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"

namespace livecommerce::attribution {

using common::FormatId;
using common::MysqlConnection;
using common::Sql;
using common::SqlRow;
using common::ToTimestamp;
using mysql_rows::EntryQuery;
using mysql_rows::EntryReader;
using mysql_rows::EntryRow;
using mysql_rows::IdOf;
using mysql_rows::InsertEntries;
using mysql_rows::Lock;
using mysql_rows::ReadSettledThrough;

namespace {

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

struct LoadedRule {
  RuleSpec spec;
  std::string created_by;
  absl::Time created_at;
};

// The brand's rules with their lines (one row per line), by rule id.
std::vector<LoadedRule> SelectRules(MysqlConnection& c, const std::string& brand_id) {
  std::vector<LoadedRule> rules;
  Sql(c,
      absl::StrCat("SELECT ", kRuleColumns,
                   " FROM commission_rules r JOIN commission_rule_lines l ON l.rule_id = r.id "
                   "WHERE r.brand_id = ? ORDER BY r.id, l.line_no"),
      brand_id)
      .ForEach([&](const SqlRow& row) {
        int64_t id = row.Int("id");
        if (rules.empty() || rules.back().spec.id != id) {
          LoadedRule r;
          r.spec.id = id;
          r.spec.version = static_cast<int32_t>(row.Int("version"));
          r.spec.scope = row.Enum<v1::RuleScope>("scope");
          r.spec.scope_id = row.Str("scope_id");
          r.spec.effective_from = row.Time("effective_from");
          r.spec.effective_to = row.OptTime("effective_to");
          r.created_by = row.Str("created_by");
          r.created_at = row.Time("created_at");
          rules.push_back(std::move(r));
        }
        SplitLineSpec line;
        line.recipient = row.Enum<v1::Recipient>("recipient");
        line.party = row.Str("party");
        line.basis_points = static_cast<int32_t>(row.Int("basis_points"));
        rules.back().spec.lines.push_back(std::move(line));
      });
  return rules;
}

// ---- Attributed orders ----

constexpr char kOrderColumns[] =
    "o.id, o.order_id, o.buyer_id, o.room_id, o.session_id, o.amount_fen, o.currency, o.paid_at, "
    "o.channel, o.associate_id, o.store_id, o.host_associate_id, o.inviting_associate_id, o.rule, "
    "o.reason, o.touch_id, o.settle_at, o.recorded_at, (SELECT COALESCE(SUM(r.amount_fen), 0) "
    "FROM attributed_refunds r WHERE r.brand_id = o.brand_id AND r.order_id = o.order_id) AS "
    "refunded_fen";

v1::AttributedOrder ReadOrder(const SqlRow& row) {
  v1::AttributedOrder o;
  o.set_order_id(row.Str("order_id"));
  o.set_buyer_id(row.Str("buyer_id"));
  o.set_room_id(row.Str("room_id"));
  o.set_session_id(row.Str("session_id"));
  o.mutable_amount()->set_amount_fen(row.Int("amount_fen"));
  o.mutable_amount()->set_currency(row.Str("currency"));
  ToTimestamp(row.Time("paid_at"), o.mutable_paid_at());
  o.set_channel(row.Enum<v1::Channel>("channel"));
  o.set_associate_id(FormatId(row.Int("associate_id")));
  o.set_store_id(FormatId(row.Int("store_id")));
  o.set_host_associate_id(FormatId(row.Int("host_associate_id")));
  o.set_inviting_associate_id(FormatId(row.Int("inviting_associate_id")));
  o.set_rule(row.Enum<v1::AttributionRule>("rule"));
  o.set_reason(row.Str("reason"));
  o.set_touch_id(FormatId(row.Int("touch_id")));
  ToTimestamp(row.Time("settle_at"), o.mutable_settle_at());
  ToTimestamp(row.Time("recorded_at"), o.mutable_recorded_at());
  o.mutable_refunded()->set_amount_fen(row.Int("refunded_fen"));
  o.mutable_refunded()->set_currency(o.amount().currency());
  return o;
}

// What a refund needs of its order, read under the order's row lock.
struct RefundedOrder {
  int64_t amount_fen = 0;
  std::string currency;
  absl::Time settle_at;
  int64_t store_id = 0;
};

int64_t RefundedTotal(MysqlConnection& c, const RefundWrite& w) {
  return Sql(c,
             "SELECT COALESCE(SUM(amount_fen), 0) FROM attributed_refunds WHERE brand_id = ? AND "
             "order_id = ?",
             w.brand_id, w.order_id)
      .Scalar()
      .value_or(0);
}

}  // namespace

// ---- Rules ----

absl::StatusOr<v1::CommissionRule> MysqlAttributionStore::CreateRule(const std::string& brand_id,
                                                                     const RuleSpec& rule_in,
                                                                     const std::string& created_by,
                                                                     absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<v1::CommissionRule> {
    RuleSpec rule = rule_in;
    std::optional<int64_t> latest =
        Sql(c,
            "SELECT COALESCE(MAX(version), 0) FROM commission_rules WHERE brand_id = ? AND scope = "
            "? AND scope_id = ? FOR UPDATE",
            brand_id, rule.scope, rule.scope_id)
            .Scalar();
    rule.version = latest.has_value() ? static_cast<int32_t>(*latest) + 1 : 1;
    Sql(c,
        "INSERT INTO commission_rules (brand_id, scope, scope_id, version, effective_from, "
        "effective_to, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        brand_id, rule.scope, rule.scope_id, rule.version, rule.effective_from, rule.effective_to,
        created_by, now)
        .Execute();
    rule.id = c.LastInsertId();
    for (size_t i = 0; i < rule.lines.size(); ++i) {
      Sql(c,
          "INSERT INTO commission_rule_lines (rule_id, line_no, recipient, party, basis_points, "
          "brand_id) VALUES (?, ?, ?, ?, ?, ?)",
          rule.id, static_cast<int>(i), rule.lines[i].recipient, rule.lines[i].party,
          rule.lines[i].basis_points, brand_id)
          .Execute();
    }
    return RuleProto(rule, created_by, now);
  });
}

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

// ---- Attributed orders ----

absl::StatusOr<AttributedOrderRecord> MysqlAttributionStore::GetAttributedOrder(
    const std::string& brand_id, const std::string& order_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<AttributedOrderRecord> {
    std::optional<v1::AttributedOrder> order =
        Sql(c,
            absl::StrCat("SELECT ", kOrderColumns,
                         " FROM attributed_orders o WHERE o.brand_id = ? AND o.order_id = ?"),
            brand_id, order_id)
            .One(ReadOrder);
    if (!order.has_value())
      return absl::NotFoundError("order_id: no attributed order with this id");
    AttributedOrderRecord result;
    result.order = *std::move(order);
    result.entries =
        Sql(c, EntryQuery("e.brand_id = ? AND e.order_id = ? ORDER BY e.id"), brand_id, order_id)
            .All(EntryReader(ReadSettledThrough(c, Lock::kNone)));
    return result;
  });
}

absl::StatusOr<std::vector<AttributedOrderRow>> MysqlAttributionStore::ListAttributedOrders(
    const std::string& brand_id, int64_t associate_id, std::optional<absl::Time> from,
    std::optional<absl::Time> to, int64_t after_id, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<AttributedOrderRow>> {
    return Sql(c,
               absl::StrCat("SELECT ", kOrderColumns,
                            " FROM attributed_orders o WHERE o.brand_id = ? AND (? = 0 OR "
                            "o.associate_id = ?) AND o.paid_at >= ? AND o.paid_at < ? AND o.id > ? "
                            "ORDER BY o.id LIMIT ?"),
               brand_id, associate_id, associate_id, from.value_or(absl::FromUnixSeconds(0)),
               to.value_or(absl::FromUnixSeconds(253402300799)), after_id, limit)
        .All([](const SqlRow& row) {
          return AttributedOrderRow{ReadOrder(row), row.Int("id")};
        });
  });
}

// ---- Refunds ----

absl::StatusOr<RefundResult> MysqlAttributionStore::RecordRefund(const RefundWrite& w) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<RefundResult> {
    std::optional<RefundedOrder> order =
        Sql(c,
            "SELECT amount_fen, currency, settle_at, store_id FROM attributed_orders WHERE "
            "brand_id = ? AND order_id = ? FOR UPDATE",
            w.brand_id, w.order_id)
            .One([](const SqlRow& row) {
              return RefundedOrder{row.Int("amount_fen"), row.Str("currency"),
                                   row.Time("settle_at"), row.Int("store_id")};
            });
    if (!order.has_value()) {
      return absl::FailedPreconditionError(
          "order_id: the paid order has not been recorded yet; send the refund again later");
    }
    RefundResult result;
    result.currency = order->currency;
    bool seen = Sql(c,
                    "SELECT 1 FROM attributed_refunds WHERE brand_id = ? AND order_id = ? AND "
                    "refund_id = ?",
                    w.brand_id, w.order_id, w.refund_id)
                    .Scalar()
                    .has_value();
    absl::Time settled_through = ReadSettledThrough(c, Lock::kShared);
    auto refund_entries = [&]() {
      return Sql(c,
                 EntryQuery("e.brand_id = ? AND e.order_id = ? AND e.refund_id = ? ORDER BY e.id"),
                 w.brand_id, w.order_id, w.refund_id)
          .All(EntryReader(settled_through));
    };
    if (seen) {
      result.replayed = true;
      result.refunded_fen = RefundedTotal(c, w);
      result.entries = refund_entries();
      return result;
    }
    if (w.currency != order->currency) {
      return common::InvalidField("amount.currency", "differs from the paid order's currency");
    }
    int64_t before = RefundedTotal(c, w);
    if (w.amount_fen > order->amount_fen - before) {
      return absl::FailedPreconditionError(absl::StrCat("amount: exceeds what is left unrefunded (",
                                                        order->amount_fen - before, " fen)"));
    }
    int64_t after = before + w.amount_fen;
    bool after_settlement = order->settle_at < settled_through;

    Sql(c,
        "INSERT INTO attributed_refunds (brand_id, order_id, refund_id, amount_fen, currency, "
        "refunded_at, after_settlement, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        w.brand_id, w.order_id, w.refund_id, w.amount_fen, order->currency, w.refunded_at,
        after_settlement, w.booked_at)
        .Execute();

    // The sale entries and what each has had reversed so far.
    std::vector<v1::LedgerEntry> sales =
        Sql(c, EntryQuery("e.brand_id = ? AND e.order_id = ? AND e.kind = 1 ORDER BY e.id"),
            w.brand_id, w.order_id)
            .All(EntryReader(settled_through));
    std::map<int64_t, int64_t> reversed;
    Sql(c,
        "SELECT reverses_entry_id, SUM(amount_fen) AS reversed_fen FROM commission_entries WHERE "
        "brand_id = ? AND order_id = ? AND kind <> 1 GROUP BY reverses_entry_id",
        w.brand_id, w.order_id)
        .ForEach([&](const SqlRow& row) {
          reversed[row.Int("reverses_entry_id")] = row.Int("reversed_fen");
        });
    std::vector<int64_t> sale_fen, reversed_fen;
    for (const v1::LedgerEntry& e : sales) {
      sale_fen.push_back(e.amount().amount_fen());
      reversed_fen.push_back(reversed[IdOf(e.id())]);
    }
    std::vector<int64_t> reversals =
        RefundReversals(sale_fen, reversed_fen, after, order->amount_fen);
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
      row.store_id = order->store_id;
      row.rule_id = IdOf(e.rule_id());
      row.rule_version = e.rule_version();
      row.line_no = e.line_no();
      row.basis_points = e.basis_points();
      row.base_fen = e.base_fen();
      row.amount_fen = reversals[i];
      row.currency = order->currency;
      row.booked_at = w.booked_at;
      // Before settlement a reversal settles with its sale; a receivable is due at once.
      row.settle_at = after_settlement ? w.booked_at : order->settle_at;
      rows.push_back(std::move(row));
    }
    if (!rows.empty()) InsertEntries(c, rows);
    result.refunded_fen = after;
    result.entries = refund_entries();
    return result;
  });
}

}  // namespace livecommerce::attribution
