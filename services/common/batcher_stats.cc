#include "services/common/batcher_stats.h"

namespace livecommerce::common {

std::atomic<int64_t>& MysqlBatcherQueued() {
  static std::atomic<int64_t> queued{0};
  return queued;
}

std::atomic<int64_t>& RedisBatcherQueued() {
  static std::atomic<int64_t> queued{0};
  return queued;
}

}  // namespace livecommerce::common
