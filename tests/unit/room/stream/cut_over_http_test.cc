// Both providers' Cut over the shared HTTP client, against an HTTP server in this process on
// 127.0.0.1.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/http_client.h"
#include "services/room/stream/local_provider.h"
#include "services/room/stream/tencent_provider.h"
#include "tests/support/test_http_server.h"

namespace livecommerce::room::stream {
namespace {

namespace http = boost::beast::http;
using testing::TestAnswer;
using testing::TestHttpServer;
using Request = TestHttpServer::Request;
using Json = nlohmann::json;

std::unique_ptr<common::BeastHttpFetcher> Fetcher() {
  absl::StatusOr<std::unique_ptr<common::BeastHttpFetcher>> fetcher =
      common::BeastHttpFetcher::Create({absl::Seconds(5)});
  EXPECT_TRUE(fetcher.ok()) << fetcher.status();
  return fetcher.ok() ? *std::move(fetcher) : nullptr;
}

// Tencent's API answers 200 with a Response object, carrying Error when the call failed.
std::string TencentAnswer(absl::string_view error_code) {
  Json response = {{"RequestId", "8e50cdb5-56dc-408b-89b0-31818958d424"}};
  if (!error_code.empty()) {
    response["Error"] = {{"Code", std::string(error_code)}, {"Message", "as documented"}};
  }
  return Json{{"Response", response}}.dump();
}

std::unique_ptr<TencentProvider> TencentAt(const TestHttpServer& server) {
  TencentProviderOptions options;
  options.push_domain = "push.example.com";
  options.play_domain = "play.example.com";
  options.push_key = "push-primary-key";
  options.play_key = "play-primary-key";
  options.callback_key = "cb-key-0011223344";
  options.secret_id = "AKIDexample";
  options.secret_key = "secret-key-example";
  options.api_endpoint = server.url();
  absl::StatusOr<std::unique_ptr<TencentProvider>> provider = TencentProvider::Create(
      options, Fetcher(), std::make_shared<common::FakeClock>(absl::FromUnixSeconds(1703731500)));
  EXPECT_TRUE(provider.ok()) << provider.status();
  return provider.ok() ? *std::move(provider) : nullptr;
}

TEST(TencentCutOverHttpTest, SendsASignedDropLiveStreamAndReadsTheAnswer) {
  std::mutex mu;  // the answer is changed between calls, read on the server's thread
  std::string error_code;
  auto answer_with = [&](std::string code) {
    std::lock_guard<std::mutex> lock(mu);
    error_code = std::move(code);
  };
  TestHttpServer server([&](const Request&) {
    std::lock_guard<std::mutex> lock(mu);
    return TestAnswer(http::status::ok, TencentAnswer(error_code), "application/json");
  });
  auto provider = TencentAt(server);

  EXPECT_TRUE(provider->Cut("s_abc123").ok());
  std::vector<Request> seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  const Request& request = seen[0];
  EXPECT_EQ(request.method(), http::verb::post);
  EXPECT_EQ(request.target(), "/");
  EXPECT_EQ(request["X-TC-Action"], "DropLiveStream");
  EXPECT_EQ(request["X-TC-Version"], "2018-08-01");
  EXPECT_EQ(Json::parse(request.body())["StreamName"], "s_abc123");
  // What arrived is signed over what arrived: the host, the content type and the body.
  Tc3Signature expected = SignTc3(
      Tc3Input{"AKIDexample", "secret-key-example", "live", std::string(request[http::field::host]),
               std::string(request[http::field::content_type]), request.body(), 1703731500});
  EXPECT_EQ(request[http::field::authorization], expected.authorization);
  EXPECT_EQ(request[http::field::host], absl::StrCat("127.0.0.1:", server.port()));

  answer_with("FailedOperation.HasNotLivingStream");  // nothing was pushing: done
  EXPECT_TRUE(provider->Cut("s_abc123").ok());
  answer_with("AuthFailure.SignatureFailure");
  absl::Status refused = provider->Cut("s_abc123");
  EXPECT_EQ(refused.code(), absl::StatusCode::kInternal) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "AuthFailure.SignatureFailure")) << refused;
  answer_with("InternalError");
  EXPECT_EQ(provider->Cut("s_abc123").code(), absl::StatusCode::kUnavailable);
}

TEST(LocalCutOverHttpTest, DropsThroughTheControlHandler) {
  std::mutex mu;  // the answer is changed between calls, read on the server's thread
  http::status status = http::status::ok;
  std::string body = "1";
  auto answer_with = [&](http::status new_status, std::string new_body) {
    std::lock_guard<std::mutex> lock(mu);
    status = new_status;
    body = std::move(new_body);
  };
  TestHttpServer server([&](const Request&) {
    std::lock_guard<std::mutex> lock(mu);
    return TestAnswer(status, body);
  });
  LocalProviderOptions options;
  options.play_secret = "0123456789abcdef-secret";
  options.control_url = server.url("/control");
  absl::StatusOr<std::unique_ptr<LocalProvider>> provider =
      LocalProvider::Create(options, Fetcher());
  ASSERT_TRUE(provider.ok()) << provider.status();

  EXPECT_TRUE((*provider)->Cut("s_abc123").ok());
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].method(), http::verb::get);
  EXPECT_EQ(server.requests()[0].target(), "/control/drop/publisher?app=live&name=s_abc123");
  answer_with(http::status::ok, "0");
  EXPECT_TRUE((*provider)->Cut("s_abc123").ok());
  answer_with(http::status::not_found, "");
  EXPECT_TRUE((*provider)->Cut("s_abc123").ok());
  answer_with(http::status::internal_server_error, "");
  EXPECT_EQ((*provider)->Cut("s_abc123").code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace livecommerce::room::stream
