// AttributionServiceImpl: an associate's clients (bindings) and their reassignment.
#include "services/attribution/api/attribution_service.h"
#include "services/attribution/api/request_checks.h"
#include "services/common/log_format.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "services/common/validation.h"

namespace livecommerce::attribution {

using common::InvalidField;
using common::Principal;
using common::Role;
using request_checks::Page;
using request_checks::ValidateViewerId;

grpc::Status AttributionServiceImpl::ListClients(grpc::ServerContext* context,
                                                 const v1::ListClientsRequest* request,
                                                 v1::ListClientsResponse* response) {
  return frame_.Run(
      *context, request_checks::kSelfOrOpsOrFinance, [&](const Principal& caller) -> absl::Status {
        LC_ASSIGN_OR_RETURN(int64_t associate_id,
                            Whose(caller, "associate_id", request->associate_id()));
        if (associate_id == 0) return InvalidField("associate_id", "is required");
        LC_ASSIGN_OR_RETURN(common::PageRequest page, Page(*request));
        LC_ASSIGN_OR_RETURN(std::vector<ClientRow> clients,
                            store_.ListClients(caller.brand_id, associate_id, clock_.Now(),
                                               page.after, page.fetch()));
        if (common::TrimPage(clients, page.limit)) {
          response->set_next_page_token(common::EncodePageToken(clients.back().row_id));
        }
        for (ClientRow& c : clients) *response->add_clients() = std::move(c.binding);
        return absl::OkStatus();
      });
}

grpc::Status AttributionServiceImpl::GetClientBinding(grpc::ServerContext* context,
                                                      const v1::GetClientBindingRequest* request,
                                                      v1::GetClientBindingResponse* response) {
  return frame_.Run(
      *context, request_checks::kSelfOrOpsOrFinance, [&](const Principal& caller) -> absl::Status {
        LC_RETURN_IF_ERROR(ValidateViewerId("viewer_id", request->viewer_id()));
        bool staff = caller.role == Role::kOps || caller.role == Role::kFinance;
        if (caller.brand_id.empty()) return absl::PermissionDeniedError("no brand");
        LC_ASSIGN_OR_RETURN(std::vector<v1::ClientBinding> history,
                            store_.BindingHistory(caller.brand_id, request->viewer_id(), 100));
        absl::Time now = clock_.Now();
        std::optional<v1::ClientBinding> current;
        for (const v1::ClientBinding& b : history) {
          if (common::FromTimestamp(b.bound_at()) <= now) {
            current = b;
            break;
          }
        }
        // An associate sees only a client currently bound to it.
        if (!staff && (!current.has_value() || current->associate_id() != caller.subject ||
                       common::FromTimestamp(current->protected_until()) <= now)) {
          return absl::NotFoundError("viewer_id: not your client");
        }
        if (current.has_value()) *response->mutable_binding() = *current;
        if (staff) {
          for (v1::ClientBinding& b : history) *response->add_history() = std::move(b);
        }
        return absl::OkStatus();
      });
}

grpc::Status AttributionServiceImpl::ReassignClient(grpc::ServerContext* context,
                                                    const v1::ReassignClientRequest* request,
                                                    v1::ReassignClientResponse* response) {
  return frame_.Run(*context, request_checks::kOps, [&](const Principal& caller) -> absl::Status {
    LC_RETURN_IF_ERROR(ValidateViewerId("viewer_id", request->viewer_id()));
    LC_ASSIGN_OR_RETURN(int64_t associate_id,
                        common::ParseId("associate_id", request->associate_id()));
    LC_RETURN_IF_ERROR(common::ValidateText("note", request->note(), 300, false));
    LC_ASSIGN_OR_RETURN(
        *response->mutable_binding(),
        store_.Reassign(caller.brand_id, request->viewer_id(), associate_id, caller.subject,
                        request->note(), clock_.Now(), options_.attribution.protection));
    spdlog::info("client reassigned to associate {}", associate_id);
    return absl::OkStatus();
  });
}

}  // namespace livecommerce::attribution
