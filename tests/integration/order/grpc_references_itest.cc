// Part of the gRPC authorisation matrix (grpc_authz_matrix_test): references stay inside the
// caller's brand, and a private room's pieces are for its audience only. Every service is the
// real one over real gRPC against the real Redis and MariaDB, with objects of two brands: a call
// naming another brand's real id is NOT_FOUND (as an unknown id) and changes nothing; a viewer
// refused at a private room's door is refused its sale, its lists, its piece (reserve, checkout,
// hold) and its product views, while the invited viewer is served.
#include "livecommerce/v1/attribution.grpc.pb.h"
#include "livecommerce/v1/report.grpc.pb.h"
#include "services/room/clients/associate_directory.h"
#include "services/room/clients/catalog_directory.h"
#include "tests/integration/order/order_fixture.h"

namespace livecommerce::order {
namespace {

constexpr char kRival[] = "rival";

class GrpcReferencesTest : public AttributedOrderTest {
 protected:
  std::unique_ptr<grpc::ClientContext> AsBrand(Role role, const std::string& brand,
                                               const std::string& subject) {
    return As(Principal{role, brand, subject, clock_.Now() + absl::Hours(2)});
  }
  static void ExpectUnknown(const grpc::Status& s, const std::string& message) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << message << ": " << s.error_message();
    EXPECT_EQ(s.error_message(), message);
  }
};

TEST_F(GrpcReferencesTest, ReferencesStayInTheBrandAndPrivatePiecesWithTheAudience) {
  // This brand: Lin's private session that mei joined with Lin's invite; a product on its list
  // and a flash sale of it there.
  Invited lin = InviteClient("mei");
  const std::string room = lin.room.room_id();
  const std::string sku = CreateSku(10);
  const std::string product = Sku(sku).product_id();
  v1::AttachRoomProductRequest attach;
  attach.set_room_id(room);
  attach.set_product_id(product);
  v1::AttachRoomProductResponse attached;
  ASSERT_TRUE(catalog_stub_->AttachRoomProduct(As(Ops()).get(), attach, &attached).ok());
  v1::CreateFlashSaleRequest sale_request;
  sale_request.set_room_id(room);
  sale_request.set_sku_id(sku);
  sale_request.mutable_sale_price()->set_amount_fen(50000);
  sale_request.mutable_sale_price()->set_currency("CNY");
  sale_request.set_total_stock(5);
  sale_request.set_per_buyer_limit(2);
  common::ToTimestamp(clock_.Now(), sale_request.mutable_starts_at());
  common::ToTimestamp(clock_.Now() + absl::Hours(1), sale_request.mutable_ends_at());
  v1::CreateFlashSaleResponse made_sale;
  ASSERT_TRUE(flash_stub_->CreateFlashSale(As(Ops()).get(), sale_request, &made_sale).ok());
  const std::string sale = made_sale.sale().id();

  // The rival brand's real room, product (with its SKU), store and associate.
  v1::CreateRoomRequest rival_room_request;
  rival_room_request.set_brand_id(kRival);
  rival_room_request.set_title("Rival show");
  common::ToTimestamp(clock_.Now(), rival_room_request.mutable_scheduled_start());
  rival_room_request.set_visibility(v1::VISIBILITY_PUBLIC);
  rival_room_request.add_audiences(v1::AUDIENCE_FOLLOWERS);
  rival_room_request.set_objective(v1::OBJECTIVE_AWARENESS);
  rival_room_request.set_format(v1::FORMAT_INSPIRATIONAL);
  v1::CreateRoomResponse rival_room;
  ASSERT_TRUE(
      room_stub_
          ->CreateRoom(AsBrand(Role::kOps, kRival, "ops-9").get(), rival_room_request, &rival_room)
          .ok());
  const std::string rival_room_id = rival_room.room().id();
  v1::CreateProductRequest rival_product_request;
  rival_product_request.set_brand_id(kRival);
  rival_product_request.set_name("Rival bag");
  rival_product_request.mutable_list_price()->set_amount_fen(100000);
  rival_product_request.mutable_list_price()->set_currency("CNY");
  rival_product_request.add_skus()->set_sku_code("RIVAL-1");
  rival_product_request.mutable_skus(0)->set_on_hand(5);
  v1::CreateProductResponse rival_product;
  ASSERT_TRUE(catalog_stub_
                  ->CreateProduct(AsBrand(Role::kOps, kRival, "ops-9").get(), rival_product_request,
                                  &rival_product)
                  .ok());
  const std::string rival_product_id = rival_product.product().id();
  const std::string rival_sku = rival_product.product().skus(0).id();
  v1::CreateStoreRequest rival_store_request;
  rival_store_request.set_name("Rival store");
  v1::CreateStoreResponse rival_store;
  ASSERT_TRUE(attribution_stub_
                  ->CreateStore(AsBrand(Role::kOps, kRival, "ops-9").get(), rival_store_request,
                                &rival_store)
                  .ok());
  v1::CreateAssociateRequest rival_associate_request;
  rival_associate_request.set_store_id(rival_store.store().id());
  rival_associate_request.set_name("Rex");
  v1::CreateAssociateResponse rival_associate;
  ASSERT_TRUE(attribution_stub_
                  ->CreateAssociate(AsBrand(Role::kOps, kRival, "ops-9").get(),
                                    rival_associate_request, &rival_associate)
                  .ok());
  const std::string rex = rival_associate.associate().id();
  v1::CreateShareLinkRequest rival_link_request;
  rival_link_request.set_target(v1::SHARE_TARGET_PRODUCT);
  rival_link_request.set_product_id(rival_product_id);
  rival_link_request.set_share_channel(v1::SHARE_CHANNEL_PRIVATE_CHAT);
  v1::CreateShareLinkResponse rival_linked;
  ASSERT_TRUE(attribution_stub_
                  ->CreateShareLink(AsBrand(Role::kAssociate, kRival, rex).get(),
                                    rival_link_request, &rival_linked)
                  .ok());
  const std::string rival_link = rival_linked.link().id();

  // ---- Attribution: links, rules, touches and clients name only this brand's objects ----
  v1::CreateShareLinkRequest link;
  link.set_target(v1::SHARE_TARGET_ROOM);
  link.set_room_id(rival_room_id);
  link.set_share_channel(v1::SHARE_CHANNEL_PRIVATE_CHAT);
  v1::CreateShareLinkResponse linked;
  ExpectUnknown(attribution_stub_->CreateShareLink(AsRole(Role::kAssociate, lin.associate_id).get(),
                                                   link, &linked),
                "room_id: no such room");
  link.set_target(v1::SHARE_TARGET_PRODUCT);
  link.clear_room_id();
  link.set_product_id(rival_product_id);
  ExpectUnknown(attribution_stub_->CreateShareLink(AsRole(Role::kAssociate, lin.associate_id).get(),
                                                   link, &linked),
                "product_id: no such product");
  link.set_product_id(product);  // this brand's product: fine
  EXPECT_TRUE(attribution_stub_
                  ->CreateShareLink(AsRole(Role::kAssociate, lin.associate_id).get(), link, &linked)
                  .ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM share_links"), 2);  // the rival's and this one
  v1::CreateCommissionRuleRequest rule;
  rule.set_scope(v1::RULE_SCOPE_ROOM);
  rule.set_scope_id(rival_room_id);
  common::ToTimestamp(clock_.Now(), rule.mutable_effective_from());
  v1::SplitLine* line = rule.add_lines();
  line->set_recipient(v1::RECIPIENT_ASSOCIATE);
  line->set_basis_points(300);
  v1::CreateCommissionRuleResponse ruled;
  const int64_t rules_before = Count("SELECT COUNT(*) FROM commission_rules");
  ExpectUnknown(
      attribution_stub_->CreateCommissionRule(AsRole(Role::kFinance, "fin").get(), rule, &ruled),
      "scope_id: no such room");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM commission_rules"), rules_before);
  v1::RecordTouchRequest touch;
  touch.set_viewer_id("mei");
  touch.set_associate_id(lin.associate_id);
  touch.set_room_id(rival_room_id);
  v1::RecordTouchResponse touched;
  const int64_t touches_before = Count("SELECT COUNT(*) FROM touches");
  ExpectUnknown(
      attribution_stub_->RecordTouch(AsRole(Role::kService, "room").get(), touch, &touched),
      "room_id: no such room");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM touches"), touches_before);
  v1::ReassignClientRequest reassign;
  reassign.set_viewer_id("mei");
  reassign.set_associate_id(rex);
  v1::ReassignClientResponse reassigned;
  ExpectUnknown(
      attribution_stub_->ReassignClient(AsRole(Role::kOps, "ops").get(), reassign, &reassigned),
      "associate_id: no such associate");
  v1::GetClientBindingRequest binding;
  binding.set_viewer_id("mei");
  v1::GetClientBindingResponse bound;
  ASSERT_TRUE(
      attribution_stub_->GetClientBinding(AsRole(Role::kOps, "ops").get(), binding, &bound).ok());
  EXPECT_EQ(bound.binding().associate_id(), lin.associate_id);

  // ---- Catalog: room lists and flash sales name only this brand's rooms and SKUs ----
  attach.set_product_id(rival_product_id);
  ExpectUnknown(catalog_stub_->AttachRoomProduct(As(Ops()).get(), attach, &attached),
                "product_id: no such product");
  attach.set_room_id(rival_room_id);
  attach.set_product_id(product);
  ExpectUnknown(catalog_stub_->AttachRoomProduct(As(Ops()).get(), attach, &attached),
                "room_id: no such room");
  v1::CreateFlashSaleRequest foreign_sale = sale_request;
  foreign_sale.set_sku_id(rival_sku);
  v1::CreateFlashSaleResponse foreign_made;
  ExpectUnknown(flash_stub_->CreateFlashSale(As(Ops()).get(), foreign_sale, &foreign_made),
                "sku_id: no such SKU");
  foreign_sale = sale_request;
  foreign_sale.set_room_id(rival_room_id);
  ExpectUnknown(flash_stub_->CreateFlashSale(As(Ops()).get(), foreign_sale, &foreign_made),
                "room_id: no such room");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM flash_sales WHERE room_id = " + rival_room_id), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM room_products"), 1);

