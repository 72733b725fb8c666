#include "gateway/server/alert_hub.h"

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gateway/http/json_binding.h"
#include "gateway/http/status_map.h"
#include "nlohmann/json.hpp"
#include "services/common/log_format.h"
#include "services/common/principal.h"

namespace livecommerce::gateway {

std::string AlertMessageJson(const v1::Alert& alert) {
  return absl::StrCat("{\"type\":\"alert\",\"alert\":", ToJson(alert), "}");
}

std::string SubscribedJson(const std::string& associate_id, const std::string& after_id) {
  nlohmann::ordered_json j;
  j["type"] = "subscribed";
  j["subscribed"] = {{"associate_id", associate_id}, {"after_id", after_id}};
  return j.dump();
}

std::string ReconnectingJson(grpc::StatusCode code, absl::Duration retry_in) {
  nlohmann::ordered_json j;
  j["type"] = "reconnecting";
  j["reconnecting"] = {{"code", std::string(StatusCodeName(code))},
                       {"retry_in_ms", absl::ToInt64Milliseconds(retry_in)}};
  return j.dump();
}

bool AlertStreamRetryable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:         // the service ended the stream (shutting down)
    case grpc::StatusCode::CANCELLED:  // cancelled by the service or a proxy, not by us
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DATA_LOSS:
      return true;
    default:
      return false;
  }
}

absl::Duration AlertRetryDelay(int failures, const AlertHubOptions& options, double jitter) {
  absl::Duration delay = options.retry_initial;
  for (int i = 1; i < failures && delay < options.retry_max; ++i) delay *= 2;
  delay = std::min(delay, options.retry_max);
  return delay * (0.8 + 0.4 * std::clamp(jitter, 0.0, 1.0));
}

std::string AlertCloseReason(const grpc::Status& status) {
  std::string reason = absl::StrCat("alerts: ", StatusCodeName(status.error_code()));
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      if (!status.error_message().empty()) absl::StrAppend(&reason, ": ", status.error_message());
      break;
    default:  // the message may come from gRPC itself: only the code is shown
      break;
  }
  constexpr size_t kMaxReason = 123;
  if (reason.size() > kMaxReason) {
    reason.resize(kMaxReason);
    // Do not leave half a UTF-8 character at the end.
    while (!reason.empty() && (static_cast<unsigned char>(reason.back()) & 0xC0) == 0x80) {
      reason.pop_back();
    }
    if (!reason.empty() && (static_cast<unsigned char>(reason.back()) & 0x80) != 0) {
      reason.pop_back();
    }
  }
  return reason;
}

struct AlertHub::Subscription {
  std::weak_ptr<AlertSocket> socket;
  AlertSocketInfo info;
  // Guarded by the hub's mu_.
  std::string after_id;  // the last alert sent to the socket: where a reopened stream resumes
  std::shared_ptr<Watcher> watcher;
  bool removed = false;
  bool closing = false;
  bool subscribed_sent = false;  // for the current stream
  bool delivered = false;        // the current stream sent alerts
  absl::Time established_at = absl::InfiniteFuture();
  int failures = 0;
  absl::Time retry_at = absl::InfiniteFuture();
};

// One upstream WatchAlerts call. A hold keeps it from finishing while the socket writes a batch:
// the next read starts when that batch's `written` token is released. Deletes itself after
// OnDone (others may still hold it, to cancel it).
class AlertHub::Watcher final : public grpc::ClientReadReactor<v1::WatchAlertsResponse> {
 public:
  Watcher(AlertHub& hub, std::shared_ptr<Subscription> sub, const std::string& after_id)
      : hub_(hub), sub_(std::move(sub)) {
    request_.set_after_id(after_id);
    // The call lives as long as the socket; the principal's expiry is the token's.
    common::AttachPrincipal(context_, sub_->info.principal);
  }

  void Begin(std::shared_ptr<Watcher> self) {
    self_ = std::move(self);
    hub_.stub_->async()->WatchAlerts(&context_, &request_, this);
    AddHold();
    StartRead(&response_);
    StartCall();
  }

  void Cancel() { context_.TryCancel(); }

