// MysqlAttributionStore: associate alerts, the unpaid order watch and client presence.
#include "absl/strings/str_cat.h"
#include "services/attribution/store/mysql_attribution_store.h"
#include "services/attribution/store/mysql_rows.h"
#include "services/common/proto_util.h"

namespace livecommerce::attribution {

using common::FormatId;
using common::MysqlConnection;
using common::Sql;
using common::SqlRow;
using common::ToTimestamp;
using mysql_rows::AlertRow;
using mysql_rows::IdOf;
using mysql_rows::InsertAlerts;

namespace {

constexpr char kAlertColumns[] =
    "id, associate_id, viewer_id, kind, room_id, session_id, order_id, sku_id, amount_fen, "
    "currency, comment_id, comment_text, occurred_at";

v1::Alert ReadAlert(const SqlRow& row) {
  v1::Alert a;
  a.set_id(FormatId(row.Int("id")));
  a.set_associate_id(FormatId(row.Int("associate_id")));
  a.set_viewer_id(row.Str("viewer_id"));
  a.set_kind(row.Enum<v1::AlertKind>("kind"));
  a.set_room_id(row.Str("room_id"));
  a.set_session_id(row.Str("session_id"));
  a.set_order_id(row.Str("order_id"));
  a.set_sku_id(row.Str("sku_id"));
  if (int64_t amount = row.Int("amount_fen"); amount != 0) {
    a.mutable_amount()->set_amount_fen(amount);
    a.mutable_amount()->set_currency(row.Str("currency"));
  }
  a.set_comment_id(row.Str("comment_id"));
  a.set_text(row.Str("comment_text"));
  ToTimestamp(row.Time("occurred_at"), a.mutable_occurred_at());
  return a;
}

}  // namespace

absl::StatusOr<v1::Alert> MysqlAttributionStore::AddAlert(const std::string& brand_id,
                                                          const v1::Alert& alert,
                                                          const std::string& dedupe_key) {
  absl::StatusOr<v1::Alert> added = pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<v1::Alert> {
    InsertAlerts(c, {AlertRow{&brand_id, &alert, dedupe_key}});
    v1::Alert out = alert;
    out.set_id(FormatId(c.LastInsertId()));
    return out;
  });
  if (added.status().code() != absl::StatusCode::kAlreadyExists) return added;
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<v1::Alert> {
    std::optional<v1::Alert> first =
        Sql(c,
            absl::StrCat("SELECT ", kAlertColumns,
                         " FROM associate_alerts WHERE brand_id = ? AND dedupe_key = ?"),
            brand_id, dedupe_key)
            .One(ReadAlert);
    if (!first.has_value()) return absl::AbortedError("concurrent alert, try again");
    return *std::move(first);
  });
}

absl::StatusOr<std::vector<v1::Alert>> MysqlAttributionStore::ListAlerts(
    const std::string& brand_id, int64_t associate_id, int64_t after_id, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<v1::Alert>> {
    return Sql(c,
               absl::StrCat("SELECT ", kAlertColumns,
                            " FROM associate_alerts WHERE brand_id = ? AND associate_id = ? AND "
                            "id > ? ORDER BY id LIMIT ?"),
               brand_id, associate_id, after_id, limit)
        .All(ReadAlert);
  });
}

absl::Status MysqlAttributionStore::WatchUnpaidOrder(const std::string& brand_id,
                                                     const v1::Alert& order) {
  return pool_.Run([&](MysqlConnection& c) {
    Sql(c,
        "INSERT IGNORE INTO unpaid_order_watch (brand_id, order_id, viewer_id, associate_id, "
        "room_id, session_id, amount_fen, currency, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
        "?)",
        brand_id, order.order_id(), order.viewer_id(), IdOf(order.associate_id()), order.room_id(),
        order.session_id(), order.amount().amount_fen(), order.amount().currency(),
        common::FromTimestamp(order.occurred_at()))
        .Execute();
    return absl::OkStatus();
  });
}

absl::StatusOr<int> MysqlAttributionStore::AlertUnpaidOrders(absl::Time created_before) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<int> {
    int raised =
        Sql(c,
            "INSERT IGNORE INTO associate_alerts (brand_id, associate_id, viewer_id, kind, "
            "room_id, session_id, order_id, amount_fen, currency, dedupe_key, occurred_at) SELECT "
            "w.brand_id, w.associate_id, w.viewer_id, 3, w.room_id, w.session_id, w.order_id, "
            "w.amount_fen, w.currency, CONCAT('unpaid:', w.order_id), w.created_at FROM "
            "unpaid_order_watch w WHERE w.created_at <= ? AND NOT EXISTS (SELECT 1 FROM "
            "attributed_orders o WHERE o.brand_id = w.brand_id AND o.order_id = w.order_id)",
            created_before)
            .Execute();
    Sql(c, "DELETE FROM unpaid_order_watch WHERE created_at <= ?", created_before).Execute();
    return raised;
  });
}

absl::Status MysqlAttributionStore::SetPresence(const std::string& brand_id,
                                                const std::string& room_id,
                                                const std::string& viewer_id, int64_t associate_id,
                                                Presence presence, absl::Time at) {
  return pool_.Run([&](MysqlConnection& c) {
    Sql(c,
        "INSERT INTO client_presence (brand_id, room_id, viewer_id, associate_id, present, "
        "changed_at) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE associate_id = "
        "VALUES(associate_id), present = IF(VALUES(changed_at) >= changed_at, VALUES(present), "
        "present), changed_at = GREATEST(changed_at, VALUES(changed_at))",
        brand_id, room_id, viewer_id, associate_id, presence, at)
        .Execute();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<std::string>> MysqlAttributionStore::WatchingClients(
    const std::string& brand_id, int64_t associate_id, const std::string& room_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<std::string>> {
    return Sql(c,
               "SELECT viewer_id FROM client_presence WHERE brand_id = ? AND associate_id = ? AND "
               "room_id = ? AND present = 1 ORDER BY viewer_id LIMIT 1000",
               brand_id, associate_id, room_id)
        .All([](const SqlRow& row) { return row.Str("viewer_id"); });
  });
}

}  // namespace livecommerce::attribution
