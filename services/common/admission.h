#pragma once

// Load a service cannot carry quickly is refused at once, never queued for seconds
// (docs/RELIABILITY.md, "Overload"):
// - every queue in front of Redis or MySQL is an AdmissionQueue: bounded in length and in the
//   age of its oldest item, so what it accepts waits little and what it refuses costs nothing;
// - an item whose caller's deadline has passed is dropped before it reaches Redis or MySQL;
// - the refusal is Overloaded(): RESOURCE_EXHAUSTED with a retry hint, which callers tell apart
//   from a business limit (over gRPC the hint travels in the trailing metadata
//   `grpc-retry-pushback-ms` and in the status details; the gateway answers 503 with
//   Retry-After);
// - a call's deadline follows it: while a handler's body runs (HandlerFrame::Run) the thread's
//   CurrentDeadline is the incoming call's, and ServiceCallContext never gives the next hop longer
//   than that.

#include <cstddef>
#include <deque>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/status.h"

namespace grpc {
class ServerContextBase;
}  // namespace grpc

namespace livecommerce::common {

// The deadline of the call whose handler this thread is running (absl::InfiniteFuture() when
// none), set by HandlerFrame::Run for the body.
absl::Time CurrentDeadline();
void SetCurrentDeadline(absl::Time deadline);
// A server call's deadline; absl::InfiniteFuture() when the caller set none.
absl::Time DeadlineOf(const grpc::ServerContextBase& context);

struct AdmissionOptions {
  // Refused beyond this many waiting items.
  size_t max_queued = 10000;
  // Refused while the oldest waiting item has waited longer than this: the queue is not being
  // drained as fast as it fills, and a newcomer would wait at least as long.
  absl::Duration max_queue_delay = absl::Milliseconds(10);
  // The hint given with a refusal.
  absl::Duration retry_after = absl::Milliseconds(200);

  // No bound: every item is admitted (tests, and queues that continue accepted work).
  static AdmissionOptions Unbounded() {
    AdmissionOptions all;
    all.max_queued = std::numeric_limits<size_t>::max();
    all.max_queue_delay = absl::InfiniteDuration();
    return all;
  }
};

// The admission of a process's Redis and MySQL queues from the environment:
// LC_QUEUE_MAX_DELAY_MS (the oldest item's wait beyond which newcomers are refused; default
// `default_delay`), LC_QUEUE_MAX_ITEMS (default 10000) and LC_RETRY_AFTER_MS (the hint, 200).
absl::StatusOr<AdmissionOptions> LoadAdmissionOptions(absl::Duration default_delay);

// A bounded FIFO of work waiting for a batcher's thread. Not thread-safe: its owner guards it with
// the mutex it already holds around its queue.
template <typename T>
class AdmissionQueue final {
 public:
  // `what` names the queue in refusals ("flash stock", "the presence store").
  AdmissionQueue(AdmissionOptions options, std::string what)
      : options_(options), what_(std::move(what)) {}

  // Moves `item` (due by `deadline`) into the queue, or refuses it with Overloaded() and leaves
  // it with the caller, untouched, to answer.
  absl::Status Push(T& item, absl::Time deadline, absl::Time now) {
    if (queue_.size() >= options_.max_queued ||
        (!queue_.empty() && now - queue_.front().queued_at > options_.max_queue_delay)) {
      return Overloaded(what_, options_.retry_after);
    }
    queue_.push_back(Entry{std::move(item), deadline, now});
    return absl::OkStatus();
  }

  // Takes up to `max` items in order. Those whose deadline has passed by `now` go to `*expired`
  // instead (they do not count against `max`): their callers have given up.
  std::vector<T> Take(size_t max, absl::Time now, std::vector<T>* expired) {
    std::vector<T> taken;
    while (!queue_.empty() && taken.size() < max) {
      Entry& e = queue_.front();
      if (e.deadline < now) {
        expired->push_back(std::move(e.item));
      } else {
        taken.push_back(std::move(e.item));
      }
      queue_.pop_front();
    }
    return taken;
  }

  bool empty() const { return queue_.empty(); }
  size_t size() const { return queue_.size(); }

 private:
  struct Entry {
    T item;
    absl::Time deadline;
    absl::Time queued_at;
  };
  AdmissionOptions options_;
  std::string what_;
  std::deque<Entry> queue_;
};

// The answer for an item dropped because its caller's deadline passed while it waited.
absl::Status DeadlinePassed(absl::string_view what);

}  // namespace livecommerce::common
