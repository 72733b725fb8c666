#include "services/order/store/mysql_order_store.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "livecommerce/events/v1/events.pb.h"
#include "services/common/crypto.h"
#include "services/common/proto_util.h"
#include "services/common/sql.h"
#include "services/common/status.h"

namespace livecommerce::order {
namespace {

using common::MysqlConnection;
using common::Sql;
using common::SqlRow;
using common::SqlStatement;

// Bytes for BLOB columns (serialised protos, payloads) are bound as plain strings, which sends
// their length with them; SqlBytes (a BLOB stream) would cost a round trip of its own
// (send_long_data) per value.

constexpr char kOrderColumns[] =
    "id, brand_id, buyer_id, idempotency_key, request_hash, status, failure, currency, total_fen, "
    "refunded_fen, room_id, session_id, broadcast, channel, share_link_id, associate_id, address, "
    "provider, "
    "payment_params, expires_at, paid_at, created_at, updated_at";
constexpr char kLineColumns[] =
    "line_no, product_id, sku_id, sale_id, product_name, quantity, unit_price_fen, "
    "line_total_fen, refunded_quantity, reservation_id";

// A row of columns kOrderColumns (lines not included).
OrderRecord ReadOrder(const SqlRow& row) {
  OrderRecord o;
  o.id = row.Int("id");
  o.brand_id = row.Str("brand_id");
  o.buyer_id = row.Str("buyer_id");
  o.idempotency_key = row.Str("idempotency_key");
  o.request_hash = row.Str("request_hash");
  o.status = row.Enum<OrderState>("status");
  o.failure = row.Str("failure");
  o.currency = row.Str("currency");
  o.total_fen = row.Int("total_fen");
  o.refunded_fen = row.Int("refunded_fen");
  o.room_id = row.Int("room_id");
  o.session_id = row.Int("session_id");
  o.broadcast = row.Enum<v1::Broadcast>("broadcast");
  o.attribution.set_channel(row.Enum<v1::Channel>("channel"));
  o.attribution.set_share_link_id(row.Str("share_link_id"));
  o.attribution.set_associate_id(row.Str("associate_id"));
  o.address.ParseFromString(row.Bytes("address"));
  o.provider = row.Enum<v1::PaymentProvider>("provider");
  o.payment_params.ParseFromString(row.Bytes("payment_params"));
  o.expires_at = row.OptTime("expires_at");
  o.paid_at = row.OptTime("paid_at");
  o.created_at = row.Time("created_at");
  o.updated_at = row.Time("updated_at");
  return o;
}

// A row of columns kLineColumns.
OrderLineRecord ReadLine(const SqlRow& row) {
  OrderLineRecord line;
  line.line_no = static_cast<int>(row.Int("line_no"));
  line.product_id = row.Int("product_id");
  line.sku_id = row.Int("sku_id");
  line.sale_id = row.Int("sale_id");  // NULL: regular stock
  line.product_name = row.Str("product_name");
  line.quantity = row.Int("quantity");
  line.unit_price_fen = row.Int("unit_price_fen");
  line.line_total_fen = row.Int("line_total_fen");
  line.refunded_quantity = row.Int("refunded_quantity");
  line.reservation_id = row.Str("reservation_id");
  return line;
}

RefundRecord ReadRefund(const SqlRow& row) {
  RefundRecord r;
  r.refund_key = row.Str("refund_key");
  r.amount_fen = row.Int("amount_fen");
  r.lines = row.Bytes("refund_lines");
  r.reason = row.Str("reason");
  r.status = row.Enum<RefundStatus>("status");
  r.requested_by = row.Str("requested_by");
  r.created_at = row.Time("created_at");
  return r;
}

OutboxMessage ReadMessage(const SqlRow& row) {
  return OutboxMessage{row.Int("id"),        row.Str("brand_id"),
                       row.Str("topic"),     row.Str("message_key"),
                       row.Bytes("payload"), static_cast<int>(row.Int("attempts"))};
}

int64_t ReadId(const SqlRow& row) { return row.Int("id"); }

// DATETIME(6) keeps microseconds: what is answered before a write matches what is read after.
absl::Time ToMicros(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }

// Optional references are NULL when absent (0 in the records).
std::optional<int64_t> NullIfZero(int64_t id) {
  if (id == 0) return std::nullopt;
  return id;
}

absl::StatusOr<OrderRecord> SelectOrder(MysqlConnection& c, int64_t id, bool lock) {
  std::optional<OrderRecord> order =
      Sql(c,
          absl::StrCat("SELECT ", kOrderColumns, " FROM orders WHERE id = ?",
                       lock ? " FOR UPDATE" : ""),
          id)
          .One(ReadOrder);
  if (!order.has_value()) return absl::NotFoundError("order_id: no such order");
  order->lines = Sql(c,
                     absl::StrCat("SELECT ", kLineColumns,
                                  " FROM order_lines WHERE order_id = ? ORDER BY line_no"),
                     id)
                     .All(ReadLine);
  return *std::move(order);
}

// Orders `ids` (ascending, distinct) with their lines, by id; missing ones are left out. With
// `payments`, also each order's recorded payment as "<provider>:<transaction id>".
std::map<int64_t, OrderRecord> SelectOrders(MysqlConnection& c, const std::vector<int64_t>& ids,
                                            bool lock,
                                            std::map<int64_t, std::string>* payments = nullptr) {
  std::map<int64_t, OrderRecord> orders;
  common::ForEachChunk(ids.size(), [&](size_t offset, size_t count) {
    std::string in = common::Placeholders(1, count);
    SqlStatement s =
        Sql(c, absl::StrCat("SELECT ", kOrderColumns,
                            payments == nullptr
                                ? ""
                                : ", (SELECT CONCAT(provider, ':', transaction_id) "
                                  "FROM payments WHERE order_id = orders.id) AS payment",
                            " FROM orders WHERE id IN ", in, lock ? " FOR UPDATE" : ""));
    for (size_t i = 0; i < count; ++i) s.Bind(ids[offset + i]);
    s.ForEach([&](const SqlRow& row) {
      OrderRecord order = ReadOrder(row);
      if (payments != nullptr && !row.IsNull("payment")) {
        (*payments)[order.id] = row.Str("payment");
      }
      orders.emplace(order.id, std::move(order));
    });
    SqlStatement l = Sql(
        c, absl::StrCat("SELECT order_id, ", kLineColumns, " FROM order_lines WHERE order_id IN ",
                        in, " ORDER BY order_id, line_no"));
    for (size_t i = 0; i < count; ++i) l.Bind(ids[offset + i]);
    l.ForEach([&](const SqlRow& row) {
      auto order = orders.find(row.Int("order_id"));
      if (order != orders.end()) order->second.lines.push_back(ReadLine(row));
    });
  });
  return orders;
}

void WriteOrder(MysqlConnection& c, const OrderRecord& o) {
  std::optional<std::string> failure;
  if (!o.failure.empty()) failure = o.failure.substr(0, 300);
  Sql(c,
      "UPDATE orders SET status = ?, failure = ?, currency = ?, total_fen = ?, refunded_fen = ?, "
      "payment_params = ?, expires_at = ?, paid_at = ?, updated_at = ? WHERE id = ?",
      o.status, failure, o.currency, o.total_fen, o.refunded_fen,
      o.payment_params.SerializeAsString(), o.expires_at, o.paid_at, o.updated_at, o.id)
      .Execute();
  for (const OrderLineRecord& line : o.lines) {
    Sql(c,
        "UPDATE order_lines SET product_id = ?, product_name = ?, unit_price_fen = ?, "
        "line_total_fen = ?, refunded_quantity = ? WHERE order_id = ? AND line_no = ?",
        line.product_id, line.product_name, line.unit_price_fen, line.line_total_fen,
        line.refunded_quantity, o.id, line.line_no)
        .Execute();
  }
}

// An outbox message and the time it is written (and first due).
struct QueuedMessage {
  OutboxMessage message;
  absl::Time at;
};

std::vector<QueuedMessage> QueueAll(const std::vector<OutboxMessage>& messages, absl::Time at) {
  std::vector<QueuedMessage> queued;
  queued.reserve(messages.size());
  for (const OutboxMessage& m : messages) queued.push_back({m, at});
  return queued;
}

// Queues outbox messages, a multi-row statement per chunk. A message about the same thing on the
// same topic is sent once (a retried change re-queues nothing).
void InsertOutbox(MysqlConnection& c, const std::vector<QueuedMessage>& messages) {
  common::ForEachChunk(messages.size(), [&](size_t offset, size_t count) {
    SqlStatement s =
        Sql(c, absl::StrCat("INSERT IGNORE INTO order_outbox (brand_id, topic, message_key, "
                            "payload, status, next_attempt_at, created_at) VALUES ",
                            common::Placeholders(count, 7)));
    for (size_t i = 0; i < count; ++i) {
      const auto& [m, at] = messages[offset + i];
      s.Bind(m.brand_id, m.topic, m.key, m.payload, 0, at, at);
    }
    s.Execute();
  });
}

// A line of an order, to be written.
struct LineOfOrder {
  const OrderRecord* order;
  const OrderLineRecord* line;
};

// Inserts order lines, or (when they exist) sets their product and prices: one multi-row
// statement per chunk.
void WriteLines(MysqlConnection& c, const std::vector<LineOfOrder>& lines) {
  common::ForEachChunk(lines.size(), [&](size_t offset, size_t count) {
    SqlStatement s = Sql(
        c, absl::StrCat(
               "INSERT INTO order_lines (order_id, line_no, brand_id, product_id, sku_id, sale_id, "
               "product_name, quantity, unit_price_fen, line_total_fen, reservation_id) VALUES ",
               common::Placeholders(count, 11),
               " ON DUPLICATE KEY UPDATE product_id = VALUES(product_id), product_name = "
               "VALUES(product_name), unit_price_fen = VALUES(unit_price_fen), line_total_fen = "
               "VALUES(line_total_fen)"));
    for (size_t i = 0; i < count; ++i) {
      const auto& [order, line] = lines[offset + i];
      s.Bind(order->id, line->line_no, order->brand_id, line->product_id, line->sku_id,
             NullIfZero(line->sale_id), line->product_name, line->quantity, line->unit_price_fen,
             line->line_total_fen, line->reservation_id);
    }
    s.Execute();
  });
}

// A payment of an order, to be recorded at `at`.
struct NewPayment {
  const OrderRecord* order;
  const PaymentRecord* payment;
  absl::Time at;
};

// Records payments: one multi-row statement per chunk.
void InsertPayments(MysqlConnection& c, const std::vector<NewPayment>& payments) {
  common::ForEachChunk(payments.size(), [&](size_t offset, size_t count) {
    SqlStatement s =
        Sql(c, absl::StrCat("INSERT INTO payments (brand_id, order_id, provider, transaction_id, "
                            "amount_fen, currency, created_at) VALUES ",
                            common::Placeholders(count, 7)));
    for (size_t i = 0; i < count; ++i) {
      const auto& [order, payment, at] = payments[offset + i];
      s.Bind(order->brand_id, order->id, payment->provider, payment->transaction_id,
             payment->amount_fen, payment->currency, at);
    }
    s.Execute();
  });
}

// Records `refund` of `order`, in `currency`, requested at `now`.
void InsertRefund(MysqlConnection& c, const OrderRecord& order, const RefundRecord& refund,
                  const std::string& currency, absl::Time now) {
  Sql(c,
      "INSERT INTO refunds (brand_id, order_id, refund_key, amount_fen, currency, refund_lines, "
      "reason, status, requested_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "?, ?)",
      order.brand_id, order.id, refund.refund_key, refund.amount_fen, currency, refund.lines,
      refund.reason.substr(0, 200), refund.status, refund.requested_by, now, now)
      .Execute();
}

// ---- Events (docs/EVENTS.md) ------------------------------------------------------------------

common::OutgoingEvent CheckoutStartedEvent(const OrderRecord& o) {
  events::v1::CheckoutStarted e;
  e.set_order_id(o.id);
  e.set_session_id(o.session_id);
  e.set_buyer_id(o.buyer_id);
  common::ToTimestamp(o.updated_at, e.mutable_placed_at());
  return common::OutgoingEvent::Of(o.brand_id, absl::StrCat(o.id), e);
}

common::OutgoingEvent OrderPaidEvent(const OrderRecord& o) {
  events::v1::OrderPaid e;
  e.set_order_id(o.id);
  e.set_session_id(o.session_id);
  e.set_room_id(o.room_id);
  e.set_buyer_id(o.buyer_id);
  e.set_channel(o.attribution.channel());
  e.set_broadcast(o.broadcast);
  e.set_associate_id(o.attribution.associate_id());
  e.set_currency(o.currency);
  e.set_amount_fen(o.total_fen);
  int64_t units = 0;
  for (const OrderLineRecord& line : o.lines) {
    events::v1::OrderLine* out = e.add_lines();
    out->set_line_no(line.line_no);
    out->set_product_id(line.product_id);
    out->set_sku_id(line.sku_id);
    out->set_quantity(line.quantity);
    out->set_unit_price_fen(line.unit_price_fen);
    out->set_line_total_fen(line.line_total_fen);
    units += line.quantity;
  }
  e.set_units(units);
  if (o.paid_at.has_value()) common::ToTimestamp(*o.paid_at, e.mutable_paid_at());
  return common::OutgoingEvent::Of(o.brand_id, absl::StrCat(o.id), e);
}

common::OutgoingEvent OrderRefundedEvent(const OrderRecord& o, int64_t refund_id,
                                         const RefundRecord& refund, absl::Time now) {
  events::v1::OrderRefunded e;
  e.set_refund_id(refund_id);
  e.set_order_id(o.id);
  e.set_amount_fen(refund.amount_fen);
  e.set_currency(o.currency);
  v1::RefundOrderRequest named;
  if (!refund.lines.empty() && named.ParseFromString(refund.lines)) {
    for (const v1::RefundLine& line : named.lines()) {
      int line_no = 0;
      if (absl::SimpleAtoi(line.line_id(), &line_no) && line_no >= 1) {
        events::v1::RefundedLine* out = e.add_lines();
        out->set_line_no(line_no);
        out->set_quantity(line.quantity());
      }
    }
  }
  common::ToTimestamp(now, e.mutable_requested_at());
  return common::OutgoingEvent::Of(o.brand_id, absl::StrCat(o.id), e);
}

bool RefundExists(MysqlConnection& c, int64_t order_id, const std::string& refund_key) {
  return Sql(c, "SELECT 1 FROM refunds WHERE order_id = ? AND refund_key = ?", order_id, refund_key)
      .Scalar()
      .has_value();
}

}  // namespace

