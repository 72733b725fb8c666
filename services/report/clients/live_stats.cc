#include "services/report/clients/live_stats.h"

#include "absl/time/clock.h"
#include "services/common/proto_util.h"
#include "services/common/service_client.h"

namespace livecommerce::report {

absl::StatusOr<LiveFigures> GrpcLiveStats::Figures(const std::string& brand_id, int64_t room_id) {
  v1::GetRoomStatsRequest request;
  request.set_room_id(common::FormatId(room_id));
  v1::GetRoomStatsResponse response;
  auto context =
      common::ServiceCallContext(codec_, brand_id, "report", absl::Seconds(2), absl::Now());
  grpc::Status status = stub_->GetRoomStats(context.get(), request, &response);
  if (!status.ok()) return common::FromGrpcStatus(status, "room service");
  return LiveFigures{response.stats().reach(), response.stats().peak_concurrency(),
                     response.stats().total_joins(), response.stats().watch_seconds() * 1000};
}

absl::StatusOr<bool> GrpcLiveStats::Admitted(const std::string& brand_id, int64_t room_id,
                                             const std::string& viewer_id) {
  v1::GetViewerAccessRequest request;
  request.set_room_id(common::FormatId(room_id));
  request.set_viewer_id(viewer_id);
  v1::GetViewerAccessResponse response;
  auto context =
      common::ServiceCallContext(codec_, brand_id, "report", absl::Seconds(2), absl::Now());
  grpc::Status status = stub_->GetViewerAccess(context.get(), request, &response);
  if (!status.ok()) return common::FromGrpcStatus(status, "room service");
  return response.admitted();
}

}  // namespace livecommerce::report
