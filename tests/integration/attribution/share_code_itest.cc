// Share links' mini-program codes (GetShareLinkCode): made once per link and kept, by WeChat
// (a local HTTP server answering as wxacode.getUnlimited does) or drawn locally as a QR code of
// the same scene; only the link's associate (and ops) can fetch it.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "nlohmann/json.hpp"
#include "services/attribution/clients/share_codes.h"
#include "services/common/http_client.h"
#include "services/common/sql.h"
#include "services/common/wechat/platform_client.h"
#include "tests/integration/attribution/attribution_fixture.h"
#include "tests/support/test_http_server.h"

namespace livecommerce::attribution {
namespace {

using common::Role;
using livecommerce::testing::TestAnswer;
using livecommerce::testing::TestHttpServer;
namespace http = boost::beast::http;

constexpr char kCodePath[] = "/wxa/getwxacodeunlimit";

// What zbarimg reads from `image` (a PNG), "" when it reads nothing.
std::string ReadQr(const std::string& image) {
  std::string path = absl::StrCat(::testing::TempDir(), "/share_code_itest_", getpid(), ".png");
  std::ofstream(path, std::ios::binary) << image;
  std::string command = absl::StrCat("zbarimg --quiet --raw ", path);
  FILE* reader = popen(command.c_str(), "r");
  std::string read;
  char buffer[256];
  while (size_t n = fread(buffer, 1, sizeof buffer, reader)) read.append(buffer, n);
  pclose(reader);
  std::remove(path.c_str());
  while (!read.empty() && (read.back() == '\n' || read.back() == '\r')) read.pop_back();
  return read;
}

class ShareCodeTest : public AttributionServiceTest {
 protected:
  grpc::Status Code(Role role, const std::string& subject, const std::string& link,
                    v1::ShareLinkCode* out = nullptr) {
    v1::GetShareLinkCodeRequest request;
    request.set_share_link_id(link);
    v1::GetShareLinkCodeResponse response;
    grpc::Status s = stub_->GetShareLinkCode(As(role, subject).get(), request, &response);
    if (out != nullptr) *out = response.code();
    return s;
  }

