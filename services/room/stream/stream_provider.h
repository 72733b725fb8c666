#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace livecommerce::room::stream {

// Where the host's encoder pushes. The push key always travels in the URL's query as
// `key=<push_key>`, so the room service can check it when the push starts.
struct PushAddress {
  std::string url;         // whole URL (ffmpeg, QR code)
  std::string server;      // OBS "server"
  std::string stream_key;  // OBS "stream key"
  absl::Time expires_at;   // InfiniteFuture when it does not expire
};

// Signed, expiring addresses a viewer plays.
struct PlayAddresses {
  std::string hls, flv, webrtc;  // "" when the provider has none
  absl::Time expires_at;
};

enum class StreamEventKind { kPublishStarted, kPublishStopped, kRecordingReady };

// A verified callback.
struct StreamEvent {
  StreamEventKind kind = StreamEventKind::kPublishStarted;
  std::string stream_name;
  std::string push_key;   // the key the encoder presented ("" if none)
  std::string sequence;   // ties a stop to its start (tencent: sequence; local: clientid)
  std::string recording;  // kRecordingReady: file path (local) or video_url (tencent)
  int64_t recording_seconds = 0;
  int64_t recording_bytes = 0;
  absl::Time occurred_at;  // the provider's time when it gives one, else `now`
  std::string dedupe_key;  // equal for a callback and its replays, different otherwise
};

struct CallbackRequest {
  // local: "on_publish" | "on_publish_done" | "on_record_done"; tencent: "" (not read).
  std::string route;
  std::string content_type;
  std::string body;
};

struct CallbackAnswer {
  int http_status = 200;
  std::string content_type;
  std::string body;
};

// How a provider's callbacks are to be handled.
struct CallbackTraits {
  // Its callbacks are unsigned: they are trusted only with the deployment's shared secret in the
  // callback URL (the gateway passes it on; the room service compares it).
  bool needs_path_secret = false;
  // A refused push start answered with a non-2xx status makes the server drop the push; when
  // false, the answer cannot refuse and a refused push is cut with Cut().
  bool refuses_by_answer = false;
  // How long the provider may retry or reorder a callback: replays are recognised for this long.
  absl::Duration replay_window = absl::ZeroDuration();
};

// One streaming provider, chosen per deployment (provider_config.h). Implementations are
// immutable after construction and thread-safe.
class StreamProvider {
 public:
  virtual ~StreamProvider() = default;
  virtual std::string_view name() const = 0;  // "local" | "tencent"
  virtual CallbackTraits callback_traits() const = 0;

  // `stream_name` must satisfy IsValidStreamName; the push key is percent-encoded into the query.
  // A provider whose URLs are signed signs them to expire at `expires_at` (a finite time).
  virtual PushAddress Push(const std::string& stream_name, const std::string& push_key,
                           absl::Time expires_at) const = 0;
  virtual PlayAddresses Play(const std::string& stream_name, absl::Time expires_at) const = 0;
  // A recording (a replay) to play: `location` as a recording callback or ops gave it (a path on
  // the streaming server, or the provider's URL), signed like Play to expire at `expires_at`.
  virtual PlayAddresses PlayRecording(const std::string& location, absl::Time expires_at) const = 0;

  // Verifies and parses a callback: UNAUTHENTICATED when forged or stale (tencent: bad sign, or
  // `t` passed), INVALID_ARGUMENT naming the field when malformed, a StreamEvent otherwise. An
  // event the room service need not act on (e.g. tencent event types other than 0/1/100) is
  // FAILED_PRECONDITION "ignored" so the gateway can still acknowledge it.
  virtual absl::StatusOr<StreamEvent> ParseCallback(const CallbackRequest& request,
                                                    absl::Time now) const = 0;

  // What to answer the provider: accepted = the room service took it (for local on_publish,
  // false => 403 so nginx drops the push); tencent answers 200 {"code":0} whenever the callback
  // was authentic (it cannot refuse a push that way: a refused push is cut with Cut()).
  virtual CallbackAnswer Answer(const StreamEvent& event, bool accepted) const = 0;

  // Cuts the stream's current push (key rotated, session ended). OK when nothing is pushing.
  // INVALID_ARGUMENT for a malformed stream name; UNAVAILABLE / DEADLINE_EXCEEDED when the
  // provider could not be reached or failed on its side (worth retrying); INTERNAL when it
  // refused the call for a reason retrying will not fix (credentials, configuration).
  virtual absl::Status Cut(const std::string& stream_name) const = 0;
};

// Stream names the providers accept in URLs and callbacks: 1 to 128 characters of ASCII
// letters, digits, '_' and '-'. The room service names streams within this set.
inline bool IsValidStreamName(absl::string_view name) {
  if (name.empty() || name.size() > 128) {
    return false;
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// Push keys as they may appear in a callback: 1 to 256 printable ASCII characters without spaces.
// The room service's keys (random, base64url) are within this set; anything else is refused as
// malformed before it is compared.
inline bool IsValidPushKey(absl::string_view key) {
  if (key.empty() || key.size() > 256) {
    return false;
  }
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

}  // namespace livecommerce::room::stream
