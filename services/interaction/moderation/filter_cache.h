#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/interaction/moderation/word_filter.h"
#include "services/interaction/store/interaction_store.h"

namespace livecommerce::interaction::moderation {

// A brand's filter and settings as the service uses them for one comment.
struct BrandFilter {
  std::shared_ptr<const WordFilter> filter;
  BrandModeration moderation;
};

// The built WordFilter of each brand, shared by every call. A brand's list version is read from
// the store at most every `refresh` (the list itself only when the version moved), so a change on
// another replica takes effect within `refresh`; Invalidate makes this replica's own change
// effective at once. Thread-safe: a filter is immutable, swapped as a whole.
class FilterCache final {
 public:
  FilterCache(InteractionStore& store, const common::Clock& clock, absl::Duration refresh)
      : store_(store), clock_(clock), refresh_(refresh) {}

  // The brand's current filter. Store errors pass through (UNAVAILABLE ...); a stored list the
  // filter refuses (it was validated when set) is INTERNAL.
  absl::StatusOr<BrandFilter> Get(const std::string& brand_id);
  void Invalidate(const std::string& brand_id);

 private:
  struct Entry {
    BrandFilter current;
    absl::Time checked_at = absl::InfinitePast();
  };

  InteractionStore& store_;
  const common::Clock& clock_;
  const absl::Duration refresh_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace livecommerce::interaction::moderation
