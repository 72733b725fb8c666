#pragma once

#include <atomic>
#include <cstdint>

namespace livecommerce::common {

// A bound on the calls of one kind in progress at once, for a path whose work waits in many
// places (a connection pool, other services, row locks) rather than in one queue: by Little's law
// a path that serves R calls a second within its bound B never needs more than R x B of them in
// progress, and more only wait longer. Thread-safe.
class InFlightLimit final {
 public:
  explicit InFlightLimit(int64_t max_in_flight) : max_(max_in_flight) {}

  // Held for a call's duration; admitted() false (and nothing held) when the limit was reached.
  class Slot final {
   public:
    explicit Slot(InFlightLimit& limit)
        : limit_(limit),
          admitted_(limit.in_flight_.fetch_add(1, std::memory_order_relaxed) < limit.max_) {
      if (!admitted_) limit_.in_flight_.fetch_sub(1, std::memory_order_relaxed);
    }
    ~Slot() {
      if (admitted_) limit_.in_flight_.fetch_sub(1, std::memory_order_relaxed);
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    bool admitted() const { return admitted_; }

   private:
    InFlightLimit& limit_;
    bool admitted_;
  };

  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  const int64_t max_;
  std::atomic<int64_t> in_flight_{0};
};

}  // namespace livecommerce::common
