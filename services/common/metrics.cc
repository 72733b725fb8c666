#include "services/common/metrics.h"

#include <exception>
#include <mutex>
#include <sstream>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "prometheus/exposer.h"
#include "prometheus/text_serializer.h"
#include "services/common/batcher_stats.h"
#include "services/common/mysql_client.h"
#include "services/common/redis_client.h"
#include "services/common/rpc_interceptor.h"

namespace livecommerce::common {
namespace {

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

void AddSample(prometheus::MetricFamily& family,
               std::vector<prometheus::ClientMetric::Label> labels, double value) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  if (family.type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
}

}  // namespace

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
  return kBuckets;
}

std::string SerializeMetrics(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

// The scrape-time families: a Collectable of its own, served beside the registry.
class ServiceMetrics::Callbacks final : public prometheus::Collectable {
 public:
  void Add(std::function<std::vector<prometheus::MetricFamily>()> collect) {
    std::lock_guard<std::mutex> lock(mu_);
    collectors_.push_back(std::move(collect));
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families;
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& collect : collectors_) {
      for (prometheus::MetricFamily& family : collect()) families.push_back(std::move(family));
    }
    return families;
  }

 private:
  // A standard mutex, not absl::Mutex: Debian's absl is built without ThreadSanitizer, which
  // would not see an absl::Mutex's ordering (scripts/tsan).
  mutable std::mutex mu_;
  std::vector<std::function<std::vector<prometheus::MetricFamily>()>> collectors_
      ABSL_GUARDED_BY(mu_);
};

ServiceMetrics::ServiceMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      callbacks_(std::make_shared<Callbacks>()),
      rpc_(std::make_unique<RpcMetrics>(*registry_)) {
  // Every service has them; they read two process-wide atomics.
  AddCollector([] {
    auto family = Family("lc_batcher_queued",
                         "Items waiting in the process's group-commit batchers, by kind.",
                         prometheus::MetricType::Gauge);
    AddSample(family, {{"kind", "mysql"}},
              static_cast<double>(MysqlBatcherQueued().load(std::memory_order_relaxed)));
    AddSample(family, {{"kind", "redis"}},
              static_cast<double>(RedisBatcherQueued().load(std::memory_order_relaxed)));
    return std::vector<prometheus::MetricFamily>{std::move(family)};
  });
}

ServiceMetrics::~ServiceMetrics() = default;

void ServiceMetrics::AddCallbackGauge(const std::string& name, const std::string& help,
                                      std::function<double()> read) {
  AddCollector([name, help, read = std::move(read)] {
    auto family = Family(name, help, prometheus::MetricType::Gauge);
    AddSample(family, {}, read());
    return std::vector<prometheus::MetricFamily>{std::move(family)};
  });
}

void ServiceMetrics::AddCollector(std::function<std::vector<prometheus::MetricFamily>()> collect) {
  callbacks_->Add(std::move(collect));
}

void ServiceMetrics::ExportPools(RedisPool* redis, MysqlPool* mysql) {
  AddCollector([redis, mysql] {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> families;
    families.push_back(
        Family("lc_pool_connections", "Connections a pool may hold, by pool.", MetricType::Gauge));
    families.push_back(Family("lc_pool_connections_in_use", "Connections leased now, by pool.",
                              MetricType::Gauge));
    families.push_back(Family("lc_pool_waits_total",
                              "Leases that found no free connection and waited, by pool.",
                              MetricType::Counter));
    families.push_back(Family("lc_pool_timeouts_total",
                              "Leases refused because no connection came free in time, by pool.",
                              MetricType::Counter));
    families.push_back(Family("lc_pool_wait_seconds_total",
                              "Time spent waiting for a free connection, by pool.",
                              MetricType::Counter));
    auto add = [&](const char* pool, const PoolStats& s) {
      std::vector<prometheus::ClientMetric::Label> labels = {{"pool", pool}};
      AddSample(families[0], labels, static_cast<double>(s.size));
      AddSample(families[1], labels, static_cast<double>(s.in_use));
      AddSample(families[2], labels, static_cast<double>(s.waits));
      AddSample(families[3], labels, static_cast<double>(s.timeouts));
      AddSample(families[4], labels, s.wait_seconds);
    };
    if (redis != nullptr) add("redis", redis->Stats());
    if (mysql != nullptr) add("mysql", mysql->Stats());
    return families;
  });
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
ServiceMetrics::NewInterceptorFactory(bool access_log) {
  return std::make_unique<RpcInterceptorFactory>(*rpc_, access_log);
}

absl::StatusOr<std::unique_ptr<prometheus::Exposer>> ServiceMetrics::Expose(
    const std::string& address) {
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("LC_METRICS_ADDR: cannot listen on ", address, ": ", e.what()));
  }
  exposer->RegisterCollectable(registry_);
  exposer->RegisterCollectable(callbacks_);
  return exposer;
}

std::string ServiceMetrics::Text() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (prometheus::MetricFamily& family : callbacks_->Collect()) {
    families.push_back(std::move(family));
  }
  return SerializeMetrics(families);
}

}  // namespace livecommerce::common
