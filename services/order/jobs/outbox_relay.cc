#include "services/order/jobs/outbox_relay.h"

#include <algorithm>
#include <latch>
#include <map>

#include "services/common/log_format.h"
#include "services/common/status.h"

namespace livecommerce::order {

// ---- The topics --------------------------------------------------------------------------------

std::vector<OutboxRelay::Route> OutboxRelay::Routes() const {
  // A new topic is one line here: its constant (domain/outbox.h) and a delivery method below.
  return {
      {.topic = kTopicConfirmReservation, .deliver_brand = &OutboxRelay::Confirm},
      {.topic = kTopicReleaseReservation, .deliver = &OutboxRelay::Release},
      {.topic = kTopicRefundRequest, .deliver = &OutboxRelay::RequestRefund},
      {.topic = kTopicPaymentClose, .deliver = &OutboxRelay::CloseThenRelease},
      // Paid orders and refunds wait in the outbox until attribution is there to hear of them.
      {.topic = kTopicOrderPaid,
       .deliver = &OutboxRelay::ReportPaidOrder,
       .enabled = attribution_ != nullptr},
      {.topic = kTopicOrderRefunded,
       .deliver = &OutboxRelay::ReportRefund,
       .enabled = attribution_ != nullptr},
  };
}

std::vector<absl::Status> OutboxRelay::Confirm(const std::string& brand_id,
                                               const std::vector<const OutboxMessage*>& messages) {
  std::vector<std::string> ids;
  for (const OutboxMessage* m : messages) ids.push_back(m->payload);
  return stock_.ConfirmMany(brand_id, ids);
}

absl::Status OutboxRelay::Release(const OutboxMessage& m) {
  return ReleaseReservation(stock_, m.brand_id, m.payload);
}

absl::Status OutboxRelay::RequestRefund(const OutboxMessage& m) {
  LC_ASSIGN_OR_RETURN(RefundAsk ask, ParseRefundRequest(m.payload));
  LC_ASSIGN_OR_RETURN(OrderRecord order, orders_.Get(ask.order_id));
  if (wechat_ == nullptr) {
    return absl::UnavailableError("WeChat Pay is not configured");
  }
  return wechat_->Refund(order, ask.refund_key, ask.amount_fen, "");
}

absl::Status OutboxRelay::CloseThenRelease(const OutboxMessage& m) {
  LC_ASSIGN_OR_RETURN(int64_t order_id, OrderIdOfKey(m.key, "malformed close message"));
  LC_ASSIGN_OR_RETURN(OrderRecord order, orders_.Get(order_id));
  if (wechat_ == nullptr) {
    return absl::UnavailableError("WeChat Pay is not configured");
  }
  // An error leaves the message queued: retried after its backoff, the stock still reserved.
  LC_ASSIGN_OR_RETURN(CloseOutcome outcome, wechat_->Close(order));
  if (outcome == CloseOutcome::kPaid) {
    // The buyer paid in the meantime: its notification records the payment and refunds it.
    spdlog::error(
        "payment incident: order {} of brand {} is {} but WeChat Pay has it paid; awaiting its "
        "payment notification to refund it",
        order.id, order.brand_id, StateName(order.status));
  }
  // It cannot be paid any more: its stock goes back. Queued before this message is marked
  // delivered, so a crash now repeats the close (idempotent) and never loses the release.
  LC_ASSIGN_OR_RETURN(
      OrderRecord queued,
      orders_.Update(order_id, [&](OrderRecord& o, std::vector<OutboxMessage>& out) {
        out = ReleaseAll(o);
        return absl::OkStatus();
      }));
  ReleaseReservationsNow(orders_, stock_, clock_, queued);
  return absl::OkStatus();
}

absl::Status OutboxRelay::ReportPaidOrder(const OutboxMessage& m) {
  LC_ASSIGN_OR_RETURN(int64_t order_id, OrderIdOfKey(m.key, "malformed paid message"));
  LC_ASSIGN_OR_RETURN(OrderRecord order, orders_.Get(order_id));
  return attribution_->RecordPaidOrder(order);
}

absl::Status OutboxRelay::ReportRefund(const OutboxMessage& m) {
  LC_ASSIGN_OR_RETURN(RefundRef ref, ParseRefundKey(m.key));
  LC_ASSIGN_OR_RETURN(OrderRecord order, orders_.Get(ref.order_id));
  LC_ASSIGN_OR_RETURN(std::vector<RefundRecord> refunds, orders_.ListRefunds(ref.order_id));
  for (const RefundRecord& refund : refunds) {
    if (refund.refund_key == ref.refund_key) return attribution_->RecordRefund(order, refund);
  }
  return absl::InternalError("refund message for an unknown refund");
}

// ---- The relay ---------------------------------------------------------------------------------

OutboxRelay::OutboxRelay(OrderStore& orders, StockClient& stock, PaymentGateway* wechat,
                         AttributionClient* attribution, const common::Clock& clock,
                         absl::Duration period)
    : orders_(orders),
      stock_(stock),
      wechat_(wechat),
      attribution_(attribution),
      clock_(clock),
      routes_(Routes()),
      task_(period, [this] {
        if (absl::StatusOr<int> delivered = DeliverOnce(); !delivered.ok()) {
          spdlog::warn("outbox: {}", delivered.status().message());
        }
      }) {}

absl::StatusOr<int> OutboxRelay::DeliverOnce() {
  std::lock_guard<std::mutex> one_pass(pass_mu_);
  constexpr int kPage = 200;
  std::vector<std::string> topics;
  std::map<std::string, const Route*> route_of;
  for (const Route& route : routes_) {
    if (!route.enabled) continue;
    topics.push_back(route.topic);
    route_of[route.topic] = &route;
  }
  int delivered = 0;
  // Page after page while pages come full, but not forever: the caller runs it again.
  for (int page = 0; page < 25; ++page) {
    absl::Time now = clock_.Now();
    LC_ASSIGN_OR_RETURN(std::vector<OutboxMessage> due, orders_.DueMessages(topics, now, kPage));
    if (due.empty()) break;
    std::vector<absl::Status> sent(due.size());
    // Topics delivered per brand in one call each (by topic, then brand); the rest one by one,
    // side by side.
    std::map<const Route*, std::map<std::string, std::vector<size_t>>> batches;
    std::vector<size_t> singles;
    for (size_t i = 0; i < due.size(); ++i) {
      auto route = route_of.find(due[i].topic);
      if (route == route_of.end()) {
        sent[i] = absl::InternalError("no delivery for this topic");
      } else if (route->second->deliver_brand != nullptr) {
        batches[route->second][due[i].brand_id].push_back(i);
      } else {
        singles.push_back(i);
      }
    }
    for (const auto& [route, brands] : batches) {
      for (const auto& [brand, indexes] : brands) {
        std::vector<const OutboxMessage*> messages;
        for (size_t i : indexes) messages.push_back(&due[i]);
        std::vector<absl::Status> outcomes = (this->*route->deliver_brand)(brand, messages);
        for (size_t k = 0; k < indexes.size(); ++k) sent[indexes[k]] = outcomes[k];
      }
    }
    // Each worker writes its own slot of `sent`; the latch publishes them all.
    std::latch done(static_cast<std::ptrdiff_t>(singles.size()));
    for (size_t i : singles) {
      const Route* route = route_of.at(due[i].topic);
      workers_.Submit([this, route, &due, &sent, &done, i] {
        sent[i] = (this->*route->deliver)(due[i]);
        done.count_down();
      });
    }
    done.wait();
    std::vector<int64_t> ok;
    for (size_t i = 0; i < due.size(); ++i) {
      const OutboxMessage& m = due[i];
      if (sent[i].ok()) {
        ok.push_back(m.id);
        continue;
      }
      absl::Duration backoff = absl::Seconds(std::min(60, 1 << std::min(m.attempts, 6)));
      spdlog::warn("outbox {} {}: {} (attempt {})", m.topic, m.id, sent[i].message(),
                   m.attempts + 1);
      LC_RETURN_IF_ERROR(orders_.MarkFailed(m.id, std::string(sent[i].message()), now + backoff));
    }
    LC_RETURN_IF_ERROR(orders_.MarkDeliveredMany(ok, now));
    delivered += static_cast<int>(ok.size());
    if (static_cast<int>(due.size()) < kPage) break;
  }
  return delivered;
}

// ---- Reservations released by the request that queued them -------------------------------------

absl::Status ReleaseReservation(StockClient& stock, const std::string& brand_id,
                                const std::string& reservation_id) {
  absl::Status sent = stock.Release(brand_id, reservation_id);
  if (sent.code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  return sent;
}

void ReleaseReservationsNow(OrderStore& orders, StockClient& stock, const common::Clock& clock,
                            const OrderRecord& order) {
  for (const OrderLineRecord& line : order.lines) {
    if (!ReleaseReservation(stock, order.brand_id, line.reservation_id).ok()) continue;
    absl::Status marked =
        orders.MarkDeliveredByKey(kTopicReleaseReservation, line.reservation_id, clock.Now());
    if (!marked.ok()) spdlog::warn("outbox: {}", marked.message());
  }
}

}  // namespace livecommerce::order
