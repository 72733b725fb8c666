#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "livecommerce/v1/catalog.grpc.pb.h"
#include "livecommerce/v1/flash.grpc.pb.h"
#include "livecommerce/v1/room.pb.h"
#include "services/common/principal.h"

namespace livecommerce::room {

// What the room service needs from the catalog: the details of a pinned product, and the live
// stock of a room's flash sales. NOT_FOUND for an unknown product (or another brand's);
// UNAVAILABLE when the catalog cannot be reached.
class CatalogDirectory {
 public:
  virtual ~CatalogDirectory() = default;
  // Fills name, image and price of `pinned` (product_id and sku_id set).
  virtual absl::Status Resolve(const std::string& brand_id, v1::PinnedProduct& pinned) = 0;
  virtual absl::StatusOr<std::vector<v1::FlashStock>> RoomFlashStock(
      const std::string& brand_id, const std::string& room_id) = 0;
};

class GrpcCatalogDirectory final : public CatalogDirectory {
 public:
  GrpcCatalogDirectory(std::shared_ptr<grpc::ChannelInterface> channel,
                       const common::PrincipalCodec& codec, absl::Duration timeout);
  absl::Status Resolve(const std::string& brand_id, v1::PinnedProduct& pinned) override;
  absl::StatusOr<std::vector<v1::FlashStock>> RoomFlashStock(const std::string& brand_id,
                                                             const std::string& room_id) override;

 private:
  std::unique_ptr<v1::CatalogService::Stub> catalog_;
  std::unique_ptr<v1::FlashSaleService::Stub> flash_;
  const common::PrincipalCodec& codec_;
  absl::Duration timeout_;
};

}  // namespace livecommerce::room
