#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "services/common/admission.h"
#include "services/common/redis_client.h"

namespace livecommerce::common {

// Sends script calls that arrive together to Redis in one pipeline (one write and one read for
// many) from its own thread, and answers each through its callback on that thread. For hot paths
// served by gRPC callback methods: the handler returns at once, nothing blocks gRPC's threads,
// and a storm of small calls costs a few system calls per batch instead of two per call.
// Callbacks must be quick and must not block. The destructor answers what is queued.
// The queue is an AdmissionQueue: a call it cannot take quickly is refused at once (Overloaded,
// its callback run on the caller's thread), and one whose deadline passed while it waited is
// answered DEADLINE_EXCEEDED without reaching Redis.
class RedisScriptBatcher final {
 public:
  using Done = std::function<void(absl::StatusOr<RedisValue>)>;

  explicit RedisScriptBatcher(RedisPool& redis, size_t max_batch = 512,
                              AdmissionOptions admission = AdmissionOptions::Unbounded());
  ~RedisScriptBatcher();
  RedisScriptBatcher(const RedisScriptBatcher&) = delete;
  RedisScriptBatcher& operator=(const RedisScriptBatcher&) = delete;

  // `script` must outlive the call. `deadline`: when the caller stops waiting.
  void Eval(const RedisScript& script, RedisScriptCall call, Done done,
            absl::Time deadline = absl::InfiniteFuture());

 private:
  struct Pending {
    const RedisScript* script;
    RedisScriptCall call;
    Done done;
  };
  void Loop();

  RedisPool& redis_;
  size_t max_batch_;
  std::mutex mu_;
  std::condition_variable ready_;
  AdmissionQueue<Pending> pending_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace livecommerce::common
