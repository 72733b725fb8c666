#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "livecommerce/v1/catalog.grpc.pb.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/principal.h"

namespace livecommerce::attribution {

// What attribution needs from the other services, asked only when a rule in force needs it: the
// host associate of a room (room service) and the category of a product (catalog). Answers are
// kept for a while (rooms and products change rarely). NOT_FOUND for an unknown id; UNAVAILABLE
// when the peer cannot be reached (the paid order is then refused, and the order service's outbox
// delivers it again later).
class Directories {
 public:
  virtual ~Directories() = default;
  // "" when the room has no host associate.
  virtual absl::StatusOr<std::string> HostAssociate(const std::string& brand_id,
                                                    const std::string& room_id) = 0;
  // "" when the product has no category.
  virtual absl::StatusOr<std::string> ProductCategory(const std::string& brand_id,
                                                      const std::string& product_id) = 0;
};

class GrpcDirectories final : public Directories {
 public:
  GrpcDirectories(std::shared_ptr<grpc::ChannelInterface> room_channel,
                  std::shared_ptr<grpc::ChannelInterface> catalog_channel,
                  const common::PrincipalCodec& codec, const common::Clock& clock,
                  absl::Duration timeout, absl::Duration cache_ttl);
  absl::StatusOr<std::string> HostAssociate(const std::string& brand_id,
                                            const std::string& room_id) override;
  absl::StatusOr<std::string> ProductCategory(const std::string& brand_id,
                                              const std::string& product_id) override;

 private:
  struct Cached {
    std::string value;
    absl::Time expires_at;
  };
  std::optional<std::string> Lookup(const std::string& key);
  void Remember(const std::string& key, const std::string& value);

  std::unique_ptr<v1::RoomService::Stub> rooms_;
  std::unique_ptr<v1::CatalogService::Stub> catalog_;
  const common::PrincipalCodec& codec_;
  const common::Clock& clock_;
  absl::Duration timeout_;
  absl::Duration ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace livecommerce::attribution
