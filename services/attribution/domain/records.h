#pragma once

// The records the attribution service hands to its store and gets back: what a write needs, and
// what a read returns besides the API's own messages (the row id a list pages by, a cursor).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "livecommerce/v1/attribution.pb.h"
#include "services/attribution/domain/attribution_model.h"
#include "services/attribution/domain/commission.h"

namespace livecommerce::attribution {

// A touch as recorded, and the viewer's binding after it (none when nobody binds the viewer).
struct RecordedTouch {
  v1::Touch touch;
  std::optional<v1::ClientBinding> binding;
};

// Whether a client is watching a room (the values are what client_presence.present stores).
enum class Presence { kAbsent = 0, kPresent = 1 };

// A client in an associate's list; row_id is the binding's row, the list's cursor.
struct ClientRow {
  v1::ClientBinding binding;
  int64_t row_id = 0;
};

// A paid order ready to be written: the decision, and the sale entries that follow from it.
struct PaidOrderWrite {
  std::string brand_id;
  v1::AttributedOrder order;  // ids as the API spells them
  std::vector<EntryDraft> entries;
  int64_t store_id = 0;
  absl::Time booked_at;
  std::optional<v1::Alert> paid_alert;  // for the credited associate
};

// A paid order to attribute: whose facts to read, and how to turn them into the write.
struct PaidOrderRequest {
  std::string brand_id;
  std::string order_id;
  std::string buyer_id;  // empty: no facts
  absl::Time paid_at;
  absl::Duration window;
  // Decides and splits from the facts (the buyer's binding made at or before paid_at, and the
  // touches in [paid_at - window, paid_at]). Pure: it runs on the store's writer thread.
  std::function<PaidOrderWrite(AttributionFacts facts)> complete;
};

enum class PaidOrderOutcome {
  kRecorded,         // recorded now, by this call
  kAlreadyRecorded,  // recorded before (a replay): nothing was written
};

struct RecordedPaidOrder {
  PaidOrderOutcome outcome = PaidOrderOutcome::kRecorded;
  // The completed write when kRecorded; empty when kAlreadyRecorded (read the order back then).
  PaidOrderWrite write;
};

// An attributed order with its ledger entries (sales, reversals, receivables), by entry id.
struct AttributedOrderRecord {
  v1::AttributedOrder order;
  std::vector<v1::LedgerEntry> entries;
};

// An attributed order in a list; row_id is its row, the list's cursor.
struct AttributedOrderRow {
  v1::AttributedOrder order;
  int64_t row_id = 0;
};

struct RefundWrite {
  std::string brand_id;
  std::string order_id;
  std::string refund_id;
  int64_t amount_fen = 0;
  std::string currency;
  absl::Time refunded_at;
  absl::Time booked_at;
};

struct RefundResult {
  std::vector<v1::LedgerEntry> entries;
  int64_t refunded_fen = 0;  // of the order, after this refund
  std::string currency;
  bool replayed = false;
};

// A position in a statement's lines: (booked_at, id) of the last line returned.
struct LineCursor {
  absl::Time booked_at;
  int64_t id = 0;
};

// A line of a statement and its position.
struct StatementLine {
  v1::LedgerEntry entry;
  LineCursor cursor;
};

}  // namespace livecommerce::attribution
