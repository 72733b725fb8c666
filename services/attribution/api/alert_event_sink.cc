#include "services/attribution/api/alert_event_sink.h"

namespace livecommerce::attribution {

grpc::Status AlertEventSink::DeliverEvents(grpc::ServerContext* context,
                                           const events::v1::DeliverEventsRequest* request,
                                           events::v1::DeliverEventsResponse* response) {
  grpc::Status status = sink_.DeliverEvents(context, request, response);
  // What was applied has committed by now, failure or not (the applied ids say what).
  if (raised_.exchange(false, std::memory_order_relaxed) && wake_) wake_();
  return status;
}

}  // namespace livecommerce::attribution
