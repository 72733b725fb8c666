// RoomServiceImpl: reservations ("remind me") and their reminders (docs/RESERVATIONS.md).
#include <optional>

#include "absl/strings/str_cat.h"
#include "services/common/crypto.h"
#include "services/common/log_format.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "services/room/api/room_protos.h"
#include "services/room/api/room_service.h"

namespace livecommerce::room {
namespace {

using common::FormatId;
using common::InvalidField;
using common::Principal;
using common::Role;
using common::Roles;
using common::ToTimestamp;

constexpr Roles kViewerOnly{Role::kViewer};
// Ops see every reservation of the room; an associate those of the viewers they brought.
constexpr Roles kReservationReaders{Role::kOps, Role::kAssociate};

// `staff_view`: ops and associates see who reserved; a viewer's own answer leaves it out.
void ToProto(const ReservationRecord& r, bool staff_view, v1::RoomReservation* out) {
  out->set_id(FormatId(r.id));
  out->set_room_id(FormatId(r.room_id));
  if (staff_view) out->set_viewer_id(r.viewer_id);
  out->set_status(r.status);
  ToTimestamp(r.reserved_at, out->mutable_reserved_at());
  if (r.cancelled_at.has_value()) ToTimestamp(*r.cancelled_at, out->mutable_cancelled_at());
  if (r.invite_id != 0) out->set_invite_id(FormatId(r.invite_id));
  out->set_associate_id(r.associate_id);
  out->set_template_id(r.template_id);
  out->set_reminder_consent(r.consent_at.has_value());
  out->set_reminder_state(r.reminder_state);
  if (r.reminded_at.has_value()) ToTimestamp(*r.reminded_at, out->mutable_reminded_at());
}

void ToProto(const ReminderRecord& m, v1::Reminder* out) {
  out->set_id(FormatId(m.id));
  out->set_reservation_id(FormatId(m.reservation_id));
  out->set_room_id(FormatId(m.room_id));
  out->set_viewer_id(m.viewer_id);
  out->set_kind(m.kind);
  out->set_state(m.state);
  out->set_attempts(m.attempts);
  out->set_last_errcode(m.last_errcode);
  out->set_last_error(m.last_error);
  out->set_msgid(m.msgid);
  ToTimestamp(m.due_at, out->mutable_due_at());
  if (m.sent_at.has_value()) ToTimestamp(*m.sent_at, out->mutable_sent_at());
  out->set_sandbox_message(m.sandbox_message);
}

}  // namespace

absl::StatusOr<ReservationStore*> RoomServiceImpl::Reservations() {
  if (reservations_ == nullptr) {
    return absl::FailedPreconditionError("reservations are not enabled in this deployment");
  }
  return reservations_;
}

grpc::Status RoomServiceImpl::ReserveRoom(grpc::ServerContext* context,
                                          const v1::ReserveRoomRequest* request,
                                          v1::ReserveRoomResponse* response) {
  return frame_.Run(*context, kViewerOnly, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(ReservationStore * store, Reservations());
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    // Every field is checked before anything is written (an invite binds below).
    const v1::SubscribeConsent& consent = request->subscribe();
    const std::string& template_id = consent.template_id();
    if (consent.accepted() && template_id.empty()) {
      return InvalidField("subscribe.template_id", "is required when the consent is accepted");
    }
    if (!template_id.empty() && !IsValidTemplateId(template_id)) {
      return InvalidField("subscribe.template_id", "must be 1-128 letters, digits, _ or -");
    }
    const ReminderTemplate& tmpl = options_.reminder_templates.For(room.brand_id);
    if (consent.accepted() && !tmpl.template_id.empty() && template_id != tmpl.template_id) {
      return InvalidField("subscribe.template_id", "is not this brand's reminder template");
    }
    std::string token_hash;
    if (!request->invite_token().empty()) {
      LC_RETURN_IF_ERROR(ValidateInviteToken(request->invite_token()));
      token_hash = common::Sha256(request->invite_token());
    }
    absl::Time now = clock_.Now();
    std::optional<InviteGrant> grant;
    if (room.visibility == v1::VISIBILITY_PRIVATE) {
      // The invite first, whatever the room's state, so that a stranger learns nothing of it. It
      // binds to the viewer as joining binds it: the reminder's page then needs no token.
      LC_ASSIGN_OR_RETURN(grant,
                          rooms_.AdmitToPrivateRoom(room.id, caller.subject, token_hash, now));
    }
    if (room.status != v1::ROOM_STATUS_SCHEDULED) {
      return absl::FailedPreconditionError(
          "room_id: the room has gone live already; only a scheduled room can be reserved");
    }
    if (room.visibility != v1::VISIBILITY_PRIVATE && !token_hash.empty()) {
      // In a public room an invite only tells who invited the viewer; a bad one does not stop them.
      absl::StatusOr<InviteGrant> public_grant =
          rooms_.AdmitToPrivateRoom(room.id, caller.subject, token_hash, now);
      if (public_grant.ok()) {
        grant = *public_grant;
      } else if (public_grant.status().code() != absl::StatusCode::kPermissionDenied) {
        return public_grant.status();
      }
    }
    ReserveRequest reserve;
    reserve.brand_id = room.brand_id;
    reserve.room_id = room.id;
    reserve.viewer_id = caller.subject;
    if (grant.has_value()) {
      reserve.invite_id = grant->invite_id;
      reserve.associate_id = grant->associate_id;
    }
    reserve.template_id = consent.accepted() ? template_id : "";
    reserve.now = now;
    reserve.lead = options_.reminder_lead;
    LC_ASSIGN_OR_RETURN(ReservationRecord reservation, store->Reserve(reserve));
    ToProto(reservation, /*staff_view=*/false, response->mutable_reservation());
    spdlog::info("room {}: reservation {} ({})", room.id, reservation.id,
                 reservation.consent_at.has_value() ? "with a reminder" : "without a reminder");
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::CancelReservation(grpc::ServerContext* context,
                                                const v1::CancelReservationRequest* request,
                                                v1::CancelReservationResponse* response) {
  return frame_.Run(*context, kViewerOnly, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(ReservationStore * store, Reservations());
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    LC_ASSIGN_OR_RETURN(ReservationRecord cancelled,
                        store->Cancel(room.id, caller.subject, clock_.Now()));
    ToProto(cancelled, /*staff_view=*/false, response->mutable_reservation());
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::GetReservation(grpc::ServerContext* context,
                                             const v1::GetReservationRequest* request,
                                             v1::GetReservationResponse* response) {
  return frame_.Run(*context, kViewerOnly, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(ReservationStore * store, Reservations());
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    LC_RETURN_IF_ERROR(CheckCanSee(caller, room));
    LC_ASSIGN_OR_RETURN(std::optional<ReservationRecord> held, store->Get(room.id, caller.subject));
    if (held.has_value()) {
      ToProto(*held, /*staff_view=*/false, response->mutable_reservation());
    }
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::ListReservations(grpc::ServerContext* context,
                                               const v1::ListReservationsRequest* request,
                                               v1::ListReservationsResponse* response) {
  return frame_.Run(*context, kReservationReaders, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(ReservationStore * store, Reservations());
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    if (!v1::RoomReservationStatus_IsValid(request->status())) {
      return InvalidField("status", "is not a reservation status");
    }
    LC_ASSIGN_OR_RETURN(common::PageRequest page,
                        common::ParsePageRequest(request->page_size(), request->page_token(),
                                                 /*default_size=*/50, /*max_size=*/500));
    ReservationQuery query;
    query.room_id = room.id;
    // An associate sees only the viewers who came through their invites.
    if (caller.role == Role::kAssociate) query.associate_id = caller.subject;
    query.status = request->status();
    query.after_id = page.after;
    query.limit = page.fetch();
    LC_ASSIGN_OR_RETURN(std::vector<ReservationRecord> rows, store->List(query));
    bool more = common::TrimPage(rows, page.limit);
    for (const ReservationRecord& r : rows) {
      ToProto(r, /*staff_view=*/true, response->add_reservations());
    }
    if (more) response->set_next_page_token(common::EncodePageToken(rows.back().id));
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::ListReminders(grpc::ServerContext* context,
                                            const v1::ListRemindersRequest* request,
                                            v1::ListRemindersResponse* response) {
  return frame_.Run(*context, {Role::kOps}, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(ReservationStore * store, Reservations());
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    LC_ASSIGN_OR_RETURN(common::PageRequest page,
                        common::ParsePageRequest(request->page_size(), request->page_token(),
                                                 /*default_size=*/50, /*max_size=*/500));
    LC_ASSIGN_OR_RETURN(std::vector<ReminderRecord> rows,
                        store->ListReminders(room.id, page.after, page.fetch()));
    bool more = common::TrimPage(rows, page.limit);
    for (const ReminderRecord& m : rows) ToProto(m, response->add_reminders());
    if (more) response->set_next_page_token(common::EncodePageToken(rows.back().id));
    return absl::OkStatus();
  });
}

}  // namespace livecommerce::room
