#include "services/room/stream/provider_config.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace livecommerce::room::stream {
namespace {

const absl::Time kExpiry = absl::FromUnixSeconds(1800000000);

constexpr const char* kVariables[] = {
    "LC_STREAM_PROVIDER",         "LC_STREAM_RTMP_URL",         "LC_STREAM_PLAY_BASE",
    "LC_STREAM_PLAY_SECRET",      "LC_STREAM_CONTROL_URL",      "LC_STREAM_HTTP_TIMEOUT_MS",
    "LC_TENCENT_PUSH_DOMAIN",     "LC_TENCENT_PLAY_DOMAIN",     "LC_TENCENT_APP",
    "LC_TENCENT_PUSH_KEY",        "LC_TENCENT_PUSH_KEY_BACKUP", "LC_TENCENT_PLAY_KEY",
    "LC_TENCENT_PLAY_KEY_BACKUP", "LC_TENCENT_CALLBACK_KEY",    "LC_TENCENT_SECRET_ID",
    "LC_TENCENT_SECRET_KEY",      "LC_TENCENT_API_ENDPOINT",    "LC_TENCENT_REGION",
    "LC_TENCENT_SIGN_WITH"};

// Each test starts from an environment without any of the provider's variables.
class ProviderConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kVariables) {
      unsetenv(name);
    }
  }
  void TearDown() override { SetUp(); }

  static void Set(const char* name, const char* value) { setenv(name, value, 1); }

  static void SetTencent() {
    Set("LC_STREAM_PROVIDER", "tencent");
    Set("LC_TENCENT_PUSH_DOMAIN", "push.example.com");
    Set("LC_TENCENT_PLAY_DOMAIN", "play.example.com");
    Set("LC_TENCENT_PUSH_KEY", "push-primary-key");
    Set("LC_TENCENT_PLAY_KEY", "play-primary-key");
    Set("LC_TENCENT_CALLBACK_KEY", "cb-key-0011223344");
    Set("LC_TENCENT_SECRET_ID", "AKIDexample");
    Set("LC_TENCENT_SECRET_KEY", "secret-key-example");
  }

  static void ExpectNamed(const absl::StatusOr<std::unique_ptr<StreamProvider>>& provider,
                          absl::string_view variable) {
    EXPECT_EQ(provider.status().code(), absl::StatusCode::kInvalidArgument) << variable;
    EXPECT_TRUE(absl::StartsWith(provider.status().message(), variable)) << provider.status();
  }
};

TEST_F(ProviderConfigTest, LocalIsTheDefaultWithADevelopmentPlaySecret) {
  absl::StatusOr<std::unique_ptr<StreamProvider>> local = LoadStreamProvider();
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ((*local)->name(), "local");
  Set("LC_STREAM_PLAY_SECRET", "short");
  ExpectNamed(LoadStreamProvider(), "LC_STREAM_PLAY_SECRET");
  Set("LC_STREAM_PLAY_SECRET", "0123456789abcdef-secret");
  absl::StatusOr<std::unique_ptr<StreamProvider>> provider = LoadStreamProvider();
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_EQ((*provider)->name(), "local");
  EXPECT_EQ((*provider)->Push("s1", "k", kExpiry).url, "rtmp://127.0.0.1:1935/live/s1?key=k");
  EXPECT_TRUE(absl::StartsWith((*provider)->Play("s1", kExpiry).hls,
                               "http://127.0.0.1:8088/play/1800000000/"));
}

TEST_F(ProviderConfigTest, ReadsTheLocalVariablesAndTreatsEmptyAsUnset) {
  Set("LC_STREAM_PLAY_SECRET", "0123456789abcdef-secret");
  Set("LC_STREAM_RTMP_URL", "rtmp://media.internal:1936/show");
  Set("LC_STREAM_PLAY_BASE", "");
  absl::StatusOr<std::unique_ptr<StreamProvider>> provider = LoadStreamProvider();
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_EQ((*provider)->Push("s1", "k", kExpiry).server, "rtmp://media.internal:1936/show");
  EXPECT_TRUE(absl::StartsWith((*provider)->Play("s1", kExpiry).hls, "http://127.0.0.1:8088/"));
}

TEST_F(ProviderConfigTest, NamesMalformedVariables) {
  Set("LC_STREAM_PLAY_SECRET", "0123456789abcdef-secret");
  Set("LC_STREAM_PROVIDER", "wowza");
  ExpectNamed(LoadStreamProvider(), "LC_STREAM_PROVIDER");
  Set("LC_STREAM_PROVIDER", "local");
  Set("LC_STREAM_HTTP_TIMEOUT_MS", "soon");
  ExpectNamed(LoadStreamProvider(), "LC_STREAM_HTTP_TIMEOUT_MS");
  Set("LC_STREAM_HTTP_TIMEOUT_MS", "2000");
  Set("LC_STREAM_CONTROL_URL", "127.0.0.1:8088/control");
  ExpectNamed(LoadStreamProvider(), "LC_STREAM_CONTROL_URL");
}

TEST_F(ProviderConfigTest, BuildsTencentFromItsVariables) {
  SetTencent();
  Set("LC_TENCENT_APP", "show");
  absl::StatusOr<std::unique_ptr<StreamProvider>> provider = LoadStreamProvider();
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_EQ((*provider)->name(), "tencent");
  EXPECT_TRUE(absl::StartsWith((*provider)->Push("s1", "k", kExpiry).url,
                               "rtmp://push.example.com/show/s1?"));
  EXPECT_TRUE(absl::StartsWith((*provider)->Play("s1", kExpiry).flv,
                               "https://play.example.com/show/s1.flv?txSecret="));
}

TEST_F(ProviderConfigTest, TencentSignsWithTheBackupKeysWhenAsked) {
  SetTencent();
  Set("LC_TENCENT_SIGN_WITH", "backup");
  ExpectNamed(LoadStreamProvider(), "LC_TENCENT_PUSH_KEY_BACKUP");
  Set("LC_TENCENT_PUSH_KEY_BACKUP", "push-backup-key");
  Set("LC_TENCENT_PLAY_KEY_BACKUP", "play-backup-key");
  absl::StatusOr<std::unique_ptr<StreamProvider>> provider = LoadStreamProvider();
  ASSERT_TRUE(provider.ok()) << provider.status();
  // printf '%s' 'push-backup-keys_abc1236B49D200' | openssl md5
  EXPECT_EQ((*provider)->Push("s_abc123", "k", kExpiry).url,
            "rtmp://push.example.com/live/s_abc123?txSecret=0139cf90508a1cbd8be5936c4ba3f26b"
            "&txTime=6B49D200&key=k");
  Set("LC_TENCENT_SIGN_WITH", "secondary");
  ExpectNamed(LoadStreamProvider(), "LC_TENCENT_SIGN_WITH");
}

TEST_F(ProviderConfigTest, NamesEachMissingTencentVariable) {
  for (const char* variable :
       {"LC_TENCENT_PUSH_DOMAIN", "LC_TENCENT_PLAY_DOMAIN", "LC_TENCENT_PUSH_KEY",
        "LC_TENCENT_PLAY_KEY", "LC_TENCENT_CALLBACK_KEY", "LC_TENCENT_SECRET_ID",
        "LC_TENCENT_SECRET_KEY"}) {
    SetTencent();
    unsetenv(variable);
    ExpectNamed(LoadStreamProvider(), variable);
    SetTencent();
    Set(variable, "");  // empty counts as missing
    ExpectNamed(LoadStreamProvider(), variable);
  }
}

}  // namespace
}  // namespace livecommerce::room::stream
