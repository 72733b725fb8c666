#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace livecommerce::gateway {

// The gateway's WebSockets: a room's live pushes, an associate's alerts.
enum class SocketKind { kRoom = 0, kAlerts = 1 };

// The gateway's Prometheus metrics (prometheus-cpp), served by its own /metrics route through
// Render(). Route labels are the route table's names plus "unmatched". Every child is made once
// (a route's status counters on first use), so recording takes no lock and allocates nothing.
// Also writes one access line per HTTP request (route, status, duration, request id) unless
// LC_ACCESS_LOG=0.
class Metrics final {
 public:
  explicit Metrics(std::vector<std::string> route_names);
  ~Metrics();

  // `route` indexes the names given to the constructor; an index past them is "unmatched".
  // `request_id` (when known) goes into the access line.
  void RecordRequest(size_t route, int http_status, absl::Duration latency,
                     absl::string_view request_id = "");
  void RecordRateLimited(bool per_ip) { (per_ip ? limited_ip_ : limited_principal_)->Increment(); }
  void RecordCache(bool hit) { (hit ? cache_hits_ : cache_misses_)->Increment(); }
  void SocketOpened(SocketKind kind) { sockets_open_[Index(kind)]->Increment(); }
  void SocketClosed(SocketKind kind) { sockets_open_[Index(kind)]->Decrement(); }
  void SocketRefused(SocketKind kind) { sockets_refused_[Index(kind)]->Increment(); }
  void MessagesPushed(int64_t n) { messages_pushed_->Increment(static_cast<double>(n)); }
  void MessagesDropped(int64_t n) { messages_dropped_->Increment(static_cast<double>(n)); }
  // TCP connections (HTTP and WebSocket): open now, refused at accept by the total or the
  // per-address limit, and cut for not sending a whole request within the read deadline.
  void ConnectionOpened() { connections_open_->Increment(); }
  void ConnectionClosed() { connections_open_->Decrement(); }
  void ConnectionRefused(bool per_address) {
    (per_address ? connections_refused_address_ : connections_refused_total_)->Increment();
  }
  void ReadTimedOut() { read_timeouts_->Increment(); }
  int64_t connections_open() const { return Read(connections_open_); }
  // Upstream AttributionService.WatchAlerts calls: open now, and reopened after a failure.
  void AlertStreamOpened() { alert_streams_open_->Increment(); }
  void AlertStreamClosed() { alert_streams_open_->Decrement(); }
  void AlertStreamRetried() { alert_stream_retries_->Increment(); }
  // Room chat: stream entries read from Redis, comments folded out of viewers' frames, messages
  // from room sockets (comments and like batches) by result.
  void ChatEntriesRead(int64_t n) { chat_entries_->Increment(static_cast<double>(n)); }
  void ChatFolded(int64_t n) { chat_folded_->Increment(static_cast<double>(n)); }
  void ChatSent(bool accepted) { (accepted ? chat_accepted_ : chat_refused_)->Increment(); }
  // Every kind.
  int64_t sockets_open() const { return Read(sockets_open_[0]) + Read(sockets_open_[1]); }
  int64_t sockets_open(SocketKind kind) const { return Read(sockets_open_[Index(kind)]); }
  int64_t alert_streams_open() const { return Read(alert_streams_open_); }

  // Every metric in Prometheus' text format.
  std::string Render() const;
  prometheus::Registry& registry() { return *registry_; }

  // The HTTP statuses labelled one by one; anything else is labelled "other".
  static constexpr std::array<int, 17> kStatuses = {200, 400, 401, 403, 404, 405, 409, 413, 415,
                                                    429, 431, 499, 500, 501, 503, 504, 101};

 private:
  struct RouteStats {
    // Made on first use: a route shows only the statuses it answered.
    std::array<std::atomic<prometheus::Counter*>, kStatuses.size() + 1> by_status{};
    prometheus::Counter* errors = nullptr;
    prometheus::Histogram* latency = nullptr;
  };
  static size_t Index(SocketKind kind) { return static_cast<size_t>(kind); }
  static int64_t Read(const prometheus::Gauge* gauge) {
    return static_cast<int64_t>(gauge->Value());
  }
  prometheus::Counter& StatusCounter(size_t route, size_t status_index);

  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<std::string> names_;
  std::unique_ptr<RouteStats[]> stats_;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  bool access_log_ = true;
  prometheus::Counter* limited_ip_;
  prometheus::Counter* limited_principal_;
  prometheus::Counter* cache_hits_;
  prometheus::Counter* cache_misses_;
  std::array<prometheus::Gauge*, 2> sockets_open_{};
  std::array<prometheus::Counter*, 2> sockets_refused_{};
  prometheus::Gauge* connections_open_;
  prometheus::Counter* connections_refused_total_;
  prometheus::Counter* connections_refused_address_;
  prometheus::Counter* read_timeouts_;
  prometheus::Gauge* alert_streams_open_;
  prometheus::Counter* alert_stream_retries_;
  prometheus::Counter* chat_entries_;
  prometheus::Counter* chat_folded_;
  prometheus::Counter* chat_accepted_;
  prometheus::Counter* chat_refused_;
  prometheus::Counter* messages_pushed_;
  prometheus::Counter* messages_dropped_;
};

}  // namespace livecommerce::gateway
