// AttributionServiceImpl: client activity, associate alerts (listed and watched), the unpaid order
// watch and the clients watching a room.
#include <chrono>

#include "absl/strings/str_cat.h"
#include "services/attribution/api/attribution_service.h"
#include "services/attribution/api/request_checks.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"

namespace livecommerce::attribution {

using common::InvalidField;
using common::Principal;
using request_checks::IdOf;
using request_checks::kMaxPageSize;
using request_checks::ValidateExternalId;
using request_checks::ValidateMoney;
using request_checks::ValidateViewerId;

void AttributionServiceImpl::EndWatches() {
  {
    std::lock_guard<std::mutex> lock(alerts_mu_);
    watches_ended_ = true;
  }
  alerts_cv_.notify_all();
}

void AttributionServiceImpl::NotifyAlerts() {
  {
    std::lock_guard<std::mutex> lock(alerts_mu_);
    ++alerts_generation_;
  }
  alerts_cv_.notify_all();
}

grpc::Status AttributionServiceImpl::RecordClientActivity(
    grpc::ServerContext* context, const v1::RecordClientActivityRequest* request,
    v1::RecordClientActivityResponse* response) {
  return frame_.Run(
      *context, request_checks::kService, [&](const Principal& caller) -> absl::Status {
        LC_RETURN_IF_ERROR(ValidateViewerId("viewer_id", request->viewer_id()));
        LC_RETURN_IF_ERROR(ValidateExternalId("room_id", request->room_id(), false));
        LC_RETURN_IF_ERROR(ValidateExternalId("session_id", request->session_id(), false));
        LC_RETURN_IF_ERROR(ValidateExternalId("sku_id", request->sku_id(), false));
        v1::ActivityKind kind = request->kind();
        if (kind == v1::ACTIVITY_KIND_UNSPECIFIED || !v1::ActivityKind_IsValid(kind)) {
          return InvalidField("kind", "is not an activity kind");
        }
        bool livestream = kind == v1::ACTIVITY_KIND_JOINED_LIVESTREAM ||
                          kind == v1::ACTIVITY_KIND_LEFT_LIVESTREAM;
        if (livestream && request->room_id().empty()) return InvalidField("room_id", "is required");
        if (!request->room_id().empty()) {
          LC_RETURN_IF_ERROR(KnownRoom(caller.brand_id, "room_id", request->room_id()));
        }
        LC_RETURN_IF_ERROR(ValidateExternalId("order_id", request->order_id(),
                                              kind == v1::ACTIVITY_KIND_ORDER_CREATED));
        if (request->has_amount()) LC_RETURN_IF_ERROR(ValidateMoney("amount", request->amount()));
        absl::Time at = clock_.Now();
        if (request->has_occurred_at()) {
          LC_ASSIGN_OR_RETURN(at, common::ParseTimestamp("occurred_at", request->occurred_at()));
        }
        // Alerts go to the associate the viewer is bound to at the time.
        LC_ASSIGN_OR_RETURN(std::optional<BindingFact> binding,
                            store_.BindingAt(caller.brand_id, request->viewer_id(), at));
        bool bound =
            binding.has_value() && binding->associate.active && BindingInForce(*binding, at);
        if (kind == v1::ACTIVITY_KIND_LEFT_LIVESTREAM) {
          return store_.SetPresence(caller.brand_id, request->room_id(), request->viewer_id(),
                                    bound ? binding->associate.id : 0, Presence::kAbsent, at);
        }
        if (!bound) return absl::OkStatus();
        v1::Alert alert;
        alert.set_associate_id(absl::StrCat(binding->associate.id));
        alert.set_viewer_id(request->viewer_id());
        alert.set_room_id(request->room_id());
        alert.set_session_id(request->session_id());
        alert.set_order_id(request->order_id());
        alert.set_sku_id(request->sku_id());
        if (request->has_amount()) *alert.mutable_amount() = request->amount();
        common::ToTimestamp(at, alert.mutable_occurred_at());
        std::string dedupe;
        switch (kind) {
          case v1::ACTIVITY_KIND_JOINED_LIVESTREAM:
            LC_RETURN_IF_ERROR(store_.SetPresence(caller.brand_id, request->room_id(),
                                                  request->viewer_id(), binding->associate.id,
                                                  Presence::kPresent, at));
            alert.set_kind(v1::ALERT_KIND_JOINED_LIVESTREAM);
            if (!request->session_id().empty()) {
              dedupe = absl::StrCat("joined:", request->session_id(), ":", request->viewer_id());
            }
            break;
          case v1::ACTIVITY_KIND_ADDED_TO_CART:
            alert.set_kind(v1::ALERT_KIND_ADDED_TO_CART);
            break;
          case v1::ACTIVITY_KIND_ORDER_CREATED:
            // Alerted later by AlertUnpaidOnce if it stays unpaid.
            return store_.WatchUnpaidOrder(caller.brand_id, alert);
          default:
            return absl::OkStatus();
        }
        LC_ASSIGN_OR_RETURN(*response->mutable_alert(),
                            store_.AddAlert(caller.brand_id, alert, dedupe));
        NotifyAlerts();
        return absl::OkStatus();
      });
}

grpc::Status AttributionServiceImpl::ListAlerts(grpc::ServerContext* context,
                                                const v1::ListAlertsRequest* request,
                                                v1::ListAlertsResponse* response) {
  return frame_.Run(
      *context, request_checks::kAssociate, [&](const Principal& caller) -> absl::Status {
        int64_t self = IdOf(caller.subject);
        int64_t after = 0;
        if (!request->after_id().empty()) {
          LC_ASSIGN_OR_RETURN(after, common::ParseId("after_id", request->after_id()));
        }
        LC_ASSIGN_OR_RETURN(
            int limit,
            common::PageSize(request->page_size(), request_checks::kDefaultPageSize, kMaxPageSize));
        LC_ASSIGN_OR_RETURN(std::vector<v1::Alert> alerts,
                            store_.ListAlerts(caller.brand_id, self, after, limit));
        for (v1::Alert& a : alerts) *response->add_alerts() = std::move(a);
        return absl::OkStatus();
      });
}

grpc::Status AttributionServiceImpl::WatchAlerts(
    grpc::ServerContext* context, const v1::WatchAlertsRequest* request,
    grpc::ServerWriter<v1::WatchAlertsResponse>* writer) {
  return frame_.Run(
      *context, request_checks::kAssociate, [&](const Principal& caller) -> absl::Status {
        int64_t self = IdOf(caller.subject);
        int64_t after = 0;
        if (!request->after_id().empty()) {
          LC_ASSIGN_OR_RETURN(after, common::ParseId("after_id", request->after_id()));
        }
        // Tells the caller the stream is accepted before there is anything to send (the gateway
        // confirms the subscription to its WebSocket then). The marker tells this from the empty
        // initial metadata of a refusal.
        context->AddInitialMetadata("x-lc-stream", "open");
        writer->SendInitialMetadata();
        // Pushes new alerts as they are recorded here, and polls MySQL every second for those
        // recorded by other instances.
        while (!context->IsCancelled()) {
          uint64_t generation;
          {
            std::lock_guard<std::mutex> lock(alerts_mu_);
            if (watches_ended_) break;
            generation = alerts_generation_;
          }
          LC_ASSIGN_OR_RETURN(std::vector<v1::Alert> alerts,
                              store_.ListAlerts(caller.brand_id, self, after, kMaxPageSize));
          if (!alerts.empty()) {
            v1::WatchAlertsResponse batch;
            for (v1::Alert& a : alerts) *batch.add_alerts() = std::move(a);
            after = IdOf(batch.alerts(batch.alerts_size() - 1).id());
            if (!writer->Write(batch)) return absl::OkStatus();
            continue;
          }
          std::unique_lock<std::mutex> lock(alerts_mu_);
          alerts_cv_.wait_for(lock, std::chrono::seconds(1),
                              [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(alerts_mu_) {
                                return alerts_generation_ != generation || watches_ended_;
                              });
        }
        return absl::OkStatus();
      });
}

grpc::Status AttributionServiceImpl::ListWatchingClients(
    grpc::ServerContext* context, const v1::ListWatchingClientsRequest* request,
    v1::ListWatchingClientsResponse* response) {
  return frame_.Run(
      *context, request_checks::kAssociate, [&](const Principal& caller) -> absl::Status {
        LC_RETURN_IF_ERROR(ValidateExternalId("room_id", request->room_id(), true));
        LC_RETURN_IF_ERROR(KnownRoom(caller.brand_id, "room_id", request->room_id()));
        LC_ASSIGN_OR_RETURN(
            std::vector<std::string> viewers,
            store_.WatchingClients(caller.brand_id, IdOf(caller.subject), request->room_id()));
        for (std::string& v : viewers) response->add_viewer_ids(std::move(v));
        common::ToTimestamp(clock_.Now(), response->mutable_as_of());
        return absl::OkStatus();
      });
}

absl::StatusOr<int> AttributionServiceImpl::AlertUnpaidOnce() {
  LC_ASSIGN_OR_RETURN(int raised,
                      store_.AlertUnpaidOrders(clock_.Now() - options_.unpaid_alert_after));
  if (raised > 0) NotifyAlerts();
  return raised;
}

}  // namespace livecommerce::attribution