MysqlOrderStore::MysqlOrderStore(common::MysqlPool& pool, const common::EventOutbox* events,
                                 common::AdmissionOptions checkout_admission)
    : pool_(pool), events_(events) {
  begins_ = std::make_unique<common::MysqlBatcher<BeginItem>>(
      pool_,
      [this](MysqlConnection& c, const std::vector<BeginItem*>& items) {
        return ApplyBegins(c, items);
      },
      1, 64, checkout_admission);
  pendings_ = std::make_unique<common::MysqlBatcher<PendingItem>>(
      pool_, [this](MysqlConnection& c, const std::vector<PendingItem*>& items) {
        return ApplyPendings(c, items);
      });
  paids_ = std::make_unique<common::MysqlBatcher<PaidItem>>(
      pool_, [this](MysqlConnection& c, const std::vector<PaidItem*>& items) {
        return ApplyPaids(c, items);
      });
}

MysqlOrderStore::~MysqlOrderStore() = default;

absl::StatusOr<OrderChange> MysqlOrderStore::BeginCheckout(const OrderRecord& d) {
  BeginItem item{&d, absl::UnknownError("not run")};
  // Dropped unstarted when the checkout's caller has given up meanwhile.
  absl::Status committed = begins_->Run(item, common::CurrentDeadline());
  if (committed.ok()) {
    LC_ASSIGN_OR_RETURN(OrderRecord order, std::move(item.result));
    return OrderChange{std::move(order), true};
  }
  if (committed.code() != absl::StatusCode::kAlreadyExists) return committed;
  // The key was used: return that order (the caller compares the requests).
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<OrderChange> {
    std::optional<int64_t> id =
        Sql(c, "SELECT id FROM orders WHERE brand_id = ? AND buyer_id = ? AND idempotency_key = ?",
            d.brand_id, d.buyer_id, d.idempotency_key)
            .One(ReadId);
    if (!id.has_value()) return absl::AbortedError("checkout raced, try again");
    LC_ASSIGN_OR_RETURN(OrderRecord order, SelectOrder(c, *id, false));
    return OrderChange{std::move(order), false};
  });
}

