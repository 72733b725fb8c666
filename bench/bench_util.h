#pragma once

// Shared by the load generators.

#include <algorithm>
#include <cstdint>
#include <vector>

namespace livecommerce::bench {

// The p-quantile (0..1) of latencies in microseconds, in milliseconds. Reorders `micros`.
inline double PercentileMs(std::vector<uint32_t>& micros, double p) {
  if (micros.empty()) return 0;
  size_t k =
      std::min(micros.size() - 1, static_cast<size_t>(p * static_cast<double>(micros.size())));
  std::nth_element(micros.begin(), micros.begin() + static_cast<long>(k), micros.end());
  return micros[k] / 1000.0;
}

}  // namespace livecommerce::bench
