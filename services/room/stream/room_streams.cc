#include "services/room/stream/room_streams.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "services/common/config.h"
#include "services/common/crypto.h"
#include "services/common/log_format.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"

namespace livecommerce::room {

using stream::StreamEvent;
using stream::StreamEventKind;

namespace {

absl::StatusOr<std::string> SecretFrom(const char* variable, const char* development_default) {
  std::string value = common::EnvString(variable, development_default);
  if (value.size() < 16) {
    return absl::InvalidArgumentError(absl::StrCat(variable, ": at least 16 characters"));
  }
  return value;
}

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  if (t != absl::InfiniteFuture()) common::ToTimestamp(t, out);
}

}  // namespace

absl::StatusOr<StreamOptions> LoadStreamOptions() {
  StreamOptions o;
  LC_ASSIGN_OR_RETURN(o.grace, common::EnvMillis("LC_STREAM_GRACE_MS", 60000, 1000, 3600000));
  LC_ASSIGN_OR_RETURN(o.play_ttl,
                      common::EnvMillis("LC_STREAM_PLAY_TTL_MS", 1800000, 10000, 86400000));
  LC_ASSIGN_OR_RETURN(o.push_ttl,
                      common::EnvMillis("LC_STREAM_PUSH_TTL_MS", 86400000, 60000, 2592000000LL));
  LC_ASSIGN_OR_RETURN(o.key_secret,
                      SecretFrom("LC_STREAM_KEY_SECRET", "livecommerce-local-push-key-secret"));
  LC_ASSIGN_OR_RETURN(o.callback_secret, SecretFrom("LC_STREAM_CALLBACK_SECRET",
                                                    "livecommerce-local-callback-secret"));
  return o;
}

RoomStreams::RoomStreams(MysqlStreamStore& store, RoomStore& rooms,
                         const stream::StreamProvider& provider, const common::Clock& clock,
                         StreamOptions options)
    : store_(store), rooms_(rooms), provider_(provider), clock_(clock), options_(options) {}

absl::StatusOr<StreamRecord> RoomStreams::Of(const RoomRecord& room) {
  return store_.GetOrCreate(room.id, room.brand_id, NewStreamName(), clock_.Now());
}

v1::PushAddress RoomStreams::PushOf(const StreamRecord& s) const {
  stream::PushAddress push =
      provider_.Push(s.stream_name, PushKey(options_.key_secret, s.stream_name, s.key_version),
                     clock_.Now() + options_.push_ttl);
  v1::PushAddress out;
  out.set_url(push.url);
  out.set_server(push.server);
  out.set_stream_key(push.stream_key);
  SetTime(push.expires_at, out.mutable_expires_at());
  return out;
}

v1::PlayAddresses RoomStreams::PlayOf(const StreamRecord& s) const {
  stream::PlayAddresses play = provider_.Play(s.stream_name, clock_.Now() + options_.play_ttl);
  v1::PlayAddresses out;
  out.set_hls(play.hls);
  out.set_flv(play.flv);
  out.set_webrtc(play.webrtc);
  SetTime(play.expires_at, out.mutable_expires_at());
  return out;
}

v1::PlayAddresses RoomStreams::PlayRecordingOf(const std::string& location) const {
  stream::PlayAddresses play = provider_.PlayRecording(location, clock_.Now() + options_.play_ttl);
  v1::PlayAddresses out;
  out.set_hls(play.hls);
  out.set_flv(play.flv);
  out.set_webrtc(play.webrtc);
  SetTime(play.expires_at, out.mutable_expires_at());
  return out;
}

absl::StatusOr<v1::PushAddress> RoomStreams::RotateKey(const RoomRecord& room) {
  LC_RETURN_IF_ERROR(Of(room).status());
  absl::Time now = clock_.Now();
  LC_ASSIGN_OR_RETURN(StreamRecord rotated, store_.Update(room.id, [&](StreamRecord& s) {
    ++s.key_version;
    s.updated_at = now;
  }));
  Forget(room.id);
  // The old key no longer opens a push; the one running with it is cut now.
  if (absl::Status cut = provider_.Cut(rotated.stream_name); !cut.ok()) {
    spdlog::warn("room {}: push key rotated, the running push not cut: {}", room.id, cut.message());
  }
  spdlog::info("room {}: push key rotated (version {})", room.id, rotated.key_version);
  return PushOf(rotated);
}

