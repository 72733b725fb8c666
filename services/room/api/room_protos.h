#pragma once

// Room records as protos, shared by the files of RoomServiceImpl.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "livecommerce/v1/room.pb.h"
#include "services/common/handler.h"
#include "services/common/principal.h"
#include "services/room/domain/room.h"

namespace livecommerce::room {

// Viewers, associates and ops are present in rooms (join, leave, watch); finance and services
// never are.
inline constexpr common::Roles kJoiners{common::Role::kViewer, common::Role::kAssociate,
                                        common::Role::kOps};

void ToProto(const PinnedRef& pinned, v1::PinnedProduct* out);
void ToProto(const RoomRecord& room, v1::Room* out);
void ToProto(const SessionRecord& session, v1::Session* out);
// The invite's status is as of `now`.
void ToProto(const InviteRecord& invite, absl::Time now, v1::Invite* out);

// Ops, associates and services of the brand.
bool IsStaff(const common::Principal& p);

// An invite token as clients send it (join, reserve): PERMISSION_DENIED "invite_token: not a
// valid invite" when it is far from the 43 base64url characters tokens have.
absl::Status ValidateInviteToken(absl::string_view token);

}  // namespace livecommerce::room
