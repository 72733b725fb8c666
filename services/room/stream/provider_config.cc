#include "services/room/stream/provider_config.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/config.h"

namespace livecommerce::room::stream {
namespace {

// An unset or empty variable gives `default_value`: deployments often set variables to "" to
// mean "not configured".
std::string Env(absl::string_view name, absl::string_view default_value) {
  std::string value = common::EnvString(name, "");
  return value.empty() ? std::string(default_value) : value;
}

}  // namespace

absl::StatusOr<StreamProviderConfig> LoadStreamProviderConfig() {
  StreamProviderConfig config;
  config.provider = Env("LC_STREAM_PROVIDER", config.provider);
  absl::StatusOr<absl::Duration> timeout =
      common::EnvMillis("LC_STREAM_HTTP_TIMEOUT_MS", 5000, 100, 60000);
  if (!timeout.ok()) {
    return timeout.status();
  }
  config.http.timeout = *timeout;

  if (config.provider == "local") {
    LocalProviderOptions& local = config.local;
    local.rtmp_url = Env("LC_STREAM_RTMP_URL", local.rtmp_url);
    local.play_base = Env("LC_STREAM_PLAY_BASE", local.play_base);
    // A development default, like LC_INTERNAL_SECRET's: deployments set their own.
    local.play_secret = Env("LC_STREAM_PLAY_SECRET", kLocalPlaySecret);
    local.control_url = Env("LC_STREAM_CONTROL_URL", local.control_url);
    return config;
  }
  if (config.provider == "tencent") {
    TencentProviderOptions& tencent = config.tencent;
    tencent.push_domain = Env("LC_TENCENT_PUSH_DOMAIN", "");
    tencent.play_domain = Env("LC_TENCENT_PLAY_DOMAIN", "");
    tencent.app = Env("LC_TENCENT_APP", tencent.app);
    tencent.push_key = Env("LC_TENCENT_PUSH_KEY", "");
    tencent.push_key_backup = Env("LC_TENCENT_PUSH_KEY_BACKUP", "");
    tencent.play_key = Env("LC_TENCENT_PLAY_KEY", "");
    tencent.play_key_backup = Env("LC_TENCENT_PLAY_KEY_BACKUP", "");
    tencent.callback_key = Env("LC_TENCENT_CALLBACK_KEY", "");
    tencent.secret_id = Env("LC_TENCENT_SECRET_ID", "");
    tencent.secret_key = Env("LC_TENCENT_SECRET_KEY", "");
    tencent.api_endpoint = Env("LC_TENCENT_API_ENDPOINT", tencent.api_endpoint);
    tencent.region = Env("LC_TENCENT_REGION", "");
    std::string sign_with = Env("LC_TENCENT_SIGN_WITH", "primary");
    if (sign_with == "primary") {
      tencent.sign_with = TencentKeySlot::kPrimary;
    } else if (sign_with == "backup") {
      tencent.sign_with = TencentKeySlot::kBackup;
    } else {
      return absl::InvalidArgumentError("LC_TENCENT_SIGN_WITH: must be primary or backup");
    }
    return config;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("LC_STREAM_PROVIDER: must be local or tencent, got '", config.provider, "'"));
}

absl::StatusOr<std::unique_ptr<StreamProvider>> BuildStreamProvider(
    const StreamProviderConfig& config, std::unique_ptr<common::HttpFetcher> fetcher,
    std::shared_ptr<const common::Clock> clock) {
  if (config.provider == "local") {
    absl::StatusOr<std::unique_ptr<LocalProvider>> local =
        LocalProvider::Create(config.local, std::move(fetcher));
    if (!local.ok()) {
      return local.status();
    }
    return std::unique_ptr<StreamProvider>(*std::move(local));
  }
  if (config.provider == "tencent") {
    absl::StatusOr<std::unique_ptr<TencentProvider>> tencent =
        TencentProvider::Create(config.tencent, std::move(fetcher), std::move(clock));
    if (!tencent.ok()) {
      return tencent.status();
    }
    return std::unique_ptr<StreamProvider>(*std::move(tencent));
  }
  return absl::InvalidArgumentError("LC_STREAM_PROVIDER: must be local or tencent");
}

absl::StatusOr<std::unique_ptr<StreamProvider>> LoadStreamProvider() {
  absl::StatusOr<StreamProviderConfig> config = LoadStreamProviderConfig();
  if (!config.ok()) {
    return config.status();
  }
  absl::StatusOr<std::unique_ptr<common::BeastHttpFetcher>> fetcher =
      common::BeastHttpFetcher::Create(config->http);
  if (!fetcher.ok()) {
    return fetcher.status();
  }
  return BuildStreamProvider(*config, *std::move(fetcher), std::make_shared<common::SystemClock>());
}

}  // namespace livecommerce::room::stream
