#include "services/catalog/store/mysql_flash_sale_store.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/sql.h"
#include "services/common/status.h"

namespace livecommerce::catalog {
namespace {

using common::MysqlConnection;
using common::Sql;
using common::SqlRow;
using common::SqlStatement;

constexpr char kSaleColumns[] =
    "id, brand_id, room_id, sku_id, product_id, sale_price_fen, currency, total_stock, "
    "per_buyer_limit, starts_at, ends_at, status, buckets, created_by, created_at, updated_at";
constexpr char kReservationColumns[] =
    "reservation_id, brand_id, sale_id, buyer_id, quantity, from_hold, status, expires_at, "
    "created_at";
constexpr char kHoldColumns[] =
    "id, brand_id, sale_id, client_id, quantity, status, expires_at, created_by, created_at";

FlashSaleRecord ReadSale(const SqlRow& row) {
  FlashSaleRecord s;
  s.id = row.Int("id");
  s.brand_id = row.Str("brand_id");
  s.room_id = row.Int("room_id");
  s.sku_id = row.Int("sku_id");
  s.product_id = row.Int("product_id");
  s.sale_price_fen = row.Int("sale_price_fen");
  s.currency = row.Str("currency");
  s.total_stock = row.Int("total_stock");
  s.per_buyer_limit = static_cast<int>(row.Int("per_buyer_limit"));
  s.starts_at = row.Time("starts_at");
  s.ends_at = row.Time("ends_at");
  s.status = row.Enum<FlashSaleStatus>("status");
  s.buckets = static_cast<int>(row.Int("buckets"));
  s.created_by = row.Str("created_by");
  s.created_at = row.Time("created_at");
  s.updated_at = row.Time("updated_at");
  return s;
}

FlashReservationRecord ReadReservation(const SqlRow& row) {
  FlashReservationRecord r;
  r.reservation_id = row.Str("reservation_id");
  r.brand_id = row.Str("brand_id");
  r.sale_id = row.Int("sale_id");
  r.buyer_id = row.Str("buyer_id");
  r.quantity = row.Int("quantity");
  r.from_hold = row.Int("from_hold");
  r.status = row.Enum<ReservationStatus>("status");
  r.expires_at = row.Time("expires_at");
  r.created_at = row.Time("created_at");
  return r;
}

HoldRecord ReadHold(const SqlRow& row) {
  HoldRecord h;
  h.id = row.Int("id");
  h.brand_id = row.Str("brand_id");
  h.sale_id = row.Int("sale_id");
  h.client_id = row.Str("client_id");
  h.quantity = row.Int("quantity");
  h.status = row.Enum<HoldStatus>("status");
  h.expires_at = row.Time("expires_at");
  h.created_by = row.Str("created_by");
  h.created_at = row.Time("created_at");
  return h;
}

absl::StatusOr<FlashSaleRecord> SelectSale(MysqlConnection& c, int64_t id, bool lock) {
  std::optional<FlashSaleRecord> sale =
      Sql(c,
          absl::StrCat("SELECT ", kSaleColumns, " FROM flash_sales WHERE id = ?",
                       lock ? " FOR UPDATE" : ""),
          id)
          .One(ReadSale);
  if (!sale.has_value()) return absl::NotFoundError("sale_id: no such flash sale");
  return *std::move(sale);
}

absl::StatusOr<FlashReservationRecord> SelectReservation(MysqlConnection& c, const std::string& id,
                                                         bool lock) {
  std::optional<FlashReservationRecord> reservation =
      Sql(c,
          absl::StrCat("SELECT ", kReservationColumns,
                       " FROM flash_reservations WHERE "
                       "reservation_id = ?",
                       lock ? " FOR UPDATE" : ""),
          id)
          .One(ReadReservation);
  if (!reservation.has_value()) return absl::NotFoundError("reservation_id: no such reservation");
  return *std::move(reservation);
}

absl::StatusOr<HoldRecord> SelectHold(MysqlConnection& c, int64_t id, bool lock) {
  std::optional<HoldRecord> hold =
      Sql(c,
          absl::StrCat("SELECT ", kHoldColumns, " FROM flash_holds WHERE id = ?",
                       lock ? " FOR UPDATE" : ""),
          id)
          .One(ReadHold);
  if (!hold.has_value()) return absl::NotFoundError("hold_id: no such hold");
  return *std::move(hold);
}

// The ten values of one flash_reservations row, in the column order of the INSERTs below.
void BindReservationRow(SqlStatement& s, const FlashReservationRecord& r) {
  s.Bind(r.reservation_id, r.brand_id, r.sale_id, r.buyer_id, r.quantity, r.from_hold, r.status,
         r.expires_at, r.created_at, r.created_at);
}

void InsertReservationRow(MysqlConnection& c, const FlashReservationRecord& r) {
  SqlStatement insert =
      Sql(c,
          "INSERT INTO flash_reservations (reservation_id, brand_id, sale_id, buyer_id, quantity, "
          "from_hold, status, expires_at, created_at, updated_at) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  BindReservationRow(insert, r);
  insert.Execute();
}

}  // namespace

absl::StatusOr<FlashSaleRecord> MysqlFlashSaleStore::CreateSale(const FlashSaleRecord& sale) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<FlashSaleRecord> {
    Sql(c,
        "INSERT INTO flash_sales (brand_id, room_id, sku_id, product_id, sale_price_fen, currency, "
        "total_stock, per_buyer_limit, starts_at, ends_at, status, buckets, created_by, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        sale.brand_id, sale.room_id, sale.sku_id, sale.product_id, sale.sale_price_fen,
        sale.currency, sale.total_stock, sale.per_buyer_limit, sale.starts_at, sale.ends_at,
        sale.status, sale.buckets, sale.created_by, sale.created_at, sale.updated_at)
        .Execute();
    return SelectSale(c, c.LastInsertId(), false);
  });
}

