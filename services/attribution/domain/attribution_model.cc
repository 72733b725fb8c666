#include "services/attribution/domain/attribution_model.h"

#include "absl/strings/str_cat.h"
#include "services/common/config.h"

namespace livecommerce::attribution {
namespace {

std::string IsoTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

v1::Channel ChannelOr(v1::Channel channel, v1::Channel fallback) {
  return channel == v1::CHANNEL_UNSPECIFIED ? fallback : channel;
}

}  // namespace

absl::StatusOr<AttributionOptions> LoadAttributionOptions() {
  AttributionOptions options;
  auto window = common::EnvInt("LC_ATTRIBUTION_WINDOW_DAYS", 7, 1, 365);
  if (!window.ok()) return window.status();
  auto protection = common::EnvInt("LC_PROTECTION_DAYS", 30, 1, 3650);
  if (!protection.ok()) return protection.status();
  std::string model = common::EnvString("LC_ATTRIBUTION_MODEL", "last_touch");
  if (model == "last_touch") {
    options.model = TouchModel::kLastTouch;
  } else if (model == "first_touch") {
    options.model = TouchModel::kFirstTouch;
  } else {
    return absl::InvalidArgumentError("LC_ATTRIBUTION_MODEL must be last_touch or first_touch");
  }
  options.window = absl::Hours(24 * *window);
  options.protection = absl::Hours(24 * *protection);
  return options;
}

bool BindingInForce(const BindingFact& binding, absl::Time t) {
  return binding.bound_at <= t && t < binding.protected_until;
}

bool TouchInWindow(absl::Time touched_at, absl::Time t, absl::Duration window) {
  return touched_at <= t && t - touched_at <= window;
}

AttributionDecision Decide(const AttributionFacts& facts, const AttributionOptions& options) {
  AttributionDecision d;
  std::string notes;
  if (facts.binding.has_value()) {
    const BindingFact& b = *facts.binding;
    if (!BindingInForce(b, facts.paid_at)) {
      notes = absl::StrCat("; binding to associate ", b.associate.id, " ended at ",
                           IsoTime(b.protected_until));
    } else if (!b.associate.active) {
      notes = absl::StrCat("; bound associate ", b.associate.id, " has left");
    }
  }

  // The touches that count: in the window, of an active associate.
  std::vector<const TouchFact*> counting;
  for (const TouchFact& t : facts.touches) {
    if (t.associate.active && TouchInWindow(t.at, facts.paid_at, options.window)) {
      counting.push_back(&t);
    }
  }
  if (facts.checkout_claim.has_value() && facts.checkout_claim->associate.active) {
    counting.push_back(&*facts.checkout_claim);
  }
  // Later first; at the same instant a recorded touch (higher id) before the checkout claim (0).
  auto later = [](const TouchFact* a, const TouchFact* b) {
    if (a->at != b->at) return a->at > b->at;
    return a->id > b->id;
  };
  const TouchFact* latest = nullptr;
  const TouchFact* earliest = nullptr;
  const TouchFact* into_room = nullptr;
  for (const TouchFact* t : counting) {
    if (latest == nullptr || later(t, latest)) latest = t;
    if (earliest == nullptr || later(earliest, t)) earliest = t;
    if (!facts.room_id.empty() && t->room_id == facts.room_id &&
        (into_room == nullptr || later(t, into_room))) {
      into_room = t;
    }
  }
  if (into_room != nullptr) d.inviting_associate_id = into_room->associate.id;

  if (facts.binding.has_value() && facts.binding->associate.active &&
      BindingInForce(*facts.binding, facts.paid_at)) {
    const BindingFact& b = *facts.binding;
    d.rule = v1::ATTRIBUTION_RULE_BOUND_CLIENT;
    d.associate = b.associate;
    d.channel = ChannelOr(facts.event_channel, latest != nullptr
                                                   ? ChannelOr(latest->channel, v1::CHANNEL_ORGANIC)
                                                   : v1::CHANNEL_ORGANIC);
    d.reason = absl::StrCat("client bound to associate ", b.associate.id, " since ",
                            IsoTime(b.bound_at), ", protected until ", IsoTime(b.protected_until));
    return d;
  }
  const TouchFact* decisive = options.model == TouchModel::kFirstTouch ? earliest : latest;
  if (decisive == nullptr) {
    d.rule = v1::ATTRIBUTION_RULE_NO_TOUCH;
    d.channel = ChannelOr(facts.event_channel, v1::CHANNEL_ORGANIC);
    d.reason = absl::StrCat("no touch of an active associate within the ",
                            absl::ToInt64Hours(options.window) / 24, "-day window", notes);
    return d;
  }
  d.rule = options.model == TouchModel::kFirstTouch ? v1::ATTRIBUTION_RULE_FIRST_TOUCH
                                                    : v1::ATTRIBUTION_RULE_LAST_TOUCH;
  d.associate = decisive->associate;
  d.touch_id = decisive->id;
  d.channel = ChannelOr(decisive->channel, ChannelOr(facts.event_channel, v1::CHANNEL_ORGANIC));
  d.reason = absl::StrCat(
      options.model == TouchModel::kFirstTouch ? "first" : "last", " touch ",
      decisive->id == 0 ? std::string("(carried at checkout)") : absl::StrCat(decisive->id),
      " by associate ", decisive->associate.id, " at ", IsoTime(decisive->at), ", within the ",
      absl::ToInt64Hours(options.window) / 24, "-day window", notes);
  return d;
}

}  // namespace livecommerce::attribution
