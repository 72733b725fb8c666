#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace livecommerce::common {

// Runs `task` on its own thread about once every `period` until stopped (background jobs: peak
// sampling, sweepers). Stop() wakes the thread at once and joins it; the destructor stops it.
class PeriodicTask final {
 public:
  PeriodicTask(absl::Duration period, std::function<void()> task)
      : period_(period), task_(std::move(task)) {}
  ~PeriodicTask() { Stop(); }
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  void Start() {
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!stop_) {
        lock.unlock();
        task_();
        lock.lock();
        wake_.wait_for(lock, std::chrono::microseconds(absl::ToInt64Microseconds(period_)),
                       [this] { return stop_; });
      }
    });
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  absl::Duration period_;
  std::function<void()> task_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace livecommerce::common
