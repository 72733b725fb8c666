#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/time/time.h"
#include "services/common/clock.h"
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
  ~PeakSampler();
  void Start();
  void Stop();
  // One pass over the live sessions (what the thread does each period). Returns sessions sampled.
  int SampleOnce();

 private:
  RoomStore& rooms_;
  PresenceStore& presence_;
  const common::Clock& clock_;
  absl::Duration period_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace livecommerce::room
