#include "services/attribution/domain/commission.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "services/common/money.h"
#include "services/common/status.h"
#include "services/common/validation.h"

namespace livecommerce::attribution {
namespace {

using Wide = __int128;

}  // namespace

absl::Status ValidateSplitLines(const std::vector<SplitLineSpec>& lines) {
  if (lines.empty()) return common::InvalidField("lines", "must have at least one split line");
  if (lines.size() > kMaxSplitLines) {
    return common::InvalidField("lines", absl::StrCat("must have at most ", kMaxSplitLines));
  }
  int64_t total = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const SplitLineSpec& line = lines[i];
    std::string field = absl::StrCat("lines[", i, "]");
    if (line.recipient == v1::RECIPIENT_UNSPECIFIED || !v1::Recipient_IsValid(line.recipient)) {
      return common::InvalidField(absl::StrCat(field, ".recipient"), "is not a recipient");
    }
    if (line.recipient == v1::RECIPIENT_NAMED_PARTY) {
      LC_RETURN_IF_ERROR(
          common::ValidateText(absl::StrCat(field, ".party"), line.party, 128, true));
    } else if (!line.party.empty()) {
      return common::InvalidField(absl::StrCat(field, ".party"),
                                  "is only for RECIPIENT_NAMED_PARTY");
    }
    if (line.basis_points < 1 || line.basis_points > kWholeBasisPoints) {
      return common::InvalidField(absl::StrCat(field, ".basis_points"),
                                  "must be between 1 and 10000");
    }
    total += line.basis_points;
  }
  if (total > kWholeBasisPoints) {
    return common::InvalidField("lines", "basis points must add up to at most 10000 (100%)");
  }
  return absl::OkStatus();
}

int64_t SplitPool(int64_t base_fen, int32_t total_basis_points) {
  return static_cast<int64_t>(static_cast<Wide>(base_fen) * total_basis_points / kWholeBasisPoints);
}

std::vector<int64_t> SplitByBasisPoints(int64_t base_fen,
                                        const std::vector<int32_t>& basis_points) {
  std::vector<int64_t> shares(basis_points.size(), 0);
  std::vector<Wide> remainders(basis_points.size());
  int32_t total_bp = 0;
  int64_t given = 0;
  for (size_t i = 0; i < basis_points.size(); ++i) {
    Wide exact = static_cast<Wide>(base_fen) * basis_points[i];
    shares[i] = static_cast<int64_t>(exact / kWholeBasisPoints);
    remainders[i] = exact % kWholeBasisPoints;
    given += shares[i];
    total_bp += basis_points[i];
  }
  common::GiveLeftover(shares, remainders, SplitPool(base_fen, total_bp) - given);
  return shares;
}

int64_t ReversedSoFar(int64_t entry_fen, int64_t refunded_fen, int64_t order_fen) {
  if (order_fen <= 0 || refunded_fen <= 0) return 0;
  if (refunded_fen >= order_fen) return entry_fen;
  return static_cast<int64_t>(static_cast<Wide>(entry_fen) * refunded_fen / order_fen);
}

const RuleSpec* RuleInForce(const std::vector<RuleSpec>& rules, absl::Time t,
                            const std::string& room_id, const std::string& category) {
  auto best_of = [&](v1::RuleScope scope, const std::string& scope_id) -> const RuleSpec* {
    const RuleSpec* best = nullptr;
    for (const RuleSpec& rule : rules) {
      if (rule.scope != scope || rule.scope_id != scope_id) continue;
      if (rule.effective_from > t) continue;
      if (rule.effective_to.has_value() && *rule.effective_to <= t) continue;
      if (best == nullptr || rule.version > best->version) best = &rule;
    }
    return best;
  };
  if (!room_id.empty()) {
    if (const RuleSpec* r = best_of(v1::RULE_SCOPE_ROOM, room_id)) return r;
  }
  if (!category.empty()) {
    if (const RuleSpec* r = best_of(v1::RULE_SCOPE_CATEGORY, category)) return r;
  }
  return best_of(v1::RULE_SCOPE_BRAND, "");
}

