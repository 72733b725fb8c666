#include "services/order/store/mysql_order_store.h"

#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "services/common/crypto.h"
#include "services/common/status.h"

namespace livecommerce::order {
namespace {

using common::FromSqlTime;
using common::MysqlConnection;
using common::ToSqlTime;

// Bytes for BLOB columns (serialised protos, payloads) are bound with setString, which sends
// their length with them; setBlob would cost a round trip of its own (send_long_data) per value.

constexpr char kOrderColumns[] =
    "id, brand_id, buyer_id, idempotency_key, request_hash, status, failure, currency, total_fen, "
    "refunded_fen, room_id, session_id, channel, share_link_id, associate_id, address, provider, "
    "payment_params, expires_at, paid_at, created_at, updated_at";
constexpr char kLineColumns[] =
    "line_no, product_id, sku_id, sale_id, product_name, quantity, unit_price_fen, "
    "line_total_fen, refunded_quantity, reservation_id";

OrderRecord ReadOrder(sql::ResultSet& rs) {
  OrderRecord o;
  o.id = rs.getInt64(1);
  o.brand_id = rs.getString(2);
  o.buyer_id = rs.getString(3);
  o.idempotency_key = rs.getString(4);
  o.request_hash = rs.getString(5);
  o.status = rs.getInt(6);
  o.failure = rs.isNull(7) ? "" : std::string(rs.getString(7));
  o.currency = rs.getString(8);
  o.total_fen = rs.getInt64(9);
  o.refunded_fen = rs.getInt64(10);
  o.room_id = rs.isNull(11) ? 0 : rs.getInt64(11);
  o.session_id = rs.isNull(12) ? 0 : rs.getInt64(12);
  o.attribution.set_channel(static_cast<v1::Channel>(rs.getInt(13)));
  o.attribution.set_share_link_id(rs.getString(14));
  o.attribution.set_associate_id(rs.getString(15));
  o.address.ParseFromString(common::SqlBlobAt(rs, 16));
  o.provider = static_cast<v1::PaymentProvider>(rs.getInt(17));
  o.payment_params.ParseFromString(common::SqlBlobAt(rs, 18));
  o.expires_at = common::SqlTimeAt(rs, 19);
  o.paid_at = common::SqlTimeAt(rs, 20);
  o.created_at = common::SqlTimeAt(rs, 21).value_or(absl::UnixEpoch());
  o.updated_at = common::SqlTimeAt(rs, 22).value_or(absl::UnixEpoch());
  return o;
}

// A line from columns kLineColumns starting after `skip` columns.
OrderLineRecord ReadLine(sql::ResultSet& rs, int skip) {
  OrderLineRecord line;
  line.line_no = rs.getInt(skip + 1);
  line.product_id = rs.getInt64(skip + 2);
  line.sku_id = rs.getInt64(skip + 3);
  line.sale_id = rs.isNull(skip + 4) ? 0 : rs.getInt64(skip + 4);
  line.product_name = rs.getString(skip + 5);
  line.quantity = rs.getInt64(skip + 6);
  line.unit_price_fen = rs.getInt64(skip + 7);
  line.line_total_fen = rs.getInt64(skip + 8);
  line.refunded_quantity = rs.getInt64(skip + 9);
  line.reservation_id = rs.getString(skip + 10);
  return line;
}

// DATETIME(6) keeps microseconds: what is answered before a write matches what is read after.
absl::Time ToMicros(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }

void SetNullableId(sql::PreparedStatement& s, int index, int64_t id) {
  if (id == 0) {
    s.setNull(index, 0);
  } else {
    s.setInt64(index, id);
  }
}

void SetNullableTime(sql::PreparedStatement& s, int index, const std::optional<absl::Time>& t) {
  if (t.has_value()) {
    s.setDateTime(index, ToSqlTime(*t));
  } else {
    s.setNull(index, 0);
  }
}

absl::StatusOr<OrderRecord> SelectOrder(MysqlConnection& c, int64_t id, bool lock) {
  sql::PreparedStatement& s = c.Prepare(absl::StrCat(
      "SELECT ", kOrderColumns, " FROM orders WHERE id = ?", lock ? " FOR UPDATE" : ""));
  s.setInt64(1, id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  if (!rs->next()) return absl::NotFoundError("order_id: no such order");
  OrderRecord order = ReadOrder(*rs);
  sql::PreparedStatement& l = c.Prepare(absl::StrCat(
      "SELECT ", kLineColumns, " FROM order_lines WHERE order_id = ? ORDER BY line_no"));
  l.setInt64(1, id);
  std::unique_ptr<sql::ResultSet> lines(l.executeQuery());
  while (lines->next()) order.lines.push_back(ReadLine(*lines, 0));
  return order;
}

// Orders `ids` (ascending, distinct) with their lines, by id; missing ones are left out. With
// `payments`, also each order's recorded payment as "<provider>:<transaction id>".
std::map<int64_t, OrderRecord> SelectOrders(MysqlConnection& c, const std::vector<int64_t>& ids,
                                            bool lock,
                                            std::map<int64_t, std::string>* payments = nullptr) {
  std::map<int64_t, OrderRecord> orders;
  common::ForEachChunk(ids.size(), [&](size_t offset, size_t count) {
    std::string in = common::Placeholders(1, count);
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(
        "SELECT ", kOrderColumns,
        payments == nullptr ? ""
                            : ", (SELECT CONCAT(provider, ':', transaction_id) FROM payments "
                              "WHERE order_id = orders.id)",
        " FROM orders WHERE id IN ", in, lock ? " FOR UPDATE" : ""));
    for (size_t i = 0; i < count; ++i) s.setInt64(static_cast<int>(i + 1), ids[offset + i]);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    while (rs->next()) {
      OrderRecord order = ReadOrder(*rs);
      if (payments != nullptr && !rs->isNull(23)) (*payments)[order.id] = rs->getString(23);
      orders.emplace(order.id, std::move(order));
    }
    sql::PreparedStatement& l = c.Prepare(absl::StrCat("SELECT order_id, ", kLineColumns,
                                                       " FROM order_lines WHERE order_id IN ", in,
                                                       " ORDER BY order_id, line_no"));
    for (size_t i = 0; i < count; ++i) l.setInt64(static_cast<int>(i + 1), ids[offset + i]);
    std::unique_ptr<sql::ResultSet> lines(l.executeQuery());
    while (lines->next()) {
      auto order = orders.find(lines->getInt64(1));
      if (order != orders.end()) order->second.lines.push_back(ReadLine(*lines, 1));
    }
  });
  return orders;
}

void WriteOrder(MysqlConnection& c, const OrderRecord& o) {
  sql::PreparedStatement& s = c.Prepare(
      "UPDATE orders SET status = ?, failure = ?, currency = ?, total_fen = ?, refunded_fen = ?, "
      "payment_params = ?, expires_at = ?, paid_at = ?, updated_at = ? WHERE id = ?");
  s.setInt(1, o.status);
  if (o.failure.empty()) {
    s.setNull(2, 0);
  } else {
    s.setString(2, o.failure.substr(0, 300));
  }
  s.setString(3, o.currency);
  s.setInt64(4, o.total_fen);
  s.setInt64(5, o.refunded_fen);
  s.setString(6, o.payment_params.SerializeAsString());
  SetNullableTime(s, 7, o.expires_at);
  SetNullableTime(s, 8, o.paid_at);
  s.setDateTime(9, ToSqlTime(o.updated_at));
  s.setInt64(10, o.id);
  s.executeUpdate();
  for (const OrderLineRecord& line : o.lines) {
    sql::PreparedStatement& l = c.Prepare(
        "UPDATE order_lines SET product_id = ?, product_name = ?, unit_price_fen = ?, "
        "line_total_fen = ?, refunded_quantity = ? WHERE order_id = ? AND line_no = ?");
    l.setInt64(1, line.product_id);
    l.setString(2, line.product_name);
    l.setInt64(3, line.unit_price_fen);
    l.setInt64(4, line.line_total_fen);
    l.setInt64(5, line.refunded_quantity);
    l.setInt64(6, o.id);
    l.setInt(7, line.line_no);
    l.executeUpdate();
  }
}

// Queues outbox messages (each with the time it is due), a multi-row statement per chunk. A
// message about the same thing on the same topic is sent once (a retried change re-queues
// nothing).
void InsertOutbox(MysqlConnection& c,
                  const std::vector<std::pair<OutboxMessage, absl::Time>>& messages) {
  common::ForEachChunk(messages.size(), [&](size_t offset, size_t count) {
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(
        "INSERT IGNORE INTO order_outbox (brand_id, topic, message_key, payload, status, "
        "next_attempt_at, created_at) VALUES ",
        common::Placeholders(count, 7)));
    int p = 1;
    for (size_t i = 0; i < count; ++i) {
      const auto& [m, now] = messages[offset + i];
      s.setString(p++, m.brand_id);
      s.setString(p++, m.topic);
      s.setString(p++, m.key);
      s.setString(p++, m.payload);
      s.setInt(p++, 0);
      s.setDateTime(p++, ToSqlTime(now));
      s.setDateTime(p++, ToSqlTime(now));
    }
    s.executeUpdate();
  });
}

// Inserts order lines, or (when they exist) sets their product and prices: one multi-row
// statement per chunk.
void WriteLines(MysqlConnection& c,
                const std::vector<std::pair<const OrderRecord*, const OrderLineRecord*>>& lines) {
  common::ForEachChunk(lines.size(), [&](size_t offset, size_t count) {
    sql::PreparedStatement& l = c.Prepare(absl::StrCat(
        "INSERT INTO order_lines (order_id, line_no, brand_id, product_id, sku_id, sale_id, "
        "product_name, quantity, unit_price_fen, line_total_fen, reservation_id) VALUES ",
        common::Placeholders(count, 11),
        " ON DUPLICATE KEY UPDATE product_id = VALUES(product_id), product_name = "
        "VALUES(product_name), unit_price_fen = VALUES(unit_price_fen), line_total_fen = "
        "VALUES(line_total_fen)"));
    int p = 1;
    for (size_t i = 0; i < count; ++i) {
      const auto& [order, line] = lines[offset + i];
      l.setInt64(p++, order->id);
      l.setInt(p++, line->line_no);
      l.setString(p++, order->brand_id);
      l.setInt64(p++, line->product_id);
      l.setInt64(p++, line->sku_id);
      SetNullableId(l, p++, line->sale_id);
      l.setString(p++, line->product_name);
      l.setInt64(p++, line->quantity);
      l.setInt64(p++, line->unit_price_fen);
      l.setInt64(p++, line->line_total_fen);
      l.setString(p++, line->reservation_id);
    }
    l.executeUpdate();
  });
}

}  // namespace

