// The WeChat platform client over real HTTP, against a server in this process answering as
// api.weixin.qq.com documents it (the stable-token API, msgSecCheck 2.0, errcodes).
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/clock.h"
#include "services/common/http_client.h"
#include "services/common/wechat/platform_client.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"
#include "tests/support/test_http_server.h"

namespace livecommerce::common::wechat {
namespace {

namespace http = boost::beast::http;
using Json = nlohmann::json;
using testing::TestAnswer;
using testing::TestHttpServer;
using Request = TestHttpServer::Request;
using Response = TestHttpServer::Response;

constexpr char kBrand[] = "maison";
constexpr char kAppId[] = "wx5f3a9c0d1e2b4a68";
constexpr char kSecret[] = "9f86d081884c7d659a2feaa0c55ad015";
constexpr char kTokenPath[] = "/cgi-bin/stable_token";
constexpr char kCheckPath[] = "/wxa/msg_sec_check";
constexpr char kSendPath[] = "/cgi-bin/message/subscribe/send";
constexpr char kCodePath[] = "/wxa/getwxacodeunlimit";
const absl::Time kT0 = absl::FromUnixSeconds(1800000000);

Response JsonAnswer(const Json& body) {
  return TestAnswer(http::status::ok, body.dump(), "application/json");
}

// The access_token in a request's query ("" when none).
std::string TokenOf(const Request& request) {
  const std::string target(request.target());
  size_t q = target.find('?');
  if (q == std::string::npos) {
    return "";
  }
  auto fields = ParseFormUrlEncoded(absl::string_view(target).substr(q + 1));
  if (!fields.ok()) {
    return "";
  }
  for (const auto& [name, value] : *fields) {
    if (name == "access_token") {
      return value;
    }
  }
  return "";
}

// api.weixin.qq.com as far as these tests need it. The token API checks the credentials and
// issues "token-1", "token-2", ... (normal mode: the same one again while it is not revoked);
// every other path checks the access_token and answers `api_answer` to a valid one.
class FakeWechat {
 public:
  FakeWechat() : server_([this](const Request& request) { return Handle(request); }) {}

  std::string url() const { return server_.url(); }
  int TokenRequests() const { return server_.Count(kTokenPath); }
  int Requests(absl::string_view path) const { return server_.Count(path); }
  std::vector<Request> requests() const { return server_.requests(); }

  // The token API answers this instead of a token ("" to issue again).
  void set_token_answer(std::string body) {
    std::lock_guard<std::mutex> lock(mu_);
    token_answer_ = std::move(body);
  }
  void set_expires_in(int seconds) { expires_in_ = seconds; }
  void set_token_delay(absl::Duration delay) {
    std::lock_guard<std::mutex> lock(mu_);
    token_delay_ = delay;
  }
  // Every token issued so far is refused from now on, answered `errcode`.
  void RevokeTokens(int errcode = kErrInvalidCredential) {
    std::lock_guard<std::mutex> lock(mu_);
    valid_.clear();
    current_.clear();
    refused_errcode_ = errcode;
  }
  // Calls are refused with `errcode` whatever their token.
  void RefuseEveryToken(int errcode) {
    std::lock_guard<std::mutex> lock(mu_);
    refuse_all_ = true;
    refused_errcode_ = errcode;
  }
  void set_api_answer(Json body) {
    std::lock_guard<std::mutex> lock(mu_);
    api_answer_ = TestAnswer(http::status::ok, body.dump(), "application/json");
  }
  void set_api_raw_answer(http::status status, std::string body,
                          std::string content_type = "text/plain") {
    std::lock_guard<std::mutex> lock(mu_);
    api_answer_ = TestAnswer(status, std::move(body), std::move(content_type));
  }
  // API calls are read and never answered.
  void set_api_silent(bool silent) { api_silent_ = silent; }

 private:
  std::optional<Response> Handle(const Request& request) {
    if (request.method() != http::verb::post) {
      return JsonAnswer({{"errcode", 43002}, {"errmsg", "require POST method"}});
    }
    if (request.target() == kTokenPath) {
      return Token(request);
    }
    if (api_silent_) {
      return std::nullopt;
    }
    std::lock_guard<std::mutex> lock(mu_);
    std::string token = TokenOf(request);
    if (refuse_all_ || valid_.count(token) == 0) {
      return JsonAnswer({{"errcode", refused_errcode_},
                         {"errmsg", "invalid credential, access_token is invalid or not latest"}});
    }
    return api_answer_;
  }

  Response Token(const Request& request) {
    absl::Duration delay;
    {
      std::lock_guard<std::mutex> lock(mu_);
      delay = token_delay_;
    }
    absl::SleepFor(delay);  // a slow token API, so that callers pile up behind one refresh
    Json body = Json::parse(request.body(), nullptr, false);
    std::lock_guard<std::mutex> lock(mu_);
    if (!token_answer_.empty()) {
      Json answer = Json::parse(token_answer_, nullptr, false);
      if (answer.is_object() && answer.value("access_token", "") != "") {
        valid_.insert(answer.value("access_token", ""));  // a token issued elsewhere is valid
      }
      return TestAnswer(http::status::ok, token_answer_, "application/json");
    }
    if (!body.is_object() || body.value("grant_type", "") != "client_credential" ||
        body.contains("force_refresh")) {
      return JsonAnswer({{"errcode", 40002}, {"errmsg", "invalid grant_type"}});
    }
    if (body.value("appid", "") != kAppId || body.value("secret", "") != kSecret) {
      return JsonAnswer({{"errcode", 40125}, {"errmsg", "invalid appsecret"}});
    }
    if (current_.empty()) {
      current_ = absl::StrCat("token-", ++issued_);
      valid_.insert(current_);
    }
    return JsonAnswer({{"access_token", current_}, {"expires_in", expires_in_.load()}});
  }

