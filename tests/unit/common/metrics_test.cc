// The metrics interceptor on a real in-process gRPC server bound to port 0, with a trivial
// CatalogService (GetProduct answers OK or NOT_FOUND; GetSku calls GetProduct on the same server
// through ServiceCallContext) and a callback FlashSaleService: counts and latencies per method
// and code, the caller's request id reaching sync and callback handlers and the calls they make,
// and /metrics served over HTTP.
#include "services/common/metrics.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "livecommerce/v1/catalog.grpc.pb.h"
#include "livecommerce/v1/flash.grpc.pb.h"
#include "services/common/grpc_server.h"
#include "services/common/principal.h"
#include "services/common/request_id.h"
#include "services/common/service_client.h"

namespace livecommerce::common {
namespace {

constexpr char kCatalog[] = "livecommerce.v1.CatalogService";

// What the handlers saw, for the test to read.
struct Seen {
  std::mutex mu;
  std::vector<std::string> ids;  // CurrentRequestId() in each handler, in order
  void Add(absl::string_view id) {
    std::lock_guard<std::mutex> lock(mu);
    ids.emplace_back(id);
  }
  std::vector<std::string> Take() {
    std::lock_guard<std::mutex> lock(mu);
    return std::exchange(ids, {});
  }
};

class FakeCatalog final : public v1::CatalogService::Service {
 public:
  FakeCatalog(Seen& seen, const PrincipalCodec& codec) : seen_(seen), codec_(codec) {}
  // Set after the server started (its port is known only then) and read by its threads.
  void ConnectTo(int port) {
    auto stub = v1::CatalogService::NewStub(ServiceChannel("127.0.0.1:" + std::to_string(port)));
    std::lock_guard<std::mutex> lock(stub_mu_);
    stub_ = std::move(stub);
  }

  grpc::Status GetProduct(grpc::ServerContext*, const v1::GetProductRequest* request,
                          v1::GetProductResponse* response) override {
    seen_.Add(CurrentRequestId());
    if (request->product_id() != "p1") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "product_id: no such product");
    }
    response->mutable_product()->set_id("p1");
    return grpc::Status::OK;
  }

  // Calls another service (this one) the way every service client does.
  grpc::Status GetSku(grpc::ServerContext*, const v1::GetSkuRequest*,
                      v1::GetSkuResponse*) override {
    seen_.Add(CurrentRequestId());
    auto context = ServiceCallContext(codec_, "brand-1", "test", absl::Seconds(5));
    v1::GetProductRequest request;
    request.set_product_id("p1");
    v1::GetProductResponse response;
    v1::CatalogService::Stub* stub;
    {
      std::lock_guard<std::mutex> lock(stub_mu_);
      stub = stub_.get();
    }
    return stub->GetProduct(context.get(), request, &response);
  }

 private:
  Seen& seen_;
  const PrincipalCodec& codec_;
  std::mutex stub_mu_;
  std::unique_ptr<v1::CatalogService::Stub> stub_ ABSL_GUARDED_BY(stub_mu_);
};

// A callback (reactor) handler, as the hot RPCs are.
class FakeFlash final : public v1::FlashSaleService::CallbackService {
 public:
  explicit FakeFlash(Seen& seen) : seen_(seen) {}
  grpc::ServerUnaryReactor* ReserveStock(grpc::CallbackServerContext* context,
                                         const v1::ReserveStockRequest*,
                                         v1::ReserveStockResponse*) override {
    seen_.Add(CurrentRequestId());
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "sold out"));
    return reactor;
  }

 private:
  Seen& seen_;
};

class MetricsTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options) {
    auto server = GrpcServer::Start(options, {&catalog_, &flash_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    catalog_.ConnectTo(server_->port());
    channel_ = ServiceChannel("127.0.0.1:" + std::to_string(server_->port()));
    stub_ = v1::CatalogService::NewStub(channel_);
    flash_stub_ = v1::FlashSaleService::NewStub(channel_);
  }
  void SetUp() override { StartServer(ServerOptions{}); }

  grpc::StatusCode GetProduct(const std::string& id, const std::string& request_id = "") {
    grpc::ClientContext context;
    if (!request_id.empty()) context.AddMetadata("x-request-id", request_id);
    v1::GetProductRequest request;
    request.set_product_id(id);
    v1::GetProductResponse response;
    return stub_->GetProduct(&context, request, &response).error_code();
  }

  std::string Text() { return server_->metrics().Text(); }

  PrincipalCodec codec_{"unit-internal-secret-0123456789abcdef"};
  Seen seen_;
  FakeCatalog catalog_{seen_, codec_};
  FakeFlash flash_{seen_};
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::CatalogService::Stub> stub_;
  std::unique_ptr<v1::FlashSaleService::Stub> flash_stub_;
};

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST_F(MetricsTest, CountsAndTimesEveryCallByMethodAndCode) {
  constexpr int kOk = 5;
  constexpr int kMissing = 3;
  for (int i = 0; i < kOk; ++i) ASSERT_EQ(GetProduct("p1"), grpc::StatusCode::OK);
  for (int i = 0; i < kMissing; ++i) ASSERT_EQ(GetProduct("nope"), grpc::StatusCode::NOT_FOUND);
  {
    grpc::ClientContext context;
    v1::ListProductsRequest request;
    v1::ListProductsResponse response;
    EXPECT_EQ(stub_->ListProducts(&context, request, &response).error_code(),
              grpc::StatusCode::UNIMPLEMENTED);
  }
  std::string text = Text();
  std::string labels = absl::StrCat("method=\"GetProduct\",service=\"", kCatalog, "\"");
  EXPECT_TRUE(
      Has(text, absl::StrCat("lc_grpc_server_handled_total{code=\"OK\",", labels, "} ", kOk)))
      << text;
  EXPECT_TRUE(Has(text, absl::StrCat("lc_grpc_server_handled_total{code=\"NOT_FOUND\",", labels,
                                     "} ", kMissing)))
      << text;
  EXPECT_TRUE(Has(text, absl::StrCat("lc_grpc_server_handled_total{code=\"UNIMPLEMENTED\",",
                                     "method=\"ListProducts\",service=\"", kCatalog, "\"} 1")))
      << text;
  EXPECT_TRUE(Has(
      text, absl::StrCat("lc_grpc_server_handling_seconds_count{", labels, "} ", kOk + kMissing)))
      << text;
  // Buckets from half a millisecond to five seconds; every call is within the last.
  EXPECT_NE(text.find(absl::StrCat("lc_grpc_server_handling_seconds_bucket{", labels,
                                   ",le=\"0.0005\"} ")),
            std::string::npos)
      << text;
  EXPECT_TRUE(Has(text, absl::StrCat("lc_grpc_server_handling_seconds_bucket{", labels,
                                     ",le=\"5\"} ", kOk + kMissing)))
      << text;
  // The family's children are made once: more calls only move the numbers.
  ASSERT_EQ(GetProduct("p1"), grpc::StatusCode::OK);
  EXPECT_TRUE(Has(
      Text(), absl::StrCat("lc_grpc_server_handled_total{code=\"OK\",", labels, "} ", kOk + 1)));
}

TEST_F(MetricsTest, CallbackHandlersAreCountedAndSeeTheRequestId) {
  grpc::ClientContext context;
  context.AddMetadata("x-request-id", "flash-req-7");
  v1::ReserveStockRequest request;
  v1::ReserveStockResponse response;
  EXPECT_EQ(flash_stub_->ReserveStock(&context, request, &response).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(seen_.Take(), std::vector<std::string>{"flash-req-7"});
  EXPECT_TRUE(Has(Text(),
                  "lc_grpc_server_handled_total{code=\"FAILED_PRECONDITION\",method="
                  "\"ReserveStock\",service=\"livecommerce.v1.FlashSaleService\"} 1"));
}

TEST_F(MetricsTest, RequestIdReachesTheHandlerAndEveryCallItMakes) {
  {
    grpc::ClientContext context;
    context.AddMetadata("x-request-id", "checkout-0123abcd");
    v1::GetSkuRequest request;
    v1::GetSkuResponse response;
    ASSERT_TRUE(stub_->GetSku(&context, request, &response).ok());
  }
  // GetSku's handler, then GetProduct's, called from it through ServiceCallContext.
  EXPECT_EQ(seen_.Take(), (std::vector<std::string>{"checkout-0123abcd", "checkout-0123abcd"}));

  // A call without an id (or with one that is not plain text) gets a fresh one of its own.
  ASSERT_EQ(GetProduct("p1"), grpc::StatusCode::OK);
  ASSERT_EQ(GetProduct("p1", "bad id with spaces"), grpc::StatusCode::OK);
  std::vector<std::string> ids = seen_.Take();
  ASSERT_EQ(ids.size(), 2u);
  for (const std::string& id : ids) {
    EXPECT_EQ(id.size(), 16u) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  }
  EXPECT_NE(ids[0], ids[1]);
  // This (client) thread handles no call.
  EXPECT_TRUE(CurrentRequestId().empty());
}

TEST_F(MetricsTest, ServiceCallContextCarriesNoIdOutsideARequest) {
  // A background job's call: nothing to pass on, so the callee makes its own.
  auto context = ServiceCallContext(codec_, "brand-1", "test", absl::Seconds(5));
  v1::GetProductRequest request;
  request.set_product_id("p1");
  v1::GetProductResponse response;
  ASSERT_TRUE(stub_->GetProduct(context.get(), request, &response).ok());
  std::vector<std::string> ids = seen_.Take();
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0].size(), 16u);
}

