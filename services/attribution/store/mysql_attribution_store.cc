// MysqlAttributionStore: construction, and paid orders written in batches by the writer threads.
#include "services/attribution/store/mysql_attribution_store.h"

#include <algorithm>
#include <future>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "livecommerce/events/v1/events.pb.h"
#include "services/attribution/store/mysql_rows.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"

namespace livecommerce::attribution {

using common::MysqlConnection;
using common::Sql;
using common::SqlRow;
using common::SqlStatement;
using mysql_rows::AlertRow;
using mysql_rows::EntryRow;
using mysql_rows::FactSource;
using mysql_rows::IdOf;
using mysql_rows::InsertAlerts;
using mysql_rows::InsertEntries;
using mysql_rows::NullableId;
using mysql_rows::Placeholders;
using mysql_rows::Rows;

struct MysqlAttributionStore::Pending {
  const PaidOrderRequest* request = nullptr;
  PaidOrderWrite write;  // completed by the writer when the order is new
  std::promise<absl::StatusOr<PaidOrderOutcome>> done;
};

namespace {

constexpr int kOrderInsertColumns = 18;
constexpr char kOrderInsert[] =
    "INSERT INTO attributed_orders (brand_id, order_id, buyer_id, room_id, session_id, "
    "amount_fen, currency, paid_at, channel, associate_id, store_id, host_associate_id, "
    "inviting_associate_id, rule, reason, touch_id, settle_at, recorded_at) VALUES ";

void BindOrder(SqlStatement& s, const PaidOrderWrite& w) {
  const v1::AttributedOrder& o = w.order;
  s.Bind(w.brand_id, o.order_id(), o.buyer_id(), o.room_id(), o.session_id(),
         o.amount().amount_fen(), o.amount().currency(), common::FromTimestamp(o.paid_at()),
         o.channel(), NullableId(IdOf(o.associate_id())), NullableId(w.store_id),
         NullableId(IdOf(o.host_associate_id())), NullableId(IdOf(o.inviting_associate_id())),
         o.rule(), o.reason().substr(0, 300), NullableId(IdOf(o.touch_id())),
         common::FromTimestamp(o.settle_at()), w.booked_at);
}

std::vector<EntryRow> SaleRows(const PaidOrderWrite& w) {
  std::vector<EntryRow> rows;
  absl::Time settle_at = common::FromTimestamp(w.order.settle_at());
  for (const EntryDraft& d : w.entries) {
    EntryRow r;
    r.brand_id = &w.brand_id;
    r.order_id = &w.order.order_id();
    r.kind = v1::ENTRY_KIND_SALE;
    r.recipient = d.recipient;
    r.recipient_id = d.recipient_id;
    r.store_id = w.store_id;
    r.rule_id = d.rule_id;
    r.rule_version = d.rule_version;
    r.line_no = d.line_no;
    r.basis_points = d.basis_points;
    r.base_fen = d.base_fen;
    r.amount_fen = d.amount_fen;
    r.currency = w.order.amount().currency();
    r.booked_at = w.booked_at;
    r.settle_at = settle_at;
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string PaidAlertKey(const std::string& order_id) { return absl::StrCat("paid:", order_id); }

// Writes orders (with entries, alerts and their OrderCredited events) in the current transaction.
void InsertPaidOrders(MysqlConnection& c, const std::vector<const PaidOrderWrite*>& writes,
                      const common::EventOutbox* events) {
  SqlStatement s = Sql(c, absl::StrCat(kOrderInsert, Rows(kOrderInsertColumns, writes.size())));
  for (const PaidOrderWrite* w : writes) BindOrder(s, *w);
  s.Execute();
  std::vector<EntryRow> entries;
  std::vector<AlertRow> alerts;
  for (const PaidOrderWrite* w : writes) {
    std::vector<EntryRow> rows = SaleRows(*w);
    entries.insert(entries.end(), std::make_move_iterator(rows.begin()),
                   std::make_move_iterator(rows.end()));
    if (w->paid_alert.has_value()) {
      alerts.push_back(AlertRow{&w->brand_id, &*w->paid_alert, PaidAlertKey(w->order.order_id())});
    }
  }
  if (!entries.empty()) InsertEntries(c, entries);
  InsertAlerts(c, alerts);
  if (events != nullptr && !writes.empty()) {
    std::vector<common::OutgoingEvent> credited;
    for (const PaidOrderWrite* w : writes) {
      events::v1::OrderCredited e;
      int64_t order_id = 0;
      if (!absl::SimpleAtoi(w->order.order_id(), &order_id)) continue;
      e.set_order_id(order_id);
      e.set_associate_id(w->order.associate_id());
      common::ToTimestamp(w->booked_at, e.mutable_credited_at());
      credited.push_back(common::OutgoingEvent::Of(w->brand_id, w->order.order_id(), e));
    }
    events->PublishAll(c, credited, writes.front()->booked_at);
  }
}

// The facts of the buyers of a batch (one brand), read in one round trip: every binding row and
// every touch in the widest window, sorted out per order in memory.
void LoadBatchFacts(MysqlConnection& c, const std::string& brand_id,
                    const std::vector<const PaidOrderRequest*>& requests,
                    std::vector<AttributionFacts>& out) {
  std::vector<std::string> buyers;
  absl::Time from = absl::InfiniteFuture(), to = absl::InfinitePast();
  for (const PaidOrderRequest* r : requests) {
    if (r->buyer_id.empty()) continue;
    buyers.push_back(r->buyer_id);
    from = std::min(from, r->paid_at - std::max(r->window, absl::ZeroDuration()));
    to = std::max(to, r->paid_at);
  }
  if (buyers.empty()) return;
  std::sort(buyers.begin(), buyers.end());
  buyers.erase(std::unique(buyers.begin(), buyers.end()), buyers.end());
  size_t slots = 1;
  while (slots < buyers.size()) slots *= 2;
  std::string in = Placeholders(slots);
  SqlStatement q = Sql(
      c, absl::StrCat(
             "SELECT 0 AS src, b.viewer_id, 0 AS touch_id, b.associate_id, a.store_id, a.status, "
             "'' AS room_id, 0 AS channel, b.bound_at AS t1, b.protected_until AS t2, b.id AS "
             "row_id FROM client_bindings b JOIN associates a ON a.id = b.associate_id WHERE "
             "b.brand_id = ? AND b.viewer_id IN (",
             in,
             ") UNION ALL SELECT 1, t.viewer_id, t.id, t.associate_id, a.store_id, a.status, "
             "t.room_id, t.channel, t.touched_at, t.touched_at, t.id FROM touches t JOIN "
             "associates a ON a.id = t.associate_id WHERE t.brand_id = ? AND t.viewer_id IN (",
             in, ") AND t.touched_at >= ? AND t.touched_at <= ?"));
  for (int part = 0; part < 2; ++part) {
    q.Bind(brand_id);
    // The padding repeats the last buyer.
    for (size_t i = 0; i < slots; ++i) q.Bind(buyers[std::min(i, buyers.size() - 1)]);
  }
  q.Bind(from, to);
  struct Binding {
    BindingFact fact;
    int64_t id;
  };
  std::map<std::string, std::vector<Binding>> bindings;
  std::map<std::string, std::vector<TouchFact>> touches;
  q.ForEach([&](const SqlRow& row) {
    std::string viewer = row.Str("viewer_id");
    AssociateRef associate{row.Int("associate_id"), row.Int("store_id"),
                           row.Int("status") == v1::ASSOCIATE_STATUS_ACTIVE};
    if (row.Enum<FactSource>("src") == FactSource::kBinding) {
      bindings[viewer].push_back(
          Binding{BindingFact{associate, row.Time("t1"), row.Time("t2")}, row.Int("row_id")});
    } else {
      TouchFact t;
      t.id = row.Int("touch_id");
      t.associate = associate;
      t.room_id = row.Str("room_id");
      t.channel = row.Enum<v1::Channel>("channel");
      t.at = row.Time("t1");
      touches[viewer].push_back(std::move(t));
    }
  });
  for (size_t i = 0; i < requests.size(); ++i) {
    const PaidOrderRequest& r = *requests[i];
    AttributionFacts& facts = out[i];
    facts.paid_at = r.paid_at;
    if (r.buyer_id.empty()) continue;
    const Binding* latest = nullptr;
    for (const Binding& b : bindings[r.buyer_id]) {
      if (b.fact.bound_at > r.paid_at) continue;
      if (latest == nullptr || b.fact.bound_at > latest->fact.bound_at ||
          (b.fact.bound_at == latest->fact.bound_at && b.id > latest->id)) {
        latest = &b;
      }
    }
    if (latest != nullptr) facts.binding = latest->fact;
    for (const TouchFact& t : touches[r.buyer_id]) {
      if (t.at <= r.paid_at && t.at >= r.paid_at - r.window) facts.touches.push_back(t);
    }
  }
}

// Which of the orders are recorded already (one query; the IN list padded like the facts').
std::vector<bool> RecordedOrders(MysqlConnection& c, const std::string& brand_id,
                                 const std::vector<const PaidOrderRequest*>& requests) {
  size_t slots = 1;
  while (slots < requests.size()) slots *= 2;
  SqlStatement q = Sql(c,
                       absl::StrCat("SELECT order_id FROM attributed_orders WHERE brand_id = ? "
                                    "AND order_id IN (",
                                    Placeholders(slots), ")"),
                       brand_id);
  for (size_t i = 0; i < slots; ++i) q.Bind(requests[std::min(i, requests.size() - 1)]->order_id);
  std::set<std::string> known;
  q.ForEach([&](const SqlRow& row) { known.insert(row.Str("order_id")); });
  std::vector<bool> out;
  for (const PaidOrderRequest* r : requests) out.push_back(known.count(r->order_id) > 0);
  return out;
}

}  // namespace

MysqlAttributionStore::MysqlAttributionStore(common::MysqlPool& pool, Options options)
    : pool_(pool), options_(options) {
  for (int i = 0; i < std::max(1, options_.writers); ++i) {
    writers_.emplace_back([this] { WriterLoop(); });
  }
}

MysqlAttributionStore::~MysqlAttributionStore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : writers_) t.join();
}

absl::StatusOr<RecordedPaidOrder> MysqlAttributionStore::RecordPaidOrder(
    const PaidOrderRequest& request) {
  Pending pending;
  pending.request = &request;
  std::future<absl::StatusOr<PaidOrderOutcome>> done = pending.done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return absl::UnavailableError("attribution store is shutting down");
    queue_.push_back(&pending);
  }
  wake_.notify_one();
  LC_ASSIGN_OR_RETURN(PaidOrderOutcome outcome, done.get());
  RecordedPaidOrder recorded;
  recorded.outcome = outcome;
  if (outcome == PaidOrderOutcome::kRecorded) recorded.write = std::move(pending.write);
  return recorded;
}

