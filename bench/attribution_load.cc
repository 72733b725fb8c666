// Load generator for the `attribution` scenario: paid orders delivered to the attribution service
// as the order service's outbox delivers them, open loop at a fixed rate. Setup through the public
// RPCs: a store, associates, a brand-wide commission rule, and buyers who each opened an
// associate's share link (so every order is attributed and split four ways). During the run one
// event in ten is delivered a second time, as an at-least-once outbox does. Latency runs from when
// each event was due to its answer. Afterwards the ledger is read back through the finance
// statement: it must hold exactly four entries per order and, to the fen, the expected split of
// every order, whatever was delivered twice (lost, duplicates, net_mismatch_fen).
// Prints one line of key=value figures on stdout.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "livecommerce/v1/attribution.grpc.pb.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"

namespace {

namespace v1 = livecommerce::v1;
using livecommerce::common::AttachPrincipal;
using livecommerce::common::Principal;
using livecommerce::common::PrincipalCodec;
using livecommerce::common::Role;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string target = "127.0.0.1:7104";
  std::string room = "127.0.0.1:7101";  // the room service: links and orders name one of its rooms
  std::string secret = "livecommerce-local-internal-secret";
  std::string brand;
  int rate = 2000;
  int duration_s = 30;
  int buyers = 4000;
  int associates = 40;
  int channels = 4;
  int replay_every = 10;  // one event in N is delivered twice
};

struct Op {
  grpc::ClientContext context;
  grpc::Status status;
  v1::RecordPaidOrderResponse response;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::RecordPaidOrderResponse>> reader;
  Clock::time_point due;
  bool replay = false;
};