  mutable std::mutex mu_;
  std::string token_answer_;
  std::atomic<int> expires_in_{7200};
  absl::Duration token_delay_;
  int issued_ = 0;
  std::string current_;
  std::set<std::string> valid_;
  bool refuse_all_ = false;
  int refused_errcode_ = kErrInvalidCredential;
  Response api_answer_ = JsonAnswer({{"errcode", 0}, {"errmsg", "ok"}});
  std::atomic<bool> api_silent_{false};
  TestHttpServer server_;  // last: its handler uses the members above
};

class PlatformClientTest : public ::testing::Test {
 protected:
  // A client of `base_url` (the fake's by default) with an HTTP timeout of `timeout`.
  std::unique_ptr<PlatformClient> Client(std::string base_url = "",
                                         absl::Duration timeout = absl::Seconds(5)) {
    WechatPlatformConfig config;
    config.base_url = base_url.empty() ? wechat_.url() : base_url;
    config.timeout = timeout;
    config.apps_by_brand[kBrand] = {kAppId, kSecret};
    auto fetcher = BeastHttpFetcher::Create(WechatFetcherOptions(config));
    EXPECT_TRUE(fetcher.ok()) << fetcher.status();
    fetchers_.push_back(*std::move(fetcher));
    auto client = PlatformClient::Create(config, fetchers_.back().get(), &clock_);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  absl::Status Send(const PlatformClient& client) {
    return client.Call(kAppId, kSendPath, Json{{"touser", "oOpenid1"}, {"template_id", "tpl"}})
        .status();
  }

  FakeClock clock_{kT0};
  FakeWechat wechat_;
  std::vector<std::unique_ptr<BeastHttpFetcher>> fetchers_;
};

TEST_F(PlatformClientTest, FetchesTheTokenOnceAndSendsItWithEveryCall) {
  auto client = Client();
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<Json> answer = client->Call(kAppId, kSendPath, Json{{"touser", "o1"}});
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ((*answer)["errmsg"], "ok");
  }
  EXPECT_EQ(wechat_.TokenRequests(), 1);
  EXPECT_EQ(wechat_.Requests(kSendPath), 5);
  for (const Request& request : wechat_.requests()) {
    EXPECT_EQ(request.method(), http::verb::post);
    EXPECT_EQ(request[http::field::content_type], "application/json");
    if (request.target() == kTokenPath) {
      EXPECT_EQ(
          Json::parse(request.body()),
          (Json{{"grant_type", "client_credential"}, {"appid", kAppId}, {"secret", kSecret}}));
    } else {
      EXPECT_EQ(TokenOf(request), "token-1");
      EXPECT_EQ(Json::parse(request.body()), (Json{{"touser", "o1"}}));
    }
  }
  absl::StatusOr<std::string> token = client->AccessToken(kAppId);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "token-1");
  EXPECT_EQ(wechat_.TokenRequests(), 1);
}

TEST_F(PlatformClientTest, RenewsTheTokenInItsLastFiveMinutes) {
  auto client = Client();
  ASSERT_TRUE(Send(*client).ok());
  clock_.Advance(absl::Seconds(7200 - 301));  // 301 s left: still used
  ASSERT_TRUE(Send(*client).ok());
  EXPECT_EQ(wechat_.TokenRequests(), 1);
  clock_.Advance(absl::Seconds(2));  // 299 s left: renewed (WeChat hands out the next one now)
  wechat_.RevokeTokens();            // and only the new one works
  ASSERT_TRUE(Send(*client).ok());
  EXPECT_EQ(wechat_.TokenRequests(), 2);
  EXPECT_EQ(TokenOf(wechat_.requests().back()), "token-2");
  // Past expiry without a call in between: renewed before use.
  clock_.Advance(absl::Hours(3));
  wechat_.RevokeTokens();
  ASSERT_TRUE(Send(*client).ok());
  EXPECT_EQ(wechat_.TokenRequests(), 3);
  EXPECT_EQ(wechat_.Requests(kSendPath), 4);  // no call was refused on the way
}

TEST_F(PlatformClientTest, AShortTokenIsRenewedHalfWay) {
  wechat_.set_expires_in(300);  // the least WeChat answers
  auto client = Client();
  ASSERT_TRUE(Send(*client).ok());
  clock_.Advance(absl::Seconds(149));
  ASSERT_TRUE(Send(*client).ok());
  EXPECT_EQ(wechat_.TokenRequests(), 1);
  clock_.Advance(absl::Seconds(2));
  ASSERT_TRUE(Send(*client).ok());
  EXPECT_EQ(wechat_.TokenRequests(), 2);
}

TEST_F(PlatformClientTest, AFailedRenewalKeepsTheStillValidToken) {
  auto client = Client();
  ASSERT_TRUE(Send(*client).ok());
  clock_.Advance(absl::Seconds(7000));  // in the margin
  wechat_.set_token_answer(R"({"errcode":-1,"errmsg":"system error"})");
  EXPECT_TRUE(Send(*client).ok());  // token-1 is still valid
  EXPECT_EQ(wechat_.TokenRequests(), 2);
  EXPECT_TRUE(Send(*client).ok());  // the next attempt waits a little
  EXPECT_EQ(wechat_.TokenRequests(), 2);
  clock_.Advance(absl::Seconds(11));
  wechat_.set_token_answer("");
  EXPECT_TRUE(Send(*client).ok());
  EXPECT_EQ(wechat_.TokenRequests(), 3);
  // Once it has expired, a failed renewal is the caller's error.
  clock_.Advance(absl::Hours(3));
  wechat_.set_token_answer(R"({"errcode":-1,"errmsg":"system error"})");
  absl::Status status = Send(*client);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(WechatErrcode(status), -1);
}

// Many threads asking while the token is missing: one token request, the others wait for it.
TEST_F(PlatformClientTest, ConcurrentCallersShareOneTokenRequest) {
  auto client = Client();
  wechat_.set_token_delay(absl::Milliseconds(300));
  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      ok += Send(*client).ok() ? 1 : 0;
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok, kThreads);
  EXPECT_EQ(wechat_.TokenRequests(), 1);
  EXPECT_EQ(wechat_.Requests(kSendPath), kThreads);
}

