#pragma once

#include <cstdint>

namespace livecommerce::common {

// A connection pool's occupancy, read cheaply (one lock) at scrape time. The totals only grow.
struct PoolStats {
  int64_t size = 0;         // connections the pool may hold
  int64_t in_use = 0;       // leased now
  int64_t waits = 0;        // leases that found no free connection and had to wait
  int64_t timeouts = 0;     // leases refused: no connection came free in time (UNAVAILABLE)
  double wait_seconds = 0;  // time spent waiting for a connection, in all

  PoolStats& operator+=(const PoolStats& other) {
    size += other.size;
    in_use += other.in_use;
    waits += other.waits;
    timeouts += other.timeouts;
    wait_seconds += other.wait_seconds;
    return *this;
  }
};

}  // namespace livecommerce::common
