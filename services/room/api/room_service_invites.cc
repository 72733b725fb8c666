// RoomServiceImpl: invites (issue, revoke, list).
#include "absl/strings/str_cat.h"
#include "services/common/crypto.h"
#include "services/common/log_format.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "services/room/api/room_protos.h"
#include "services/room/api/room_service.h"

namespace livecommerce::room {
namespace {

using common::InvalidField;
using common::ParseId;
using common::Principal;
using common::Role;
using common::Roles;

// Ops issue and list any invite of the brand; an associate only their own.
constexpr Roles kInviters{Role::kAssociate, Role::kOps};

}  // namespace

grpc::Status RoomServiceImpl::IssueInvites(grpc::ServerContext* context,
                                           const v1::IssueInvitesRequest* request,
                                           v1::IssueInvitesResponse* response) {
  return frame_.Run(*context, kInviters, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    // An associate issues only their own invites, to a room open to them.
    const bool by_associate = caller.role == Role::kAssociate;
    if (by_associate) {
      if (!request->associate_id().empty() && request->associate_id() != caller.subject) {
        return absl::PermissionDeniedError(
            "associate_id: an associate issues invites only on their own behalf");
      }
      if (!room.associate_invites_enabled) {
        return absl::PermissionDeniedError("room_id: this room is not open to associates' invites");
      }
    }
    const std::string associate_id = by_associate ? caller.subject : request->associate_id();
    LC_RETURN_IF_ERROR(ValidateCohort(request->cohort()));
    if (!associate_id.empty() && !common::IsValidId(associate_id)) {
      return InvalidField("associate_id", "must be 1-128 characters of letters, digits, _ . : -");
    }
    absl::Time now = clock_.Now();
    std::optional<absl::Time> expires;
    if (request->has_expires_at()) {
      LC_ASSIGN_OR_RETURN(expires, common::ParseTimestamp("expires_at", request->expires_at()));
      if (*expires <= now) {
        return InvalidField("expires_at", "must be in the future");
      }
    }
    if (!request->invitees().empty() && request->count() != 0) {
      return InvalidField("count", "give either invitees or count, not both");
    }
    int n = request->invitees().empty() ? request->count() : request->invitees_size();
    if (n < 1 || n > kMaxInvitesPerCall) {
      return InvalidField(request->invitees().empty() ? "count" : "invitees",
                          absl::StrCat("must ask for 1 to ", kMaxInvitesPerCall, " invites"));
    }
    std::vector<InviteRecord> invites;
    std::vector<std::string> tokens;
    invites.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      InviteRecord invite;
      if (!request->invitees().empty()) {
        const std::string& ref = request->invitees(i).client_ref();
        if (!ref.empty() && !common::IsValidId(ref)) {
          return InvalidField(absl::StrCat("invitees[", i, "].client_ref"),
                              "must be 1-128 characters of letters, digits, _ . : -");
        }
        invite.client_ref = ref;
      }
      tokens.push_back(common::RandomToken(32));
      invite.token_hash = common::Sha256(tokens.back());
      invite.brand_id = room.brand_id;
      invite.room_id = room.id;
      invite.cohort = request->cohort();
      invite.associate_id = associate_id;
      invite.expires_at = expires;
      invite.issued_by = caller.subject;
      invite.created_at = now;
      invites.push_back(std::move(invite));
    }
    // The associate must be the brand's before any invite names them.
    if (!associate_id.empty()) {
      LC_RETURN_IF_ERROR(CheckAssociate(room.brand_id, "associate_id", associate_id));
    }
    std::vector<InviteRecord> created;
    if (by_associate) {
      LC_ASSIGN_OR_RETURN(IssuedInvites issued,
                          rooms_.CreateAssociateInvites(room.id, caller.subject, invites));
      created = std::move(issued.invites);
      v1::InviteQuota* quota = response->mutable_quota();
      quota->set_quota(issued.quota.quota);
      quota->set_issued(issued.quota.issued);
      quota->set_left(issued.quota.Left());
    } else {
      LC_ASSIGN_OR_RETURN(created, rooms_.CreateInvites(invites));
    }
    for (size_t i = 0; i < created.size(); ++i) {
      v1::Invite* out = response->add_invites();
      ToProto(created[i], now, out);
      out->set_token(tokens[i]);
    }
    spdlog::info("{} invites issued for room {} (cohort '{}'){}", created.size(), room.id,
                 request->cohort(), by_associate ? " by an associate" : "");
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::RevokeInvite(grpc::ServerContext* context,
                                           const v1::RevokeInviteRequest* request,
                                           v1::RevokeInviteResponse* response) {
  return frame_.Run(*context, {Role::kOps}, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(int64_t id, ParseId("invite_id", request->invite_id()));
    LC_ASSIGN_OR_RETURN(InviteRecord invite, rooms_.GetInvite(id));
    if (invite.brand_id != caller.brand_id) {
      return absl::NotFoundError("invite_id: no such invite");
    }
    absl::Time now = clock_.Now();
    LC_ASSIGN_OR_RETURN(InviteRecord revoked, rooms_.RevokeInvite(id, now));
    ToProto(revoked, now, response->mutable_invite());
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::ListInvites(grpc::ServerContext* context,
                                          const v1::ListInvitesRequest* request,
                                          v1::ListInvitesResponse* response) {
  return frame_.Run(*context, kInviters, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    // An associate lists only their own invites (issued by them or on their behalf).
    const bool by_associate = caller.role == Role::kAssociate;
    if (by_associate && !request->associate_id().empty() &&
        request->associate_id() != caller.subject) {
      return absl::PermissionDeniedError("associate_id: an associate lists only their own");
    }
    LC_RETURN_IF_ERROR(ValidateCohort(request->cohort()));
    const std::string associate_id = by_associate ? caller.subject : request->associate_id();
    if (!associate_id.empty() && !by_associate) {
      LC_RETURN_IF_ERROR(CheckAssociate(room.brand_id, "associate_id", associate_id));
    } else if (!associate_id.empty() && !common::IsValidId(associate_id)) {
      return InvalidField("associate_id", "must be 1-128 characters of letters, digits, _ . : -");
    }
    LC_ASSIGN_OR_RETURN(common::PageRequest page,
                        common::ParsePageRequest(request->page_size(), request->page_token(),
                                                 /*default_size=*/50, /*max_size=*/500));
    if (by_associate) {
      LC_ASSIGN_OR_RETURN(AssociateQuota quota,
                          rooms_.AssociateInviteQuota(room.id, caller.subject));
      response->mutable_quota()->set_quota(quota.quota);
      response->mutable_quota()->set_issued(quota.issued);
      response->mutable_quota()->set_left(quota.Left());
    }
    InviteQuery query{room.id, request->cohort(), associate_id, page.after, page.fetch()};
    LC_ASSIGN_OR_RETURN(std::vector<InviteRecord> invites, rooms_.ListInvites(query));
    bool more = common::TrimPage(invites, page.limit);
    absl::Time now = clock_.Now();
    for (const InviteRecord& invite : invites) {
      ToProto(invite, now, response->add_invites());
    }
    if (more) response->set_next_page_token(common::EncodePageToken(invites.back().id));
    return absl::OkStatus();
  });
}

}  // namespace livecommerce::room