  void OnReadInitialMetadataDone(bool ok) override {
    // A refusal comes with empty initial metadata: only the service's marker means accepted.
    if (ok && context_.GetServerInitialMetadata().count("x-lc-stream") > 0) {
      hub_.Established(sub_);
    }
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      RemoveHold();
      return;
    }
    // Released by the socket once the batch is out (or the socket is gone): read on then.
    struct ReadNext {
      std::shared_ptr<Watcher> watcher;
      ~ReadNext() {
        if (watcher != nullptr) watcher->ReadNextBatch();
      }
    };
    auto written = std::make_shared<ReadNext>();
    written->watcher = self_;
    hub_.Deliver(sub_, response_, std::move(written));
  }

  void OnDone(const grpc::Status& status) override {
    std::shared_ptr<Watcher> self = std::move(self_);
    hub_.WatchEnded(sub_, this, status);
  }

 private:
  void ReadNextBatch() {
    response_.Clear();
    StartRead(&response_);  // on a cancelled call this fails at once, and the call ends
  }

  AlertHub& hub_;
  std::shared_ptr<Subscription> sub_;
  std::shared_ptr<Watcher> self_;
  grpc::ClientContext context_;
  v1::WatchAlertsRequest request_;
  v1::WatchAlertsResponse response_;
};

AlertHub::AlertHub(std::shared_ptr<grpc::Channel> attribution_channel, SocketSlots& slots,
                   Metrics& metrics, TokenRevoked revoked, AlertHubOptions options)
    : stub_(v1::AttributionService::NewStub(attribution_channel)),
      slots_(slots),
      metrics_(metrics),
      revoked_(std::move(revoked)),
      options_(std::move(options)) {
  ticker_ = std::make_unique<common::PeriodicTask>(options_.tick, [this] { Tick(absl::Now()); });
}

AlertHub::~AlertHub() { Stop(); }

void AlertHub::Start() { ticker_->Start(); }

void AlertHub::Stop() {
  if (stopped_.exchange(true)) return;
  ticker_->Stop();
  std::vector<std::shared_ptr<Watcher>> watchers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [raw, sub] : subs_) {
      if (sub->watcher != nullptr) watchers.push_back(sub->watcher);
    }
  }
  for (auto& w : watchers) w->Cancel();
  watchers.clear();
  // Wait (briefly) for the calls to end so none calls back into a destroyed hub.
  for (int i = 0; i < 300 && metrics_.alert_streams_open() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void AlertHub::Add(const std::shared_ptr<AlertSocket>& socket) {
  auto sub = std::make_shared<Subscription>();
  sub->socket = socket;
  sub->info = socket->info();
  sub->after_id = sub->info.after_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    subs_[socket.get()] = sub;
  }
  metrics_.SocketOpened(SocketKind::kAlerts);
  StartWatch(sub);
}

void AlertHub::Remove(AlertSocket* socket) {
  std::shared_ptr<Subscription> sub;
  std::shared_ptr<Watcher> watcher;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = subs_.find(socket);
    if (it == subs_.end()) return;
    sub = std::move(it->second);
    subs_.erase(it);
    sub->removed = true;
    watcher = sub->watcher;
  }
  metrics_.SocketClosed(SocketKind::kAlerts);
  slots_.Release(sub->info.principal_key);
  // Cancelled outside the lock: the call's end takes it.
  if (watcher != nullptr) watcher->Cancel();
}

void AlertHub::Abandon(const AlertSocketInfo& info) { slots_.Release(info.principal_key); }

void AlertHub::CloseAll() {
  std::vector<std::shared_ptr<AlertSocket>> sockets;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [raw, sub] : subs_) {
      if (auto s = sub->socket.lock()) sockets.push_back(std::move(s));
    }
  }
  for (auto& s : sockets) s->Close(kCloseGoingAway, "the gateway is shutting down");
}

size_t AlertHub::sockets() const {
  std::lock_guard<std::mutex> lock(mu_);
  return subs_.size();
}

std::string AlertHub::TokenProblem(const AlertSocketInfo& info, absl::Time now) const {
  if (now >= info.expires_at) return "token: expired";
  if (revoked_ != nullptr && !info.token_id.empty() && revoked_(info.token_id)) {
    return "token: revoked";
  }
  return "";
}

void AlertHub::StartWatch(const std::shared_ptr<Subscription>& sub) {
  std::shared_ptr<Watcher> watcher;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_ || sub->removed || sub->closing || sub->watcher != nullptr) return;
    watcher = std::make_shared<Watcher>(*this, sub, sub->after_id);
    sub->watcher = watcher;
    sub->retry_at = absl::InfiniteFuture();
    sub->subscribed_sent = false;
    sub->delivered = false;
    sub->established_at = absl::InfiniteFuture();
  }
  metrics_.AlertStreamOpened();
  watcher->Begin(watcher);
}