// floor(amount x bp / 10000), as the service's pool: the test of exact sums.
int64_t Pool(int64_t amount, int bp) {
  return static_cast<int64_t>(static_cast<__int128>(amount) * bp / 10000);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.brand =
      absl::StrCat("bench-attr-", std::chrono::system_clock::now().time_since_epoch().count());
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i], value = argv[i + 1];
    int* target = nullptr;
    if (key == "--target")
      o.target = value;
    else if (key == "--room")
      o.room = value;
    else if (key == "--rate")
      target = &o.rate;
    else if (key == "--duration")
      target = &o.duration_s;
    else if (key == "--buyers")
      target = &o.buyers;
    else if (key == "--associates")
      target = &o.associates;
    if (target != nullptr && !absl::SimpleAtoi(value, target)) return 2;
  }
  PrincipalCodec codec(o.secret);
  absl::Time expiry = absl::Now() + absl::Hours(6);
  std::string ops = codec.Encode(Principal{Role::kOps, o.brand, "bench-ops", expiry});
  std::string finance = codec.Encode(Principal{Role::kFinance, o.brand, "bench-finance", expiry});
  std::string service = codec.Encode(Principal{Role::kService, o.brand, "order", expiry});
  std::vector<std::unique_ptr<v1::AttributionService::Stub>> stubs;
  for (int i = 0; i < o.channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("lc.bench.channel", i);
    stubs.push_back(v1::AttributionService::NewStub(
        grpc::CreateCustomChannel(o.target, grpc::InsecureChannelCredentials(), args)));
  }
  auto context = [&](const std::string& principal) {
    auto c = std::make_unique<grpc::ClientContext>();
    AttachPrincipal(*c, principal);
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return c;
  };
  auto fail = [](const char* what, const grpc::Status& s) {
    std::fprintf(stderr, "%s: %s\n", what, s.error_message().c_str());
    return 1;
  };

  // Setup: a room, a store, associates with a link to the room each, the rule, buyers who opened
  // a link.
  auto rooms =
      v1::RoomService::NewStub(grpc::CreateChannel(o.room, grpc::InsecureChannelCredentials()));
  v1::CreateRoomRequest room_request;
  room_request.set_brand_id(o.brand);
  room_request.set_title("Attribution benchmark");
  livecommerce::common::ToTimestamp(absl::Now(), room_request.mutable_scheduled_start());
  room_request.set_visibility(v1::VISIBILITY_PUBLIC);
  room_request.add_audiences(v1::AUDIENCE_FOLLOWERS);
  room_request.set_objective(v1::OBJECTIVE_PURCHASE);
  room_request.set_format(v1::FORMAT_SALES_DRIVEN);
  v1::CreateRoomResponse room;
  if (auto s = rooms->CreateRoom(context(ops).get(), room_request, &room); !s.ok()) {
    return fail("CreateRoom", s);
  }
  const std::string room_id = room.room().id();
  v1::CreateStoreRequest store_request;
  store_request.set_name("Bench boutique");
  v1::CreateStoreResponse store;
  if (auto s = stubs[0]->CreateStore(context(ops).get(), store_request, &store); !s.ok()) {
    return fail("CreateStore", s);
  }
  std::vector<std::string> links;
  for (int a = 0; a < o.associates; ++a) {
    v1::CreateAssociateRequest request;
    request.set_store_id(store.store().id());
    request.set_name(absl::StrCat("Associate ", a));
    v1::CreateAssociateResponse associate;
    if (auto s = stubs[0]->CreateAssociate(context(ops).get(), request, &associate); !s.ok()) {
      return fail("CreateAssociate", s);
    }
    v1::CreateShareLinkRequest link_request;
    link_request.set_associate_id(associate.associate().id());
    link_request.set_target(v1::SHARE_TARGET_ROOM);
    link_request.set_room_id(room_id);
    link_request.set_share_channel(v1::SHARE_CHANNEL_PRIVATE_CHAT);
    v1::CreateShareLinkResponse link;
    if (auto s = stubs[0]->CreateShareLink(context(ops).get(), link_request, &link); !s.ok()) {
      return fail("CreateShareLink", s);
    }
    links.push_back(link.link().id());
  }
  v1::CreateCommissionRuleRequest rule;
  rule.set_scope(v1::RULE_SCOPE_BRAND);
  livecommerce::common::ToTimestamp(absl::Now() - absl::Hours(1), rule.mutable_effective_from());
  const int bps[] = {500, 200, 100, 50};
  const v1::Recipient recipients[] = {v1::RECIPIENT_ASSOCIATE, v1::RECIPIENT_STORE,
                                      v1::RECIPIENT_ECOMMERCE_TEAM, v1::RECIPIENT_CRM_TEAM};
  for (int i = 0; i < 4; ++i) {
    v1::SplitLine* line = rule.add_lines();
    line->set_recipient(recipients[i]);
    line->set_basis_points(bps[i]);
  }
  v1::CreateCommissionRuleResponse created;
  if (auto s = stubs[0]->CreateCommissionRule(context(finance).get(), rule, &created); !s.ok()) {
    return fail("CreateCommissionRule", s);
  }
  {
    std::atomic<int> next{0}, errors{0};
    std::vector<std::thread> openers;
    for (int t = 0; t < 16; ++t) {
      openers.emplace_back([&, t] {
        for (int b = next++; b < o.buyers; b = next++) {
          v1::OpenShareLinkRequest request;
          request.set_share_link_id(links[static_cast<size_t>(b % o.associates)]);
          v1::OpenShareLinkResponse response;
          std::string viewer =
              codec.Encode(Principal{Role::kViewer, o.brand, absl::StrCat("buyer-", b), expiry});
          if (!stubs[static_cast<size_t>(t % o.channels)]
                   ->OpenShareLink(context(viewer).get(), request, &response)
                   .ok()) {
            ++errors;
          }
        }
      });
    }
    for (std::thread& t : openers) t.join();
    if (errors > 0) {
      std::fprintf(stderr, "OpenShareLink failed %d times\n", errors.load());
      return 1;
    }
  }
  std::fprintf(stderr, "setup done: %d associates, %d buyers bound\n", o.associates, o.buyers);

  const int64_t total = static_cast<int64_t>(o.rate) * o.duration_s;
  std::vector<int64_t> amounts(static_cast<size_t>(total));
  std::mt19937_64 rng(2026);
  int64_t expected_net = 0;
  for (int64_t& a : amounts) {
    a = std::uniform_int_distribution<int64_t>(100, 5000000)(rng);
    expected_net += Pool(a, 850);
  }
  absl::Time started_at = absl::Now();
  auto event = [&](int64_t k) {
    v1::PaidOrderEvent e;
    e.set_order_id(absl::StrCat("o", k));
    e.set_buyer_id(absl::StrCat("buyer-", k % o.buyers));
    e.set_room_id(room_id);
    e.set_session_id("1");
    e.mutable_amount()->set_amount_fen(amounts[static_cast<size_t>(k)]);
    e.mutable_amount()->set_currency("CNY");
    livecommerce::common::ToTimestamp(absl::Now(), e.mutable_paid_at());
    e.mutable_attribution()->set_channel(v1::CHANNEL_SHARE_LINK);
    v1::PaidOrderLine* line = e.add_lines();
    line->set_sku_id("1");
    line->set_product_id("1");
    line->set_quantity(1);
    line->set_amount_fen(amounts[static_cast<size_t>(k)]);
    return e;
  };

  grpc::CompletionQueue cq;
  std::vector<uint32_t> latencies;
  latencies.reserve(static_cast<size_t>(total));
  int64_t fresh = 0, replayed_answers = 0, errors = 0, double_fresh = 0;
  std::vector<uint8_t> fresh_seen(static_cast<size_t>(total), 0);
  std::atomic<int64_t> outstanding{0};
  std::atomic<bool> sending_done{false};
  std::thread poller([&] {
    void* tag = nullptr;
    bool ok = false;
    while (cq.Next(&tag, &ok)) {
      auto* op = static_cast<Op*>(tag);
      if (op->status.ok()) {
        int64_t k = 0;
        (void)absl::SimpleAtoi(op->response.order().order_id().substr(1), &k);
        if (op->response.replayed()) {
          ++replayed_answers;
        } else {
          ++fresh;
          if (fresh_seen[static_cast<size_t>(k)]++ > 0) ++double_fresh;
        }
        if (!op->replay) {
          auto micros =
              std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - op->due).count();
          latencies.push_back(static_cast<uint32_t>(std::min<int64_t>(micros, UINT32_MAX)));
        }
      } else if (errors++ < 5) {
        std::fprintf(stderr, "RecordPaidOrder: %s\n", op->status.error_message().c_str());
      }
      delete op;
      if (--outstanding == 0 && sending_done) break;
    }
  });

  auto send = [&](int64_t k, Clock::time_point due, bool replay) {
    auto* op = new Op;
    op->due = due;
    op->replay = replay;
    AttachPrincipal(op->context, service);
    op->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    ++outstanding;
    op->reader = stubs[static_cast<size_t>(k % o.channels)]->PrepareAsyncRecordPaidOrder(
        &op->context, event(k), &cq);
    op->reader->StartCall();
    op->reader->Finish(&op->response, &op->status, op);
  };
  int64_t replays_sent = 0;
  auto started = Clock::now();
  const auto interval = std::chrono::nanoseconds(1000000000LL / o.rate);
  for (int64_t k = 0; k < total; ++k) {
    auto due = started + interval * k;
    if (due > Clock::now()) std::this_thread::sleep_until(due);
    send(k, due, false);
    // A replay of an earlier event, as an outbox that did not see the first answer sends it.
    if (o.replay_every > 0 && k % o.replay_every == 0 && k >= 100) {
      send(k - 100, due, true);
      ++replays_sent;
    }
  }
  sending_done = true;
  if (outstanding == 0) cq.Shutdown();
  poller.join();
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  cq.Shutdown();

  // The ledger, read back through the finance statement.
  v1::GetStatementRequest statement_request;
  livecommerce::common::ToTimestamp(started_at - absl::Minutes(5),
                                    statement_request.mutable_period_start());
  livecommerce::common::ToTimestamp(absl::Now() + absl::Minutes(5),
                                    statement_request.mutable_period_end());
  statement_request.set_page_size(1);
  v1::GetStatementResponse statement;
  auto sc = context(finance);
  sc->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  if (auto s = stubs[0]->GetStatement(sc.get(), statement_request, &statement); !s.ok()) {
    return fail("GetStatement", s);
  }
  int64_t entries = 0, net = 0;
  for (const v1::StatementTotals& t : statement.statement().totals()) {
    entries += t.entries();
    net += t.net_fen();
  }
  int64_t expected_entries = 4 * total;
  double p50 = livecommerce::bench::PercentileMs(latencies, 0.5),
         p99 = livecommerce::bench::PercentileMs(latencies, 0.99);
  std::printf(
      "rate=%.0f p50_ms=%.2f p99_ms=%.2f duration_s=%.1f orders=%lld attributed=%lld "
      "replays_sent=%lld replays_answered=%lld errors=%lld entries=%lld lost=%lld duplicates=%lld "
      "net_mismatch_fen=%lld\n",
      static_cast<double>(fresh) / seconds, p50, p99, seconds, static_cast<long long>(total),
      static_cast<long long>(fresh), static_cast<long long>(replays_sent),
      static_cast<long long>(replayed_answers), static_cast<long long>(errors),
      static_cast<long long>(entries),
      static_cast<long long>(std::max<int64_t>(0, expected_entries - entries) / 4),
      static_cast<long long>(std::max<int64_t>(0, entries - expected_entries) / 4 + double_fresh),
      static_cast<long long>(net - expected_net));
  return errors == 0 ? 0 : 1;
}
