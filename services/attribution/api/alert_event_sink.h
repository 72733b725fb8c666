#pragma once

#include <atomic>
#include <functional>

#include "livecommerce/events/v1/events.grpc.pb.h"
#include "services/common/events.h"
#include "services/common/handler.h"

namespace livecommerce::attribution {

// The attribution service's EventSink (docs/EVENTS.md): common::EventSinkService, which applies
// each delivered event once in the consumer's transaction, and then, when the delivery raised
// alerts, `wake` (the alert watchers), so that a watching associate is pushed a question as soon
// as it is committed rather than at their stream's next poll.
class AlertEventSink final : public events::v1::EventSink::Service {
 public:
  AlertEventSink(common::EventConsumer& consumer, const common::HandlerFrame& frame,
                 std::function<void()> wake)
      : sink_(consumer, frame), wake_(std::move(wake)) {}

  // Called by the consumer's handlers, inside their transaction, for each alert they write.
  void AlertRaised() { raised_.store(true, std::memory_order_relaxed); }

  grpc::Status DeliverEvents(grpc::ServerContext* context,
                             const events::v1::DeliverEventsRequest* request,
                             events::v1::DeliverEventsResponse* response) override;

 private:
  common::EventSinkService sink_;
  std::function<void()> wake_;
  // Set by a handler, taken after the delivery: a concurrent delivery may take it first, which
  // only wakes the watchers early (they then find the alert at their next wake or poll).
  std::atomic<bool> raised_{false};
};

}  // namespace livecommerce::attribution
