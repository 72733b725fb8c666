#include "services/order/api/order_service.h"

#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "services/order/domain/order.h"

namespace livecommerce::order {
namespace {

using common::InvalidField;
using common::Principal;
using common::Role;

absl::Status ValidateLineIds(const std::string& sku_id, const std::string& sale_id) {
  LC_RETURN_IF_ERROR(common::ParseId("sku_id", sku_id).status());
  if (!sale_id.empty()) {
    LC_RETURN_IF_ERROR(common::ParseId("sale_id", sale_id).status());
  }
  return absl::OkStatus();
}

}  // namespace

OrderServiceImpl::OrderServiceImpl(CartStore& carts, const common::Clock& clock,
                                   const common::PrincipalCodec& codec)
    : carts_(carts), clock_(clock), codec_(codec) {}

absl::StatusOr<Principal> OrderServiceImpl::Buyer(const grpc::ServerContext& context) const {
  LC_ASSIGN_OR_RETURN(Principal caller,
                      common::PrincipalFromContext(context, codec_, clock_.Now()));
  if (caller.role != Role::kViewer) {
    return absl::PermissionDeniedError("carts belong to viewers");
  }
  return caller;
}

grpc::Status OrderServiceImpl::GetCart(grpc::ServerContext* context,
                                       const v1::GetCartRequest* request,
                                       v1::GetCartResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal buyer, Buyer(*context));
    LC_ASSIGN_OR_RETURN(*response->mutable_cart(), carts_.Get(buyer.brand_id, buyer.subject));
    return absl::OkStatus();
  }());
}

grpc::Status OrderServiceImpl::AddCartItem(grpc::ServerContext* context,
                                           const v1::AddCartItemRequest* request,
                                           v1::AddCartItemResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal buyer, Buyer(*context));
    if (!request->has_item()) return InvalidField("item", "is required");
    LC_RETURN_IF_ERROR(ValidateCartItem(request->item()));
    LC_ASSIGN_OR_RETURN(*response->mutable_cart(),
                        carts_.Add(buyer.brand_id, buyer.subject, request->item(), clock_.Now()));
    return absl::OkStatus();
  }());
}

grpc::Status OrderServiceImpl::UpdateCartItem(grpc::ServerContext* context,
                                              const v1::UpdateCartItemRequest* request,
                                              v1::UpdateCartItemResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal buyer, Buyer(*context));
    LC_RETURN_IF_ERROR(ValidateLineIds(request->sku_id(), request->sale_id()));
    if (request->quantity() < 0 || request->quantity() > kMaxLineQuantity) {
      return InvalidField("quantity", "must be between 0 and 99");
    }
    LC_ASSIGN_OR_RETURN(*response->mutable_cart(),
                        carts_.SetQuantity(buyer.brand_id, buyer.subject, request->sku_id(),
                                           request->sale_id(), request->quantity()));
    return absl::OkStatus();
  }());
}

grpc::Status OrderServiceImpl::RemoveCartItem(grpc::ServerContext* context,
                                              const v1::RemoveCartItemRequest* request,
                                              v1::RemoveCartItemResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal buyer, Buyer(*context));
    LC_RETURN_IF_ERROR(ValidateLineIds(request->sku_id(), request->sale_id()));
    LC_ASSIGN_OR_RETURN(*response->mutable_cart(),
                        carts_.SetQuantity(buyer.brand_id, buyer.subject, request->sku_id(),
                                           request->sale_id(), 0));
    return absl::OkStatus();
  }());
}

grpc::Status OrderServiceImpl::ClearCart(grpc::ServerContext* context,
                                         const v1::ClearCartRequest* request,
                                         v1::ClearCartResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal buyer, Buyer(*context));
    return carts_.Clear(buyer.brand_id, buyer.subject);
  }());
}

}  // namespace livecommerce::order
