#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/common/principal.h"
#include "services/common/ttl_cache.h"

namespace livecommerce::interaction {

// What the interaction service needs to know about a room, from the room service.
struct RoomAccess {
  std::string brand_id;
  v1::Visibility visibility = v1::VISIBILITY_UNSPECIFIED;
  v1::RoomStatus status = v1::ROOM_STATUS_UNSPECIFIED;
  std::string current_session_id;  // the live session, else the last one ("" before any)
  bool admitted = false;           // the viewer asked about may watch (and talk in) the room
  std::string associate_id;        // the associate behind the viewer's invite, if any
};

// The room service as the interaction service sees it. NOT_FOUND for an unknown room or one of
// another brand; UNAVAILABLE when the room service cannot be reached.
class RoomAccessDirectory {
 public:
  virtual ~RoomAccessDirectory() = default;
  // `viewer_id` may be empty to ask about the room only.
  virtual absl::StatusOr<RoomAccess> Access(const std::string& brand_id, const std::string& room_id,
                                            const std::string& viewer_id) = 0;
};

// A RoomAccessDirectory that keeps the answers of another for a while: with hundreds of comments
// and like batches a second in a room, each asking about the room, the room service answered
// about 500 calls a second (bench/run chat). A room's own answer (no viewer) and a viewer's in a
// private room are kept `ttl`: a room that ends, or an invite that stops being valid, is seen
// within `ttl`. A viewer's answer about a public room, which admits everyone, only says which
// associate's invite brought them: it is kept `public_viewer_ttl`. Bans and mutes are the
// interaction service's own and are not cached here. Only answers are kept (a failure is asked
// again), and of a private room's answers only admissions. Thread-safe.
class CachedRoomAccessDirectory final : public RoomAccessDirectory {
 public:
  CachedRoomAccessDirectory(RoomAccessDirectory& inner, absl::Duration ttl,
                            absl::Duration public_viewer_ttl);
  absl::StatusOr<RoomAccess> Access(const std::string& brand_id, const std::string& room_id,
                                    const std::string& viewer_id) override;

 private:
  RoomAccessDirectory& inner_;
  common::TtlCache<std::string, RoomAccess> cache_;
  common::TtlCache<std::string, RoomAccess> public_viewers_;
};

// How long the service's room answers are kept: a second, so that a room's end (or a private
// room's revoked invite) takes effect within about a second; a viewer's invite in a public room
// (the associate a comment names) ten.
inline constexpr absl::Duration kRoomAccessCacheTtl = absl::Seconds(1);
inline constexpr absl::Duration kPublicViewerCacheTtl = absl::Seconds(10);

class GrpcRoomAccessDirectory final : public RoomAccessDirectory {
 public:
  GrpcRoomAccessDirectory(std::shared_ptr<grpc::ChannelInterface> channel,
                          const common::PrincipalCodec& codec, absl::Duration timeout);
  absl::StatusOr<RoomAccess> Access(const std::string& brand_id, const std::string& room_id,
                                    const std::string& viewer_id) override;

 private:
  std::unique_ptr<v1::RoomService::Stub> stub_;
  const common::PrincipalCodec& codec_;
  absl::Duration timeout_;
};

}  // namespace livecommerce::interaction
