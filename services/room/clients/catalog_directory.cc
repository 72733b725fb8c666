#include "services/room/clients/catalog_directory.h"

#include "services/common/service_client.h"

namespace livecommerce::room {

GrpcCatalogDirectory::GrpcCatalogDirectory(std::shared_ptr<grpc::ChannelInterface> channel,
                                           const common::PrincipalCodec& codec,
                                           absl::Duration timeout)
    : catalog_(v1::CatalogService::NewStub(channel)),
      flash_(v1::FlashSaleService::NewStub(channel)),
      codec_(codec),
      timeout_(timeout) {}

absl::Status GrpcCatalogDirectory::Resolve(const std::string& brand_id, v1::PinnedProduct& pinned) {
  v1::GetProductRequest request;
  request.set_product_id(pinned.product_id());
  v1::GetProductResponse response;
  auto context = common::ServiceCallContext(codec_, brand_id, "room", timeout_);
  grpc::Status status = catalog_->GetProduct(context.get(), request, &response);
  if (!status.ok()) {
    return common::FromGrpcStatus(status, "catalog service");
  }
  const v1::Product& product = response.product();
  pinned.set_product_name(product.name());
  pinned.set_image_url(product.image_urls().empty() ? "" : product.image_urls(0));
  *pinned.mutable_price() = product.list_price();
  if (!pinned.sku_id().empty()) {
    bool found = false;
    for (const v1::Sku& sku : product.skus()) {
      if (sku.id() == pinned.sku_id()) {
        *pinned.mutable_price() = sku.effective_price();
        found = true;
      }
    }
    if (!found) {
      return absl::NotFoundError("sku_id: no such SKU of this product");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::FlashStock>> GrpcCatalogDirectory::RoomFlashStock(
    const std::string& brand_id, const std::string& room_id) {
  v1::ListRoomFlashSalesRequest request;
  request.set_room_id(room_id);
  v1::ListRoomFlashSalesResponse response;
  auto context = common::ServiceCallContext(codec_, brand_id, "room", timeout_);
  grpc::Status status = flash_->ListRoomFlashSales(context.get(), request, &response);
  if (!status.ok()) {
    return common::FromGrpcStatus(status, "catalog service");
  }
  std::vector<v1::FlashStock> stock;
  for (const v1::FlashSale& sale : response.sales()) {
    v1::FlashStock s;
    s.set_sale_id(sale.id());
    s.set_sku_id(sale.sku_id());
    s.set_product_id(sale.product_id());
    s.set_status(sale.status());
    s.set_remaining(sale.remaining());
    s.set_sold(sale.sold());
    stock.push_back(std::move(s));
  }
  return stock;
}

}  // namespace livecommerce::room
