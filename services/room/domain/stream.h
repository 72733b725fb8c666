#pragma once

// A room's stream (docs/STREAMING.md): its name, its push key, and what the streaming server's
// callbacks do to it. Everything here is pure; the store keeps the records and the service applies
// the decisions.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "livecommerce/v1/room.pb.h"
#include "services/room/domain/room.h"
#include "services/room/stream/stream_provider.h"

namespace livecommerce::room {

using v1::StreamState;

// The stream of a room, as stored (room_streams). One per room, made the first time it is asked
// for; its name never changes, its key changes when rotated (key_version).
struct StreamRecord {
  int64_t room_id = 0;
  std::string brand_id;
  std::string stream_name;
  int key_version = 1;
  StreamState state = v1::STREAM_STATE_WAITING;
  absl::Time state_since;
  // The push the state is about (the provider's sequence of its start); "" before any.
  std::string publish_sequence;
  std::optional<absl::Time> publish_started_at;
  int64_t publish_to_live_ms = 0;  // 0 until a push made the session live
  absl::Time created_at;
  absl::Time updated_at;
};

// A new stream's name: 24 random characters of [a-z0-9], unguessable from the room id.
std::string NewStreamName();

// The push key of a stream at a key version: derived (HMAC-SHA256 with the service's secret), so
// it is never stored and a rotation (a new version) makes every older key invalid at once.
// 32 characters of base64url.
std::string PushKey(absl::string_view secret, absl::string_view stream_name, int key_version);

// Whether `presented` is the stream's current push key (constant time).
bool PushKeyMatches(absl::string_view secret, const StreamRecord& stream,
                    absl::string_view presented);

// What a verified callback does.
struct StreamDecision {
  // What to tell the provider: false refuses a push start (nginx drops it; Tencent's is cut).
  bool accepted = true;
  // Whether the stream record changes (it then becomes `next`).
  bool changes = false;
  StreamRecord next;
  // A scheduled room that starts on publish goes live now.
  bool go_live = false;
  // Why nothing changes, for the log ("" when something does).
  std::string ignored;
};

// The decision for `event` on `stream` of `room` at `now`. `key_ok`: the push key presented
// matches (only read for a publish start). `stopped_before`: a stop of the same push
// (sequence) was received before its start (callbacks come late and out of order). Nothing moves
// a session backwards: a stop of another push than the current one, or a start of a push that
// already stopped, changes nothing; a room that is not live never goes live from a callback
// unless it is scheduled to start on publish.
StreamDecision Decide(const StreamRecord& stream, const RoomRecord& room,
                      const stream::StreamEvent& event, bool key_ok, bool stopped_before,
                      absl::Time now);

// After the session ended: the stream waits for the next one.
StreamRecord Ended(StreamRecord stream, absl::Time now);

// The status viewers and ops see. `grace`: how long an interrupted session waits for its push.
v1::StreamStatus StatusOf(const StreamRecord& stream, absl::Duration grace);

// A replay's location as ops register it (SetReplay): an https URL (the provider's VOD file) or a
// path on the streaming server's recordings, 1 to 1024 printable ASCII characters without spaces,
// never stepping out of a directory (".."). INVALID_ARGUMENT naming "location" otherwise.
absl::Status ValidateReplayLocation(absl::string_view location);
// A replay's length: 1 second to 7 days. INVALID_ARGUMENT naming "duration_seconds" otherwise.
absl::Status ValidateReplayDuration(int64_t duration_seconds);

}  // namespace livecommerce::room