void MysqlAttributionStore::WriterLoop() {
  for (;;) {
    std::vector<Pending*> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock,
                 [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      while (!queue_.empty() && static_cast<int>(batch.size()) < options_.max_batch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    WriteBatch(batch);
  }
}

void MysqlAttributionStore::WriteBatch(std::vector<Pending*>& batch) {
  using Result = absl::StatusOr<PaidOrderOutcome>;
  // Replays are common (an at-least-once outbox): orders already recorded are answered as such
  // and left out, so one replay does not make its whole batch fail on the unique key. The same
  // order twice in a batch is written once.
  struct OrderKey {
    std::string brand_id;
    std::string order_id;
    bool operator<(const OrderKey& o) const {
      return std::tie(brand_id, order_id) < std::tie(o.brand_id, o.order_id);
    }
  };
  std::map<OrderKey, size_t> first_of;
  std::vector<size_t> repeat_of(batch.size(), SIZE_MAX);
  std::map<std::string, std::vector<size_t>> by_brand;
  for (size_t i = 0; i < batch.size(); ++i) {
    const PaidOrderRequest& r = *batch[i]->request;
    auto [it, inserted] = first_of.emplace(OrderKey{r.brand_id, r.order_id}, i);
    if (!inserted) {
      repeat_of[i] = it->second;
      continue;
    }
    by_brand[r.brand_id].push_back(i);
  }
  std::vector<AttributionFacts> facts(batch.size());
  std::vector<bool> recorded(batch.size(), false);
  absl::Status loaded = pool_.Run([&](MysqlConnection& c) {
    for (const auto& [brand, indexes] : by_brand) {
      std::vector<const PaidOrderRequest*> requests;
      for (size_t i : indexes) requests.push_back(batch[i]->request);
      std::vector<AttributionFacts> found(requests.size());
      LoadBatchFacts(c, brand, requests, found);
      std::vector<bool> known = RecordedOrders(c, brand, requests);
      for (size_t k = 0; k < indexes.size(); ++k) {
        facts[indexes[k]] = std::move(found[k]);
        recorded[indexes[k]] = known[k];
      }
    }
    return absl::OkStatus();
  });
  if (!loaded.ok()) {
    for (Pending* p : batch) p->done.set_value(loaded);
    return;
  }
  std::vector<size_t> fresh;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (repeat_of[i] != SIZE_MAX || recorded[i]) continue;
    batch[i]->write = batch[i]->request->complete(std::move(facts[i]));
    fresh.push_back(i);
  }
  // One transaction for every new order. If another writer recorded one of them meanwhile (a
  // duplicate delivered at the same time), the unique key refuses the batch: look again at which
  // are recorded and retry without them; after a few rounds, write each on its own.
  std::vector<Result> result(batch.size(), PaidOrderOutcome::kAlreadyRecorded);
  // OK only once the remaining fresh orders have been written together.
  absl::Status together = absl::AbortedError("not written yet");
  for (int round = 0; round < 3 && !fresh.empty(); ++round) {
    std::vector<const PaidOrderWrite*> writes;
    for (size_t i : fresh) writes.push_back(&batch[i]->write);
    together = pool_.InTransaction([&](MysqlConnection& c) {
      InsertPaidOrders(c, writes, options_.events);
      return absl::OkStatus();
    });
    if (together.code() != absl::StatusCode::kAlreadyExists) break;
    std::map<std::string, std::vector<size_t>> fresh_by_brand;
    for (size_t i : fresh) fresh_by_brand[batch[i]->request->brand_id].push_back(i);
    std::set<size_t> now_recorded;
    absl::Status rechecked = pool_.Run([&](MysqlConnection& c) {
      for (const auto& [brand, indexes] : fresh_by_brand) {
        std::vector<const PaidOrderRequest*> requests;
        for (size_t i : indexes) requests.push_back(batch[i]->request);
        std::vector<bool> known = RecordedOrders(c, brand, requests);
        for (size_t k = 0; k < indexes.size(); ++k) {
          if (known[k]) now_recorded.insert(indexes[k]);
        }
      }
      return absl::OkStatus();
    });
    if (!rechecked.ok() || now_recorded.empty()) break;
    std::vector<size_t> still;
    for (size_t i : fresh) {
      if (now_recorded.count(i) == 0) still.push_back(i);
    }
    fresh = std::move(still);
  }
  for (size_t i : fresh) {
    if (together.ok()) {
      result[i] = PaidOrderOutcome::kRecorded;
      continue;
    }
    absl::Status alone = together;
    if (fresh.size() > 1 || together.code() == absl::StatusCode::kAlreadyExists ||
        together.code() == absl::StatusCode::kAborted) {
      alone = pool_.InTransaction([&](MysqlConnection& c) {
        InsertPaidOrders(c, {&batch[i]->write}, options_.events);
        return absl::OkStatus();
      });
    }
    if (alone.ok()) {
      result[i] = PaidOrderOutcome::kRecorded;
    } else if (alone.code() == absl::StatusCode::kAlreadyExists) {
      result[i] = PaidOrderOutcome::kAlreadyRecorded;
    } else {
      result[i] = alone;
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (repeat_of[i] != SIZE_MAX) {
      // Recorded by its first occurrence in this batch (or failed with it).
      const Result& first = result[repeat_of[i]];
      result[i] = first.ok() ? Result(PaidOrderOutcome::kAlreadyRecorded) : first;
    }
    batch[i]->done.set_value(result[i]);
  }
}

}  // namespace livecommerce::attribution
