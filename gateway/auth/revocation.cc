#include "gateway/auth/revocation.h"

#include <mutex>

#include "absl/strings/str_cat.h"

namespace livecommerce::gateway {
namespace {
constexpr char kRevokedKey[] = "lc:gateway:revoked";
}

absl::Status RedisRevocationStore::Revoke(const std::string& token_id, absl::Time expires_at) {
  absl::StatusOr<common::RedisValue> reply = redis_.Command(
      {"ZADD", kRevokedKey, absl::StrCat(absl::ToUnixSeconds(expires_at)), token_id});
  return reply.status();
}

absl::StatusOr<std::vector<std::string>> RedisRevocationStore::ListRevoked(absl::Time now) {
  std::string now_s = absl::StrCat(absl::ToUnixSeconds(now));
  absl::StatusOr<std::vector<absl::StatusOr<common::RedisValue>>> replies = redis_.Pipeline({
      {"ZREMRANGEBYSCORE", kRevokedKey, "-inf", absl::StrCat("(", now_s)},
      {"ZRANGEBYSCORE", kRevokedKey, now_s, "+inf"},
  });
  if (!replies.ok()) {
    return replies.status();
  }
  const absl::StatusOr<common::RedisValue>& list = (*replies)[1];
  if (!list.ok()) {
    return list.status();
  }
  std::vector<std::string> ids;
  for (const common::RedisValue& element : list->elements) {
    ids.push_back(element.str);
  }
  return ids;
}

bool RevocationList::IsRevoked(const std::string& token_id) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return revoked_.count(token_id) > 0;
}

absl::Status RevocationList::Refresh(absl::Time now) {
  absl::StatusOr<std::vector<std::string>> ids = store_.ListRevoked(now);
  std::unique_lock<std::shared_mutex> lock(mu_);
  healthy_ = ids.ok();
  if (!ids.ok()) {
    return ids.status();
  }
  revoked_ = std::unordered_set<std::string>(ids->begin(), ids->end());
  return absl::OkStatus();
}

bool RevocationList::healthy() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return healthy_;
}

}  // namespace livecommerce::gateway
