#pragma once

#include <cstdint>
#include <vector>

namespace livecommerce::common {

// Divides `total` (>= 0) in proportion to `weights` (each >= 0) by the largest remainder method:
// every share is the floor or the ceiling of its exact quota, the shares sum to `total`, and equal
// remainders favour the earlier index. All weights zero: everything to index 0 (empty: nothing).
std::vector<int64_t> Apportion(int64_t total, const std::vector<int64_t>& weights);

// Adds one to `count` of `shares`, to those with the largest `remainders` (earlier index on
// ties): the last step of a largest-remainder split.
void GiveLeftover(std::vector<int64_t>& shares, const std::vector<__int128>& remainders,
                  int64_t count);

}  // namespace livecommerce::common
