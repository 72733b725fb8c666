#include "services/common/service_client.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/common/admission.h"
#include "services/common/request_id.h"
#include "services/common/status.h"

namespace livecommerce::common {

std::shared_ptr<grpc::Channel> ServiceChannel(const std::string& address, int index) {
  grpc::ChannelArguments args;
  args.SetLoadBalancingPolicyName("round_robin");
  args.SetInt("lc.connection", index);  // distinct arguments: a connection of its own
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

std::unique_ptr<grpc::ClientContext> ServiceCallContext(const PrincipalCodec& codec,
                                                        const std::string& brand_id,
                                                        const std::string& caller,
                                                        absl::Duration timeout, absl::Time now) {
  auto context = std::make_unique<grpc::ClientContext>();
  // The principal outlives the call by a margin so a slow peer still sees it valid.
  Principal principal{Role::kService, brand_id, caller, now + timeout + absl::Minutes(1)};
  AttachPrincipal(*context, codec.Encode(principal));
  // The request this thread is handling goes on with the call, so one id follows it everywhere.
  if (absl::string_view id = CurrentRequestId(); !id.empty()) {
    context->AddMetadata(kRequestIdMetadata, std::string(id));
  }
  // Never longer than the call this one serves has left: its caller will not wait for more.
  absl::Time deadline = std::min(absl::Now() + timeout, CurrentDeadline());
  context->set_deadline(absl::ToChronoTime(deadline));
  return context;
}

absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view peer) {
  if (status.ok()) {
    return absl::OkStatus();
  }
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
      return absl::UnavailableError(absl::StrCat(peer, " unavailable"));
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      // gRPC's own (the peer's threads or memory are exhausted): the peer is overloaded, which
      // must not reach the user as their own limit.
      // The peer's admission refused the call: overloaded too, with the peer's hint.
      if (std::optional<absl::Duration> retry = OverloadRetryAfter(status)) {
        return Overloaded(peer, *retry);
      }
      if (!IsServiceAnswer(status)) {
        return absl::UnavailableError(absl::StrCat(peer, " overloaded"));
      }
      return absl::ResourceExhaustedError(status.error_message());
    default:
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          status.error_message());
  }
}

}  // namespace livecommerce::common
