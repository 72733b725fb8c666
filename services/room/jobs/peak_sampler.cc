#include "services/room/jobs/peak_sampler.h"

#include <chrono>

#include "services/common/log_format.h"

namespace livecommerce::room {

PeakSampler::PeakSampler(RoomStore& rooms, PresenceStore& presence, const common::Clock& clock,
                         absl::Duration period)
    : rooms_(rooms), presence_(presence), clock_(clock), period_(period) {}

PeakSampler::~PeakSampler() { Stop(); }

void PeakSampler::Start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      SampleOnce();
      lock.lock();
      wake_.wait_for(lock, std::chrono::milliseconds(absl::ToInt64Milliseconds(period_)),
                     [this] { return stop_; });
    }
  });
}

void PeakSampler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

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
