#include "services/room/domain/room.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/hash.h"
#include "services/common/principal.h"
#include "services/common/status.h"
#include "services/common/validation.h"

namespace livecommerce::room {
namespace {

using common::InvalidField;
using common::ValidateText;

}  // namespace

absl::Status ValidateRoom(const RoomRecord& room) {
  if (!common::IsValidId(room.brand_id)) {
    return InvalidField("brand_id", "must be 1-128 characters of letters, digits, _ . : -");
  }
  LC_RETURN_IF_ERROR(ValidateText("title", room.title, kMaxTitleBytes, true, false));
  LC_RETURN_IF_ERROR(
      ValidateText("description", room.description, kMaxDescriptionBytes, false, true));
  LC_RETURN_IF_ERROR(
      ValidateText("cover_image_url", room.cover_image_url, kMaxUrlBytes, false, false));
  if (!room.cover_image_url.empty() && !absl::StartsWith(room.cover_image_url, "https://") &&
      !absl::StartsWith(room.cover_image_url, "http://")) {
    return InvalidField("cover_image_url", "must be an http(s) URL");
  }
  if (room.scheduled_start == absl::UnixEpoch() || room.scheduled_start == absl::InfinitePast()) {
    return InvalidField("scheduled_start", "is required");
  }
  if (room.scheduled_end.has_value() && *room.scheduled_end <= room.scheduled_start) {
    return InvalidField("scheduled_end", "must be after scheduled_start");
  }
  if (room.visibility != v1::VISIBILITY_PUBLIC && room.visibility != v1::VISIBILITY_PRIVATE) {
    return InvalidField("visibility", "must be VISIBILITY_PUBLIC or VISIBILITY_PRIVATE");
  }
  if (room.audiences.empty()) {
    return InvalidField("audiences", "must name at least one audience");
  }
  std::set<Audience> seen;
  for (Audience a : room.audiences) {
    if (a != v1::AUDIENCE_FOLLOWERS && a != v1::AUDIENCE_CLIENTS && a != v1::AUDIENCE_PROSPECTS) {
      return InvalidField("audiences", "must be FOLLOWERS, CLIENTS or PROSPECTS");
    }
    if (!seen.insert(a).second) {
      return InvalidField("audiences", "must not repeat an audience");
    }
  }
  if (room.objective != v1::OBJECTIVE_AWARENESS && room.objective != v1::OBJECTIVE_PURCHASE) {
    return InvalidField("objective", "must be OBJECTIVE_AWARENESS or OBJECTIVE_PURCHASE");
  }
  if (room.format != v1::FORMAT_INSPIRATIONAL && room.format != v1::FORMAT_SALES_DRIVEN) {
    return InvalidField("format", "must be FORMAT_INSPIRATIONAL or FORMAT_SALES_DRIVEN");
  }
  if (!room.host_associate_id.empty() && !common::IsValidId(room.host_associate_id)) {
    return InvalidField("host_associate_id",
                        "must be 1-128 characters of letters, digits, _ . : -");
  }
  if (room.associate_invites_enabled &&
      (room.associate_invite_quota < 1 || room.associate_invite_quota > kMaxAssociateInviteQuota)) {
    return InvalidField("associate_invites.quota_per_associate",
                        absl::StrCat("must be 1 to ", kMaxAssociateInviteQuota,
                                     " when associate invites are enabled"));
  }
  if (!room.associate_invites_enabled && room.associate_invite_quota != 0) {
    return InvalidField("associate_invites.quota_per_associate",
                        "must be 0 while associate invites are disabled");
  }
  return absl::OkStatus();
}

absl::Status CheckAssociateQuota(const AssociateQuota& quota, int asked) {
  if (asked > quota.Left()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("count: quota of ", quota.quota, " invites reached, ", quota.Left(), " left"));
  }
  return absl::OkStatus();
}

absl::Status CheckTransition(RoomStatus from, RoomStatus to) {
  bool allowed = (from == v1::ROOM_STATUS_SCHEDULED && to == v1::ROOM_STATUS_LIVE) ||
                 (from == v1::ROOM_STATUS_ENDED && to == v1::ROOM_STATUS_LIVE) ||
                 (from == v1::ROOM_STATUS_LIVE && to == v1::ROOM_STATUS_ENDED);
  if (allowed) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "room cannot go from ", v1::RoomStatus_Name(from), " to ", v1::RoomStatus_Name(to)));
}

absl::Status CheckUpdateAllowed(const RoomRecord& before, const RoomRecord& after) {
  if (before.status == v1::ROOM_STATUS_LIVE && before.visibility != after.visibility) {
    return absl::FailedPreconditionError("visibility: cannot change while the room is live");
  }
  return ValidateRoom(after);
}

uint32_t AudienceBits(const std::vector<Audience>& audiences) {
  uint32_t bits = 0;
  for (Audience a : audiences) {
    bits |= 1u << static_cast<int>(a);
  }
  return bits;
}

std::vector<Audience> AudiencesFromBits(uint32_t bits) {
  std::vector<Audience> audiences;
  for (Audience a : {v1::AUDIENCE_FOLLOWERS, v1::AUDIENCE_CLIENTS, v1::AUDIENCE_PROSPECTS}) {
    if ((bits & (1u << static_cast<int>(a))) != 0) {
      audiences.push_back(a);
    }
  }
  return audiences;
}

InviteStatus StatusOf(const InviteRecord& invite, absl::Time now) {
  if (invite.revoked_at.has_value()) {
    return v1::INVITE_STATUS_REVOKED;
  }
  if (!invite.bound_viewer_id.empty()) {
    return v1::INVITE_STATUS_BOUND;
  }
  if (invite.expires_at.has_value() && *invite.expires_at <= now) {
    return v1::INVITE_STATUS_EXPIRED;
  }
  return v1::INVITE_STATUS_OPEN;
}

absl::Status CheckInviteUsable(const InviteRecord& invite, absl::string_view viewer_id,
                               absl::Time now) {
  if (invite.revoked_at.has_value()) {
    return absl::PermissionDeniedError("invite_token: this invite was revoked");
  }
  if (invite.expires_at.has_value() && *invite.expires_at <= now) {
    return absl::PermissionDeniedError("invite_token: this invite has expired");
  }
  if (!invite.bound_viewer_id.empty() && invite.bound_viewer_id != viewer_id) {
    return absl::PermissionDeniedError("invite_token: this invite belongs to another viewer");
  }
  return absl::OkStatus();
}

absl::Status ValidateCohort(absl::string_view cohort) {
  return ValidateText("cohort", cohort, kMaxCohortBytes, false, false);
}

absl::Status ValidateDeviceId(absl::string_view device_id) {
  if (device_id.size() > 64 || !common::IsValidId(device_id)) {
    return InvalidField("device_id", "must be 1-64 characters of letters, digits, _ . : -");
  }
  return absl::OkStatus();
}

int PresenceBucket(absl::string_view viewer_id, int buckets) {
  uint64_t hash = common::StableHash(viewer_id);
  return static_cast<int>(hash % static_cast<uint64_t>(buckets < 1 ? 1 : buckets));
}

int64_t DurationSeconds(absl::Time started_at, absl::Time ended_at) {
  if (ended_at <= started_at) {
    return 0;
  }
  return absl::ToInt64Seconds(ended_at - started_at);
}

}  // namespace livecommerce::room
