// Load generator for the `flash` scenario: a flash-sale storm. Buyers (default 20,000) compete for
// a sale of a few units (default 1,000, one per buyer): ReserveStock is sent open-loop at a fixed
// rate through gRPC as the order service would, latency measured from when each attempt was due.
// A small share of winners release their unit at once (a cancelled checkout), so units go back
// and must be sold again; at the end every remaining winner is confirmed (paid) and the sale's own
// figures are checked: sold must equal the stock (no oversell, no undersell). Prints one line of
// key=value figures on stdout.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "bench/step.h"
#include "livecommerce/v1/catalog.grpc.pb.h"
#include "livecommerce/v1/flash.grpc.pb.h"
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
  std::string room_target = "127.0.0.1:7101";
  std::string catalog_target = "127.0.0.1:7102";
  std::string secret = "livecommerce-local-internal-secret";
  std::string brand = "bench";
  int buyers = 20000;
  int units = 1000;
  int rate = 16000;
  int duration_s = 20;
  int channels = 4;
  int release_percent = 5;
  int buckets = 0;  // 0: the service default
  int deadline_ms = 10000;
  bool steps = false;  // read steps from standard input
  bool floor = false;  // the target is the no-op floor server
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    std::string key = argv[i];
    if (key == "--steps" || key == "--floor") {
      (key == "--steps" ? o.steps : o.floor) = true;
      --i;  // a flag: no value follows
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", key.c_str());
      std::exit(2);
    }
    std::string value = argv[i + 1];
    int* target = nullptr;
    if (key == "--room")
      o.room_target = value;
    else if (key == "--catalog")
      o.catalog_target = value;
    else if (key == "--secret")
      o.secret = value;
    else if (key == "--brand")
      o.brand = value;
    else if (key == "--buyers")
      target = &o.buyers;
    else if (key == "--units")
      target = &o.units;
    else if (key == "--rate")
      target = &o.rate;
    else if (key == "--duration")
      target = &o.duration_s;
    else if (key == "--channels")
      target = &o.channels;
    else if (key == "--release-percent")
      target = &o.release_percent;
    else if (key == "--buckets")
      target = &o.buckets;
    else if (key == "--deadline-ms")
      target = &o.deadline_ms;
    else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      std::exit(2);
    }
    if (target != nullptr && !absl::SimpleAtoi(value, target)) {
      std::fprintf(stderr, "%s needs a number\n", key.c_str());
      std::exit(2);
    }
  }
  return o;
}

[[noreturn]] void Die(const char* what, const grpc::Status& s) {
  std::fprintf(stderr, "%s: %s\n", what, s.error_message().c_str());
  std::exit(1);
}

struct Call {
  enum class Kind { kReserve, kRelease } kind = Kind::kReserve;
  grpc::ClientContext context;
  grpc::Status status;
  v1::ReserveStockResponse reserved;
  v1::ReleaseReservationResponse released;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::ReserveStockResponse>> reserve_reader;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::ReleaseReservationResponse>> release_reader;
  Clock::time_point due;
};

}  // namespace

