#include "gateway/auth/authenticator.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace livecommerce::gateway {

absl::StatusOr<std::shared_ptr<const AuthContext>> Authenticator::Authenticate(
    absl::string_view token, absl::Time now) {
  constexpr size_t kMaxRemembered = 200000;
  std::shared_ptr<const AuthContext> known;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = verified_.find(std::string(token));
    if (it != verified_.end()) known = it->second;
  }
  if (known == nullptr) {
    absl::StatusOr<SessionClaims> claims = tokens_.Verify(token, now);
    if (!claims.ok()) {
      return claims.status();
    }
    auto context = std::make_shared<AuthContext>();
    context->claims = *std::move(claims);
    context->encoded_principal =
        principals_.Encode(common::Principal{context->claims.role, context->claims.brand_id,
                                             context->claims.subject, context->claims.expires_at});
    std::lock_guard<std::mutex> lock(mu_);
    if (verified_.size() >= kMaxRemembered) verified_.clear();
    verified_.emplace(std::string(token), context);
    known = std::move(context);
  }
  if (known->claims.expires_at <= now) {
    return absl::UnauthenticatedError("token: expired");
  }
  if (revoked_.IsRevoked(known->claims.token_id)) {
    return absl::UnauthenticatedError("token: revoked");
  }
  return known;
}

absl::string_view BearerToken(absl::string_view authorization) {
  authorization = absl::StripAsciiWhitespace(authorization);
  if (authorization.size() < 7 || !absl::StartsWithIgnoreCase(authorization, "bearer ")) {
    return {};
  }
  return absl::StripAsciiWhitespace(authorization.substr(7));
}

}  // namespace livecommerce::gateway
