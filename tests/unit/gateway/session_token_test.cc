#include "gateway/auth/session_token.h"

#include <gtest/gtest.h>

#include "gateway/auth/authenticator.h"
#include "gateway/auth/revocation.h"

namespace livecommerce::gateway {
namespace {

using common::Role;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

SessionClaims Claims() {
  return SessionClaims{"tid-1", Role::kOps, "maison", "ops-anna", kNow, kNow + absl::Hours(1)};
}

TEST(SessionTokenTest, IssuedTokenVerifiesWithItsClaims) {
  SessionTokenCodec codec("a-session-secret-of-at-least-32-chars");
  absl::StatusOr<std::string> token = codec.Issue(Claims());
  ASSERT_TRUE(token.ok()) << token.status();
  absl::StatusOr<SessionClaims> claims = codec.Verify(*token, kNow + absl::Minutes(59));
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->token_id, "tid-1");
  EXPECT_EQ(claims->role, Role::kOps);
  EXPECT_EQ(claims->brand_id, "maison");
  EXPECT_EQ(claims->subject, "ops-anna");
  EXPECT_EQ(claims->expires_at, kNow + absl::Hours(1));
}

TEST(SessionTokenTest, ExpiredTokenIsRefused) {
  SessionTokenCodec codec("a-session-secret-of-at-least-32-chars");
  std::string token = *codec.Issue(Claims());
  absl::StatusOr<SessionClaims> claims = codec.Verify(token, kNow + absl::Hours(1));
  EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(claims.status().message(), "token: expired");
  // The signature alone still checks (for revoking an expired token).
  EXPECT_TRUE(codec.VerifySignature(token).ok());
}

TEST(SessionTokenTest, AnotherSecretOrAChangedPayloadIsRefused) {
  SessionTokenCodec codec("a-session-secret-of-at-least-32-chars");
  SessionTokenCodec other("another-secret-that-is-32-chars-long");
  std::string token = *codec.Issue(Claims());
  EXPECT_EQ(other.Verify(token, kNow).status().message(), "token: bad signature");

  // Swap the payload for one claiming another brand, keeping the signature.
  SessionClaims forged = Claims();
  forged.brand_id = "rival";
  std::string forged_token = *other.Issue(forged);
  std::string spliced =
      forged_token.substr(0, forged_token.rfind('.')) + token.substr(token.rfind('.'));
  EXPECT_EQ(codec.Verify(spliced, kNow).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(SessionTokenTest, MalformedTokensAreRefused) {
  SessionTokenCodec codec("a-session-secret-of-at-least-32-chars");
  for (const char* bad : {"", "lc1", "lc1.a.b.c", "v1.YQ.YQ", "lc1.%%%.abc", "lc1..", "x.y.z"}) {
    absl::StatusOr<SessionClaims> claims = codec.Verify(bad, kNow);
    EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated) << bad;
  }
  EXPECT_EQ(codec.Verify("", kNow).status().message(), "token: missing");
}

TEST(SessionTokenTest, IssueRefusesBadClaims) {
  SessionTokenCodec codec("a-session-secret-of-at-least-32-chars");
  SessionClaims c = Claims();
  c.subject = "with|pipe";
  EXPECT_EQ(codec.Issue(c).status().code(), absl::StatusCode::kInvalidArgument);
  c = Claims();
  c.expires_at = c.issued_at;
  EXPECT_EQ(codec.Issue(c).status().code(), absl::StatusCode::kInvalidArgument);
}

// Revocation through the in-memory list, with a store kept in memory.
class MemoryRevocationStore final : public RevocationStore {
 public:
  absl::Status Revoke(const std::string& id, absl::Time until) override {
    revoked_[id] = until;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> ListRevoked(absl::Time now) override {
    if (down) return absl::UnavailableError("down");
    std::vector<std::string> ids;
    for (const auto& [id, until] : revoked_) {
      if (until >= now) ids.push_back(id);
    }
    return ids;
  }
  bool down = false;

 private:
  std::map<std::string, absl::Time> revoked_;
};

TEST(AuthenticatorTest, RevokedTokenIsRefusedAfterTheListRefreshes) {
  SessionTokenCodec codec("a-session-secret-of-at-least-32-chars");
  common::PrincipalCodec principals("internal-secret-0123456789");
  MemoryRevocationStore store;
  RevocationList revoked(store);
  Authenticator auth(codec, principals, revoked);
  SessionClaims claims = Claims();
  claims.issued_at = absl::Now();
  claims.expires_at = claims.issued_at + absl::Hours(1);
  std::string token = *codec.Issue(claims);

  absl::StatusOr<std::shared_ptr<const AuthContext>> ok = auth.Authenticate(token, absl::Now());
  ASSERT_TRUE(ok.ok()) << ok.status();
  // The forwarded principal is the token's identity, signed for the services.
  absl::StatusOr<common::Principal> principal =
      principals.Decode((*ok)->encoded_principal, absl::Now());
  ASSERT_TRUE(principal.ok());
  EXPECT_EQ(principal->brand_id, "maison");
  EXPECT_EQ(principal->subject, "ops-anna");
  EXPECT_EQ(principal->role, Role::kOps);

  ASSERT_TRUE(store.Revoke("tid-1", claims.expires_at).ok());
  EXPECT_TRUE(auth.Authenticate(token, absl::Now()).ok());  // not refreshed yet
  ASSERT_TRUE(revoked.Refresh(absl::Now()).ok());
  absl::StatusOr<std::shared_ptr<const AuthContext>> refused =
      auth.Authenticate(token, absl::Now());
  EXPECT_EQ(refused.status().message(), "token: revoked");

  // A failed refresh keeps what was known.
  store.down = true;
  EXPECT_FALSE(revoked.Refresh(absl::Now()).ok());
  EXPECT_FALSE(revoked.healthy());
  EXPECT_EQ(auth.Authenticate(token, absl::Now()).status().message(), "token: revoked");
}

TEST(AuthenticatorTest, RememberedTokenStillExpires) {
  SessionTokenCodec codec("a-session-secret-of-at-least-32-chars");
  common::PrincipalCodec principals("internal-secret-0123456789");
  MemoryRevocationStore store;
  RevocationList revoked(store);
  Authenticator auth(codec, principals, revoked);
  std::string token = *codec.Issue(Claims());
  ASSERT_TRUE(auth.Authenticate(token, kNow).ok());
  EXPECT_EQ(auth.Authenticate(token, kNow + absl::Hours(2)).status().message(), "token: expired");
}

TEST(BearerTokenTest, ParsesTheAuthorizationHeader) {
  EXPECT_EQ(BearerToken("Bearer abc.def"), "abc.def");
  EXPECT_EQ(BearerToken("bearer  abc "), "abc");
  EXPECT_EQ(BearerToken("Basic abc"), "");
  EXPECT_EQ(BearerToken(""), "");
}

}  // namespace
}  // namespace livecommerce::gateway
