#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/admission.h"
#include "services/common/batcher_stats.h"
#include "services/common/mysql_client.h"

namespace livecommerce::common {

// Group commit: writes of one kind that arrive together share one MySQL transaction, and the
// batch function can write them with one multi-row statement per table. Under load a storm of
// small transactions becomes a few statements and one commit per batch.
//
// Each of `writers` threads takes whatever is queued (up to `max_batch` items) and runs `apply`
// on the batch inside a transaction; while one batch commits, the next gathers and starts. `apply`
// must be repeatable: the transaction is retried on deadlock, and when a batch fails each of its
// items is tried again alone, so one bad item fails only itself. `apply` sets each item's own
// outcome (an item can be refused while the others commit); the status passed to `done` is the
// transaction's.
//
// The queue admits everything unless given AdmissionOptions: a batcher at the start of a flow
// (a checkout's first write) should refuse what it cannot take quickly (Overloaded), while one
// that continues accepted work must not. An item whose deadline passed while it waited is
// answered DEADLINE_EXCEEDED without a transaction.
template <typename Item>
class MysqlBatcher final {
 public:
  using Apply = std::function<absl::Status(MysqlConnection&, const std::vector<Item*>&)>;
  using Done = std::function<void(absl::Status)>;

  MysqlBatcher(MysqlPool& pool, Apply apply, int writers = 1, size_t max_batch = 64,
               AdmissionOptions admission = AdmissionOptions::Unbounded())
      : pool_(pool), apply_(std::move(apply)), max_batch_(max_batch), queue_(admission, "mysql") {
    for (int i = 0; i < writers; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~MysqlBatcher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    ready_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  MysqlBatcher(const MysqlBatcher&) = delete;
  MysqlBatcher& operator=(const MysqlBatcher&) = delete;

  // `item` must live until `done` is called (on the writer thread; keep it quick), or on this
  // thread at once when the queue refuses it.
  void Submit(Item* item, Done done, absl::Time deadline = absl::InfiniteFuture()) {
    Pending pending{item, std::move(done)};
    absl::Status admitted;
    {
      std::lock_guard<std::mutex> lock(mu_);
      admitted = queue_.Push(pending, deadline, absl::Now());
    }
    if (!admitted.ok()) {
      pending.done(std::move(admitted));
      return;
    }
    MysqlBatcherQueued().fetch_add(1, std::memory_order_relaxed);
    ready_.notify_one();
  }

  // Blocks until the item's transaction has committed or failed (or was refused).
  absl::Status Run(Item& item, absl::Time deadline = absl::InfiniteFuture()) {
    std::mutex mu;
    std::condition_variable cv;
    bool finished = false;
    absl::Status result;
    Submit(
        &item,
        [&](absl::Status status) {
          std::lock_guard<std::mutex> lock(mu);
          result = std::move(status);
          finished = true;
          cv.notify_one();
        },
        deadline);
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return finished; });
    return result;
  }

 private:
  struct Pending {
    Item* item;
    Done done;
  };

  void Loop() {
    for (;;) {
      std::vector<Pending> batch;
      std::vector<Pending> expired;
      {
        std::unique_lock<std::mutex> lock(mu_);
        ready_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        batch = queue_.Take(max_batch_, absl::Now(), &expired);
      }
      MysqlBatcherQueued().fetch_sub(static_cast<int64_t>(batch.size() + expired.size()),
                                     std::memory_order_relaxed);
      for (Pending& p : expired) p.done(DeadlinePassed("mysql"));
      if (batch.empty()) continue;
      std::vector<Item*> items;
      for (Pending& p : batch) items.push_back(p.item);
      absl::Status status =
          pool_.InTransaction([&](MysqlConnection& c) { return apply_(c, items); });
      if (status.ok() || batch.size() == 1) {
        for (Pending& p : batch) p.done(status);
        continue;
      }
      for (Pending& p : batch) {
        std::vector<Item*> one{p.item};
        p.done(pool_.InTransaction([&](MysqlConnection& c) { return apply_(c, one); }));
      }
    }
  }

  MysqlPool& pool_;
  Apply apply_;
  size_t max_batch_;
  std::mutex mu_;
  std::condition_variable ready_;
  AdmissionQueue<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;  // last: started once everything above exists
};

// Multi-row statements are prepared per row count; splitting a batch into power-of-two chunks
// keeps the number of distinct statements per connection small. Calls fn(offset, count) for
// consecutive chunks covering [0, n).
inline void ForEachChunk(size_t n, const std::function<void(size_t, size_t)>& fn) {
  size_t offset = 0;
  while (offset < n) {
    size_t count = 1;
    while (count * 2 <= n - offset && count * 2 <= 64) count *= 2;
    fn(offset, count);
    offset += count;
  }
}

// "(?, ?, ?), (?, ?, ?)" for `rows` rows of `columns` placeholders; `tail` (", NOW()") ends
// each row.
inline std::string Placeholders(size_t rows, size_t columns, const std::string& tail = "") {
  std::string one = "(";
  for (size_t i = 0; i < columns; ++i) absl::StrAppend(&one, i == 0 ? "?" : ", ?");
  absl::StrAppend(&one, tail, ")");
  std::string all;
  for (size_t i = 0; i < rows; ++i) absl::StrAppend(&all, i == 0 ? "" : ", ", one);
  return all;
}

}  // namespace livecommerce::common
