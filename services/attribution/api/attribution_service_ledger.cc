// AttributionServiceImpl: paid orders and refunds (from the order service), attributed orders, and
// commission rules.
#include "absl/strings/str_cat.h"
#include "services/attribution/api/attribution_service.h"
#include "services/attribution/api/request_checks.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "services/common/validation.h"

namespace livecommerce::attribution {

using common::InvalidField;
using common::Principal;
using request_checks::ChannelOfShare;
using request_checks::IdOf;
using request_checks::Page;
using request_checks::RequiredTime;
using request_checks::ValidateExternalId;
using request_checks::ValidateMoney;
using request_checks::ValidateViewerId;

namespace {

constexpr int kMaxOrderLines = 500;

absl::Status ValidatePaidOrder(const v1::PaidOrderEvent& e) {
  LC_RETURN_IF_ERROR(ValidateExternalId("order_id", e.order_id(), true));
  if (!e.buyer_id().empty()) LC_RETURN_IF_ERROR(ValidateViewerId("buyer_id", e.buyer_id()));
  LC_RETURN_IF_ERROR(ValidateExternalId("room_id", e.room_id(), false));
  LC_RETURN_IF_ERROR(ValidateExternalId("session_id", e.session_id(), false));
  if (!e.has_amount()) return InvalidField("amount", "is required");
  LC_RETURN_IF_ERROR(ValidateMoney("amount", e.amount()));
  LC_RETURN_IF_ERROR(RequiredTime("paid_at", e.paid_at(), e.has_paid_at()).status());
  if (!v1::Channel_IsValid(e.attribution().channel())) {
    return InvalidField("attribution.channel", "is not a channel");
  }
  if (e.lines_size() > kMaxOrderLines) {
    return InvalidField("lines", absl::StrCat("must have at most ", kMaxOrderLines));
  }
  for (int i = 0; i < e.lines_size(); ++i) {
    const v1::PaidOrderLine& l = e.lines(i);
    std::string field = absl::StrCat("lines[", i, "]");
    LC_RETURN_IF_ERROR(ValidateExternalId(absl::StrCat(field, ".sku_id"), l.sku_id(), false));
    LC_RETURN_IF_ERROR(
        ValidateExternalId(absl::StrCat(field, ".product_id"), l.product_id(), false));
    if (l.quantity() < 0 || l.quantity() > 1000000) {
      return InvalidField(absl::StrCat(field, ".quantity"), "must be between 0 and 1000000");
    }
    if (l.amount_fen() < 0 || l.amount_fen() > kMaxAmountFen) {
      return InvalidField(absl::StrCat(field, ".amount_fen"), "must be between 0 and 10^15");
    }
  }
  return absl::OkStatus();
}

// The sale entries of a newly recorded order, as the response shows them.
void AddSaleEntries(const v1::PaidOrderEvent& event, const PaidOrderWrite& write,
                    v1::RecordPaidOrderResponse& response) {
  for (const EntryDraft& d : write.entries) {
    v1::LedgerEntry* e = response.add_entries();
    e->set_order_id(event.order_id());
    e->set_kind(v1::ENTRY_KIND_SALE);
    e->set_recipient(d.recipient);
    e->set_recipient_id(d.recipient_id);
    e->set_store_id(common::FormatId(write.store_id));
    e->set_rule_id(common::FormatId(d.rule_id));
    e->set_rule_version(d.rule_version);
    e->set_line_no(d.line_no);
    e->set_basis_points(d.basis_points);
    e->set_base_fen(d.base_fen);
    e->mutable_amount()->set_amount_fen(d.amount_fen);
    e->mutable_amount()->set_currency(event.amount().currency());
    e->set_status(v1::ENTRY_STATUS_PENDING);
    common::ToTimestamp(write.booked_at, e->mutable_booked_at());
    *e->mutable_settle_at() = write.order.settle_at();
  }
}

}  // namespace

// ---- Paid orders and refunds --------------------------------------------------------------------

absl::StatusOr<std::vector<RuleSpec>> AttributionServiceImpl::Rules(const std::string& brand_id) {
  absl::Time now = clock_.Now();
  {
    std::lock_guard<std::mutex> lock(rules_mu_);
    auto it = rules_.find(brand_id);
    if (it != rules_.end() && now - it->second.loaded_at < options_.rule_cache_ttl) {
      return it->second.rules;
    }
  }
  LC_ASSIGN_OR_RETURN(std::vector<RuleSpec> rules, store_.LoadRules(brand_id));
  std::lock_guard<std::mutex> lock(rules_mu_);
  rules_[brand_id] = CachedRules{rules, now};
  return rules;
}

absl::StatusOr<std::optional<TouchFact>> AttributionServiceImpl::CheckoutClaim(
    const std::string& brand_id, const v1::PaidOrderEvent& event, absl::Time paid_at) {
  // An unknown link or associate is ignored rather than refusing the payment.
  int64_t claimed_link = IdOf(event.attribution().share_link_id());
  int64_t claimed_associate = IdOf(event.attribution().associate_id());
  v1::Channel claimed_channel = event.attribution().channel();
  std::string claimed_room = event.room_id();
  if (claimed_link != 0) {
    absl::StatusOr<v1::ShareLink> link = store_.GetShareLink(brand_id, claimed_link);
    if (link.ok()) {
      claimed_associate = IdOf(link->associate_id());
      claimed_channel = ChannelOfShare(link->share_channel());
      if (!link->room_id().empty()) claimed_room = link->room_id();
    } else if (link.status().code() != absl::StatusCode::kNotFound) {
      return link.status();
    }
  }
  if (claimed_associate == 0) return std::optional<TouchFact>();
  LC_ASSIGN_OR_RETURN(std::optional<AssociateRef> ref,
                      store_.AssociateRefOf(brand_id, claimed_associate));
  if (!ref.has_value()) return std::optional<TouchFact>();
  return std::optional<TouchFact>(TouchFact{
      0, *ref, claimed_room,
      claimed_channel == v1::CHANNEL_UNSPECIFIED ? v1::CHANNEL_SHARE_LINK : claimed_channel,
      paid_at});
}

absl::Status AttributionServiceImpl::AttributePaidOrder(const Principal& caller,
                                                        const v1::PaidOrderEvent& event,
                                                        v1::RecordPaidOrderResponse& response) {
  const std::string& brand = caller.brand_id;
  absl::Time paid_at = common::FromTimestamp(event.paid_at());
  // What the buyer carried at checkout counts as a touch at payment.
  LC_ASSIGN_OR_RETURN(std::optional<TouchFact> claim, CheckoutClaim(brand, event, paid_at));

  // Commission: the rules in force, with the peers asked only when a rule needs them.
  LC_ASSIGN_OR_RETURN(std::vector<RuleSpec> rules, Rules(brand));
  bool needs_host = false, needs_category = false;
  for (const RuleSpec& r : rules) {
    if (r.effective_from > paid_at || (r.effective_to.has_value() && *r.effective_to <= paid_at)) {
      continue;
    }
    if (r.scope == v1::RULE_SCOPE_CATEGORY) needs_category = true;
    for (const SplitLineSpec& l : r.lines) {
      if (l.recipient == v1::RECIPIENT_HOST_ASSOCIATE) needs_host = true;
    }
  }
  int64_t host = 0;
  if (needs_host && !event.room_id().empty()) {
    LC_ASSIGN_OR_RETURN(std::string host_id, directories_.HostAssociate(brand, event.room_id()));
    host = IdOf(host_id);
  }
  std::vector<OrderPart> parts;
  for (const v1::PaidOrderLine& line : event.lines()) {
    OrderPart part;
    part.weight_fen = line.amount_fen();
    if (needs_category && !line.product_id().empty()) {
      LC_ASSIGN_OR_RETURN(part.category, directories_.ProductCategory(brand, line.product_id()));
    }
    parts.push_back(std::move(part));
  }

  absl::Time now = clock_.Now();
  PaidOrderRequest request;
  request.brand_id = brand;
  request.order_id = event.order_id();
  request.buyer_id = event.buyer_id();
  request.paid_at = paid_at;
  request.window = options_.attribution.window;
  // The decision and the split, from the facts the store reads with the other orders of its batch.
  request.complete = [&](AttributionFacts facts) {
    facts.paid_at = paid_at;
    facts.room_id = event.room_id();
    facts.event_channel = event.attribution().channel();
    facts.checkout_claim = claim;
    AttributionDecision decision = Decide(facts, options_.attribution);
    Parties parties;
    parties.associate_id = decision.associate.id;
    parties.store_id = decision.associate.store_id;
    parties.host_associate_id = host;
    parties.inviting_associate_id = decision.inviting_associate_id;
    PaidOrderWrite write;
    write.brand_id = brand;
    write.store_id = decision.associate.store_id;
    write.booked_at = now;
    write.entries =
        SaleEntries(event.amount().amount_fen(), parts, rules, paid_at, event.room_id(), parties);
    v1::AttributedOrder& o = write.order;
    o.set_order_id(event.order_id());
    o.set_buyer_id(event.buyer_id());
    o.set_room_id(event.room_id());
    o.set_session_id(event.session_id());
    *o.mutable_amount() = event.amount();
    o.mutable_refunded()->set_currency(event.amount().currency());
    *o.mutable_paid_at() = event.paid_at();
    o.set_channel(decision.channel);
    o.set_associate_id(common::FormatId(decision.associate.id));
    o.set_store_id(common::FormatId(decision.associate.store_id));
    o.set_host_associate_id(common::FormatId(host));
    o.set_inviting_associate_id(common::FormatId(decision.inviting_associate_id));
    o.set_rule(decision.rule);
    o.set_reason(decision.reason);
    o.set_touch_id(common::FormatId(decision.touch_id));
    common::ToTimestamp(paid_at + options_.refund_window, o.mutable_settle_at());
    common::ToTimestamp(now, o.mutable_recorded_at());
    if (decision.associate.id != 0 && !event.buyer_id().empty()) {
      v1::Alert alert;
      alert.set_associate_id(o.associate_id());
      alert.set_viewer_id(event.buyer_id());
      alert.set_kind(v1::ALERT_KIND_PAID);
      alert.set_room_id(event.room_id());
      alert.set_session_id(event.session_id());
      alert.set_order_id(event.order_id());
      *alert.mutable_amount() = event.amount();
      *alert.mutable_occurred_at() = event.paid_at();
      write.paid_alert = alert;
    }
    return write;
  };
  LC_ASSIGN_OR_RETURN(RecordedPaidOrder recorded, store_.RecordPaidOrder(request));
  if (recorded.outcome == PaidOrderOutcome::kAlreadyRecorded) {
    LC_ASSIGN_OR_RETURN(AttributedOrderRecord first,
                        store_.GetAttributedOrder(brand, event.order_id()));
    *response.mutable_order() = std::move(first.order);
    for (v1::LedgerEntry& e : first.entries) {
      if (e.kind() == v1::ENTRY_KIND_SALE) *response.add_entries() = std::move(e);
    }
    response.set_replayed(true);
    return absl::OkStatus();
  }
  if (recorded.write.paid_alert.has_value()) NotifyAlerts();
  *response.mutable_order() = recorded.write.order;
  AddSaleEntries(event, recorded.write, response);
  return absl::OkStatus();
}

grpc::Status AttributionServiceImpl::RecordPaidOrder(grpc::ServerContext* context,
                                                     const v1::PaidOrderEvent* request,
                                                     v1::RecordPaidOrderResponse* response) {
  return frame_.Run(*context, request_checks::kService,
                    [&](const Principal& caller) -> absl::Status {
                      LC_RETURN_IF_ERROR(ValidatePaidOrder(*request));
                      return AttributePaidOrder(caller, *request, *response);
                    });
}

grpc::Status AttributionServiceImpl::RecordRefund(grpc::ServerContext* context,
                                                  const v1::RefundEvent* request,
                                                  v1::RecordRefundResponse* response) {
  return frame_.Run(
      *context, request_checks::kService, [&](const Principal& caller) -> absl::Status {
        LC_RETURN_IF_ERROR(ValidateExternalId("order_id", request->order_id(), true));
        LC_RETURN_IF_ERROR(ValidateExternalId("refund_id", request->refund_id(), true));
        if (!request->has_amount()) return InvalidField("amount", "is required");
        LC_RETURN_IF_ERROR(ValidateMoney("amount", request->amount()));
        LC_ASSIGN_OR_RETURN(
            absl::Time refunded_at,
            RequiredTime("refunded_at", request->refunded_at(), request->has_refunded_at()));
        RefundWrite write;
        write.brand_id = caller.brand_id;
        write.order_id = request->order_id();
        write.refund_id = request->refund_id();
        write.amount_fen = request->amount().amount_fen();
        write.currency = request->amount().currency();
        write.refunded_at = refunded_at;
        write.booked_at = clock_.Now();
        LC_ASSIGN_OR_RETURN(RefundResult result, store_.RecordRefund(write));
        for (v1::LedgerEntry& e : result.entries) *response->add_entries() = std::move(e);
        response->mutable_refunded()->set_amount_fen(result.refunded_fen);
        response->mutable_refunded()->set_currency(result.currency);
        response->set_replayed(result.replayed);
        return absl::OkStatus();
      });
}

// ---- Attributed orders --------------------------------------------------------------------------

grpc::Status AttributionServiceImpl::GetOrderAttribution(
    grpc::ServerContext* context, const v1::GetOrderAttributionRequest* request,
    v1::GetOrderAttributionResponse* response) {
  return frame_.Run(
      *context, request_checks::kSelfOrOpsOrFinance, [&](const Principal& caller) -> absl::Status {
        LC_ASSIGN_OR_RETURN(int64_t self, Whose(caller, "associate_id", ""));
        LC_RETURN_IF_ERROR(ValidateExternalId("order_id", request->order_id(), true));
        LC_ASSIGN_OR_RETURN(AttributedOrderRecord found,
                            store_.GetAttributedOrder(caller.brand_id, request->order_id()));
        if (self != 0 && IdOf(found.order.associate_id()) != self) {
          return absl::NotFoundError("order_id: no attributed order of yours with this id");
        }
        *response->mutable_order() = std::move(found.order);
        for (v1::LedgerEntry& e : found.entries) {
          bool own = e.recipient_id() == caller.subject &&
                     (e.recipient() == v1::RECIPIENT_ASSOCIATE ||
                      e.recipient() == v1::RECIPIENT_HOST_ASSOCIATE ||
                      e.recipient() == v1::RECIPIENT_INVITING_ASSOCIATE);
          if (self == 0 || own) *response->add_entries() = std::move(e);
        }
        return absl::OkStatus();
      });
}

grpc::Status AttributionServiceImpl::ListAttributedOrders(
    grpc::ServerContext* context, const v1::ListAttributedOrdersRequest* request,
    v1::ListAttributedOrdersResponse* response) {
  return frame_.Run(
      *context, request_checks::kSelfOrOpsOrFinance, [&](const Principal& caller) -> absl::Status {
        LC_ASSIGN_OR_RETURN(int64_t associate_id,
                            Whose(caller, "associate_id", request->associate_id()));
        std::optional<absl::Time> from, to;
        if (request->has_paid_from()) {
          LC_ASSIGN_OR_RETURN(from, common::ParseTimestamp("paid_from", request->paid_from()));
        }
        if (request->has_paid_to()) {
          LC_ASSIGN_OR_RETURN(to, common::ParseTimestamp("paid_to", request->paid_to()));
        }
        LC_ASSIGN_OR_RETURN(common::PageRequest page, Page(*request));
        LC_ASSIGN_OR_RETURN(std::vector<AttributedOrderRow> orders,
                            store_.ListAttributedOrders(caller.brand_id, associate_id, from, to,
                                                        page.after, page.fetch()));
        if (common::TrimPage(orders, page.limit)) {
          response->set_next_page_token(common::EncodePageToken(orders.back().row_id));
        }
        for (AttributedOrderRow& o : orders) *response->add_orders() = std::move(o.order);
        return absl::OkStatus();
      });
}

// ---- Commission rules ---------------------------------------------------------------------------

grpc::Status AttributionServiceImpl::CreateCommissionRule(
    grpc::ServerContext* context, const v1::CreateCommissionRuleRequest* request,
    v1::CreateCommissionRuleResponse* response) {
  return frame_.Run(
      *context, request_checks::kFinance, [&](const Principal& caller) -> absl::Status {
        RuleSpec rule;
        rule.scope = request->scope();
        switch (rule.scope) {
          case v1::RULE_SCOPE_BRAND:
            if (!request->scope_id().empty()) {
              return InvalidField("scope_id", "must be empty for a brand-wide rule");
            }
            break;
          case v1::RULE_SCOPE_ROOM:
            LC_RETURN_IF_ERROR(ValidateExternalId("scope_id", request->scope_id(), true));
            LC_RETURN_IF_ERROR(KnownRoom(caller.brand_id, "scope_id", request->scope_id()));
            break;
          case v1::RULE_SCOPE_CATEGORY:
            LC_RETURN_IF_ERROR(common::ValidateText("scope_id", request->scope_id(), 128, true));
            break;
          default:
            return InvalidField("scope", "is not a rule scope");
        }
        rule.scope_id = request->scope_id();
        LC_ASSIGN_OR_RETURN(rule.effective_from,
                            RequiredTime("effective_from", request->effective_from(),
                                         request->has_effective_from()));
        if (request->has_effective_to()) {
          LC_ASSIGN_OR_RETURN(absl::Time to,
                              common::ParseTimestamp("effective_to", request->effective_to()));
          if (to <= rule.effective_from) {
            return InvalidField("effective_to", "must be after effective_from");
          }
          rule.effective_to = to;
        }
        for (const v1::SplitLine& l : request->lines()) {
          rule.lines.push_back(SplitLineSpec{l.recipient(), l.party(), l.basis_points()});
        }
        LC_RETURN_IF_ERROR(ValidateSplitLines(rule.lines));
        LC_ASSIGN_OR_RETURN(*response->mutable_rule(),
                            store_.CreateRule(caller.brand_id, rule, caller.subject, clock_.Now()));
        std::lock_guard<std::mutex> lock(rules_mu_);
        rules_.erase(caller.brand_id);
        return absl::OkStatus();
      });
}

grpc::Status AttributionServiceImpl::ListCommissionRules(
    grpc::ServerContext* context, const v1::ListCommissionRulesRequest* request,
    v1::ListCommissionRulesResponse* response) {
  return frame_.Run(
      *context, request_checks::kOpsOrFinance, [&](const Principal& caller) -> absl::Status {
        if (!v1::RuleScope_IsValid(request->scope())) {
          return InvalidField("scope", "is not a rule scope");
        }
        if (request->scope() == v1::RULE_SCOPE_ROOM && !request->scope_id().empty()) {
          LC_RETURN_IF_ERROR(KnownRoom(caller.brand_id, "scope_id", request->scope_id()));
        }
        LC_ASSIGN_OR_RETURN(common::PageRequest page, Page(*request));
        LC_ASSIGN_OR_RETURN(std::vector<v1::CommissionRule> rules,
                            store_.ListRules(caller.brand_id, request->scope(), request->scope_id(),
                                             page.after, page.fetch()));
        if (common::TrimPage(rules, page.limit)) {
          response->set_next_page_token(common::EncodePageToken(IdOf(rules.back().id())));
        }
        for (v1::CommissionRule& r : rules) *response->add_rules() = std::move(r);
        return absl::OkStatus();
      });
}

}  // namespace livecommerce::attribution
