#include "gateway/http/metrics.h"

#include "absl/strings/str_cat.h"
#include "services/common/config.h"
#include "services/common/log_format.h"
#include "services/common/metrics.h"
#include "services/common/request_id.h"

namespace livecommerce::gateway {
namespace {

template <typename Builder>
auto& Register(Builder builder, const char* name, const char* help,
               prometheus::Registry& registry) {
  return builder.Name(name).Help(help).Register(registry);
}

}  // namespace

Metrics::Metrics(std::vector<std::string> route_names)
    : registry_(std::make_shared<prometheus::Registry>()), names_(std::move(route_names)) {
  names_.push_back("unmatched");
  stats_ = std::make_unique<RouteStats[]>(names_.size());
  prometheus::Registry& r = *registry_;
  requests_ = &Register(prometheus::BuildCounter(), "lc_gateway_http_requests_total",
                        "HTTP requests answered, by route and status.", r);
  auto& errors = Register(prometheus::BuildCounter(), "lc_gateway_http_errors_total",
                          "HTTP answers with a 4xx or 5xx status, by route.", r);
  auto& latency = Register(prometheus::BuildHistogram(), "lc_gateway_http_request_duration_seconds",
                           "Time from a request read to its answer, by route.", r);
  for (size_t i = 0; i < names_.size(); ++i) {
    stats_[i].errors = &errors.Add({{"route", names_[i]}});
    stats_[i].latency = &latency.Add({{"route", names_[i]}}, common::LatencyBuckets());
  }
  auto& limited = Register(prometheus::BuildCounter(), "lc_gateway_rate_limited_total",
                           "Requests refused with 429 by the gateway's limits.", r);
  limited_ip_ = &limited.Add({{"limit", "ip"}});
  limited_principal_ = &limited.Add({{"limit", "principal"}});
  auto& cache = Register(prometheus::BuildCounter(), "lc_gateway_cache_lookups_total",
                         "Lookups in the short-lived read cache.", r);
  cache_hits_ = &cache.Add({{"result", "hit"}});
  cache_misses_ = &cache.Add({{"result", "miss"}});
  auto& sockets = Register(prometheus::BuildGauge(), "lc_gateway_websockets_open",
                           "WebSockets open now, by kind (room: a room's live pushes; alerts: an "
                           "associate's alerts).",
                           r);
  sockets_open_ = {&sockets.Add({{"kind", "room"}}), &sockets.Add({{"kind", "alerts"}})};
  auto& refused = Register(prometheus::BuildCounter(), "lc_gateway_websockets_refused_total",
                           "WebSockets refused by the per-user limit, by kind.", r);
  sockets_refused_ = {&refused.Add({{"kind", "room"}}), &refused.Add({{"kind", "alerts"}})};
  auto& messages = Register(prometheus::BuildCounter(), "lc_gateway_websocket_messages_total",
                            "Messages pushed to WebSockets, and dropped for slow readers (room "
                            "sockets only; alerts are never dropped).",
                            r);
  messages_pushed_ = &messages.Add({{"result", "sent"}});
  messages_dropped_ = &messages.Add({{"result", "dropped"}});
  alert_streams_open_ =
      &Register(prometheus::BuildGauge(), "lc_gateway_alert_streams_open",
                "AttributionService.WatchAlerts calls open now (one per alerts WebSocket while "
                "its stream is up).",
                r)
           .Add({});
  alert_stream_retries_ =
      &Register(prometheus::BuildCounter(), "lc_gateway_alert_stream_retries_total",
                "WatchAlerts calls reopened after the stream ended or failed.", r)
           .Add({});
  chat_entries_ = &Register(prometheus::BuildCounter(), "lc_gateway_chat_entries_total",
                            "Entries read from the rooms' chat streams in Redis.", r)
                       .Add({});
  chat_folded_ =
      &Register(prometheus::BuildCounter(), "lc_gateway_chat_folded_total",
                "Viewers' comments left out of viewer frames because a room was busier than a "
                "viewer can read (counted once per frame they were folded from).",
                r)
           .Add({});
  auto& chat_messages =
      Register(prometheus::BuildCounter(), "lc_gateway_chat_client_messages_total",
               "Comments and like batches sent on room WebSockets, by the service's answer.", r);
  chat_accepted_ = &chat_messages.Add({{"result", "accepted"}});
  chat_refused_ = &chat_messages.Add({{"result", "refused"}});
  connections_open_ = &Register(prometheus::BuildGauge(), "lc_gateway_connections_open",
                                "TCP connections open now (HTTP and WebSocket).", r)
                           .Add({});
  auto& connections_refused =
      Register(prometheus::BuildCounter(), "lc_gateway_connections_refused_total",
               "Connections closed at accept by the total or the per-address limit.", r);
  connections_refused_total_ = &connections_refused.Add({{"limit", "total"}});
  connections_refused_address_ = &connections_refused.Add({{"limit", "address"}});
  read_timeouts_ = &Register(prometheus::BuildCounter(), "lc_gateway_read_timeouts_total",
                             "Connections cut for not sending a whole request within the read "
                             "deadline (slow clients).",
                             r)
                        .Add({});
  absl::StatusOr<bool> access_log = common::EnvBool("LC_ACCESS_LOG", true);
  if (!access_log.ok()) {
    spdlog::warn("{}: the access log stays on", access_log.status().message());
  }
  access_log_ = access_log.value_or(true);
}

Metrics::~Metrics() = default;

prometheus::Counter& Metrics::StatusCounter(size_t route, size_t status_index) {
  std::atomic<prometheus::Counter*>& slot = stats_[route].by_status[status_index];
  prometheus::Counter* counter = slot.load(std::memory_order_acquire);
  if (counter == nullptr) {
    // Family::Add returns the existing child for the same labels, so a race only repeats it.
    std::string status =
        status_index < kStatuses.size() ? absl::StrCat(kStatuses[status_index]) : "other";
    counter = &requests_->Add({{"route", names_[route]}, {"status", status}});
    slot.store(counter, std::memory_order_release);
  }
  return *counter;
}

void Metrics::RecordRequest(size_t route, int http_status, absl::Duration latency,
                            absl::string_view request_id) {
  if (route >= names_.size()) route = names_.size() - 1;
  RouteStats& s = stats_[route];
  size_t status_index = kStatuses.size();
  for (size_t i = 0; i < kStatuses.size(); ++i) {
    if (kStatuses[i] == http_status) {
      status_index = i;
      break;
    }
  }
  StatusCounter(route, status_index).Increment();
  if (http_status >= 400) s.errors->Increment();
  double seconds = absl::ToDoubleSeconds(latency);
  s.latency->Observe(seconds);
  if (access_log_) {
    // The id through the log pattern, like the services' lines: one grep finds them all.
    common::ScopedRequestId scoped(request_id);
    spdlog::info("http {} {} {:.2f}ms", names_[route], http_status, seconds * 1000);
  }
}

std::string Metrics::Render() const { return common::SerializeMetrics(registry_->Collect()); }

}  // namespace livecommerce::gateway
