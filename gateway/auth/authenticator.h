#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/auth/revocation.h"
#include "gateway/auth/session_token.h"
#include "services/common/principal.h"

namespace livecommerce::gateway {

// An authenticated caller: the token's claims and the principal to forward to the services.
struct AuthContext {
  SessionClaims claims;
  std::string encoded_principal;  // x-lc-principal, signed with LC_INTERNAL_SECRET
};

// Turns a session token into an AuthContext: signature, expiry and revocation are checked on
// every call. Verified tokens are remembered by their exact bytes (bounded), so a client that
// sends the same token many times pays for the HMACs once. Thread-safe.
class Authenticator final {
 public:
  Authenticator(const SessionTokenCodec& tokens, const common::PrincipalCodec& principals,
                const RevocationList& revoked)
      : tokens_(tokens), principals_(principals), revoked_(revoked) {}

  // UNAUTHENTICATED ("token: missing|malformed|bad signature|expired|revoked").
  absl::StatusOr<std::shared_ptr<const AuthContext>> Authenticate(absl::string_view token,
                                                                  absl::Time now);

 private:
  const SessionTokenCodec& tokens_;
  const common::PrincipalCodec& principals_;
  const RevocationList& revoked_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const AuthContext>> verified_;
};

// The bearer token of an Authorization header value ("Bearer <token>"); empty when absent.
absl::string_view BearerToken(absl::string_view authorization);

}  // namespace livecommerce::gateway
