#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"

namespace grpc::experimental {
class ServerInterceptorFactoryInterface;
}
namespace prometheus {
class Exposer;
}

namespace livecommerce::common {

class MysqlPool;
class RedisPool;
class RpcMetrics;

// Upper bounds, in seconds, of the RPC and HTTP latency histograms: 0.5 ms to 5 s.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

// One service's Prometheus metrics: a registry (the gRPC interceptor's families and whatever the
// service adds), plus gauges read at scrape time from callbacks (pools, queues, outbox lag).
// Thread-safe. Must outlive the server whose interceptor it made and the exposer serving it.
class ServiceMetrics final {
 public:
  ServiceMetrics();
  ~ServiceMetrics();
  ServiceMetrics(const ServiceMetrics&) = delete;
  ServiceMetrics& operator=(const ServiceMetrics&) = delete;

  prometheus::Registry& registry() { return *registry_; }

  // A gauge `name` whose value `read` returns at each scrape. `read` runs on the exposer's thread
  // while the exposer lives: it must be thread-safe and quick, and what it reads must outlive the
  // exposer (GrpcServer owns it: declare the server after what the callback reads).
  void AddCallbackGauge(const std::string& name, const std::string& help,
                        std::function<double()> read);
  // Families built at each scrape (several samples, or several families from one read).
  void AddCollector(std::function<std::vector<prometheus::MetricFamily>()> collect);
  // Gauges and counters of the Redis and MySQL pools (either may be null), labelled
  // pool="redis" / "mysql": lc_pool_connections, lc_pool_connections_in_use,
  // lc_pool_waits_total, lc_pool_timeouts_total, lc_pool_wait_seconds_total.
  void ExportPools(RedisPool* redis, MysqlPool* mysql);

  // The gRPC server interceptor that counts and times every RPC, keeps the caller's request id
  // for the handler's thread, and (when `access_log`) logs one line per RPC. One per server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewInterceptorFactory(
      bool access_log);

  // Serves every metric over HTTP at `address` ("host:port") under /metrics. UNAVAILABLE naming
  // LC_METRICS_ADDR when it cannot listen there.
  absl::StatusOr<std::unique_ptr<prometheus::Exposer>> Expose(const std::string& address);

  // Every metric in Prometheus' text format, as a scrape sees it.
  std::string Text() const;

 private:
  class Callbacks;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<Callbacks> callbacks_;
  std::unique_ptr<RpcMetrics> rpc_;
};

// `families` (a registry's Collect()) in Prometheus' text format.
std::string SerializeMetrics(const std::vector<prometheus::MetricFamily>& families);

}  // namespace livecommerce::common