TEST_F(MetricsTest, CallbackGaugesAndPoolsAreReadAtScrapeTime) {
  double value = 1.5;
  server_->metrics().AddCallbackGauge("lc_test_value", "A test gauge.", [&] { return value; });
  EXPECT_TRUE(Has(Text(), "lc_test_value 1.5"));
  value = 42;
  EXPECT_TRUE(Has(Text(), "lc_test_value 42"));
  EXPECT_TRUE(Has(Text(), "lc_batcher_queued{kind=\"mysql\"} 0"));
}

// GET /metrics over a plain socket; the whole answer.
std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    close(fd);
    return "";
  }
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  (void)!send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string got;
  char buffer[4096];
  for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) got.append(buffer, n);
  close(fd);
  return got;
}

TEST_F(MetricsTest, ServesMetricsOverHttp) {
  ServerOptions options;
  options.metrics_address = "127.0.0.1:0";
  options.access_log = false;
  server_.reset();
  StartServer(options);
  ASSERT_GT(server_->metrics_port(), 0);
  ASSERT_EQ(GetProduct("p1"), grpc::StatusCode::OK);
  std::string answer = HttpGet(server_->metrics_port(), "/metrics");
  EXPECT_NE(answer.find("200 OK"), std::string::npos) << answer;
  EXPECT_NE(answer.find("lc_grpc_server_handled_total{code=\"OK\",method=\"GetProduct\""),
            std::string::npos)
      << answer;
}

TEST(RequestIdTest, NewValidAndScoped) {
  std::string id = NewRequestId();
  EXPECT_EQ(id.size(), 16u);
  EXPECT_TRUE(IsValidRequestId(id));
  EXPECT_NE(NewRequestId(), id);
  EXPECT_TRUE(IsValidRequestId("A-b_c.9"));
  EXPECT_FALSE(IsValidRequestId(""));
  EXPECT_FALSE(IsValidRequestId("has space"));
  EXPECT_FALSE(IsValidRequestId("new\nline"));
  EXPECT_FALSE(IsValidRequestId(std::string(65, 'a')));
  EXPECT_TRUE(CurrentRequestId().empty());
  {
    ScopedRequestId outer("outer");
    EXPECT_EQ(CurrentRequestId(), "outer");
    {
      ScopedRequestId inner("inner");
      EXPECT_EQ(CurrentRequestId(), "inner");
    }
    EXPECT_EQ(CurrentRequestId(), "outer");
  }
  EXPECT_TRUE(CurrentRequestId().empty());
}

}  // namespace
}  // namespace livecommerce::common
