#include "services/room/domain/reminder.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace livecommerce::room {
namespace {

constexpr int64_t kErrUserRefused = 43101;
constexpr int64_t kErrDailyQuota = 45009;

// Pages of the mini-program: path segments of [A-Za-z0-9_-], no query.
bool IsValidPage(absl::string_view page) {
  if (page.empty() || page.size() > 256 || page.front() == '/' || page.back() == '/') {
    return false;
  }
  return std::all_of(page.begin(), page.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '/';
  });
}

// A template field key: letters then digits ("thing1", "character_string2").
bool IsValidKey(absl::string_view key) {
  if (key.empty() || key.size() > 64) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return absl::ascii_islower(static_cast<unsigned char>(c)) ||
           absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_';
  });
}

// Byte offsets where each UTF-8 character starts (input already valid UTF-8 or cut bytewise).
size_t CharCount(absl::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string FirstChars(absl::string_view s, size_t chars) {
  size_t seen = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (seen == chars) return std::string(s.substr(0, i));
      ++seen;
    }
  }
  return std::string(s);
}

absl::Status Field(absl::string_view brand, absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("LC_REMINDER_TEMPLATES: brand \"", brand, "\": ", field, " ", problem));
}

}  // namespace

bool IsValidTemplateId(absl::string_view template_id) {
  if (template_id.empty() || template_id.size() > 128) return false;
  return std::all_of(template_id.begin(), template_id.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

absl::StatusOr<ReminderTemplates> ParseReminderTemplates(absl::string_view json_text) {
  nlohmann::json doc = nlohmann::json::parse(json_text, nullptr, false);
  if (!doc.is_object()) {
    return absl::InvalidArgumentError(
        "LC_REMINDER_TEMPLATES: must be a JSON object of brand_id -> template");
  }
  ReminderTemplates out;
  // Named variables rather than a structured binding: the lambda below captures them, which
  // clang 14 (scripts/tsan, the fuzz build) does not allow for bindings.
  for (const auto& item : doc.items()) {
    const std::string brand = item.key();
    const nlohmann::json& entry = item.value();
    if (!entry.is_object()) return Field(brand, "entry", "must be an object");
    ReminderTemplate t;
    auto text = [&](const char* name, std::string& into) -> absl::Status {
      if (!entry.contains(name)) return absl::OkStatus();
      if (!entry[name].is_string()) return Field(brand, name, "must be a string");
      into = entry[name].get<std::string>();
      return absl::OkStatus();
    };
    const std::pair<const char*, std::string*> texts[] = {
        {"template_id", &t.template_id},
        {"page", &t.page},
        {"host_name", &t.host_name},
        {"miniprogram_state", &t.miniprogram_state},
        {"lang", &t.lang}};
    for (const auto& [name, into] : texts) {
      if (absl::Status s = text(name, *into); !s.ok()) return s;
    }
    if (!IsValidTemplateId(t.template_id)) {
      return Field(brand, "template_id", "must be 1-128 letters, digits, _ or -");
    }
    if (!IsValidPage(t.page)) {
      return Field(brand, "page", "must be a mini-program page path without '/' first or a query");
    }
    if (entry.contains("fields")) {
      const nlohmann::json& fields = entry["fields"];
      if (!fields.is_object()) return Field(brand, "fields", "must be an object");
      for (const auto& [name, key] : fields.items()) {
        std::string* into = name == "title"    ? &t.title_key
                            : name == "time"   ? &t.time_key
                            : name == "host"   ? &t.host_key
                            : name == "status" ? &t.status_key
                                               : nullptr;
        if (into == nullptr) {
          return Field(brand, absl::StrCat("fields.", name), "is not title, time, host or status");
        }
        if (!key.is_string() || !IsValidKey(key.get<std::string>())) {
          return Field(brand, absl::StrCat("fields.", name), "must be a template key like thing1");
        }
        *into = key.get<std::string>();
      }
    }
    out.by_brand.emplace(brand, std::move(t));
  }
  return out;
}

std::string ChinaTimeText(absl::Time t) {
  static const absl::TimeZone kChina = absl::FixedTimeZone(8 * 3600);
  return absl::FormatTime("%Y-%m-%d %H:%M", t, kChina);
}

std::string FitToKey(absl::string_view key, absl::string_view value) {
  absl::string_view kind = key;
  while (!kind.empty() && absl::ascii_isdigit(static_cast<unsigned char>(kind.back()))) {
    kind.remove_suffix(1);
  }
  size_t limit = 32;
  if (kind == "thing") {
    limit = 20;
  } else if (kind == "name") {
    bool ascii = std::all_of(value.begin(), value.end(),
                             [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    limit = ascii ? 20 : 10;
  } else if (kind == "phrase" || kind == "symbol") {
    limit = 5;
  } else if (kind == "time" || kind == "date") {
    limit = 64;
  }
  if (CharCount(value) <= limit) return std::string(value);
  return FirstChars(value, limit);
}

std::map<std::string, std::string> ReminderData(const ReminderTemplate& tmpl,
                                                const ReminderRoom& room, ReminderKind kind) {
  std::map<std::string, std::string> data;
  // WeChat refuses empty values (47003): a room always has a title; the host falls back.
  data[tmpl.title_key] = FitToKey(tmpl.title_key, room.title);
  data[tmpl.time_key] = FitToKey(tmpl.time_key, ChinaTimeText(room.scheduled_start));
  std::string host = !tmpl.host_name.empty()           ? tmpl.host_name
                     : !room.host_associate_id.empty() ? room.host_associate_id
                                                       : room.brand_id;
  if (!tmpl.host_key.empty()) data[tmpl.host_key] = FitToKey(tmpl.host_key, host);
  if (!tmpl.status_key.empty()) {
    data[tmpl.status_key] =
        FitToKey(tmpl.status_key, kind == v1::REMINDER_KIND_LIVE ? "直播中" : "即将开始");
  }
  return data;
}

std::string ReminderPage(const ReminderTemplate& tmpl, int64_t room_id) {
  return absl::StrCat(tmpl.page, "?room_id=", room_id, "&from=reminder");
}

ReminderOutcome DecideReminderOutcome(const SendResult& result, int attempts, bool maybe_delivered,
                                      const RetryPolicy& policy, absl::Time now) {
  ReminderOutcome out;
  out.maybe_delivered = maybe_delivered;
  out.errcode = result.errcode.value_or(0);
  out.error = result.error.substr(0, 250);
  if (result.ok) {
    out.state = v1::REMINDER_STATE_SENT;
    out.msgid = result.msgid;
    out.sent_at = now;
    return out;
  }
  using Failure = SendResult::Failure;
  switch (result.failure) {
    case Failure::kRefused:
      // A one-time consent allows one message. When an earlier attempt of this very row may have
      // reached WeChat (the sender crashed between sending and recording, or the answer timed
      // out), "consent used up" (43101) is the trace of that delivery: the viewer got the
      // reminder, so it is SENT, not REFUSED. Sending it again could not help either way.
      if (maybe_delivered && result.errcode == kErrUserRefused) {
        out.state = v1::REMINDER_STATE_SENT;
        out.sent_at = now;
        out.error = "delivered by an earlier attempt whose answer was lost (43101 on resend)";
        return out;
      }
      out.state = v1::REMINDER_STATE_REFUSED;
      return out;
    case Failure::kThrottled:
    case Failure::kTransient: {
      if (result.failure == Failure::kTransient && !result.errcode.has_value()) {
        // No answer from WeChat (a timeout, a broken connection): the message may have gone out.
        out.maybe_delivered = true;
      }
      if (attempts >= policy.max_attempts) {
        out.state = v1::REMINDER_STATE_FAILED;
        return out;
      }
      absl::Duration wait = policy.base_backoff;
      for (int i = 1; i < attempts && wait < policy.max_backoff; ++i) wait *= 2;
      wait = std::min(wait, policy.max_backoff);
      if (result.errcode == kErrDailyQuota) wait = std::max(wait, policy.daily_quota_backoff);
      out.state = v1::REMINDER_STATE_PENDING;
      out.retry_at = now + wait;
      return out;
    }
    case Failure::kFailed:
    case Failure::kNone:
      break;
  }
  out.state = v1::REMINDER_STATE_FAILED;
  return out;
}

}  // namespace livecommerce::room
