#include "services/room/api/room_protos.h"

#include "services/common/crypto.h"
#include "services/common/proto_util.h"

namespace livecommerce::room {

using common::FormatId;
using common::Role;
using common::ToTimestamp;

void ToProto(const PinnedRef& pinned, v1::PinnedProduct* out) {
  out->set_product_id(pinned.product_id);
  out->set_sku_id(pinned.sku_id);
  ToTimestamp(pinned.pinned_at, out->mutable_pinned_at());
}

void ToProto(const RoomRecord& room, v1::Room* out) {
  out->set_id(FormatId(room.id));
  out->set_brand_id(room.brand_id);
  out->set_title(room.title);
  out->set_description(room.description);
  out->set_cover_image_url(room.cover_image_url);
  ToTimestamp(room.scheduled_start, out->mutable_scheduled_start());
  if (room.scheduled_end.has_value()) {
    ToTimestamp(*room.scheduled_end, out->mutable_scheduled_end());
  }
  out->set_visibility(room.visibility);
  for (Audience a : room.audiences) {
    out->add_audiences(a);
  }
  out->set_objective(room.objective);
  out->set_format(room.format);
  out->set_status(room.status);
  out->set_current_session_id(FormatId(room.current_session_id));
  out->set_host_associate_id(room.host_associate_id);
  if (room.associate_invites_enabled) {
    out->mutable_associate_invites()->set_enabled(true);
    out->mutable_associate_invites()->set_quota_per_associate(room.associate_invite_quota);
  }
  if (room.pinned.has_value()) {
    ToProto(*room.pinned, out->mutable_pinned());
  }
  out->set_start_on_publish(room.start_on_publish);
  ToTimestamp(room.created_at, out->mutable_created_at());
  ToTimestamp(room.updated_at, out->mutable_updated_at());
}

void ToProto(const SessionRecord& session, v1::Session* out) {
  out->set_id(FormatId(session.id));
  out->set_room_id(FormatId(session.room_id));
  out->set_brand_id(session.brand_id);
  out->set_status(session.status);
  ToTimestamp(session.started_at, out->mutable_started_at());
  if (session.ended_at.has_value()) {
    ToTimestamp(*session.ended_at, out->mutable_ended_at());
  }
  out->set_reach(session.stats.reach);
  out->set_peak_concurrency(session.stats.peak_concurrency);
  out->set_total_joins(session.stats.total_joins);
  out->set_duration_seconds(session.duration_seconds);
  out->set_watch_seconds(session.stats.watch_ms / 1000);
}

void ToProto(const InviteRecord& invite, absl::Time now, v1::Invite* out) {
  out->set_id(FormatId(invite.id));
  out->set_room_id(FormatId(invite.room_id));
  out->set_brand_id(invite.brand_id);
  out->set_cohort(invite.cohort);
  out->set_client_ref(invite.client_ref);
  out->set_associate_id(invite.associate_id);
  out->set_status(StatusOf(invite, now));
  if (invite.expires_at.has_value()) {
    ToTimestamp(*invite.expires_at, out->mutable_expires_at());
  }
  out->set_bound_viewer_id(invite.bound_viewer_id);
  if (invite.bound_at.has_value()) {
    ToTimestamp(*invite.bound_at, out->mutable_bound_at());
  }
  if (invite.last_joined_at.has_value()) {
    ToTimestamp(*invite.last_joined_at, out->mutable_last_joined_at());
  }
  out->set_issued_by(invite.issued_by);
  ToTimestamp(invite.created_at, out->mutable_created_at());
}

bool IsStaff(const common::Principal& p) {
  return p.role == Role::kOps || p.role == Role::kAssociate || p.role == Role::kService;
}

absl::Status ValidateInviteToken(absl::string_view token) {
  // Anything far from a token is not worth a lookup.
  std::string raw;
  if (token.size() > 128 || !common::Base64UrlDecode(token, &raw)) {
    return absl::PermissionDeniedError("invite_token: not a valid invite");
  }
  return absl::OkStatus();
}

}  // namespace livecommerce::room
