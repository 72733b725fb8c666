// Load generator for the `checkout` scenario: checkouts paid end to end. Each operation is a
// viewer's Checkout of one unit (its own idempotency key) followed, as soon as it answers, by the
// sandbox payment confirmation; latency runs from when the operation was due (open loop) to the
// PAID answer. At the end the record is checked: every operation answered PAID must have turned
// into exactly one confirmed unit of stock once the outbox has delivered (lost, duplicates).
// Prints one line of key=value figures on stdout.
//
// With --steps it runs the steps bench/run asks for on standard input ("RATE SECONDS" a line,
// bench/step.h), one line of figures each, and checks the record once the input ends (a last
// line). Overload refusals (bench/step.h) are counted apart from errors. With --settle SECONDS
// the check waits up to that long for the units of unpaid checkouts to be released (the expiry
// window: an overload run leaves refused checkouts' orders to expire).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "bench/step.h"
#include "livecommerce/v1/catalog.grpc.pb.h"
#include "livecommerce/v1/order.grpc.pb.h"
#include "services/common/principal.h"

namespace {

namespace v1 = livecommerce::v1;
using livecommerce::common::AttachPrincipal;
using livecommerce::common::Principal;
using livecommerce::common::PrincipalCodec;
using livecommerce::common::Role;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string catalog = "127.0.0.1:7102";
  std::string order = "127.0.0.1:7103";
  std::string secret = "livecommerce-local-internal-secret";
  std::string brand = "bench";
  int rate = 1000;
  int duration_s = 30;
  int buyers = 2000;
  int channels = 4;
  int skus = 20;  // checkouts spread over this many SKUs, as a live session sells many pieces
  int deadline_ms = 30000;
  int settle_s = 0;    // how long the end check waits for nothing to be left reserved
  int stock = 0;       // units per SKU; 0: twice what the run can sell
  bool steps = false;  // read steps from standard input
};

