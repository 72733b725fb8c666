#pragma once

#include "livecommerce/v1/order.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/principal.h"
#include "services/order/store/cart_store.h"

namespace livecommerce::order {

// gRPC handlers of livecommerce.v1.OrderService. So far the cart: a viewer's own cart, in Redis.
// Checkout, orders and payments are the next part of this service (their RPCs answer
// UNIMPLEMENTED until then).
class OrderServiceImpl final : public v1::OrderService::Service {
 public:
  OrderServiceImpl(CartStore& carts, const common::Clock& clock,
                   const common::PrincipalCodec& codec);

  grpc::Status GetCart(grpc::ServerContext* context, const v1::GetCartRequest* request,
                       v1::GetCartResponse* response) override;
  grpc::Status AddCartItem(grpc::ServerContext* context, const v1::AddCartItemRequest* request,
                           v1::AddCartItemResponse* response) override;
  grpc::Status UpdateCartItem(grpc::ServerContext* context,
                              const v1::UpdateCartItemRequest* request,
                              v1::UpdateCartItemResponse* response) override;
  grpc::Status RemoveCartItem(grpc::ServerContext* context,
                              const v1::RemoveCartItemRequest* request,
                              v1::RemoveCartItemResponse* response) override;
  grpc::Status ClearCart(grpc::ServerContext* context, const v1::ClearCartRequest* request,
                         v1::ClearCartResponse* response) override;

 private:
  // The viewer whose cart it is: carts belong to viewers only.
  absl::StatusOr<common::Principal> Buyer(const grpc::ServerContext& context) const;

  CartStore& carts_;
  const common::Clock& clock_;
  const common::PrincipalCodec& codec_;
};

}  // namespace livecommerce::order
