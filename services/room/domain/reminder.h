#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "livecommerce/v1/room.pb.h"

namespace livecommerce::room {

using v1::ReminderKind;
using v1::ReminderState;
using v1::RoomReservationStatus;

// Reservations and their reminders (docs/RESERVATIONS.md): pure logic, no I/O.

// What a brand's reminder template looks like: which WeChat template, which of its field keys
// take the room's title, time, host and (optionally) the reminder's status, and the mini-program
// page that opens the room.
struct ReminderTemplate {
  // The template the mini-program asks consent for. Empty: any template the viewer consented to
  // (the sandbox and brands without configuration).
  std::string template_id;
  std::string page = "pages/room/index";  // without a leading '/' or a query
  std::string title_key = "thing1";
  std::string time_key = "time2";
  std::string host_key = "thing3";
  std::string status_key;  // empty: the template has no status field
  // Shown as the host. Empty: the room's host associate id, or else the brand id.
  std::string host_name;
  std::string miniprogram_state;  // "", "formal", "trial", "developer"
  std::string lang;               // "", "zh_CN", "en_US", "zh_HK", "zh_TW"
};

// Each brand's template (LC_REMINDER_TEMPLATES), and the defaults for the others.
struct ReminderTemplates {
  std::map<std::string, ReminderTemplate> by_brand;
  ReminderTemplate fallback;
  const ReminderTemplate& For(const std::string& brand_id) const {
    auto it = by_brand.find(brand_id);
    return it == by_brand.end() ? fallback : it->second;
  }
};

// The LC_REMINDER_TEMPLATES document:
//   {"<brand_id>": {"template_id": "...", "page": "pages/room/index",
//                   "fields": {"title": "thing1", "time": "time2", "host": "thing3",
//                              "status": "phrase4"},
//                   "host_name": "...", "miniprogram_state": "formal", "lang": "zh_CN"}, ...}
// Only template_id is required. INVALID_ARGUMENT naming the brand and field.
absl::StatusOr<ReminderTemplates> ParseReminderTemplates(absl::string_view json_text);

// A template_id as the mini-program sends it: 1..128 of [A-Za-z0-9_-].
bool IsValidTemplateId(absl::string_view template_id);

// The room as a reminder shows it.
struct ReminderRoom {
  int64_t room_id = 0;
  std::string brand_id;
  std::string title;
  absl::Time scheduled_start;
  std::string host_associate_id;
};

// The template's data for `room`: title and host cut to WeChat's limit for their key's kind,
// the scheduled start as "YYYY-MM-DD HH:MM" in China time (UTC+8), the status when the template
// has one ("直播中" live, "即将开始" before the start).
std::map<std::string, std::string> ReminderData(const ReminderTemplate& tmpl,
                                                const ReminderRoom& room, ReminderKind kind);
// The page the reminder opens: the room, marked as opened from a reminder. A private room needs
// nothing more: reserving it bound the viewer's invite to them, and joining admits a viewer who
// holds a bound invite without its token (which is never stored in clear).
std::string ReminderPage(const ReminderTemplate& tmpl, int64_t room_id);
// `t` as "YYYY-MM-DD HH:MM" at UTC+8.
std::string ChinaTimeText(absl::Time t);
// `value` cut to WeChat's limit for the kind of `key` (its name without the trailing digits), in
// characters: thing 20, name 10 (20 when all ASCII), phrase 5, symbol 5, number, letter and
// character_string 32, time and date 64; another kind 32.
std::string FitToKey(absl::string_view key, absl::string_view value);

// How one send attempt of a reminder ended, as the worker records it.
struct SendResult {
  bool ok = false;
  std::string msgid;
  // WeChat's outcome of a failed attempt (platform_client.h SubscribeOutcome): refused, throttled,
  // transient or failed.
  enum class Failure { kNone, kRefused, kThrottled, kTransient, kFailed } failure = Failure::kNone;
  std::optional<int64_t> errcode;  // WeChat's errcode, when it answered with one
  std::string error;               // the Status message (no personal data)
};

struct RetryPolicy {
  int max_attempts = 5;
  absl::Duration base_backoff = absl::Seconds(30);  // doubled after each attempt
  absl::Duration max_backoff = absl::Minutes(15);
  absl::Duration daily_quota_backoff = absl::Hours(1);  // 45009
};

// What to write to the reminder row after an attempt.
struct ReminderOutcome {
  ReminderState state = v1::REMINDER_STATE_PENDING;
  int64_t errcode = 0;
  std::string error;
  std::string msgid;
  std::optional<absl::Time> sent_at;
  absl::Time retry_at;           // PENDING: when to try again
  bool maybe_delivered = false;  // the row's flag after this attempt
};

// The outcome of attempt number `attempts` (1 for the first) of a reminder. `maybe_delivered`
// says whether an earlier attempt may have reached WeChat without its answer being recorded (a
// sender that crashed holding the row, or an exchange that timed out).
ReminderOutcome DecideReminderOutcome(const SendResult& result, int attempts, bool maybe_delivered,
                                      const RetryPolicy& policy, absl::Time now);

}  // namespace livecommerce::room
