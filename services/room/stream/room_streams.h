#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "livecommerce/v1/room.pb.h"
#include "services/common/clock.h"
#include "services/room/domain/stream.h"
#include "services/room/store/room_store.h"
#include "services/room/store/stream_store.h"
#include "services/room/stream/stream_provider.h"

namespace livecommerce::room {

struct StreamOptions {
  // An interrupted session ends by itself after this long unless the push comes back.
  absl::Duration grace = absl::Seconds(60);
  // How long a viewer's play address works.
  absl::Duration play_ttl = absl::Minutes(30);
  // How long a signed push address works (providers that sign push URLs).
  absl::Duration push_ttl = absl::Hours(24);
  // Derives the push keys (domain/stream.h).
  std::string key_secret;
  // The path secret of the local streaming server's callbacks.
  std::string callback_secret;
};

// LC_STREAM_GRACE_MS (60 s), LC_STREAM_PLAY_TTL_MS (30 min), LC_STREAM_PUSH_TTL_MS (24 h),
// LC_STREAM_KEY_SECRET and LC_STREAM_CALLBACK_SECRET (each at least 16 characters; the local
// defaults are for development only).
absl::StatusOr<StreamOptions> LoadStreamOptions();

// The streams of rooms: their addresses, their state as the streaming server's callbacks drive
// it, and their recordings. Thread-safe.
class RoomStreams {
 public:
  // What the callbacks may do to a room's session. Each is idempotent: OK when already done.
  struct SessionControl {
    std::function<absl::Status(int64_t room_id)> go_live;
    std::function<absl::Status(int64_t room_id)> end;
    // The room's stream changed: its watchers are woken (may be empty).
    std::function<void(int64_t room_id)> changed;
  };

  // All must outlive this.
  RoomStreams(MysqlStreamStore& store, RoomStore& rooms, const stream::StreamProvider& provider,
              const common::Clock& clock, StreamOptions options);

  const StreamOptions& options() const { return options_; }
  const stream::StreamProvider& provider() const { return provider_; }
  MysqlStreamStore& store() { return store_; }

  // The room's stream, made the first time.
  absl::StatusOr<StreamRecord> Of(const RoomRecord& room);
  v1::PushAddress PushOf(const StreamRecord& stream) const;
  v1::PlayAddresses PlayOf(const StreamRecord& stream) const;
  // A recording's (a replay's) play address, signed by the provider for the play TTL.
  v1::PlayAddresses PlayRecordingOf(const std::string& location) const;
  // A new push key; the current push is cut. The new address.
  absl::StatusOr<v1::PushAddress> RotateKey(const RoomRecord& room);

  // The session went live: the stream's encoder-to-live time, when it is up.
  void SessionStarted(int64_t room_id);
  // The session ended: the stream is ended and any push cut.
  void SessionEnded(int64_t room_id);
  // The room's stream as read within the last second (joins and the per-second stats read it);
  // nullopt when it has none.
  std::optional<StreamRecord> Recent(int64_t room_id);
  // What viewers see of the room's stream (from Recent); nullopt when it has none.
  std::optional<v1::StreamStatus> StatusOf(int64_t room_id);

  // A callback of the streaming server (HandleStreamCallback), verified before anything changes.
  // INVALID_ARGUMENT / UNAUTHENTICATED for what the gateway should refuse.
  absl::StatusOr<v1::HandleStreamCallbackResponse> HandleCallback(
      const v1::HandleStreamCallbackRequest& request, const SessionControl& control);

  // Ends the sessions whose push has been gone longer than the grace; how many.
  absl::StatusOr<int> EndAbandoned(const SessionControl& control);

 private:
  absl::StatusOr<v1::HandleStreamCallbackResponse> Apply(const stream::StreamEvent& event,
                                                         const SessionControl& control);
  void Forget(int64_t room_id);

  MysqlStreamStore& store_;
  RoomStore& rooms_;
  const stream::StreamProvider& provider_;
  const common::Clock& clock_;
  StreamOptions options_;
  const common::SystemClock wall_clock_;  // the cache's age

  struct Cached {
    std::optional<StreamRecord> stream;
    absl::Time fetched_at;
  };
  std::mutex mu_;
  std::unordered_map<int64_t, Cached> cache_ ABSL_GUARDED_BY(mu_);  // by room id
};

}  // namespace livecommerce::room