MysqlOrderStore::MysqlOrderStore(common::MysqlPool& pool) : pool_(pool) {
  begins_ = std::make_unique<common::MysqlBatcher<BeginItem>>(
      pool_, [this](MysqlConnection& c, const std::vector<BeginItem*>& items) {
        return ApplyBegins(c, items);
      });
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
  absl::Status committed = begins_->Run(item);
  if (committed.ok()) {
    LC_ASSIGN_OR_RETURN(OrderRecord order, std::move(item.result));
    return OrderChange{std::move(order), true};
  }
  if (committed.code() != absl::StatusCode::kAlreadyExists) return committed;
  // The key was used: return that order (the caller compares the requests).
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<OrderChange> {
    sql::PreparedStatement& s = c.Prepare(
        "SELECT id FROM orders WHERE brand_id = ? AND buyer_id = ? AND idempotency_key = ?");
    s.setString(1, d.brand_id);
    s.setString(2, d.buyer_id);
    s.setString(3, d.idempotency_key);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    if (!rs->next()) return absl::AbortedError("checkout raced, try again");
    LC_ASSIGN_OR_RETURN(OrderRecord order, SelectOrder(c, rs->getInt64(1), false));
    return OrderChange{std::move(order), false};
  });
}

absl::Status MysqlOrderStore::ApplyBegins(MysqlConnection& c,
                                          const std::vector<BeginItem*>& items) {
  // Ids of one multi-row INSERT are consecutive, spaced by auto_increment_increment, unless
  // the server interleaves them (innodb_autoinc_lock_mode 2): then rows go in one at a time.
  int64_t step = autoinc_step_.load();
  if (step == 0) {
    std::unique_ptr<sql::ResultSet> rs(
        c.Prepare("SELECT @@auto_increment_increment, @@innodb_autoinc_lock_mode").executeQuery());
    rs->next();
    step = rs->getInt(2) > 1 ? -1 : rs->getInt64(1);
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
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(
        "INSERT INTO orders (brand_id, buyer_id, idempotency_key, request_hash, status, "
        "currency, room_id, session_id, channel, share_link_id, associate_id, address, "
        "provider, created_at, updated_at) VALUES ",
        common::Placeholders(count, 15)));
    int p = 1;
    for (size_t i = 0; i < count; ++i) {
      const OrderRecord& d = *items[offset + i]->draft;
      s.setString(p++, d.brand_id);
      s.setString(p++, d.buyer_id);
      s.setString(p++, d.idempotency_key);
      s.setString(p++, d.request_hash);
      s.setInt(p++, kStatusReserving);
      s.setString(p++, d.currency);
      SetNullableId(s, p++, d.room_id);
      SetNullableId(s, p++, d.session_id);
      s.setInt(p++, d.attribution.channel());
      s.setString(p++, d.attribution.share_link_id());
      s.setString(p++, d.attribution.associate_id());
      s.setString(p++, d.address.SerializeAsString());
      s.setInt(p++, d.provider);
      s.setDateTime(p++, ToSqlTime(d.created_at));
      s.setDateTime(p++, ToSqlTime(d.created_at));
    }
    s.executeUpdate();
    int64_t first = c.LastInsertId();
    for (size_t i = 0; i < count; ++i) {
      OrderRecord order = *items[offset + i]->draft;
      order.id = first + static_cast<int64_t>(i) * std::max<int64_t>(step, 1);
      order.status = kStatusReserving;
      order.created_at = ToMicros(order.created_at);
      order.updated_at = order.created_at;
      for (OrderLineRecord& line : order.lines) {
        // Reservation ids follow from the order id: a retry reserves the same units again.
        line.reservation_id = absl::StrCat("o", order.id, "-l", line.line_no);
      }
      items[offset + i]->result = std::move(order);
    }
  });
  std::vector<std::pair<const OrderRecord*, const OrderLineRecord*>> lines;
  for (BeginItem* item : items) {
    for (const OrderLineRecord& line : item->result->lines)
      lines.emplace_back(&*item->result, &line);
  }
  WriteLines(c, lines);
  return absl::OkStatus();
}

