#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "livecommerce/v1/attribution.grpc.pb.h"
#include "livecommerce/v1/catalog.grpc.pb.h"
#include "livecommerce/v1/flash.grpc.pb.h"
#include "livecommerce/v1/order.pb.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/principal.h"
#include "services/common/ttl_cache.h"

namespace livecommerce::order {

// What the order service checks of the ids a cart item or a checkout names, before anything is
// written, by asking the services that own them: each must be the buyer's brand's, and a room
// (or a sale of a room) one the buyer may see. Another brand's id is answered exactly as an
// unknown one: NOT_FOUND "<field>: no such ..."; a private room without the buyer's invite is
// PERMISSION_DENIED; UNAVAILABLE when an owner cannot be reached (the request is refused, never
// let through unchecked). `field` prefixes the field names in messages ("room", "item.room").
class ReferenceChecker {
 public:
  virtual ~ReferenceChecker() = default;
  // A room and/or one of its sessions the buyer is in. Either may be empty (both: OK). A session
  // must be the room's.
  virtual absl::Status CheckRoom(const std::string& brand_id, const std::string& buyer_id,
                                 const std::string& field, const std::string& room_id,
                                 const std::string& session_id) = 0;
  // An associate of the brand ("" is OK).
  virtual absl::Status CheckAssociate(const std::string& brand_id, const std::string& field,
                                      const std::string& associate_id) = 0;
  // The attribution a buyer carries: its share link and associate are the brand's.
  virtual absl::Status CheckAttribution(const std::string& brand_id, const std::string& field,
                                        const v1::Attribution& attribution) = 0;
  // A SKU of the brand and, when `sale_id` is given, a flash sale of the brand for that SKU in a
  // room the buyer may see.
  virtual absl::Status CheckItem(const std::string& brand_id, const std::string& buyer_id,
                                 const std::string& field, const std::string& sku_id,
                                 const std::string& sale_id) = 0;
};

// The room, attribution and catalog services over gRPC, as the SERVICE of the buyer's brand.
// Answers that rarely change are remembered for a while: which brand and room an id belongs to
// (a minute), a public room's visibility and a viewer's admission to a private one (`admission`,
// a few seconds, so a revoked invite stops counting soon).
class GrpcReferenceChecker final : public ReferenceChecker {
 public:
  GrpcReferenceChecker(std::shared_ptr<grpc::ChannelInterface> room_channel,
                       std::shared_ptr<grpc::ChannelInterface> attribution_channel,
                       std::shared_ptr<grpc::ChannelInterface> catalog_channel,
                       const common::PrincipalCodec& codec, const common::Clock& clock,
                       absl::Duration timeout, absl::Duration admission = absl::Seconds(5));
  absl::Status CheckRoom(const std::string& brand_id, const std::string& buyer_id,
                         const std::string& field, const std::string& room_id,
                         const std::string& session_id) override;
  absl::Status CheckAssociate(const std::string& brand_id, const std::string& field,
                              const std::string& associate_id) override;
  absl::Status CheckAttribution(const std::string& brand_id, const std::string& field,
                                const v1::Attribution& attribution) override;
  absl::Status CheckItem(const std::string& brand_id, const std::string& buyer_id,
                         const std::string& field, const std::string& sku_id,
                         const std::string& sale_id) override;

 private:
  std::unique_ptr<grpc::ClientContext> Context(const std::string& brand_id) const;
  // The room a session belongs to, NOT_FOUND when unknown or another brand's.
  absl::StatusOr<std::string> SessionRoom(const std::string& brand_id, const std::string& field,
                                          const std::string& session_id);
  absl::Status CheckAdmitted(const std::string& brand_id, const std::string& buyer_id,
                             const std::string& field, const std::string& room_id);

  std::unique_ptr<v1::RoomService::Stub> rooms_;
  std::unique_ptr<v1::AttributionService::Stub> associates_;
  std::unique_ptr<v1::CatalogService::Stub> catalog_;
  std::unique_ptr<v1::FlashSaleService::Stub> sales_;
  const common::PrincipalCodec& codec_;
  const common::Clock& clock_;
  absl::Duration timeout_;
  // Keys are "<brand>/<id>": an id is only ever remembered as its own brand's.
  common::TtlCache<std::string, std::string> session_rooms_{absl::Minutes(1)};
  common::TtlCache<std::string, bool> associates_known_{absl::Minutes(1)};
  common::TtlCache<std::string, bool> links_known_{absl::Minutes(1)};
  common::TtlCache<std::string, bool> skus_known_{absl::Minutes(1)};
  common::TtlCache<std::string, std::string> sale_rooms_{absl::Minutes(1)};  // sale -> sku/room
  common::TtlCache<std::string, bool> public_rooms_;
  common::TtlCache<std::string, bool> admitted_;  // "<brand>/<room>/<viewer>"
};

}  // namespace livecommerce::order
