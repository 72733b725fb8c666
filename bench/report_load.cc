// Load for the report service: delivers to the running report service's EventSink, as the room and
// order services' relays would (one call of up to 1,000 events at a time), --sessions ended
// sessions (a handful of paid orders each) and one big session with --events paid orders; the
// consumer applies them into the report's aggregates as they arrive (consume_rate: events a
// second through the sink). Then it reads:
//   - the cross-session report over every session of the brand (--rounds times);
//   - the big session's report (--rounds times);
//   - for reference, the raw scan a report without aggregates would make (the big session's
//     paid orders summed, in the report's own table), a few times.
// Prints one line of key=value figures.
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "livecommerce/events/v1/events.grpc.pb.h"
#include "livecommerce/v1/report.grpc.pb.h"
#include "services/common/config.h"
#include "services/common/mysql_client.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"

namespace {

using Clock = std::chrono::steady_clock;
using livecommerce::common::MysqlConnection;

struct Options {
  std::string report = "127.0.0.1:7105";
  int sessions = 10000;
  int events = 1000000;
  int rounds = 50;
};

uint32_t MicrosSince(Clock::time_point start) {
  return static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace livecommerce;
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i], value = argv[i + 1];
    int* target = nullptr;
    if (key == "--report")
      o.report = value;
    else if (key == "--sessions")
      target = &o.sessions;
    else if (key == "--events")
      target = &o.events;
    else if (key == "--rounds")
      target = &o.rounds;
    if (target != nullptr && !absl::SimpleAtoi(value, target)) return 2;
  }
  auto config = common::LoadMysqlConfig();
  if (!config.ok()) return 2;
  auto pool = common::MysqlPool::Create(*config);
  if (!pool.ok()) {
    std::fprintf(stderr, "mysql: %s\n", std::string(pool.status().message()).c_str());
    return 1;
  }
  int64_t run = absl::ToUnixSeconds(absl::Now());
  std::string brand = absl::StrCat("bench-report-", run);
  absl::Time day = absl::FromUnixSeconds(run / 86400 * 86400) - absl::Hours(24 * 30);
  // Ids unique to this run (the report keeps what it applied across runs).
  const int64_t first_session = run * 100000;
  const int64_t big_session = first_session + o.sessions - 1;
  const int64_t first_order = run * 10000000;
  int64_t event_id = run * 10000000;

  common::PrincipalCodec codec(common::LoadInternalSecret().value());
  auto channel = grpc::CreateChannel(o.report, grpc::InsecureChannelCredentials());
  auto sink = events::v1::EventSink::NewStub(channel);
  std::string producer_principal = codec.Encode(common::Principal{
      common::Role::kService, brand, "bench-relay", absl::Now() + absl::Hours(6)});
  int errors = 0;
  events::v1::DeliverEventsRequest call;
  int64_t delivered = 0;
  auto flush = [&] {
    if (call.events_size() == 0) return;
    for (int attempt = 0; attempt < 5; ++attempt) {
      grpc::ClientContext context;
      common::AttachPrincipal(context, producer_principal);
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
      events::v1::DeliverEventsResponse out;
      grpc::Status s = sink->DeliverEvents(&context, call, &out);
      if (s.ok() && out.applied_ids_size() == call.events_size()) break;
      if (attempt == 4) ++errors;
    }
    delivered += call.events_size();
    call.Clear();
  };
  auto publish = [&](const std::string& producer, int64_t key,
                     const google::protobuf::Message& payload) {
    events::v1::Event* e = call.add_events();
    e->set_id(++event_id);
    e->set_producer(producer);
    e->set_type(payload.GetDescriptor()->full_name());
    e->set_brand_id(brand);
    e->set_key(absl::StrCat(key));
    e->set_payload(payload.SerializeAsString());
    if (call.events_size() == 1000) flush();
  };
  auto consume_started = Clock::now();
  // 100 rooms of varied settings; sessions spread over 30 days, reach from 100 to 100,000.
  for (int64_t seq = 1; seq <= o.sessions; ++seq) {
    int64_t room = seq % 100;
    events::v1::SessionStarted started;
    started.set_session_id(first_session + seq - 1);
    started.set_room_id(room + 1);
    started.set_title(absl::StrCat("Room ", room + 1));
    started.set_visibility(static_cast<int>(1 + room % 2));
    started.set_audiences(1u << (1 + room % 3));
    started.set_objective(static_cast<int>(1 + room % 2));
    started.set_format(static_cast<int>(1 + (room / 2) % 2));
    common::ToTimestamp(day + absl::Seconds(seq * 250), started.mutable_started_at());
    publish("room", started.session_id(), started);
    events::v1::SessionEnded ended;
    ended.set_session_id(started.session_id());
    ended.set_room_id(started.room_id());
    common::ToTimestamp(day + absl::Seconds(seq * 250 + 3600), ended.mutable_ended_at());
    ended.set_duration_seconds(3600);
    ended.set_reach(100 + (seq * 7919) % 99900);
    ended.set_peak_concurrency(10 + seq % 1000);
    ended.set_total_joins(150 + (seq * 7919) % 150000);
    publish("room", ended.session_id(), ended);
  }
  flush();
  // Paid orders: 5 in each session, and --events in the big one; 1,000 distinct buyers.
  int64_t order = first_order;
  for (const auto& [count, spread] : std::vector<std::pair<int64_t, bool>>{
           {static_cast<int64_t>(o.sessions) * 5, true}, {o.events, false}}) {
    for (int64_t seq = 1; seq <= count; ++seq) {
      events::v1::OrderPaid paid;
      paid.set_order_id(++order);
      paid.set_session_id(spread ? first_session + seq % o.sessions : big_session);
      paid.set_buyer_id(absl::StrCat("buyer-", seq % 1000));
      paid.set_channel(static_cast<int>(1 + seq % 6));
      paid.set_associate_id(absl::StrCat("sa-", seq % 50));
      paid.set_currency("CNY");
      int64_t amount = 10000 + seq % 90000;
      paid.set_amount_fen(amount);
      paid.set_units(1);
      events::v1::OrderLine* line = paid.add_lines();
      line->set_line_no(1);
      line->set_product_id(1 + order % 20);
      line->set_sku_id(1);
      line->set_quantity(1);
      line->set_unit_price_fen(amount);
      line->set_line_total_fen(amount);
      common::ToTimestamp(day, paid.mutable_paid_at());
      publish("order", order, paid);
    }
  }
  flush();
  double consume_s = MicrosSince(consume_started) / 1e6;
  int64_t total_events = static_cast<int64_t>(o.sessions) * 5 + o.events;
  int64_t applied = *(*pool)->Run([&](MysqlConnection& c) -> absl::StatusOr<int64_t> {
    sql::PreparedStatement& s = c.Prepare(
        "SELECT COALESCE(SUM(orders), 0) FROM report_session_sales WHERE brand_id = ? AND "
        "dimension = 0");
    s.setString(1, brand);
    std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
    rs->next();
    return rs->getInt64(1);
  });

  std::string ops = codec.Encode(
      common::Principal{common::Role::kOps, brand, "bench-ops", absl::Now() + absl::Hours(2)});
  auto stub = v1::ReportService::NewStub(channel);
  std::vector<uint32_t> across, session;
  int64_t matched = 0, big_orders = 0;
  for (int i = 0; i < o.rounds; ++i) {
    v1::ListSessionReportsRequest r;
    r.set_brand_id(brand);
    common::ToTimestamp(day - absl::Hours(1), r.mutable_from());
    common::ToTimestamp(day + absl::Hours(24 * 60), r.mutable_to());
    r.set_limit(10000);
    r.set_sort(v1::SESSION_SORT_CONVERSION);
    v1::ListSessionReportsResponse out;
    grpc::ClientContext context;
    common::AttachPrincipal(context, ops);
    auto start = Clock::now();
    if (!stub->ListSessionReports(&context, r, &out).ok()) ++errors;
    across.push_back(MicrosSince(start));
    matched = out.matched();
  }
  for (int i = 0; i < o.rounds; ++i) {
    v1::GetSessionReportRequest r;
    r.set_session_id(absl::StrCat(big_session));
    v1::GetSessionReportResponse out;
    grpc::ClientContext context;
    common::AttachPrincipal(context, ops);
    auto start = Clock::now();
    if (!stub->GetSessionReport(&context, r, &out).ok()) ++errors;
    session.push_back(MicrosSince(start));
    big_orders = out.report().sales().orders();
  }
  // Reference: what one report without aggregates would scan (the big session's raw rows).
  std::vector<uint32_t> raw;
  for (int i = 0; i < 3; ++i) {
    auto start = Clock::now();
    (void)(*pool)->Run([&](MysqlConnection& c) -> absl::Status {
      sql::PreparedStatement& s = c.Prepare(
          "SELECT COUNT(*), COUNT(DISTINCT buyer_id), SUM(amount_fen) FROM report_orders WHERE "
          "session_id = ?");
      s.setInt64(1, big_session);
      std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
      rs->next();
      return absl::OkStatus();
    });
    raw.push_back(MicrosSince(start));
  }
  double raw_ms = bench::PercentileMs(raw, 0.5);
  double across_p50 = bench::PercentileMs(across, 0.5),
         across_p99 = bench::PercentileMs(across, 0.99);
  double session_p50 = bench::PercentileMs(session, 0.5);
  double session_p99 = bench::PercentileMs(session, 0.99);
  std::printf(
      "rate=%.1f p50_ms=%.2f p99_ms=%.2f session_p50_ms=%.2f session_p99_ms=%.2f sessions=%lld "
      "matched=%lld events=%d big_session_orders=%lld applied=%lld delivered=%lld consume_s=%.1f "
      "consume_rate=%.0f errors=%d raw_scan_ms=%.2f\n",
      across_p50 > 0 ? 1000.0 / across_p50 : 0, across_p50, across_p99, session_p50, session_p99,
      static_cast<long long>(o.sessions), static_cast<long long>(matched), o.events,
      static_cast<long long>(big_orders), static_cast<long long>(applied),
      static_cast<long long>(delivered), consume_s,
      consume_s > 0 ? static_cast<double>(delivered) / consume_s : 0, errors, raw_ms);
  return errors == 0 && applied == total_events ? 0 : 1;
}
