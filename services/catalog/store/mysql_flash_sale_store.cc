#include "services/catalog/store/mysql_flash_sale_store.h"

#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "services/common/status.h"

namespace livecommerce::catalog {
namespace {

using common::FromSqlTime;
using common::MysqlConnection;
using common::ToSqlTime;

constexpr char kSaleColumns[] =
    "id, brand_id, room_id, sku_id, product_id, sale_price_fen, currency, total_stock, "
    "per_buyer_limit, starts_at, ends_at, status, buckets, created_by, created_at, updated_at";
constexpr char kReservationColumns[] =
    "reservation_id, brand_id, sale_id, buyer_id, quantity, from_hold, status, expires_at, "
    "created_at";
constexpr char kHoldColumns[] =
    "id, brand_id, sale_id, client_id, quantity, status, expires_at, created_by, created_at";

FlashSaleRecord ReadSale(sql::ResultSet& rs) {
  FlashSaleRecord s;
  s.id = rs.getInt64(1);
  s.brand_id = rs.getString(2);
  s.room_id = rs.getInt64(3);
  s.sku_id = rs.getInt64(4);
  s.product_id = rs.getInt64(5);
  s.sale_price_fen = rs.getInt64(6);
  s.currency = rs.getString(7);
  s.total_stock = rs.getInt64(8);
  s.per_buyer_limit = rs.getInt(9);
  s.starts_at = common::SqlTimeAt(rs, 10).value_or(absl::UnixEpoch());
  s.ends_at = common::SqlTimeAt(rs, 11).value_or(absl::UnixEpoch());
  s.status = static_cast<FlashSaleStatus>(rs.getInt(12));
  s.buckets = rs.getInt(13);
  s.created_by = rs.getString(14);
  s.created_at = common::SqlTimeAt(rs, 15).value_or(absl::UnixEpoch());
  s.updated_at = common::SqlTimeAt(rs, 16).value_or(absl::UnixEpoch());
  return s;
}

FlashReservationRecord ReadReservation(sql::ResultSet& rs) {
  FlashReservationRecord r;
  r.reservation_id = rs.getString(1);
  r.brand_id = rs.getString(2);
  r.sale_id = rs.getInt64(3);
  r.buyer_id = rs.getString(4);
  r.quantity = rs.getInt64(5);
  r.from_hold = rs.getInt64(6);
  r.status = static_cast<ReservationStatus>(rs.getInt(7));
  r.expires_at = common::SqlTimeAt(rs, 8).value_or(absl::UnixEpoch());
  r.created_at = common::SqlTimeAt(rs, 9).value_or(absl::UnixEpoch());
  return r;
}

HoldRecord ReadHold(sql::ResultSet& rs) {
  HoldRecord h;
  h.id = rs.getInt64(1);
  h.brand_id = rs.getString(2);
  h.sale_id = rs.getInt64(3);
  h.client_id = rs.getString(4);
  h.quantity = rs.getInt64(5);
  h.status = static_cast<HoldStatus>(rs.getInt(6));
  h.expires_at = common::SqlTimeAt(rs, 7).value_or(absl::UnixEpoch());
  h.created_by = rs.getString(8);
  h.created_at = common::SqlTimeAt(rs, 9).value_or(absl::UnixEpoch());
  return h;
}

absl::StatusOr<FlashSaleRecord> SelectSale(MysqlConnection& c, int64_t id, bool lock) {
  sql::PreparedStatement& s = c.Prepare(absl::StrCat(
      "SELECT ", kSaleColumns, " FROM flash_sales WHERE id = ?", lock ? " FOR UPDATE" : ""));
  s.setInt64(1, id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  if (!rs->next()) return absl::NotFoundError("sale_id: no such flash sale");
  return ReadSale(*rs);
}

absl::StatusOr<FlashReservationRecord> SelectReservation(MysqlConnection& c, const std::string& id,
                                                         bool lock) {
  sql::PreparedStatement& s = c.Prepare(absl::StrCat("SELECT ", kReservationColumns,
                                                     " FROM flash_reservations WHERE "
                                                     "reservation_id = ?",
                                                     lock ? " FOR UPDATE" : ""));
  s.setString(1, id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  if (!rs->next()) return absl::NotFoundError("reservation_id: no such reservation");
  return ReadReservation(*rs);
}

absl::StatusOr<HoldRecord> SelectHold(MysqlConnection& c, int64_t id, bool lock) {
  sql::PreparedStatement& s = c.Prepare(absl::StrCat(
      "SELECT ", kHoldColumns, " FROM flash_holds WHERE id = ?", lock ? " FOR UPDATE" : ""));
  s.setInt64(1, id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  if (!rs->next()) return absl::NotFoundError("hold_id: no such hold");
  return ReadHold(*rs);
}

}  // namespace

absl::StatusOr<FlashSaleRecord> MysqlFlashSaleStore::CreateSale(const FlashSaleRecord& sale) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<FlashSaleRecord> {
    sql::PreparedStatement& s = c.Prepare(
        "INSERT INTO flash_sales (brand_id, room_id, sku_id, product_id, sale_price_fen, currency, "
        "total_stock, per_buyer_limit, starts_at, ends_at, status, buckets, created_by, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.setString(1, sale.brand_id);
    s.setInt64(2, sale.room_id);
    s.setInt64(3, sale.sku_id);
    s.setInt64(4, sale.product_id);
    s.setInt64(5, sale.sale_price_fen);
    s.setString(6, sale.currency);
    s.setInt64(7, sale.total_stock);
    s.setInt(8, sale.per_buyer_limit);
    s.setDateTime(9, ToSqlTime(sale.starts_at));
    s.setDateTime(10, ToSqlTime(sale.ends_at));
    s.setInt(11, sale.status);
    s.setInt(12, sale.buckets);
    s.setString(13, sale.created_by);
    s.setDateTime(14, ToSqlTime(sale.created_at));
    s.setDateTime(15, ToSqlTime(sale.updated_at));
    s.executeUpdate();
    return SelectSale(c, c.LastInsertId(), false);
  });
}

absl::StatusOr<FlashSaleRecord> MysqlFlashSaleStore::GetSale(int64_t sale_id) {
  return pool_.Run([&](MysqlConnection& c) { return SelectSale(c, sale_id, false); });
}

absl::StatusOr<std::vector<FlashSaleRecord>> MysqlFlashSaleStore::ListRoomSales(int64_t room_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<FlashSaleRecord>> {
    sql::PreparedStatement& s = c.Prepare(
        absl::StrCat("SELECT ", kSaleColumns, " FROM flash_sales WHERE room_id = ? ORDER BY id"));
    s.setInt64(1, room_id);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<FlashSaleRecord> sales;
    while (rs->next()) sales.push_back(ReadSale(*rs));
    return sales;
  });
}

absl::StatusOr<std::vector<FlashSaleRecord>> MysqlFlashSaleStore::ListSalesToSweep(absl::Time now) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<FlashSaleRecord>> {
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(
        "SELECT ", kSaleColumns,
        " FROM flash_sales WHERE ends_at > ? OR id IN (SELECT sale_id FROM flash_reservations "
        "WHERE status = ?) OR id IN (SELECT sale_id FROM flash_holds WHERE status = ?)"));
    s.setDateTime(1, ToSqlTime(now - absl::Hours(2)));
    s.setInt(2, v1::RESERVATION_STATUS_RESERVED);
    s.setInt(3, v1::HOLD_STATUS_ACTIVE);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<FlashSaleRecord> sales;
    while (rs->next()) sales.push_back(ReadSale(*rs));
    return sales;
  });
}

