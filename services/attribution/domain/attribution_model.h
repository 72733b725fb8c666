#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "livecommerce/v1/attribution.pb.h"

namespace livecommerce::attribution {

// Which touch decides when the client is not bound: the latest (default) or the earliest within
// the attribution window.
enum class TouchModel { kLastTouch, kFirstTouch };

struct AttributionOptions {
  absl::Duration window = absl::Hours(24 * 7);       // attribution window
  absl::Duration protection = absl::Hours(24 * 30);  // protection period of a binding
  TouchModel model = TouchModel::kLastTouch;
};

// LC_ATTRIBUTION_WINDOW_DAYS (default 7), LC_PROTECTION_DAYS (default 30), LC_ATTRIBUTION_MODEL
// (last_touch or first_touch).
absl::StatusOr<AttributionOptions> LoadAttributionOptions();

struct AssociateRef {
  int64_t id = 0;
  int64_t store_id = 0;
  bool active = false;
};

struct TouchFact {
  int64_t id = 0;  // 0: the share link or associate carried at checkout (not a recorded touch)
  AssociateRef associate;
  std::string room_id;
  v1::Channel channel = v1::CHANNEL_UNSPECIFIED;
  absl::Time at;
};

struct BindingFact {
  AssociateRef associate;
  absl::Time bound_at;
  absl::Time protected_until;
};

// What is known about the buyer when a paid order arrives.
struct AttributionFacts {
  absl::Time paid_at;
  std::string room_id;
  v1::Channel event_channel = v1::CHANNEL_UNSPECIFIED;
  std::optional<BindingFact> binding;       // the buyer's latest binding made at or before paid_at
  std::vector<TouchFact> touches;           // the buyer's recorded touches, in any order
  std::optional<TouchFact> checkout_claim;  // what the buyer arrived with at checkout
};

struct AttributionDecision {
  v1::AttributionRule rule = v1::ATTRIBUTION_RULE_NO_TOUCH;
  AssociateRef associate;  // id 0: none
  int64_t touch_id = 0;
  v1::Channel channel = v1::CHANNEL_ORGANIC;
  int64_t inviting_associate_id = 0;
  std::string reason;  // for finance and the associate: no personal data
};

// A binding is in force at t when bound_at <= t < protected_until (and its associate is active).
bool BindingInForce(const BindingFact& binding, absl::Time t);
// A touch counts for a payment at t when it is not later than t and at most `window` before it.
bool TouchInWindow(absl::Time touched_at, absl::Time t, absl::Duration window);

// Decides who is credited: the bound associate within protection; else the latest (or earliest,
// by option) touch within the window, recorded or carried at checkout, of an active associate;
// else nobody, credited to the channel. The inviting associate is the associate of the latest
// counting touch into the order's room.
AttributionDecision Decide(const AttributionFacts& facts, const AttributionOptions& options);

}  // namespace livecommerce::attribution
