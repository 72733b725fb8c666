// The Beast HTTP client against an HTTP server in this process on 127.0.0.1 (TLS is exercised
// through the WeChat Pay transport in tests/integration/order/payment/beast_transport_itest.cc).
#include "services/common/http_client.h"

#include <stdlib.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/test_http_server.h"

namespace livecommerce::common {
namespace {

namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using testing::TestAnswer;
using testing::TestHttpServer;
using Request = TestHttpServer::Request;
using Response = TestHttpServer::Response;

std::unique_ptr<BeastHttpFetcher> Fetcher(absl::Duration timeout = absl::Seconds(5),
                                          size_t max_response_bytes = 1 << 20) {
  absl::StatusOr<std::unique_ptr<BeastHttpFetcher>> fetcher =
      BeastHttpFetcher::Create({timeout, max_response_bytes});
  EXPECT_TRUE(fetcher.ok()) << fetcher.status();
  return fetcher.ok() ? *std::move(fetcher) : nullptr;
}

TEST(BeastHttpFetcherTest, SendsTheRequestAndReturnsTheAnswer) {
  TestHttpServer server([](const Request& request) {
    Response response = TestAnswer(http::status::created, "made: " + request.body());
    response.set("X-Answer", "yes");
    return response;
  });
  HttpFetchRequest request;
  request.method = "POST";
  request.url = server.url("/drop/publisher?app=live&name=s1");
  request.headers = {{"X-Custom", "value"}, {"Content-Type", "application/json"}};
  request.body = R"({"a":1})";
  absl::StatusOr<HttpFetchResponse> response = Fetcher()->Fetch(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, R"(made: {"a":1})");
  bool saw_header = false;
  for (const auto& [name, value] : response->headers) {
    saw_header = saw_header || (name == "X-Answer" && value == "yes");
  }
  EXPECT_TRUE(saw_header);

  std::vector<Request> seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method(), http::verb::post);
  EXPECT_EQ(seen[0].target(), "/drop/publisher?app=live&name=s1");
  EXPECT_EQ(seen[0][http::field::host], absl::StrCat("127.0.0.1:", server.port()));
  EXPECT_EQ(seen[0]["X-Custom"], "value");
  EXPECT_EQ(seen[0].body(), R"({"a":1})");
}

TEST(BeastHttpFetcherTest, ErrorStatusesAreAnswersNotFailures) {
  TestHttpServer server([](const Request&) { return TestAnswer(http::status::not_found, "none"); });
  absl::StatusOr<HttpFetchResponse> response = Fetcher()->Fetch({"GET", server.url("/x"), {}, ""});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 404);
}

TEST(BeastHttpFetcherTest, TimesOutOnAServerThatNeverAnswers) {
  // Listening but never accepting: the kernel completes the connection, nothing answers.
  net::io_context ioc;
  tcp::acceptor silent(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  const std::string url = absl::StrCat("http://127.0.0.1:", silent.local_endpoint().port(), "/");
  auto started = std::chrono::steady_clock::now();
  absl::StatusOr<HttpFetchResponse> response =
      Fetcher(absl::Milliseconds(300))->Fetch({"GET", url, {}, ""});
  auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded) << response.status();
  EXPECT_GE(elapsed, std::chrono::milliseconds(250));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(BeastHttpFetcherTest, TimesOutOnAServerThatReadsButNeverAnswers) {
  TestHttpServer server([](const Request&) { return std::nullopt; });
  const std::string url = server.url("/cgi-bin/x?access_token=SECRET-TOKEN");
  auto started = std::chrono::steady_clock::now();
  absl::StatusOr<HttpFetchResponse> response =
      Fetcher(absl::Milliseconds(300))->Fetch({"POST", url, {}, "{}"});
  auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded) << response.status();
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_EQ(server.requests().size(), 1u);
  // The message names the host, never the target and its query.
  EXPECT_FALSE(absl::StrContains(response.status().message(), "SECRET-TOKEN"));
  EXPECT_TRUE(absl::StrContains(response.status().message(), "127.0.0.1"));
}

TEST(BeastHttpFetcherTest, RefusedConnectionIsUnavailable) {
  uint16_t port = 0;
  {
    net::io_context ioc;
    tcp::acceptor closed(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    port = closed.local_endpoint().port();
  }
  absl::StatusOr<HttpFetchResponse> response =
      Fetcher()->Fetch({"GET", absl::StrCat("http://127.0.0.1:", port, "/"), {}, ""});
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
}

TEST(BeastHttpFetcherTest, RefusesAnOversizedAnswerAndBadRequests) {
  TestHttpServer server(
      [](const Request&) { return TestAnswer(http::status::ok, std::string(4096, 'x')); });
  absl::StatusOr<HttpFetchResponse> big =
      Fetcher(absl::Seconds(5), 1024)->Fetch({"GET", server.url("/"), {}, ""});
  EXPECT_EQ(big.status().code(), absl::StatusCode::kUnavailable)
      << (big.ok() ? absl::StrCat("HTTP ", big->status, ", ", big->body.size(), " bytes") : "");
  // At the limit is fine.
  EXPECT_TRUE(Fetcher(absl::Seconds(5), 4096)->Fetch({"GET", server.url("/"), {}, ""}).ok());
  EXPECT_EQ(Fetcher()->Fetch({"GET", "ftp://127.0.0.1/", {}, ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Fetcher()->Fetch({"FETCH ME", server.url("/"), {}, ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BeastHttpFetcher::Create({absl::ZeroDuration(), 1024}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BeastHttpFetcherTest, RefusesCaOptionsWithoutACertificate) {
  BeastHttpFetcherOptions options;
  options.trusted_ca_pem = "not a certificate";
  absl::StatusOr<std::unique_ptr<BeastHttpFetcher>> fetcher = BeastHttpFetcher::Create(options);
  EXPECT_EQ(fetcher.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(fetcher.status().message(), "trusted_ca_pem")) << fetcher.status();
  options.trusted_ca_pem = "";
  options.extra_ca_pem = "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n";
  fetcher = BeastHttpFetcher::Create(options);
  EXPECT_EQ(fetcher.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(fetcher.status().message(), "extra_ca_pem")) << fetcher.status();
  options.extra_ca_pem = "";
  EXPECT_TRUE(BeastHttpFetcher::Create(options).ok());
}

TEST(LoadCaBundleFromEnvTest, ReadsTheFileOrNamesTheVariable) {
  constexpr char kVar[] = "LC_TEST_HTTP_CLIENT_CA_FILE";
  unsetenv(kVar);
  absl::StatusOr<std::string> pem = LoadCaBundleFromEnv(kVar);
  ASSERT_TRUE(pem.ok()) << pem.status();
  EXPECT_EQ(*pem, "");

  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("lc-http-client-test-", getpid());
  std::filesystem::create_directories(dir);
  const std::string bundle = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  std::ofstream((dir / "ca.pem").string()) << bundle;
  std::ofstream((dir / "key.pem").string()) << "-----BEGIN PRIVATE KEY-----\n";

  setenv(kVar, (dir / "ca.pem").c_str(), 1);
  pem = LoadCaBundleFromEnv(kVar);
  ASSERT_TRUE(pem.ok()) << pem.status();
  EXPECT_EQ(*pem, bundle);
  for (const char* bad : {"key.pem", "missing.pem"}) {
    setenv(kVar, (dir / bad).c_str(), 1);
    pem = LoadCaBundleFromEnv(kVar);
    EXPECT_EQ(pem.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(absl::StartsWith(pem.status().message(), kVar)) << pem.status();
  }
  unsetenv(kVar);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace livecommerce::common
