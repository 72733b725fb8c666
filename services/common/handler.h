#pragma once

// The one frame of every gRPC handler. The server interceptor (rpc_interceptor.h) already counts
// each call, times it, logs one access line and carries the request id; what is left to a handler
// is its own work. HandlerFrame::Run decodes and verifies the caller's principal, refuses roles the
// method does not admit, runs the body with the principal and maps its Status to the gRPC status:
//
//   grpc::Status RoomServiceImpl::GetRoom(grpc::ServerContext* context, const v1::GetRoomRequest*
//   request,
//                                         v1::GetRoomResponse* response) {
//     return frame_.Run(*context, kAnyRole, [&](const Principal& caller) -> absl::Status { ... });
//   }
//
// Brand and ownership checks stay in the body: they depend on what the request names.

#include <cstdint>
#include <initializer_list>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/support/status.h"
#include "services/common/admission.h"
#include "services/common/clock.h"
#include "services/common/principal.h"
#include "services/common/status.h"

namespace grpc {
class ServerContextBase;
}  // namespace grpc

namespace livecommerce::common {

// A set of roles a method admits.
class Roles {
 public:
  constexpr Roles(std::initializer_list<Role> roles) {
    for (Role r : roles) bits_ |= Bit(r);
  }
  constexpr bool Admits(Role role) const { return (bits_ & Bit(role)) != 0; }

 private:
  static constexpr uint32_t Bit(Role role) { return 1u << static_cast<uint32_t>(role); }
  uint32_t bits_ = 0;
};

inline constexpr Roles kAnyRole{Role::kViewer, Role::kAssociate, Role::kOps, Role::kFinance,
                                Role::kService};
inline constexpr Roles kStaffRoles{Role::kAssociate, Role::kOps, Role::kService};
inline constexpr Roles kServiceOnly{Role::kService};

// Sets this thread's CurrentDeadline for a scope and restores the previous one after.
class ScopedDeadline final {
 public:
  explicit ScopedDeadline(absl::Time deadline) : previous_(CurrentDeadline()) {
    SetCurrentDeadline(deadline);
  }
  ~ScopedDeadline() { SetCurrentDeadline(previous_); }
  ScopedDeadline(const ScopedDeadline&) = delete;
  ScopedDeadline& operator=(const ScopedDeadline&) = delete;

 private:
  absl::Time previous_;
};

class HandlerFrame {
 public:
  // Both must outlive the frame.
  HandlerFrame(const PrincipalCodec& codec, const Clock& clock) : codec_(codec), clock_(clock) {}

  // The verified principal of a call; UNAUTHENTICATED when missing, malformed or expired.
  absl::StatusOr<Principal> Caller(const grpc::ServerContextBase& context) const {
    return PrincipalFromContext(context, codec_, clock_.Now());
  }

  // `body` is called as body(const Principal&) and returns an absl::Status. While it runs, the
  // call's deadline is this thread's CurrentDeadline, so the calls it makes to other services end
  // no later than its own caller waits.
  template <typename Body>
  grpc::Status Run(const grpc::ServerContextBase& context, Roles roles, Body&& body) const {
    ScopedDeadline deadline(DeadlineOf(context));
    absl::StatusOr<Principal> caller = Caller(context);
    if (!caller.ok()) return ToGrpcStatus(caller.status());
    if (!roles.Admits(caller->role)) {
      return ToGrpcStatus(absl::PermissionDeniedError(
          absl::StrCat("the ", RoleName(caller->role), " role may not call this method")));
    }
    return ToGrpcStatus(body(static_cast<const Principal&>(*caller)));
  }

 private:
  const PrincipalCodec& codec_;
  const Clock& clock_;
};

}  // namespace livecommerce::common
