#include "services/order/store/mysql_order_store.h"

#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "services/common/status.h"

namespace livecommerce::order {
namespace {

using common::FromSqlTime;
using common::MysqlConnection;
using common::ToSqlTime;

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
  while (lines->next()) {
    OrderLineRecord line;
    line.line_no = lines->getInt(1);
    line.product_id = lines->getInt64(2);
    line.sku_id = lines->getInt64(3);
    line.sale_id = lines->isNull(4) ? 0 : lines->getInt64(4);
    line.product_name = lines->getString(5);
    line.quantity = lines->getInt64(6);
    line.unit_price_fen = lines->getInt64(7);
    line.line_total_fen = lines->getInt64(8);
    line.refunded_quantity = lines->getInt64(9);
    line.reservation_id = lines->getString(10);
    order.lines.push_back(std::move(line));
  }
  return order;
}

void WriteOrder(MysqlConnection& c, const OrderRecord& o) {
  sql::PreparedStatement& s = c.Prepare(
      "UPDATE orders SET status = ?, failure = ?, currency = ?, total_fen = ?, refunded_fen = ?, "
      "payment_params = ?, expires_at = ?, paid_at = ?, updated_at = ? WHERE id = ?");
  std::istringstream params(o.payment_params.SerializeAsString());
  s.setInt(1, o.status);
  if (o.failure.empty()) {
    s.setNull(2, 0);
  } else {
    s.setString(2, o.failure.substr(0, 300));
  }
  s.setString(3, o.currency);
  s.setInt64(4, o.total_fen);
  s.setInt64(5, o.refunded_fen);
  s.setBlob(6, &params);
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

void InsertOutbox(MysqlConnection& c, const OutboxMessage& m, absl::Time now) {
  // A message about the same thing on the same topic is sent once (a retried change re-queues
  // nothing).
  sql::PreparedStatement& s = c.Prepare(
      "INSERT IGNORE INTO order_outbox (brand_id, topic, message_key, payload, status, "
      "next_attempt_at, created_at) VALUES (?, ?, ?, ?, 0, ?, ?)");
  std::istringstream payload(m.payload);
  s.setString(1, m.brand_id);
  s.setString(2, m.topic);
  s.setString(3, m.key);
  s.setBlob(4, &payload);
  s.setDateTime(5, ToSqlTime(now));
  s.setDateTime(6, ToSqlTime(now));
  s.executeUpdate();
}

}  // namespace

absl::StatusOr<std::pair<OrderRecord, bool>> MysqlOrderStore::BeginCheckout(const OrderRecord& d) {
  absl::StatusOr<std::pair<OrderRecord, bool>> inserted =
      pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<std::pair<OrderRecord, bool>> {
        sql::PreparedStatement& s = c.Prepare(
            "INSERT INTO orders (brand_id, buyer_id, idempotency_key, request_hash, status, "
            "currency, room_id, session_id, channel, share_link_id, associate_id, address, "
            "provider, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?)");
        std::istringstream address(d.address.SerializeAsString());
        s.setString(1, d.brand_id);
        s.setString(2, d.buyer_id);
        s.setString(3, d.idempotency_key);
        s.setString(4, d.request_hash);
        s.setInt(5, kStatusReserving);
        s.setString(6, d.currency);
        SetNullableId(s, 7, d.room_id);
        SetNullableId(s, 8, d.session_id);
        s.setInt(9, d.attribution.channel());
        s.setString(10, d.attribution.share_link_id());
        s.setString(11, d.attribution.associate_id());
        s.setBlob(12, &address);
        s.setInt(13, d.provider);
        s.setDateTime(14, ToSqlTime(d.created_at));
        s.setDateTime(15, ToSqlTime(d.created_at));
        s.executeUpdate();
        int64_t id = c.LastInsertId();
        for (const OrderLineRecord& line : d.lines) {
          sql::PreparedStatement& l = c.Prepare(
              "INSERT INTO order_lines (order_id, line_no, brand_id, sku_id, sale_id, quantity, "
              "reservation_id) VALUES (?, ?, ?, ?, ?, ?, ?)");
          l.setInt64(1, id);
          l.setInt(2, line.line_no);
          l.setString(3, d.brand_id);
          l.setInt64(4, line.sku_id);
          SetNullableId(l, 5, line.sale_id);
          l.setInt64(6, line.quantity);
          // Reservation ids follow from the order id: a retry reserves the same units again.
          l.setString(7, absl::StrCat("o", id, "-l", line.line_no));
          l.executeUpdate();
        }
        LC_ASSIGN_OR_RETURN(OrderRecord order, SelectOrder(c, id, false));
        return std::make_pair(std::move(order), true);
      });
  if (inserted.ok() || inserted.status().code() != absl::StatusCode::kAlreadyExists) {
    return inserted;
  }
  // The key was used: return that order (the caller compares the requests).
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::pair<OrderRecord, bool>> {
    sql::PreparedStatement& s = c.Prepare(
        "SELECT id FROM orders WHERE brand_id = ? AND buyer_id = ? AND idempotency_key = ?");
    s.setString(1, d.brand_id);
    s.setString(2, d.buyer_id);
    s.setString(3, d.idempotency_key);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    if (!rs->next()) return absl::AbortedError("checkout raced, try again");
    LC_ASSIGN_OR_RETURN(OrderRecord order, SelectOrder(c, rs->getInt64(1), false));
    return std::make_pair(std::move(order), false);
  });
}

