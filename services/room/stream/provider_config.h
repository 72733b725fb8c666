#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/common/clock.h"
#include "services/common/http_client.h"
#include "services/room/stream/local_provider.h"
#include "services/room/stream/stream_provider.h"
#include "services/room/stream/tencent_provider.h"

namespace livecommerce::room::stream {

// LC_STREAM_PLAY_SECRET when unset: for development on one machine only (scripts/run, tests).
inline constexpr char kLocalPlaySecret[] = "livecommerce-local-play-secret";

// The streaming provider of this deployment, as the environment describes it.
struct StreamProviderConfig {
  std::string provider = "local";  // LC_STREAM_PROVIDER: local | tencent
  LocalProviderOptions local;      // LC_STREAM_* (only read for local)
  TencentProviderOptions tencent;  // LC_TENCENT_* (only read for tencent)
  // LC_STREAM_HTTP_TIMEOUT_MS (default 5000): each Cut call's HTTP exchange.
  common::BeastHttpFetcherOptions http;
};

// Reads LC_STREAM_PROVIDER and the chosen provider's variables (an empty variable counts as
// unset). INVALID_ARGUMENT naming the variable when one is malformed; missing required values
// are reported by BuildStreamProvider.
absl::StatusOr<StreamProviderConfig> LoadStreamProviderConfig();

// Builds the configured provider over `fetcher` (Cut's HTTP calls) and `clock` (Tencent's API
// signatures). INVALID_ARGUMENT naming the variable of a missing or malformed value.
absl::StatusOr<std::unique_ptr<StreamProvider>> BuildStreamProvider(
    const StreamProviderConfig& config, std::unique_ptr<common::HttpFetcher> fetcher,
    std::shared_ptr<const common::Clock> clock);

// LoadStreamProviderConfig, then BuildStreamProvider with a BeastHttpFetcher and the system
// clock. For main(): common::OrExit(LoadStreamProvider()).
absl::StatusOr<std::unique_ptr<StreamProvider>> LoadStreamProvider();

}  // namespace livecommerce::room::stream
