// Load generator for the `checkout` scenario: checkouts paid end to end. Each operation is a
// viewer's Checkout of one unit (its own idempotency key) followed, as soon as it answers, by the
// sandbox payment confirmation; latency runs from when the operation was due (open loop) to the
// PAID answer. At the end the record is checked: every operation answered PAID must have turned
// into exactly one confirmed unit of stock once the outbox has delivered (lost, duplicates).
// Prints one line of key=value figures on stdout.
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
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i], value = argv[i + 1];
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

  const int64_t total = static_cast<int64_t>(o.rate) * o.duration_s;
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
    new_sku->set_on_hand(total * 2);
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
  const int64_t on_hand_before = total * 2 * static_cast<int64_t>(sku_ids.size());

  grpc::CompletionQueue cq;
  std::vector<uint32_t> latencies;
  latencies.reserve(static_cast<size_t>(total));
  int64_t paid = 0, errors = 0;
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
        op->pay_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        v1::ConfirmSandboxPaymentRequest request;
        request.set_order_id(op->checkout.order().id());
        op->pay_reader =
            orders[static_cast<size_t>(op->channel)]->PrepareAsyncConfirmSandboxPayment(
                &op->pay_context, request, &cq);
        op->pay_reader->StartCall();
        op->pay_reader->Finish(&op->paid, &op->status, op);
        continue;
      }
      if (op->status.ok() && op->paid.order().status() == v1::ORDER_STATUS_PAID) {
        ++paid;
        auto micros =
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - op->due).count();
        latencies.push_back(static_cast<uint32_t>(std::min<int64_t>(micros, UINT32_MAX)));
      } else if (errors++ < 5) {
        std::fprintf(stderr, "%s: %s\n", op->stage == Op::Stage::kCheckout ? "checkout" : "pay",
                     op->status.error_message().c_str());
      }
      delete op;
      if (--outstanding == 0 && sending_done) break;
    }
  });

  auto started = Clock::now();
  const auto interval = std::chrono::nanoseconds(1000000000LL / o.rate);
  for (int64_t k = 0; k < total; ++k) {
    auto due = started + interval * k;
    if (due > Clock::now()) std::this_thread::sleep_until(due);
    auto* op = new Op;
    op->due = due;
    op->buyer = static_cast<int>(k % o.buyers);
    op->channel = static_cast<int>(k % o.channels);
    AttachPrincipal(op->checkout_context, viewers[static_cast<size_t>(op->buyer)]);
    op->checkout_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::CheckoutRequest request;
    request.set_idempotency_key(absl::StrCat("bench-", run_tag, "-", k));
    v1::CheckoutLine* line = request.add_lines();
    line->set_sku_id(sku_ids[static_cast<size_t>(k) % sku_ids.size()]);
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

  // Every paid order must become one unit sold once the outbox has confirmed it.
  int64_t sold = 0, reserved = 0;
  for (int i = 0; i < 300; ++i) {
    v1::GetProductRequest get;
    get.set_product_id(product.product().id());
    v1::GetProductResponse now;
    if (catalog->GetProduct(context(ops).get(), get, &now).ok()) {
      int64_t on_hand = 0;
      reserved = 0;
      for (const v1::Sku& sku : now.product().skus()) {
        on_hand += sku.on_hand();
        reserved += sku.reserved();
      }
      sold = on_hand_before - on_hand;
      if (sold >= paid) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  double p50 = livecommerce::bench::PercentileMs(latencies, 0.5),
         p99 = livecommerce::bench::PercentileMs(latencies, 0.99);
  std::printf(
      "rate=%.0f p50_ms=%.2f p99_ms=%.2f duration_s=%.1f attempted=%lld paid=%lld errors=%lld "
      "sold=%lld reserved_left=%lld lost=%lld duplicates=%lld\n",
      static_cast<double>(paid) / seconds, p50, p99, seconds, static_cast<long long>(total),
      static_cast<long long>(paid), static_cast<long long>(errors), static_cast<long long>(sold),
      static_cast<long long>(reserved), static_cast<long long>(std::max<int64_t>(0, paid - sold)),
      static_cast<long long>(std::max<int64_t>(0, sold - paid)));
  return errors == 0 ? 0 : 1;
}
