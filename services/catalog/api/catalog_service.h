#pragma once

#include "absl/status/statusor.h"
#include "livecommerce/v1/catalog.grpc.pb.h"
#include "services/catalog/clients/room_directory.h"
#include "services/catalog/store/inventory_store.h"
#include "services/catalog/store/product_store.h"
#include "services/common/clock.h"
#include "services/common/handler.h"
#include "services/common/principal.h"

namespace livecommerce::catalog {

// gRPC handlers of livecommerce.v1.CatalogService (products, SKUs, room product lists): authorise
// the caller, validate, call the stores, convert to protos.
//
// Who may do what (every caller belongs to one brand; another brand's products and rooms are
// NOT_FOUND):
// - OPS manage products, SKUs, inventory counts and room lists, and read everything: every
//   status, every room item, every cohort price, on_hand and reserved.
// - SERVICE (other services) read any product and SKU of their brand, and room lists as ops do.
// - Everyone else (viewers, associates, finance) reads ACTIVE products only, without on_hand and
//   reserved. A viewer sees a room's list only when they may watch the room (public, or holding
//   its invite), without the items of other cohorts, at their own cohort's price. Associates and
//   finance read the list of any room of their brand as a viewer without a cohort would see it.
class CatalogServiceImpl final : public v1::CatalogService::Service {
 public:
  CatalogServiceImpl(ProductStore& products, InventoryStore& inventory, RoomDirectory& rooms,
                     const common::Clock& clock, const common::PrincipalCodec& codec);

  grpc::Status CreateProduct(grpc::ServerContext* context, const v1::CreateProductRequest* request,
                             v1::CreateProductResponse* response) override;
  grpc::Status UpdateProduct(grpc::ServerContext* context, const v1::UpdateProductRequest* request,
                             v1::UpdateProductResponse* response) override;
  grpc::Status AddSku(grpc::ServerContext* context, const v1::AddSkuRequest* request,
                      v1::AddSkuResponse* response) override;
  grpc::Status UpdateSku(grpc::ServerContext* context, const v1::UpdateSkuRequest* request,
                         v1::UpdateSkuResponse* response) override;
  grpc::Status SetSkuInventory(grpc::ServerContext* context,
                               const v1::SetSkuInventoryRequest* request,
                               v1::SetSkuInventoryResponse* response) override;
  grpc::Status ActivateProduct(grpc::ServerContext* context,
                               const v1::ActivateProductRequest* request,
                               v1::ActivateProductResponse* response) override;
  grpc::Status ArchiveProduct(grpc::ServerContext* context,
                              const v1::ArchiveProductRequest* request,
                              v1::ArchiveProductResponse* response) override;
  grpc::Status GetProduct(grpc::ServerContext* context, const v1::GetProductRequest* request,
                          v1::GetProductResponse* response) override;
  grpc::Status ListProducts(grpc::ServerContext* context, const v1::ListProductsRequest* request,
                            v1::ListProductsResponse* response) override;
  grpc::Status GetSku(grpc::ServerContext* context, const v1::GetSkuRequest* request,
                      v1::GetSkuResponse* response) override;
  grpc::Status AttachRoomProduct(grpc::ServerContext* context,
                                 const v1::AttachRoomProductRequest* request,
                                 v1::AttachRoomProductResponse* response) override;
  grpc::Status DetachRoomProduct(grpc::ServerContext* context,
                                 const v1::DetachRoomProductRequest* request,
                                 v1::DetachRoomProductResponse* response) override;
  grpc::Status ReorderRoomProducts(grpc::ServerContext* context,
                                   const v1::ReorderRoomProductsRequest* request,
                                   v1::ReorderRoomProductsResponse* response) override;
  grpc::Status ListRoomProducts(grpc::ServerContext* context,
                                const v1::ListRoomProductsRequest* request,
                                v1::ListRoomProductsResponse* response) override;

 private:
  // The product if the caller may see it: NOT_FOUND for another brand's, and for a product that
  // is not ACTIVE unless the caller sees every status.
  absl::StatusOr<ProductRecord> LoadProduct(const common::Principal& caller,
                                            absl::string_view product_id);
  absl::StatusOr<SkuRecord> LoadSku(const common::Principal& caller, absl::string_view sku_id);
  // The room (through the room service), when it is the caller's brand's: NOT_FOUND otherwise.
  absl::StatusOr<int64_t> LoadRoomForOps(const common::Principal& caller,
                                         absl::string_view room_id);
  // For a read asked in a room: the room must be the brand's, a viewer must be admitted to it, and
  // the product must be on its list as the caller sees it (a cohort-only item for that cohort's
  // viewers only). NOT_FOUND "<field>: no such ... in this room" otherwise.
  absl::Status CheckInRoom(const common::Principal& caller, absl::string_view room_id,
                           int64_t product_id, absl::string_view field);
  absl::Status ChangeStatus(const common::Principal& caller, absl::string_view product_id,
                            v1::ProductStatus to, v1::Product* out);
  absl::Status ListRoomItems(const common::Principal& caller, int64_t room_id,
                             const std::string& viewer_cohort, bool full_view,
                             google::protobuf::RepeatedPtrField<v1::RoomProduct>* out);

  ProductStore& products_;
  InventoryStore& inventory_;  // reservations are taken by the order service through the store
  RoomDirectory& rooms_;
  const common::Clock& clock_;
  const common::PrincipalCodec& codec_;
  const common::HandlerFrame frame_{codec_, clock_};
};

}  // namespace livecommerce::catalog