absl::StatusOr<OrderRecord> MysqlOrderStore::MarkPending(const OrderRecord& priced) {
  PendingItem item{&priced, absl::UnknownError("not run")};
  LC_RETURN_IF_ERROR(pendings_->Run(item));
  LC_RETURN_IF_ERROR(item.result);
  OrderRecord order = priced;
  order.status = v1::ORDER_STATUS_PENDING_PAYMENT;
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
    sql::PreparedStatement& s = c.Prepare(absl::StrCat(
        "UPDATE orders o JOIN (", values,
        ") v ON o.id = v.id SET o.status = ?, o.currency = v.currency, o.total_fen = "
        "v.total_fen, o.payment_params = v.payment_params, o.expires_at = v.expires_at, "
        "o.updated_at = v.updated_at WHERE o.status = ?"));
    int p = 1;
    for (size_t i = 0; i < count; ++i) {
      const OrderRecord& o = *items[offset + i]->priced;
      s.setInt64(p++, o.id);
      s.setString(p++, o.currency);
      s.setInt64(p++, o.total_fen);
      s.setString(p++, common::HexEncode(o.payment_params.SerializeAsString()));
      SetNullableTime(s, p++, o.expires_at);
      s.setDateTime(p++, ToSqlTime(o.updated_at));
    }
    s.setInt(p++, v1::ORDER_STATUS_PENDING_PAYMENT);
    s.setInt(p++, kStatusReserving);
    std::set<int64_t> moved;
    if (s.executeUpdate() == static_cast<int>(count)) {
      for (size_t i = 0; i < count; ++i) moved.insert(items[offset + i]->priced->id);
    } else {
      // Some were no longer reserving (recovery gave up on them): the ones now pending are
      // those this statement moved (their rows stay locked by it).
      sql::PreparedStatement& q = c.Prepare(absl::StrCat(
          "SELECT id FROM orders WHERE status = ? AND id IN ", common::Placeholders(1, count)));
      q.setInt(1, v1::ORDER_STATUS_PENDING_PAYMENT);
      for (size_t i = 0; i < count; ++i) {
        q.setInt64(static_cast<int>(i + 2), items[offset + i]->priced->id);
      }
      std::unique_ptr<sql::ResultSet> rs(q.executeQuery());
      while (rs->next()) moved.insert(rs->getInt64(1));
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
  std::vector<std::pair<const OrderRecord*, const OrderLineRecord*>> lines;
  for (const OrderRecord* o : written) {
    for (const OrderLineRecord& line : o->lines) lines.emplace_back(o, &line);
  }
  // The lines exist: the upsert only sets their prices (one statement for the batch).
  WriteLines(c, lines);
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
    std::vector<std::pair<OutboxMessage, absl::Time>> queued;
    for (const OutboxMessage& m : messages) queued.emplace_back(m, order.updated_at);
    InsertOutbox(c, queued);
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
    if (order.status != v1::ORDER_STATUS_PENDING_PAYMENT) {
      item->result = absl::FailedPreconditionError(
          absl::StrCat("order_id: the order is ",
                       order.status == kStatusReserving ? "still being checked out"
                       : order.status == kStatusRefused
                           ? "not an order"
                           : v1::OrderStatus_Name(static_cast<v1::OrderStatus>(order.status))));
      continue;
    }
    if (p.amount_fen != order.total_fen || p.currency != order.currency) {
      item->result = absl::FailedPreconditionError("amount: does not match the order");
      continue;
    }
    order.status = v1::ORDER_STATUS_PAID;
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
    sql::PreparedStatement& s = c.Prepare(
        absl::StrCat("UPDATE orders SET status = ?, payment_params = ?, paid_at = ", when,
                     ", updated_at = ", when, " WHERE id IN ", common::Placeholders(1, count)));
    int p = 1;
    s.setInt(p++, v1::ORDER_STATUS_PAID);
    s.setString(p++, "");
    for (int twice = 0; twice < 2; ++twice) {
      for (size_t i = 0; i < count; ++i) {
        const OrderRecord& order = paying[offset + i]->result->order;
        s.setInt64(p++, order.id);
        s.setDateTime(p++, ToSqlTime(*order.paid_at));
      }
    }
    for (size_t i = 0; i < count; ++i) s.setInt64(p++, paying[offset + i]->result->order.id);
    s.executeUpdate();

    sql::PreparedStatement& pay = c.Prepare(absl::StrCat(
        "INSERT INTO payments (brand_id, order_id, provider, transaction_id, amount_fen, currency, "
        "created_at) VALUES ",
        common::Placeholders(count, 7)));
    p = 1;
    for (size_t i = 0; i < count; ++i) {
      const OrderRecord& order = paying[offset + i]->result->order;
      const PaymentRecord& payment = paying[offset + i]->payment;
      pay.setString(p++, order.brand_id);
      pay.setInt64(p++, order.id);
      pay.setInt(p++, payment.provider);
      pay.setString(p++, payment.transaction_id);
      pay.setInt64(p++, payment.amount_fen);
      pay.setString(p++, payment.currency);
      pay.setDateTime(p++, ToSqlTime(*order.paid_at));
    }
    pay.executeUpdate();

    sql::PreparedStatement& conv = c.Prepare(absl::StrCat(
        "INSERT INTO conversions (brand_id, order_id, room_id, session_id, buyer_id, amount_fen, "
        "currency, units, channel, share_link_id, associate_id, paid_at) VALUES ",
        common::Placeholders(count, 12)));
    p = 1;
    for (size_t i = 0; i < count; ++i) {
      const OrderRecord& order = paying[offset + i]->result->order;
      int64_t units = 0;
      for (const OrderLineRecord& line : order.lines) units += line.quantity;
      conv.setString(p++, order.brand_id);
      conv.setInt64(p++, order.id);
      SetNullableId(conv, p++, order.room_id);
      SetNullableId(conv, p++, order.session_id);
      conv.setString(p++, order.buyer_id);
      conv.setInt64(p++, order.total_fen);
      conv.setString(p++, order.currency);
      conv.setInt64(p++, units);
      conv.setInt(p++, order.attribution.channel());
      conv.setString(p++, order.attribution.share_link_id());
      conv.setString(p++, order.attribution.associate_id());
      conv.setDateTime(p++, ToSqlTime(*order.paid_at));
    }
    conv.executeUpdate();
  });
  // Confirm each reservation; tell attribution.
  std::vector<std::pair<OutboxMessage, absl::Time>> messages;
  for (PaidItem* item : paying) {
    const OrderRecord& order = item->result->order;
    for (const OrderLineRecord& line : order.lines) {
      messages.push_back({OutboxMessage{0, order.brand_id, kTopicConfirmReservation,
                                        line.reservation_id, line.reservation_id, 0},
                          *order.paid_at});
    }
    messages.push_back({OutboxMessage{0, order.brand_id, kTopicOrderPaid, absl::StrCat(order.id),
                                      absl::StrCat(order.id), 0},
                        *order.paid_at});
  }
  InsertOutbox(c, messages);
  return absl::OkStatus();
}

