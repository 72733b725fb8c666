#include "services/common/redis_batcher.h"

#include <map>
#include <vector>

#include "services/common/batcher_stats.h"

namespace livecommerce::common {

RedisScriptBatcher::RedisScriptBatcher(RedisPool& redis, size_t max_batch,
                                       AdmissionOptions admission)
    : redis_(redis),
      max_batch_(max_batch),
      pending_(admission, "redis"),
      thread_([this] { Loop(); }) {}

RedisScriptBatcher::~RedisScriptBatcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  ready_.notify_all();
  thread_.join();
}

void RedisScriptBatcher::Eval(const RedisScript& script, RedisScriptCall call, Done done,
                              absl::Time deadline) {
  Pending pending{&script, std::move(call), std::move(done)};
  absl::Status admitted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    admitted = pending_.Push(pending, deadline, absl::Now());
  }
  if (!admitted.ok()) {
    pending.done(std::move(admitted));
    return;
  }
  RedisBatcherQueued().fetch_add(1, std::memory_order_relaxed);
  ready_.notify_one();
}

void RedisScriptBatcher::Loop() {
  for (;;) {
    std::vector<Pending> batch;
    std::vector<Pending> expired;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ready_.wait(lock, [this] { return stop_ || !pending_.empty(); });
      if (pending_.empty()) return;
      batch = pending_.Take(max_batch_, absl::Now(), &expired);
    }
    RedisBatcherQueued().fetch_sub(static_cast<int64_t>(batch.size() + expired.size()),
                                   std::memory_order_relaxed);
    for (Pending& p : expired) p.done(DeadlinePassed("redis"));
    // One pipeline per script in the batch (usually one script).
    std::map<const RedisScript*, std::vector<size_t>> by_script;
    for (size_t i = 0; i < batch.size(); ++i) {
      by_script[batch[i].script].push_back(i);
    }
    for (const auto& [script, members] : by_script) {
      std::vector<RedisScriptCall> calls;
      calls.reserve(members.size());
      for (size_t i : members) calls.push_back(std::move(batch[i].call));
      auto replies = redis_.EvalMany(*script, calls);
      for (size_t j = 0; j < members.size(); ++j) {
        Pending& p = batch[members[j]];
        p.done(replies.ok() ? std::move((*replies)[j])
                            : absl::StatusOr<RedisValue>(replies.status()));
      }
    }
  }
}

}  // namespace livecommerce::common
