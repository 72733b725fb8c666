#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "livecommerce/v1/catalog.grpc.pb.h"
#include "livecommerce/v1/flash.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/principal.h"
#include "services/common/ttl_cache.h"

namespace livecommerce::order {

struct ReservedStock {
  int64_t unit_price_fen = 0;
  std::string currency;
};

struct SkuInfo {
  int64_t product_id = 0;
  std::string product_name;
};

// The catalog as the order service uses it: reservations of flash or regular stock, by id (so
// every call can be retried), and SKU details. Catalog errors pass through (FAILED_PRECONDITION
// sold out, RESOURCE_EXHAUSTED per-buyer limit, NOT_FOUND ...); UNAVAILABLE when unreachable.
class StockClient {
 public:
  virtual ~StockClient() = default;
  // `sale_id` 0: regular stock of the SKU.
  virtual absl::StatusOr<ReservedStock> Reserve(const std::string& brand_id,
                                                const std::string& reservation_id, int64_t sku_id,
                                                int64_t sale_id, const std::string& buyer_id,
                                                int64_t quantity, absl::Duration ttl) = 0;
  virtual absl::Status Confirm(const std::string& brand_id, const std::string& reservation_id) = 0;
  // Confirm for many reservations of one brand in one call; an outcome per id, in order (or the
  // call's own error for all).
  virtual std::vector<absl::Status> ConfirmMany(
      const std::string& brand_id, const std::vector<std::string>& reservation_ids) = 0;
  virtual absl::Status Release(const std::string& brand_id, const std::string& reservation_id) = 0;
  virtual absl::StatusOr<SkuInfo> Describe(const std::string& brand_id, int64_t sku_id) = 0;
};

class GrpcStockClient final : public StockClient {
 public:
  GrpcStockClient(std::shared_ptr<grpc::ChannelInterface> channel,
                  const common::PrincipalCodec& codec, const common::Clock& clock,
                  absl::Duration timeout);
  // Calls spread over several channels (connections): one HTTP/2 connection carrying hundreds
  // of concurrent checkouts queues them.
  GrpcStockClient(const std::vector<std::shared_ptr<grpc::ChannelInterface>>& channels,
                  const common::PrincipalCodec& codec, const common::Clock& clock,
                  absl::Duration timeout);
  absl::StatusOr<ReservedStock> Reserve(const std::string& brand_id,
                                        const std::string& reservation_id, int64_t sku_id,
                                        int64_t sale_id, const std::string& buyer_id,
                                        int64_t quantity, absl::Duration ttl) override;
  absl::Status Confirm(const std::string& brand_id, const std::string& reservation_id) override;
  std::vector<absl::Status> ConfirmMany(const std::string& brand_id,
                                        const std::vector<std::string>& reservation_ids) override;
  absl::Status Release(const std::string& brand_id, const std::string& reservation_id) override;
  // Cached for a minute: names and product ids of SKUs hardly change.
  absl::StatusOr<SkuInfo> Describe(const std::string& brand_id, int64_t sku_id) override;

 private:
  v1::FlashSaleService::Stub& Flash();

  std::vector<std::unique_ptr<v1::FlashSaleService::Stub>> flash_;
  std::atomic<size_t> next_{0};
  std::unique_ptr<v1::CatalogService::Stub> catalog_;
  const common::PrincipalCodec& codec_;
  const common::Clock& clock_;
  absl::Duration timeout_;
  common::TtlCache<std::string, SkuInfo> described_{absl::Minutes(1)};
};

}  // namespace livecommerce::order
