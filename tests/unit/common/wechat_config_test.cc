// The WeChat platform client's configuration: the LC_WECHAT_* variables, the LC_WECHAT_APPS
// file and what PlatformClient::Create accepts.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/clock.h"
#include "services/common/http_client.h"
#include "services/common/wechat/platform_client.h"

namespace livecommerce::common::wechat {
namespace {

constexpr char kAppId[] = "wx5f3a9c0d1e2b4a68";
constexpr char kSecret[] = "9f86d081884c7d659a2feaa0c55ad015";
const absl::Time kT0 = absl::FromUnixSeconds(1800000000);

TEST(PlatformClientCreateTest, RefusesBadConfiguration) {
  FakeClock clock(kT0);
  auto fetcher = BeastHttpFetcher::Create({}).value();
  WechatPlatformConfig config;
  config.apps_by_brand["a"] = {kAppId, kSecret};
  EXPECT_TRUE(PlatformClient::Create(config, fetcher.get(), &clock).ok());
  config.apps_by_brand["b"] = {kAppId, "another secret"};
  EXPECT_EQ(PlatformClient::Create(config, fetcher.get(), &clock).status().code(),
            absl::StatusCode::kInvalidArgument);
  config.apps_by_brand["b"] = {kAppId, kSecret};  // two brands, one mini-program
  EXPECT_TRUE(PlatformClient::Create(config, fetcher.get(), &clock).ok());
  config.apps_by_brand["c"] = {"", kSecret};
  EXPECT_EQ(PlatformClient::Create(config, fetcher.get(), &clock).status().code(),
            absl::StatusCode::kInvalidArgument);
  config.apps_by_brand.erase("c");
  for (const char* url :
       {"http://api.weixin.qq.com", "https://api.weixin.qq.com?x=1", "ftp://api.weixin.qq.com"}) {
    config.base_url = url;
    EXPECT_EQ(PlatformClient::Create(config, fetcher.get(), &clock).status().code(),
              absl::StatusCode::kInvalidArgument)
        << url;
  }
  for (const char* url : {"https://api.weixin.qq.com/", "https://sandbox.example.com:8443/wx",
                          "http://127.0.0.1:8080", "http://localhost"}) {
    config.base_url = url;
    EXPECT_TRUE(PlatformClient::Create(config, fetcher.get(), &clock).ok()) << url;
  }
}

class WechatConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("lc-wechat-config-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_ / "secrets");
    Write("secrets/maison", absl::StrCat("  ", kSecret, "\n"));
    Write("secrets/empty", " \n");
    for (const char* name : {"LC_WECHAT_API_BASE_URL", "LC_WECHAT_API_TIMEOUT_MS",
                             "LC_WECHAT_API_CA_FILE", "LC_WECHAT_APPS"}) {
      unsetenv(name);
    }
  }
  void TearDown() override {
    for (const char* name : {"LC_WECHAT_API_BASE_URL", "LC_WECHAT_API_TIMEOUT_MS",
                             "LC_WECHAT_API_CA_FILE", "LC_WECHAT_APPS"}) {
      unsetenv(name);
    }
    std::filesystem::remove_all(dir_);
  }
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << content;
    return path;
  }

  std::filesystem::path dir_;
};

TEST_F(WechatConfigTest, ParsesAppsAndReadsSecretFiles) {
  std::string absolute = (dir_ / "secrets/maison").string();
  absl::StatusOr<std::map<std::string, WechatAppConfig>> apps = ParseWechatApps(
      absl::StrCat(R"({"maison": {"appid": "wx5f3a9c0d1e2b4a68", "secret_file": "secrets/maison"},
                       "atelier": {"appid": "wx00000000000000aa", "secret_file": ")",
                   absolute, R"("}})"),
      dir_.string());
  ASSERT_TRUE(apps.ok()) << apps.status();
  ASSERT_EQ(apps->size(), 2u);
  EXPECT_EQ(apps->at("maison").appid, kAppId);
  EXPECT_EQ(apps->at("maison").secret, kSecret);
  EXPECT_EQ(apps->at("atelier").secret, kSecret);

  for (const char* bad : {
           "[]",
           "not json",
           R"({"maison": "wx5f3a9c0d1e2b4a68"})",
           R"({"bad brand!": {"appid": "wx1", "secret_file": "secrets/maison"}})",
           R"({"maison": {"secret_file": "secrets/maison"}})",
           R"({"maison": {"appid": "wx 1", "secret_file": "secrets/maison"}})",
           R"({"maison": {"appid": "wx1"}})",
           R"({"maison": {"appid": "wx1", "secret_file": "secrets/missing"}})",
           R"({"maison": {"appid": "wx1", "secret_file": "secrets/empty"}})",
           R"({"maison": {"appid": "wx1", "secret_file": "secrets/maison", "secret": "x"}})",
       }) {
    apps = ParseWechatApps(bad, dir_.string());
    EXPECT_EQ(apps.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_FALSE(absl::StrContains(apps.status().message(), kSecret));
  }
}

TEST_F(WechatConfigTest, LoadsFromTheEnvironment) {
  absl::StatusOr<WechatPlatformConfig> config = LoadWechatPlatformConfig();
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->base_url, "https://api.weixin.qq.com");
  EXPECT_EQ(config->timeout, absl::Seconds(5));
  EXPECT_TRUE(config->apps_by_brand.empty());
  EXPECT_TRUE(config->extra_ca_pem.empty());

  std::string apps =
      Write("apps.json",
            R"({"maison": {"appid": "wx5f3a9c0d1e2b4a68", "secret_file": "secrets/maison"}})");
  setenv("LC_WECHAT_APPS", apps.c_str(), 1);
  setenv("LC_WECHAT_API_BASE_URL", "http://127.0.0.1:18080", 1);
  setenv("LC_WECHAT_API_TIMEOUT_MS", "1500", 1);
  config = LoadWechatPlatformConfig();
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->base_url, "http://127.0.0.1:18080");
  EXPECT_EQ(config->timeout, absl::Milliseconds(1500));
  ASSERT_EQ(config->apps_by_brand.count("maison"), 1u);
  EXPECT_EQ(config->apps_by_brand.at("maison").secret, kSecret);

  struct Bad {
    const char* variable;
    std::string value;
  };
  for (const Bad& bad : {Bad{"LC_WECHAT_API_BASE_URL", "http://api.weixin.qq.com"},
                         Bad{"LC_WECHAT_API_TIMEOUT_MS", "soon"},
                         Bad{"LC_WECHAT_API_CA_FILE", (dir_ / "secrets/maison").string()},
                         Bad{"LC_WECHAT_APPS", (dir_ / "missing.json").string()},
                         Bad{"LC_WECHAT_APPS", Write("bad.json", R"({"maison": {}})")}}) {
    std::string saved = getenv(bad.variable) != nullptr ? getenv(bad.variable) : "";
    setenv(bad.variable, bad.value.c_str(), 1);
    config = LoadWechatPlatformConfig();
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << bad.variable;
    EXPECT_TRUE(absl::StartsWith(config.status().message(), bad.variable)) << config.status();
    EXPECT_FALSE(absl::StrContains(config.status().message(), kSecret)) << config.status();
    if (saved.empty()) {
      unsetenv(bad.variable);
    } else {
      setenv(bad.variable, saved.c_str(), 1);
    }
  }
}

}  // namespace
}  // namespace livecommerce::common::wechat