absl::StatusOr<OrderRecord> MysqlOrderStore::Update(
    int64_t order_id,
    const std::function<absl::Status(OrderRecord&, std::vector<OutboxMessage>&)>& change) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<OrderRecord> {
    LC_ASSIGN_OR_RETURN(OrderRecord order, SelectOrder(c, order_id, true));
    std::vector<OutboxMessage> messages;
    LC_RETURN_IF_ERROR(change(order, messages));
    WriteOrder(c, order);
    for (const OutboxMessage& m : messages) InsertOutbox(c, m, order.updated_at);
    return order;
  });
}

absl::StatusOr<std::pair<OrderRecord, bool>> MysqlOrderStore::MarkPaid(int64_t order_id,
                                                                       const PaymentRecord& p,
                                                                       absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c)
                                 -> absl::StatusOr<std::pair<OrderRecord, bool>> {
    LC_ASSIGN_OR_RETURN(OrderRecord order, SelectOrder(c, order_id, true));
    {
      sql::PreparedStatement& s =
          c.Prepare("SELECT order_id FROM payments WHERE provider = ? AND transaction_id = ?");
      s.setInt(1, p.provider);
      s.setString(2, p.transaction_id);
      std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
      if (rs->next()) {
        if (rs->getInt64(1) != order_id) {
          return absl::FailedPreconditionError("transaction_id: paid another order");
        }
        return std::make_pair(std::move(order), false);  // a replay
      }
    }
    if (order.status != v1::ORDER_STATUS_PENDING_PAYMENT) {
      return absl::FailedPreconditionError(
          absl::StrCat("order_id: the order is ",
                       order.status == kStatusReserving ? "still being checked out"
                       : order.status == kStatusRefused
                           ? "not an order"
                           : v1::OrderStatus_Name(static_cast<v1::OrderStatus>(order.status))));
    }
    if (p.amount_fen != order.total_fen || p.currency != order.currency) {
      return absl::FailedPreconditionError("amount: does not match the order");
    }
    order.status = v1::ORDER_STATUS_PAID;
    order.paid_at = now;
    order.updated_at = now;
    order.payment_params.Clear();
    WriteOrder(c, order);
    sql::PreparedStatement& pay = c.Prepare(
        "INSERT INTO payments (brand_id, order_id, provider, transaction_id, amount_fen, currency, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
    pay.setString(1, order.brand_id);
    pay.setInt64(2, order.id);
    pay.setInt(3, p.provider);
    pay.setString(4, p.transaction_id);
    pay.setInt64(5, p.amount_fen);
    pay.setString(6, p.currency);
    pay.setDateTime(7, ToSqlTime(now));
    pay.executeUpdate();
    int64_t units = 0;
    for (const OrderLineRecord& line : order.lines) units += line.quantity;
    sql::PreparedStatement& conv = c.Prepare(
        "INSERT INTO conversions (brand_id, order_id, room_id, session_id, buyer_id, amount_fen, "
        "currency, units, channel, share_link_id, associate_id, paid_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    conv.setString(1, order.brand_id);
    conv.setInt64(2, order.id);
    SetNullableId(conv, 3, order.room_id);
    SetNullableId(conv, 4, order.session_id);
    conv.setString(5, order.buyer_id);
    conv.setInt64(6, order.total_fen);
    conv.setString(7, order.currency);
    conv.setInt64(8, units);
    conv.setInt(9, order.attribution.channel());
    conv.setString(10, order.attribution.share_link_id());
    conv.setString(11, order.attribution.associate_id());
    conv.setDateTime(12, ToSqlTime(now));
    conv.executeUpdate();
    for (const OrderLineRecord& line : order.lines) {
      InsertOutbox(c,
                   OutboxMessage{0, order.brand_id, kTopicConfirmReservation, line.reservation_id,
                                 line.reservation_id, 0},
                   now);
    }
    InsertOutbox(c,
                 OutboxMessage{0, order.brand_id, kTopicOrderPaid, absl::StrCat(order.id),
                               absl::StrCat(order.id), 0},
                 now);
    return std::make_pair(std::move(order), true);
  });
}

