#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "livecommerce/v1/attribution.pb.h"
#include "services/common/money.h"

namespace livecommerce::attribution {

// Commission arithmetic: integer fen and basis points only (products in 128 bits), deterministic.

inline constexpr int32_t kWholeBasisPoints = 10000;
// The largest amount accepted anywhere (10^15 fen): products with basis points or with another
// amount stay far inside 128 bits.
inline constexpr int64_t kMaxAmountFen = 1000000000000000;
inline constexpr int kMaxSplitLines = 20;

struct SplitLineSpec {
  v1::Recipient recipient = v1::RECIPIENT_UNSPECIFIED;
  std::string party;  // RECIPIENT_NAMED_PARTY only
  int32_t basis_points = 0;
};

// 1..20 lines, each a known recipient with 1..10000 basis points, 10000 at most in all; a named
// party has a name (1..128 characters), other recipients none. INVALID_ARGUMENT naming the field
// ("lines[2].basis_points").
absl::Status ValidateSplitLines(const std::vector<SplitLineSpec>& lines);

// Largest-remainder division of an amount by weights (see common/money.h).
using common::Apportion;

// The split of `base_fen` (0..kMaxAmountFen) by basis points (each 0..10000, at most 10000 in
// all): the pool is floor(base x sum / 10000); each line gets the floor or the ceiling of its own
// exact share base x bp / 10000, the leftover fen going to the largest remainders (ties: earlier
// line). The shares sum exactly to the pool and none is negative.
std::vector<int64_t> SplitByBasisPoints(int64_t base_fen, const std::vector<int32_t>& basis_points);
int64_t SplitPool(int64_t base_fen, int32_t total_basis_points);

// How much of a sale entry of `entry_fen` is reversed once `refunded_fen` of an order of
// `order_fen` has been refunded: floor(entry x refunded / order), so partial refunds never reverse
// more than their share, the amount never decreases as refunds add up, and a full refund reverses
// the entry exactly.
int64_t ReversedSoFar(int64_t entry_fen, int64_t refunded_fen, int64_t order_fen);

// A version of a commission rule.
struct RuleSpec {
  int64_t id = 0;
  int32_t version = 0;
  v1::RuleScope scope = v1::RULE_SCOPE_UNSPECIFIED;
  std::string scope_id;
  absl::Time effective_from;
  std::optional<absl::Time> effective_to;
  std::vector<SplitLineSpec> lines;
};

// The rule in force at `t` for a part of an order: a rule for its room first, then for its product
// category, then the brand's; among versions of the same scope in force, the highest. nullptr when
// none is.
const RuleSpec* RuleInForce(const std::vector<RuleSpec>& rules, absl::Time t,
                            const std::string& room_id, const std::string& category);

// Who the recipients of an attributed order are (0: nobody).
struct Parties {
  int64_t associate_id = 0;
  int64_t store_id = 0;
  int64_t host_associate_id = 0;
  int64_t inviting_associate_id = 0;
};

// A part of a paid order: its line total (the weight that shares the paid amount) and category.
struct OrderPart {
  int64_t weight_fen = 0;
  std::string category;
};

struct EntryDraft {
  v1::Recipient recipient = v1::RECIPIENT_UNSPECIFIED;
  std::string recipient_id;  // associate or store id, party name; empty for the teams
  int64_t rule_id = 0;
  int32_t rule_version = 0;
  int32_t line_no = 0;  // index of the split line in its rule
  int32_t basis_points = 0;
  int64_t base_fen = 0;
  int64_t amount_fen = 0;
};

// The sale entries of a paid order of `amount_fen`. The amount is shared among `parts` in
// proportion to their line totals (no parts, or all zero: one part of the whole amount, no
// category); each part falls under the rule in force at `paid_at`; each rule splits the sum of its
// parts. Split lines whose recipient the order does not have (no associate, no host ...) are left
// out before splitting: the brand keeps that share. One entry per remaining split line per rule,
// ordered by rule id then line.
std::vector<EntryDraft> SaleEntries(int64_t amount_fen, const std::vector<OrderPart>& parts,
                                    const std::vector<RuleSpec>& rules, absl::Time paid_at,
                                    const std::string& room_id, const Parties& parties);

// The reversing amounts (each <= 0) of a refund that brings an order's refunded total to
// `refunded_after_fen`, for sale entries of `sale_fen` that have had `reversed_fen` (each <= 0)
// reversed so far.
std::vector<int64_t> RefundReversals(const std::vector<int64_t>& sale_fen,
                                     const std::vector<int64_t>& reversed_fen,
                                     int64_t refunded_after_fen, int64_t order_fen);

}  // namespace livecommerce::attribution