absl::StatusOr<OrderChange> MysqlOrderStore::Refund(
    int64_t order_id, RefundRecord refund,
    const std::function<absl::Status(OrderRecord&, RefundRecord&, std::vector<OutboxMessage>&)>&
        apply,
    absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<OrderChange> {
    LC_ASSIGN_OR_RETURN(OrderRecord order, SelectOrder(c, order_id, true));
    {
      sql::PreparedStatement& s =
          c.Prepare("SELECT 1 FROM refunds WHERE order_id = ? AND refund_key = ?");
      s.setInt64(1, order_id);
      s.setString(2, refund.refund_key);
      std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
      if (rs->next()) return OrderChange{std::move(order), false};  // a repeat
    }
    std::vector<OutboxMessage> messages;
    LC_RETURN_IF_ERROR(apply(order, refund, messages));
    WriteOrder(c, order);
    sql::PreparedStatement& s = c.Prepare(
        "INSERT INTO refunds (brand_id, order_id, refund_key, amount_fen, currency, refund_lines, "
        "reason, status, requested_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?)");
    s.setString(1, order.brand_id);
    s.setInt64(2, order.id);
    s.setString(3, refund.refund_key);
    s.setInt64(4, refund.amount_fen);
    s.setString(5, order.currency);
    s.setString(6, refund.lines);
    s.setString(7, refund.reason.substr(0, 200));
    s.setInt(8, refund.status);
    s.setString(9, refund.requested_by);
    s.setDateTime(10, ToSqlTime(now));
    s.setDateTime(11, ToSqlTime(now));
    s.executeUpdate();
    std::vector<std::pair<OutboxMessage, absl::Time>> queued;
    for (const OutboxMessage& m : messages) queued.emplace_back(m, now);
    InsertOutbox(c, queued);
    return OrderChange{std::move(order), true};
  });
}