absl::Status MysqlOrderStore::ApplyBegins(MysqlConnection& c,
                                          const std::vector<BeginItem*>& items) {
  // Ids of one multi-row INSERT are consecutive, spaced by auto_increment_increment, unless
  // the server interleaves them (innodb_autoinc_lock_mode 2): then rows go in one at a time.
  int64_t step = autoinc_step_.load();
  if (step == 0) {
    struct AutoIncrement {
      int64_t increment = 1;
      int64_t lock_mode = 2;  // unknown: as if interleaved
    };
    AutoIncrement autoinc =
        Sql(c,
            "SELECT @@auto_increment_increment AS increment, @@innodb_autoinc_lock_mode AS "
            "lock_mode")
            .One([](const SqlRow& row) {
              return AutoIncrement{row.Int("increment"), row.Int("lock_mode")};
            })
            .value_or(AutoIncrement{});
    step = autoinc.lock_mode > 1 ? -1 : autoinc.increment;
    autoinc_step_.store(step);
  }
  auto chunks = [&](size_t n, const std::function<void(size_t, size_t)>& fn) {
    if (step > 0) {
      common::ForEachChunk(n, fn);
    } else {
      for (size_t i = 0; i < n; ++i) fn(i, 1);
    }
  };
  chunks(items.size(), [&](size_t offset, size_t count) {
    SqlStatement s = Sql(
        c, absl::StrCat("INSERT INTO orders (brand_id, buyer_id, idempotency_key, request_hash, "
                        "status, currency, room_id, session_id, broadcast, channel, share_link_id, "
                        "associate_id, address, provider, created_at, updated_at) VALUES ",
                        common::Placeholders(count, 16)));
    for (size_t i = 0; i < count; ++i) {
      const OrderRecord& d = *items[offset + i]->draft;
      s.Bind(d.brand_id, d.buyer_id, d.idempotency_key, d.request_hash, OrderState::kReserving,
             d.currency, NullIfZero(d.room_id), NullIfZero(d.session_id), d.broadcast,
             d.attribution.channel(), d.attribution.share_link_id(), d.attribution.associate_id(),
             d.address.SerializeAsString(), d.provider, d.created_at, d.created_at);
    }
    s.Execute();
    int64_t first = c.LastInsertId();
    for (size_t i = 0; i < count; ++i) {
      OrderRecord order = *items[offset + i]->draft;
      order.id = first + static_cast<int64_t>(i) * std::max<int64_t>(step, 1);
      order.status = OrderState::kReserving;
      order.created_at = ToMicros(order.created_at);
      order.updated_at = order.created_at;
      for (OrderLineRecord& line : order.lines) {
        // Reservation ids follow from the order id: a retry reserves the same units again.
        line.reservation_id = absl::StrCat("o", order.id, "-l", line.line_no);
      }
      items[offset + i]->result = std::move(order);
    }
  });
  std::vector<LineOfOrder> lines;
  for (BeginItem* item : items) {
    for (const OrderLineRecord& line : item->result->lines)
      lines.push_back({&*item->result, &line});
  }
  WriteLines(c, lines);
  return absl::OkStatus();
}

