#include "services/room/clients/associate_directory.h"

#include "absl/strings/str_cat.h"
#include "services/common/service_client.h"

namespace livecommerce::room {

GrpcAssociateDirectory::GrpcAssociateDirectory(std::shared_ptr<grpc::ChannelInterface> channel,
                                               const common::PrincipalCodec& codec,
                                               const common::Clock& clock, absl::Duration timeout,
                                               absl::Duration cache_ttl)
    : stub_(v1::AttributionService::NewStub(channel)),
      codec_(codec),
      clock_(clock),
      timeout_(timeout),
      known_(cache_ttl) {}

absl::Status GrpcAssociateDirectory::CheckAssociate(const std::string& brand_id,
                                                    const std::string& associate_id) {
  std::string key = absl::StrCat(brand_id, "|", associate_id);
  if (known_.Get(key).has_value()) return absl::OkStatus();
  v1::GetAssociateRequest request;
  request.set_associate_id(associate_id);
  v1::GetAssociateResponse response;
  auto context = common::ServiceCallContext(codec_, brand_id, "room", timeout_, clock_.Now());
  grpc::Status status = stub_->GetAssociate(context.get(), request, &response);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND ||
      status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    return absl::NotFoundError("associate_id: no such associate");
  }
  if (!status.ok()) return common::FromGrpcStatus(status, "attribution service");
  if (response.associate().brand_id() != brand_id) {
    return absl::NotFoundError("associate_id: no such associate");
  }
  known_.Put(key, true);
  return absl::OkStatus();
}

}  // namespace livecommerce::room
