// The Beast HTTP client, and both providers' Cut through it, against an HTTP server in this
// process on 127.0.0.1.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/room/stream/http_fetch.h"
#include "services/room/stream/local_provider.h"
#include "services/room/stream/tencent_provider.h"

namespace livecommerce::room::stream {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using Json = nlohmann::json;

// Serves one connection at a time on a thread: reads a request, answers with `handler`, closes.
class TestHttpServer {
 public:
  using Handler = std::function<Response(const Request&)>;

  explicit TestHttpServer(Handler handler)
      : handler_(std::move(handler)),
        acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)),
        port_(acceptor_.local_endpoint().port()),
        thread_([this] { Serve(); }) {}

  ~TestHttpServer() {
    stopping_ = true;
    // Wakes the blocking accept.
    net::io_context ioc;
    tcp::socket poke(ioc);
    beast::error_code ignored;
    poke.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ignored);
    thread_.join();
  }

  std::string url(absl::string_view path = "") const {
    return absl::StrCat("http://127.0.0.1:", port_, path);
  }
  uint16_t port() const { return port_; }
  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (true) {
      tcp::socket socket(ioc_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      if (stopping_ || ec) {
        return;
      }
      beast::flat_buffer buffer;
      Request request;
      http::read(socket, buffer, request, ec);
      if (ec) {
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(request);
      }
      Response response = handler_(request);
      response.prepare_payload();
      http::write(socket, response, ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
  }

  Handler handler_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  uint16_t port_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::vector<Request> requests_;
  std::thread thread_;
};

Response Answer(http::status status, std::string body, std::string content_type = "text/plain") {
  Response response{status, 11};
  response.set(http::field::content_type, content_type);
  response.body() = std::move(body);
  return response;
}

std::unique_ptr<BeastHttpFetcher> Fetcher(absl::Duration timeout = absl::Seconds(5),
                                          size_t max_response_bytes = 1 << 20) {
  absl::StatusOr<std::unique_ptr<BeastHttpFetcher>> fetcher =
      BeastHttpFetcher::Create({timeout, max_response_bytes});
  EXPECT_TRUE(fetcher.ok()) << fetcher.status();
  return fetcher.ok() ? *std::move(fetcher) : nullptr;
}

TEST(BeastHttpFetcherTest, SendsTheRequestAndReturnsTheAnswer) {
  TestHttpServer server([](const Request& request) {
    Response response = Answer(http::status::created, "made: " + request.body());
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
  TestHttpServer server([](const Request&) { return Answer(http::status::not_found, "none"); });
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
      [](const Request&) { return Answer(http::status::ok, std::string(4096, 'x')); });
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
    return Answer(http::status::ok, TencentAnswer(error_code), "application/json");
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
    return Answer(status, body);
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