absl::StatusOr<OrderRecord> MysqlOrderStore::MarkPending(const OrderRecord& priced) {
  PendingItem item{&priced, absl::UnknownError("not run")};
  LC_RETURN_IF_ERROR(pendings_->Run(item));
  LC_RETURN_IF_ERROR(item.result);
  OrderRecord order = priced;
  order.status = OrderState::kPendingPayment;
  order.updated_at = ToMicros(order.updated_at);
  if (order.expires_at.has_value()) order.expires_at = ToMicros(*order.expires_at);
  return order;
}

absl::Status MysqlOrderStore::ApplyPendings(MysqlConnection& c,
                                            const std::vector<PendingItem*>& items) {
  // One UPDATE for the batch, joined to its values; only orders still reserving change.
  std::vector<const OrderRecord*> written;
  common::ForEachChunk(items.size(), [&](size_t offset, size_t count) {
    std::string values;
    for (size_t i = 0; i < count; ++i) {
      // Bytes go in hex: in a derived table they would be taken for text in the connection's
      // character set.
      absl::StrAppend(&values, i == 0 ? "SELECT ? AS id, ? AS currency, ? AS total_fen, "
                                        "UNHEX(?) AS payment_params, ? AS expires_at, ? AS "
                                        "updated_at"
                                      : " UNION ALL SELECT ?, ?, ?, UNHEX(?), ?, ?");
    }
    SqlStatement s =
        Sql(c, absl::StrCat("UPDATE orders o JOIN (", values,
                            ") v ON o.id = v.id SET o.status = ?, o.currency = v.currency, "
                            "o.total_fen = v.total_fen, o.payment_params = v.payment_params, "
                            "o.expires_at = v.expires_at, o.updated_at = v.updated_at WHERE "
                            "o.status = ?"));
    for (size_t i = 0; i < count; ++i) {
      const OrderRecord& o = *items[offset + i]->priced;
      s.Bind(o.id, o.currency, o.total_fen, common::HexEncode(o.payment_params.SerializeAsString()),
             o.expires_at, o.updated_at);
    }
    s.Bind(OrderState::kPendingPayment, OrderState::kReserving);
    std::set<int64_t> moved;
    if (s.Execute() == static_cast<int>(count)) {
      for (size_t i = 0; i < count; ++i) moved.insert(items[offset + i]->priced->id);
    } else {
      // Some were no longer reserving (recovery gave up on them): the ones now pending are
      // those this statement moved (their rows stay locked by it).
      SqlStatement q = Sql(c,
                           absl::StrCat("SELECT id FROM orders WHERE status = ? AND id IN ",
                                        common::Placeholders(1, count)),
                           OrderState::kPendingPayment);
      for (size_t i = 0; i < count; ++i) q.Bind(items[offset + i]->priced->id);
      q.ForEach([&](const SqlRow& row) { moved.insert(ReadId(row)); });
    }
    for (size_t i = 0; i < count; ++i) {
      PendingItem* item = items[offset + i];
      if (moved.count(item->priced->id) != 0) {
        item->result = absl::OkStatus();
        written.push_back(item->priced);
      } else {
        item->result = absl::AbortedError("checkout was interrupted; try again");
      }
    }
  });
  std::vector<LineOfOrder> lines;
  for (const OrderRecord* o : written) {
    for (const OrderLineRecord& line : o->lines) lines.push_back({o, &line});
  }
  // The lines exist: the upsert only sets their prices (one statement for the batch).
  WriteLines(c, lines);
  // CheckoutStarted feeds a session's funnel: a checkout outside a livestream session has no
  // reader, and a row nobody reads would cost every such checkout.
  std::vector<common::OutgoingEvent> placed;
  for (const OrderRecord* o : written) {
    if (o->session_id != 0) placed.push_back(CheckoutStartedEvent(*o));
  }
  if (events_ != nullptr && !placed.empty()) {
    events_->PublishAll(c, placed, written.front()->updated_at);
  }
  return absl::OkStatus();
}

