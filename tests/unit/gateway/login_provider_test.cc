#include "gateway/auth/login_provider.h"

#include <gtest/gtest.h>

#include <future>

#include "services/common/worker_pool.h"

namespace livecommerce::gateway {
namespace {

// Answers code2Session with a canned response and remembers what was asked.
class FakeWechat final : public HttpGetter {
 public:
  absl::StatusOr<Response> Get(const std::string& path_and_query) override {
    asked = path_and_query;
    if (!reachable) return absl::UnavailableError("connect failed");
    return Response{status, body};
  }
  std::string asked;
  bool reachable = true;
  int status = 200;
  std::string body;
};

absl::StatusOr<std::string> Exchange(LoginProvider& provider, const std::string& brand,
                                     const std::string& code) {
  std::promise<absl::StatusOr<std::string>> result;
  provider.Exchange(brand, code, [&](absl::StatusOr<std::string> r) { result.set_value(r); });
  return result.get_future().get();
}

TEST(LocalLoginProviderTest, NamesTheViewerAfterTheCode) {
  LocalLoginProvider local;
  EXPECT_EQ(*Exchange(local, "maison", "alice"), "local-alice");
  EXPECT_EQ(Exchange(local, "maison", "bad code!").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Exchange(local, "maison", "").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(WechatLoginProviderTest, ExchangesTheCodeForTheOpenid) {
  FakeWechat wechat;
  wechat.body = R"({"openid":"oABC-123","session_key":"secret-key","unionid":"u1"})";
  common::WorkerPool pool(1);
  WechatLoginProvider provider({"wxapp1", "app-secret", "maison"}, wechat, pool);
  absl::StatusOr<std::string> openid = Exchange(provider, "maison", "code-1");
  ASSERT_TRUE(openid.ok()) << openid.status();
  EXPECT_EQ(*openid, "oABC-123");
  EXPECT_EQ(wechat.asked,
            "/sns/jscode2session?appid=wxapp1&secret=app-secret&js_code=code-1"
            "&grant_type=authorization_code");
}

TEST(WechatLoginProviderTest, MapsWechatErrors) {
  FakeWechat wechat;
  common::WorkerPool pool(1);
  WechatLoginProvider provider({"wxapp1", "app-secret", "maison"}, wechat, pool);

  wechat.body = R"({"errcode":40029,"errmsg":"invalid code"})";
  EXPECT_EQ(Exchange(provider, "maison", "c").status().code(), absl::StatusCode::kUnauthenticated);
  wechat.body = R"({"errcode":40163,"errmsg":"code been used"})";
  EXPECT_EQ(Exchange(provider, "maison", "c").status().code(), absl::StatusCode::kUnauthenticated);
  wechat.body = R"({"errcode":-1,"errmsg":"system busy"})";
  EXPECT_EQ(Exchange(provider, "maison", "c").status().code(), absl::StatusCode::kUnavailable);
  wechat.body = "<html>";
  EXPECT_EQ(Exchange(provider, "maison", "c").status().code(), absl::StatusCode::kUnavailable);
  wechat.body = R"({"session_key":"k"})";
  EXPECT_EQ(Exchange(provider, "maison", "c").status().code(), absl::StatusCode::kUnavailable);
  wechat.status = 502;
  EXPECT_EQ(Exchange(provider, "maison", "c").status().code(), absl::StatusCode::kUnavailable);
  wechat.reachable = false;
  EXPECT_EQ(Exchange(provider, "maison", "c").status().code(), absl::StatusCode::kUnavailable);
}

TEST(WechatLoginProviderTest, RefusesAnotherBrandOrABadCodeWithoutAsking) {
  FakeWechat wechat;
  common::WorkerPool pool(1);
  WechatLoginProvider provider({"wxapp1", "app-secret", "maison"}, wechat, pool);
  EXPECT_EQ(Exchange(provider, "rival", "c").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Exchange(provider, "maison", "a&secret=x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(wechat.asked.empty());
}

}  // namespace
}  // namespace livecommerce::gateway
