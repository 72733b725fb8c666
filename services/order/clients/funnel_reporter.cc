#include "services/order/clients/funnel_reporter.h"

#include "absl/time/clock.h"
#include "services/common/service_client.h"

namespace livecommerce::order {

void GrpcFunnelReporter::AddedToCart(const std::string& brand_id, const std::string& viewer_id,
                                     const std::string& session_id) {
  v1::RecordFunnelEventsRequest request;
  v1::FunnelEvent* event = request.add_events();
  event->set_session_id(session_id);
  event->set_viewer_id(viewer_id);
  event->set_step(v1::FUNNEL_STEP_ADDED_TO_CART);
  calls_.Call<v1::RecordFunnelEventsRequest, v1::RecordFunnelEventsResponse>(
      common::ServiceCallContext(codec_, brand_id, "order", absl::Seconds(5)), std::move(request),
      [this](grpc::ClientContext* context, const v1::RecordFunnelEventsRequest* r,
             v1::RecordFunnelEventsResponse* response, std::function<void(grpc::Status)> done) {
        stub_->async()->RecordFunnelEvents(context, r, response, std::move(done));
      });
}

}  // namespace livecommerce::order
