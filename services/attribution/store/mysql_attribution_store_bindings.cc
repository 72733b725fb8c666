// MysqlAttributionStore: client bindings and the facts attribution reads.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/attribution/store/mysql_attribution_store.h"
#include "services/attribution/store/mysql_rows.h"
#include "services/common/status.h"

namespace livecommerce::attribution {

using common::MysqlConnection;
using common::Sql;
using common::SqlRow;
using mysql_rows::BindingRow;
using mysql_rows::FactSource;
using mysql_rows::InsertBinding;
using mysql_rows::kBindingColumns;
using mysql_rows::LatestBinding;
using mysql_rows::LockViewer;
using mysql_rows::NewBinding;
using mysql_rows::ReadBinding;
using mysql_rows::SelectAssociate;

absl::StatusOr<std::vector<v1::ClientBinding>> MysqlAttributionStore::BindingHistory(
    const std::string& brand_id, const std::string& viewer_id, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<v1::ClientBinding>> {
    return Sql(c,
               absl::StrCat("SELECT ", kBindingColumns,
                            " FROM client_bindings b WHERE b.brand_id = ? AND b.viewer_id = ? "
                            "ORDER BY b.bound_at DESC, b.id DESC LIMIT ?"),
               brand_id, viewer_id, limit)
        .All([](const SqlRow& row) { return ReadBinding(row).proto; });
  });
}

absl::StatusOr<v1::ClientBinding> MysqlAttributionStore::Reassign(
    const std::string& brand_id, const std::string& viewer_id, int64_t associate_id,
    const std::string& changed_by, const std::string& note, absl::Time now,
    absl::Duration protection) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<v1::ClientBinding> {
    LC_ASSIGN_OR_RETURN(v1::Associate a, SelectAssociate(c, brand_id, associate_id));
    if (a.status() != v1::ASSOCIATE_STATUS_ACTIVE) {
      return absl::FailedPreconditionError("associate_id: the associate has left");
    }
    LockViewer(c, brand_id, viewer_id);
    std::optional<BindingRow> current = LatestBinding(c, brand_id, viewer_id, now);
    NewBinding binding;
    binding.viewer_id = viewer_id;
    binding.associate_id = associate_id;
    binding.reason = v1::BINDING_REASON_REASSIGNED;
    binding.previous_associate_id = current.has_value() ? current->associate_id : 0;
    binding.changed_by = changed_by;
    binding.note = note;
    binding.bound_at = now;
    binding.protected_until = now + protection;
    return InsertBinding(c, brand_id, binding).proto;
  });
}

absl::StatusOr<std::vector<ClientRow>> MysqlAttributionStore::ListClients(
    const std::string& brand_id, int64_t associate_id, absl::Time now, int64_t after_id,
    int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<ClientRow>> {
    return Sql(c,
               absl::StrCat(
                   "SELECT ", kBindingColumns,
                   " FROM client_bindings b WHERE b.brand_id = ? AND b.associate_id = ? AND "
                   "b.bound_at <= ? AND b.protected_until > ? AND b.id > ? AND NOT EXISTS "
                   "(SELECT 1 FROM client_bindings n WHERE n.brand_id = b.brand_id AND "
                   "n.viewer_id = b.viewer_id AND n.bound_at <= ? AND (n.bound_at > b.bound_at OR "
                   "(n.bound_at = b.bound_at AND n.id > b.id))) ORDER BY b.id LIMIT ?"),
               brand_id, associate_id, now, now, after_id, now, limit)
        .All([](const SqlRow& row) {
          BindingRow b = ReadBinding(row);
          return ClientRow{std::move(b.proto), b.id};
        });
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
    Sql(c,
        "(SELECT 0 AS src, 0 AS id, b.associate_id, a.store_id, a.status, '' AS room_id, 0 AS "
        "channel, b.bound_at AS t1, b.protected_until AS t2 FROM client_bindings b JOIN "
        "associates a ON a.id = b.associate_id WHERE b.brand_id = ? AND b.viewer_id = ? AND "
        "b.bound_at <= ? ORDER BY b.bound_at DESC, b.id DESC LIMIT 1) UNION ALL (SELECT 1, t.id, "
        "t.associate_id, a.store_id, a.status, t.room_id, t.channel, t.touched_at, t.touched_at "
        "FROM touches t JOIN associates a ON a.id = t.associate_id WHERE t.brand_id = ? AND "
        "t.viewer_id = ? AND t.touched_at >= ? AND t.touched_at <= ? ORDER BY t.touched_at DESC, "
        "t.id DESC LIMIT 200)",
        brand_id, buyer_id, paid_at, brand_id, buyer_id,
        paid_at - std::max(window, absl::ZeroDuration()), paid_at)
        .ForEach([&](const SqlRow& row) {
          AssociateRef associate{row.Int("associate_id"), row.Int("store_id"),
                                 row.Int("status") == v1::ASSOCIATE_STATUS_ACTIVE};
          if (row.Enum<FactSource>("src") == FactSource::kBinding) {
            facts.binding = BindingFact{associate, row.Time("t1"), row.Time("t2")};
          } else if (window > absl::ZeroDuration()) {
            TouchFact fact;
            fact.id = row.Int("id");
            fact.associate = associate;
            fact.room_id = row.Str("room_id");
            fact.channel = row.Enum<v1::Channel>("channel");
            fact.at = row.Time("t1");
            facts.touches.push_back(std::move(fact));
          }
        });
    return facts;
  });
}

}  // namespace livecommerce::attribution
