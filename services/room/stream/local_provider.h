#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "services/common/http_client.h"
#include "services/room/stream/stream_provider.h"

namespace livecommerce::room::stream {

// nginx with the RTMP module, run next to the services (its configuration is written elsewhere;
// this is its contract). Validation messages name the environment variable each field is read
// from (provider_config.h).
struct LocalProviderOptions {
  // LC_STREAM_RTMP_URL: rtmp://host[:port]/<application>; the application is the `app` nginx
  // reports in its callbacks and the one Cut drops from.
  std::string rtmp_url = "rtmp://127.0.0.1:1935/live";
  // LC_STREAM_PLAY_BASE: where nginx serves HLS behind secure_link.
  std::string play_base = "http://127.0.0.1:8088";
  // LC_STREAM_PLAY_SECRET: the secure_link_md5 secret, at least 16 printable ASCII characters
  // without spaces (it sits in nginx's configuration).
  std::string play_secret;
  // LC_STREAM_CONTROL_URL: the RTMP module's control handler.
  std::string control_url = "http://127.0.0.1:8088/control";
};

// Push: <rtmp_url>/<stream>?key=<push_key>, never expiring (the key is checked at on_publish).
// Play: HLS only, <play_base>/play/<expires>/<sig>/<stream>/index.m3u8 with <sig> the unpadded
// base64url of MD5("<expires>/<stream> <play_secret>") (nginx's secure_link_md5).
// Callbacks: nginx-rtmp's form-encoded on_publish / on_publish_done / on_record_done. Their
// authenticity (a secret in the callback URL) is the gateway's to check; ParseCallback checks
// the form's consistency: the route matches `call`, `app` is the configured application, `name`
// is a valid stream name, and each field read appears once (the encoder's URL query is appended
// to the form, so a repeated field could otherwise override nginx's own).
// dedupe_key: nginx numbers connections (clientid) from 1 again when it restarts, so a key is
// only unique within one nginx run; the room service must still check a stop against the
// current start's sequence.
class LocalProvider final : public StreamProvider {
 public:
  // INVALID_ARGUMENT naming the variable of a malformed option.
  static absl::StatusOr<std::unique_ptr<LocalProvider>> Create(
      LocalProviderOptions options, std::unique_ptr<common::HttpFetcher> fetcher);

  std::string_view name() const override { return "local"; }
  // nginx-rtmp's callbacks are unsigned form posts, sent once, never retried; a 403 to
  // on_publish drops the push.
  CallbackTraits callback_traits() const override {
    return {.needs_path_secret = true,
            .refuses_by_answer = true,
            .replay_window = absl::ZeroDuration()};
  }
  PushAddress Push(const std::string& stream_name, const std::string& push_key,
                   absl::Time expires_at) const override;
  PlayAddresses Play(const std::string& stream_name, absl::Time expires_at) const override;
  // <play_base>/replay/<expires>/<sig>/<file>: the recording's file name (its last path part)
  // under nginx's recordings directory, signed as Play with "<expires>/<file>".
  PlayAddresses PlayRecording(const std::string& location, absl::Time expires_at) const override;
  absl::StatusOr<StreamEvent> ParseCallback(const CallbackRequest& request,
                                            absl::Time now) const override;
  CallbackAnswer Answer(const StreamEvent& event, bool accepted) const override;
  // GET <control_url>/drop/publisher?app=<app>&name=<stream>: 200 (with the number dropped,
  // "0" included) and 404 are OK.
  absl::Status Cut(const std::string& stream_name) const override;

  const std::string& app() const { return app_; }

 private:
  LocalProvider(LocalProviderOptions options, std::string app,
                std::unique_ptr<common::HttpFetcher> fetcher);

  LocalProviderOptions options_;
  std::string app_;
  std::unique_ptr<common::HttpFetcher> fetcher_;
};

}  // namespace livecommerce::room::stream
