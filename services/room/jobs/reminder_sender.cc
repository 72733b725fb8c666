#include "services/room/jobs/reminder_sender.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/config.h"
#include "services/common/crypto.h"
#include "services/common/log_format.h"
#include "services/common/status.h"

namespace livecommerce::room {
namespace {

namespace wechat = common::wechat;

std::string DefaultOwner() {
  char host[128] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::string owner = absl::StrCat(host, ":", getpid(), ":", common::RandomToken(6));
  return owner.substr(0, 64);
}

}  // namespace

absl::StatusOr<ReminderDelivery> WechatReminderSender::Send(const ReminderMessage& message) {
  wechat::SubscribeMessage m;
  m.touser = message.touser;
  m.template_id = message.template_id;
  m.page = message.page;
  m.data = message.data;
  m.miniprogram_state = message.miniprogram_state;
  m.lang = message.lang;
  LC_ASSIGN_OR_RETURN(wechat::SubscribeSent sent,
                      client_.SendSubscribeMessage(message.brand_id, m));
  return ReminderDelivery{sent.msgid, ""};
}

absl::StatusOr<ReminderDelivery> SandboxReminderSender::Send(const ReminderMessage& message) {
  nlohmann::json data = nlohmann::json::object();
  for (const auto& [key, value] : message.data) data[key] = {{"value", value}};
  nlohmann::json record = {{"touser", message.touser},
                           {"template_id", message.template_id},
                           {"page", message.page},
                           {"data", data}};
  if (!message.miniprogram_state.empty()) record["miniprogram_state"] = message.miniprogram_state;
  if (!message.lang.empty()) record["lang"] = message.lang;
  return ReminderDelivery{absl::StrCat("sandbox-", ++sent_), record.dump()};
}

absl::StatusOr<ReminderSettings> LoadReminderSettings(bool wechat_configured) {
  ReminderSettings settings;
  settings.sender =
      common::EnvString("LC_REMINDER_SENDER", wechat_configured ? "wechat" : "sandbox");
  if (settings.sender != "wechat" && settings.sender != "sandbox") {
    return absl::InvalidArgumentError("LC_REMINDER_SENDER must be wechat or sandbox");
  }
  if (settings.sender == "wechat" && !wechat_configured) {
    return absl::InvalidArgumentError(
        "LC_REMINDER_SENDER=wechat needs a mini-program in LC_WECHAT_APPS");
  }
  LC_ASSIGN_OR_RETURN(int64_t lead, common::EnvInt("LC_REMINDER_LEAD_MINUTES", 0, 0, 10080));
  settings.lead = absl::Minutes(lead);
  LC_ASSIGN_OR_RETURN(int64_t attempts, common::EnvInt("LC_REMINDER_MAX_ATTEMPTS", 5, 1, 50));
  settings.worker.retry.max_attempts = static_cast<int>(attempts);
  LC_ASSIGN_OR_RETURN(settings.worker.retry.base_backoff,
                      common::EnvMillis("LC_REMINDER_RETRY_MS", 30000, 100, 3600000));
  LC_ASSIGN_OR_RETURN(settings.worker.poll,
                      common::EnvMillis("LC_REMINDER_POLL_MS", 1000, 50, 600000));
  std::string path = common::EnvString("LC_REMINDER_TEMPLATES", "");
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) {
      return absl::InvalidArgumentError(absl::StrCat("LC_REMINDER_TEMPLATES: cannot read ", path));
    }
    std::stringstream text;
    text << in.rdbuf();
    LC_ASSIGN_OR_RETURN(settings.templates, ParseReminderTemplates(text.str()));
  }
  return settings;
}

ReminderMessage BuildReminderMessage(const ClaimedReminder& claimed,
                                     const ReminderTemplates& templates) {
  const ReminderTemplate& tmpl = templates.For(claimed.room.brand_id);
  ReminderMessage m;
  m.brand_id = claimed.room.brand_id;
  m.touser = claimed.reminder.viewer_id;
  // The template the viewer consented to: a one-time consent is for that template only.
  m.template_id = claimed.template_id;
  m.page = ReminderPage(tmpl, claimed.room.room_id);
  m.data = ReminderData(tmpl, claimed.room, claimed.reminder.kind);
  m.miniprogram_state = tmpl.miniprogram_state;
  m.lang = tmpl.lang;
  return m;
}

