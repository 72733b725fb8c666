#pragma once

#include "livecommerce/v1/report.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/handler.h"
#include "services/common/principal.h"
#include "services/report/clients/live_stats.h"
#include "services/report/store/report_store.h"

namespace livecommerce::report {

// ReportService: session reports and reach versus conversion across sessions, for ops, finance
// and services of the brand. Sales come from the aggregates (MysqlReportStore), presence figures
// from the room service's session events (live ones asked of the room service).
class ReportServiceImpl final : public v1::ReportService::Service {
 public:
  ReportServiceImpl(MysqlReportStore& store, LiveStats& live, const common::Clock& clock,
                    const common::PrincipalCodec& codec)
      : store_(store), live_(live), clock_(clock), frame_(codec, clock) {}

  grpc::Status GetSessionReport(grpc::ServerContext* context,
                                const v1::GetSessionReportRequest* request,
                                v1::GetSessionReportResponse* response) override;
  grpc::Status ListSessionReports(grpc::ServerContext* context,
                                  const v1::ListSessionReportsRequest* request,
                                  v1::ListSessionReportsResponse* response) override;
  grpc::Status ExportSessionReportsCsv(grpc::ServerContext* context,
                                       const v1::ListSessionReportsRequest* request,
                                       v1::ExportSessionReportsCsvResponse* response) override;

  grpc::Status RecordProductView(grpc::ServerContext* context,
                                 const v1::RecordProductViewRequest* request,
                                 v1::RecordProductViewResponse* response) override;
  grpc::Status RecordFunnelEvents(grpc::ServerContext* context,
                                  const v1::RecordFunnelEventsRequest* request,
                                  v1::RecordFunnelEventsResponse* response) override;

 private:
  // Sessions of the request that match its filters, sorted as asked.
  absl::StatusOr<std::vector<SessionRow>> Matching(const common::Principal& caller,
                                                   const v1::ListSessionReportsRequest& request);
  // Live sessions take their presence figures from the room service.
  void FillLive(SessionRow& row);

  MysqlReportStore& store_;
  LiveStats& live_;
  const common::Clock& clock_;
  common::HandlerFrame frame_;
};

}  // namespace livecommerce::report