  int KeptCodes() {
    int n = 0;
    EXPECT_TRUE(mysql_
                    ->Run([&](common::MysqlConnection& c) {
                      n = static_cast<int>(
                          common::Sql(c, "SELECT COUNT(*) AS n FROM share_link_codes")
                              .One([](const common::SqlRow& r) { return r.Int("n"); })
                              .value_or(0));
                      return absl::OkStatus();
                    })
                    .ok());
    return n;
  }
};

TEST_F(ShareCodeTest, DrawsAQrCodeOfTheSceneOnceAndKeepsIt) {
  std::string store = NewStore("Shanghai IFC");
  std::string associate = NewAssociate(store, "Lin");
  std::string link = NewLink(associate);

  v1::ShareLinkCode first;
  grpc::Status s = Code(Role::kAssociate, associate, link, &first);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(first.share_link_id(), link);
  EXPECT_EQ(first.scene(), "sl=" + link);
  EXPECT_EQ(first.page(), "pages/room/index");
  EXPECT_EQ(first.content_type(), "image/png");
  EXPECT_EQ(first.source(), "local");
  EXPECT_EQ(ReadQr(first.image()), first.scene());

  // Kept: the same bytes again (ops too), one row.
  clock_.Advance(absl::Hours(1));
  v1::ShareLinkCode again;
  ASSERT_TRUE(Code(Role::kOps, "ops-1", link, &again).ok());
  EXPECT_EQ(again.image(), first.image());
  EXPECT_EQ(again.created_at().seconds(), first.created_at().seconds());
  EXPECT_EQ(KeptCodes(), 1);
}

TEST_F(ShareCodeTest, OnlyTheLinksAssociateAndOpsGetItsCode) {
  std::string store = NewStore("Shanghai IFC");
  std::string lin = NewAssociate(store, "Lin");
  std::string wu = NewAssociate(store, "Wu");
  std::string link = NewLink(lin);
  EXPECT_EQ(Code(Role::kAssociate, wu, link).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Code(Role::kViewer, "oViewer1", link).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Code(Role::kFinance, "fin-1", link).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  grpc::Status bad = Code(Role::kOps, "ops-1", "not-an-id");
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("share_link_id"), std::string::npos);
  EXPECT_EQ(Code(Role::kOps, "ops-1", "999999").error_code(), grpc::StatusCode::NOT_FOUND);
  // Another brand's ops see no such link.
  v1::GetShareLinkCodeRequest request;
  request.set_share_link_id(link);
  v1::GetShareLinkCodeResponse response;
  EXPECT_EQ(stub_->GetShareLinkCode(As(Role::kOps, "ops-9", "rival").get(), request, &response)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(KeptCodes(), 0);
}

// WeChat draws the code for a configured brand: asked once however many ask at once; a refusal
// keeps nothing and the next request asks again.
class WechatShareCodeTest : public ShareCodeTest {
 protected:
  void SetUp() override {
    common::wechat::WechatPlatformConfig config;
    config.base_url = wechat_.url();
    config.timeout = absl::Seconds(5);
    config.apps_by_brand[kBrand] = {"wx5f3a9c0d1e2b4a68", "app-secret-for-tests"};
    fetcher_ = *common::BeastHttpFetcher::Create(common::wechat::WechatFetcherOptions(config));
    client_ = *common::wechat::PlatformClient::Create(config, fetcher_.get(), &clock_);
    maker_ = std::make_unique<WechatShareCodeMaker>(*client_, "trial");
    codes_ = maker_.get();
    ShareCodeTest::SetUp();
  }

  std::optional<TestHttpServer::Response> Answer(const TestHttpServer::Request& request) {
    if (request.target() == "/cgi-bin/stable_token") {
      return TestAnswer(http::status::ok,
                        nlohmann::json{{"access_token", "token-1"}, {"expires_in", 7200}}.dump(),
                        "application/json");
    }
    // Slow enough that concurrent callers overlap.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (refuse_.load()) {
      return TestAnswer(
          http::status::ok,
          nlohmann::json{{"errcode", 45009}, {"errmsg", "reach max api daily quota"}}.dump(),
          "application/json");
    }
    return TestAnswer(http::status::ok, std::string("\x89PNG\r\n\x1a\nwechat-drawn", 20),
                      "image/png");
  }

  std::atomic<bool> refuse_{false};
  TestHttpServer wechat_{[this](const TestHttpServer::Request& r) { return Answer(r); }};
  std::unique_ptr<common::BeastHttpFetcher> fetcher_;
  std::unique_ptr<common::wechat::PlatformClient> client_;
  std::unique_ptr<WechatShareCodeMaker> maker_;
};

TEST_F(WechatShareCodeTest, AsksWechatOncePerLinkEvenWhenAskedAtOnce) {
  std::string store = NewStore("Shanghai IFC");
  std::string associate = NewAssociate(store, "Lin");
  std::string link = NewLink(associate);

  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  std::vector<std::string> images(6);
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      v1::ShareLinkCode code;
      if (Code(Role::kAssociate, associate, link, &code).ok()) {
        ok.fetch_add(1);
        images[i] = code.image();
        EXPECT_EQ(code.source(), "wechat");
        EXPECT_EQ(code.scene(), "sl=" + link);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 6);
  for (const std::string& image : images) {
    EXPECT_EQ(image, std::string("\x89PNG\r\n\x1a\nwechat-drawn", 20));
  }
  EXPECT_EQ(wechat_.Count(kCodePath), 1);
  EXPECT_EQ(KeptCodes(), 1);

  // What WeChat was asked: the scene, the page, the trial version without the path check.
  for (const TestHttpServer::Request& r : wechat_.requests()) {
    if (!absl::StartsWith(std::string(r.target()), kCodePath)) continue;
    EXPECT_EQ(nlohmann::json::parse(r.body()), (nlohmann::json{{"scene", "sl=" + link},
                                                               {"page", "pages/room/index"},
                                                               {"check_path", false},
                                                               {"env_version", "trial"}}));
  }
}

TEST_F(WechatShareCodeTest, ARefusalKeepsNothingAndTheNextRequestAsksAgain) {
  std::string store = NewStore("Shanghai IFC");
  std::string associate = NewAssociate(store, "Lin");
  std::string link = NewLink(associate);
  refuse_ = true;
  EXPECT_EQ(Code(Role::kAssociate, associate, link).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(KeptCodes(), 0);
  refuse_ = false;
  v1::ShareLinkCode code;
  ASSERT_TRUE(Code(Role::kAssociate, associate, link, &code).ok());
  EXPECT_EQ(code.source(), "wechat");
  EXPECT_EQ(wechat_.Count(kCodePath), 2);
  EXPECT_EQ(KeptCodes(), 1);
}

// A brand without a configured mini-program still gets a code: the local one.
TEST_F(WechatShareCodeTest, ABrandWithoutAMiniProgramGetsTheLocalCode) {
  LocalShareCodeMaker local;
  absl::StatusOr<MadeCode> made = maker_->Make("another-brand", "sl=77", "pages/room/index");
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(made->source, "local");
  EXPECT_EQ(ReadQr(made->image), "sl=77");
  EXPECT_EQ(wechat_.Count(kCodePath), 0);
}

}  // namespace
}  // namespace livecommerce::attribution
