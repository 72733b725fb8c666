// FlashSaleServiceImpl: who may see a sale, and which viewers a sale's room admits.
#include "absl/strings/str_cat.h"
#include "services/catalog/api/flash_sale_service.h"
#include "services/catalog/api/flash_sale_shared.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"

namespace livecommerce::catalog {
namespace {

using common::FormatId;
using common::Principal;

}  // namespace

absl::Status FlashSaleServiceImpl::CheckCanSee(const Principal& caller,
                                               const FlashSaleRecord& sale) {
  if (caller.brand_id != sale.brand_id) {
    return absl::NotFoundError("sale_id: no such flash sale");
  }
  if (IsStaff(caller)) {
    return absl::OkStatus();
  }
  LC_ASSIGN_OR_RETURN(RoomAccess access,
                      rooms_.Access(sale.brand_id, FormatId(sale.room_id), caller.subject));
  if (!access.admitted) {
    return absl::PermissionDeniedError("room_id: this room is private; an invite is needed");
  }
  return absl::OkStatus();
}

bool FlashSaleServiceImpl::KnownAdmitted(const std::string& brand_id, int64_t room_id,
                                         const std::string& viewer_id) {
  bool known_public = false;
  bool refresh = false;
  {
    absl::Time now = wall_clock_.Now();
    std::lock_guard<std::mutex> lock(rooms_mu_);
    auto it = room_info_.find(room_id);
    if (it != room_info_.end() && it->second.access.brand_id == brand_id &&
        it->second.access.visibility == v1::VISIBILITY_PUBLIC) {
      absl::Duration age = now - it->second.fetched_at;
      known_public = age < options_.access_stale_limit;
      if (known_public && age >= options_.access_cache_ttl && !it->second.refreshing) {
        it->second.refreshing = true;
        refresh = true;
      }
    }
  }
  if (refresh) {
    recorders_.Submit([this, brand_id, room_id] { RefreshRoom(brand_id, room_id); });
  }
  if (known_public) return true;
  return admitted_cache_.Get(absl::StrCat(brand_id, "|", room_id, "|", viewer_id)).has_value();
}

void FlashSaleServiceImpl::RememberRoom(int64_t room_id, const RoomAccess& access) {
  constexpr size_t kMaxRooms = 10000;
  std::lock_guard<std::mutex> lock(rooms_mu_);
  if (room_info_.size() >= kMaxRooms) room_info_.clear();
  room_info_[room_id] =
      RoomInfo{RoomAccess{access.brand_id, access.visibility, access.status, false, "", ""},
               wall_clock_.Now(), false};
}

void FlashSaleServiceImpl::RefreshRoom(const std::string& brand_id, int64_t room_id) {
  absl::StatusOr<RoomAccess> access = rooms_.Access(brand_id, FormatId(room_id), "");
  if (access.ok() && access->brand_id == brand_id) {
    RememberRoom(room_id, *access);
    return;
  }
  std::lock_guard<std::mutex> lock(rooms_mu_);
  if (access.ok() || access.status().code() == absl::StatusCode::kNotFound) {
    room_info_.erase(room_id);  // gone, or not the brand's: ask again next time
  } else if (auto it = room_info_.find(room_id); it != room_info_.end()) {
    it->second.refreshing = false;  // the room service is down: served until the stale limit
  }
}

absl::Status FlashSaleServiceImpl::CheckAdmitted(const std::string& brand_id, int64_t room_id,
                                                 const std::string& viewer_id,
                                                 absl::string_view field) {
  if (KnownAdmitted(brand_id, room_id, viewer_id)) return absl::OkStatus();
  LC_ASSIGN_OR_RETURN(RoomAccess access, rooms_.Access(brand_id, FormatId(room_id), viewer_id));
  if (access.brand_id != brand_id) {
    return absl::NotFoundError("room_id: no such room");
  }
  RememberRoom(room_id, access);
  if (!access.admitted) {
    return absl::PermissionDeniedError(
        absl::StrCat(field, ": not admitted to this private room; an invite is needed"));
  }
  admitted_cache_.Put(absl::StrCat(brand_id, "|", room_id, "|", viewer_id), true);
  return absl::OkStatus();
}

}  // namespace livecommerce::catalog