absl::StatusOr<FlashSaleRecord> MysqlFlashSaleStore::UpdateSale(
    int64_t sale_id, const std::function<absl::Status(FlashSaleRecord&)>& mutate) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<FlashSaleRecord> {
    LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, SelectSale(c, sale_id, true));
    LC_RETURN_IF_ERROR(mutate(sale));
    sql::PreparedStatement& s = c.Prepare(
        "UPDATE flash_sales SET starts_at = ?, ends_at = ?, status = ?, updated_at = ? WHERE id = "
        "?");
    s.setDateTime(1, ToSqlTime(sale.starts_at));
    s.setDateTime(2, ToSqlTime(sale.ends_at));
    s.setInt(3, sale.status);
    s.setDateTime(4, ToSqlTime(sale.updated_at));
    s.setInt64(5, sale.id);
    s.executeUpdate();
    return sale;
  });
}

namespace {

void InsertReservationRow(MysqlConnection& c, const FlashReservationRecord& r) {
  sql::PreparedStatement& s = c.Prepare(
      "INSERT INTO flash_reservations (reservation_id, brand_id, sale_id, buyer_id, quantity, "
      "from_hold, status, expires_at, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.setString(1, r.reservation_id);
  s.setString(2, r.brand_id);
  s.setInt64(3, r.sale_id);
  s.setString(4, r.buyer_id);
  s.setInt64(5, r.quantity);
  s.setInt64(6, r.from_hold);
  s.setInt(7, r.status);
  s.setDateTime(8, ToSqlTime(r.expires_at));
  s.setDateTime(9, ToSqlTime(r.created_at));
  s.setDateTime(10, ToSqlTime(r.created_at));
  s.executeUpdate();
}

}  // namespace

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
    sql::PreparedStatement& h = c.Prepare(
        "UPDATE flash_holds SET quantity = quantity - ?, status = IF(quantity = 0, ?, status), "
        "updated_at = ? WHERE id = ? AND quantity >= ?");
    h.setInt64(1, r.from_hold);
    h.setInt(2, v1::HOLD_STATUS_USED);
    h.setDateTime(3, ToSqlTime(r.created_at));
    h.setInt64(4, hold_id);
    h.setInt64(5, r.from_hold);
    h.executeUpdate();
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
    sql::PreparedStatement& insert = c.Prepare(sql);
    int k = 1;
    for (const FlashReservationRecord& r : rows) {
      insert.setString(k++, r.reservation_id);
      insert.setString(k++, r.brand_id);
      insert.setInt64(k++, r.sale_id);
      insert.setString(k++, r.buyer_id);
      insert.setInt64(k++, r.quantity);
      insert.setInt64(k++, r.from_hold);
      insert.setInt(k++, r.status);
      insert.setDateTime(k++, ToSqlTime(r.expires_at));
      insert.setDateTime(k++, ToSqlTime(r.created_at));
      insert.setDateTime(k++, ToSqlTime(r.created_at));
    }
    if (insert.executeUpdate() == static_cast<int>(rows.size())) {
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
    sql::PreparedStatement& s = c.Prepare(
        "UPDATE flash_reservations SET status = ?, updated_at = UTC_TIMESTAMP(6) WHERE "
        "reservation_id = ?");
    s.setInt(1, r.status);
    s.setString(2, r.reservation_id);
    s.executeUpdate();
    return r;
  });
}

