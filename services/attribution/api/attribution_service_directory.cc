// AttributionServiceImpl: stores and associates.
#include "services/attribution/api/attribution_service.h"
#include "services/attribution/api/request_checks.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "services/common/validation.h"

namespace livecommerce::attribution {

using common::InvalidField;
using common::Principal;
using request_checks::IdOf;
using request_checks::Page;

grpc::Status AttributionServiceImpl::CreateStore(grpc::ServerContext* context,
                                                 const v1::CreateStoreRequest* request,
                                                 v1::CreateStoreResponse* response) {
  return frame_.Run(*context, request_checks::kOps, [&](const Principal& caller) -> absl::Status {
    LC_RETURN_IF_ERROR(common::ValidateText("name", request->name(), 200, true));
    LC_RETURN_IF_ERROR(common::ValidateText("city", request->city(), 100, false));
    v1::Store store;
    store.set_name(request->name());
    store.set_city(request->city());
    LC_ASSIGN_OR_RETURN(*response->mutable_store(),
                        store_.CreateStore(caller.brand_id, store, clock_.Now()));
    return absl::OkStatus();
  });
}

grpc::Status AttributionServiceImpl::ListStores(grpc::ServerContext* context,
                                                const v1::ListStoresRequest* request,
                                                v1::ListStoresResponse* response) {
  return frame_.Run(
      *context, request_checks::kOpsOrFinance, [&](const Principal& caller) -> absl::Status {
        LC_ASSIGN_OR_RETURN(common::PageRequest page, Page(*request));
        LC_ASSIGN_OR_RETURN(std::vector<v1::Store> stores,
                            store_.ListStores(caller.brand_id, page.after, page.fetch()));
        if (common::TrimPage(stores, page.limit)) {
          response->set_next_page_token(common::EncodePageToken(IdOf(stores.back().id())));
        }
        for (v1::Store& s : stores) *response->add_stores() = std::move(s);
        return absl::OkStatus();
      });
}

grpc::Status AttributionServiceImpl::CreateAssociate(grpc::ServerContext* context,
                                                     const v1::CreateAssociateRequest* request,
                                                     v1::CreateAssociateResponse* response) {
  return frame_.Run(*context, request_checks::kOps, [&](const Principal& caller) -> absl::Status {
    LC_RETURN_IF_ERROR(common::ParseId("store_id", request->store_id()).status());
    LC_RETURN_IF_ERROR(common::ValidateText("name", request->name(), 200, true));
    v1::Associate a;
    a.set_store_id(request->store_id());
    a.set_name(request->name());
    LC_ASSIGN_OR_RETURN(*response->mutable_associate(),
                        store_.CreateAssociate(caller.brand_id, a, clock_.Now()));
    return absl::OkStatus();
  });
}

grpc::Status AttributionServiceImpl::UpdateAssociate(grpc::ServerContext* context,
                                                     const v1::UpdateAssociateRequest* request,
                                                     v1::UpdateAssociateResponse* response) {
  return frame_.Run(*context, request_checks::kOps, [&](const Principal& caller) -> absl::Status {
    LC_RETURN_IF_ERROR(common::ParseId("associate_id", request->associate_id()).status());
    if (request->has_name()) {
      LC_RETURN_IF_ERROR(common::ValidateText("name", request->name(), 200, true));
    }
    if (request->has_store_id()) {
      LC_RETURN_IF_ERROR(common::ParseId("store_id", request->store_id()).status());
    }
    if (!v1::AssociateStatus_IsValid(request->status())) {
      return InvalidField("status", "is not an associate status");
    }
    LC_ASSIGN_OR_RETURN(*response->mutable_associate(),
                        store_.UpdateAssociate(caller.brand_id, *request, clock_.Now()));
    return absl::OkStatus();
  });
}

grpc::Status AttributionServiceImpl::GetAssociate(grpc::ServerContext* context,
                                                  const v1::GetAssociateRequest* request,
                                                  v1::GetAssociateResponse* response) {
  return frame_.Run(*context, request_checks::kSelfOrStaffOrService,
                    [&](const Principal& caller) -> absl::Status {
                      LC_ASSIGN_OR_RETURN(int64_t id,
                                          Whose(caller, "associate_id", request->associate_id()));
                      if (id == 0) return InvalidField("associate_id", "is required");
                      LC_ASSIGN_OR_RETURN(*response->mutable_associate(),
                                          store_.GetAssociate(caller.brand_id, id));
                      return absl::OkStatus();
                    });
}

grpc::Status AttributionServiceImpl::ListAssociates(grpc::ServerContext* context,
                                                    const v1::ListAssociatesRequest* request,
                                                    v1::ListAssociatesResponse* response) {
  return frame_.Run(
      *context, request_checks::kOpsOrFinance, [&](const Principal& caller) -> absl::Status {
        int64_t store_id = 0;
        if (!request->store_id().empty()) {
          LC_ASSIGN_OR_RETURN(store_id, common::ParseId("store_id", request->store_id()));
          LC_RETURN_IF_ERROR(KnownStore(caller.brand_id, "store_id", store_id));
        }
        if (!v1::AssociateStatus_IsValid(request->status())) {
          return InvalidField("status", "is not an associate status");
        }
        LC_ASSIGN_OR_RETURN(common::PageRequest page, Page(*request));
        LC_ASSIGN_OR_RETURN(std::vector<v1::Associate> list,
                            store_.ListAssociates(caller.brand_id, store_id, request->status(),
                                                  page.after, page.fetch()));
        if (common::TrimPage(list, page.limit)) {
          response->set_next_page_token(common::EncodePageToken(IdOf(list.back().id())));
        }
        for (v1::Associate& a : list) *response->add_associates() = std::move(a);
        return absl::OkStatus();
      });
}

}  // namespace livecommerce::attribution