  // ---- Room: hosts, invites on behalf of, pins, through a room service wired as main.cc does ----
  room::GrpcAssociateDirectory associates(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(attribution_server_->port()),
                          grpc::InsecureChannelCredentials()),
      codec_, clock_, absl::Seconds(5));
  room::GrpcCatalogDirectory catalog(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(catalog_server_->port()),
                          grpc::InsecureChannelCredentials()),
      codec_, absl::Seconds(5));
  room::RoomServiceImpl strict_room(*room_store_, *presence_, catalog, clock_, codec_,
                                    room::RoomServiceOptions{}, nullptr, &associates);
  auto strict_server = *common::GrpcServer::Start(common::ServerOptions{}, {&strict_room});
  auto strict = v1::RoomService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(strict_server->port()), grpc::InsecureChannelCredentials()));
  const int64_t rooms_before = Count("SELECT COUNT(*) FROM rooms");
  v1::CreateRoomRequest hosted = rival_room_request;
  hosted.set_brand_id(kBrand);
  hosted.set_host_associate_id(rex);
  v1::CreateRoomResponse hosted_room;
  ExpectUnknown(strict->CreateRoom(As(Ops()).get(), hosted, &hosted_room),
                "host_associate_id: no such associate");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM rooms"), rooms_before);
  v1::UpdateRoomRequest rehost;
  rehost.set_room_id(room);
  rehost.set_host_associate_id(rex);
  v1::UpdateRoomResponse rehosted;
  ExpectUnknown(strict->UpdateRoom(As(Ops()).get(), rehost, &rehosted),
                "host_associate_id: no such associate");
  const int64_t invites_before = Count("SELECT COUNT(*) FROM room_invites");
  v1::IssueInvitesRequest issue;
  issue.set_room_id(room);
  issue.set_associate_id(rex);
  issue.set_count(2);
  v1::IssueInvitesResponse issued;
  ExpectUnknown(strict->IssueInvites(As(Ops()).get(), issue, &issued),
                "associate_id: no such associate");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM room_invites"), invites_before);
  issue.set_associate_id(lin.associate_id);
  EXPECT_TRUE(strict->IssueInvites(As(Ops()).get(), issue, &issued).ok());
  v1::PinProductRequest pin;
  pin.set_room_id(room);
  pin.set_product_id(rival_product_id);
  v1::PinProductResponse pinned;
  ExpectUnknown(strict->PinProduct(As(Ops()).get(), pin, &pinned), "product_id: no such product");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM rooms WHERE pinned_product_id IS NOT NULL"), 0);
  strict_server->Shutdown();

  // ---- The private session: zed (no invite) is refused everywhere; mei (invited) is served ----
  v1::JoinRoomRequest door;
  door.set_room_id(room);
  door.set_device_id("phone");
  v1::JoinRoomResponse joined;
  EXPECT_EQ(room_stub_->JoinRoom(As(Viewer("zed")).get(), door, &joined).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  auto reserve = [&](const std::string& buyer) {
    v1::ReserveStockRequest r;
    r.set_reservation_id("res-" + buyer);
    r.set_sale_id(sale);
    r.set_buyer_id(buyer);
    r.set_quantity(1);
    r.set_ttl_seconds(600);
    v1::ReserveStockResponse out;
    return flash_stub_->ReserveStock(AsRole(Role::kService, "order").get(), r, &out).error_code();
  };
  auto get_sale = [&](const std::string& viewer) {
    v1::GetFlashSaleRequest r;
    r.set_sale_id(sale);
    v1::GetFlashSaleResponse out;
    return flash_stub_->GetFlashSale(As(Viewer(viewer)).get(), r, &out).error_code();
  };
  auto list_products = [&](const std::string& viewer) {
    v1::ListRoomProductsRequest r;
    r.set_room_id(room);
    v1::ListRoomProductsResponse out;
    return catalog_stub_->ListRoomProducts(As(Viewer(viewer)).get(), r, &out).error_code();
  };
  auto hold_for = [&](const std::string& client) {
    v1::CreateHoldRequest r;
    r.set_sale_id(sale);
    r.set_client_id(client);
    r.set_quantity(1);
    r.set_ttl_seconds(600);
    v1::CreateHoldResponse out;
    return flash_stub_->CreateHold(AsRole(Role::kAssociate, lin.associate_id).get(), r, &out)
        .error_code();
  };
  auto report_stub = v1::ReportService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(report_server_->port()), grpc::InsecureChannelCredentials()));
  auto view = [&](const Principal& viewer) {
    v1::RecordProductViewRequest r;
    r.set_session_id(lin.room.session_id());
    r.set_product_id(product);
    v1::RecordProductViewResponse out;
    return report_stub->RecordProductView(As(viewer).get(), r, &out);
  };
  EXPECT_EQ(reserve("zed"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(get_sale("zed"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(list_products("zed"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(hold_for("zed"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(view(Viewer("zed")).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  ExpectUnknown(view(Principal{Role::kViewer, kRival, "mei", clock_.Now() + absl::Hours(1)}),
                "session_id: no such session");
  // Checking out the piece by its sale id, as the attacker did.
  v1::CheckoutRequest grab = CheckoutOf("zed-grab", {{"", sale, 1}});
  grab.clear_attribution();
  *grab.mutable_room() = lin.room;
  EXPECT_FALSE(Checkout("zed", grab).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM flash_reservations WHERE buyer_id = 'zed'"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM flash_holds"), 0);

  // The order service checks what a cart item or a checkout names before it writes anything:
  // the private room, its session and its sale are zed's to name only with an invite; another
  // brand's SKU, room, session, associate and share link are unknown.
  const int64_t orders_before = Count("SELECT COUNT(*) FROM orders");
  auto add = [&](const std::string& viewer, v1::CartItem item) {
    v1::AddCartItemRequest r;
    *r.mutable_item() = std::move(item);
    v1::AddCartItemResponse response;
    return stub_->AddCartItem(As(Viewer(viewer)).get(), r, &response);
  };
  v1::CartItem piece;
  piece.set_sku_id(sku);
  piece.set_sale_id(sale);
  piece.set_quantity(1);
  EXPECT_EQ(add("zed", piece).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::CartItem in_room;
  in_room.set_sku_id(sku);
  in_room.set_quantity(1);
  *in_room.mutable_room() = lin.room;
  EXPECT_EQ(add("zed", in_room).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::CartItem foreign = in_room;
  foreign.clear_room();
  foreign.set_sku_id(rival_sku);
  ExpectUnknown(add("mei", foreign), "item.sku_id: no such SKU");
  foreign = in_room;
  foreign.mutable_room()->set_room_id(rival_room_id);
  foreign.mutable_room()->clear_session_id();
  ExpectUnknown(add("mei", foreign), "item.room.room_id: no such room");
  foreign = in_room;
  foreign.mutable_attribution()->set_associate_id(rex);
  ExpectUnknown(add("mei", foreign), "item.attribution.associate_id: no such associate");
  v1::GetCartRequest get_cart;
  v1::GetCartResponse cart;
  ASSERT_TRUE(stub_->GetCart(As(Viewer("zed")).get(), get_cart, &cart).ok());
  EXPECT_EQ(cart.cart().items_size(), 0);
  v1::CheckoutRequest named = CheckoutOf("zed-room", {{sku, "", 1}});
  named.clear_attribution();
  *named.mutable_room() = lin.room;
  EXPECT_EQ(Checkout("zed", named).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  named.mutable_room()->clear_room_id();  // the session alone leads to its room
  EXPECT_EQ(Checkout("zed", named).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::CheckoutRequest rival_ref = CheckoutOf("mei-rival", {{sku, "", 1}});
  rival_ref.clear_attribution();
  rival_ref.clear_room();
  rival_ref.mutable_room()->set_room_id(rival_room_id);
  ExpectUnknown(Checkout("mei", rival_ref), "room.room_id: no such room");
  rival_ref.clear_room();
  rival_ref.mutable_attribution()->set_associate_id(rex);
  ExpectUnknown(Checkout("mei", rival_ref), "attribution.associate_id: no such associate");
  rival_ref.clear_attribution();
  rival_ref.mutable_attribution()->set_share_link_id(rival_link);
  ExpectUnknown(Checkout("mei", rival_ref), "attribution.share_link_id: no such share link");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM orders"), orders_before);
  // The invited buyer names them all and is served.
  v1::CheckoutRequest fine = CheckoutOf("mei-fine", {{sku, "", 1}});
  fine.clear_attribution();
  *fine.mutable_room() = lin.room;
  fine.mutable_attribution()->set_associate_id(lin.associate_id);
  EXPECT_TRUE(Checkout("mei", fine).ok());

  EXPECT_EQ(get_sale("mei"), grpc::StatusCode::OK);
  EXPECT_EQ(list_products("mei"), grpc::StatusCode::OK);
  EXPECT_EQ(hold_for("mei"), grpc::StatusCode::OK);
  EXPECT_TRUE(view(Viewer("mei")).ok());
  EXPECT_EQ(reserve("mei"), grpc::StatusCode::OK);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM flash_reservations WHERE buyer_id = 'mei'"), 1);
}

}  // namespace
}  // namespace livecommerce::order