absl::StatusOr<OrderRecord> MysqlOrderStore::Get(int64_t order_id) {
  return pool_.Run([&](MysqlConnection& c) { return SelectOrder(c, order_id, false); });
}

absl::StatusOr<std::vector<RefundRecord>> MysqlOrderStore::ListRefunds(int64_t order_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<RefundRecord>> {
    sql::PreparedStatement& s = c.Prepare(
        "SELECT refund_key, amount_fen, refund_lines, reason, status, requested_by, created_at "
        "FROM refunds WHERE order_id = ? ORDER BY id");
    s.setInt64(1, order_id);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<RefundRecord> refunds;
    while (rs->next()) {
      RefundRecord r;
      r.refund_key = rs->getString(1);
      r.amount_fen = rs->getInt64(2);
      r.lines = common::SqlBlobAt(*rs, 3);
      r.reason = rs->getString(4);
      r.status = rs->getInt(5);
      r.requested_by = rs->getString(6);
      r.created_at = common::SqlTimeAt(*rs, 7).value_or(absl::UnixEpoch());
      refunds.push_back(std::move(r));
    }
    return refunds;
  });
}

absl::StatusOr<bool> MysqlOrderStore::SettleRefund(int64_t order_id, const std::string& refund_key,
                                                   int status, absl::Time now) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<bool> {
    sql::PreparedStatement& s = c.Prepare(
        "UPDATE refunds SET status = ?, updated_at = ? WHERE order_id = ? AND refund_key = ? AND "
        "status = ?");
    s.setInt(1, status);
    s.setDateTime(2, ToSqlTime(now));
    s.setInt64(3, order_id);
    s.setString(4, refund_key);
    s.setInt(5, kRefundRequested);
    if (s.executeUpdate() == 1) return true;
    sql::PreparedStatement& q =
        c.Prepare("SELECT 1 FROM refunds WHERE order_id = ? AND refund_key = ?");
    q.setInt64(1, order_id);
    q.setString(2, refund_key);
    std::unique_ptr<sql::ResultSet> rs(q.executeQuery());
    if (!rs->next()) return absl::NotFoundError("out_refund_no: no such refund");
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
    {
      sql::PreparedStatement& s =
          c.Prepare("SELECT provider, transaction_id FROM payments WHERE order_id = ?");
      s.setInt64(1, order_id);
      std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
      if (rs->next()) {
        if (rs->getInt(1) == payment.provider && rs->getString(2) == payment.transaction_id) {
          return false;  // a replay
        }
        return absl::FailedPreconditionError("transaction_id: the order has another payment");
      }
    }
    if (order.status != v1::ORDER_STATUS_CANCELLED && order.status != v1::ORDER_STATUS_EXPIRED) {
      return absl::FailedPreconditionError("order_id: the order is neither cancelled nor expired");
    }
    sql::PreparedStatement& pay = c.Prepare(
        "INSERT INTO payments (brand_id, order_id, provider, transaction_id, amount_fen, currency, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
    pay.setString(1, order.brand_id);
    pay.setInt64(2, order.id);
    pay.setInt(3, payment.provider);
    pay.setString(4, payment.transaction_id);
    pay.setInt64(5, payment.amount_fen);
    pay.setString(6, payment.currency);
    pay.setDateTime(7, ToSqlTime(now));
    pay.executeUpdate();
    sql::PreparedStatement& incident = c.Prepare(
        "INSERT INTO payment_incidents (brand_id, order_id, order_status, provider, "
        "transaction_id, amount_fen, currency, refund_key, created_at) VALUES (?, ?, ?, ?, ?, ?, "
        "?, ?, ?)");
    incident.setString(1, order.brand_id);
    incident.setInt64(2, order.id);
    incident.setInt(3, order.status);
    incident.setInt(4, payment.provider);
    incident.setString(5, payment.transaction_id);
    incident.setInt64(6, payment.amount_fen);
    incident.setString(7, payment.currency);
    incident.setString(8, refund.refund_key);
    incident.setDateTime(9, ToSqlTime(now));
    incident.executeUpdate();
    sql::PreparedStatement& r = c.Prepare(
        "INSERT INTO refunds (brand_id, order_id, refund_key, amount_fen, currency, refund_lines, "
        "reason, status, requested_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?)");
    r.setString(1, order.brand_id);
    r.setInt64(2, order.id);
    r.setString(3, refund.refund_key);
    r.setInt64(4, payment.amount_fen);
    r.setString(5, payment.currency);
    r.setString(6, refund.lines);
    r.setString(7, refund.reason.substr(0, 200));
    r.setInt(8, kRefundRequested);
    r.setString(9, refund.requested_by);
    r.setDateTime(10, ToSqlTime(now));
    r.setDateTime(11, ToSqlTime(now));
    r.executeUpdate();
    std::vector<std::pair<OutboxMessage, absl::Time>> queued;
    for (const OutboxMessage& m : messages) queued.emplace_back(m, now);
    InsertOutbox(c, queued);
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
      sql::PreparedStatement& s = c.Prepare(absl::StrCat(
          "SELECT i.order_id, i.order_status, i.provider, i.transaction_id, i.amount_fen, "
          "i.currency, i.refund_key, i.created_at, r.status FROM payment_incidents i LEFT JOIN "
          "refunds r ON r.order_id = i.order_id AND r.refund_key = i.refund_key WHERE i.order_id "
          "IN ",
          common::Placeholders(1, count)));
      for (size_t i = 0; i < count; ++i) s.setInt64(static_cast<int>(i + 1), order_ids[offset + i]);
      std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
      while (rs->next()) {
        PaymentIncidentRecord incident;
        incident.order_id = rs->getInt64("order_id");
        incident.order_status = rs->getInt("order_status");
        incident.payment.provider = static_cast<v1::PaymentProvider>(rs->getInt("provider"));
        incident.payment.transaction_id = rs->getString("transaction_id");
        incident.payment.amount_fen = rs->getInt64("amount_fen");
        incident.payment.currency = rs->getString("currency");
        incident.refund_key = rs->getString("refund_key");
        incident.created_at = common::SqlTimeAt(*rs, 8).value_or(absl::UnixEpoch());
        incident.refund_status = rs->isNull(9) ? kRefundRequested : rs->getInt(9);
        incidents.emplace(incident.order_id, std::move(incident));
      }
    });
    return absl::OkStatus();
  }));
  return incidents;
}

