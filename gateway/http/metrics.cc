#include "gateway/http/metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace livecommerce::gateway {

Metrics::Metrics(std::vector<std::string> route_names) : names_(std::move(route_names)) {
  names_.push_back("unmatched");
  stats_ = std::make_unique<RouteStats[]>(names_.size());
}

void Metrics::RecordRequest(size_t route, int http_status, absl::Duration latency) {
  if (route >= names_.size()) route = names_.size() - 1;
  RouteStats& s = stats_[route];
  size_t status_index = kStatuses.size();
  for (size_t i = 0; i < kStatuses.size(); ++i) {
    if (kStatuses[i] == http_status) {
      status_index = i;
      break;
    }
  }
  s.by_status[status_index].fetch_add(1, std::memory_order_relaxed);
  if (http_status >= 400) s.errors.fetch_add(1, std::memory_order_relaxed);
  double seconds = absl::ToDoubleSeconds(latency);
  size_t bucket = kBuckets.size();
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      bucket = i;
      break;
    }
  }
  s.latency_buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  s.latency_sum_us.fetch_add(absl::ToInt64Microseconds(latency), std::memory_order_relaxed);
}

std::string Metrics::Render() const {
  std::string out;
  absl::StrAppend(&out,
                  "# HELP lc_gateway_http_requests_total HTTP requests answered, by route and "
                  "status.\n# TYPE lc_gateway_http_requests_total counter\n");
  for (size_t r = 0; r < names_.size(); ++r) {
    for (size_t i = 0; i <= kStatuses.size(); ++i) {
      int64_t n = stats_[r].by_status[i].load(std::memory_order_relaxed);
      if (n == 0) continue;
      std::string status = i < kStatuses.size() ? absl::StrCat(kStatuses[i]) : "other";
      absl::StrAppend(&out, "lc_gateway_http_requests_total{route=\"", names_[r], "\",status=\"",
                      status, "\"} ", n, "\n");
    }
  }
  absl::StrAppend(&out,
                  "# HELP lc_gateway_http_errors_total HTTP answers with a 4xx or 5xx status, by "
                  "route.\n# TYPE lc_gateway_http_errors_total counter\n");
  for (size_t r = 0; r < names_.size(); ++r) {
    absl::StrAppend(&out, "lc_gateway_http_errors_total{route=\"", names_[r], "\"} ",
                    stats_[r].errors.load(std::memory_order_relaxed), "\n");
  }
  absl::StrAppend(&out,
                  "# HELP lc_gateway_http_request_duration_seconds Time from a request read to "
                  "its answer, by route.\n# TYPE lc_gateway_http_request_duration_seconds "
                  "histogram\n");
  for (size_t r = 0; r < names_.size(); ++r) {
    const RouteStats& s = stats_[r];
    int64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += s.latency_buckets[i].load(std::memory_order_relaxed);
      absl::StrAppend(&out, "lc_gateway_http_request_duration_seconds_bucket{route=\"", names_[r],
                      "\",le=\"", absl::StrFormat("%g", kBuckets[i]), "\"} ", cumulative, "\n");
    }
    cumulative += s.latency_buckets[kBuckets.size()].load(std::memory_order_relaxed);
    absl::StrAppend(&out, "lc_gateway_http_request_duration_seconds_bucket{route=\"", names_[r],
                    "\",le=\"+Inf\"} ", cumulative, "\n");
    absl::StrAppend(
        &out, "lc_gateway_http_request_duration_seconds_sum{route=\"", names_[r], "\"} ",
        absl::StrFormat("%.6f", s.latency_sum_us.load(std::memory_order_relaxed) / 1e6), "\n");
    absl::StrAppend(&out, "lc_gateway_http_request_duration_seconds_count{route=\"", names_[r],
                    "\"} ", cumulative, "\n");
  }
  absl::StrAppend(&out,
                  "# HELP lc_gateway_rate_limited_total Requests refused with 429 by the "
                  "gateway's limits.\n# TYPE lc_gateway_rate_limited_total counter\n",
                  "lc_gateway_rate_limited_total{limit=\"ip\"} ", limited_ip_.load(), "\n",
                  "lc_gateway_rate_limited_total{limit=\"principal\"} ", limited_principal_.load(),
                  "\n");
  absl::StrAppend(&out,
                  "# HELP lc_gateway_cache_lookups_total Lookups in the short-lived read cache."
                  "\n# TYPE lc_gateway_cache_lookups_total counter\n",
                  "lc_gateway_cache_lookups_total{result=\"hit\"} ", cache_hits_.load(), "\n",
                  "lc_gateway_cache_lookups_total{result=\"miss\"} ", cache_misses_.load(), "\n");
  absl::StrAppend(
      &out,
      "# HELP lc_gateway_websockets_open WebSockets open now, by kind (room: a room's "
      "live pushes; alerts: an associate's alerts).\n"
      "# TYPE lc_gateway_websockets_open gauge\n",
      "lc_gateway_websockets_open{kind=\"room\"} ", sockets_open_[0].load(), "\n",
      "lc_gateway_websockets_open{kind=\"alerts\"} ", sockets_open_[1].load(), "\n",
      "# HELP lc_gateway_websockets_refused_total WebSockets refused by the "
      "per-user limit, by kind.\n"
      "# TYPE lc_gateway_websockets_refused_total counter\n",
      "lc_gateway_websockets_refused_total{kind=\"room\"} ", sockets_refused_[0].load(), "\n",
      "lc_gateway_websockets_refused_total{kind=\"alerts\"} ", sockets_refused_[1].load(), "\n",
      "# HELP lc_gateway_websocket_messages_total Messages pushed to WebSockets, and "
      "dropped for slow readers (room sockets only; alerts are never dropped).\n"
      "# TYPE lc_gateway_websocket_messages_total counter\n",
      "lc_gateway_websocket_messages_total{result=\"sent\"} ", messages_pushed_.load(), "\n",
      "lc_gateway_websocket_messages_total{result=\"dropped\"} ", messages_dropped_.load(), "\n");
  absl::StrAppend(&out,
                  "# HELP lc_gateway_alert_streams_open AttributionService.WatchAlerts calls open "
                  "now (one per alerts WebSocket while its stream is up).\n"
                  "# TYPE lc_gateway_alert_streams_open gauge\n",
                  "lc_gateway_alert_streams_open ", alert_streams_open_.load(), "\n",
                  "# HELP lc_gateway_alert_stream_retries_total WatchAlerts calls reopened after "
                  "the stream ended or failed.\n"
                  "# TYPE lc_gateway_alert_stream_retries_total counter\n",
                  "lc_gateway_alert_stream_retries_total ", alert_stream_retries_.load(), "\n");
  absl::StrAppend(
      &out,
      "# HELP lc_gateway_connections_open TCP connections open now (HTTP and WebSocket).\n"
      "# TYPE lc_gateway_connections_open gauge\n",
      "lc_gateway_connections_open ", connections_open_.load(), "\n",
      "# HELP lc_gateway_connections_refused_total Connections closed at accept by the total "
      "or the per-address limit.\n"
      "# TYPE lc_gateway_connections_refused_total counter\n",
      "lc_gateway_connections_refused_total{limit=\"total\"} ", connections_refused_total_.load(),
      "\n", "lc_gateway_connections_refused_total{limit=\"address\"} ",
      connections_refused_address_.load(), "\n",
      "# HELP lc_gateway_read_timeouts_total Connections cut for not sending a whole request "
      "within the read deadline (slow clients).\n"
      "# TYPE lc_gateway_read_timeouts_total counter\n",
      "lc_gateway_read_timeouts_total ", read_timeouts_.load(), "\n");
  return out;
}

}  // namespace livecommerce::gateway
