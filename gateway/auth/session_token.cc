#include "gateway/auth/session_token.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/config.h"
#include "services/common/crypto.h"

namespace livecommerce::gateway {
namespace {

constexpr absl::string_view kVersion = "lc1";
constexpr char kLocalSecret[] = "livecommerce-local-session-secret-not-for-production";

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("token: ", why));
}

}  // namespace

std::string NewTokenId() { return common::RandomToken(12); }

absl::StatusOr<std::string> SessionTokenCodec::Issue(const SessionClaims& claims) const {
  if (!common::IsValidId(claims.token_id)) {
    return absl::InvalidArgumentError("token_id: must be a valid id");
  }
  if (!common::IsValidId(claims.brand_id)) {
    return absl::InvalidArgumentError("brand_id: must be 1-128 of [A-Za-z0-9_.:-]");
  }
  if (!common::IsValidId(claims.subject)) {
    return absl::InvalidArgumentError("subject: must be 1-128 of [A-Za-z0-9_.:-]");
  }
  if (claims.expires_at <= claims.issued_at) {
    return absl::InvalidArgumentError("expires_at: must be after issued_at");
  }
  std::string payload =
      absl::StrCat(claims.token_id, "|", common::RoleName(claims.role), "|", claims.brand_id, "|",
                   claims.subject, "|", absl::ToUnixSeconds(claims.issued_at), "|",
                   absl::ToUnixSeconds(claims.expires_at));
  std::string signed_part = absl::StrCat(kVersion, ".", common::Base64UrlEncode(payload));
  return absl::StrCat(signed_part, ".",
                      common::Base64UrlEncode(common::HmacSha256(secret_, signed_part)));
}

absl::StatusOr<SessionClaims> SessionTokenCodec::VerifySignature(absl::string_view token) const {
  if (token.empty()) {
    return Unauthenticated("missing");
  }
  if (token.size() > 1024) {
    return Unauthenticated("malformed");
  }
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3 || parts[0] != kVersion) {
    return Unauthenticated("malformed");
  }
  std::string signature;
  if (!common::Base64UrlDecode(parts[2], &signature)) {
    return Unauthenticated("malformed");
  }
  std::string signed_part = absl::StrCat(parts[0], ".", parts[1]);
  if (!common::ConstantTimeEquals(signature, common::HmacSha256(secret_, signed_part))) {
    return Unauthenticated("bad signature");
  }
  std::string payload;
  if (!common::Base64UrlDecode(parts[1], &payload)) {
    return Unauthenticated("malformed");
  }
  std::vector<std::string> fields = absl::StrSplit(payload, '|');
  int64_t issued = 0;
  int64_t expires = 0;
  if (fields.size() != 6 || !absl::SimpleAtoi(fields[4], &issued) ||
      !absl::SimpleAtoi(fields[5], &expires)) {
    return Unauthenticated("malformed");
  }
  absl::StatusOr<common::Role> role = common::ParseRole(fields[1]);
  if (!role.ok() || !common::IsValidId(fields[0]) || !common::IsValidId(fields[2]) ||
      !common::IsValidId(fields[3])) {
    return Unauthenticated("malformed");
  }
  return SessionClaims{fields[0],
                       *role,
                       fields[2],
                       fields[3],
                       absl::FromUnixSeconds(issued),
                       absl::FromUnixSeconds(expires)};
}

absl::StatusOr<SessionClaims> SessionTokenCodec::Verify(absl::string_view token,
                                                        absl::Time now) const {
  absl::StatusOr<SessionClaims> claims = VerifySignature(token);
  if (claims.ok() && claims->expires_at <= now) {
    return Unauthenticated("expired");
  }
  return claims;
}

absl::StatusOr<std::string> LoadSessionSecret() {
  std::string secret = common::EnvString("LC_SESSION_SECRET", kLocalSecret);
  if (secret.size() < 32) {
    return absl::InvalidArgumentError("LC_SESSION_SECRET must be at least 32 characters");
  }
  return secret;
}

}  // namespace livecommerce::gateway
