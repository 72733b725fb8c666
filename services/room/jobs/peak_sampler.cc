#include "services/room/jobs/peak_sampler.h"

#include "services/common/log_format.h"

namespace livecommerce::room {

PeakSampler::PeakSampler(RoomStore& rooms, PresenceStore& presence, const common::Clock& clock,
                         absl::Duration period)
    : rooms_(rooms), presence_(presence), clock_(clock), task_(period, [this] { SampleOnce(); }) {}

int PeakSampler::SampleOnce() {
  absl::StatusOr<std::vector<SessionRecord>> sessions = rooms_.ListLiveSessions();
  if (!sessions.ok()) {
    spdlog::warn("peak sampler: cannot list live sessions: {}", sessions.status().message());
    return 0;
  }
  int sampled = 0;
  for (const SessionRecord& session : *sessions) {
    absl::StatusOr<LiveCounts> counts =
        presence_.Counts({session.id, session.presence_buckets}, clock_.Now());
    if (!counts.ok()) {
      spdlog::warn("peak sampler: session {}: {}", session.id, counts.status().message());
      continue;
    }
    ++sampled;
  }
  return sampled;
}

}  // namespace livecommerce::room