void RoomStreams::SessionStarted(int64_t room_id) {
  absl::Time now = clock_.Now();
  absl::StatusOr<StreamRecord> updated = store_.Update(room_id, [&](StreamRecord& s) {
    if (s.state == v1::STREAM_STATE_UP && s.publish_started_at.has_value()) {
      s.publish_to_live_ms = absl::ToInt64Milliseconds(now - *s.publish_started_at);
    } else if (s.state != v1::STREAM_STATE_UP) {
      s.state = v1::STREAM_STATE_WAITING;
      s.state_since = now;
      s.publish_to_live_ms = 0;
    }
    s.updated_at = now;
  });
  if (!updated.ok() && updated.status().code() != absl::StatusCode::kNotFound) {
    spdlog::warn("room {}: live, stream state not updated: {}", room_id,
                 updated.status().message());
  }
  Forget(room_id);
}

void RoomStreams::SessionEnded(int64_t room_id) {
  absl::Time now = clock_.Now();
  absl::StatusOr<StreamRecord> ended = store_.Update(room_id, [&](StreamRecord& s) {
    s = Ended(s, now);
    s.updated_at = now;
  });
  Forget(room_id);
  if (!ended.ok()) {
    if (ended.status().code() != absl::StatusCode::kNotFound) {
      spdlog::warn("room {}: ended, stream state not updated: {}", room_id,
                   ended.status().message());
    }
    return;
  }
  if (absl::Status cut = provider_.Cut(ended->stream_name); !cut.ok()) {
    spdlog::warn("room {}: session ended, the push not cut: {}", room_id, cut.message());
  }
}

std::optional<StreamRecord> RoomStreams::Recent(int64_t room_id) {
  absl::Time now = wall_clock_.Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(room_id);
    if (it != cache_.end() && now - it->second.fetched_at < absl::Seconds(1)) {
      return it->second.stream;
    }
  }
  absl::StatusOr<StreamRecord> s = store_.Get(room_id);
  if (!s.ok() && s.status().code() != absl::StatusCode::kNotFound) {
    spdlog::warn("room {}: stream not read: {}", room_id, s.status().message());
    return std::nullopt;
  }
  Cached cached{s.ok() ? std::optional<StreamRecord>(*s) : std::nullopt, now};
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.size() > 10000) cache_.clear();
  cache_[room_id] = cached;
  return cached.stream;
}

std::optional<v1::StreamStatus> RoomStreams::StatusOf(int64_t room_id) {
  std::optional<StreamRecord> s = Recent(room_id);
  if (!s.has_value()) return std::nullopt;
  return room::StatusOf(*s, options_.grace);
}

void RoomStreams::Forget(int64_t room_id) {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.erase(room_id);
}

absl::StatusOr<v1::HandleStreamCallbackResponse> RoomStreams::HandleCallback(
    const v1::HandleStreamCallbackRequest& request, const SessionControl& control) {
  if (request.provider() != provider_.name()) {
    return common::InvalidField("provider", absl::StrCat("this deployment streams through ",
                                                         std::string(provider_.name())));
  }
  if (provider_.callback_traits().needs_path_secret &&
      !common::ConstantTimeEquals(request.secret(), options_.callback_secret)) {
    return absl::UnauthenticatedError("secret: not the streaming server's");
  }
  absl::StatusOr<StreamEvent> event = provider_.ParseCallback(
      {request.route(), request.content_type(), request.body()}, clock_.Now());
  v1::HandleStreamCallbackResponse response;
  if (!event.ok()) {
    if (event.status().code() != absl::StatusCode::kFailedPrecondition) return event.status();
    // Authentic, but nothing for the room service to do (another event type): acknowledged.
    stream::CallbackAnswer answer = provider_.Answer(StreamEvent{}, true);
    response.set_http_status(answer.http_status);
    response.set_content_type(answer.content_type);
    response.set_body(answer.body);
    return response;
  }
  return Apply(*event, control);
}

