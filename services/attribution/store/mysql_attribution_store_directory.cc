// MysqlAttributionStore: stores and associates.
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
using mysql_rows::CheckStoreIn;
using mysql_rows::IdOf;
using mysql_rows::kAssociateColumns;
using mysql_rows::Lock;
using mysql_rows::ReadAssociate;
using mysql_rows::SelectAssociate;

absl::StatusOr<v1::Store> MysqlAttributionStore::CreateStore(const std::string& brand_id,
                                                             const v1::Store& store,
                                                             absl::Time now) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<v1::Store> {
    Sql(c, "INSERT INTO attribution_stores (brand_id, name, city, created_at) VALUES (?, ?, ?, ?)",
        brand_id, store.name(), store.city(), now)
        .Execute();
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
    return Sql(c,
               "SELECT id, name, city, created_at FROM attribution_stores WHERE brand_id = ? AND "
               "id > ? ORDER BY id LIMIT ?",
               brand_id, after_id, limit)
        .All([&](const SqlRow& row) {
          v1::Store st;
          st.set_id(FormatId(row.Int("id")));
          st.set_brand_id(brand_id);
          st.set_name(row.Str("name"));
          st.set_city(row.Str("city"));
          ToTimestamp(row.Time("created_at"), st.mutable_created_at());
          return st;
        });
  });
}

absl::Status MysqlAttributionStore::CheckStore(const std::string& brand_id, int64_t store_id) {
  return pool_.Run(
      [&](MysqlConnection& c) -> absl::Status { return CheckStoreIn(c, brand_id, store_id); });
}

absl::StatusOr<v1::Associate> MysqlAttributionStore::CreateAssociate(const std::string& brand_id,
                                                                     const v1::Associate& associate,
                                                                     absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<v1::Associate> {
    LC_RETURN_IF_ERROR(CheckStoreIn(c, brand_id, IdOf(associate.store_id())));
    Sql(c,
        "INSERT INTO associates (brand_id, store_id, name, status, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        brand_id, IdOf(associate.store_id()), associate.name(), v1::ASSOCIATE_STATUS_ACTIVE, now,
        now)
        .Execute();
    return SelectAssociate(c, brand_id, c.LastInsertId());
  });
}

absl::StatusOr<v1::Associate> MysqlAttributionStore::UpdateAssociate(
    const std::string& brand_id, const v1::UpdateAssociateRequest& update, absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<v1::Associate> {
    LC_ASSIGN_OR_RETURN(v1::Associate a, SelectAssociate(c, brand_id, IdOf(update.associate_id()),
                                                         Lock::kExclusive));
    if (update.has_name()) a.set_name(update.name());
    if (update.has_store_id()) {
      LC_RETURN_IF_ERROR(CheckStoreIn(c, brand_id, IdOf(update.store_id())));
      a.set_store_id(update.store_id());
    }
    if (update.status() != v1::ASSOCIATE_STATUS_UNSPECIFIED) a.set_status(update.status());
    Sql(c, "UPDATE associates SET name = ?, store_id = ?, status = ?, updated_at = ? WHERE id = ?",
        a.name(), IdOf(a.store_id()), a.status(), now, IdOf(a.id()))
        .Execute();
    ToTimestamp(now, a.mutable_updated_at());
    return a;
  });
}

absl::StatusOr<v1::Associate> MysqlAttributionStore::GetAssociate(const std::string& brand_id,
                                                                  int64_t associate_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<v1::Associate> {
    return SelectAssociate(c, brand_id, associate_id);
  });
}

absl::StatusOr<std::vector<v1::Associate>> MysqlAttributionStore::ListAssociates(
    const std::string& brand_id, int64_t store_id, v1::AssociateStatus status, int64_t after_id,
    int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<v1::Associate>> {
    return Sql(c,
               absl::StrCat("SELECT ", kAssociateColumns,
                            " FROM associates WHERE brand_id = ? AND (? = 0 OR store_id = ?) AND "
                            "(? = 0 OR status = ?) AND id > ? ORDER BY id LIMIT ?"),
               brand_id, store_id, store_id, status, status, after_id, limit)
        .All(ReadAssociate);
  });
}

absl::StatusOr<std::optional<AssociateRef>> MysqlAttributionStore::AssociateRefOf(
    const std::string& brand_id, int64_t associate_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::optional<AssociateRef>> {
    return Sql(c, "SELECT store_id, status FROM associates WHERE id = ? AND brand_id = ?",
               associate_id, brand_id)
        .One([&](const SqlRow& row) {
          return AssociateRef{associate_id, row.Int("store_id"),
                              row.Int("status") == v1::ASSOCIATE_STATUS_ACTIVE};
        });
  });
}

}  // namespace livecommerce::attribution
