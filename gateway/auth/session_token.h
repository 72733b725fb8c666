#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/principal.h"

namespace livecommerce::gateway {

// What a session token says: who (role, brand, subject), which token (its id, for revocation) and
// for how long.
struct SessionClaims {
  std::string token_id;
  common::Role role = common::Role::kViewer;
  std::string brand_id;
  std::string subject;
  absl::Time issued_at;
  absl::Time expires_at;
};

// Session tokens handed to users: "lc1.<base64url payload>.<base64url HMAC-SHA256>", signed with
// the gateway's own secret (LC_SESSION_SECRET), never with the services' internal secret.
class SessionTokenCodec final {
 public:
  explicit SessionTokenCodec(std::string secret) : secret_(std::move(secret)) {}

  // INVALID_ARGUMENT when a claim is not a valid id or the expiry is not after the issue time.
  absl::StatusOr<std::string> Issue(const SessionClaims& claims) const;
  // UNAUTHENTICATED ("token: ...") when malformed, wrongly signed, or expired at `now`.
  absl::StatusOr<SessionClaims> Verify(absl::string_view token, absl::Time now) const;
  // The signature and shape only, ignoring expiry (for revoking a token that may have expired).
  absl::StatusOr<SessionClaims> VerifySignature(absl::string_view token) const;

 private:
  std::string secret_;
};

// A fresh random token id.
std::string NewTokenId();

// LC_SESSION_SECRET: at least 32 characters; a fixed local default when unset.
absl::StatusOr<std::string> LoadSessionSecret();

}  // namespace livecommerce::gateway