absl::StatusOr<v1::HandleStreamCallbackResponse> RoomStreams::Apply(const StreamEvent& event,
                                                                    const SessionControl& control) {
  absl::Time now = clock_.Now();
  auto answer = [&](bool accepted) {
    stream::CallbackAnswer a = provider_.Answer(event, accepted);
    v1::HandleStreamCallbackResponse response;
    response.set_http_status(a.http_status);
    response.set_content_type(a.content_type);
    response.set_body(a.body);
    return response;
  };
  absl::StatusOr<StreamRecord> found = store_.FindByName(event.stream_name);
  if (!found.ok()) {
    if (found.status().code() != absl::StatusCode::kNotFound) return found.status();
    // No room streams under that name: a push to it is refused, anything else acknowledged.
    spdlog::warn("stream callback for an unknown stream");
    bool start = event.kind == StreamEventKind::kPublishStarted;
    if (start && !provider_.callback_traits().refuses_by_answer) {
      (void)provider_.Cut(event.stream_name);
    }
    return answer(!start);
  }
  int64_t room_id = found->room_id;
  LC_ASSIGN_OR_RETURN(RoomRecord room, rooms_.GetRoom(room_id));

  if (event.kind == StreamEventKind::kRecordingReady) {
    RecordingRecord r;
    r.brand_id = room.brand_id;
    r.room_id = room_id;
    r.session_id = room.current_session_id;
    r.location = event.recording;
    r.duration_seconds = event.recording_seconds;
    r.size_bytes = event.recording_bytes;
    r.created_at = now;
    LC_ASSIGN_OR_RETURN(RecordingRecord stored, store_.AddRecording(r, event.dedupe_key));
    spdlog::info("room {}: recording {} registered (session {})", room_id, stored.id,
                 stored.session_id);
    return answer(true);
  }

  bool key_ok = event.kind != StreamEventKind::kPublishStarted ||
                PushKeyMatches(options_.key_secret, *found, event.push_key);
  StreamDecision decision;
  CallbackFact fact{event.dedupe_key, event.kind, event.sequence,
                    provider_.callback_traits().replay_window};
  LC_ASSIGN_OR_RETURN(
      AppliedCallback applied,
      store_.ApplyCallback(
          room_id, fact, now,
          [&](const StreamRecord& current, bool stopped_before) -> std::optional<StreamRecord> {
            decision = Decide(current, room, event, key_ok, stopped_before, now);
            if (!decision.changes) return std::nullopt;
            return decision.next;
          }));
  Forget(room_id);
  if (applied.first_time && decision.changes && control.changed) control.changed(room_id);
  bool accepted = key_ok;
  bool go_live = false;
  if (applied.first_time) {
    accepted = decision.accepted;
    go_live = decision.go_live;
    if (!decision.ignored.empty()) {
      spdlog::info("room {}: stream callback changes nothing: {}", room_id, decision.ignored);
    }
  } else if (event.kind == StreamEventKind::kPublishStarted) {
    // A replay of a start: going live is idempotent, so a replay after a crash between the
    // state change and the session still makes the session live.
    go_live = key_ok && applied.stream.state == v1::STREAM_STATE_UP &&
              applied.stream.publish_sequence == event.sequence &&
              room.status == v1::ROOM_STATUS_SCHEDULED && room.start_on_publish;
  }
  if (event.kind == StreamEventKind::kPublishStarted) {
    spdlog::info("room {}: push {} ({})", room_id, accepted ? "accepted" : "refused",
                 applied.stream.state == v1::STREAM_STATE_UP ? "stream up" : "stream not up");
  } else if (applied.first_time && decision.changes) {
    spdlog::info("room {}: push stopped, stream {}", room_id,
                 v1::StreamState_Name(applied.stream.state));
  }
  if (go_live) {
    absl::Status live = control.go_live(room_id);
    if (!live.ok() && live.code() != absl::StatusCode::kFailedPrecondition) return live;
  }
  if (!accepted && !provider_.callback_traits().refuses_by_answer) {
    // This provider cannot be refused by the answer: the push is cut instead.
    if (absl::Status cut = provider_.Cut(event.stream_name); !cut.ok()) {
      spdlog::warn("room {}: a refused push not cut: {}", room_id, cut.message());
    }
  }
  return answer(accepted);
}

absl::StatusOr<int> RoomStreams::EndAbandoned(const SessionControl& control) {
  absl::Time now = clock_.Now();
  LC_ASSIGN_OR_RETURN(std::vector<int64_t> rooms,
                      store_.InterruptedSince(now - options_.grace, 100));
  int ended = 0;
  for (int64_t room_id : rooms) {
    absl::Status end = control.end(room_id);
    if (end.ok()) {
      ++ended;
      spdlog::info("room {}: the push did not come back within the grace; session ended", room_id);
      continue;
    }
    if (end.code() == absl::StatusCode::kFailedPrecondition) {
      // Not live any more (ended by ops meanwhile): the stream only needs to say so.
      SessionEnded(room_id);
      if (control.changed) control.changed(room_id);
      continue;
    }
    spdlog::warn("room {}: abandoned session not ended: {}", room_id, end.message());
  }
  return ended;
}

}  // namespace livecommerce::room
