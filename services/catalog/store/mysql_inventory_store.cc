#include "services/catalog/store/mysql_inventory_store.h"

#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/catalog/domain/product.h"
#include "services/common/principal.h"
#include "services/common/status.h"

namespace livecommerce::catalog {
namespace {

using common::FromSqlTime;
using common::InvalidField;
using common::MysqlConnection;
using common::ToSqlTime;

constexpr int kDuplicateKey = 1062;

// Stored state codes (sku_reservations.state).
int StateCode(ReservationState state) {
  switch (state) {
    case ReservationState::kReserved:
      return 1;
    case ReservationState::kConfirmed:
      return 2;
    case ReservationState::kReleased:
      return 3;
    case ReservationState::kExpired:
      return 4;
  }
  return 1;
}

absl::StatusOr<ReservationState> StateFromCode(int code) {
  switch (code) {
    case 1:
      return ReservationState::kReserved;
    case 2:
      return ReservationState::kConfirmed;
    case 3:
      return ReservationState::kReleased;
    case 4:
      return ReservationState::kExpired;
    default:
      return absl::InternalError(absl::StrCat("unknown reservation state ", code));
  }
}

// A reservation row with its primary key.
struct StoredReservation {
  int64_t row_id = 0;
  InventoryReservation reservation;
};

absl::StatusOr<std::optional<StoredReservation>> SelectReservation(
    MysqlConnection& c, const std::string& reservation_id, const char* lock) {
  sql::PreparedStatement& s = c.Prepare(
      absl::StrCat("SELECT id, reservation_id, brand_id, sku_id, buyer_id, quantity, state, "
                   "expires_at FROM sku_reservations WHERE reservation_id = ?",
                   lock));
  s.setString(1, reservation_id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  if (!rs->next()) {
    return std::optional<StoredReservation>();
  }
  StoredReservation stored;
  stored.row_id = rs->getInt64(1);
  InventoryReservation& r = stored.reservation;
  r.reservation_id = std::string(rs->getString(2));
  r.brand_id = std::string(rs->getString(3));
  r.sku_id = rs->getInt64(4);
  r.buyer_id = std::string(rs->getString(5));
  r.quantity = rs->getInt64(6);
  LC_ASSIGN_OR_RETURN(r.state, StateFromCode(rs->getInt(7)));
  LC_ASSIGN_OR_RETURN(r.expires_at, FromSqlTime(std::string(rs->getString(8))));
  return std::optional<StoredReservation>(std::move(stored));
}

absl::StatusOr<StoredReservation> LockReservation(MysqlConnection& c,
                                                  const std::string& reservation_id) {
  LC_ASSIGN_OR_RETURN(std::optional<StoredReservation> stored,
                      SelectReservation(c, reservation_id, " FOR UPDATE"));
  if (!stored.has_value()) {
    return absl::NotFoundError("reservation_id: no such reservation");
  }
  return *std::move(stored);
}

// RESERVED -> `state` (RELEASED or EXPIRED) for a reservation locked by the caller: its units
// become available again.
absl::Status ReturnUnits(MysqlConnection& c, StoredReservation& stored, ReservationState state,
                         absl::Time now) {
  const InventoryReservation& r = stored.reservation;
  sql::PreparedStatement& sku =
      c.Prepare("UPDATE skus SET reserved = reserved - ? WHERE id = ? AND reserved >= ?");
  sku.setInt64(1, r.quantity);
  sku.setInt64(2, r.sku_id);
  sku.setInt64(3, r.quantity);
  if (sku.executeUpdate() != 1) {
    return absl::InternalError("inventory: reserved units out of step with the reservations");
  }
  sql::PreparedStatement& s =
      c.Prepare("UPDATE sku_reservations SET state = ?, updated_at = ? WHERE id = ? AND state = ?");
  s.setInt(1, StateCode(state));
  s.setDateTime(2, ToSqlTime(now));
  s.setInt64(3, stored.row_id);
  s.setInt(4, StateCode(ReservationState::kReserved));
  if (s.executeUpdate() != 1) {
    return absl::InternalError("inventory: reservation changed under its lock");
  }
  stored.reservation.state = state;
  return absl::OkStatus();
}

absl::Status ValidateReservationId(absl::string_view reservation_id) {
  if (!common::IsValidId(reservation_id)) {
    return InvalidField("reservation_id", "must be 1-128 characters of letters, digits, _ . : -");
  }
  return absl::OkStatus();
}

absl::Status ValidateNewReservation(const InventoryReservation& r) {
  LC_RETURN_IF_ERROR(ValidateReservationId(r.reservation_id));
  if (!common::IsValidId(r.brand_id)) {
    return InvalidField("brand_id", "must be 1-128 characters of letters, digits, _ . : -");
  }
  if (r.sku_id <= 0) {
    return InvalidField("sku_id", "is not a valid id");
  }
  if (!common::IsValidId(r.buyer_id)) {
    return InvalidField("buyer_id", "must be 1-128 characters of letters, digits, _ . : -");
  }
  if (r.quantity <= 0) {
    return InvalidField("quantity", "must be positive");
  }
  if (r.quantity > kMaxOnHand) {
    return InvalidField("quantity", absl::StrCat("must be at most ", kMaxOnHand));
  }
  if (r.expires_at == absl::UnixEpoch() || r.expires_at == absl::InfinitePast() ||
      r.expires_at == absl::InfiniteFuture()) {
    return InvalidField("expires_at", "is required");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<InventoryReservation> MysqlInventoryStore::Reserve(
    const InventoryReservation& reservation) {
  LC_RETURN_IF_ERROR(ValidateNewReservation(reservation));
  // Two attempts: when a concurrent call with the same reservation id inserts first, the second
  // attempt finds its row and answers as a repeat would.
  for (int attempt = 1;; ++attempt) {
    bool raced = false;
    absl::StatusOr<InventoryReservation> result =
        pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<InventoryReservation> {
          raced = false;
          // A plain (non-locking) read: no gap locks, so reservations of one SKU queue on its
          // row only.
          LC_ASSIGN_OR_RETURN(std::optional<StoredReservation> existing,
                              SelectReservation(c, reservation.reservation_id, ""));
          if (existing.has_value()) {
            const InventoryReservation& r = existing->reservation;
            if (r.brand_id != reservation.brand_id || r.sku_id != reservation.sku_id ||
                r.buyer_id != reservation.buyer_id || r.quantity != reservation.quantity) {
              return absl::AlreadyExistsError(
                  "reservation_id: already used for a different SKU, buyer or quantity");
            }
            return r;
          }
          sql::PreparedStatement& take = c.Prepare(
              "UPDATE skus SET reserved = reserved + ? WHERE id = ? AND brand_id = ? AND "
              "on_hand - reserved >= ?");
          take.setInt64(1, reservation.quantity);
          take.setInt64(2, reservation.sku_id);
          take.setString(3, reservation.brand_id);
          take.setInt64(4, reservation.quantity);
          if (take.executeUpdate() != 1) {
            sql::PreparedStatement& left = c.Prepare(
                "SELECT on_hand - reserved FROM skus WHERE id = ? AND brand_id = ? "
                "LOCK IN SHARE MODE");
            left.setInt64(1, reservation.sku_id);
            left.setString(2, reservation.brand_id);
            std::unique_ptr<sql::ResultSet> rs(left.executeQuery());
            if (!rs->next()) {
              return absl::NotFoundError("sku_id: no such SKU");
            }
            return absl::FailedPreconditionError(
                absl::StrCat("quantity: only ", rs->getInt64(1), " available"));
          }
          sql::PreparedStatement& insert = c.Prepare(
              "INSERT INTO sku_reservations (reservation_id, brand_id, sku_id, buyer_id, quantity, "
              "state, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
              "UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))");
          insert.setString(1, reservation.reservation_id);
          insert.setString(2, reservation.brand_id);
          insert.setInt64(3, reservation.sku_id);
          insert.setString(4, reservation.buyer_id);
          insert.setInt64(5, reservation.quantity);
          insert.setInt(6, StateCode(ReservationState::kReserved));
          insert.setDateTime(7, ToSqlTime(reservation.expires_at));
          try {
            insert.executeUpdate();
          } catch (const sql::SQLException& e) {
            if (e.getErrorCode() != kDuplicateKey) {
              throw;
            }
            raced = true;  // rolled back with the units taken above
            return absl::AbortedError("reservation_id: reserved concurrently; try again");
          }
          InventoryReservation stored = reservation;
          stored.state = ReservationState::kReserved;
          return stored;
        });
    if (!raced || attempt >= 2) {
      return result;
    }
  }
}

absl::StatusOr<InventoryReservation> MysqlInventoryStore::Confirm(const std::string& reservation_id,
                                                                  absl::Time now) {
  LC_RETURN_IF_ERROR(ValidateReservationId(reservation_id));
  absl::StatusOr<InventoryReservation> result =
      pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<InventoryReservation> {
        LC_ASSIGN_OR_RETURN(StoredReservation stored, LockReservation(c, reservation_id));
        InventoryReservation& r = stored.reservation;
        switch (r.state) {
          case ReservationState::kConfirmed:
            return r;
          case ReservationState::kReleased:
            return absl::FailedPreconditionError("reservation_id: the reservation was released");
          case ReservationState::kExpired:
            return absl::FailedPreconditionError("reservation_id: the reservation has expired");
          case ReservationState::kReserved:
            break;
        }
        if (r.expires_at <= now) {
          // Too late to confirm: expire it now (committed) rather than leave it to the sweeper.
          LC_RETURN_IF_ERROR(ReturnUnits(c, stored, ReservationState::kExpired, now));
          return r;
        }
        sql::PreparedStatement& sku = c.Prepare(
            "UPDATE skus SET on_hand = on_hand - ?, reserved = reserved - ? WHERE id = ? AND "
            "reserved >= ? AND on_hand >= ?");
        sku.setInt64(1, r.quantity);
        sku.setInt64(2, r.quantity);
        sku.setInt64(3, r.sku_id);
        sku.setInt64(4, r.quantity);
        sku.setInt64(5, r.quantity);
        if (sku.executeUpdate() != 1) {
          return absl::InternalError("inventory: reserved units out of step with the reservations");
        }
        sql::PreparedStatement& s = c.Prepare(
            "UPDATE sku_reservations SET state = ?, updated_at = ? WHERE id = ? AND state = ?");
        s.setInt(1, StateCode(ReservationState::kConfirmed));
        s.setDateTime(2, ToSqlTime(now));
        s.setInt64(3, stored.row_id);
        s.setInt(4, StateCode(ReservationState::kReserved));
        if (s.executeUpdate() != 1) {
          return absl::InternalError("inventory: reservation changed under its lock");
        }
        r.state = ReservationState::kConfirmed;
        return r;
      });
  if (result.ok() && result->state == ReservationState::kExpired) {
    return absl::FailedPreconditionError("reservation_id: the reservation has expired");
  }
  return result;
}

absl::StatusOr<InventoryReservation> MysqlInventoryStore::Release(const std::string& reservation_id,
                                                                  absl::Time now) {
  LC_RETURN_IF_ERROR(ValidateReservationId(reservation_id));
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<InventoryReservation> {
    LC_ASSIGN_OR_RETURN(StoredReservation stored, LockReservation(c, reservation_id));
    switch (stored.reservation.state) {
      case ReservationState::kConfirmed:
        return absl::FailedPreconditionError("reservation_id: the reservation was confirmed");
      case ReservationState::kReleased:
      case ReservationState::kExpired:
        return stored.reservation;  // its units are back already
      case ReservationState::kReserved:
        break;
    }
    LC_RETURN_IF_ERROR(ReturnUnits(c, stored, ReservationState::kReleased, now));
    return stored.reservation;
  });
}

absl::StatusOr<int> MysqlInventoryStore::ExpireDue(absl::Time now, int limit) {
  if (limit <= 0) {
    return InvalidField("limit", "must be positive");
  }
  LC_ASSIGN_OR_RETURN(
      std::vector<std::string> due,
      pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<std::string>> {
        sql::PreparedStatement& s = c.Prepare(
            "SELECT reservation_id FROM sku_reservations WHERE state = ? AND expires_at <= ? "
            "ORDER BY expires_at LIMIT ?");
        s.setInt(1, StateCode(ReservationState::kReserved));
        s.setDateTime(2, ToSqlTime(now));
        s.setInt(3, limit);
        std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
        std::vector<std::string> ids;
        while (rs->next()) {
          ids.push_back(std::string(rs->getString(1)));
        }
        return ids;
      }));
  // One short transaction per reservation, locking it the way Confirm and Release do, so the
  // sweep never holds range locks that checkouts would wait on.
  int expired = 0;
  for (const std::string& id : due) {
    LC_ASSIGN_OR_RETURN(
        bool done, pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<bool> {
          LC_ASSIGN_OR_RETURN(StoredReservation stored, LockReservation(c, id));
          if (stored.reservation.state != ReservationState::kReserved ||
              stored.reservation.expires_at > now) {
            return false;  // confirmed, released or expired meanwhile
          }
          LC_RETURN_IF_ERROR(ReturnUnits(c, stored, ReservationState::kExpired, now));
          return true;
        }));
    if (done) {
      ++expired;
    }
  }
  return expired;
}

}  // namespace livecommerce::catalog
