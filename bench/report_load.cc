// Load for the report service: seeds a brand with --sessions ended sessions (a handful of paid
// orders each) and one big session with --events paid orders, all written as the room and order
// services write them (server-side, from MariaDB's sequence tables), waits until the running
// report service has applied every paid order to its aggregates, then reads:
//   - the cross-session report over every session of the brand (--rounds times);
//   - the big session's report (--rounds times);
//   - for reference, the raw scan a report without aggregates would make (the big session's
//     conversions summed), a few times.
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
  std::string brand = absl::StrCat("bench-report-", absl::ToUnixSeconds(absl::Now()));
  absl::Time day = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) / 86400 * 86400) -
                   absl::Hours(24 * 30);
  std::string t0 = common::ToSqlTime(day);
  int64_t big_session = 0;
  auto seed_started = Clock::now();
  absl::Status seeded = (*pool)->Run([&](MysqlConnection& c) -> absl::Status {
    auto exec = [&](const std::string& sql, const std::vector<std::string>& params) {
      sql::PreparedStatement& s = c.Prepare(sql);
      for (size_t i = 0; i < params.size(); ++i) s.setString(static_cast<int>(i + 1), params[i]);
      s.executeUpdate();
    };
    // 100 rooms of varied settings; sessions spread over 30 days, reach from 100 to 100,000.
    exec(
        "INSERT INTO rooms (brand_id, title, description, scheduled_start, visibility, audiences, "
        "objective, format, status, created_by, created_at, updated_at) SELECT ?, CONCAT('Room ', "
        "seq), '', ?, 1 + seq % 2, 1 << (1 + seq % 3), 1 + seq % 2, 1 + (seq DIV 2) % 2, 3, "
        "'bench', ?, ? FROM seq_1_to_100",
        {brand, t0, t0, t0});
    int64_t first_room = c.LastInsertId();
    exec(absl::StrCat("INSERT INTO room_sessions (brand_id, room_id, status, presence_buckets, "
                      "started_at, ended_at, reach, peak_concurrency, total_joins, "
                      "duration_seconds) SELECT ?, ? + seq % 100, 2, 4, ? + INTERVAL (seq * 250) "
                      "SECOND, ? + INTERVAL (seq * 250 + 3600) SECOND, 100 + (seq * 7919) % "
                      "99900, 10 + seq % 1000, 150 + (seq * 7919) % 150000, 3600 FROM seq_1_to_",
                      o.sessions),
         {brand, absl::StrCat(first_room), t0, t0});
    int64_t first_session = c.LastInsertId();
    big_session = first_session + o.sessions - 1;
    // Paid orders: 5 in each session, and --events in the big one; 1,000 distinct buyers.
    for (const auto& [count, session_expr] : std::vector<std::pair<int64_t, std::string>>{
             {static_cast<int64_t>(o.sessions) * 5,
              absl::StrCat(first_session, " + seq % ", o.sessions)},
             {o.events, absl::StrCat(big_session)}}) {
      for (int64_t done = 0; done < count; done += 100000) {
        int64_t n = std::min<int64_t>(100000, count - done);
        exec(absl::StrCat(
                 "INSERT INTO orders (brand_id, buyer_id, idempotency_key, request_hash, status, "
                 "total_fen, session_id, channel, associate_id, address, provider, paid_at, "
                 "created_at, updated_at) SELECT ?, CONCAT('buyer-', seq % 1000), CONCAT('k', ?, "
                 "'-', seq), REPEAT('0', 64), 2, 10000 + seq % 90000, ",
                 session_expr,
                 ", 1 + seq % 6, CONCAT('sa-', seq % 50), '', 1, ?, ?, ? FROM seq_1_to_", n),
             {brand, absl::StrCat(session_expr, done), t0, t0, t0});
        int64_t first_order = c.LastInsertId();
        exec(absl::StrCat("INSERT INTO order_lines (order_id, line_no, brand_id, product_id, "
                          "sku_id, quantity, unit_price_fen, line_total_fen, reservation_id) "
                          "SELECT id, 1, brand_id, 1 + id % 20, 1, 1, total_fen, total_fen, "
                          "CONCAT('o', id, '-l1') FROM orders WHERE id BETWEEN ? AND ?"),
             {absl::StrCat(first_order), absl::StrCat(first_order + n - 1)});
        exec(
            "INSERT INTO conversions (brand_id, order_id, session_id, buyer_id, amount_fen, "
            "currency, units, channel, associate_id, paid_at) SELECT brand_id, id, session_id, "
            "buyer_id, total_fen, 'CNY', 1, channel, associate_id, paid_at FROM orders WHERE id "
            "BETWEEN ? AND ?",
            {absl::StrCat(first_order), absl::StrCat(first_order + n - 1)});
      }
    }
    return absl::OkStatus();
  });
  if (!seeded.ok()) {
    std::fprintf(stderr, "seed: %s\n", std::string(seeded.message()).c_str());
    return 1;
  }
  double seed_s = MicrosSince(seed_started) / 1e6;
  // Wait for the report service to apply every paid order.
  int64_t total_events = static_cast<int64_t>(o.sessions) * 5 + o.events;
  auto consume_started = Clock::now();
  int64_t applied = 0;
  for (int i = 0; i < 36000 && applied < total_events; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    applied = *(*pool)->Run([&](MysqlConnection& c) -> absl::StatusOr<int64_t> {
      sql::PreparedStatement& s = c.Prepare(
          "SELECT COALESCE(SUM(orders), 0) FROM report_session_sales WHERE brand_id = ? AND "
          "dimension = 0");
      s.setString(1, brand);
      std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
      rs->next();
      return rs->getInt64(1);
    });
  }
  double consume_s = MicrosSince(consume_started) / 1e6;

  common::PrincipalCodec codec(common::LoadInternalSecret().value());
  std::string ops = codec.Encode(
      common::Principal{common::Role::kOps, brand, "bench-ops", absl::Now() + absl::Hours(2)});
  auto stub =
      v1::ReportService::NewStub(grpc::CreateChannel(o.report, grpc::InsecureChannelCredentials()));
  std::vector<uint32_t> across, session;
  int errors = 0;
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
          "SELECT COUNT(*), COUNT(DISTINCT buyer_id), SUM(amount_fen) FROM conversions WHERE "
          "brand_id = ? AND session_id = ?");
      s.setString(1, brand);
      s.setInt64(2, big_session);
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
      "matched=%lld events=%d big_session_orders=%lld applied=%lld seed_s=%.1f consume_s=%.1f "
      "consume_rate=%.0f errors=%d raw_scan_ms=%.2f\n",
      across_p50 > 0 ? 1000.0 / across_p50 : 0, across_p50, across_p99, session_p50, session_p99,
      static_cast<long long>(o.sessions), static_cast<long long>(matched), o.events,
      static_cast<long long>(big_orders), static_cast<long long>(applied), seed_s, consume_s,
      consume_s > 0 ? static_cast<double>(applied) / consume_s : 0, errors, raw_ms);
  return errors == 0 && applied == total_events ? 0 : 1;
}