// Many threads asking while the token is due for renewal: one renews, the others go on with the
// still-valid token.
TEST_F(PlatformClientTest, ConcurrentCallersDuringARenewalMakeOneTokenRequest) {
  auto client = Client();
  ASSERT_TRUE(Send(*client).ok());
  clock_.Advance(absl::Seconds(7000));
  wechat_.set_token_delay(absl::Milliseconds(300));
  // WeChat issues the next token while the old one still works.
  wechat_.set_token_answer(R"({"access_token":"token-next","expires_in":7200})");
  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      ok += Send(*client).ok() ? 1 : 0;
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok, kThreads);
  EXPECT_EQ(wechat_.TokenRequests(), 2);
  absl::StatusOr<std::string> token = client->AccessToken(kAppId);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "token-next");
}

TEST_F(PlatformClientTest, ARefusedTokenIsRenewedOnceAndTheCallRetriedOnce) {
  for (int errcode : {kErrInvalidCredential, kErrInvalidAccessToken, kErrAccessTokenExpired}) {
    SCOPED_TRACE(errcode);
    FakeWechat wechat;
    WechatPlatformConfig config;
    config.base_url = wechat.url();
    config.apps_by_brand[kBrand] = {kAppId, kSecret};
    auto fetcher = BeastHttpFetcher::Create(WechatFetcherOptions(config)).value();
    auto client = PlatformClient::Create(config, fetcher.get(), &clock_).value();
    ASSERT_TRUE(client->Call(kAppId, kSendPath, Json::object()).ok());
    wechat.RevokeTokens(errcode);  // e.g. revoked by a force refresh elsewhere
    absl::StatusOr<Json> answer = client->Call(kAppId, kSendPath, Json::object());
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(wechat.TokenRequests(), 2);
    EXPECT_EQ(wechat.Requests(kSendPath), 3);  // the first call, the refused one, the retry
    EXPECT_EQ(TokenOf(wechat.requests().back()), "token-2");
  }
}

TEST_F(PlatformClientTest, ATokenRefusedAgainAfterRenewalIsNotRetriedForever) {
  auto client = Client();
  wechat_.RefuseEveryToken(kErrInvalidAccessToken);
  absl::Status status = Send(*client);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(WechatErrcode(status), kErrInvalidAccessToken);
  EXPECT_EQ(wechat_.TokenRequests(), 2);
  EXPECT_EQ(wechat_.Requests(kSendPath), 2);
}

