#include "services/catalog/store/mysql_inventory_store.h"

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/catalog/domain/product.h"
#include "services/common/admission.h"
#include "services/common/principal.h"
#include "services/common/sql.h"
#include "services/common/status.h"

namespace livecommerce::catalog {
namespace {

using common::InvalidField;
using common::MysqlConnection;
using common::Sql;
using common::SqlRow;
using common::SqlStatement;

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

constexpr char kReservationColumns[] =
    "id, reservation_id, brand_id, sku_id, buyer_id, quantity, state, expires_at";

absl::StatusOr<StoredReservation> ReadReservation(const SqlRow& row) {
  StoredReservation stored;
  stored.row_id = row.Int("id");
  InventoryReservation& r = stored.reservation;
  r.reservation_id = row.Str("reservation_id");
  r.brand_id = row.Str("brand_id");
  r.sku_id = row.Int("sku_id");
  r.buyer_id = row.Str("buyer_id");
  r.quantity = row.Int("quantity");
  LC_ASSIGN_OR_RETURN(r.state, StateFromCode(static_cast<int>(row.Int("state"))));
  r.expires_at = row.Time("expires_at");
  return stored;
}

absl::StatusOr<std::optional<StoredReservation>> SelectReservation(
    MysqlConnection& c, const std::string& reservation_id, const char* lock) {
  std::optional<absl::StatusOr<StoredReservation>> read =
      Sql(c,
          absl::StrCat("SELECT ", kReservationColumns,
                       " FROM sku_reservations WHERE reservation_id = ?", lock),
          reservation_id)
          .One(ReadReservation);
  if (!read.has_value()) {
    return std::optional<StoredReservation>();
  }
  LC_ASSIGN_OR_RETURN(StoredReservation stored, *std::move(read));
  return std::optional<StoredReservation>(std::move(stored));
}

// The reservations of `ids` that exist, by reservation id (`lock`: "" or " FOR UPDATE").
absl::StatusOr<std::map<std::string, StoredReservation>> SelectReservations(
    MysqlConnection& c, const std::vector<std::string>& ids, const char* lock) {
  std::map<std::string, StoredReservation> found;
  absl::Status status;
  common::ForEachChunk(ids.size(), [&](size_t offset, size_t count) {
    if (!status.ok()) return;
    SqlStatement select = Sql(c, absl::StrCat("SELECT ", kReservationColumns,
                                              " FROM sku_reservations WHERE reservation_id IN ",
                                              common::Placeholders(1, count), lock));
    for (size_t i = 0; i < count; ++i) select.Bind(ids[offset + i]);
    select.ForEach([&](const SqlRow& row) {
      if (!status.ok()) return;
      absl::StatusOr<StoredReservation> stored = ReadReservation(row);
      if (!stored.ok()) {
        status = stored.status();
        return;
      }
      found.emplace(stored->reservation.reservation_id, *std::move(stored));
    });
  });
  if (!status.ok()) return status;
  return found;
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
  int returned = Sql(c, "UPDATE skus SET reserved = reserved - ? WHERE id = ? AND reserved >= ?",
                     r.quantity, r.sku_id, r.quantity)
                     .Execute();
  if (returned != 1) {
    return absl::InternalError("inventory: reserved units out of step with the reservations");
  }
  int changed =
      Sql(c, "UPDATE sku_reservations SET state = ?, updated_at = ? WHERE id = ? AND state = ?",
          StateCode(state), now, stored.row_id, StateCode(ReservationState::kReserved))
          .Execute();
  if (changed != 1) {
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

MysqlInventoryStore::MysqlInventoryStore(common::MysqlPool& pool) : pool_(pool) {
  reserves_ = std::make_unique<common::MysqlBatcher<ReserveItem>>(
      pool_, [this](MysqlConnection& c, const std::vector<ReserveItem*>& items) {
        return ApplyReserves(c, items);
      });
  confirms_ = std::make_unique<common::MysqlBatcher<ConfirmItem>>(
      pool_, [this](MysqlConnection& c, const std::vector<ConfirmItem*>& items) {
        return ApplyConfirms(c, items);
      });
}

MysqlInventoryStore::~MysqlInventoryStore() = default;

absl::StatusOr<InventoryReservation> MysqlInventoryStore::Reserve(
    const InventoryReservation& reservation) {
  LC_RETURN_IF_ERROR(ValidateNewReservation(reservation));
  // Two attempts: when a concurrent call with the same reservation id inserts first, the second
  // attempt finds its row and answers as a repeat would.
  for (int attempt = 1;; ++attempt) {
    ReserveItem item{&reservation, absl::UnknownError("not run")};
    // A reserve still waiting when its caller's deadline passes is dropped before it takes
    // anything: the caller has given up and may already have released this reservation id (a
    // release of an id not yet reserved finds nothing), so taking the units now would hold them
    // until the reservation expired. One taken before the deadline is in the batch's
    // transaction, and a release waits for that transaction's row lock, then finds it.
    absl::Status committed = reserves_->Run(item, common::CurrentDeadline());
    if (committed.ok()) return item.result;
    if (committed.code() != absl::StatusCode::kAlreadyExists || attempt >= 2) return committed;
  }
}

absl::Status MysqlInventoryStore::ApplyReserves(MysqlConnection& c,
                                                const std::vector<ReserveItem*>& items) {
  std::vector<std::string> ids;
  for (ReserveItem* item : items) ids.push_back(item->asked->reservation_id);
  // A plain (non-locking) read: no gap locks, so reservations of one SKU queue on its row only.
  LC_ASSIGN_OR_RETURN(auto existing, SelectReservations(c, ids, ""));
  // New reservations by SKU (the first of repeated ids in the batch only).
  std::map<std::pair<int64_t, std::string>, std::vector<ReserveItem*>> by_sku;
  std::map<std::string, ReserveItem*> first;
  std::vector<ReserveItem*> repeats;
  for (ReserveItem* item : items) {
    const InventoryReservation& asked = *item->asked;
    auto found = existing.find(asked.reservation_id);
    if (found != existing.end()) {
      const InventoryReservation& r = found->second.reservation;
      if (r.brand_id != asked.brand_id || r.sku_id != asked.sku_id ||
          r.buyer_id != asked.buyer_id || r.quantity != asked.quantity) {
        item->result = absl::AlreadyExistsError(
            "reservation_id: already used for a different SKU, buyer or quantity");
      } else {
        item->result = r;
      }
      continue;
    }
    if (!first.emplace(asked.reservation_id, item).second) {
      repeats.push_back(item);
      continue;
    }
    by_sku[{asked.sku_id, asked.brand_id}].push_back(item);
  }
  std::vector<ReserveItem*> granted;
  // Fast path: one UPDATE takes the units of every SKU at once when each has enough (the CHECK
  // on skus refuses the statement otherwise, and the per-SKU path below sorts it out).
  bool one_brand = !by_sku.empty() && by_sku.size() <= 64;
  for (const auto& [key, group] : by_sku)
    one_brand = one_brand && key.second == by_sku.begin()->first.second;
  if (one_brand) {
    c.Execute("SAVEPOINT lc_take");
    std::string units = "CASE id";
    for (size_t i = 0; i < by_sku.size(); ++i) absl::StrAppend(&units, " WHEN ? THEN ?");
    absl::StrAppend(&units, " END");
    SqlStatement take_all = Sql(
        c, absl::StrCat("UPDATE skus SET reserved = reserved + ", units,
                        " WHERE brand_id = ? AND id IN ", common::Placeholders(1, by_sku.size())));
    for (const auto& [key, group] : by_sku) {
      int64_t total = 0;
      for (ReserveItem* item : group) total += item->asked->quantity;
      take_all.Bind(key.first, total);
    }
    take_all.Bind(by_sku.begin()->first.second);
    for (const auto& [key, group] : by_sku) take_all.Bind(key.first);
    std::optional<int> taken = take_all.ExecuteUnless(common::kSqlCheckFailed);
    bool all = taken.has_value() && *taken == static_cast<int>(by_sku.size());
    if (all) {
      for (const auto& [key, group] : by_sku)
        granted.insert(granted.end(), group.begin(), group.end());
      by_sku.clear();
    } else {
      c.Execute("ROLLBACK TO SAVEPOINT lc_take");
    }
  }
  for (auto& entry : by_sku) {  // in SKU id order: batches lock SKU rows alike
    // Not a structured binding: clang 14 (the sanitizer builds) cannot capture one in a lambda.
    const auto& key = entry.first;
    auto& group = entry.second;
    int64_t total = 0;
    for (ReserveItem* item : group) total += item->asked->quantity;
    auto try_take = [&](int64_t quantity) {
      return Sql(c,
                 "UPDATE skus SET reserved = reserved + ? WHERE id = ? AND brand_id = ? AND "
                 "on_hand - reserved >= ?",
                 quantity, key.first, key.second, quantity)
                 .Execute() == 1;
    };
    if (try_take(total)) {
      granted.insert(granted.end(), group.begin(), group.end());
      continue;
    }
    // Not enough for all of them: first come, first served, one at a time.
    for (ReserveItem* item : group) {
      if (try_take(item->asked->quantity)) {
        granted.push_back(item);
        continue;
      }
      std::optional<int64_t> left =
          Sql(c,
              "SELECT on_hand - reserved FROM skus WHERE id = ? AND brand_id = ? LOCK IN SHARE "
              "MODE",
              key.first, key.second)
              .Scalar();
      item->result =
          left.has_value()
              ? absl::FailedPreconditionError(absl::StrCat("quantity: only ", *left, " available"))
              : absl::NotFoundError("sku_id: no such SKU");
    }
  }
  common::ForEachChunk(granted.size(), [&](size_t offset, size_t count) {
    SqlStatement insert = Sql(
        c, absl::StrCat("INSERT INTO sku_reservations (reservation_id, brand_id, sku_id, "
                        "buyer_id, quantity, state, expires_at, created_at, updated_at) VALUES ",
                        common::Placeholders(count, 7, ", UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)")));
    for (size_t i = 0; i < count; ++i) {
      const InventoryReservation& r = *granted[offset + i]->asked;
      insert.Bind(r.reservation_id, r.brand_id, r.sku_id, r.buyer_id, r.quantity,
                  StateCode(ReservationState::kReserved), r.expires_at);
    }
    insert.Execute();
  });
  for (ReserveItem* item : granted) {
    InventoryReservation stored = *item->asked;
    stored.state = ReservationState::kReserved;
    item->result = stored;
  }
  for (ReserveItem* item : repeats) {
    const InventoryReservation& asked = *item->asked;
    const ReserveItem* leader = first[asked.reservation_id];
    const InventoryReservation& l = *leader->asked;
    item->result = l.brand_id != asked.brand_id || l.sku_id != asked.sku_id ||
                           l.buyer_id != asked.buyer_id || l.quantity != asked.quantity
                       ? absl::StatusOr<InventoryReservation>(absl::AlreadyExistsError(
                             "reservation_id: already used for a different SKU, buyer or quantity"))
                       : leader->result;
  }
  return absl::OkStatus();
}

absl::StatusOr<InventoryReservation> MysqlInventoryStore::Confirm(const std::string& reservation_id,
                                                                  absl::Time now) {
  return std::move(ConfirmMany({reservation_id}, now)[0]);
}

std::vector<absl::StatusOr<InventoryReservation>> MysqlInventoryStore::ConfirmMany(
    const std::vector<std::string>& reservation_ids, absl::Time now) {
  std::vector<absl::StatusOr<InventoryReservation>> results(reservation_ids.size(),
                                                            absl::UnknownError("not run"));
  std::vector<ConfirmItem> items;
  items.reserve(reservation_ids.size());
  for (size_t i = 0; i < reservation_ids.size(); ++i) {
    if (absl::Status valid = ValidateReservationId(reservation_ids[i]); !valid.ok()) {
      results[i] = valid;
      items.push_back(ConfirmItem{"", now, valid});
      continue;
    }
    items.push_back(ConfirmItem{reservation_ids[i], now, absl::UnknownError("not run")});
  }
  // All submitted at once, so they share transactions; then wait for every one.
  std::mutex mu;
  std::condition_variable done;
  size_t left = 0;
  std::vector<absl::Status> committed(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].reservation_id.empty()) continue;
    ++left;
  }
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].reservation_id.empty()) continue;
    confirms_->Submit(&items[i], [&, i](absl::Status status) {
      std::lock_guard<std::mutex> lock(mu);
      committed[i] = std::move(status);
      if (--left == 0) done.notify_one();
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    done.wait(lock, [&] { return left == 0; });
  }
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].reservation_id.empty()) continue;
    if (!committed[i].ok()) {
      results[i] = committed[i];
    } else if (items[i].result.ok() && items[i].result->state == ReservationState::kExpired) {
      results[i] = absl::FailedPreconditionError("reservation_id: the reservation has expired");
    } else {
      results[i] = std::move(items[i].result);
    }
  }
  return results;
}