absl::StatusOr<OrderRecord> MysqlOrderStore::Update(
    int64_t order_id,
    const std::function<absl::Status(OrderRecord&, std::vector<OutboxMessage>&)>& change) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<OrderRecord> {
    LC_ASSIGN_OR_RETURN(OrderRecord order, SelectOrder(c, order_id, true));
    std::vector<OutboxMessage> messages;
    LC_RETURN_IF_ERROR(change(order, messages));
    WriteOrder(c, order);
    InsertOutbox(c, QueueAll(messages, order.updated_at));
    return order;
  });
}

absl::StatusOr<OrderChange> MysqlOrderStore::MarkPaid(int64_t order_id, const PaymentRecord& p,
                                                      absl::Time now, const PaymentCheck& check) {
  PaidItem item{order_id, p, now, &check, absl::UnknownError("not run")};
  absl::Status committed = paids_->Run(item);
  if (committed.code() == absl::StatusCode::kAlreadyExists) {
    // The only unique key a payment of a pending order can hit: its transaction id.
    return absl::FailedPreconditionError("transaction_id: paid another order");
  }
  LC_RETURN_IF_ERROR(committed);
  return std::move(item.result);
}

absl::Status MysqlOrderStore::ApplyPaids(MysqlConnection& c, const std::vector<PaidItem*>& items) {
  std::vector<int64_t> ids;
  for (PaidItem* item : items) ids.push_back(item->order_id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  // With the payments already recorded for these orders: a notification seen before is a
  // replay.
  std::map<int64_t, std::string> recorded;
  std::map<int64_t, OrderRecord> orders = SelectOrders(c, ids, true, &recorded);
  std::vector<PaidItem*> paying;
  for (PaidItem* item : items) {
    auto found = orders.find(item->order_id);
    if (found == orders.end()) {
      item->result = absl::NotFoundError("order_id: no such order");
      continue;
    }
    OrderRecord& order = found->second;
    PaymentRecord& p = item->payment;
    if (*item->check) {
      if (absl::Status checked = (*item->check)(order, p); !checked.ok()) {
        item->result = checked;
        continue;
      }
    }
    auto before = recorded.find(order.id);
    if (before != recorded.end() &&
        before->second == absl::StrCat(static_cast<int>(p.provider), ":", p.transaction_id)) {
      item->result = OrderChange{order, false};  // a replay
      continue;
    }
    if (order.status != OrderState::kPendingPayment) {
      item->result = absl::FailedPreconditionError(
          absl::StrCat("order_id: the order is ",
                       order.status == OrderState::kReserving ? "still being checked out"
                       : order.status == OrderState::kRefused ? "not an order"
                                                              : StateName(order.status)));
      continue;
    }
    if (p.amount_fen != order.total_fen || p.currency != order.currency) {
      item->result = absl::FailedPreconditionError("amount: does not match the order");
      continue;
    }
    order.status = OrderState::kPaid;
    order.paid_at = ToMicros(item->now);
    order.updated_at = *order.paid_at;
    order.payment_params.Clear();
    recorded[order.id] = absl::StrCat(static_cast<int>(p.provider), ":", p.transaction_id);
    item->result = OrderChange{order, true};
    paying.push_back(item);
  }
  common::ForEachChunk(paying.size(), [&](size_t offset, size_t count) {
    std::string when = "CASE id";
    for (size_t i = 0; i < count; ++i) absl::StrAppend(&when, " WHEN ? THEN ?");
    absl::StrAppend(&when, " END");
    SqlStatement s =
        Sql(c,
            absl::StrCat("UPDATE orders SET status = ?, payment_params = ?, paid_at = ", when,
                         ", updated_at = ", when, " WHERE id IN ", common::Placeholders(1, count)),
            OrderState::kPaid, "");
    for (int twice = 0; twice < 2; ++twice) {
      for (size_t i = 0; i < count; ++i) {
        const OrderRecord& order = paying[offset + i]->result->order;
        s.Bind(order.id, *order.paid_at);
      }
    }
    for (size_t i = 0; i < count; ++i) s.Bind(paying[offset + i]->result->order.id);
    s.Execute();

    std::vector<NewPayment> payments;
    for (size_t i = 0; i < count; ++i) {
      const OrderRecord& order = paying[offset + i]->result->order;
      payments.push_back({&order, &paying[offset + i]->payment, *order.paid_at});
    }
    InsertPayments(c, payments);
  });
  // Confirm each reservation; tell attribution.
  std::vector<QueuedMessage> messages;
  for (PaidItem* item : paying) {
    const OrderRecord& order = item->result->order;
    for (const OrderLineRecord& line : order.lines) {
      messages.push_back(
          {ReservationMessage(order.brand_id, kTopicConfirmReservation, line.reservation_id),
           *order.paid_at});
    }
    messages.push_back({OrderPaidMessage(order), *order.paid_at});
  }
  InsertOutbox(c, messages);
  if (events_ != nullptr && !paying.empty()) {
    std::vector<common::OutgoingEvent> paid;
    for (PaidItem* item : paying) paid.push_back(OrderPaidEvent(item->result->order));
    events_->PublishAll(c, paid, *paying.front()->result->order.paid_at);
  }
  return absl::OkStatus();
}

absl::StatusOr<OrderChange> MysqlOrderStore::Refund(
    int64_t order_id, RefundRecord refund,
    const std::function<absl::Status(OrderRecord&, RefundRecord&, std::vector<OutboxMessage>&)>&
        apply,
    absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<OrderChange> {
    LC_ASSIGN_OR_RETURN(OrderRecord order, SelectOrder(c, order_id, true));
    if (RefundExists(c, order_id, refund.refund_key)) {
      return OrderChange{std::move(order), false};  // a repeat
    }
    std::vector<OutboxMessage> messages;
    LC_RETURN_IF_ERROR(apply(order, refund, messages));
    WriteOrder(c, order);
    InsertRefund(c, order, refund, order.currency, now);
    if (events_ != nullptr) {
      events_->PublishAll(c, {OrderRefundedEvent(order, c.LastInsertId(), refund, now)}, now);
    }
    InsertOutbox(c, QueueAll(messages, now));
    return OrderChange{std::move(order), true};
  });
}

