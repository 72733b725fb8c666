#pragma once

// Shared by the gRPC load generators that bench/run steps up to their capacity and past it
// (issue 21): how an answer is classed, one step's tally and its line, and the step requests
// read from standard input.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "services/common/admission.h"
#include "services/common/status.h"

namespace livecommerce::bench {

// Set by an overloaded service on its refusals (services/common/admission.h): how long the caller
// should wait before trying again.
inline constexpr const char* kRetryPushbackKey = common::kRetryPushbackMetadata;

// An overload refusal, not a business answer: UNAVAILABLE, or RESOURCE_EXHAUSTED that the service
// did not mark as its own business limit (gRPC's "Server Threadpool Exhausted", a full queue;
// services/common/status.h). A per-buyer limit or a sold-out sale is an answer, not a refusal.
inline bool IsOverloadRefusal(const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) return true;
  return status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
         !common::IsServiceAnswer(status);
}

// Whether a finished call's answer carried the retry hint.
inline bool HasRetryHint(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  return trailers.find(kRetryPushbackKey) != trailers.end();
}

// One step's calls, as the completion thread saw them. Latencies are in microseconds from when
// each call was due (open loop).
struct StepTally {
  std::vector<uint32_t> all;       // every call
  std::vector<uint32_t> accepted;  // calls answered OK or with a business answer (sold out)
  int64_t errors = 0;
  int64_t refused = 0;
  int64_t refused_without_hint = 0;

  // Files one call's latency; `was_accepted` when it was neither refused nor an error (the
  // generator's own rules say what a business answer is).
  void Add(uint32_t micros, bool was_accepted) {
    all.push_back(micros);
    if (was_accepted) accepted.push_back(micros);
  }
};

// Prints one step as key=value figures (bench/run turns it into a STEP line): the offered rate,
// what completed a second over the step, the latency of all calls and of the accepted ones, the
// errors and the overload refusals. `extra` is the generator's own counters (" key=value ...").
inline void PrintStep(int offered, double seconds, StepTally& t, const std::string& extra) {
  double p50 = PercentileMs(t.all, 0.50);
  double p99 = PercentileMs(t.all, 0.99);
  double accepted_p99 = PercentileMs(t.accepted, 0.99);
  double s = seconds > 0 ? seconds : 1;
  std::printf(
      "offered=%d rate=%.0f p50_ms=%.2f p99_ms=%.2f duration_s=%.1f ops=%zu errors=%lld "
      "refused=%lld refused_without_hint=%lld accepted=%zu accepted_rate=%.0f "
      "accepted_p99_ms=%.2f%s\n",
      offered, static_cast<double>(t.all.size()) / s, p50, p99, seconds, t.all.size(),
      static_cast<long long>(t.errors), static_cast<long long>(t.refused),
      static_cast<long long>(t.refused_without_hint), t.accepted.size(),
      static_cast<double>(t.accepted.size()) / s, accepted_p99, extra.c_str());
  std::fflush(stdout);
}

// The next step asked for on standard input, a line "RATE SECONDS"; false at the end of input
// (or on a line that is not two positive numbers), after which the generator makes its end
// checks.
inline bool NextStep(int* rate, int* seconds) {
  std::string line;
  if (!std::getline(std::cin, line)) return false;
  return std::sscanf(line.c_str(), "%d %d", rate, seconds) == 2 && *rate > 0 && *seconds > 0;
}

}  // namespace livecommerce::bench
