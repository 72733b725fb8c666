#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "livecommerce/v1/attribution.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/principal.h"
#include "services/common/ttl_cache.h"

namespace livecommerce::room {

// The associates of a brand as the room service sees them (the attribution service owns them), to
// check an associate id a request names before anything refers to it.
class AssociateDirectory {
 public:
  virtual ~AssociateDirectory() = default;
  // OK when `associate_id` is an associate of `brand_id`; NOT_FOUND when it is unknown or another
  // brand's (the two look alike); UNAVAILABLE when the attribution service cannot be reached.
  virtual absl::Status CheckAssociate(const std::string& brand_id,
                                      const std::string& associate_id) = 0;
};

// AttributionService.GetAssociate as the SERVICE of the brand. Associates found are remembered for
// `cache_ttl` (rooms are created and invites issued in bursts naming the same few).
class GrpcAssociateDirectory final : public AssociateDirectory {
 public:
  GrpcAssociateDirectory(std::shared_ptr<grpc::ChannelInterface> channel,
                         const common::PrincipalCodec& codec, const common::Clock& clock,
                         absl::Duration timeout, absl::Duration cache_ttl = absl::Seconds(30));
  absl::Status CheckAssociate(const std::string& brand_id,
                              const std::string& associate_id) override;

 private:
  std::unique_ptr<v1::AttributionService::Stub> stub_;
  const common::PrincipalCodec& codec_;
  const common::Clock& clock_;
  absl::Duration timeout_;
  common::TtlCache<std::string, bool> known_;
};

// For a room service started without the attribution service (LC_ATTRIBUTION_ADDR empty): no
// associate id can be checked, so every one is refused as UNAVAILABLE.
class NoAssociateDirectory final : public AssociateDirectory {
 public:
  absl::Status CheckAssociate(const std::string&, const std::string&) override {
    return absl::UnavailableError("associates cannot be checked: no attribution service");
  }
};

}  // namespace livecommerce::room