struct Op {
  enum class Stage { kCheckout, kPay } stage = Stage::kCheckout;
  grpc::ClientContext checkout_context;
  grpc::ClientContext pay_context;
  grpc::Status status;
  v1::CheckoutResponse checkout;
  v1::ConfirmSandboxPaymentResponse paid;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::CheckoutResponse>> checkout_reader;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::ConfirmSandboxPaymentResponse>> pay_reader;
  Clock::time_point due;
  int buyer = 0;
  int channel = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    std::string key = argv[i];
    if (key == "--steps") {
      o.steps = true;
      --i;  // a flag: no value follows
      continue;
    }
    if (i + 1 >= argc) return 2;
    std::string value = argv[i + 1];
    int* target = nullptr;
    if (key == "--catalog")
      o.catalog = value;
    else if (key == "--order")
      o.order = value;
    else if (key == "--rate")
      target = &o.rate;
    else if (key == "--duration")
      target = &o.duration_s;
    else if (key == "--buyers")
      target = &o.buyers;
    else if (key == "--brand")
      o.brand = value;
    else if (key == "--deadline-ms")
      target = &o.deadline_ms;
    else if (key == "--settle")
      target = &o.settle_s;
    else if (key == "--stock")
      target = &o.stock;
    else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      return 2;
    }
    if (target != nullptr && !absl::SimpleAtoi(value, target)) return 2;
  }
  PrincipalCodec codec(o.secret);
  absl::Time expiry = absl::Now() + absl::Hours(6);
  std::string ops = codec.Encode(Principal{Role::kOps, o.brand, "bench-ops", expiry});
  std::vector<std::string> viewers;
  for (int b = 0; b < o.buyers; ++b) {
    viewers.push_back(
        codec.Encode(Principal{Role::kViewer, o.brand, absl::StrCat("buyer-", b), expiry}));
  }
  auto catalog = v1::CatalogService::NewStub(
      grpc::CreateChannel(o.catalog, grpc::InsecureChannelCredentials()));
  std::vector<std::unique_ptr<v1::OrderService::Stub>> orders;
  for (int i = 0; i < o.channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("lc.bench.channel", i);
    orders.push_back(v1::OrderService::NewStub(
        grpc::CreateCustomChannel(o.order, grpc::InsecureChannelCredentials(), args)));
  }
  auto context = [&](const std::string& principal) {
    auto c = std::make_unique<grpc::ClientContext>();
    AttachPrincipal(*c, principal);
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return c;
  };

  // Stock: twice what one run can sell; steps do not say ahead how many they will be, so they
  // take --stock, or a million a SKU.
  int64_t stock = o.stock > 0 ? o.stock
                  : o.steps   ? 1000000
                              : static_cast<int64_t>(o.rate) * o.duration_s * 2;
  v1::CreateProductRequest product_request;
  product_request.set_brand_id(o.brand);
  product_request.set_name("Card holder");
  product_request.mutable_list_price()->set_amount_fen(89000);
  product_request.mutable_list_price()->set_currency("CNY");
  const int64_t run_tag = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  for (int i = 0; i < o.skus; ++i) {
    v1::NewSku* new_sku = product_request.add_skus();
    // Unique per run, so the load can be repeated against one database.
    new_sku->set_sku_code(absl::StrCat("CARD-", run_tag, "-", i));
    new_sku->set_on_hand(stock);
  }
  v1::CreateProductResponse product;
  if (auto s = catalog->CreateProduct(context(ops).get(), product_request, &product); !s.ok()) {
    std::fprintf(stderr, "CreateProduct: %s\n", s.error_message().c_str());
    return 1;
  }
  v1::ActivateProductRequest activate;
  activate.set_product_id(product.product().id());
  v1::ActivateProductResponse activated;
  if (auto s = catalog->ActivateProduct(context(ops).get(), activate, &activated); !s.ok()) {
    std::fprintf(stderr, "ActivateProduct: %s\n", s.error_message().c_str());
    return 1;
  }
  std::vector<std::string> sku_ids;
  for (const v1::Sku& sku : product.product().skus()) sku_ids.push_back(sku.id());
  const int64_t on_hand_before = stock * static_cast<int64_t>(sku_ids.size());

  // One step: operations open-loop at `rate` for `duration_s`, numbered on from the last step's.
  int64_t next_op = 0;
  int64_t attempted = 0, paid_total = 0, errors_total = 0, refused_total = 0;
  auto run_step = [&](int rate, int duration_s, livecommerce::bench::StepTally& tally,
                      int64_t& paid) -> double {
    const int64_t total = static_cast<int64_t>(rate) * duration_s;
    tally.all.reserve(static_cast<size_t>(total));
    tally.accepted.reserve(static_cast<size_t>(total));
    grpc::CompletionQueue cq;
    std::atomic<int64_t> outstanding{0};
    std::atomic<bool> sending_done{false};
    std::thread poller([&] {
      void* tag = nullptr;
      bool ok = false;
      while (cq.Next(&tag, &ok)) {
        auto* op = static_cast<Op*>(tag);
        if (op->stage == Op::Stage::kCheckout && op->status.ok()) {
          op->stage = Op::Stage::kPay;
          AttachPrincipal(op->pay_context, viewers[static_cast<size_t>(op->buyer)]);
          op->pay_context.set_deadline(std::chrono::system_clock::now() +
                                       std::chrono::milliseconds(o.deadline_ms));
          v1::ConfirmSandboxPaymentRequest request;
          request.set_order_id(op->checkout.order().id());
          op->pay_reader =
              orders[static_cast<size_t>(op->channel)]->PrepareAsyncConfirmSandboxPayment(
                  &op->pay_context, request, &cq);
          op->pay_reader->StartCall();
          op->pay_reader->Finish(&op->paid, &op->status, op);
          continue;
        }
        auto micros =
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - op->due).count();
        // Refused at either stage: a checkout refused leaves nothing; a payment refused leaves
        // an unpaid order whose units the expiry gives back (the end check waits for that).
        bool refused = livecommerce::bench::IsOverloadRefusal(op->status);
        bool was_paid = op->status.ok() && op->stage == Op::Stage::kPay &&
                        op->paid.order().status() == v1::ORDER_STATUS_PAID;
        tally.Add(static_cast<uint32_t>(std::min<int64_t>(micros, UINT32_MAX)), was_paid);
        if (refused) {
          ++tally.refused;
          const grpc::ClientContext& answered =
              op->stage == Op::Stage::kCheckout ? op->checkout_context : op->pay_context;
          if (!livecommerce::bench::HasRetryHint(answered)) ++tally.refused_without_hint;
        } else if (was_paid) {
          ++paid;
        } else if (tally.errors++ < 5) {
          std::fprintf(
              stderr, "%s: %d %s\n", op->stage == Op::Stage::kCheckout ? "checkout" : "pay",
              static_cast<int>(op->status.error_code()), op->status.error_message().c_str());
        }
        delete op;
        if (--outstanding == 0 && sending_done) break;
      }
    });

    auto started = Clock::now();
    const auto interval = std::chrono::nanoseconds(1000000000LL / rate);
    for (int64_t k = 0; k < total; ++k) {
      auto due = started + interval * k;
      if (due > Clock::now()) std::this_thread::sleep_until(due);
      const int64_t n = next_op++;
      auto* op = new Op;
      op->due = due;
      op->buyer = static_cast<int>(n % o.buyers);
      op->channel = static_cast<int>(n % o.channels);
      AttachPrincipal(op->checkout_context, viewers[static_cast<size_t>(op->buyer)]);
      op->checkout_context.set_deadline(std::chrono::system_clock::now() +
                                        std::chrono::milliseconds(o.deadline_ms));
      v1::CheckoutRequest request;
      request.set_idempotency_key(absl::StrCat("bench-", run_tag, "-", n));
      v1::CheckoutLine* line = request.add_lines();
      line->set_sku_id(sku_ids[static_cast<size_t>(n) % sku_ids.size()]);
      line->set_quantity(1);
      v1::DeliveryAddress* a = request.mutable_address();
      a->set_recipient("Bench Buyer");
      a->set_phone("13800000000");
      a->set_province("Shanghai");
      a->set_city("Shanghai");
      a->set_street("1 Bench Road");
      request.mutable_attribution()->set_channel(v1::CHANNEL_SHARE_LINK);
      ++outstanding;
      op->checkout_reader = orders[static_cast<size_t>(op->channel)]->PrepareAsyncCheckout(
          &op->checkout_context, request, &cq);
      op->checkout_reader->StartCall();
      op->checkout_reader->Finish(&op->checkout, &op->status, op);
    }
    sending_done = true;
    if (outstanding == 0) cq.Shutdown();
    poller.join();
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    cq.Shutdown();
    attempted += total;
    paid_total += paid;
    errors_total += tally.errors;
    refused_total += tally.refused;
    return seconds;
  };

  // Every paid order must become one unit sold once the outbox has confirmed it; with --settle,
  // the units of checkouts that were never paid must be back on sale within that time.
  int64_t sold = 0, reserved = 0;
  auto check_record = [&] {
    auto read_stock = [&] {
      v1::GetProductRequest get;
      get.set_product_id(product.product().id());
      v1::GetProductResponse now;
      if (!catalog->GetProduct(context(ops).get(), get, &now).ok()) return false;
      int64_t on_hand = 0;
      reserved = 0;
      for (const v1::Sku& sku : now.product().skus()) {
        on_hand += sku.on_hand();
        reserved += sku.reserved();
      }
      sold = on_hand_before - on_hand;
      return true;
    };
    for (int i = 0; i < 300; ++i) {
      if (read_stock() && sold >= paid_total) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    auto settle_until = Clock::now() + std::chrono::seconds(o.settle_s);
    while (reserved > 0 && Clock::now() < settle_until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      read_stock();
    }
  };

  if (o.steps) {
    int rate = 0;
    int duration_s = 0;
    while (livecommerce::bench::NextStep(&rate, &duration_s)) {
      livecommerce::bench::StepTally tally;
      int64_t paid = 0;
      double seconds = run_step(rate, duration_s, tally, paid);
      livecommerce::bench::PrintStep(rate, seconds, tally,
                                     absl::StrCat(" attempted=", tally.all.size(), " paid=", paid));
    }
    check_record();
    std::printf(
        "final attempted=%lld paid=%lld errors=%lld refused=%lld sold=%lld reserved_left=%lld "
        "lost=%lld duplicates=%lld\n",
        static_cast<long long>(attempted), static_cast<long long>(paid_total),
        static_cast<long long>(errors_total), static_cast<long long>(refused_total),
        static_cast<long long>(sold), static_cast<long long>(reserved),
        static_cast<long long>(std::max<int64_t>(0, paid_total - sold)),
        static_cast<long long>(std::max<int64_t>(0, sold - paid_total)));
    return errors_total == 0 ? 0 : 1;
  }

  livecommerce::bench::StepTally tally;
  int64_t paid = 0;
  double seconds = run_step(o.rate, o.duration_s, tally, paid);
  check_record();
  // As before, the latency of the checkouts that were paid.
  std::vector<uint32_t>& latencies = tally.accepted;
  double p50 = livecommerce::bench::PercentileMs(latencies, 0.5),
         p99 = livecommerce::bench::PercentileMs(latencies, 0.99);
  std::printf(
      "rate=%.0f p50_ms=%.2f p99_ms=%.2f duration_s=%.1f attempted=%lld paid=%lld errors=%lld "
      "refused=%lld sold=%lld reserved_left=%lld lost=%lld duplicates=%lld\n",
      static_cast<double>(paid) / seconds, p50, p99, seconds, static_cast<long long>(attempted),
      static_cast<long long>(paid), static_cast<long long>(tally.errors),
      static_cast<long long>(tally.refused), static_cast<long long>(sold),
      static_cast<long long>(reserved), static_cast<long long>(std::max<int64_t>(0, paid - sold)),
      static_cast<long long>(std::max<int64_t>(0, sold - paid)));
  return tally.errors == 0 ? 0 : 1;
}
