#pragma once

#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/common/periodic_task.h"
#include "services/room/store/presence_store.h"
#include "services/room/store/room_store.h"

namespace livecommerce::room {

// Samples the concurrency of every live session about once a `period`, which raises each session's
// recorded peak even while nobody asks for its stats. Safe to run in every replica: raising a
// maximum twice is harmless.
class PeakSampler final {
 public:
  PeakSampler(RoomStore& rooms, PresenceStore& presence, const common::Clock& clock,
              absl::Duration period);
  void Start() { task_.Start(); }
  void Stop() { task_.Stop(); }
  // One pass over the live sessions (what the thread does each period). Returns sessions sampled.
  int SampleOnce();

 private:
  RoomStore& rooms_;
  PresenceStore& presence_;
  const common::Clock& clock_;
  common::PeriodicTask task_;
};

}  // namespace livecommerce::room
