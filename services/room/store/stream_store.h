#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/mysql_client.h"
#include "services/room/domain/stream.h"

namespace livecommerce::room {

// A recording of a room's stream.
struct RecordingRecord {
  int64_t id = 0;
  std::string brand_id;
  int64_t room_id = 0;
  int64_t session_id = 0;  // 0: none was live
  std::string location;
  int64_t duration_seconds = 0;
  int64_t size_bytes = 0;
  absl::Time created_at;
};

// A callback as recorded once (room_stream_callbacks): its dedupe key says whether it came before.
struct CallbackFact {
  std::string dedupe_key;
  stream::StreamEventKind kind = stream::StreamEventKind::kPublishStarted;
  std::string sequence;
  // How long the provider may send a callback again (and out of order): a key seen within it is
  // a replay, and a start whose stop came within it is over. Zero for a provider that never
  // retries (the local server, which also numbers its connections from 1 again on a restart).
  absl::Duration replay_window = absl::ZeroDuration();
};

// What applying a callback found: whether it was new, and the stream after it.
struct AppliedCallback {
  bool first_time = false;
  StreamRecord stream;
};

// Streams, the callbacks applied to them and their recordings (tables room_streams,
// room_stream_callbacks, room_recordings). Each method is atomic.
class MysqlStreamStore final {
 public:
  explicit MysqlStreamStore(common::MysqlPool& pool) : pool_(pool) {}

  // The room's stream, made (named `new_name`) the first time.
  absl::StatusOr<StreamRecord> GetOrCreate(int64_t room_id, const std::string& brand_id,
                                           const std::string& new_name, absl::Time now);
  // NOT_FOUND when the room has no stream yet.
  absl::StatusOr<StreamRecord> Get(int64_t room_id);
  // NOT_FOUND when no stream has that name.
  absl::StatusOr<StreamRecord> FindByName(const std::string& stream_name);

  // Under the stream's row lock: records `fact` once, and, when it is new, lets `decide` change
  // the stream (returning the record to write, or nullopt to leave it). `stopped_before` tells
  // `decide` whether a stop of the same push was recorded earlier.
  absl::StatusOr<AppliedCallback> ApplyCallback(
      int64_t room_id, const CallbackFact& fact, absl::Time now,
      const std::function<std::optional<StreamRecord>(const StreamRecord&, bool stopped_before)>&
          decide);
  // Under the row lock: lets `change` edit the stream and writes it (GoLive, EndSession, a key
  // rotation).
  absl::StatusOr<StreamRecord> Update(int64_t room_id,
                                      const std::function<void(StreamRecord&)>& change);

  // Records a recording once per `dedupe_key`; the existing one for a replay. A recording of a
  // session that has ended becomes the session's replay (room_replays) unless it has one, in the
  // same transaction.
  absl::StatusOr<RecordingRecord> AddRecording(const RecordingRecord& recording,
                                               const std::string& dedupe_key);
  absl::StatusOr<std::vector<RecordingRecord>> ListRecordings(int64_t room_id, int64_t before_id,
                                                              int limit);

  // Rooms whose stream has been interrupted since before `cutoff`.
  absl::StatusOr<std::vector<int64_t>> InterruptedSince(absl::Time cutoff, int limit);

 private:
  common::MysqlPool& pool_;
};

}  // namespace livecommerce::room
