#include "services/common/money.h"

#include <algorithm>
#include <numeric>

namespace livecommerce::common {

void GiveLeftover(std::vector<int64_t>& shares, const std::vector<__int128>& remainders,
                  int64_t count) {
  std::vector<size_t> order(shares.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return remainders[a] > remainders[b]; });
  for (int64_t k = 0; k < count && k < static_cast<int64_t>(order.size()); ++k) {
    ++shares[order[static_cast<size_t>(k)]];
  }
}

std::vector<int64_t> Apportion(int64_t total, const std::vector<int64_t>& weights) {
  std::vector<int64_t> shares(weights.size(), 0);
  if (weights.empty()) return shares;
  __int128 sum = 0;
  for (int64_t w : weights) sum += w;
  if (sum <= 0) {
    shares[0] = total;
    return shares;
  }
  std::vector<__int128> remainders(weights.size());
  int64_t given = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    __int128 exact = static_cast<__int128>(total) * weights[i];
    shares[i] = static_cast<int64_t>(exact / sum);
    remainders[i] = exact % sum;
    given += shares[i];
  }
  GiveLeftover(shares, remainders, total - given);
  return shares;
}

}  // namespace livecommerce::common
