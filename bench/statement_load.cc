// Load generator for the `statement` scenario: a monthly finance statement over a large ledger.
// Seeds --entries ledger entries (default 1,000,000) for one brand, booked across one month, with
// multi-row INSERTs straight into MySQL (the same rows the service writes: sales, reversals and
// receivables for 200 associates in 20 stores and the two teams), and the daily totals the
// service keeps beside them. Then asks the attribution
// service, as finance, for the month's statement grouped by recipient (totals per recipient and
// per currency plus the first page of order lines), --repeat times one after the other, and checks
// every answer against what was seeded: entry count and net to the fen, and the same numbers every
// time (net_mismatch_fen, not_repeatable). Prints one line of key=value figures on stdout.
#include <cppconn/prepared_statement.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "livecommerce/v1/attribution.grpc.pb.h"
#include "services/common/config.h"
#include "services/common/mysql_client.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"

namespace {

namespace v1 = livecommerce::v1;
using livecommerce::common::MysqlConnection;
using Clock = std::chrono::steady_clock;

constexpr int kRowsPerInsert = 1000;
constexpr int kColumns = 17;

}  // namespace

int main(int argc, char** argv) {
  std::string target = "127.0.0.1:7104";
  std::string secret = "livecommerce-local-internal-secret";
  int entries = 1000000;
  int repeat = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i], value = argv[i + 1];
    if (key == "--target") {
      target = value;
    } else if (key == "--entries") {
      if (!absl::SimpleAtoi(value, &entries)) return 2;
    } else if (key == "--repeat") {
      if (!absl::SimpleAtoi(value, &repeat)) return 2;
    }
  }
  std::string brand =
      absl::StrCat("bench-stmt-", std::chrono::system_clock::now().time_since_epoch().count());
  auto config = livecommerce::common::LoadMysqlConfig();
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  config->pool_size = 2;
  config->io_timeout = absl::Seconds(300);
  auto pool = livecommerce::common::MysqlPool::Create(*config);
  if (!pool.ok()) {
    std::fprintf(stderr, "%s\n", std::string(pool.status().message()).c_str());
    return 1;
  }

  // The month: November 2026, entries spread evenly over it.
  absl::Time month = absl::FromCivil(absl::CivilSecond(2026, 11, 1, 0, 0, 0), absl::UTCTimeZone());
  absl::Time month_end =
      absl::FromCivil(absl::CivilSecond(2026, 12, 1, 0, 0, 0), absl::UTCTimeZone());
  absl::Duration step = (month_end - month) / entries;
  std::mt19937_64 rng(11);
  int64_t seeded_net = 0;
  auto seed_started = Clock::now();
  std::string insert =
      "INSERT INTO commission_entries (brand_id, order_id, kind, refund_id, reverses_entry_id, "
      "recipient, recipient_id, store_id, rule_id, rule_version, line_no, basis_points, base_fen, "
      "amount_fen, currency, booked_at, settle_at) VALUES ";
  for (int r = 0; r < kRowsPerInsert; ++r) {
    absl::StrAppend(&insert, r == 0 ? "" : ", ",
                    "(?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  }
  for (int done = 0; done < entries;) {
    int n = std::min(kRowsPerInsert, entries - done);
    absl::Status s = (*pool)->InTransaction([&](MysqlConnection& c) {
      sql::PreparedStatement& st = c.Prepare(n == kRowsPerInsert ? insert : [&] {
        std::string partial = insert.substr(0, insert.find("VALUES ") + 7);
        for (int r = 0; r < n; ++r) {
          absl::StrAppend(&partial, r == 0 ? "" : ", ",
                          "(?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        }
        return partial;
      }());
      for (int r = 0; r < n; ++r) {
        int k = done + r;
        int order = k / 4, line = k % 4;
        int associate = order % 200 + 1;
        int store = associate % 20 + 1;
        int64_t base = std::uniform_int_distribution<int64_t>(1000, 5000000)(rng);
        // Every 50th order is refunded: its four entries are reversals (or receivables).
        int kind = order % 50 == 7 ? (order % 100 == 7 ? 3 : 2) : 1;
        static const int kRecipient[] = {1, 4, 5, 6};
        static const int kBp[] = {500, 200, 100, 50};
        int64_t amount = base * kBp[line] / 10000;
        if (kind != 1) amount = -amount;
        seeded_net += amount;
        std::string recipient_id = line == 0   ? absl::StrCat(associate)
                                   : line == 1 ? absl::StrCat(store)
                                               : "";
        absl::Time booked = month + step * k;
        int b = r * (kColumns - 1);  // reverses_entry_id is the literal NULL
        st.setString(b + 1, brand);
        st.setString(b + 2, absl::StrCat("so", order));
        st.setInt(b + 3, kind);
        st.setString(b + 4, kind == 1 ? "" : "rf-1");
        st.setInt(b + 5, kRecipient[line]);
        st.setString(b + 6, recipient_id);
        st.setInt64(b + 7, store);
        st.setInt64(b + 8, 1);
        st.setInt(b + 9, 1);
        st.setInt(b + 10, line);
        st.setInt(b + 11, kBp[line]);
        st.setInt64(b + 12, base);
        st.setInt64(b + 13, amount);
        st.setString(b + 14, "CNY");
        st.setDateTime(b + 15, livecommerce::common::ToSqlTime(booked));
        st.setDateTime(b + 16, livecommerce::common::ToSqlTime(booked + absl::Hours(24 * 7)));
      }
      st.executeUpdate();
      return absl::OkStatus();
    });
    if (!s.ok()) {
      std::fprintf(stderr, "seeding: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    done += n;
  }
  // The daily totals the service keeps in the same transactions as its entries.
  absl::Status totals = (*pool)->Run([&](MysqlConnection& c) {
    sql::PreparedStatement& st = c.Prepare(
        "INSERT INTO commission_daily_totals (brand_id, day, recipient, recipient_id, store_id, "
        "currency, kind, settle_day, amount_fen, entries) SELECT brand_id, DATE(booked_at), "
        "recipient, recipient_id, store_id, currency, kind, DATE(settle_at), SUM(amount_fen), "
        "COUNT(*) FROM commission_entries WHERE brand_id = ? GROUP BY brand_id, DATE(booked_at), "
        "recipient, recipient_id, store_id, currency, kind, DATE(settle_at)");
    st.setString(1, brand);
    st.executeUpdate();
    return absl::OkStatus();
  });
  if (!totals.ok()) {
    std::fprintf(stderr, "daily totals: %s\n", std::string(totals.message()).c_str());
    return 1;
  }
  double seed_s = std::chrono::duration<double>(Clock::now() - seed_started).count();
  std::fprintf(stderr, "seeded %d entries in %.1f s\n", entries, seed_s);
  (void)(*pool)->Run([](MysqlConnection& c) {
    c.Execute("ANALYZE TABLE commission_entries");
    return absl::OkStatus();
  });

  livecommerce::common::PrincipalCodec codec(secret);
  std::string finance = codec.Encode(livecommerce::common::Principal{
      livecommerce::common::Role::kFinance, brand, "bench-finance", absl::Now() + absl::Hours(6)});
  auto stub = v1::AttributionService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  v1::GetStatementRequest request;
  livecommerce::common::ToTimestamp(month, request.mutable_period_start());
  livecommerce::common::ToTimestamp(month_end, request.mutable_period_end());
  request.set_grouping(v1::STATEMENT_GROUPING_RECIPIENT);
  request.set_page_size(100);
  std::vector<uint32_t> latencies;
  int64_t errors = 0, not_repeatable = 0, net_mismatch = 0, entries_seen = 0, groups = 0;
  std::string first;
  auto started = Clock::now();
  for (int i = 0; i < repeat; ++i) {
    grpc::ClientContext context;
    livecommerce::common::AttachPrincipal(context, finance);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::GetStatementResponse response;
    auto t0 = Clock::now();
    grpc::Status s = stub->GetStatement(&context, request, &response);
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
    if (!s.ok()) {
      if (errors++ < 3) std::fprintf(stderr, "GetStatement: %s\n", s.error_message().c_str());
      continue;
    }
    latencies.push_back(static_cast<uint32_t>(micros));
    int64_t net = 0;
    entries_seen = 0;
    for (const v1::StatementTotals& t : response.statement().totals()) {
      net += t.net_fen();
      entries_seen += t.entries();
    }
    groups = response.statement().groups_size();
    net_mismatch = net - seeded_net;
    // settled_through moves with the settlement job; the numbers must not.
    response.mutable_statement()->clear_settled_through();
    for (v1::StatementGroup& g : *response.mutable_statement()->mutable_groups()) {
      g.mutable_totals()->set_pending_fen(0);
      g.mutable_totals()->set_settled_fen(0);
    }
    for (v1::StatementTotals& t : *response.mutable_statement()->mutable_totals()) {
      t.set_pending_fen(0);
      t.set_settled_fen(0);
    }
    std::string bytes = response.SerializeAsString();
    if (first.empty()) {
      first = bytes;
    } else if (bytes != first) {
      ++not_repeatable;
    }
  }
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  double p50 = livecommerce::bench::PercentileMs(latencies, 0.5);
  double p99 = livecommerce::bench::PercentileMs(latencies, 0.99);
  std::printf(
      "rate=%.2f p50_ms=%.1f p99_ms=%.1f duration_s=%.1f entries=%lld entries_seen=%lld "
      "groups=%lld statements=%zu errors=%lld net_mismatch_fen=%lld not_repeatable=%lld "
      "seed_s=%.1f\n",
      static_cast<double>(latencies.size()) / seconds, p50, p99, seconds,
      static_cast<long long>(entries), static_cast<long long>(entries_seen),
      static_cast<long long>(groups), latencies.size(), static_cast<long long>(errors),
      static_cast<long long>(net_mismatch), static_cast<long long>(not_repeatable), seed_s);
  return errors == 0 && net_mismatch == 0 && entries_seen == entries ? 0 : 1;
}