absl::StatusOr<OrderRecord> MysqlOrderStore::Get(int64_t order_id) {
  return pool_.Run([&](MysqlConnection& c) { return SelectOrder(c, order_id, false); });
}

absl::StatusOr<std::vector<RefundRecord>> MysqlOrderStore::ListRefunds(int64_t order_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<RefundRecord>> {
    return Sql(c,
               "SELECT refund_key, amount_fen, refund_lines, reason, status, requested_by, "
               "created_at FROM refunds WHERE order_id = ? ORDER BY id",
               order_id)
        .All(ReadRefund);
  });
}

absl::StatusOr<bool> MysqlOrderStore::SettleRefund(int64_t order_id, const std::string& refund_key,
                                                   RefundStatus status, absl::Time now) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<bool> {
    int changed = Sql(c,
                      "UPDATE refunds SET status = ?, updated_at = ? WHERE order_id = ? AND "
                      "refund_key = ? AND status = ?",
                      status, now, order_id, refund_key, RefundStatus::kRequested)
                      .Execute();
    if (changed == 1) return true;
    if (!RefundExists(c, order_id, refund_key)) {
      return absl::NotFoundError("out_refund_no: no such refund");
    }
    return false;
  });
}

absl::StatusOr<bool> MysqlOrderStore::RecordLatePayment(int64_t order_id,
                                                        const PaymentRecord& payment,
                                                        const RefundRecord& refund,
                                                        const std::vector<OutboxMessage>& messages,
                                                        absl::Time now) {
  absl::StatusOr<bool> recorded = pool_.InTransaction([&](MysqlConnection& c)
                                                          -> absl::StatusOr<bool> {
    // The order's row lock serialises copies of the notification: one records, the rest see it.
    LC_ASSIGN_OR_RETURN(OrderRecord order, SelectOrder(c, order_id, true));
    std::optional<PaymentRecord> before =
        Sql(c, "SELECT provider, transaction_id FROM payments WHERE order_id = ?", order_id)
            .One([](const SqlRow& row) {
              PaymentRecord p;
              p.provider = row.Enum<v1::PaymentProvider>("provider");
              p.transaction_id = row.Str("transaction_id");
              return p;
            });
    if (before.has_value()) {
      if (before->provider == payment.provider &&
          before->transaction_id == payment.transaction_id) {
        return false;  // a replay
      }
      return absl::FailedPreconditionError("transaction_id: the order has another payment");
    }
    if (!IsNoLongerPayable(order.status)) {
      return absl::FailedPreconditionError("order_id: the order is neither cancelled nor expired");
    }
    InsertPayments(c, {NewPayment{&order, &payment, now}});
    Sql(c,
        "INSERT INTO payment_incidents (brand_id, order_id, order_status, provider, "
        "transaction_id, amount_fen, currency, refund_key, created_at) VALUES (?, ?, ?, ?, ?, ?, "
        "?, ?, ?)",
        order.brand_id, order.id, order.status, payment.provider, payment.transaction_id,
        payment.amount_fen, payment.currency, refund.refund_key, now)
        .Execute();
    // The refund returns the whole payment, as it was paid.
    RefundRecord whole = refund;
    whole.amount_fen = payment.amount_fen;
    whole.status = RefundStatus::kRequested;
    InsertRefund(c, order, whole, payment.currency, now);
    InsertOutbox(c, QueueAll(messages, now));
    return true;
  });
  if (recorded.status().code() == absl::StatusCode::kAlreadyExists) {
    return absl::FailedPreconditionError("transaction_id: paid another order");
  }
  return recorded;
}

