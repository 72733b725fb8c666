#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/time/time.h"
#include "gateway/http/metrics.h"
#include "gateway/server/socket_slots.h"
#include "grpcpp/support/status.h"
#include "livecommerce/v1/attribution.grpc.pb.h"
#include "services/common/periodic_task.h"

namespace livecommerce::gateway {

// Who is behind an open alerts WebSocket.
struct AlertSocketInfo {
  std::string brand_id;
  std::string associate_id;   // the token's subject
  std::string principal;      // the associate's encoded principal, forwarded on WatchAlerts
  std::string principal_key;  // for the per-principal socket limit
  std::string token_id;       // checked against the revocation list while the socket is open
  absl::Time expires_at = absl::InfiniteFuture();  // the token's expiry: the socket closes then
  std::string after_id;  // the client's ?after_id= (empty: every alert the service keeps)
};

// WebSocket close codes the hub uses (RFC 6455).
inline constexpr uint16_t kCloseGoingAway = 1001;  // the gateway is shutting down
inline constexpr uint16_t kClosePolicy = 1008;     // the token expired or was revoked; refused
inline constexpr uint16_t kCloseInternal = 1011;   // the service failed in a way retrying won't fix

// An open alerts WebSocket as the hub sees it.
class AlertSocket {
 public:
  virtual ~AlertSocket() = default;
  // Queues text messages in order; thread-safe, never blocks, never drops. `written` (may be
  // null) is released once the messages have been written or the socket has closed.
  virtual void Send(std::vector<std::shared_ptr<const std::string>> messages,
                    std::shared_ptr<void> written) = 0;
  // Starts closing with `code` and `reason` (at most 123 bytes). Idempotent.
  virtual void Close(uint16_t code, std::string reason) = 0;
  virtual const AlertSocketInfo& info() const = 0;
};

// Whether the token behind a socket is still good (revocation list); nullptr: not checked.
using TokenRevoked = std::function<bool(const std::string& token_id)>;

struct AlertHubOptions {
  absl::Duration retry_initial = absl::Milliseconds(500);  // first wait before reopening
  absl::Duration retry_max = absl::Seconds(30);            // the waits double up to this
  absl::Duration tick = absl::Milliseconds(200);           // how often retries and tokens are due
};

// The associates' alerts WebSockets of this gateway. Each socket has its own upstream
// AttributionService.WatchAlerts call, made with the associate's principal and resumed from the
// last alert the socket was sent: the service decides whose alerts they are. Messages:
// "subscribed" each time the stream is (re)established, one "alert" per alert, "reconnecting"
// when the stream ended or failed and will be reopened after a backoff (UNAVAILABLE and the other
// transient codes; the stream ending cleanly too); a refusal (PERMISSION_DENIED, INVALID_ARGUMENT,
// UNAUTHENTICATED ...) closes the socket with the code and reason instead. The next batch is read
// from the service only after the socket has written the previous one, so a slow reader slows its
// own stream and loses nothing. Sockets close when their token expires or is revoked. Closing a
// socket cancels its call. Thread-safe.
class AlertHub final {
 public:
  AlertHub(std::shared_ptr<grpc::Channel> attribution_channel, SocketSlots& slots, Metrics& metrics,
           TokenRevoked revoked, AlertHubOptions options);
  ~AlertHub();

  void Start();
  // Cancels the upstream calls and waits (briefly) for them to end. Close sockets first.
  void Stop();

  // A socket that has just opened: its stream starts.
  void Add(const std::shared_ptr<AlertSocket>& socket);
  // The socket closed: its call is cancelled and its slot released.
  void Remove(AlertSocket* socket);
  // A granted socket that never opened: its slot is released.
  void Abandon(const AlertSocketInfo& info);
  void CloseAll();
  // Reopens due streams and closes sockets whose token is no longer good (the tick calls this).
  void Tick(absl::Time now);

  size_t sockets() const;

 private:
  struct Subscription;
  class Watcher;

  void StartWatch(const std::shared_ptr<Subscription>& sub);
  void Established(const std::shared_ptr<Subscription>& sub);
  void Deliver(const std::shared_ptr<Subscription>& sub, const v1::WatchAlertsResponse& batch,
               std::shared_ptr<void> written);
  void WatchEnded(const std::shared_ptr<Subscription>& sub, const Watcher* watcher,
                  const grpc::Status& status);
  // Why the socket's token is no longer good, or empty.
  std::string TokenProblem(const AlertSocketInfo& info, absl::Time now) const;

  std::unique_ptr<v1::AttributionService::Stub> stub_;
  SocketSlots& slots_;
  Metrics& metrics_;
  TokenRevoked revoked_;
  AlertHubOptions options_;

  mutable std::mutex mu_;
  std::unordered_map<AlertSocket*, std::shared_ptr<Subscription>> subs_;
  std::mt19937_64 jitter_{std::random_device{}()};
  std::unique_ptr<common::PeriodicTask> ticker_;
  std::atomic<bool> stopped_{false};
};

// The JSON text of the messages (type first, as on the room WebSocket).
std::string AlertMessageJson(const v1::Alert& alert);  // {"type":"alert","alert":{Alert}}
std::string SubscribedJson(const std::string& associate_id, const std::string& after_id);
std::string ReconnectingJson(grpc::StatusCode code, absl::Duration retry_in);

// Whether a WatchAlerts that ended with `code` (not cancelled by the gateway) is reopened: the
// stream ending (OK), the service or the network failing. Refusals are not.
bool AlertStreamRetryable(grpc::StatusCode code);
// The wait before reopening after `failures` (>= 1) failures in a row: retry_initial doubled per
// failure up to retry_max, times a factor in [0.8, 1.2) from `jitter` in [0, 1).
absl::Duration AlertRetryDelay(int failures, const AlertHubOptions& options, double jitter);
// The close reason for a refusal: "alerts: CODE: message", cut to the 123 bytes a close frame
// allows (messages of refusals name the field and are safe to show).
std::string AlertCloseReason(const grpc::Status& status);

}  // namespace livecommerce::gateway