absl::StatusOr<std::vector<OrderRecord>> MysqlOrderStore::List(const std::string& brand_id,
                                                               const std::string& buyer_id,
                                                               int status, bool incidents_only,
                                                               int64_t after_id, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<OrderRecord>> {
    std::string sql = absl::StrCat(
        "SELECT id FROM orders WHERE brand_id = ? AND id > ? AND "
        "status NOT IN (?, ?)");
    if (!buyer_id.empty()) absl::StrAppend(&sql, " AND buyer_id = ?");
    if (status != 0) absl::StrAppend(&sql, " AND status = ?");
    if (incidents_only) {
      absl::StrAppend(&sql,
                      " AND id IN (SELECT order_id FROM payment_incidents WHERE brand_id = ? AND "
                      "order_id > ?)");
    }
    absl::StrAppend(&sql, " ORDER BY id LIMIT ?");
    sql::PreparedStatement& s = c.Prepare(sql);
    int i = 1;
    s.setString(i++, brand_id);
    s.setInt64(i++, after_id);
    s.setInt(i++, kStatusReserving);
    s.setInt(i++, kStatusRefused);
    if (!buyer_id.empty()) s.setString(i++, buyer_id);
    if (status != 0) s.setInt(i++, status);
    if (incidents_only) {
      s.setString(i++, brand_id);
      s.setInt64(i++, after_id);
    }
    s.setInt(i++, limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<int64_t> ids;
    while (rs->next()) ids.push_back(rs->getInt64(1));
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

absl::StatusOr<std::vector<int64_t>> MysqlOrderStore::Due(int status, absl::Time before,
                                                          int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<int64_t>> {
    sql::PreparedStatement& s = c.Prepare(
        status == kStatusReserving
            ? "SELECT id FROM orders WHERE status = ? AND created_at < ? ORDER BY id LIMIT ?"
            : "SELECT id FROM orders WHERE status = ? AND expires_at < ? ORDER BY id LIMIT ?");
    s.setInt(1, status);
    s.setDateTime(2, ToSqlTime(before));
    s.setInt(3, limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<int64_t> ids;
    while (rs->next()) ids.push_back(rs->getInt64(1));
    return ids;
  });
}

absl::StatusOr<std::vector<OutboxMessage>> MysqlOrderStore::DueMessages(
    const std::vector<std::string>& topics, absl::Time now, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<OutboxMessage>> {
    std::vector<OutboxMessage> messages;
    for (const std::string& topic : topics) {
      sql::PreparedStatement& s = c.Prepare(
          "SELECT id, brand_id, topic, message_key, payload, attempts FROM order_outbox WHERE "
          "status = 0 AND topic = ? AND next_attempt_at <= ? ORDER BY id LIMIT ?");
      s.setString(1, topic);
      s.setDateTime(2, ToSqlTime(now));
      s.setInt(3, limit);
      std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
      while (rs->next()) {
        messages.push_back(OutboxMessage{rs->getInt64(1), rs->getString(2), rs->getString(3),
                                         rs->getString(4), common::SqlBlobAt(*rs, 5),
                                         rs->getInt(6)});
      }
    }
    return messages;
  });
}

absl::StatusOr<std::optional<absl::Time>> MysqlOrderStore::OldestPendingOutbox() {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::optional<absl::Time>> {
    // Pending rows are few (the relay drains them every LC_OUTBOX_INTERVAL_MS) and the status
    // index finds them.
    sql::PreparedStatement& s =
        c.Prepare("SELECT MIN(created_at) AS oldest FROM order_outbox WHERE status = 0");
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    if (!rs->next()) return std::nullopt;
    return common::SqlTimeAt(*rs, 1);
  });
}

absl::Status MysqlOrderStore::MarkDelivered(int64_t message_id, absl::Time now) {
  return pool_.Run([&](MysqlConnection& c) -> absl::Status {
    sql::PreparedStatement& s = c.Prepare(
        "UPDATE order_outbox SET status = 1, delivered_at = ?, attempts = attempts + 1 WHERE "
        "id = ?");
    s.setDateTime(1, ToSqlTime(now));
    s.setInt64(2, message_id);
    s.executeUpdate();
    return absl::OkStatus();
  });
}

absl::Status MysqlOrderStore::MarkDeliveredMany(const std::vector<int64_t>& message_ids,
                                                absl::Time now) {
  return pool_.Run([&](MysqlConnection& c) -> absl::Status {
    common::ForEachChunk(message_ids.size(), [&](size_t offset, size_t count) {
      sql::PreparedStatement& s = c.Prepare(
          absl::StrCat("UPDATE order_outbox SET status = 1, delivered_at = ?, attempts = attempts "
                       "+ 1 WHERE id IN ",
                       common::Placeholders(1, count)));
      s.setDateTime(1, ToSqlTime(now));
      for (size_t i = 0; i < count; ++i) {
        s.setInt64(static_cast<int>(i + 2), message_ids[offset + i]);
      }
      s.executeUpdate();
    });
    return absl::OkStatus();
  });
}

absl::Status MysqlOrderStore::MarkDeliveredByKey(const std::string& topic, const std::string& key,
                                                 absl::Time now) {
  return pool_.Run([&](MysqlConnection& c) -> absl::Status {
    sql::PreparedStatement& s = c.Prepare(
        "UPDATE order_outbox SET status = 1, delivered_at = ?, attempts = attempts + 1 WHERE "
        "topic = ? AND message_key = ? AND status = 0");
    s.setDateTime(1, ToSqlTime(now));
    s.setString(2, topic);
    s.setString(3, key);
    s.executeUpdate();
    return absl::OkStatus();
  });
}

absl::Status MysqlOrderStore::MarkFailed(int64_t message_id, const std::string& error,
                                         absl::Time next_attempt) {
  return pool_.Run([&](MysqlConnection& c) -> absl::Status {
    sql::PreparedStatement& s = c.Prepare(
        "UPDATE order_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
        "WHERE id = ?");
    s.setString(1, error.substr(0, 300));
    s.setDateTime(2, ToSqlTime(next_attempt));
    s.setInt64(3, message_id);
    s.executeUpdate();
    return absl::OkStatus();
  });
}

}  // namespace livecommerce::order