absl::StatusOr<FlashSaleRecord> MysqlFlashSaleStore::GetSale(int64_t sale_id) {
  return pool_.Run([&](MysqlConnection& c) { return SelectSale(c, sale_id, false); });
}

absl::StatusOr<std::vector<FlashSaleRecord>> MysqlFlashSaleStore::ListRoomSales(int64_t room_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<FlashSaleRecord>> {
    return Sql(c,
               absl::StrCat("SELECT ", kSaleColumns,
                            " FROM flash_sales WHERE room_id = ? ORDER BY id"),
               room_id)
        .All(ReadSale);
  });
}

absl::StatusOr<std::vector<FlashSaleRecord>> MysqlFlashSaleStore::ListSalesToSweep(absl::Time now) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<FlashSaleRecord>> {
    return Sql(c,
               absl::StrCat("SELECT ", kSaleColumns,
                            " FROM flash_sales WHERE ends_at > ? OR id IN (SELECT sale_id FROM "
                            "flash_reservations WHERE status = ?) OR id IN (SELECT sale_id FROM "
                            "flash_holds WHERE status = ?)"),
               now - absl::Hours(2), v1::RESERVATION_STATUS_RESERVED, v1::HOLD_STATUS_ACTIVE)
        .All(ReadSale);
  });
}

absl::StatusOr<FlashSaleRecord> MysqlFlashSaleStore::UpdateSale(
    int64_t sale_id, const std::function<absl::Status(FlashSaleRecord&)>& mutate) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<FlashSaleRecord> {
    LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, SelectSale(c, sale_id, true));
    LC_RETURN_IF_ERROR(mutate(sale));
    Sql(c,
        "UPDATE flash_sales SET starts_at = ?, ends_at = ?, status = ?, updated_at = ? WHERE id = "
        "?",
        sale.starts_at, sale.ends_at, sale.status, sale.updated_at, sale.id)
        .Execute();
    return sale;
  });
}

