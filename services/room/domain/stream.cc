#include "services/room/domain/stream.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/crypto.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"

namespace livecommerce::room {

using stream::StreamEvent;
using stream::StreamEventKind;

std::string NewStreamName() {
  constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string bytes = common::RandomBytes(24);
  std::string name;
  name.reserve(bytes.size());
  // 252 = 7 x 36: bytes at or above it would favour the first letters; redraw them.
  for (unsigned char b : bytes) {
    while (b >= 252) b = static_cast<unsigned char>(common::RandomBytes(1)[0]);
    name.push_back(kAlphabet[b % 36]);
  }
  return name;
}

std::string PushKey(absl::string_view secret, absl::string_view stream_name, int key_version) {
  std::string mac = common::HmacSha256(
      secret, absl::StrCat("livecommerce-push-key:", stream_name, ":", key_version));
  return common::Base64UrlEncode(mac.substr(0, 24));
}

bool PushKeyMatches(absl::string_view secret, const StreamRecord& stream,
                    absl::string_view presented) {
  return common::ConstantTimeEquals(PushKey(secret, stream.stream_name, stream.key_version),
                                    presented);
}

StreamDecision Decide(const StreamRecord& stream, const RoomRecord& room, const StreamEvent& event,
                      bool key_ok, bool stopped_before, absl::Time now) {
  StreamDecision d;
  d.next = stream;
  switch (event.kind) {
    case StreamEventKind::kPublishStarted: {
      if (!key_ok) {
        d.accepted = false;
        d.ignored = "the push key is not the stream's current key";
        return d;
      }
      if (stopped_before) {
        // Its stop came first: the push is already over.
        d.ignored = "a start received after its own stop";
        return d;
      }
      d.go_live = room.status == v1::ROOM_STATUS_SCHEDULED && room.start_on_publish;
      if (stream.state == v1::STREAM_STATE_UP && stream.publish_sequence == event.sequence) {
        d.ignored = "the push is already up";  // a replay; go_live stays idempotent
        return d;
      }
      d.changes = true;
      d.next.state = v1::STREAM_STATE_UP;
      d.next.state_since = now;
      d.next.publish_sequence = event.sequence;
      d.next.publish_started_at = event.occurred_at;
      return d;
    }
    case StreamEventKind::kPublishStopped: {
      if (stream.publish_sequence != event.sequence) {
        d.ignored = "a stop of another push than the current one";
        return d;
      }
      if (stream.state != v1::STREAM_STATE_UP) {
        d.ignored = "the push is not up";
        return d;
      }
      d.changes = true;
      // A live session waits for the push to come back; before going live there is no session.
      d.next.state = room.status == v1::ROOM_STATUS_LIVE ? v1::STREAM_STATE_INTERRUPTED
                                                         : v1::STREAM_STATE_WAITING;
      d.next.state_since = now;
      return d;
    }
    case StreamEventKind::kRecordingReady:
      d.ignored = "a recording changes no state";
      return d;
  }
  return d;
}

StreamRecord Ended(StreamRecord stream, absl::Time now) {
  stream.state = v1::STREAM_STATE_ENDED;
  stream.state_since = now;
  stream.publish_sequence.clear();
  stream.publish_started_at.reset();
  return stream;
}

v1::StreamStatus StatusOf(const StreamRecord& stream, absl::Duration grace) {
  v1::StreamStatus out;
  out.set_state(stream.state);
  common::ToTimestamp(stream.state_since, out.mutable_since());
  if (stream.state == v1::STREAM_STATE_INTERRUPTED) {
    common::ToTimestamp(stream.state_since + grace, out.mutable_ends_at());
  }
  out.set_publish_to_live_ms(stream.publish_to_live_ms);
  return out;
}

absl::Status ValidateReplayLocation(absl::string_view location) {
  if (location.empty() || location.size() > 1024) {
    return common::InvalidField("location", "must be 1-1024 characters");
  }
  for (char c : location) {
    if (c < 0x21 || c > 0x7e) {
      return common::InvalidField("location", "must be printable ASCII without spaces");
    }
  }
  if (absl::StartsWith(location, "http://")) {
    return common::InvalidField("location", "a URL must be https");
  }
  if (absl::StartsWith(location, "https://")) {
    absl::string_view rest = location.substr(8);
    if (rest.empty() || rest.front() == '/') {
      return common::InvalidField("location", "the URL has no host");
    }
  } else if (location.find("://") != absl::string_view::npos) {
    return common::InvalidField("location", "must be an https URL or a recording's path");
  }
  for (absl::string_view part : absl::StrSplit(location, absl::ByAnyChar("/?"))) {
    if (part == "..") {
      return common::InvalidField("location", "must not contain '..'");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateReplayDuration(int64_t duration_seconds) {
  if (duration_seconds < 1 || duration_seconds > 7 * 24 * 3600) {
    return common::InvalidField("duration_seconds", "must be 1 second to 7 days");
  }
  return absl::OkStatus();
}

}  // namespace livecommerce::room
