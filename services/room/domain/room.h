#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "livecommerce/v1/room.pb.h"

namespace livecommerce::room {

using v1::Audience;
using v1::Format;
using v1::InviteStatus;
using v1::Objective;
using v1::RoomStatus;
using v1::SessionStatus;
using v1::Visibility;

// Limits on user-supplied fields, in bytes of UTF-8.
inline constexpr size_t kMaxTitleBytes = 200;
inline constexpr size_t kMaxDescriptionBytes = 4000;
inline constexpr size_t kMaxUrlBytes = 1024;
inline constexpr size_t kMaxCohortBytes = 100;
inline constexpr int kMaxInvitesPerCall = 1000;
inline constexpr int kMaxAssociateInviteQuota = 10000;

struct PinnedRef {
  std::string product_id;
  std::string sku_id;
  absl::Time pinned_at;
};

struct RoomRecord {
  int64_t id = 0;
  std::string brand_id;
  std::string title;
  std::string description;
  std::string cover_image_url;
  absl::Time scheduled_start;
  std::optional<absl::Time> scheduled_end;
  Visibility visibility = v1::VISIBILITY_UNSPECIFIED;
  std::vector<Audience> audiences;
  Objective objective = v1::OBJECTIVE_UNSPECIFIED;
  Format format = v1::FORMAT_UNSPECIFIED;
  RoomStatus status = v1::ROOM_STATUS_SCHEDULED;
  std::string host_associate_id;
  // Whether associates issue their own invites, and how many each (0 while disabled).
  bool associate_invites_enabled = false;
  int associate_invite_quota = 0;
  // A scheduled room goes live by itself when its encoder starts pushing.
  bool start_on_publish = false;
  int64_t current_session_id = 0;  // 0: none yet
  std::optional<PinnedRef> pinned;
  std::string created_by;
  absl::Time created_at;
  absl::Time updated_at;
};

struct SessionStats {
  int64_t reach = 0;
  int64_t peak_concurrency = 0;
  int64_t total_joins = 0;
  int64_t watch_ms = 0;  // viewer-milliseconds watched
};

struct SessionRecord {
  int64_t id = 0;
  std::string brand_id;
  int64_t room_id = 0;
  SessionStatus status = v1::SESSION_STATUS_LIVE;
  int presence_buckets = 1;
  absl::Time started_at;
  std::optional<absl::Time> ended_at;
  SessionStats stats;  // final once ended
  int64_t duration_seconds = 0;
};

struct InviteRecord {
  int64_t id = 0;
  std::string brand_id;
  int64_t room_id = 0;
  std::string token_hash;  // SHA-256 of the token, raw bytes
  std::string cohort;
  std::string client_ref;
  std::string associate_id;
  std::optional<absl::Time> expires_at;
  std::optional<absl::Time> revoked_at;
  std::string bound_viewer_id;  // empty: not bound yet
  std::optional<absl::Time> bound_at;
  std::optional<absl::Time> last_joined_at;
  std::string issued_by;
  absl::Time created_at;
};

// Checks every user-supplied field of a room (title, description, cover URL, schedule, enums,
// audiences). INVALID_ARGUMENT naming the first bad field.
absl::Status ValidateRoom(const RoomRecord& room);

// An associate's invites to one room: the room's quota and how many they have issued.
struct AssociateQuota {
  int quota = 0;
  int issued = 0;
  int Left() const { return quota > issued ? quota - issued : 0; }
};

// Whether an associate who issued `quota.issued` invites may issue `asked` more:
// RESOURCE_EXHAUSTED "count: quota of N invites reached, M left" otherwise.
absl::Status CheckAssociateQuota(const AssociateQuota& quota, int asked);

// SCHEDULED -> LIVE, LIVE -> ENDED, and ENDED -> LIVE for a room that goes live again (a new
// session). Anything else is FAILED_PRECONDITION.
absl::Status CheckTransition(RoomStatus from, RoomStatus to);

// A room's visibility cannot change while it is live (viewers already admitted would keep
// watching).
absl::Status CheckUpdateAllowed(const RoomRecord& before, const RoomRecord& after);

// Audiences as a bit set (1 << value) and back, for storage.
uint32_t AudienceBits(const std::vector<Audience>& audiences);
std::vector<Audience> AudiencesFromBits(uint32_t bits);

InviteStatus StatusOf(const InviteRecord& invite, absl::Time now);
// Whether `viewer_id` may use `invite` at `now`: PERMISSION_DENIED when revoked, expired or bound
// to another viewer.
absl::Status CheckInviteUsable(const InviteRecord& invite, absl::string_view viewer_id,
                               absl::Time now);

absl::Status ValidateCohort(absl::string_view cohort);
// Device ids are chosen by clients: 1..64 of [A-Za-z0-9_.:-].
absl::Status ValidateDeviceId(absl::string_view device_id);

// Which presence bucket holds a viewer: stable across processes, so a viewer always lands in the
// same bucket and per-bucket unique counts can be added up.
int PresenceBucket(absl::string_view viewer_id, int buckets);

// Session duration in whole seconds.
int64_t DurationSeconds(absl::Time started_at, absl::Time ended_at);

}  // namespace livecommerce::room