absl::StatusOr<std::vector<FlashReservationRecord>> MysqlFlashSaleStore::DueReservations(
    absl::Time now, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<FlashReservationRecord>> {
    sql::PreparedStatement& s = c.Prepare(
        absl::StrCat("SELECT ", kReservationColumns,
                     " FROM flash_reservations WHERE status = ? AND expires_at <= ? LIMIT ?"));
    s.setInt(1, v1::RESERVATION_STATUS_RESERVED);
    s.setDateTime(2, ToSqlTime(now));
    s.setInt(3, limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<FlashReservationRecord> due;
    while (rs->next()) due.push_back(ReadReservation(*rs));
    return due;
  });
}

absl::StatusOr<HoldRecord> MysqlFlashSaleStore::InsertHold(const HoldRecord& hold) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<HoldRecord> {
    sql::PreparedStatement& s = c.Prepare(
        "INSERT INTO flash_holds (brand_id, sale_id, client_id, quantity, status, expires_at, "
        "created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.setString(1, hold.brand_id);
    s.setInt64(2, hold.sale_id);
    s.setString(3, hold.client_id);
    s.setInt64(4, hold.quantity);
    s.setInt(5, hold.status);
    s.setDateTime(6, ToSqlTime(hold.expires_at));
    s.setString(7, hold.created_by);
    s.setDateTime(8, ToSqlTime(hold.created_at));
    s.setDateTime(9, ToSqlTime(hold.created_at));
    s.executeUpdate();
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
    sql::PreparedStatement& s = c.Prepare(
        "UPDATE flash_holds SET quantity = ?, status = ?, updated_at = UTC_TIMESTAMP(6) WHERE "
        "id = ?");
    s.setInt64(1, hold.quantity);
    s.setInt(2, hold.status);
    s.setInt64(3, hold.id);
    s.executeUpdate();
    return hold;
  });
}

