#include "services/common/principal.h"

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>

#include <optional>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/config.h"
#include "services/common/crypto.h"
#include "services/common/status.h"

namespace livecommerce::common {
namespace {

constexpr absl::string_view kVersion = "v1";
constexpr char kLocalSecret[] = "livecommerce-local-internal-secret";

absl::Status Unauthenticated() {
  return absl::UnauthenticatedError("missing or invalid caller credentials");
}

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kAssociate:
      return "associate";
    case Role::kOps:
      return "ops";
    case Role::kFinance:
      return "finance";
    case Role::kService:
      return "service";
  }
  return "viewer";
}

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  for (Role role : {Role::kViewer, Role::kAssociate, Role::kOps, Role::kFinance, Role::kService}) {
    if (RoleName(role) == name) {
      return role;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("role: unknown role '", name, "'"));
}

bool IsValidId(absl::string_view id) {
  if (id.empty() || id.size() > 128) {
    return false;
  }
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ':';
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::string PrincipalCodec::Encode(const Principal& principal) const {
  std::string payload =
      absl::StrCat(RoleName(principal.role), "|", principal.brand_id, "|", principal.subject, "|",
                   absl::ToUnixSeconds(principal.expires_at));
  std::string signed_part = absl::StrCat(kVersion, ".", Base64UrlEncode(payload));
  return absl::StrCat(signed_part, ".", Base64UrlEncode(HmacSha256(secret_, signed_part)));
}

absl::StatusOr<Principal> PrincipalCodec::Decode(absl::string_view token, absl::Time now) const {
  constexpr size_t kMaxRemembered = 100000;
  std::optional<Principal> known;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = verified_.find(std::string(token));
    if (it != verified_.end()) known = it->second;
  }
  if (!known.has_value()) {
    LC_ASSIGN_OR_RETURN(Principal verified, Verify(token));
    std::lock_guard<std::mutex> lock(mu_);
    if (verified_.size() >= kMaxRemembered) verified_.clear();
    verified_.emplace(std::string(token), verified);
    known = std::move(verified);
  }
  if (known->expires_at <= now) {
    return absl::UnauthenticatedError("caller credentials expired");
  }
  return *std::move(known);
}

absl::StatusOr<Principal> PrincipalCodec::Verify(absl::string_view token) const {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3 || parts[0] != kVersion) {
    return Unauthenticated();
  }
  std::string signature;
  if (!Base64UrlDecode(parts[2], &signature)) {
    return Unauthenticated();
  }
  std::string signed_part = absl::StrCat(parts[0], ".", parts[1]);
  if (!ConstantTimeEquals(signature, HmacSha256(secret_, signed_part))) {
    return Unauthenticated();
  }
  std::string payload;
  if (!Base64UrlDecode(parts[1], &payload)) {
    return Unauthenticated();
  }
  std::vector<std::string> fields = absl::StrSplit(payload, '|');
  int64_t expires = 0;
  if (fields.size() != 4 || !absl::SimpleAtoi(fields[3], &expires)) {
    return Unauthenticated();
  }
  absl::StatusOr<Role> role = ParseRole(fields[0]);
  if (!role.ok() || !IsValidId(fields[1]) || !IsValidId(fields[2])) {
    return Unauthenticated();
  }
  return Principal{*role, fields[1], fields[2], absl::FromUnixSeconds(expires)};
}

absl::StatusOr<std::string> LoadInternalSecret() {
  std::string secret = EnvString("LC_INTERNAL_SECRET", kLocalSecret);
  if (secret.size() < 16) {
    return absl::InvalidArgumentError("LC_INTERNAL_SECRET must be at least 16 characters");
  }
  return secret;
}

absl::StatusOr<Principal> PrincipalFromContext(const grpc::ServerContextBase& context,
                                               const PrincipalCodec& codec, absl::Time now) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kPrincipalMetadataKey);
  if (it == metadata.end()) {
    return Unauthenticated();
  }
  return codec.Decode(absl::string_view(it->second.data(), it->second.size()), now);
}

void AttachPrincipal(grpc::ClientContext& context, const std::string& encoded_principal) {
  context.AddMetadata(kPrincipalMetadataKey, encoded_principal);
}

}  // namespace livecommerce::common

namespace livecommerce::common {
absl::Status RequireRole(const Principal& principal, absl::string_view brand_id,
                         std::initializer_list<Role> roles) {
  if (principal.brand_id != brand_id) {
    return absl::PermissionDeniedError("caller belongs to another brand");
  }
  for (Role role : roles) {
    if (principal.role == role) {
      return absl::OkStatus();
    }
  }
  return absl::PermissionDeniedError(
      absl::StrCat("the ", RoleName(principal.role), " role may not do this"));
}
}  // namespace livecommerce::common