SendResult SendResultOf(const absl::StatusOr<ReminderDelivery>& sent) {
  SendResult result;
  if (sent.ok()) {
    result.ok = true;
    result.msgid = sent->msgid;
    return result;
  }
  result.errcode = wechat::WechatErrcode(sent.status());
  result.error = std::string(sent.status().message());
  switch (wechat::SubscribeOutcomeOf(sent.status())) {
    case wechat::SubscribeOutcome::kRefused:
      result.failure = SendResult::Failure::kRefused;
      break;
    case wechat::SubscribeOutcome::kThrottled:
      result.failure = SendResult::Failure::kThrottled;
      break;
    case wechat::SubscribeOutcome::kTransient:
      result.failure = SendResult::Failure::kTransient;
      break;
    case wechat::SubscribeOutcome::kSent:  // an error Status is never "sent"
    case wechat::SubscribeOutcome::kFailed:
      result.failure = SendResult::Failure::kFailed;
      break;
  }
  return result;
}

ReminderWorker::ReminderWorker(ReservationStore& store, ReminderSender& sender,
                               ReminderTemplates templates, const common::Clock& clock,
                               ReminderWorkerOptions options)
    : store_(store),
      sender_(sender),
      templates_(std::move(templates)),
      clock_(clock),
      options_(std::move(options)),
      owner_(options_.owner.empty() ? DefaultOwner() : options_.owner),
      task_(options_.poll, [this] {
        // Keep going while whole batches come back, so a burst (a big room going live) drains
        // without waiting a poll per batch.
        while (RunOnce() >= options_.batch) {
        }
      }) {}

int ReminderWorker::RunOnce() {
  absl::StatusOr<std::vector<ClaimedReminder>> claimed =
      store_.ClaimDue(clock_.Now(), options_.lease, options_.batch, owner_);
  if (!claimed.ok()) {
    spdlog::warn("reminders: cannot claim due reminders: {}", claimed.status().message());
    return 0;
  }
  for (const ClaimedReminder& c : *claimed) {
    const ReminderRecord& r = c.reminder;
    absl::StatusOr<ReminderDelivery> sent = sender_.Send(BuildReminderMessage(c, templates_));
    RecordedAttempt attempt;
    attempt.outcome = DecideReminderOutcome(SendResultOf(sent), r.attempts, r.maybe_delivered,
                                            options_.retry, clock_.Now());
    if (sent.ok()) attempt.sandbox_message = sent->sandbox_message;
    absl::Status recorded = store_.RecordOutcome(r.id, owner_, attempt, clock_.Now());
    const ReminderOutcome& o = attempt.outcome;
    // Ids, states and codes only: never the viewer's openid or the message.
    if (!recorded.ok()) {
      spdlog::warn("reminder {} of room {}: outcome {} not recorded: {}", r.id, r.room_id,
                   v1::ReminderState_Name(o.state), recorded.message());
      continue;
    }
    switch (o.state) {
      case v1::REMINDER_STATE_SENT:
        ++sent_;
        break;
      case v1::REMINDER_STATE_REFUSED:
        ++refused_;
        break;
      case v1::REMINDER_STATE_PENDING:
        ++retried_;
        break;
      default:
        ++failed_;
        break;
    }
    spdlog::info("reminder {} of room {} ({}), attempt {}: {}{}", r.id, r.room_id,
                 v1::ReminderKind_Name(r.kind), r.attempts, v1::ReminderState_Name(o.state),
                 o.errcode != 0 ? absl::StrCat(" errcode ", o.errcode) : "");
  }
  return static_cast<int>(claimed->size());
}

void ReminderWorker::ExportMetrics(common::ServiceMetrics& metrics) {
  metrics.AddCollector([this] {
    prometheus::MetricFamily f;
    f.name = "lc_reminders_total";
    f.help = "Reminder send attempts by outcome (retry: sent again later).";
    f.type = prometheus::MetricType::Counter;
    for (const auto& [outcome, value] :
         std::vector<std::pair<std::string, int64_t>>{{"sent", sent_.load()},
                                                      {"refused", refused_.load()},
                                                      {"retry", retried_.load()},
                                                      {"failed", failed_.load()}}) {
      prometheus::ClientMetric m;
      m.label.push_back({"outcome", outcome});
      m.counter.value = static_cast<double>(value);
      f.metric.push_back(std::move(m));
    }
    return std::vector<prometheus::MetricFamily>{std::move(f)};
  });
}

}  // namespace livecommerce::room
