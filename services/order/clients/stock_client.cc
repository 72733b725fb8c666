#include "services/order/clients/stock_client.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/service_client.h"
#include "services/common/status.h"

namespace livecommerce::order {

GrpcStockClient::GrpcStockClient(std::shared_ptr<grpc::ChannelInterface> channel,
                                 const common::PrincipalCodec& codec, const common::Clock& clock,
                                 absl::Duration timeout)
    : GrpcStockClient(std::vector<std::shared_ptr<grpc::ChannelInterface>>{std::move(channel)},
                      codec, clock, timeout) {}

GrpcStockClient::GrpcStockClient(
    const std::vector<std::shared_ptr<grpc::ChannelInterface>>& channels,
    const common::PrincipalCodec& codec, const common::Clock& clock, absl::Duration timeout)
    : catalog_(v1::CatalogService::NewStub(channels.at(0))),
      codec_(codec),
      clock_(clock),
      timeout_(timeout) {
  for (const auto& channel : channels) flash_.push_back(v1::FlashSaleService::NewStub(channel));
}

v1::FlashSaleService::Stub& GrpcStockClient::Flash() {
  return *flash_[next_.fetch_add(1, std::memory_order_relaxed) % flash_.size()];
}

absl::StatusOr<ReservedStock> GrpcStockClient::Reserve(const std::string& brand_id,
                                                       const std::string& reservation_id,
                                                       int64_t sku_id, int64_t sale_id,
                                                       const std::string& buyer_id,
                                                       int64_t quantity, absl::Duration ttl) {
  v1::ReserveStockRequest request;
  request.set_reservation_id(reservation_id);
  if (sale_id != 0) {
    request.set_sale_id(absl::StrCat(sale_id));
  } else {
    request.set_sku_id(absl::StrCat(sku_id));
  }
  request.set_buyer_id(buyer_id);
  request.set_quantity(quantity);
  request.set_ttl_seconds(static_cast<int32_t>(absl::ToInt64Seconds(ttl)));
  v1::ReserveStockResponse response;
  auto context = common::ServiceCallContext(codec_, brand_id, "order", timeout_, clock_.Now());
  grpc::Status status = Flash().ReserveStock(context.get(), request, &response);
  if (!status.ok()) return common::FromGrpcStatus(status, "catalog service");
  if (sale_id != 0 && response.reservation().sku_id() != absl::StrCat(sku_id)) {
    return absl::InvalidArgumentError("sale_id: the flash sale is for another SKU");
  }
  return ReservedStock{response.reservation().unit_price().amount_fen(),
                       response.reservation().unit_price().currency()};
}

absl::Status GrpcStockClient::Confirm(const std::string& brand_id,
                                      const std::string& reservation_id) {
  v1::ConfirmReservationRequest request;
  request.set_reservation_id(reservation_id);
  v1::ConfirmReservationResponse response;
  auto context = common::ServiceCallContext(codec_, brand_id, "order", timeout_, clock_.Now());
  return common::FromGrpcStatus(Flash().ConfirmReservation(context.get(), request, &response),
                                "catalog service");
}

std::vector<absl::Status> GrpcStockClient::ConfirmMany(
    const std::string& brand_id, const std::vector<std::string>& reservation_ids) {
  v1::ConfirmReservationsRequest request;
  for (const std::string& id : reservation_ids) request.add_reservation_ids(id);
  v1::ConfirmReservationsResponse response;
  auto context = common::ServiceCallContext(codec_, brand_id, "order", timeout_, clock_.Now());
  grpc::Status status = Flash().ConfirmReservations(context.get(), request, &response);
  if (!status.ok()) {
    return std::vector<absl::Status>(reservation_ids.size(),
                                     common::FromGrpcStatus(status, "catalog service"));
  }
  if (response.outcomes_size() != static_cast<int>(reservation_ids.size())) {
    return std::vector<absl::Status>(reservation_ids.size(),
                                     absl::InternalError("catalog service: outcomes do not match"));
  }
  std::vector<absl::Status> outcomes;
  for (const auto& outcome : response.outcomes()) {
    outcomes.emplace_back(static_cast<absl::StatusCode>(outcome.code()), outcome.message());
  }
  return outcomes;
}

absl::Status GrpcStockClient::Release(const std::string& brand_id,
                                      const std::string& reservation_id) {
  v1::ReleaseReservationRequest request;
  request.set_reservation_id(reservation_id);
  v1::ReleaseReservationResponse response;
  auto context = common::ServiceCallContext(codec_, brand_id, "order", timeout_, clock_.Now());
  return common::FromGrpcStatus(Flash().ReleaseReservation(context.get(), request, &response),
                                "catalog service");
}

absl::StatusOr<SkuInfo> GrpcStockClient::Describe(const std::string& brand_id, int64_t sku_id) {
  std::string key = absl::StrCat(brand_id, "/", sku_id);
  if (std::optional<SkuInfo> cached = described_.Get(key)) return *cached;
  v1::GetSkuRequest sku_request;
  sku_request.set_sku_id(absl::StrCat(sku_id));
  v1::GetSkuResponse sku;
  auto context = common::ServiceCallContext(codec_, brand_id, "order", timeout_, clock_.Now());
  grpc::Status status = catalog_->GetSku(context.get(), sku_request, &sku);
  if (!status.ok()) return common::FromGrpcStatus(status, "catalog service");
  v1::GetProductRequest product_request;
  product_request.set_product_id(sku.sku().product_id());
  v1::GetProductResponse product;
  auto product_context =
      common::ServiceCallContext(codec_, brand_id, "order", timeout_, clock_.Now());
  status = catalog_->GetProduct(product_context.get(), product_request, &product);
  if (!status.ok()) return common::FromGrpcStatus(status, "catalog service");
  SkuInfo info;
  (void)absl::SimpleAtoi(product.product().id(), &info.product_id);
  info.product_name = product.product().name();
  described_.Put(key, info);
  return info;
}

}  // namespace livecommerce::order
