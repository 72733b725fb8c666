#pragma once

// Internal to MysqlAttributionStore: the row readers and writes its section files share. Nothing
// outside services/attribution/store/ includes this.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "livecommerce/v1/attribution.pb.h"
#include "services/common/mysql_client.h"
#include "services/common/sql.h"

namespace livecommerce::attribution::mysql_rows {

using common::MysqlConnection;
using common::Sql;
using common::SqlRow;
using common::SqlStatement;

// The row id behind an API id; 0 when it is not one.
int64_t IdOf(const std::string& id);
// An optional reference column: NULL for 0.
std::optional<int64_t> NullableId(int64_t id);
// An optional text column: NULL for "".
std::optional<std::string> NullableText(const std::string& text);
// `rows` groups of `columns` placeholders, for a multi-row INSERT: "(?, ?), (?, ?)".
std::string Rows(int columns, size_t rows);
// `n` placeholders for an IN list: "?, ?, ?".
std::string Placeholders(size_t n);

// How a SELECT locks what it reads, until the transaction ends.
enum class Lock { kNone, kShared, kExclusive };
// "", " LOCK IN SHARE MODE" or " FOR UPDATE".
const char* LockClause(Lock lock);

// ---- Stores and associates ----

inline constexpr char kAssociateColumns[] =
    "id, brand_id, store_id, name, status, created_at, updated_at";
v1::Associate ReadAssociate(const SqlRow& row);
// NOT_FOUND (associate_id) when the associate is not the brand's.
absl::StatusOr<v1::Associate> SelectAssociate(MysqlConnection& c, const std::string& brand_id,
                                              int64_t id, Lock lock = Lock::kNone);
// NOT_FOUND (store_id) when the store is not the brand's.
absl::Status CheckStoreIn(MysqlConnection& c, const std::string& brand_id, int64_t store_id);

// ---- Bindings ----

inline constexpr char kBindingColumns[] =
    "b.id, b.viewer_id, b.associate_id, b.reason, b.previous_associate_id, b.changed_by, b.note, "
    "b.bound_at, b.protected_until";

struct BindingRow {
  int64_t id = 0;
  int64_t associate_id = 0;
  absl::Time bound_at;
  absl::Time protected_until;
  v1::ClientBinding proto;
};
BindingRow ReadBinding(const SqlRow& row);

// The viewer's latest binding made at or before `t`.
std::optional<BindingRow> LatestBinding(MysqlConnection& c, const std::string& brand_id,
                                        const std::string& viewer_id, absl::Time t);
// Takes the viewer's binding lock until the transaction ends (inserted on first use; an upsert so
// the lock is exclusive at once, never a shared lock upgraded).
void LockViewer(MysqlConnection& c, const std::string& brand_id, const std::string& viewer_id);

struct NewBinding {
  std::string viewer_id;
  int64_t associate_id = 0;
  v1::BindingReason reason = v1::BINDING_REASON_UNSPECIFIED;
  int64_t previous_associate_id = 0;  // 0: none
  int64_t touch_id = 0;               // 0: not made by a touch
  std::string changed_by;
  std::string note;
  absl::Time bound_at;
  absl::Time protected_until;
};
BindingRow InsertBinding(MysqlConnection& c, const std::string& brand_id, const NewBinding& b);

// Which part of a facts query (bindings UNION ALL touches) a row comes from: its `src` column.
enum class FactSource { kBinding = 0, kTouch = 1 };

// ---- Ledger entries ----

inline constexpr char kEntryColumns[] =
    "e.id, e.order_id, e.kind, e.refund_id, e.recipient, e.recipient_id, e.store_id, e.rule_id, "
    "e.rule_version, e.line_no, e.basis_points, e.base_fen, e.amount_fen, e.currency, "
    "e.booked_at, e.settle_at";
// "SELECT <entry columns> FROM commission_entries e WHERE <where>".
std::string EntryQuery(absl::string_view where);
// Reads an entry; `settled_through` decides its status.
v1::LedgerEntry ReadEntry(const SqlRow& row, absl::Time settled_through);
inline auto EntryReader(absl::Time settled_through) {
  return [settled_through](const SqlRow& row) { return ReadEntry(row, settled_through); };
}
// The settlement mark (the epoch before the first settlement).
absl::Time ReadSettledThrough(MysqlConnection& c, Lock lock);

// An entry to write.
struct EntryRow {
  const std::string* brand_id = nullptr;
  const std::string* order_id = nullptr;
  v1::EntryKind kind = v1::ENTRY_KIND_UNSPECIFIED;
  std::string refund_id;
  int64_t reverses = 0;  // the sale entry a reversal or receivable reverses
  v1::Recipient recipient = v1::RECIPIENT_UNSPECIFIED;
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
// Writes the entries (multi-row INSERTs) and adds them to the daily totals, in the current
// transaction.
void InsertEntries(MysqlConnection& c, const std::vector<EntryRow>& rows);
// A UTC day as a DATE column compares: "2026-11-01".
std::string SqlDay(absl::Time t);

// ---- Alerts ----

struct AlertRow {
  const std::string* brand_id = nullptr;
  const v1::Alert* alert = nullptr;
  std::string dedupe_key;  // "": none (never a duplicate)
};
// One multi-row INSERT in the current transaction; ALREADY_EXISTS (through the driver exception)
// on a dedupe key used before.
void InsertAlerts(MysqlConnection& c, const std::vector<AlertRow>& alerts);

}  // namespace livecommerce::attribution::mysql_rows