absl::StatusOr<std::pair<OrderRecord, bool>> MysqlOrderStore::Refund(
    int64_t order_id, RefundRecord refund,
    const std::function<absl::Status(OrderRecord&, RefundRecord&, std::vector<OutboxMessage>&)>&
        apply,
    absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c)
                                 -> absl::StatusOr<std::pair<OrderRecord, bool>> {
    LC_ASSIGN_OR_RETURN(OrderRecord order, SelectOrder(c, order_id, true));
    {
      sql::PreparedStatement& s =
          c.Prepare("SELECT 1 FROM refunds WHERE order_id = ? AND refund_key = ?");
      s.setInt64(1, order_id);
      s.setString(2, refund.refund_key);
      std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
      if (rs->next()) return std::make_pair(std::move(order), false);  // a repeat
    }
    std::vector<OutboxMessage> messages;
    LC_RETURN_IF_ERROR(apply(order, refund, messages));
    WriteOrder(c, order);
    sql::PreparedStatement& s = c.Prepare(
        "INSERT INTO refunds (brand_id, order_id, refund_key, amount_fen, currency, refund_lines, "
        "reason, status, requested_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?)");
    std::istringstream lines(refund.lines);
    s.setString(1, order.brand_id);
    s.setInt64(2, order.id);
    s.setString(3, refund.refund_key);
    s.setInt64(4, refund.amount_fen);
    s.setString(5, order.currency);
    s.setBlob(6, &lines);
    s.setString(7, refund.reason.substr(0, 200));
    s.setInt(8, refund.status);
    s.setString(9, refund.requested_by);
    s.setDateTime(10, ToSqlTime(now));
    s.setDateTime(11, ToSqlTime(now));
    s.executeUpdate();
    for (const OutboxMessage& m : messages) InsertOutbox(c, m, now);
    return std::make_pair(std::move(order), true);
  });
}

absl::StatusOr<OrderRecord> MysqlOrderStore::Get(int64_t order_id) {
  return pool_.Run([&](MysqlConnection& c) { return SelectOrder(c, order_id, false); });
}

absl::StatusOr<std::vector<OrderRecord>> MysqlOrderStore::List(const std::string& brand_id,
                                                               const std::string& buyer_id,
                                                               int status, int64_t after_id,
                                                               int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<OrderRecord>> {
    std::string sql = absl::StrCat(
        "SELECT id FROM orders WHERE brand_id = ? AND id > ? AND "
        "status NOT IN (?, ?)");
    if (!buyer_id.empty()) absl::StrAppend(&sql, " AND buyer_id = ?");
    if (status != 0) absl::StrAppend(&sql, " AND status = ?");
    absl::StrAppend(&sql, " ORDER BY id LIMIT ?");
    sql::PreparedStatement& s = c.Prepare(sql);
    int i = 1;
    s.setString(i++, brand_id);
    s.setInt64(i++, after_id);
    s.setInt(i++, kStatusReserving);
    s.setInt(i++, kStatusRefused);
    if (!buyer_id.empty()) s.setString(i++, buyer_id);
    if (status != 0) s.setInt(i++, status);
    s.setInt(i++, limit);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    std::vector<int64_t> ids;
    while (rs->next()) ids.push_back(rs->getInt64(1));
    std::vector<OrderRecord> orders;
    for (int64_t id : ids) {
      LC_ASSIGN_OR_RETURN(OrderRecord order, SelectOrder(c, id, false));
      orders.push_back(std::move(order));
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