void AlertHub::Established(const std::shared_ptr<Subscription>& sub) {
  std::lock_guard<std::mutex> lock(mu_);
  sub->established_at = absl::Now();
  if (sub->subscribed_sent || sub->removed) return;
  sub->subscribed_sent = true;
  if (auto socket = sub->socket.lock()) {
    // Sent under the lock: the socket queues in call order, so this stays before the alerts.
    socket->Send({std::make_shared<const std::string>(
                     SubscribedJson(sub->info.associate_id, sub->after_id))},
                 nullptr);
  }
}

void AlertHub::Deliver(const std::shared_ptr<Subscription>& sub,
                       const v1::WatchAlertsResponse& batch, std::shared_ptr<void> written) {
  std::lock_guard<std::mutex> lock(mu_);
  if (sub->removed || sub->closing) return;
  std::shared_ptr<AlertSocket> socket = sub->socket.lock();
  if (socket == nullptr) return;
  if (std::string problem = TokenProblem(sub->info, absl::Now()); !problem.empty()) {
    sub->closing = true;
    socket->Close(kClosePolicy, problem);
    return;
  }
  std::vector<std::shared_ptr<const std::string>> messages;
  messages.reserve(static_cast<size_t>(batch.alerts_size()) + 1);
  if (!sub->subscribed_sent) {
    // The alerts can be read before the initial metadata's callback has run.
    sub->subscribed_sent = true;
    messages.push_back(
        std::make_shared<const std::string>(SubscribedJson(sub->info.associate_id, sub->after_id)));
  }
  for (const v1::Alert& alert : batch.alerts()) {
    messages.push_back(std::make_shared<const std::string>(AlertMessageJson(alert)));
    sub->after_id = alert.id();
  }
  if (batch.alerts_size() > 0) sub->delivered = true;
  socket->Send(std::move(messages), std::move(written));
}

void AlertHub::WatchEnded(const std::shared_ptr<Subscription>& sub, const Watcher* watcher,
                          const grpc::Status& status) {
  metrics_.AlertStreamClosed();
  std::shared_ptr<AlertSocket> socket;
  std::string message;
  uint16_t close_code = 0;
  std::string close_reason;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (sub->watcher.get() == watcher) sub->watcher = nullptr;
    if (sub->removed || sub->closing || stopped_) return;
    socket = sub->socket.lock();
    if (socket == nullptr) return;
    absl::Time now = absl::Now();
    if (AlertStreamRetryable(status.error_code())) {
      // A stream that was up a while, or carried alerts, starts the backoff over.
      if (sub->delivered || now - sub->established_at >= options_.retry_max) sub->failures = 0;
      ++sub->failures;
      double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(jitter_);
      absl::Duration delay = AlertRetryDelay(sub->failures, options_, jitter);
      sub->retry_at = now + delay;
      message = ReconnectingJson(status.error_code(), delay);
      // Sent under the lock: before the next stream's "subscribed".
      socket->Send({std::make_shared<const std::string>(message)}, nullptr);
    } else {
      sub->closing = true;
      close_code = status.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
                           status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
                           status.error_code() == grpc::StatusCode::INVALID_ARGUMENT
                       ? kClosePolicy
                       : kCloseInternal;
      close_reason = AlertCloseReason(status);
    }
  }
  if (close_code != 0) {
    spdlog::warn("alerts stream of associate {} (brand {}) refused ({}): closing its socket",
                 sub->info.associate_id, sub->info.brand_id, StatusCodeName(status.error_code()));
    socket->Close(close_code, close_reason);
    return;
  }
  if (status.error_code() != grpc::StatusCode::OK) {
    spdlog::warn("alerts stream of associate {} ended ({}): {}; reopening", sub->info.associate_id,
                 StatusCodeName(status.error_code()), status.error_message());
  }
}

void AlertHub::Tick(absl::Time now) {
  std::vector<std::shared_ptr<Subscription>> due;
  std::vector<std::pair<std::shared_ptr<AlertSocket>, std::string>> to_close;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [raw, sub] : subs_) {
      if (sub->removed || sub->closing) continue;
      if (std::string problem = TokenProblem(sub->info, now); !problem.empty()) {
        if (auto socket = sub->socket.lock()) {
          sub->closing = true;
          to_close.emplace_back(std::move(socket), std::move(problem));
        }
        continue;
      }
      if (sub->watcher == nullptr && sub->retry_at <= now) due.push_back(sub);
    }
  }
  for (auto& [socket, reason] : to_close) {
    // Its call is cancelled when the socket is removed.
    socket->Close(kClosePolicy, reason);
  }
  for (const auto& sub : due) {
    metrics_.AlertStreamRetried();
    StartWatch(sub);
  }
}

}  // namespace livecommerce::gateway