absl::StatusOr<FlashReservationRecord> MysqlFlashSaleStore::InsertReservation(
    const FlashReservationRecord& r, int64_t hold_id) {
  if (r.from_hold == 0 || hold_id == 0) {
    // One statement: autocommit saves the round trips of an explicit transaction on the hot path.
    return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<FlashReservationRecord> {
      InsertReservationRow(c, r);
      return r;
    });
  }
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<FlashReservationRecord> {
    InsertReservationRow(c, r);
    Sql(c,
        "UPDATE flash_holds SET quantity = quantity - ?, status = IF(quantity = 0, ?, status), "
        "updated_at = ? WHERE id = ? AND quantity >= ?",
        r.from_hold, v1::HOLD_STATUS_USED, r.created_at, hold_id, r.from_hold)
        .Execute();
    return r;
  });
}

std::vector<absl::Status> MysqlFlashSaleStore::InsertReservations(
    const std::vector<FlashReservationRecord>& rows) {
  std::vector<absl::Status> results(rows.size(), absl::OkStatus());
  if (rows.empty()) return results;
  absl::Status status = pool_.Run([&](MysqlConnection& c) -> absl::Status {
    std::string sql =
        "INSERT IGNORE INTO flash_reservations (reservation_id, brand_id, sale_id, buyer_id, "
        "quantity, from_hold, status, expires_at, created_at, updated_at) VALUES ";
    for (size_t i = 0; i < rows.size(); ++i) {
      absl::StrAppend(&sql, i == 0 ? "" : ", ", "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    }
    SqlStatement insert = Sql(c, sql);
    for (const FlashReservationRecord& r : rows) {
      BindReservationRow(insert, r);
    }
    if (insert.Execute() == static_cast<int>(rows.size())) {
      return absl::OkStatus();
    }
    // Some ids were taken already: a row is ours only if it is exactly what we wrote.
    for (size_t i = 0; i < rows.size(); ++i) {
      absl::StatusOr<FlashReservationRecord> stored =
          SelectReservation(c, rows[i].reservation_id, false);
      if (!stored.ok()) {
        results[i] = stored.status();
        continue;
      }
      bool ours = stored->sale_id == rows[i].sale_id && stored->buyer_id == rows[i].buyer_id &&
                  stored->quantity == rows[i].quantity &&
                  absl::ToUnixMicros(stored->created_at) == absl::ToUnixMicros(rows[i].created_at);
      if (!ours) results[i] = absl::AlreadyExistsError("reservation_id: already recorded");
    }
    return absl::OkStatus();
  });
  if (!status.ok()) {
    std::fill(results.begin(), results.end(), status);
  }
  return results;
}

absl::StatusOr<FlashReservationRecord> MysqlFlashSaleStore::GetReservation(
    const std::string& reservation_id) {
  return pool_.Run([&](MysqlConnection& c) { return SelectReservation(c, reservation_id, false); });
}

absl::StatusOr<FlashReservationRecord> MysqlFlashSaleStore::UpdateReservation(
    const std::string& reservation_id,
    const std::function<absl::Status(FlashReservationRecord&)>& mutate) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<FlashReservationRecord> {
    LC_ASSIGN_OR_RETURN(FlashReservationRecord r, SelectReservation(c, reservation_id, true));
    LC_RETURN_IF_ERROR(mutate(r));
    Sql(c,
        "UPDATE flash_reservations SET status = ?, updated_at = UTC_TIMESTAMP(6) WHERE "
        "reservation_id = ?",
        r.status, r.reservation_id)
        .Execute();
    return r;
  });
}

absl::StatusOr<std::vector<FlashReservationRecord>> MysqlFlashSaleStore::DueReservations(
    absl::Time now, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<FlashReservationRecord>> {
    return Sql(c,
               absl::StrCat(
                   "SELECT ", kReservationColumns,
                   " FROM flash_reservations WHERE status = ? AND expires_at <= ? LIMIT ?"),
               v1::RESERVATION_STATUS_RESERVED, now, limit)
        .All(ReadReservation);
  });
}

