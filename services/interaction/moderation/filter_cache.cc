#include "services/interaction/moderation/filter_cache.h"

#include "absl/strings/str_cat.h"

namespace livecommerce::interaction::moderation {

absl::StatusOr<BrandFilter> FilterCache::Get(const std::string& brand_id) {
  absl::Time now = clock_.Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(brand_id);
    if (it != entries_.end() && it->second.current.filter != nullptr &&
        now - it->second.checked_at < refresh_) {
      return it->second.current;
    }
  }
  absl::StatusOr<BrandModeration> moderation = store_.Moderation(brand_id);
  if (!moderation.ok()) return moderation.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry& entry = entries_[brand_id];
    if (entry.current.filter != nullptr &&
        entry.current.moderation.words_version == moderation->words_version) {
      entry.current.moderation = *moderation;
      entry.checked_at = now;
      return entry.current;
    }
  }
  // Built outside the lock: a list of thousands of words takes milliseconds, and other brands'
  // comments must not wait for it. Two callers may both build; either result is the same list.
  absl::StatusOr<BlockedWordList> list = store_.BlockedWords(brand_id);
  if (!list.ok()) return list.status();
  absl::StatusOr<WordFilter> built = WordFilter::Build(list->words);
  if (!built.ok()) {
    return absl::InternalError(absl::StrCat("blocked words: ", built.status().message()));
  }
  BrandFilter fresh{std::make_shared<const WordFilter>(*std::move(built)), list->moderation};
  std::lock_guard<std::mutex> lock(mu_);
  Entry& entry = entries_[brand_id];
  if (entry.current.filter == nullptr ||
      entry.current.moderation.words_version <= fresh.moderation.words_version) {
    entry.current = fresh;
  }
  entry.checked_at = now;
  return entry.current;
}

void FilterCache::Invalidate(const std::string& brand_id) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(brand_id);
}

}  // namespace livecommerce::interaction::moderation
