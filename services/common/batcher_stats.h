#pragma once

#include <atomic>
#include <cstdint>

namespace livecommerce::common {

// Items waiting in the process's batchers for a writer to take them: every MysqlBatcher's queue,
// and every RedisScriptBatcher's, added up. A gauge for metrics; process-wide because the
// batchers are private to the stores that own them. One relaxed atomic add per item.
std::atomic<int64_t>& MysqlBatcherQueued();
std::atomic<int64_t>& RedisBatcherQueued();

}  // namespace livecommerce::common