absl::Status MysqlInventoryStore::ApplyConfirms(MysqlConnection& c,
                                                const std::vector<ConfirmItem*>& items) {
  std::vector<std::string> ids;
  for (ConfirmItem* item : items) ids.push_back(item->reservation_id);
  LC_ASSIGN_OR_RETURN(auto locked, SelectReservations(c, ids, " FOR UPDATE"));
  std::map<int64_t, int64_t> units_by_sku;
  std::vector<StoredReservation*> confirmed;
  absl::Time latest = absl::InfinitePast();
  for (ConfirmItem* item : items) {
    auto found = locked.find(item->reservation_id);
    if (found == locked.end()) {
      item->result = absl::NotFoundError("reservation_id: no such reservation");
      continue;
    }
    StoredReservation& stored = found->second;
    InventoryReservation& r = stored.reservation;
    switch (r.state) {
      case ReservationState::kConfirmed:
      case ReservationState::kExpired:  // reported as expired by Confirm
        item->result = r;
        continue;
      case ReservationState::kReleased:
        item->result =
            absl::FailedPreconditionError("reservation_id: the reservation was released");
        continue;
      case ReservationState::kReserved:
        break;
    }
    if (r.expires_at <= item->now) {
      // Too late to confirm: expire it now (committed) rather than leave it to the sweeper.
      LC_RETURN_IF_ERROR(ReturnUnits(c, stored, ReservationState::kExpired, item->now));
      item->result = r;
      continue;
    }
    units_by_sku[r.sku_id] += r.quantity;
    r.state = ReservationState::kConfirmed;
    confirmed.push_back(&stored);
    latest = std::max(latest, item->now);
    item->result = r;
  }
  // One UPDATE for the batch's SKUs; the table's CHECK keeps reserved between 0 and on_hand.
  std::vector<std::pair<int64_t, int64_t>> skus(units_by_sku.begin(), units_by_sku.end());
  absl::Status taken;
  common::ForEachChunk(skus.size(), [&](size_t offset, size_t count) {
    std::string units = "CASE id";
    for (size_t i = 0; i < count; ++i) absl::StrAppend(&units, " WHEN ? THEN ?");
    absl::StrAppend(&units, " END");
    SqlStatement sku = Sql(
        c, absl::StrCat("UPDATE skus SET on_hand = on_hand - ", units, ", reserved = reserved - ",
                        units, " WHERE id IN ", common::Placeholders(1, count)));
    for (int twice = 0; twice < 2; ++twice) {
      for (size_t i = 0; i < count; ++i) {
        sku.Bind(skus[offset + i].first, skus[offset + i].second);
      }
    }
    for (size_t i = 0; i < count; ++i) sku.Bind(skus[offset + i].first);
    if (sku.Execute() != static_cast<int>(count)) {
      taken = absl::InternalError("inventory: reserved units out of step with the reservations");
    }
  });
  LC_RETURN_IF_ERROR(taken);
  absl::Status status;
  common::ForEachChunk(confirmed.size(), [&](size_t offset, size_t count) {
    if (!status.ok()) return;
    // By primary key only (the rows are locked and RESERVED): a condition on state could make
    // MySQL walk the (state, expires_at) index and lock its gaps, where new reservations go.
    SqlStatement update =
        Sql(c,
            absl::StrCat("UPDATE sku_reservations SET state = ?, updated_at = ? WHERE id IN ",
                         common::Placeholders(1, count)),
            StateCode(ReservationState::kConfirmed), latest);
    for (size_t i = 0; i < count; ++i) update.Bind(confirmed[offset + i]->row_id);
    if (update.Execute() != static_cast<int>(count)) {
      status = absl::InternalError("inventory: reservation changed under its lock");
    }
  });
  return status;
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
        return Sql(c,
                   "SELECT reservation_id FROM sku_reservations WHERE state = ? AND expires_at <= "
                   "? ORDER BY expires_at LIMIT ?",
                   StateCode(ReservationState::kReserved), now, limit)
            .All([](const SqlRow& row) { return row.Str("reservation_id"); });
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
