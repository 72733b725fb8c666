#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/common/metrics.h"
#include "services/common/periodic_task.h"
#include "services/common/wechat/platform_client.h"
#include "services/room/domain/reminder.h"
#include "services/room/store/reservation_store.h"

namespace livecommerce::room {

// One reminder as it goes out: a WeChat subscription message to the viewer.
struct ReminderMessage {
  std::string brand_id;
  std::string touser;  // the viewer's openid in the brand's mini-program
  std::string template_id;
  std::string page;
  std::map<std::string, std::string> data;
  std::string miniprogram_state;
  std::string lang;
};

struct ReminderDelivery {
  std::string msgid;
  std::string sandbox_message;  // the sandbox: the message as JSON; "" otherwise
};

// Sends reminders. A failed send returns the Status of wechat::PlatformClient (so that
// wechat::SubscribeOutcomeOf and WechatErrcode read it). Thread-safe.
class ReminderSender {
 public:
  virtual ~ReminderSender() = default;
  virtual absl::StatusOr<ReminderDelivery> Send(const ReminderMessage& message) = 0;
};

// subscribeMessage.send through the platform client (which renews a refused access_token and
// retries once; nothing else is retried there: the worker decides).
class WechatReminderSender final : public ReminderSender {
 public:
  explicit WechatReminderSender(const common::wechat::PlatformClient& client) : client_(client) {}
  absl::StatusOr<ReminderDelivery> Send(const ReminderMessage& message) override;

 private:
  const common::wechat::PlatformClient& client_;
};

// For scripts/run and the demo, where no mini-program is configured: sends nothing, and returns
// the message it would have sent (touser, template_id, page, data) for the reminder row, so that
// ListReminders shows it. Logs nothing of the message.
class SandboxReminderSender final : public ReminderSender {
 public:
  absl::StatusOr<ReminderDelivery> Send(const ReminderMessage& message) override;

 private:
  std::atomic<int64_t> sent_{0};
};

struct ReminderWorkerOptions {
  absl::Duration poll = absl::Seconds(1);
  // How long a claim holds a reminder: longer than one send can take (the platform client makes
  // up to four exchanges of LC_WECHAT_API_TIMEOUT_MS each), or another worker sends it again.
  absl::Duration lease = absl::Minutes(2);
  int batch = 20;
  RetryPolicy retry;
  std::string owner;  // this worker's name in claims; empty: host, pid and a random part
};

// The room service's reminder settings (docs/RESERVATIONS.md):
//   LC_REMINDER_SENDER         "wechat" or "sandbox" (default: wechat when LC_WECHAT_APPS names
//                              a mini-program, sandbox otherwise)
//   LC_REMINDER_LEAD_MINUTES   > 0: also remind this long before the scheduled start (0..10080,
//                              default 0)
//   LC_REMINDER_TEMPLATES      a JSON file of each brand's template (default none)
//   LC_REMINDER_MAX_ATTEMPTS   sends of one reminder before it is FAILED (1..50, default 5)
//   LC_REMINDER_RETRY_MS       the first backoff, doubled per attempt (100..3600000, default 30000)
//   LC_REMINDER_POLL_MS        how often the worker looks for due reminders (default 1000)
struct ReminderSettings {
  std::string sender;  // "wechat" | "sandbox"
  absl::Duration lead;
  ReminderTemplates templates;
  ReminderWorkerOptions worker;
};
// INVALID_ARGUMENT naming the variable. `wechat_configured`: LC_WECHAT_APPS names a mini-program.
absl::StatusOr<ReminderSettings> LoadReminderSettings(bool wechat_configured);

// The message of a claimed reminder: the brand's template, the consented template id, the
// room's fields and page.
ReminderMessage BuildReminderMessage(const ClaimedReminder& claimed,
                                     const ReminderTemplates& templates);
// What a send's answer means for the reminder (pure).
SendResult SendResultOf(const absl::StatusOr<ReminderDelivery>& sent);

// Claims due reminders, sends each and records the outcome (exactly once in effect: see
// DecideReminderOutcome and docs/RESERVATIONS.md). Any number of workers may run, in any
// number of replicas.
class ReminderWorker final {
 public:
  ReminderWorker(ReservationStore& store, ReminderSender& sender, ReminderTemplates templates,
                 const common::Clock& clock, ReminderWorkerOptions options);
  void Start() { task_.Start(); }
  void Stop() { task_.Stop(); }
  // One pass: claims up to a batch, sends and records each. Returns how many were attempted.
  int RunOnce();
  // lc_reminders_total{outcome="sent|refused|retry|failed"}.
  void ExportMetrics(common::ServiceMetrics& metrics);

 private:
  ReservationStore& store_;
  ReminderSender& sender_;
  const ReminderTemplates templates_;
  const common::Clock& clock_;
  const ReminderWorkerOptions options_;
  const std::string owner_;
  std::atomic<int64_t> sent_{0}, refused_{0}, retried_{0}, failed_{0};
  common::PeriodicTask task_;  // last: its thread uses the members above
};

}  // namespace livecommerce::room