absl::StatusOr<HoldRecord> MysqlFlashSaleStore::InsertHold(const HoldRecord& hold) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<HoldRecord> {
    Sql(c,
        "INSERT INTO flash_holds (brand_id, sale_id, client_id, quantity, status, expires_at, "
        "created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        hold.brand_id, hold.sale_id, hold.client_id, hold.quantity, hold.status, hold.expires_at,
        hold.created_by, hold.created_at, hold.created_at)
        .Execute();
    return SelectHold(c, c.LastInsertId(), false);
  });
}

absl::StatusOr<HoldRecord> MysqlFlashSaleStore::GetHold(int64_t hold_id) {
  return pool_.Run([&](MysqlConnection& c) { return SelectHold(c, hold_id, false); });
}

absl::StatusOr<HoldRecord> MysqlFlashSaleStore::UpdateHold(
    int64_t hold_id, const std::function<absl::Status(HoldRecord&)>& mutate) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<HoldRecord> {
    LC_ASSIGN_OR_RETURN(HoldRecord hold, SelectHold(c, hold_id, true));
    LC_RETURN_IF_ERROR(mutate(hold));
    Sql(c,
        "UPDATE flash_holds SET quantity = ?, status = ?, updated_at = UTC_TIMESTAMP(6) WHERE "
        "id = ?",
        hold.quantity, hold.status, hold.id)
        .Execute();
    return hold;
  });
}

absl::StatusOr<std::vector<HoldRecord>> MysqlFlashSaleStore::DueHolds(absl::Time now, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<HoldRecord>> {
    return Sql(c,
               absl::StrCat("SELECT ", kHoldColumns,
                            " FROM flash_holds WHERE status = ? AND expires_at <= ? LIMIT ?"),
               v1::HOLD_STATUS_ACTIVE, now, limit)
        .All(ReadHold);
  });
}

absl::Status MysqlFlashSaleStore::RebuildUnderLock(
    int64_t sale_id, absl::Time now,
    const std::function<absl::Status(const FlashSaleRecord&, const StockSnapshot&)>& load) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::Status {
    LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, SelectSale(c, sale_id, true));
    Sql(c,
        "UPDATE flash_reservations SET status = ?, updated_at = ? WHERE sale_id = ? AND "
        "status = ? AND expires_at <= ?",
        v1::RESERVATION_STATUS_EXPIRED, now, sale_id, v1::RESERVATION_STATUS_RESERVED, now)
        .Execute();
    Sql(c,
        "UPDATE flash_holds SET status = ?, updated_at = ? WHERE sale_id = ? AND status = ? AND "
        "expires_at <= ?",
        v1::HOLD_STATUS_EXPIRED, now, sale_id, v1::HOLD_STATUS_ACTIVE, now)
        .Execute();
    StockSnapshot snapshot;
    snapshot.reservations =
        Sql(c,
            absl::StrCat("SELECT ", kReservationColumns,
                         " FROM flash_reservations WHERE sale_id = ? AND status IN (?, ?)"),
            sale_id, v1::RESERVATION_STATUS_RESERVED, v1::RESERVATION_STATUS_CONFIRMED)
            .All(ReadReservation);
    snapshot.holds = Sql(c,
                         absl::StrCat("SELECT ", kHoldColumns,
                                      " FROM flash_holds WHERE sale_id = ? AND status = ?"),
                         sale_id, v1::HOLD_STATUS_ACTIVE)
                         .All(ReadHold);
    int64_t used = 0;
    for (const FlashReservationRecord& r : snapshot.reservations) used += r.quantity;
    for (const HoldRecord& h : snapshot.holds) used += h.quantity;
    snapshot.available = std::max<int64_t>(0, sale.total_stock - used);
    return load(sale, snapshot);
  });
}

}  // namespace livecommerce::catalog