absl::StatusOr<std::vector<HoldRecord>> MysqlFlashSaleStore::DueHolds(absl::Time now, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<HoldRecord>> {
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(
        "SELECT ", kHoldColumns, " FROM flash_holds WHERE status = ? AND expires_at <= ? LIMIT ?"));
    s.setInt(1, v1::HOLD_STATUS_ACTIVE);
    s.setDateTime(2, ToSqlTime(now));
    s.setInt(3, limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<HoldRecord> due;
    while (rs->next()) due.push_back(ReadHold(*rs));
    return due;
  });
}

absl::Status MysqlFlashSaleStore::RebuildUnderLock(
    int64_t sale_id, absl::Time now,
    const std::function<absl::Status(const FlashSaleRecord&, const StockSnapshot&)>& load) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::Status {
    LC_ASSIGN_OR_RETURN(FlashSaleRecord sale, SelectSale(c, sale_id, true));
    {
      sql::PreparedStatement& expire = c.Prepare(
          "UPDATE flash_reservations SET status = ?, updated_at = ? WHERE sale_id = ? AND "
          "status = ? AND expires_at <= ?");
      expire.setInt(1, v1::RESERVATION_STATUS_EXPIRED);
      expire.setDateTime(2, ToSqlTime(now));
      expire.setInt64(3, sale_id);
      expire.setInt(4, v1::RESERVATION_STATUS_RESERVED);
      expire.setDateTime(5, ToSqlTime(now));
      expire.executeUpdate();
      sql::PreparedStatement& expire_holds = c.Prepare(
          "UPDATE flash_holds SET status = ?, updated_at = ? WHERE sale_id = ? AND status = ? AND "
          "expires_at <= ?");
      expire_holds.setInt(1, v1::HOLD_STATUS_EXPIRED);
      expire_holds.setDateTime(2, ToSqlTime(now));
      expire_holds.setInt64(3, sale_id);
      expire_holds.setInt(4, v1::HOLD_STATUS_ACTIVE);
      expire_holds.setDateTime(5, ToSqlTime(now));
      expire_holds.executeUpdate();
    }
    StockSnapshot snapshot;
    int64_t used = 0;
    {
      sql::PreparedStatement& s = c.Prepare(
          absl::StrCat("SELECT ", kReservationColumns,
                       " FROM flash_reservations WHERE sale_id = ? AND status IN (?, ?)"));
      s.setInt64(1, sale_id);
      s.setInt(2, v1::RESERVATION_STATUS_RESERVED);
      s.setInt(3, v1::RESERVATION_STATUS_CONFIRMED);
      std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
      while (rs->next()) {
        snapshot.reservations.push_back(ReadReservation(*rs));
        used += snapshot.reservations.back().quantity;
      }
    }
    {
      sql::PreparedStatement& s = c.Prepare(absl::StrCat(
          "SELECT ", kHoldColumns, " FROM flash_holds WHERE sale_id = ? AND status = ?"));
      s.setInt64(1, sale_id);
      s.setInt(2, v1::HOLD_STATUS_ACTIVE);
      std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
      while (rs->next()) {
        snapshot.holds.push_back(ReadHold(*rs));
        used += snapshot.holds.back().quantity;
      }
    }
    snapshot.available = std::max<int64_t>(0, sale.total_stock - used);
    return load(sale, snapshot);
  });
}

}  // namespace livecommerce::catalog