std::vector<EntryDraft> SaleEntries(int64_t amount_fen, const std::vector<OrderPart>& parts_in,
                                    const std::vector<RuleSpec>& rules, absl::Time paid_at,
                                    const std::string& room_id, const Parties& parties) {
  std::vector<OrderPart> parts = parts_in;
  int64_t weight = 0;
  for (const OrderPart& p : parts) weight += std::max<int64_t>(0, p.weight_fen);
  if (parts.empty() || weight <= 0) parts = {OrderPart{amount_fen, ""}};
  std::vector<int64_t> weights;
  for (const OrderPart& p : parts) weights.push_back(std::max<int64_t>(0, p.weight_fen));
  std::vector<int64_t> bases = Apportion(amount_fen, weights);

  // The base of each rule: the sum of the parts it governs, by rule id for a stable order.
  struct RuleBase {
    const RuleSpec* rule = nullptr;
    int64_t base_fen = 0;
  };
  std::map<int64_t, RuleBase> by_rule;
  for (size_t i = 0; i < parts.size(); ++i) {
    const RuleSpec* rule = RuleInForce(rules, paid_at, room_id, parts[i].category);
    if (rule == nullptr) continue;
    RuleBase& slot = by_rule[rule->id];
    slot.rule = rule;
    slot.base_fen += bases[i];
  }

  std::vector<EntryDraft> entries;
  for (const auto& [rule_id, slot] : by_rule) {
    const RuleSpec& rule = *slot.rule;
    std::vector<EntryDraft> drafts;
    std::vector<int32_t> bps;
    for (size_t i = 0; i < rule.lines.size(); ++i) {
      const SplitLineSpec& line = rule.lines[i];
      int64_t who = 0;
      std::string recipient_id;
      switch (line.recipient) {
        case v1::RECIPIENT_ASSOCIATE:
          who = parties.associate_id;
          break;
        case v1::RECIPIENT_HOST_ASSOCIATE:
          who = parties.host_associate_id;
          break;
        case v1::RECIPIENT_INVITING_ASSOCIATE:
          who = parties.inviting_associate_id;
          break;
        case v1::RECIPIENT_STORE:
          who = parties.store_id;
          break;
        case v1::RECIPIENT_NAMED_PARTY:
          recipient_id = line.party;
          break;
        default:
          break;  // the teams: no id
      }
      bool needs_party = line.recipient == v1::RECIPIENT_ASSOCIATE ||
                         line.recipient == v1::RECIPIENT_HOST_ASSOCIATE ||
                         line.recipient == v1::RECIPIENT_INVITING_ASSOCIATE ||
                         line.recipient == v1::RECIPIENT_STORE;
      if (needs_party) {
        if (who == 0) continue;
        recipient_id = absl::StrCat(who);
      }
      EntryDraft d;
      d.recipient = line.recipient;
      d.recipient_id = std::move(recipient_id);
      d.rule_id = rule.id;
      d.rule_version = rule.version;
      d.line_no = static_cast<int32_t>(i);
      d.basis_points = line.basis_points;
      d.base_fen = slot.base_fen;
      drafts.push_back(std::move(d));
      bps.push_back(line.basis_points);
    }
    std::vector<int64_t> shares = SplitByBasisPoints(slot.base_fen, bps);
    for (size_t i = 0; i < drafts.size(); ++i) {
      drafts[i].amount_fen = shares[i];
      entries.push_back(std::move(drafts[i]));
    }
  }
  return entries;
}

std::vector<int64_t> RefundReversals(const std::vector<int64_t>& sale_fen,
                                     const std::vector<int64_t>& reversed_fen,
                                     int64_t refunded_after_fen, int64_t order_fen) {
  std::vector<int64_t> out(sale_fen.size(), 0);
  for (size_t i = 0; i < sale_fen.size(); ++i) {
    int64_t target = ReversedSoFar(sale_fen[i], refunded_after_fen, order_fen);
    int64_t already = i < reversed_fen.size() ? -reversed_fen[i] : 0;
    out[i] = -std::max<int64_t>(0, target - already);
  }
  return out;
}

}  // namespace livecommerce::attribution