TEST_F(PlatformClientTest, CheckTextReadsEachVerdict) {
  auto client = Client();
  struct Case {
    std::string suggest;
    int label;
    TextVerdict verdict;
  };
  for (const Case& c :
       {Case{"pass", 100, TextVerdict::kPass}, Case{"review", 20002, TextVerdict::kReview},
        Case{"risky", 20001, TextVerdict::kRisky}}) {
    SCOPED_TRACE(c.suggest);
    wechat_.set_api_answer({{"errcode", 0},
                            {"errmsg", "ok"},
                            {"trace_id", "60ae120f-371d5872-7941a05b"},
                            {"result", {{"suggest", c.suggest}, {"label", c.label}}},
                            {"detail", Json::array({{{"strategy", "content_model"},
                                                     {"errcode", 0},
                                                     {"suggest", c.suggest},
                                                     {"label", c.label},
                                                     {"prob", 90}}})}});
    absl::StatusOr<TextCheck> check = client->CheckText(kAppId, "oOpenid1", "这条评论好看吗");
    ASSERT_TRUE(check.ok()) << check.status();
    EXPECT_EQ(check->verdict, c.verdict);
    EXPECT_EQ(check->label, c.label);
    EXPECT_EQ(check->trace_id, "60ae120f-371d5872-7941a05b");
  }
  const Request sent = wechat_.requests().back();
  EXPECT_TRUE(
      absl::StartsWith(std::string(sent.target()), absl::StrCat(kCheckPath, "?access_token=")));
  EXPECT_EQ(
      Json::parse(sent.body()),
      (Json{{"content", "这条评论好看吗"}, {"version", 2}, {"scene", 2}, {"openid", "oOpenid1"}}));

  absl::StatusOr<TextCheck> profile =
      client->CheckText(kAppId, "oOpenid1", "nickname", TextScene::kProfile);
  ASSERT_TRUE(profile.ok()) << profile.status();
  EXPECT_EQ(Json::parse(wechat_.requests().back().body())["scene"], 1);

  wechat_.set_api_answer({{"errcode", 0}, {"result", {{"suggest", "maybe"}, {"label", 100}}}});
  EXPECT_EQ(client->CheckText(kAppId, "o1", "x").status().code(), absl::StatusCode::kUnavailable);
  wechat_.set_api_answer({{"errcode", 0}, {"errmsg", "ok"}});
  EXPECT_EQ(client->CheckText(kAppId, "o1", "x").status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(PlatformClientTest, CheckTextRefusesBadInputWithoutCallingWechat) {
  auto client = Client();
  std::string longest;
  for (int i = 0; i < 2500; ++i) {
    longest += "好";
  }
  wechat_.set_api_answer({{"errcode", 0}, {"result", {{"suggest", "pass"}, {"label", 100}}}});
  EXPECT_TRUE(client->CheckText(kAppId, "o1", longest).ok());
  const int calls = wechat_.Requests(kCheckPath);
  EXPECT_EQ(calls, 1);
  for (const auto& [openid, text] : std::vector<std::pair<std::string, std::string>>{
           {"", "hello"}, {"o1", ""}, {"o1", longest + "好"}, {"o1", "\xff\xfe"}}) {
    absl::Status status = client->CheckText(kAppId, openid, text).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  }
  EXPECT_EQ(wechat_.Requests(kCheckPath), calls);
  EXPECT_EQ(client->CheckText("wx-unknown", "o1", "hi").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(PlatformClientTest, ErrcodesAreMappedAndKept) {
  auto client = Client();
  struct Case {
    int errcode;
    absl::StatusCode code;
  };
  for (const Case& c :
       {Case{-1, absl::StatusCode::kUnavailable}, Case{45009, absl::StatusCode::kResourceExhausted},
        Case{45011, absl::StatusCode::kResourceExhausted},
        Case{43101, absl::StatusCode::kFailedPrecondition},
        Case{61010, absl::StatusCode::kFailedPrecondition},
        Case{40003, absl::StatusCode::kInvalidArgument},
        Case{47003, absl::StatusCode::kInvalidArgument}}) {
    SCOPED_TRACE(c.errcode);
    wechat_.set_api_answer({{"errcode", c.errcode}, {"errmsg", "as documented rid: 6472dfd0"}});
    absl::Status status = Send(*client);
    EXPECT_EQ(status.code(), c.code) << status;
    EXPECT_EQ(WechatErrcode(status), c.errcode);
    EXPECT_TRUE(absl::StrContains(status.message(), absl::StrCat("errcode ", c.errcode))) << status;
  }
  EXPECT_EQ(wechat_.TokenRequests(), 1);  // none of these touches the token
  EXPECT_FALSE(WechatErrcode(absl::UnavailableError("x")).has_value());
}

TEST_F(PlatformClientTest, TokenApiRefusalsAreMapped) {
  struct Case {
    std::string answer;
    absl::StatusCode code;
    std::optional<int64_t> errcode;
  };
  for (const Case& c :
       {Case{R"({"errcode":40125,"errmsg":"invalid appsecret"})", absl::StatusCode::kInternal,
             40125},
        Case{R"({"errcode":40013,"errmsg":"invalid appid"})", absl::StatusCode::kInternal, 40013},
        Case{R"({"errcode":-1,"errmsg":"system error"})", absl::StatusCode::kUnavailable, -1},
        Case{R"({"errcode":45009,"errmsg":"reach max api daily quota limit"})",
             absl::StatusCode::kResourceExhausted, 45009},
        Case{R"({"access_token":"","expires_in":7200})", absl::StatusCode::kUnavailable,
             std::nullopt},
        Case{R"({"access_token":"t","expires_in":"7200"})", absl::StatusCode::kUnavailable,
             std::nullopt},
        Case{"<html>bad gateway</html>", absl::StatusCode::kUnavailable, std::nullopt}}) {
    SCOPED_TRACE(c.answer);
    auto client = Client();
    wechat_.set_token_answer(c.answer);
    absl::Status status = Send(*client);
    EXPECT_EQ(status.code(), c.code) << status;
    EXPECT_EQ(WechatErrcode(status), c.errcode);
  }
  EXPECT_EQ(wechat_.Requests(kSendPath), 0);
}

TEST_F(PlatformClientTest, MalformedAnswersAreUnavailable) {
  auto client = Client();
  for (const auto& [status, body] : std::vector<std::pair<http::status, std::string>>{
           {http::status::ok, "not json"},
           {http::status::ok, "[1,2]"},
           {http::status::ok, R"({"errcode":"0"})"},
           {http::status::bad_gateway, R"({"errcode":0})"}}) {
    SCOPED_TRACE(body);
    wechat_.set_api_raw_answer(status, body);
    absl::Status answer = Send(*client);
    EXPECT_EQ(answer.code(), absl::StatusCode::kUnavailable) << answer;
    EXPECT_FALSE(WechatErrcode(answer).has_value());
  }
}

TEST_F(PlatformClientTest, ASilentServerIsADeadlineWithinTheTimeout) {
  auto client = Client("", absl::Milliseconds(300));
  ASSERT_TRUE(client->AccessToken(kAppId).ok());
  wechat_.set_api_silent(true);
  auto started = std::chrono::steady_clock::now();
  absl::Status status = Send(*client);
  auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_GE(elapsed, std::chrono::milliseconds(250));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  // A slow token API too.
  wechat_.set_token_delay(absl::Seconds(1));
  clock_.Advance(absl::Hours(3));
  status = client->AccessToken(kAppId).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
}

TEST_F(PlatformClientTest, AServerThatIsDownIsUnavailable) {
  uint16_t port = 0;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor closed(
        ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    port = closed.local_endpoint().port();
  }
  auto client = Client(absl::StrCat("http://127.0.0.1:", port));
  EXPECT_EQ(Send(*client).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(client->AccessToken(kAppId).status().code(), absl::StatusCode::kUnavailable);
}

// WeChat echoing the secret or the token back, transport failures, refusals: the secret is in
// no Status and no log line, the token in no Status.
TEST_F(PlatformClientTest, TheSecretIsNeverInAStatusOrALogLine) {
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  auto logger = spdlog::default_logger();
  const spdlog::level::level_enum level = logger->level();
  logger->set_level(spdlog::level::trace);
  logger->sinks().push_back(sink);

  std::vector<absl::Status> statuses;
  auto client = Client();
  wechat_.set_token_answer(
      absl::StrCat(R"({"errcode":40125,"errmsg":"invalid appsecret )", kSecret, R"( rid: 1"})"));
  statuses.push_back(Send(*client));
  statuses.push_back(client->AccessToken(kAppId).status());
  wechat_.set_token_answer("");
  ASSERT_TRUE(client->AccessToken(kAppId).ok());
  wechat_.set_api_answer(
      {{"errcode", 43101}, {"errmsg", absl::StrCat("refused ", kSecret, " token-1 rid: 2")}});
  statuses.push_back(Send(*client));
  wechat_.RefuseEveryToken(kErrInvalidCredential);
  statuses.push_back(Send(*client));
  auto down = Client("http://127.0.0.1:9");
  statuses.push_back(Send(*down));
  auto slow = Client("", absl::Milliseconds(200));
  wechat_.set_api_silent(true);
  statuses.push_back(Send(*slow));

  logger->sinks().pop_back();
  logger->set_level(level);
  for (const absl::Status& status : statuses) {
    EXPECT_FALSE(status.ok());
    EXPECT_FALSE(absl::StrContains(status.ToString(), kSecret)) << status;
    EXPECT_FALSE(absl::StrContains(status.message(), "token-1")) << status;
  }
  EXPECT_TRUE(absl::StrContains(statuses[0].message(), "40125")) << statuses[0];
  EXPECT_FALSE(log.str().empty());
  EXPECT_FALSE(absl::StrContains(log.str(), kSecret)) << log.str();
}

TEST_F(PlatformClientTest, UnknownAppsAndBadPathsAreRefused) {
  auto client = Client();
  EXPECT_EQ(client->Call("wx0000000000000000", kSendPath, Json::object()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(client->Call(kAppId, "cgi-bin/x", Json::object()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client->Call(kAppId, "/x?access_token=mine", Json::object()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client->Call(kAppId, kSendPath, Json{{"bad", "\xff"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(wechat_.requests().size(), 0u);
  absl::StatusOr<std::string> appid = client->AppIdOfBrand(kBrand);
  ASSERT_TRUE(appid.ok()) << appid.status();
  EXPECT_EQ(*appid, kAppId);
  EXPECT_EQ(client->AppIdOfBrand("other").status().code(), absl::StatusCode::kNotFound);
  // A query of the path's own is kept, the token added after it.
  ASSERT_TRUE(client->Call(kAppId, "/wxa/x?lang=zh_CN", Json::object()).ok());
  EXPECT_EQ(wechat_.requests().back().target(), "/wxa/x?lang=zh_CN&access_token=token-1");
}

// --- subscribeMessage.send ---

SubscribeMessage Reminder() {
  SubscribeMessage message;
  message.touser = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
  message.template_id = "bDmywsp2oEHjwAadTGKkUJ-eJEiMiOf7H-dZOOLm3u0";
  message.page = "pages/room/index?room=r1&invite=inv_9";
  message.data = {{"thing1", "周四私享预览"}, {"time2", "2026年3月12日 19:30"}, {"name3", "林晓"}};
  message.miniprogram_state = "formal";
  message.lang = "zh_CN";
  return message;
}

TEST_F(PlatformClientTest, SendSubscribeMessagePostsTheDocumentedBody) {
  auto client = Client();
  wechat_.set_api_answer({{"errcode", 0}, {"errmsg", "ok"}, {"msgid", 1988810812324364291u}});
  absl::StatusOr<SubscribeSent> sent = client->SendSubscribeMessage(kBrand, Reminder());
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(sent->msgid, "1988810812324364291");
  EXPECT_EQ(SubscribeOutcomeOf(sent.status()), SubscribeOutcome::kSent);
  ASSERT_EQ(wechat_.Requests(kSendPath), 1);
  const Request request = wechat_.requests().back();
  EXPECT_EQ(request.method(), http::verb::post);
  EXPECT_EQ(request[http::field::content_type], "application/json");
  EXPECT_EQ(std::string(request.target()), absl::StrCat(kSendPath, "?access_token=token-1"));
  EXPECT_EQ(TokenOf(request), "token-1");
  EXPECT_EQ(Json::parse(request.body()),
            (Json{{"touser", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
                  {"template_id", "bDmywsp2oEHjwAadTGKkUJ-eJEiMiOf7H-dZOOLm3u0"},
                  {"page", "pages/room/index?room=r1&invite=inv_9"},
                  {"data",
                   {{"thing1", {{"value", "周四私享预览"}}},
                    {"time2", {{"value", "2026年3月12日 19:30"}}},
                    {"name3", {{"value", "林晓"}}}}},
                  {"miniprogram_state", "formal"},
                  {"lang", "zh_CN"}}));

  // Optional fields left empty are left out (WeChat's defaults apply).
  SubscribeMessage bare = Reminder();
  bare.page.clear();
  bare.miniprogram_state.clear();
  bare.lang.clear();
  wechat_.set_api_answer({{"errcode", 0}, {"errmsg", "ok"}});
  sent = client->SendSubscribeMessage(kBrand, bare);
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(sent->msgid, "");
  Json body = Json::parse(wechat_.requests().back().body());
  EXPECT_FALSE(body.contains("page"));
  EXPECT_FALSE(body.contains("miniprogram_state"));
  EXPECT_FALSE(body.contains("lang"));
  EXPECT_EQ(wechat_.TokenRequests(), 1);
}

// Each of WeChat's final refusals: one request, never retried, the errcode kept.
TEST_F(PlatformClientTest, FinalSubscribeRefusalsAreNotRetried) {
  struct Case {
    int errcode;
    absl::StatusCode code;
    std::string errmsg;
  };
  for (const Case& c :
       {Case{43101, absl::StatusCode::kFailedPrecondition, "user refuse to accept the msg"},
        Case{40003, absl::StatusCode::kInvalidArgument, "invalid openid"},
        Case{40037, absl::StatusCode::kInvalidArgument, "invalid template_id"},
        Case{47003, absl::StatusCode::kInvalidArgument,
             "argument invalid! data.thing1.value invalid"},
        Case{41030, absl::StatusCode::kInvalidArgument, "invalid page"}}) {
    SCOPED_TRACE(c.errcode);
    FakeWechat wechat;
    auto client = Client(wechat.url());
    wechat.set_api_answer(
        {{"errcode", c.errcode}, {"errmsg", absl::StrCat(c.errmsg, " rid: 6472dfd0-536f4e2c")}});
    absl::StatusOr<SubscribeSent> sent = client->SendSubscribeMessage(kBrand, Reminder());
    ASSERT_FALSE(sent.ok());
    EXPECT_EQ(sent.status().code(), c.code) << sent.status();
    EXPECT_EQ(WechatErrcode(sent.status()), c.errcode);
    EXPECT_TRUE(IsFinalSubscribeRefusal(sent.status()));
    EXPECT_FALSE(IsThrottled(sent.status()));
    EXPECT_FALSE(IsTransient(sent.status()));
    EXPECT_EQ(SubscribeOutcomeOf(sent.status()), SubscribeOutcome::kRefused);
    EXPECT_EQ(SubscribeOutcomeName(SubscribeOutcomeOf(sent.status())), "refused");
    EXPECT_EQ(wechat.Requests(kSendPath), 1);
    EXPECT_EQ(wechat.TokenRequests(), 1);
  }
}

TEST_F(PlatformClientTest, ThrottledAndBusySendsAreToldApart) {
  auto client = Client();
  for (int errcode : {45009, 45011}) {
    SCOPED_TRACE(errcode);
    wechat_.set_api_answer({{"errcode", errcode}, {"errmsg", "reach max api daily quota limit"}});
    absl::Status status = client->SendSubscribeMessage(kBrand, Reminder()).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
    EXPECT_EQ(WechatErrcode(status), errcode);
    EXPECT_TRUE(IsThrottled(status));
    EXPECT_FALSE(IsFinalSubscribeRefusal(status));
    EXPECT_EQ(SubscribeOutcomeOf(status), SubscribeOutcome::kThrottled);
  }
  wechat_.set_api_answer({{"errcode", -1}, {"errmsg", "system error"}});
  absl::Status busy = client->SendSubscribeMessage(kBrand, Reminder()).status();
  EXPECT_EQ(busy.code(), absl::StatusCode::kUnavailable) << busy;
  EXPECT_EQ(WechatErrcode(busy), -1);
  EXPECT_TRUE(IsTransient(busy));
  EXPECT_FALSE(IsFinalSubscribeRefusal(busy));
  EXPECT_EQ(SubscribeOutcomeOf(busy), SubscribeOutcome::kTransient);
  // Another code: neither final nor to be retried as is.
  wechat_.set_api_answer({{"errcode", 61010}, {"errmsg", "code is expired"}});
  absl::Status other = client->SendSubscribeMessage(kBrand, Reminder()).status();
  EXPECT_EQ(SubscribeOutcomeOf(other), SubscribeOutcome::kFailed) << other;
  // One request each: the client retries none of them itself.
  EXPECT_EQ(wechat_.Requests(kSendPath), 4);
}

TEST_F(PlatformClientTest, SendWithARefusedTokenRenewsItOnceAndRetries) {
  auto client = Client();
  ASSERT_TRUE(client->SendSubscribeMessage(kBrand, Reminder()).ok());
  wechat_.RevokeTokens(kErrInvalidCredential);
  absl::StatusOr<SubscribeSent> sent = client->SendSubscribeMessage(kBrand, Reminder());
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(wechat_.TokenRequests(), 2);
  EXPECT_EQ(wechat_.Requests(kSendPath), 3);  // the first send, the refused one, the retry
  EXPECT_EQ(TokenOf(wechat_.requests().back()), "token-2");
  EXPECT_EQ(Json::parse(wechat_.requests().back().body())["touser"],
            "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");

  // Refused again after the renewal: transient, and no third attempt.
  wechat_.RefuseEveryToken(kErrInvalidCredential);
  absl::Status status = client->SendSubscribeMessage(kBrand, Reminder()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(SubscribeOutcomeOf(status), SubscribeOutcome::kTransient);
  EXPECT_EQ(wechat_.TokenRequests(), 3);
  EXPECT_EQ(wechat_.Requests(kSendPath), 5);
}

TEST_F(PlatformClientTest, ASlowOrDownWechatIsATransientSendFailure) {
  auto client = Client("", absl::Milliseconds(300));
  ASSERT_TRUE(client->AccessToken(kAppId).ok());
  wechat_.set_api_silent(true);
  auto started = std::chrono::steady_clock::now();
  absl::Status status = client->SendSubscribeMessage(kBrand, Reminder()).status();
  auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_FALSE(WechatErrcode(status).has_value());
  EXPECT_EQ(SubscribeOutcomeOf(status), SubscribeOutcome::kTransient);
  EXPECT_GE(elapsed, std::chrono::milliseconds(250));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  EXPECT_EQ(wechat_.Requests(kSendPath), 1);

  auto down = Client("http://127.0.0.1:9");
  status = down->SendSubscribeMessage(kBrand, Reminder()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(SubscribeOutcomeOf(status), SubscribeOutcome::kTransient);
}

TEST_F(PlatformClientTest, SendSubscribeMessageRefusesBadInputWithoutCallingWechat) {
  auto client = Client();
  std::string twenty;
  for (int i = 0; i < 20; ++i) {
    twenty += "字";
  }
  SubscribeMessage longest = Reminder();
  longest.data = {{"thing1", twenty},
                  {"phrase2", "直播已开始"},
                  {"name3", "Alexandra Montgomery"},
                  {"character_string4", std::string(32, 'A')},
                  {"time5", "2026年3月12日 19:30~2026年3月12日 21:00"}};
  ASSERT_TRUE(client->SendSubscribeMessage(kBrand, longest).ok());
  ASSERT_EQ(wechat_.Requests(kSendPath), 1);

  struct Case {
    std::string field;
    std::function<void(SubscribeMessage&)> spoil;
  };
  const std::vector<Case> cases = {
      {"touser", [](SubscribeMessage& m) { m.touser.clear(); }},
      {"touser", [](SubscribeMessage& m) { m.touser = "o 1"; }},
      {"template_id", [](SubscribeMessage& m) { m.template_id.clear(); }},
      {"template_id", [](SubscribeMessage& m) { m.template_id = "tpl/1"; }},
      {"page", [](SubscribeMessage& m) { m.page = "pages/room\n"; }},
      {"data", [](SubscribeMessage& m) { m.data.clear(); }},
      {"data.thing1", [&](SubscribeMessage& m) { m.data["thing1"] = twenty + "字"; }},
      {"data.thing1", [](SubscribeMessage& m) { m.data["thing1"] = ""; }},
      {"data.thing1", [](SubscribeMessage& m) { m.data["thing1"] = "\xff\xfe"; }},
      {"data.phrase2", [](SubscribeMessage& m) { m.data["phrase2"] = "直播马上开始"; }},
      {"data.name3", [](SubscribeMessage& m) { m.data["name3"] = "欧阳娜娜娜娜娜娜娜娜娜"; }},
      {"data.symbol4", [](SubscribeMessage& m) { m.data["symbol4"] = "!!!!!!"; }},
      {"data.Thing9", [](SubscribeMessage& m) { m.data["Thing9"] = "x"; }},
      {"data.thing", [](SubscribeMessage& m) { m.data["thing"] = "x"; }},
      {"miniprogram_state", [](SubscribeMessage& m) { m.miniprogram_state = "release"; }},
      {"lang", [](SubscribeMessage& m) { m.lang = "fr_FR"; }},
  };
  for (const Case& c : cases) {
    SubscribeMessage message = longest;
    c.spoil(message);
    absl::Status status = client->SendSubscribeMessage(kBrand, message).status();
    SCOPED_TRACE(c.field);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_TRUE(absl::StartsWith(status.message(), c.field + ":")) << status;
    EXPECT_FALSE(WechatErrcode(status).has_value());
    EXPECT_EQ(SubscribeOutcomeOf(status), SubscribeOutcome::kFailed);
    // The value is the user's: never in the message.
    for (const auto& [key, value] : message.data) {
      if (value.size() > 2) {
        EXPECT_FALSE(absl::StrContains(status.message(), value)) << status;
      }
    }
  }
  EXPECT_EQ(wechat_.Requests(kSendPath), 1);
  EXPECT_EQ(client->SendSubscribeMessage("other", Reminder()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(wechat_.Requests(kSendPath), 1);
}

// Nothing of the message (openid, values) in a log line, a refused token included.
TEST_F(PlatformClientTest, SendingLogsNothingOfTheMessage) {
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  auto logger = spdlog::default_logger();
  const spdlog::level::level_enum level = logger->level();
  logger->set_level(spdlog::level::trace);
  logger->sinks().push_back(sink);
  auto client = Client();
  ASSERT_TRUE(client->SendSubscribeMessage(kBrand, Reminder()).ok());
  wechat_.RevokeTokens();
  ASSERT_TRUE(client->SendSubscribeMessage(kBrand, Reminder()).ok());
  wechat_.set_api_answer({{"errcode", 43101}, {"errmsg", "user refuse to accept the msg"}});
  EXPECT_FALSE(client->SendSubscribeMessage(kBrand, Reminder()).ok());
  logger->sinks().pop_back();
  logger->set_level(level);
  EXPECT_FALSE(log.str().empty());  // the token renewals were logged
  EXPECT_FALSE(absl::StrContains(log.str(), Reminder().touser)) << log.str();
  EXPECT_FALSE(absl::StrContains(log.str(), "周四")) << log.str();
  EXPECT_FALSE(absl::StrContains(log.str(), "林晓")) << log.str();
}

// --- wxacode.getUnlimited ---

// A PNG's signature and a few bytes of every value, NUL included: the bytes must come back as
// they were sent.
std::string FakePng() {
  std::string image("\x89PNG\r\n\x1a\n", 8);
  for (int i = 0; i < 4096; ++i) {
    image += static_cast<char>(i * 7 % 256);
  }
  return image;
}

UnlimitedCodeRequest SceneOnly(std::string scene) {
  UnlimitedCodeRequest request;
  request.scene = std::move(scene);
  return request;
}

TEST_F(PlatformClientTest, GetUnlimitedCodeReturnsTheImageBytes) {
  auto client = Client();
  const std::string png = FakePng();
  wechat_.set_api_raw_answer(http::status::ok, png, "image/png");
  UnlimitedCodeRequest request;
  request.scene = "s=ab12CD34&a=as_9";
  request.page = "pages/room/index";
  request.check_path = false;
  request.env_version = "trial";
  request.width = 430;
  absl::StatusOr<MiniProgramCode> code = client->GetUnlimitedCode(kBrand, request);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(code->content_type, "image/png");
  EXPECT_EQ(code->image.size(), png.size());
  EXPECT_TRUE(code->image == png);
  const Request sent = wechat_.requests().back();
  EXPECT_EQ(std::string(sent.target()), absl::StrCat(kCodePath, "?access_token=token-1"));
  EXPECT_EQ(Json::parse(sent.body()), (Json{{"scene", "s=ab12CD34&a=as_9"},
                                            {"page", "pages/room/index"},
                                            {"check_path", false},
                                            {"env_version", "trial"},
                                            {"width", 430}}));

  // A JPEG with a parameter on its Content-Type; the defaults left to WeChat.
  const std::string jpeg = std::string("\xff\xd8\xff\xe0\0\x10JFIF\0", 11) + png;
  wechat_.set_api_raw_answer(http::status::ok, jpeg, "image/jpeg; charset=binary");
  code = client->GetUnlimitedCode(kBrand, SceneOnly("r1"));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(code->content_type, "image/jpeg");
  EXPECT_TRUE(code->image == jpeg);
  EXPECT_EQ(Json::parse(wechat_.requests().back().body()),
            (Json{{"scene", "r1"}, {"check_path", true}}));
  // A signature is enough when the Content-Type says nothing useful.
  wechat_.set_api_raw_answer(http::status::ok, png, "application/octet-stream");
  code = client->GetUnlimitedCode(kBrand, SceneOnly("r1"));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(code->content_type, "image/png");
}

// WeChat refuses with JSON and HTTP 200, whatever the Content-Type says.
TEST_F(PlatformClientTest, GetUnlimitedCodeReadsAJsonRefusal) {
  auto client = Client();
  struct Case {
    int errcode;
    std::string content_type;
    absl::StatusCode code;
  };
  for (const Case& c :
       {Case{40129, "application/json; encoding=utf-8", absl::StatusCode::kInvalidArgument},
        Case{41030, "application/json", absl::StatusCode::kInvalidArgument},
        Case{40169, "text/plain", absl::StatusCode::kInvalidArgument},
        Case{45009, "image/jpeg", absl::StatusCode::kResourceExhausted},
        Case{-1, "application/json", absl::StatusCode::kUnavailable}}) {
    SCOPED_TRACE(c.errcode);
    wechat_.set_api_raw_answer(
        http::status::ok,
        Json{{"errcode", c.errcode}, {"errmsg", "as documented rid: 669e174a"}}.dump(),
        c.content_type);
    absl::Status status = client->GetUnlimitedCode(kBrand, SceneOnly("r1")).status();
    EXPECT_EQ(status.code(), c.code) << status;
    EXPECT_EQ(WechatErrcode(status), c.errcode);
  }
  // A refused token: renewed once, the image then.
  wechat_.set_api_raw_answer(http::status::ok, FakePng(), "image/png");
  wechat_.RevokeTokens(kErrAccessTokenExpired);
  const int calls = wechat_.Requests(kCodePath);
  absl::StatusOr<MiniProgramCode> code = client->GetUnlimitedCode(kBrand, SceneOnly("r1"));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_TRUE(code->image == FakePng());
  EXPECT_EQ(wechat_.Requests(kCodePath), calls + 2);
  EXPECT_EQ(wechat_.TokenRequests(), 2);
  // Neither an image nor an error.
  for (const auto& [body, type] : std::vector<std::pair<std::string, std::string>>{
           {R"({"errcode":0,"errmsg":"ok"})", "application/json"},
           {"<html>busy</html>", "text/html"},
           {"", "image/png"}}) {
    SCOPED_TRACE(body);
    wechat_.set_api_raw_answer(http::status::ok, body, type);
    absl::Status status = client->GetUnlimitedCode(kBrand, SceneOnly("r1")).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  }
  wechat_.set_api_raw_answer(http::status::bad_gateway, FakePng(), "image/png");
  EXPECT_EQ(client->GetUnlimitedCode(kBrand, SceneOnly("r1")).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(PlatformClientTest, GetUnlimitedCodeChecksTheSceneAndPage) {
  auto client = Client();
  wechat_.set_api_raw_answer(http::status::ok, FakePng(), "image/png");
  for (const std::string& scene :
       {std::string("a"), std::string(32, 'z'), std::string("!#$&'()*+,/:;=?@-._~"),
        std::string("r=AZaz09&i=x_y-z.~")}) {
    SCOPED_TRACE(scene);
    absl::StatusOr<MiniProgramCode> code = client->GetUnlimitedCode(kBrand, SceneOnly(scene));
    EXPECT_TRUE(code.ok()) << code.status();
  }
  const int calls = wechat_.Requests(kCodePath);
  EXPECT_EQ(calls, 4);
  for (const std::string& scene :
       {std::string(""), std::string(33, 'z'), std::string("a b"), std::string("%41"),
        std::string("场景"), std::string("a\"b"), std::string("a<b"), std::string("a\n")}) {
    SCOPED_TRACE(scene);
    absl::Status status = client->GetUnlimitedCode(kBrand, SceneOnly(scene)).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_TRUE(absl::StartsWith(status.message(), "scene:")) << status;
  }
  struct Case {
    std::string field;
    UnlimitedCodeRequest request;
  };
  auto with = [](std::function<void(UnlimitedCodeRequest&)> spoil) {
    UnlimitedCodeRequest request = SceneOnly("r1");
    spoil(request);
    return request;
  };
  for (const Case& c :
       {Case{"page", with([](UnlimitedCodeRequest& r) { r.page = "/pages/room/index"; })},
        Case{"page", with([](UnlimitedCodeRequest& r) { r.page = "pages/room/index?r=1"; })},
        Case{"env_version", with([](UnlimitedCodeRequest& r) { r.env_version = "formal"; })},
        Case{"width", with([](UnlimitedCodeRequest& r) { r.width = 279; })},
        Case{"width", with([](UnlimitedCodeRequest& r) { r.width = 1281; })}}) {
    SCOPED_TRACE(c.field);
    absl::Status status = client->GetUnlimitedCode(kBrand, c.request).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_TRUE(absl::StartsWith(status.message(), c.field + ":")) << status;
  }
  EXPECT_EQ(wechat_.Requests(kCodePath), calls);
  EXPECT_EQ(client->GetUnlimitedCode("other", SceneOnly("r1")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(PlatformClientTest, ASlowCodeAnswerIsUnavailable) {
  auto client = Client("", absl::Milliseconds(300));
  ASSERT_TRUE(client->AccessToken(kAppId).ok());
  wechat_.set_api_silent(true);
  absl::Status status = client->GetUnlimitedCode(kBrand, SceneOnly("r1")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(IsTransient(status));
}

}  // namespace
}  // namespace livecommerce::common::wechat
