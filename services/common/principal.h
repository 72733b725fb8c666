#pragma once

#include <initializer_list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace grpc {
class ClientContext;
class ServerContextBase;
}  // namespace grpc

namespace livecommerce::common {

// Who is calling. The gateway authenticates the user and forwards this, signed, to the services in
// the `x-lc-principal` metadata; services verify it and authorise from it. Every principal belongs
// to exactly one brand. SERVICE is another service or the gateway acting for many users.
enum class Role { kViewer, kAssociate, kOps, kFinance, kService };

struct Principal {
  Role role = Role::kViewer;
  std::string brand_id;
  std::string subject;  // viewer openid, associate id, ops/finance user id, or service name
  absl::Time expires_at;
};

inline constexpr char kPrincipalMetadataKey[] = "x-lc-principal";

absl::string_view RoleName(Role role);
absl::StatusOr<Role> ParseRole(absl::string_view name);
// Ids that may appear in a principal or as keys: 1..128 of [A-Za-z0-9_.:-].
bool IsValidId(absl::string_view id);

// Signs and verifies principals with HMAC-SHA256 under a secret shared by the gateway and services.
// Verified tokens are remembered (by their exact bytes) so a caller that sends the same token many
// times pays for the HMAC once; expiry is still checked on every call.
class PrincipalCodec final {
 public:
  explicit PrincipalCodec(std::string secret) : secret_(std::move(secret)) {}
  std::string Encode(const Principal& principal) const;
  // UNAUTHENTICATED when malformed, wrongly signed or expired at `now`.
  absl::StatusOr<Principal> Decode(absl::string_view token, absl::Time now) const;

 private:
  absl::StatusOr<Principal> Verify(absl::string_view token) const;

  std::string secret_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, Principal> verified_ ABSL_GUARDED_BY(mu_);
};

// LC_INTERNAL_SECRET: at least 16 characters; a fixed local default when unset.
absl::StatusOr<std::string> LoadInternalSecret();

// The verified principal of a server call; UNAUTHENTICATED when missing or invalid.
absl::StatusOr<Principal> PrincipalFromContext(const grpc::ServerContextBase& context,
                                               const PrincipalCodec& codec, absl::Time now);
void AttachPrincipal(grpc::ClientContext& context, const std::string& encoded_principal);

}  // namespace livecommerce::common

namespace livecommerce::common {
// PERMISSION_DENIED unless the principal has one of `roles` and belongs to `brand_id`.
absl::Status RequireRole(const Principal& principal, absl::string_view brand_id,
                         std::initializer_list<Role> roles);
}  // namespace livecommerce::common
