#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "services/common/clock.h"
#include "services/common/http_client.h"
#include "services/room/stream/stream_provider.h"

namespace livecommerce::room::stream {

// Which of a domain's two keys signs the URLs. Tencent accepts a URL signed with either, so a
// key is rotated by signing with the other one while it is replaced.
enum class TencentKeySlot { kPrimary, kBackup };

// Tencent Cloud Live (CSS). Validation messages name the environment variable each field is read
// from (provider_config.h).
struct TencentProviderOptions {
  std::string push_domain;      // LC_TENCENT_PUSH_DOMAIN
  std::string play_domain;      // LC_TENCENT_PLAY_DOMAIN
  std::string app = "live";     // LC_TENCENT_APP: the AppName (push path)
  std::string push_key;         // LC_TENCENT_PUSH_KEY
  std::string push_key_backup;  // LC_TENCENT_PUSH_KEY_BACKUP (optional)
  std::string play_key;         // LC_TENCENT_PLAY_KEY
  std::string play_key_backup;  // LC_TENCENT_PLAY_KEY_BACKUP (optional)
  std::string callback_key;     // LC_TENCENT_CALLBACK_KEY
  std::string secret_id;        // LC_TENCENT_SECRET_ID (API credentials, for Cut)
  std::string secret_key;       // LC_TENCENT_SECRET_KEY
  std::string api_endpoint = "https://live.tencentcloudapi.com";  // LC_TENCENT_API_ENDPOINT
  std::string region;                                             // LC_TENCENT_REGION (optional)
  // LC_TENCENT_SIGN_WITH (primary | backup): the slot Push and Play sign with; backup needs
  // both backup keys.
  TencentKeySlot sign_with = TencentKeySlot::kPrimary;
};

// Hotlink protection as Tencent documents it: txTime is the expiry as upper-case hexadecimal Unix
// seconds, txSecret = lower-case hex MD5(key + StreamName + txTime).
std::string TencentTxTime(absl::Time expires_at);
std::string TencentTxSecret(absl::string_view key, absl::string_view stream_name,
                            absl::string_view tx_time);
// A callback's sign = lower-case hex MD5(callback key + t), `t` as the decimal text it came in.
std::string TencentCallbackSign(absl::string_view callback_key, absl::string_view t);

// TencentCloud API 3.0 signature (TC3-HMAC-SHA256) of a JSON POST to "/" without a query,
// signing the content-type and host headers.
struct Tc3Input {
  std::string secret_id;
  std::string secret_key;
  std::string service;       // "live"
  std::string host;          // the Host header sent
  std::string content_type;  // the Content-Type header sent
  std::string payload;       // the body sent
  int64_t timestamp = 0;     // X-TC-Timestamp; its UTC date is the credential scope's
};
struct Tc3Signature {
  std::string hashed_payload;  // lower-case hex SHA-256 of the payload
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // lower-case hex
  std::string authorization;  // the Authorization header
};
Tc3Signature SignTc3(const Tc3Input& input);

// Push: rtmp://<push domain>/<app>/<stream>?txSecret=..&txTime=..&key=<push_key>, expiring at
// `expires_at`. Play: FLV (https://<play domain>/<app>/<stream>.flv), HLS (.m3u8) and WebRTC
// (webrtc://<play domain>/<app>/<stream>), each signed with the play key.
// Callbacks: JSON; verified with sign = MD5(callback key + t) and refused once `t` has passed
// (both UNAUTHENTICATED, as is a body without a well-formed sign or t); then event_type 1 (push
// started), 0 (push stopped) and 100 (recording file) are parsed, other types and streams of
// another AppName are FAILED_PRECONDITION "ignored". dedupe_key is the event type with the
// stream and `sequence` (1 and 0) or the file id (100), which Tencent keeps across its retries.
// Cut: the cloud API's DropLiveStream (version 2018-08-01).
class TencentProvider final : public StreamProvider {
 public:
  // INVALID_ARGUMENT naming the variable of a missing or malformed option.
  static absl::StatusOr<std::unique_ptr<TencentProvider>> Create(
      TencentProviderOptions options, std::unique_ptr<common::HttpFetcher> fetcher,
      std::shared_ptr<const common::Clock> clock);

  std::string_view name() const override { return "tencent"; }
  // Signed callbacks, retried every minute up to 12 times in any order (a 30-minute window holds
  // them all); the answer cannot refuse a push, so a refused one is cut.
  CallbackTraits callback_traits() const override {
    return {
        .needs_path_secret = false, .refuses_by_answer = false, .replay_window = absl::Minutes(30)};
  }
  PushAddress Push(const std::string& stream_name, const std::string& push_key,
                   absl::Time expires_at) const override;
  PlayAddresses Play(const std::string& stream_name, absl::Time expires_at) const override;
  // Recordings are VOD files (video_url): signed with the play key as VOD's key hotlink
  // protection wants it, ?t=<hex expiry>&sign=MD5(key + directory + t), the directory being the
  // URL's path up to its last '/'. A location that is only a path is taken on the play domain.
  PlayAddresses PlayRecording(const std::string& location, absl::Time expires_at) const override;
  absl::StatusOr<StreamEvent> ParseCallback(const CallbackRequest& request,
                                            absl::Time now) const override;
  CallbackAnswer Answer(const StreamEvent& event, bool accepted) const override;
  // OK also when Tencent answers that the stream is not live (FailedOperation.HasNotLivingStream,
  // InternalError.HasNotLivingStream). InternalError*, RequestLimitExceeded*,
  // ResourceUnavailable* and HTTP 5xx are UNAVAILABLE; any other error (AuthFailure*, a bad
  // parameter, a suspended service) is INTERNAL with Tencent's code in the message.
  absl::Status Cut(const std::string& stream_name) const override;

  // Push and Play signed with a given slot (a slot without a key signs with the primary).
  PushAddress PushSignedWith(TencentKeySlot slot, const std::string& stream_name,
                             const std::string& push_key, absl::Time expires_at) const;
  PlayAddresses PlaySignedWith(TencentKeySlot slot, const std::string& stream_name,
                               absl::Time expires_at) const;

 private:
  TencentProvider(TencentProviderOptions options, common::HttpUrl endpoint,
                  std::unique_ptr<common::HttpFetcher> fetcher,
                  std::shared_ptr<const common::Clock> clock);

  TencentProviderOptions options_;
  common::HttpUrl endpoint_;
  std::unique_ptr<common::HttpFetcher> fetcher_;
  std::shared_ptr<const common::Clock> clock_;
};

}  // namespace livecommerce::room::stream