// What one storm on one sale came to.
struct Storm {
  livecommerce::bench::StepTally tally;
  double seconds = 0;
  int64_t reserved = 0, released = 0, sold_out = 0, limited = 0, release_errors = 0;
  int64_t confirmed = 0, confirm_errors = 0, sold = 0, remaining = 0, oversold = 0, undersold = 0;
};

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  if (o.floor) o.release_percent = 0;  // the floor has no reservations to release
  PrincipalCodec codec(o.secret);
  absl::Time expiry = absl::Now() + absl::Hours(6);
  std::string ops = codec.Encode(Principal{Role::kOps, o.brand, "bench-ops", expiry});
  std::string service = codec.Encode(Principal{Role::kService, o.brand, "bench-order", expiry});
  auto context = [&](const std::string& principal) {
    auto c = std::make_unique<grpc::ClientContext>();
    AttachPrincipal(*c, principal);
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return c;
  };
  std::vector<std::unique_ptr<v1::FlashSaleService::Stub>> flash;
  for (int i = 0; i < o.channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("lc.bench.channel", i);
    flash.push_back(v1::FlashSaleService::NewStub(
        grpc::CreateCustomChannel(o.catalog_target, grpc::InsecureChannelCredentials(), args)));
  }

  // A live room and a product with one SKU; each storm then has a flash sale of its own. The
  // floor has none of these: its sales are a fixed id it does not look at.
  v1::CreateRoomResponse room;
  v1::CreateProductResponse product;
  if (!o.floor) {
    auto rooms = v1::RoomService::NewStub(
        grpc::CreateChannel(o.room_target, grpc::InsecureChannelCredentials()));
    auto catalog = v1::CatalogService::NewStub(
        grpc::CreateChannel(o.catalog_target, grpc::InsecureChannelCredentials()));
    v1::CreateRoomRequest room_request;
    room_request.set_brand_id(o.brand);
    room_request.set_title("Flash sale storm");
    livecommerce::common::ToTimestamp(absl::Now(), room_request.mutable_scheduled_start());
    room_request.set_visibility(v1::VISIBILITY_PUBLIC);
    room_request.add_audiences(v1::AUDIENCE_FOLLOWERS);
    room_request.set_objective(v1::OBJECTIVE_PURCHASE);
    room_request.set_format(v1::FORMAT_SALES_DRIVEN);
    if (auto s = rooms->CreateRoom(context(ops).get(), room_request, &room); !s.ok()) {
      Die("CreateRoom", s);
    }
    v1::CreateProductRequest product_request;
    product_request.set_brand_id(o.brand);
    product_request.set_name("Limited bag");
    product_request.set_category("bags");
    product_request.mutable_list_price()->set_amount_fen(2590000);
    product_request.mutable_list_price()->set_currency("CNY");
    v1::NewSku* sku = product_request.add_skus();
    sku->set_sku_code("BAG-LTD-BLACK");
    (*sku->mutable_attributes())["colour"] = "black";
    sku->set_on_hand(o.units);
    if (auto s = catalog->CreateProduct(context(ops).get(), product_request, &product); !s.ok()) {
      Die("CreateProduct", s);
    }
    v1::ActivateProductRequest activate;
    activate.set_product_id(product.product().id());
    v1::ActivateProductResponse activated;
    if (auto s = catalog->ActivateProduct(context(ops).get(), activate, &activated); !s.ok()) {
      Die("ActivateProduct", s);
    }
  }
  auto create_sale = [&](int64_t units) -> std::string {
    if (o.floor) return "100001";
    v1::CreateFlashSaleRequest sale_request;
    sale_request.set_room_id(room.room().id());
    sale_request.set_sku_id(product.product().skus(0).id());
    sale_request.mutable_sale_price()->set_amount_fen(1990000);
    sale_request.mutable_sale_price()->set_currency("CNY");
    sale_request.set_total_stock(units);
    livecommerce::common::ToTimestamp(absl::Now() - absl::Seconds(1),
                                      sale_request.mutable_starts_at());
    livecommerce::common::ToTimestamp(absl::Now() + absl::Hours(2), sale_request.mutable_ends_at());
    sale_request.set_per_buyer_limit(1);
    sale_request.set_buckets(o.buckets);
    v1::CreateFlashSaleResponse sale;
    if (auto s = flash[0]->CreateFlashSale(context(ops).get(), sale_request, &sale); !s.ok()) {
      Die("CreateFlashSale", s);
    }
    return sale.sale().id();
  };

  // Warm-up, not measured: connections, HTTP/2 windows and server threads settle on a sale of one
  // unit that sells out at once. Once, before the first storm, at its rate.
  auto warm_up = [&](int rate) {
    const std::string warm_sale = create_sale(1);
    grpc::CompletionQueue warm_cq;
    const int warm_calls = rate * 2;
    auto warm_start = Clock::now();
    const auto warm_interval = std::chrono::nanoseconds(1000000000LL / rate);
    for (int k = 0; k < warm_calls; ++k) {
      auto due = warm_start + warm_interval * k;
      if (due > Clock::now()) std::this_thread::sleep_until(due);
      auto* call = new Call;
      AttachPrincipal(call->context, service);
      call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      v1::ReserveStockRequest request;
      request.set_reservation_id(absl::StrCat("warm-", k));
      request.set_sale_id(warm_sale);
      request.set_buyer_id(absl::StrCat("warm-buyer-", k));
      request.set_quantity(1);
      request.set_ttl_seconds(60);
      call->reserve_reader = flash[static_cast<size_t>(k % o.channels)]->PrepareAsyncReserveStock(
          &call->context, request, &warm_cq);
      call->reserve_reader->StartCall();
      call->reserve_reader->Finish(&call->reserved, &call->status, call);
      void* tag = nullptr;
      bool ok = false;
      while (warm_cq.AsyncNext(&tag, &ok, std::chrono::system_clock::now()) ==
             grpc::CompletionQueue::GOT_EVENT) {
        delete static_cast<Call*>(tag);
      }
    }
    warm_cq.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (warm_cq.Next(&tag, &ok)) delete static_cast<Call*>(tag);
  };

  // One storm: a fresh sale of `units`, reserve attempts open-loop at `rate` for `duration_s`,
  // then every remaining winner paid and the sale's own figures read back.
  int storm_number = 0;
  auto run_storm = [&](int rate, int duration_s, Storm& r) {
    const std::string sale_id = create_sale(o.units);
    const int storm = storm_number++;
    const int64_t total = static_cast<int64_t>(rate) * duration_s;
    grpc::CompletionQueue cq;
    std::atomic<int64_t> pending{0};
    std::atomic<bool> sending_done{false};
    r.tally.all.reserve(static_cast<size_t>(total));
    r.tally.accepted.reserve(static_cast<size_t>(total));
    std::vector<std::string> winners;
    auto started = Clock::now();
    std::thread poller([&] {
      std::mt19937 rng(42);
      void* tag = nullptr;
      bool ok = false;
      while (cq.Next(&tag, &ok)) {
        auto* call = static_cast<Call*>(tag);
        if (call->kind == Call::Kind::kReserve) {
          auto micros =
              std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - call->due);
          bool refused = livecommerce::bench::IsOverloadRefusal(call->status);
          grpc::StatusCode code = call->status.error_code();
          // Sold out and the per-buyer limit are the sale's answers, not failures.
          bool answered = code == grpc::StatusCode::OK ||
                          code == grpc::StatusCode::FAILED_PRECONDITION ||
                          (code == grpc::StatusCode::RESOURCE_EXHAUSTED && !refused);
          r.tally.Add(static_cast<uint32_t>(std::min<int64_t>(micros.count(), UINT32_MAX)),
                      answered);
          if (getenv("LC_BENCH_TRACE") != nullptr && micros.count() > 50000) {
            std::fprintf(stderr, "slow: %.3f s into the run, %lld us, ok=%d\n",
                         std::chrono::duration<double>(call->due - started).count(),
                         static_cast<long long>(micros.count()), call->status.ok() ? 1 : 0);
          }
          if (call->status.ok()) {
            ++r.reserved;
            const std::string& id = call->reserved.reservation().reservation_id();
            if (static_cast<int>(rng() % 100) < o.release_percent) {
              auto* release = new Call;
              release->kind = Call::Kind::kRelease;
              AttachPrincipal(release->context, service);
              release->context.set_deadline(std::chrono::system_clock::now() +
                                            std::chrono::seconds(10));
              v1::ReleaseReservationRequest request;
              request.set_reservation_id(id);
              ++pending;
              release->release_reader =
                  flash[0]->PrepareAsyncReleaseReservation(&release->context, request, &cq);
              release->release_reader->StartCall();
              release->release_reader->Finish(&release->released, &release->status, release);
            } else if (!o.floor) {
              winners.push_back(id);
            }
          } else if (refused) {
            ++r.tally.refused;
            if (!livecommerce::bench::HasRetryHint(call->context)) ++r.tally.refused_without_hint;
          } else if (call->status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
            ++r.sold_out;
          } else if (call->status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
            ++r.limited;  // the per-buyer limit: the service's own answer (IsOverloadRefusal)
          } else if (r.tally.errors++ < 5) {
            std::fprintf(stderr, "reserve: %d %s\n", static_cast<int>(call->status.error_code()),
                         call->status.error_message().c_str());
          }
        } else {
          if (call->status.ok()) {
            ++r.released;
          } else if (r.release_errors++ < 5) {
            std::fprintf(stderr, "release: %s\n", call->status.error_message().c_str());
          }
        }
        delete call;
        if (--pending == 0 && sending_done) break;
      }
    });

    started = Clock::now();
    const auto interval = std::chrono::nanoseconds(1000000000LL / rate);
    for (int64_t k = 0; k < total; ++k) {
      auto due = started + interval * k;
      if (due > Clock::now()) std::this_thread::sleep_until(due);
      auto* call = new Call;
      call->due = due;
      AttachPrincipal(call->context, service);
      call->context.set_deadline(std::chrono::system_clock::now() +
                                 std::chrono::milliseconds(o.deadline_ms));
      v1::ReserveStockRequest request;
      int buyer = static_cast<int>(k % o.buyers);
      request.set_reservation_id(absl::StrCat("storm-", storm, "-", k));
      request.set_sale_id(sale_id);
      request.set_buyer_id(absl::StrCat("buyer-", buyer));
      request.set_quantity(1);
      request.set_ttl_seconds(900);
      ++pending;
      call->reserve_reader = flash[static_cast<size_t>(k % o.channels)]->PrepareAsyncReserveStock(
          &call->context, request, &cq);
      call->reserve_reader->StartCall();
      call->reserve_reader->Finish(&call->reserved, &call->status, call);
    }
    sending_done = true;
    if (pending == 0) cq.Shutdown();
    poller.join();
    r.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    cq.Shutdown();
    if (o.floor) return;

    // Pay for every unit still reserved.
    std::atomic<int64_t> confirmed{0};
    std::atomic<int64_t> confirm_errors{0};
    std::vector<std::thread> payers;
    for (int t = 0; t < 8; ++t) {
      payers.emplace_back([&, t] {
        for (size_t i = static_cast<size_t>(t); i < winners.size(); i += 8) {
          v1::ConfirmReservationRequest request;
          request.set_reservation_id(winners[i]);
          v1::ConfirmReservationResponse response;
          grpc::Status s = flash[static_cast<size_t>(t) % flash.size()]->ConfirmReservation(
              context(service).get(), request, &response);
          if (s.ok())
            ++confirmed;
          else
            ++confirm_errors;
        }
      });
    }
    for (auto& t : payers) t.join();
    r.confirmed = confirmed.load();
    r.confirm_errors = confirm_errors.load();

    v1::GetFlashSaleRequest get;
    get.set_sale_id(sale_id);
    v1::GetFlashSaleResponse final_sale;
    if (auto s = flash[0]->GetFlashSale(context(ops).get(), get, &final_sale); !s.ok()) {
      Die("GetFlashSale", s);
    }
    r.sold = final_sale.sale().sold();
    r.remaining = final_sale.sale().remaining();
    r.oversold = std::max<int64_t>(0, r.sold - o.units);
    r.undersold = std::max<int64_t>(0, o.units - r.sold);
  };
  auto counters = [&](const Storm& r) {
    return absl::StrCat(" attempts=", r.tally.all.size(), " reserved=", r.reserved,
                        " released=", r.released, " sold_out=", r.sold_out, " limited=", r.limited,
                        " confirmed=", r.confirmed, " confirm_errors=", r.confirm_errors,
                        " sold=", r.sold, " remaining=", r.remaining, " units=", o.units,
                        " buyers=", o.buyers, " oversold=", r.oversold, " undersold=", r.undersold);
  };

  if (o.steps) {
    int rate = 0;
    int duration_s = 0;
    int64_t errors = 0, confirm_errors = 0, sold = 0, oversold = 0, undersold = 0, storms = 0;
    while (livecommerce::bench::NextStep(&rate, &duration_s)) {
      if (storms++ == 0) warm_up(rate);
      Storm r;
      run_storm(rate, duration_s, r);
      // A failed release leaves a unit held: an error of the run, as before.
      r.tally.errors += r.release_errors;
      errors += r.tally.errors;
      confirm_errors += r.confirm_errors;
      sold += r.sold;
      oversold += r.oversold;
      undersold += r.undersold;
      livecommerce::bench::PrintStep(rate, r.seconds, r.tally, counters(r));
    }
    std::printf(
        "final storms=%lld units=%d sold=%lld oversold=%lld undersold=%lld errors=%lld "
        "confirm_errors=%lld\n",
        static_cast<long long>(storms), o.units, static_cast<long long>(sold),
        static_cast<long long>(oversold), static_cast<long long>(undersold),
        static_cast<long long>(errors), static_cast<long long>(confirm_errors));
    return errors == 0 && confirm_errors == 0 ? 0 : 1;
  }

  warm_up(o.rate);
  Storm r;
  run_storm(o.rate, o.duration_s, r);
  double p50 = livecommerce::bench::PercentileMs(r.tally.all, 0.50);
  double p99 = livecommerce::bench::PercentileMs(r.tally.all, 0.99);
  int64_t errors = r.tally.errors + r.release_errors;
  std::printf(
      "rate=%.0f p50_ms=%.2f p99_ms=%.2f duration_s=%.1f attempts=%zu reserved=%lld "
      "released=%lld sold_out=%lld limited=%lld errors=%lld refused=%lld confirmed=%lld "
      "confirm_errors=%lld sold=%lld remaining=%lld units=%d buyers=%d oversold=%lld "
      "undersold=%lld\n",
      static_cast<double>(r.tally.all.size()) / r.seconds, p50, p99, r.seconds, r.tally.all.size(),
      static_cast<long long>(r.reserved), static_cast<long long>(r.released),
      static_cast<long long>(r.sold_out), static_cast<long long>(r.limited),
      static_cast<long long>(errors), static_cast<long long>(r.tally.refused),
      static_cast<long long>(r.confirmed), static_cast<long long>(r.confirm_errors),
      static_cast<long long>(r.sold), static_cast<long long>(r.remaining), o.units, o.buyers,
      static_cast<long long>(r.oversold), static_cast<long long>(r.undersold));
  return errors == 0 && r.confirm_errors == 0 ? 0 : 1;
}
