#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace livecommerce::gateway {

// The gateway's WebSockets: a room's live pushes, an associate's alerts.
enum class SocketKind { kRoom = 0, kAlerts = 1 };

// Prometheus counters and histograms of the gateway, written in the text exposition format by
// Render(). Route labels are the route table's names plus "unmatched". Lock-free to record.
class Metrics final {
 public:
  explicit Metrics(std::vector<std::string> route_names);

  // `route` indexes the names given to the constructor; an index past them is "unmatched".
  void RecordRequest(size_t route, int http_status, absl::Duration latency);
  void RecordRateLimited(bool per_ip) { (per_ip ? limited_ip_ : limited_principal_)++; }
  void RecordCache(bool hit) { (hit ? cache_hits_ : cache_misses_)++; }
  void SocketOpened(SocketKind kind) { sockets_open_[Index(kind)]++; }
  void SocketClosed(SocketKind kind) { sockets_open_[Index(kind)]--; }
  void SocketRefused(SocketKind kind) { sockets_refused_[Index(kind)]++; }
  void MessagesPushed(int64_t n) { messages_pushed_ += n; }
  void MessagesDropped(int64_t n) { messages_dropped_ += n; }
  // TCP connections (HTTP and WebSocket): open now, refused at accept by the total or the
  // per-address limit, and cut for not sending a whole request within the read deadline.
  void ConnectionOpened() { connections_open_++; }
  void ConnectionClosed() { connections_open_--; }
  void ConnectionRefused(bool per_address) {
    (per_address ? connections_refused_address_ : connections_refused_total_)++;
  }
  void ReadTimedOut() { read_timeouts_++; }
  int64_t connections_open() const { return connections_open_.load(); }
  // Upstream AttributionService.WatchAlerts calls: open now, and reopened after a failure.
  void AlertStreamOpened() { alert_streams_open_++; }
  void AlertStreamClosed() { alert_streams_open_--; }
  void AlertStreamRetried() { alert_stream_retries_++; }
  // Every kind.
  int64_t sockets_open() const { return sockets_open_[0].load() + sockets_open_[1].load(); }
  int64_t sockets_open(SocketKind kind) const { return sockets_open_[Index(kind)].load(); }
  int64_t alert_streams_open() const { return alert_streams_open_.load(); }

  std::string Render() const;

  // Histogram upper bounds in seconds.
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   5};
  // The HTTP statuses counted one by one; anything else is counted as "other".
  static constexpr std::array<int, 17> kStatuses = {200, 400, 401, 403, 404, 405, 409, 413, 415,
                                                    429, 431, 499, 500, 501, 503, 504, 101};

 private:
  struct RouteStats {
    std::array<std::atomic<int64_t>, kStatuses.size() + 1> by_status{};
    std::array<std::atomic<int64_t>, kBuckets.size() + 1> latency_buckets{};  // last: +Inf
    std::atomic<int64_t> latency_sum_us{0};
    std::atomic<int64_t> errors{0};
  };
  std::vector<std::string> names_;
  std::unique_ptr<RouteStats[]> stats_;
  std::atomic<int64_t> limited_ip_{0};
  std::atomic<int64_t> limited_principal_{0};
  std::atomic<int64_t> cache_hits_{0};
  std::atomic<int64_t> cache_misses_{0};
  static size_t Index(SocketKind kind) { return static_cast<size_t>(kind); }
  std::array<std::atomic<int64_t>, 2> sockets_open_{};
  std::array<std::atomic<int64_t>, 2> sockets_refused_{};
  std::atomic<int64_t> connections_open_{0};
  std::atomic<int64_t> connections_refused_total_{0};
  std::atomic<int64_t> connections_refused_address_{0};
  std::atomic<int64_t> read_timeouts_{0};
  std::atomic<int64_t> alert_streams_open_{0};
  std::atomic<int64_t> alert_stream_retries_{0};
  std::atomic<int64_t> messages_pushed_{0};
  std::atomic<int64_t> messages_dropped_{0};
};

}  // namespace livecommerce::gateway
