#include "services/report/api/report_service.h"

#include "absl/strings/str_cat.h"
#include "livecommerce/v1/order.pb.h"
#include "services/common/log_format.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"

namespace livecommerce::report {
namespace {

using common::InvalidField;
using common::Principal;
using common::Role;

constexpr common::Roles kReaders{Role::kOps, Role::kFinance, Role::kService};
constexpr int kDefaultLimit = 1000;
constexpr int kMaxLimit = 10000;

}  // namespace

void ReportServiceImpl::FillLive(SessionRow& row) {
  if (!row.live) return;
  absl::StatusOr<LiveFigures> figures = live_.Figures(row.brand_id, row.room_id);
  if (!figures.ok()) {
    spdlog::warn("session {}: live figures unavailable: {}", row.session_id,
                 figures.status().message());
    return;
  }
  row.reach = figures->reach;
  row.peak_concurrency = figures->peak_concurrency;
  row.total_joins = figures->total_joins;
  row.watch_ms = figures->watch_ms;
  row.duration_seconds = absl::ToInt64Seconds(clock_.Now() - row.started_at);
}

grpc::Status ReportServiceImpl::GetSessionReport(grpc::ServerContext* context,
                                                 const v1::GetSessionReportRequest* request,
                                                 v1::GetSessionReportResponse* response) {
  return frame_.Run(*context, kReaders, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(int64_t session_id, common::ParseId("session_id", request->session_id()));
    LC_ASSIGN_OR_RETURN(std::optional<SessionRow> row, store_.GetSession(session_id));
    // Another brand's session is as unknown as a missing one.
    if (!row.has_value() || row->brand_id != caller.brand_id) {
      return absl::NotFoundError("session_id: no such session");
    }
    FillLive(*row);
    v1::SessionReport* out = response->mutable_report();
    ToProto(*row, out);
    LC_ASSIGN_OR_RETURN(auto steps, store_.GetFunnel(session_id));
    v1::Funnel* funnel = out->mutable_funnel();
    funnel->set_joined(row->reach);
    funnel->set_viewed_product(steps[kViewedProduct]);
    funnel->set_added_to_cart(steps[kAddedToCart]);
    funnel->set_checked_out(steps[kCheckedOut]);
    funnel->set_paid(row->sales.buyers);
    funnel->set_invited(row->engagement.invited);
    funnel->set_reserved(row->engagement.reserved);
    funnel->set_reminded(row->engagement.reminded);
    funnel->set_replay_viewers(row->engagement.replay_viewers);
    LC_ASSIGN_OR_RETURN(std::vector<BreakdownRow> breakdowns, store_.GetBreakdowns(session_id));
    for (const BreakdownRow& b : breakdowns) {
      v1::SalesBreakdown* item = nullptr;
      std::string key = b.key;
      switch (b.dimension) {
        case kChannel:
          item = out->add_by_channel();
          break;
        case kAssociate:
          item = out->add_by_associate();
          break;
        case kProduct:
          item = out->add_by_product();
          break;
        case kBroadcast:
          item = out->add_by_broadcast();
          (key == BroadcastKey(v1::BROADCAST_REPLAY) ? funnel->set_bought_replay(b.sales.buyers)
                                                     : funnel->set_bought_live(b.sales.buyers));
          break;
        case kAssociateBroadcast: {
          item = out->add_by_associate_broadcast();
          size_t bar = key.rfind('|');
          if (bar != std::string::npos) {
            item->set_broadcast(key.substr(bar + 1));
            key.resize(bar);
          }
          break;
        }
        case kWhole:
          continue;
      }
      item->set_key(key);
      ToProto(b.sales, b.currency, item->mutable_sales());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<SessionRow>> ReportServiceImpl::Matching(
    const Principal& caller, const v1::ListSessionReportsRequest& request) {
  LC_RETURN_IF_ERROR(common::RequireRole(caller, request.brand_id(),
                                         {Role::kOps, Role::kFinance, Role::kService}));
  if (!request.has_from()) return InvalidField("from", "is required");
  if (!request.has_to()) return InvalidField("to", "is required");
  absl::Time from = common::FromTimestamp(request.from());
  absl::Time to = common::FromTimestamp(request.to());
  if (to <= from) return InvalidField("to", "must be after from");
  if (to - from > absl::Hours(24 * 400)) return InvalidField("to", "at most 400 days after from");
  if (!v1::Visibility_IsValid(request.visibility())) {
    return InvalidField("visibility", "is not a visibility");
  }
  if (!v1::Audience_IsValid(request.audience())) return InvalidField("audience", "is unknown");
  if (!v1::Objective_IsValid(request.objective())) return InvalidField("objective", "is unknown");
  if (!v1::Format_IsValid(request.format())) return InvalidField("format", "is unknown");
  if (!v1::SessionSort_IsValid(request.sort())) return InvalidField("sort", "is unknown");
  if (request.limit() < 0 || request.limit() > kMaxLimit) {
    return InvalidField("limit", absl::StrCat("must be between 1 and ", kMaxLimit));
  }
  LC_ASSIGN_OR_RETURN(std::vector<SessionRow> all,
                      store_.ListSessions(request.brand_id(), from, to));
  std::vector<SessionRow> rows;
  for (SessionRow& row : all) {
    if (!Matches(row, request)) continue;
    FillLive(row);
    rows.push_back(std::move(row));
  }
  Sort(rows, request.sort());
  return rows;
}

grpc::Status ReportServiceImpl::ListSessionReports(grpc::ServerContext* context,
                                                   const v1::ListSessionReportsRequest* request,
                                                   v1::ListSessionReportsResponse* response) {
  return frame_.Run(*context, kReaders, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(std::vector<SessionRow> rows, Matching(caller, *request));
    response->set_matched(static_cast<int64_t>(rows.size()));
    for (v1::SegmentSummary& s : Segments(rows)) *response->add_segments() = std::move(s);
    Correlation correlation = ReachConversionCorrelation(rows);
    response->set_reach_conversion_correlation(correlation.r);
    response->set_correlation_sample_size(correlation.sample_size);
    response->set_interaction_conversion_correlation(InteractionConversionCorrelation(rows).r);
    size_t limit = static_cast<size_t>(request->limit() == 0 ? kDefaultLimit : request->limit());
    for (size_t i = 0; i < rows.size() && i < limit; ++i) {
      ToProto(rows[i], response->add_sessions());
    }
    return absl::OkStatus();
  });
}

grpc::Status ReportServiceImpl::ExportSessionReportsCsv(
    grpc::ServerContext* context, const v1::ListSessionReportsRequest* request,
    v1::ExportSessionReportsCsvResponse* response) {
  return frame_.Run(*context, kReaders, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(std::vector<SessionRow> rows, Matching(caller, *request));
    size_t limit = static_cast<size_t>(request->limit() == 0 ? kMaxLimit : request->limit());
    if (rows.size() > limit) rows.resize(limit);
    response->set_csv(ToCsv(rows));
    return absl::OkStatus();
  });
}

grpc::Status ReportServiceImpl::RecordProductView(grpc::ServerContext* context,
                                                  const v1::RecordProductViewRequest* request,
                                                  v1::RecordProductViewResponse* response) {
  return frame_.Run(*context, {Role::kViewer}, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(int64_t session_id, common::ParseId("session_id", request->session_id()));
    LC_RETURN_IF_ERROR(common::ParseId("product_id", request->product_id()).status());
    // Only a session of the viewer's brand counts (another brand's is as unknown as none).
    LC_ASSIGN_OR_RETURN(std::optional<SessionRow> row, store_.GetSession(session_id));
    if (!row.has_value() || row->brand_id != caller.brand_id) {
      return absl::NotFoundError("session_id: no such session");
    }
    // A private session's funnel counts only the viewers its room admits (invited ones).
    if (row->visibility != v1::VISIBILITY_PUBLIC) {
      LC_ASSIGN_OR_RETURN(bool admitted,
                          live_.Admitted(row->brand_id, row->room_id, caller.subject));
      if (!admitted) {
        return absl::PermissionDeniedError("session_id: this room is private; an invite is needed");
      }
    }
    return store_.RecordFunnel(
        {FunnelFact{session_id, kViewedProduct, caller.subject, caller.brand_id}});
  });
}

grpc::Status ReportServiceImpl::RecordFunnelEvents(grpc::ServerContext* context,
                                                   const v1::RecordFunnelEventsRequest* request,
                                                   v1::RecordFunnelEventsResponse* response) {
  return frame_.Run(*context, common::kServiceOnly, [&](const Principal& caller) -> absl::Status {
    if (request->events_size() < 1 || request->events_size() > 500) {
      return InvalidField("events", "must hold 1 to 500 events");
    }
    std::vector<FunnelFact> facts;
    for (int i = 0; i < request->events_size(); ++i) {
      const v1::FunnelEvent& e = request->events(i);
      std::string field = absl::StrCat("events[", i, "]");
      FunnelFact fact;
      LC_ASSIGN_OR_RETURN(fact.session_id,
                          common::ParseId(absl::StrCat(field, ".session_id"), e.session_id()));
      if (!common::IsValidId(e.viewer_id())) {
        return InvalidField(absl::StrCat(field, ".viewer_id"), "is not a valid viewer id");
      }
      fact.viewer_id = e.viewer_id();
      fact.brand_id = caller.brand_id;  // another brand's session (or none) counts nothing
      if (e.step() == v1::FUNNEL_STEP_VIEWED_PRODUCT) {
        fact.step = kViewedProduct;
      } else if (e.step() == v1::FUNNEL_STEP_ADDED_TO_CART) {
        fact.step = kAddedToCart;
      } else {
        return InvalidField(absl::StrCat(field, ".step"), "is not a funnel step");
      }
      facts.push_back(std::move(fact));
    }
    return store_.RecordFunnel(facts);
  });
}

}  // namespace livecommerce::report