absl::StatusOr<std::map<int64_t, PaymentIncidentRecord>> MysqlOrderStore::Incidents(
    const std::vector<int64_t>& order_ids) {
  std::map<int64_t, PaymentIncidentRecord> incidents;
  if (order_ids.empty()) return incidents;
  LC_RETURN_IF_ERROR(pool_.Run([&](MysqlConnection& c) -> absl::Status {
    common::ForEachChunk(order_ids.size(), [&](size_t offset, size_t count) {
      SqlStatement s = Sql(
          c, absl::StrCat(
                 "SELECT i.order_id, i.order_status, i.provider, i.transaction_id, i.amount_fen, "
                 "i.currency, i.refund_key, i.created_at, r.status FROM payment_incidents i LEFT "
                 "JOIN refunds r ON r.order_id = i.order_id AND r.refund_key = i.refund_key WHERE "
                 "i.order_id IN ",
                 common::Placeholders(1, count)));
      for (size_t i = 0; i < count; ++i) s.Bind(order_ids[offset + i]);
      s.ForEach([&](const SqlRow& row) {
        PaymentIncidentRecord incident;
        incident.order_id = row.Int("order_id");
        incident.order_status = row.Enum<OrderState>("order_status");
        incident.payment.provider = row.Enum<v1::PaymentProvider>("provider");
        incident.payment.transaction_id = row.Str("transaction_id");
        incident.payment.amount_fen = row.Int("amount_fen");
        incident.payment.currency = row.Str("currency");
        incident.refund_key = row.Str("refund_key");
        incident.created_at = row.Time("created_at");
        // The refund's status (NULL: its row is not there, as if just requested).
        incident.refund_status =
            row.IsNull("status") ? RefundStatus::kRequested : row.Enum<RefundStatus>("status");
        incidents.emplace(incident.order_id, std::move(incident));
      });
    });
    return absl::OkStatus();
  }));
  return incidents;
}

