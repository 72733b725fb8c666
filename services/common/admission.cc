#include "services/common/admission.h"

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "grpcpp/server_context.h"
#include "services/common/config.h"

namespace livecommerce::common {
namespace {

thread_local absl::Time current_deadline = absl::InfiniteFuture();

}  // namespace

absl::Time CurrentDeadline() { return current_deadline; }

void SetCurrentDeadline(absl::Time deadline) { current_deadline = deadline; }

absl::Time DeadlineOf(const grpc::ServerContextBase& context) {
  std::chrono::system_clock::time_point deadline = context.deadline();
  // gRPC reports "no deadline" as the clock's far end, which does not fit absl::Time's range
  // conversions cleanly.
  if (deadline >= std::chrono::system_clock::time_point::max() - std::chrono::hours(24 * 365)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

absl::StatusOr<AdmissionOptions> LoadAdmissionOptions(absl::Duration default_delay) {
  AdmissionOptions options;
  absl::StatusOr<absl::Duration> delay =
      EnvMillis("LC_QUEUE_MAX_DELAY_MS", absl::ToInt64Milliseconds(default_delay), 1, 60000);
  if (!delay.ok()) return delay.status();
  absl::StatusOr<int64_t> items = EnvInt("LC_QUEUE_MAX_ITEMS", 10000, 1, 10000000);
  if (!items.ok()) return items.status();
  absl::StatusOr<absl::Duration> retry = EnvMillis("LC_RETRY_AFTER_MS", 200, 1, 600000);
  if (!retry.ok()) return retry.status();
  options.max_queue_delay = *delay;
  options.max_queued = static_cast<size_t>(*items);
  options.retry_after = *retry;
  return options;
}

absl::Status DeadlinePassed(absl::string_view what) {
  return absl::DeadlineExceededError(
      absl::StrCat("the caller's deadline passed while waiting for ", what));
}

}  // namespace livecommerce::common