absl::StatusOr<std::vector<OrderRecord>> MysqlOrderStore::List(const std::string& brand_id,
                                                               const std::string& buyer_id,
                                                               std::optional<OrderState> status,
                                                               bool incidents_only,
                                                               int64_t after_id, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<OrderRecord>> {
    std::string query = absl::StrCat(
        "SELECT id FROM orders WHERE brand_id = ? AND id > ? AND "
        "status NOT IN (?, ?)");
    if (!buyer_id.empty()) absl::StrAppend(&query, " AND buyer_id = ?");
    if (status.has_value()) absl::StrAppend(&query, " AND status = ?");
    if (incidents_only) {
      absl::StrAppend(&query,
                      " AND id IN (SELECT order_id FROM payment_incidents WHERE brand_id = ? AND "
                      "order_id > ?)");
    }
    absl::StrAppend(&query, " ORDER BY id LIMIT ?");
    SqlStatement s =
        Sql(c, query, brand_id, after_id, OrderState::kReserving, OrderState::kRefused);
    if (!buyer_id.empty()) s.Bind(buyer_id);
    if (status.has_value()) s.Bind(*status);
    if (incidents_only) s.Bind(brand_id, after_id);
    s.Bind(limit);
    std::vector<int64_t> ids = s.All(ReadId);
    // The page's orders and their lines in two queries (not two per order).
    std::map<int64_t, OrderRecord> found = SelectOrders(c, ids, false);
    std::vector<OrderRecord> orders;
    orders.reserve(ids.size());
    for (int64_t id : ids) {
      auto it = found.find(id);
      if (it != found.end()) orders.push_back(std::move(it->second));
    }
    return orders;
  });
}

absl::StatusOr<std::vector<int64_t>> MysqlOrderStore::Due(OrderState status, absl::Time before,
                                                          int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<int64_t>> {
    return Sql(c,
               status == OrderState::kReserving
                   ? "SELECT id FROM orders WHERE status = ? AND created_at < ? ORDER BY id LIMIT ?"
                   : "SELECT id FROM orders WHERE status = ? AND expires_at < ? ORDER BY id LIMIT "
                     "?",
               status, before, limit)
        .All(ReadId);
  });
}

absl::StatusOr<std::vector<OutboxMessage>> MysqlOrderStore::DueMessages(
    const std::vector<std::string>& topics, absl::Time now, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<OutboxMessage>> {
    std::vector<OutboxMessage> messages;
    for (const std::string& topic : topics) {
      Sql(c,
          "SELECT id, brand_id, topic, message_key, payload, attempts FROM order_outbox WHERE "
          "status = 0 AND topic = ? AND next_attempt_at <= ? ORDER BY id LIMIT ?",
          topic, now, limit)
          .ForEach([&](const SqlRow& row) { messages.push_back(ReadMessage(row)); });
    }
    return messages;
  });
}

absl::StatusOr<std::optional<absl::Time>> MysqlOrderStore::OldestPendingOutbox() {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::optional<absl::Time>> {
    // Pending rows are few (the relay drains them every LC_OUTBOX_INTERVAL_MS) and the status
    // index finds them.
    return Sql(c, "SELECT MIN(created_at) AS oldest FROM order_outbox WHERE status = 0")
        .One([](const SqlRow& row) { return row.OptTime("oldest"); })
        .value_or(std::nullopt);
  });
}

absl::Status MysqlOrderStore::MarkDelivered(int64_t message_id, absl::Time now) {
  return pool_.Run([&](MysqlConnection& c) -> absl::Status {
    Sql(c,
        "UPDATE order_outbox SET status = 1, delivered_at = ?, attempts = attempts + 1 WHERE "
        "id = ?",
        now, message_id)
        .Execute();
    return absl::OkStatus();
  });
}

absl::Status MysqlOrderStore::MarkDeliveredMany(const std::vector<int64_t>& message_ids,
                                                absl::Time now) {
  return pool_.Run([&](MysqlConnection& c) -> absl::Status {
    common::ForEachChunk(message_ids.size(), [&](size_t offset, size_t count) {
      SqlStatement s =
          Sql(c,
              absl::StrCat("UPDATE order_outbox SET status = 1, delivered_at = ?, attempts = "
                           "attempts + 1 WHERE id IN ",
                           common::Placeholders(1, count)),
              now);
      for (size_t i = 0; i < count; ++i) s.Bind(message_ids[offset + i]);
      s.Execute();
    });
    return absl::OkStatus();
  });
}

absl::Status MysqlOrderStore::MarkDeliveredByKey(const std::string& topic, const std::string& key,
                                                 absl::Time now) {
  return pool_.Run([&](MysqlConnection& c) -> absl::Status {
    Sql(c,
        "UPDATE order_outbox SET status = 1, delivered_at = ?, attempts = attempts + 1 WHERE "
        "topic = ? AND message_key = ? AND status = 0",
        now, topic, key)
        .Execute();
    return absl::OkStatus();
  });
}

absl::Status MysqlOrderStore::MarkFailed(int64_t message_id, const std::string& error,
                                         absl::Time next_attempt) {
  return pool_.Run([&](MysqlConnection& c) -> absl::Status {
    Sql(c,
        "UPDATE order_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
        "WHERE id = ?",
        error.substr(0, 300), next_attempt, message_id)
        .Execute();
    return absl::OkStatus();
  });
}

}  // namespace livecommerce::order
