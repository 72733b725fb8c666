// The catalog service (products, SKUs, room product lists) over real gRPC on a free port, against
// the real MariaDB and Redis that scripts/test starts. Room lists ask a real room service, started
// in the same test on its own port, through GrpcRoomDirectory.
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <functional>
#include <map>

#include "gtest/gtest.h"
#include "livecommerce/v1/catalog.grpc.pb.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/catalog/api/catalog_service.h"
#include "services/catalog/clients/room_directory.h"
#include "services/catalog/store/mysql_inventory_store.h"
#include "services/catalog/store/mysql_product_store.h"
#include "services/common/clock.h"
#include "services/common/grpc_server.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"
#include "services/room/api/room_service.h"
#include "services/room/store/mysql_room_store.h"
#include "services/room/store/redis_presence_store.h"
#include "tests/support/fake_catalog_directory.h"
#include "tests/support/test_env.h"

namespace livecommerce::catalog {
namespace {

using common::Principal;
using common::Role;

constexpr char kBrand[] = "maison";
constexpr char kOtherBrand[] = "other-brand";
constexpr char kVip[] = "VIP clients";
constexpr char kFriends[] = "friends";

// Whole seconds of the real time: the room directory signs its calls with the real clock, so the
// room service's clock must not be far from it.
absl::Time StartTime() { return absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())); }

class CatalogServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = testing::ConnectTestRedis();
    mysql_ =
        testing::ConnectTestMysql({"sku_reservations", "room_product_prices", "room_products",
                                   "skus", "products", "room_invites", "room_sessions", "rooms"});
    ASSERT_NE(redis_, nullptr);
    ASSERT_NE(mysql_, nullptr);

    room_store_ = std::make_unique<room::MysqlRoomStore>(*mysql_);
    presence_ = std::make_unique<room::RedisPresenceStore>(*redis_, absl::Seconds(30));
    ASSERT_TRUE(presence_->LoadScripts().ok());
    room_service_ = std::make_unique<room::RoomServiceImpl>(
        *room_store_, *presence_, room_catalog_, clock_, codec_, room::RoomServiceOptions{});
    auto room_server = common::GrpcServer::Start(common::ServerOptions{}, {room_service_.get()});
    ASSERT_TRUE(room_server.ok()) << room_server.status();
    room_server_ = *std::move(room_server);
    auto room_channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(room_server_->port()),
                                            grpc::InsecureChannelCredentials());
    room_stub_ = v1::RoomService::NewStub(room_channel);
    directory_ = std::make_unique<GrpcRoomDirectory>(room_channel, codec_, absl::Seconds(5));

    products_ = std::make_unique<MysqlProductStore>(*mysql_);
    inventory_ = std::make_unique<MysqlInventoryStore>(*mysql_);
    service_ =
        std::make_unique<CatalogServiceImpl>(*products_, *inventory_, *directory_, clock_, codec_);
    auto server = common::GrpcServer::Start(common::ServerOptions{}, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::CatalogService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    stub_.reset();
    if (server_) server_->Shutdown();
    room_stub_.reset();
    if (room_server_) room_server_->Shutdown();
  }

  std::unique_ptr<grpc::ClientContext> As(const Principal& p) {
    auto context = std::make_unique<grpc::ClientContext>();
    common::AttachPrincipal(*context, codec_.Encode(p));
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }
  Principal Ops(const std::string& brand = kBrand) {
    return {Role::kOps, brand, "ops-1", clock_.Now() + absl::Hours(24)};
  }
  Principal Viewer(const std::string& id, const std::string& brand = kBrand) {
    return {Role::kViewer, brand, id, clock_.Now() + absl::Hours(24)};
  }
  Principal Service(const std::string& brand = kBrand) {
    return {Role::kService, brand, "room", clock_.Now() + absl::Hours(24)};
  }

  static v1::Money Money(int64_t fen, const std::string& currency = "CNY") {
    v1::Money m;
    m.set_amount_fen(fen);
    m.set_currency(currency);
    return m;
  }

  v1::CreateProductRequest ProductRequest(const std::string& name,
                                          const std::string& brand = kBrand,
                                          const std::string& category = "bags") {
    v1::CreateProductRequest request;
    request.set_brand_id(brand);
    request.set_name(name);
    request.set_description("Calfskin, gold-tone hardware.\nMade in France.");
    request.add_image_urls("https://cdn.example.com/" + std::to_string(++made_) + "-1.jpg");
    request.set_category(category);
    *request.mutable_list_price() = Money(100000);
    v1::NewSku* black = request.add_skus();
    black->set_sku_code("SKU-" + std::to_string(made_) + "-BLK");
    (*black->mutable_attributes())["colour"] = "black";
    (*black->mutable_attributes())["size"] = "small";
    black->set_on_hand(10);
    v1::NewSku* red = request.add_skus();
    red->set_sku_code("SKU-" + std::to_string(made_) + "-RED");
    (*red->mutable_attributes())["colour"] = "rouge";
    *red->mutable_price() = Money(120000);
    red->set_on_hand(0);
    return request;
  }

  v1::Product Create(const v1::CreateProductRequest& request, const Principal& who) {
    v1::CreateProductResponse response;
    grpc::Status status = stub_->CreateProduct(As(who).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.product();
  }
  v1::Product Create(const std::string& name) { return Create(ProductRequest(name), Ops()); }

  v1::Product Activate(const std::string& product_id, const Principal& who) {
    v1::ActivateProductRequest request;
    request.set_product_id(product_id);
    v1::ActivateProductResponse response;
    grpc::Status status = stub_->ActivateProduct(As(who).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.product();
  }
  v1::Product Activate(const std::string& product_id) { return Activate(product_id, Ops()); }

  grpc::Status Archive(const std::string& product_id) {
    v1::ArchiveProductRequest request;
    request.set_product_id(product_id);
    v1::ArchiveProductResponse response;
    return stub_->ArchiveProduct(As(Ops()).get(), request, &response);
  }

  grpc::Status GetProduct(const Principal& who, const std::string& id, v1::Product* out = nullptr) {
    v1::GetProductRequest request;
    request.set_product_id(id);
    v1::GetProductResponse response;
    grpc::Status status = stub_->GetProduct(As(who).get(), request, &response);
    if (out != nullptr) *out = response.product();
    return status;
  }

  grpc::Status GetSku(const Principal& who, const std::string& id, v1::Sku* out = nullptr) {
    v1::GetSkuRequest request;
    request.set_sku_id(id);
    v1::GetSkuResponse response;
    grpc::Status status = stub_->GetSku(As(who).get(), request, &response);
    if (out != nullptr) *out = response.sku();
    return status;
  }

  // Every product the caller can list with these filters, page by page.
  std::vector<v1::Product> ListAll(const Principal& who, v1::ProductStatus status,
                                   const std::string& category = "", int page_size = 2) {
    std::vector<v1::Product> all;
    std::string token;
    for (int pages = 0; pages < 100; ++pages) {
      v1::ListProductsRequest request;
      request.set_brand_id(who.brand_id);
      request.set_status(status);
      request.set_category(category);
      request.set_page_size(page_size);
      request.set_page_token(token);
      v1::ListProductsResponse response;
      grpc::Status s = stub_->ListProducts(As(who).get(), request, &response);
      EXPECT_TRUE(s.ok()) << s.error_message();
      EXPECT_LE(response.products_size(), page_size);
      for (const auto& p : response.products()) all.push_back(p);
      token = response.next_page_token();
      if (token.empty()) break;
    }
    return all;
  }

  int64_t CountRows(const std::string& table) {
    auto n = mysql_->Run([&](common::MysqlConnection& c) -> absl::StatusOr<int64_t> {
      std::unique_ptr<sql::ResultSet> rs(c.Prepare("SELECT COUNT(*) FROM " + table).executeQuery());
      rs->next();
      return rs->getInt64(1);
    });
    return n.ok() ? *n : -1;
  }

  // ---- The room service --------------------------------------------------------------------

  v1::Room CreateRoom(v1::Visibility visibility, const std::string& brand = kBrand) {
    v1::CreateRoomRequest request;
    request.set_brand_id(brand);
    request.set_title("Spring preview");
    common::ToTimestamp(clock_.Now() + absl::Hours(1), request.mutable_scheduled_start());
    request.set_visibility(visibility);
    request.add_audiences(v1::AUDIENCE_CLIENTS);
    request.set_objective(v1::OBJECTIVE_PURCHASE);
    request.set_format(v1::FORMAT_SALES_DRIVEN);
    v1::CreateRoomResponse response;
    grpc::Status status = room_stub_->CreateRoom(As(Ops(brand)).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.room();
  }

  std::string Invite(const std::string& room_id, const std::string& cohort) {
    v1::IssueInvitesRequest request;
    request.set_room_id(room_id);
    request.set_cohort(cohort);
    request.set_count(1);
    v1::IssueInvitesResponse response;
    grpc::Status status = room_stub_->IssueInvites(As(Ops()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.invites_size() == 1 ? response.invites(0).token() : "";
  }

  void GoLive(const std::string& room_id) {
    v1::GoLiveRequest request;
    request.set_room_id(room_id);
    v1::GoLiveResponse response;
    grpc::Status status = room_stub_->GoLive(As(Ops()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  // The viewer joins with the invite, which binds it to them.
  void Join(const std::string& viewer, const std::string& room_id, const std::string& token) {
    v1::JoinRoomRequest request;
    request.set_room_id(room_id);
    request.set_device_id("phone");
    request.set_invite_token(token);
    v1::JoinRoomResponse response;
    grpc::Status status = room_stub_->JoinRoom(As(Viewer(viewer)).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  // ---- Room lists --------------------------------------------------------------------------

  grpc::Status Attach(const std::string& room_id, const std::string& product_id, int position,
                      const std::string& cohort = "",
                      const std::map<std::string, int64_t>& cohort_prices = {},
                      const Principal* who = nullptr, v1::RoomProduct* out = nullptr) {
    v1::AttachRoomProductRequest request;
    request.set_room_id(room_id);
    request.set_product_id(product_id);
    request.set_position(position);
    request.set_visible_to_cohort(cohort);
    for (const auto& [name, fen] : cohort_prices) {
      v1::CohortPrice* p = request.add_cohort_prices();
      p->set_cohort(name);
      *p->mutable_price() = Money(fen);
    }
    v1::AttachRoomProductResponse response;
    Principal ops = Ops();
    grpc::Status status =
        stub_->AttachRoomProduct(As(who != nullptr ? *who : ops).get(), request, &response);
    if (out != nullptr) *out = response.item();
    return status;
  }

  grpc::Status ListRoom(const Principal& who, const std::string& room_id,
                        std::vector<v1::RoomProduct>* out) {
    v1::ListRoomProductsRequest request;
    request.set_room_id(room_id);
    v1::ListRoomProductsResponse response;
    grpc::Status status = stub_->ListRoomProducts(As(who).get(), request, &response);
    out->assign(response.items().begin(), response.items().end());
    return status;
  }

  // Product names of a room list as `who` sees it, in order.
  std::vector<std::string> Names(const Principal& who, const std::string& room_id) {
    std::vector<v1::RoomProduct> items;
    grpc::Status status = ListRoom(who, room_id, &items);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> names;
    for (const auto& item : items) names.push_back(item.product().name());
    return names;
  }

  common::FakeClock clock_{StartTime()};
  common::PrincipalCodec codec_{"integration-test-secret-0123456789"};
  int made_ = 0;
  std::unique_ptr<common::RedisPool> redis_;
  std::unique_ptr<common::MysqlPool> mysql_;
  std::unique_ptr<room::MysqlRoomStore> room_store_;
  std::unique_ptr<room::RedisPresenceStore> presence_;
  // The room service only asks the catalog about pins and flash stock, which these tests do not
  // use.
  testing::FakeCatalogDirectory room_catalog_;
  std::unique_ptr<room::RoomServiceImpl> room_service_;
  std::unique_ptr<common::GrpcServer> room_server_;
  std::unique_ptr<v1::RoomService::Stub> room_stub_;
  std::unique_ptr<GrpcRoomDirectory> directory_;
  std::unique_ptr<MysqlProductStore> products_;
  std::unique_ptr<MysqlInventoryStore> inventory_;
  std::unique_ptr<CatalogServiceImpl> service_;
  std::unique_ptr<common::GrpcServer> server_;
  std::unique_ptr<v1::CatalogService::Stub> stub_;
};

TEST_F(CatalogServiceTest, CreateGetUpdateAndPaginate) {
  v1::Product created = Create("Le Petit Sac");
  EXPECT_FALSE(created.id().empty());
  EXPECT_EQ(created.status(), v1::PRODUCT_STATUS_DRAFT);
  EXPECT_EQ(created.brand_id(), kBrand);
  ASSERT_EQ(created.skus_size(), 2);
  const v1::Sku& black = created.skus(0);
  const v1::Sku& red = created.skus(1);
  EXPECT_EQ(black.attributes().at("colour"), "black");
  EXPECT_EQ(black.attributes().at("size"), "small");
  EXPECT_FALSE(black.has_price());                          // no own price
  EXPECT_EQ(black.effective_price().amount_fen(), 100000);  // the list price
  EXPECT_EQ(red.price().amount_fen(), 120000);
  EXPECT_EQ(red.effective_price().amount_fen(), 120000);
  EXPECT_EQ(black.on_hand(), 10);
  EXPECT_EQ(black.available(), 10);
  EXPECT_TRUE(black.in_stock());
  EXPECT_FALSE(red.in_stock());
  EXPECT_EQ(created.image_urls_size(), 1);

  v1::Product got;
  ASSERT_TRUE(GetProduct(Ops(), created.id(), &got).ok());
  EXPECT_EQ(got.name(), "Le Petit Sac");
  EXPECT_EQ(got.description(), created.description());
  EXPECT_EQ(got.skus_size(), 2);

  // Optional fields: only those set change.
  v1::UpdateProductRequest update;
  update.set_product_id(created.id());
  update.set_name("Le Petit Sac, édition printemps");
  *update.mutable_list_price() = Money(110000);
  update.mutable_image_urls()->add_urls("https://cdn.example.com/a.jpg");
  update.mutable_image_urls()->add_urls("https://cdn.example.com/b.jpg");
  v1::UpdateProductResponse updated;
  grpc::Status s = stub_->UpdateProduct(As(Ops()).get(), update, &updated);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(updated.product().name(), "Le Petit Sac, édition printemps");
  EXPECT_EQ(updated.product().description(), created.description());
  EXPECT_EQ(updated.product().category(), "bags");
  EXPECT_EQ(updated.product().image_urls_size(), 2);
  EXPECT_EQ(updated.product().list_price().amount_fen(), 110000);
  // The SKU without its own price follows the list price; the other keeps its own.
  EXPECT_EQ(updated.product().skus(0).effective_price().amount_fen(), 110000);
  EXPECT_EQ(updated.product().skus(1).effective_price().amount_fen(), 120000);

  // SKUs: add one, change price and attributes, drop an own price.
  v1::AddSkuRequest add;
  add.set_product_id(created.id());
  add.mutable_sku()->set_sku_code("SAC-PS-GRN");
  (*add.mutable_sku()->mutable_attributes())["colour"] = "vert";
  add.mutable_sku()->set_on_hand(3);
  v1::AddSkuResponse added;
  s = stub_->AddSku(As(Ops()).get(), add, &added);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(added.sku().product_id(), created.id());
  EXPECT_EQ(added.sku().on_hand(), 3);
  EXPECT_EQ(added.sku().effective_price().amount_fen(), 110000);

  v1::UpdateSkuRequest sku_update;
  sku_update.set_sku_id(added.sku().id());
  *sku_update.mutable_price() = Money(99000);
  (*sku_update.mutable_attributes()->mutable_values())["colour"] = "vert anglais 墨绿";
  (*sku_update.mutable_attributes()->mutable_values())["size"] = "mini";
  v1::UpdateSkuResponse sku_updated;
  s = stub_->UpdateSku(As(Ops()).get(), sku_update, &sku_updated);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(sku_updated.sku().price().amount_fen(), 99000);
  EXPECT_EQ(sku_updated.sku().attributes().at("colour"), "vert anglais 墨绿");  // UTF-8 JSON
  EXPECT_EQ(sku_updated.sku().attributes().size(), 2u);
  EXPECT_EQ(sku_updated.sku().on_hand(), 3);  // untouched

  v1::UpdateSkuRequest clear;
  clear.set_sku_id(red.id());
  clear.set_clear_price(true);
  s = stub_->UpdateSku(As(Ops()).get(), clear, &sku_updated);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(sku_updated.sku().has_price());
  EXPECT_EQ(sku_updated.sku().effective_price().amount_fen(), 110000);
  EXPECT_EQ(sku_updated.sku().attributes().at("colour"), "rouge");  // untouched

  v1::Sku sku;
  ASSERT_TRUE(GetSku(Ops(), added.sku().id(), &sku).ok());
  EXPECT_EQ(sku.sku_code(), "SAC-PS-GRN");
  EXPECT_EQ(sku.effective_price().amount_fen(), 99000);
  ASSERT_TRUE(GetProduct(Ops(), created.id(), &got).ok());
  EXPECT_EQ(got.skus_size(), 3);

  // Pagination over 7 products, and the category and status filters.
  for (int i = 0; i < 4; ++i) Create("Bag " + std::to_string(i));
  Create(ProductRequest("Carré 90", kBrand, "scarves"), Ops());
  v1::Product shoes = Create(ProductRequest("Mocassin", kBrand, "shoes"), Ops());
  Activate(shoes.id());
  Create(ProductRequest("Someone else's", kOtherBrand), Ops(kOtherBrand));
  std::vector<v1::Product> all = ListAll(Ops(), v1::PRODUCT_STATUS_UNSPECIFIED);
  ASSERT_EQ(all.size(), 7u);
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_LT(std::stoll(all[i - 1].id()), std::stoll(all[i].id()));  // each once, in order
  }
  EXPECT_EQ(all[0].skus_size(), 3);  // SKUs come with the page
  EXPECT_EQ(all[1].skus_size(), 2);
  EXPECT_EQ(ListAll(Ops(), v1::PRODUCT_STATUS_UNSPECIFIED, "bags", 3).size(), 5u);
  std::vector<v1::Product> scarves = ListAll(Ops(), v1::PRODUCT_STATUS_UNSPECIFIED, "scarves");
  ASSERT_EQ(scarves.size(), 1u);
  EXPECT_EQ(scarves[0].name(), "Carré 90");
  std::vector<v1::Product> active = ListAll(Ops(), v1::PRODUCT_STATUS_ACTIVE);
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].id(), shoes.id());
  EXPECT_EQ(ListAll(Ops(), v1::PRODUCT_STATUS_DRAFT, "", 100).size(), 6u);
}

TEST_F(CatalogServiceTest, LifecycleAllowsOnlyLegalTransitions) {
  v1::Product product = Create("Le Petit Sac");
  EXPECT_EQ(Activate(product.id()).status(), v1::PRODUCT_STATUS_ACTIVE);
  v1::ActivateProductRequest again;
  again.set_product_id(product.id());
  v1::ActivateProductResponse again_response;
  EXPECT_EQ(stub_->ActivateProduct(As(Ops()).get(), again, &again_response).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(Archive(product.id()).ok());
  EXPECT_EQ(stub_->ActivateProduct(As(Ops()).get(), again, &again_response).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Archive(product.id()).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  v1::Product got;
  ASSERT_TRUE(GetProduct(Ops(), product.id(), &got).ok());
  EXPECT_EQ(got.status(), v1::PRODUCT_STATUS_ARCHIVED);

  // DRAFT -> ARCHIVED is allowed too.
  v1::Product draft = Create("Never sold");
  ASSERT_TRUE(Archive(draft.id()).ok());

  // An archived product no longer changes, nor do its SKUs; its stock count still may.
  v1::UpdateProductRequest update;
  update.set_product_id(product.id());
  update.set_name("Renamed");
  v1::UpdateProductResponse updated;
  EXPECT_EQ(stub_->UpdateProduct(As(Ops()).get(), update, &updated).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::AddSkuRequest add;
  add.set_product_id(product.id());
  add.mutable_sku()->set_sku_code("LATE-1");
  v1::AddSkuResponse added;
  EXPECT_EQ(stub_->AddSku(As(Ops()).get(), add, &added).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::UpdateSkuRequest sku_update;
  sku_update.set_sku_id(product.skus(0).id());
  *sku_update.mutable_price() = Money(1);
  v1::UpdateSkuResponse sku_updated;
  EXPECT_EQ(stub_->UpdateSku(As(Ops()).get(), sku_update, &sku_updated).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::SetSkuInventoryRequest count;
  count.set_sku_id(product.skus(0).id());
  count.set_on_hand(4);
  v1::SetSkuInventoryResponse counted;
  EXPECT_TRUE(stub_->SetSkuInventory(As(Ops()).get(), count, &counted).ok());
  ASSERT_TRUE(GetProduct(Ops(), product.id(), &got).ok());
  EXPECT_EQ(got.name(), "Le Petit Sac");
  EXPECT_EQ(got.skus_size(), 2);
  EXPECT_EQ(got.skus(0).on_hand(), 4);
}

TEST_F(CatalogServiceTest, ViewersSeeActiveProductsOnlyAndServicesSeeAll) {
  v1::Product draft = Create("Draft");
  v1::Product active = Create("Active");
  v1::Product archived = Create("Archived");
  Activate(active.id());
  Activate(archived.id());
  ASSERT_TRUE(Archive(archived.id()).ok());

  Principal viewer = Viewer("o-openid-1");
  EXPECT_EQ(GetProduct(viewer, draft.id()).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetProduct(viewer, archived.id()).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetSku(viewer, draft.skus(0).id()).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetSku(viewer, archived.skus(0).id()).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::Product seen;
  ASSERT_TRUE(GetProduct(viewer, active.id(), &seen).ok());
  // Availability yes, the stock counts no.
  EXPECT_EQ(seen.skus(0).available(), 10);
  EXPECT_TRUE(seen.skus(0).in_stock());
  EXPECT_EQ(seen.skus(0).on_hand(), 0);
  EXPECT_EQ(seen.skus(0).reserved(), 0);
  v1::Sku sku;
  ASSERT_TRUE(GetSku(viewer, active.skus(1).id(), &sku).ok());
  EXPECT_EQ(sku.effective_price().amount_fen(), 120000);

  std::vector<v1::Product> listed = ListAll(viewer, v1::PRODUCT_STATUS_UNSPECIFIED);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id(), active.id());
  EXPECT_EQ(ListAll(viewer, v1::PRODUCT_STATUS_ACTIVE).size(), 1u);
  for (v1::ProductStatus hidden : {v1::PRODUCT_STATUS_DRAFT, v1::PRODUCT_STATUS_ARCHIVED}) {
    v1::ListProductsRequest request;
    request.set_brand_id(kBrand);
    request.set_status(hidden);
    v1::ListProductsResponse response;
    EXPECT_EQ(stub_->ListProducts(As(viewer).get(), request, &response).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }

  // Another service (the room service resolving a pinned product) reads any product of the brand.
  v1::Product for_service;
  ASSERT_TRUE(GetProduct(Service(), draft.id(), &for_service).ok());
  EXPECT_EQ(for_service.skus(0).on_hand(), 10);
  EXPECT_TRUE(GetSku(Service(), archived.skus(0).id()).ok());
  EXPECT_EQ(ListAll(Service(), v1::PRODUCT_STATUS_UNSPECIFIED).size(), 3u);

  // Only ops change the catalog.
  for (const Principal& who :
       {viewer, Service(),
        Principal{Role::kAssociate, kBrand, "sa-1", clock_.Now() + absl::Hours(1)}}) {
    v1::CreateProductResponse response;
    EXPECT_EQ(stub_->CreateProduct(As(who).get(), ProductRequest("Nope"), &response).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    v1::ActivateProductRequest activate;
    activate.set_product_id(draft.id());
    v1::ActivateProductResponse activated;
    EXPECT_EQ(stub_->ActivateProduct(As(who).get(), activate, &activated).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(CountRows("products"), 3);
  ASSERT_TRUE(GetProduct(Ops(), draft.id(), &seen).ok());
  EXPECT_EQ(seen.status(), v1::PRODUCT_STATUS_DRAFT);
}

TEST_F(CatalogServiceTest, AnotherBrandsProductIsNotFound) {
  v1::Product mine = Create("Mine");
  Activate(mine.id());
  const std::string sku_id = mine.skus(0).id();
  for (const Principal& stranger :
       {Ops(kOtherBrand), Viewer("o-openid-1", kOtherBrand), Service(kOtherBrand)}) {
    EXPECT_EQ(GetProduct(stranger, mine.id()).error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(GetSku(stranger, sku_id).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  v1::UpdateProductRequest update;
  update.set_product_id(mine.id());
  update.set_name("Hijacked");
  v1::UpdateProductResponse updated;
  EXPECT_EQ(stub_->UpdateProduct(As(Ops(kOtherBrand)).get(), update, &updated).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::AddSkuRequest add;
  add.set_product_id(mine.id());
  add.mutable_sku()->set_sku_code("INTRUDER");
  v1::AddSkuResponse added;
  EXPECT_EQ(stub_->AddSku(As(Ops(kOtherBrand)).get(), add, &added).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::UpdateSkuRequest sku_update;
  sku_update.set_sku_id(sku_id);
  *sku_update.mutable_price() = Money(1);
  v1::UpdateSkuResponse sku_updated;
  EXPECT_EQ(stub_->UpdateSku(As(Ops(kOtherBrand)).get(), sku_update, &sku_updated).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::SetSkuInventoryRequest count;
  count.set_sku_id(sku_id);
  count.set_on_hand(0);
  v1::SetSkuInventoryResponse counted;
  EXPECT_EQ(stub_->SetSkuInventory(As(Ops(kOtherBrand)).get(), count, &counted).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ArchiveProductRequest archive;
  archive.set_product_id(mine.id());
  v1::ArchiveProductResponse archived;
  EXPECT_EQ(stub_->ArchiveProduct(As(Ops(kOtherBrand)).get(), archive, &archived).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Creating or listing for another brand is not allowed at all.
  v1::CreateProductResponse created;
  EXPECT_EQ(
      stub_->CreateProduct(As(Ops(kOtherBrand)).get(), ProductRequest("X"), &created).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  v1::ListProductsRequest list;
  list.set_brand_id(kBrand);
  v1::ListProductsResponse listed;
  EXPECT_EQ(stub_->ListProducts(As(Ops(kOtherBrand)).get(), list, &listed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Nothing changed.
  v1::Product got;
  ASSERT_TRUE(GetProduct(Ops(), mine.id(), &got).ok());
  EXPECT_EQ(got.name(), "Mine");
  EXPECT_EQ(got.status(), v1::PRODUCT_STATUS_ACTIVE);
  EXPECT_EQ(got.skus_size(), 2);
  EXPECT_EQ(got.skus(0).on_hand(), 10);
  EXPECT_FALSE(got.skus(0).has_price());
  // And without credentials nobody gets anywhere.
  grpc::ClientContext anonymous;
  v1::GetProductRequest get;
  get.set_product_id(mine.id());
  v1::GetProductResponse response;
  EXPECT_EQ(stub_->GetProduct(&anonymous, get, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(CatalogServiceTest, BadInputIsInvalidArgumentNamingTheFieldAndChangesNothing) {
  struct Case {
    std::function<void(v1::CreateProductRequest&)> mutate;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](auto& r) { r.set_name(""); }, "name"},
      {[](auto& r) { r.set_name(std::string(201, 'x')); }, "name"},
      {[](auto& r) { r.set_description(std::string(4001, 'x')); }, "description"},
      {[](auto& r) { r.set_category(std::string(101, 'x')); }, "category"},
      {[](auto& r) { r.clear_list_price(); }, "list_price"},
      {[](auto& r) { r.mutable_list_price()->set_amount_fen(0); }, "list_price.amount_fen"},
      {[](auto& r) { r.mutable_list_price()->set_amount_fen(-500); }, "list_price.amount_fen"},
      {[](auto& r) { r.mutable_list_price()->set_currency("yuan"); }, "list_price.currency"},
      {[](auto& r) { r.mutable_list_price()->set_currency(""); }, "list_price.currency"},
      {[](auto& r) { r.add_image_urls("ftp://cdn.example.com/x.jpg"); }, "image_urls[1]"},
      {[](auto& r) {
         for (int i = 0; i < 10; ++i) r.add_image_urls("https://cdn.example.com/x.jpg");
       },
       "image_urls"},
      {[](auto& r) { r.clear_skus(); }, "skus"},
      {[](auto& r) { r.mutable_skus(1)->mutable_price()->set_amount_fen(0); },
       "skus[1].price.amount_fen"},
      {[](auto& r) { r.mutable_skus(1)->mutable_price()->set_amount_fen(-1); },
       "skus[1].price.amount_fen"},
      {[](auto& r) { r.mutable_skus(1)->mutable_price()->set_currency("EUR"); },
       "skus[1].price.currency"},
      {[](auto& r) { r.mutable_skus(0)->set_sku_code(""); }, "skus[0].sku_code"},
      {[](auto& r) { r.mutable_skus(0)->set_sku_code(std::string(65, 'A')); }, "skus[0].sku_code"},
      {[](auto& r) { r.mutable_skus(1)->set_sku_code(r.skus(0).sku_code()); }, "skus[1].sku_code"},
      {[](auto& r) { r.mutable_skus(0)->set_on_hand(-1); }, "skus[0].on_hand"},
      {[](auto& r) { (*r.mutable_skus(0)->mutable_attributes())["Bad Key"] = "x"; },
       "skus[0].attributes"},
      {[](auto& r) { (*r.mutable_skus(0)->mutable_attributes())["size"] = std::string(201, 'x'); },
       "skus[0].attributes.size"},
  };
  for (const Case& c : cases) {
    v1::CreateProductRequest request = ProductRequest("Le Petit Sac");
    c.mutate(request);
    v1::CreateProductResponse response;
    grpc::Status status = stub_->CreateProduct(As(Ops()).get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(status.error_message().rfind(c.field + ": ", 0), 0u)
        << c.field << " <- " << status.error_message();
  }
  EXPECT_EQ(CountRows("products"), 0);
  EXPECT_EQ(CountRows("skus"), 0);

  // A SKU code the brand already uses: ALREADY_EXISTS naming it, and no half-made product.
  v1::Product product = Create("Le Petit Sac");
  v1::CreateProductRequest reused = ProductRequest("Copy");
  reused.mutable_skus(1)->set_sku_code(product.skus(0).sku_code());
  v1::CreateProductResponse reused_response;
  grpc::Status status = stub_->CreateProduct(As(Ops()).get(), reused, &reused_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(status.error_message().rfind("skus[1].sku_code: ", 0), 0u) << status.error_message();
  EXPECT_EQ(CountRows("products"), 1);
  EXPECT_EQ(CountRows("skus"), 2);
  // Another brand may use the same code.
  v1::CreateProductRequest elsewhere = ProductRequest("Theirs", kOtherBrand);
  elsewhere.mutable_skus(0)->set_sku_code(product.skus(0).sku_code());
  Create(elsewhere, Ops(kOtherBrand));
  EXPECT_EQ(CountRows("products"), 2);

  // Updates: refused as a whole.
  struct UpdateCase {
    std::function<void(v1::UpdateProductRequest&)> mutate;
    std::string field;
  };
  std::vector<UpdateCase> updates = {
      {[](auto& r) { r.set_name(""); }, "name"},
      {[](auto& r) { r.set_description(std::string(4001, 'x')); }, "description"},
      {[](auto& r) { *r.mutable_list_price() = Money(0); }, "list_price.amount_fen"},
      {[](auto& r) { *r.mutable_list_price() = Money(-1); }, "list_price.amount_fen"},
      {[](auto& r) { *r.mutable_list_price() = Money(100, "EUR"); }, "list_price.currency"},
      {[](auto& r) { r.mutable_image_urls()->add_urls("not a url"); }, "image_urls[0]"},
      {[](auto& r) { r.set_product_id("abc"); }, "product_id"},
      {[](auto& r) { r.set_product_id(""); }, "product_id"},
  };
  for (const UpdateCase& c : updates) {
    v1::UpdateProductRequest request;
    request.set_product_id(product.id());
    request.set_category("changed");  // valid, but must not land with the bad field
    c.mutate(request);
    v1::UpdateProductResponse response;
    grpc::Status s = stub_->UpdateProduct(As(Ops()).get(), request, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(s.error_message().rfind(c.field + ": ", 0), 0u) << s.error_message();
  }
  v1::Product got;
  ASSERT_TRUE(GetProduct(Ops(), product.id(), &got).ok());
  EXPECT_EQ(got.name(), product.name());
  EXPECT_EQ(got.category(), "bags");
  EXPECT_EQ(got.list_price().amount_fen(), 100000);
  EXPECT_EQ(got.updated_at().seconds(), product.updated_at().seconds());

  // SKU changes.
  v1::UpdateSkuRequest sku_update;
  sku_update.set_sku_id(product.skus(0).id());
  *sku_update.mutable_price() = Money(0);
  v1::UpdateSkuResponse sku_updated;
  grpc::Status s = stub_->UpdateSku(As(Ops()).get(), sku_update, &sku_updated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("price.amount_fen: ", 0), 0u) << s.error_message();
  *sku_update.mutable_price() = Money(5000, "USD");
  s = stub_->UpdateSku(As(Ops()).get(), sku_update, &sku_updated);
  EXPECT_EQ(s.error_message().rfind("price.currency: ", 0), 0u) << s.error_message();
  *sku_update.mutable_price() = Money(5000);
  sku_update.set_clear_price(true);
  s = stub_->UpdateSku(As(Ops()).get(), sku_update, &sku_updated);
  EXPECT_EQ(s.error_message().rfind("clear_price: ", 0), 0u) << s.error_message();
  v1::AddSkuRequest add;
  add.set_product_id(product.id());
  add.mutable_sku()->set_sku_code("OK-CODE");
  *add.mutable_sku()->mutable_price() = Money(-3);
  v1::AddSkuResponse added;
  s = stub_->AddSku(As(Ops()).get(), add, &added);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("sku.price.amount_fen: ", 0), 0u) << s.error_message();
  add.mutable_sku()->clear_price();
  add.mutable_sku()->set_sku_code(product.skus(1).sku_code());
  EXPECT_EQ(stub_->AddSku(As(Ops()).get(), add, &added).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  v1::SetSkuInventoryRequest count;
  count.set_sku_id(product.skus(0).id());
  count.set_on_hand(-1);
  v1::SetSkuInventoryResponse counted;
  s = stub_->SetSkuInventory(As(Ops()).get(), count, &counted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("on_hand: ", 0), 0u) << s.error_message();
  EXPECT_EQ(CountRows("skus"), 4);  // mine 2 + theirs 2
  ASSERT_TRUE(GetProduct(Ops(), product.id(), &got).ok());
  EXPECT_FALSE(got.skus(0).has_price());
  EXPECT_EQ(got.skus(0).on_hand(), 10);

  // Unknown and malformed ids, unknown enum values, bad paging.
  EXPECT_EQ(GetSku(Ops(), "999999").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetProduct(Ops(), "999999").error_code(), grpc::StatusCode::NOT_FOUND);
  s = GetSku(Ops(), "sku-1");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("sku_id: ", 0), 0u);
  sku_update.set_sku_id("999999");
  sku_update.clear_clear_price();
  EXPECT_EQ(stub_->UpdateSku(As(Ops()).get(), sku_update, &sku_updated).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListProductsRequest list;
  list.set_brand_id(kBrand);
  list.set_status(static_cast<v1::ProductStatus>(42));
  v1::ListProductsResponse listed;
  s = stub_->ListProducts(As(Ops()).get(), list, &listed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("status: ", 0), 0u);
  list.set_status(v1::PRODUCT_STATUS_UNSPECIFIED);
  list.set_page_size(1000);
  s = stub_->ListProducts(As(Ops()).get(), list, &listed);
  EXPECT_EQ(s.error_message().rfind("page_size: ", 0), 0u);
  list.set_page_size(0);
  list.set_page_token("forged");
  s = stub_->ListProducts(As(Ops()).get(), list, &listed);
  EXPECT_EQ(s.error_message().rfind("page_token: ", 0), 0u);
}

TEST_F(CatalogServiceTest, SetSkuInventoryNeverGoesBelowReserved) {
  v1::Product product = Create("Le Petit Sac");
  Activate(product.id());
  const v1::Sku& sku = product.skus(0);  // 10 on hand
  InventoryReservation r;
  r.reservation_id = "order-1";
  r.brand_id = kBrand;
  r.sku_id = std::stoll(sku.id());
  r.buyer_id = "o-openid-1";
  r.quantity = 6;
  r.expires_at = clock_.Now() + absl::Minutes(15);
  ASSERT_TRUE(inventory_->Reserve(r).ok());

  v1::SetSkuInventoryRequest count;
  count.set_sku_id(sku.id());
  count.set_on_hand(5);
  v1::SetSkuInventoryResponse counted;
  grpc::Status s = stub_->SetSkuInventory(As(Ops()).get(), count, &counted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message().rfind("on_hand: ", 0), 0u) << s.error_message();
  v1::Sku got;
  ASSERT_TRUE(GetSku(Ops(), sku.id(), &got).ok());
  EXPECT_EQ(got.on_hand(), 10);
  EXPECT_EQ(got.reserved(), 6);
  EXPECT_EQ(got.available(), 4);

  count.set_on_hand(6);
  ASSERT_TRUE(stub_->SetSkuInventory(As(Ops()).get(), count, &counted).ok());
  EXPECT_EQ(counted.sku().available(), 0);
  EXPECT_FALSE(counted.sku().in_stock());
  count.set_on_hand(20);
  ASSERT_TRUE(stub_->SetSkuInventory(As(Ops()).get(), count, &counted).ok());
  EXPECT_EQ(counted.sku().on_hand(), 20);
  EXPECT_EQ(counted.sku().reserved(), 6);
  EXPECT_EQ(counted.sku().available(), 14);
  // Viewers may not count stock.
  EXPECT_EQ(stub_->SetSkuInventory(As(Viewer("o-openid-1")).get(), count, &counted).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(CatalogServiceTest, PrivateRoomListsShowCohortItemsAndPricesToTheirCohortOnly) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PRIVATE);
  std::string vip_token = Invite(room.id(), kVip);
  std::string friends_token = Invite(room.id(), kFriends);
  GoLive(room.id());
  Join("alice", room.id(), vip_token);
  Join("bob", room.id(), friends_token);

  v1::Product everyday = Activate(Create("Everyday").id());   // shown to all, list price
  v1::Product vip_only = Activate(Create("VIP piece").id());  // VIP cohort only
  v1::Product shared = Activate(Create("Shared").id());       // all, with a VIP price
  v1::Product draft = Create("Draft");                        // not ACTIVE: ops only

  ASSERT_TRUE(Attach(room.id(), everyday.id(), 0).ok());
  ASSERT_TRUE(Attach(room.id(), vip_only.id(), 0, kVip, {{kVip, 80000}}).ok());
  ASSERT_TRUE(Attach(room.id(), shared.id(), 0, "", {{kVip, 70000}, {kFriends, 95000}}).ok());
  v1::RoomProduct attached;
  ASSERT_TRUE(Attach(room.id(), draft.id(), 0, "", {}, nullptr, &attached).ok());
  EXPECT_EQ(attached.position(), 4);
  // Re-attaching moves the item (and replaces its settings).
  ASSERT_TRUE(Attach(room.id(), shared.id(), 1, "", {{kVip, 70000}}, nullptr, &attached).ok());
  EXPECT_EQ(attached.position(), 1);
  ASSERT_EQ(attached.cohort_prices_size(), 1);
  EXPECT_EQ(CountRows("room_products"), 4);
  EXPECT_EQ(CountRows("room_product_prices"), 2);

  // Ops see everything, at list prices, with who sees what and every cohort price.
  std::vector<v1::RoomProduct> items;
  ASSERT_TRUE(ListRoom(Ops(), room.id(), &items).ok());
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].product().name(), "Shared");
  EXPECT_EQ(items[1].product().name(), "Everyday");
  EXPECT_EQ(items[2].product().name(), "VIP piece");
  EXPECT_EQ(items[3].product().name(), "Draft");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(items[static_cast<size_t>(i)].position(), i + 1);
  EXPECT_EQ(items[2].visible_to_cohort(), kVip);
  ASSERT_EQ(items[2].cohort_prices_size(), 1);
  EXPECT_EQ(items[2].cohort_prices(0).cohort(), kVip);
  EXPECT_EQ(items[2].cohort_prices(0).price().amount_fen(), 80000);
  EXPECT_EQ(items[0].price().amount_fen(), 100000);
  EXPECT_EQ(items[0].product().skus(0).on_hand(), 10);

  // Alice (VIP) sees the VIP piece and her prices, no draft, nothing about other cohorts.
  ASSERT_TRUE(ListRoom(Viewer("alice"), room.id(), &items).ok());
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].product().name(), "Shared");
  EXPECT_EQ(items[0].price().amount_fen(), 70000);
  ASSERT_EQ(items[0].skus_size(), 2);
  EXPECT_EQ(items[0].skus(0).price().amount_fen(), 70000);  // the cohort price beats SKU prices
  EXPECT_EQ(items[0].skus(1).price().amount_fen(), 70000);
  EXPECT_EQ(items[0].skus(0).price().currency(), "CNY");
  EXPECT_EQ(items[1].product().name(), "Everyday");
  EXPECT_EQ(items[1].price().amount_fen(), 100000);
  EXPECT_EQ(items[1].skus(1).price().amount_fen(), 120000);  // the SKU's own price
  EXPECT_EQ(items[2].product().name(), "VIP piece");
  EXPECT_EQ(items[2].price().amount_fen(), 80000);
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(items[i].position(), static_cast<int>(i) + 1);
    EXPECT_EQ(items[i].cohort_prices_size(), 0);
    EXPECT_TRUE(items[i].visible_to_cohort().empty());
    EXPECT_EQ(items[i].product().skus(0).on_hand(), 0);  // counts are for ops
  }
  EXPECT_EQ(items[1].skus(0).available(), 10);
  EXPECT_TRUE(items[1].skus(0).in_stock());
  EXPECT_FALSE(items[1].skus(1).in_stock());

  // Bob (friends) sees neither the VIP piece nor the VIP price; his cohort has no price any more.
  ASSERT_TRUE(ListRoom(Viewer("bob"), room.id(), &items).ok());
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].product().name(), "Shared");
  EXPECT_EQ(items[0].price().amount_fen(), 100000);
  EXPECT_EQ(items[0].skus(1).price().amount_fen(), 120000);
  EXPECT_EQ(items[1].product().name(), "Everyday");

  // A viewer without an invite does not see the list of a private room at all.
  EXPECT_EQ(ListRoom(Viewer("carol"), room.id(), &items).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Another brand does not even find the room.
  EXPECT_EQ(ListRoom(Viewer("alice", kOtherBrand), room.id(), &items).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ListRoom(Ops(), "999999", &items).error_code(), grpc::StatusCode::NOT_FOUND);

  // Availability is live: units reserved for a checkout are gone from the list.
  InventoryReservation r;
  r.reservation_id = "order-1";
  r.brand_id = kBrand;
  r.sku_id = std::stoll(everyday.skus(0).id());
  r.buyer_id = "alice";
  r.quantity = 10;
  r.expires_at = clock_.Now() + absl::Minutes(15);
  ASSERT_TRUE(inventory_->Reserve(r).ok());
  ASSERT_TRUE(ListRoom(Viewer("alice"), room.id(), &items).ok());
  EXPECT_EQ(items[1].skus(0).available(), 0);
  EXPECT_FALSE(items[1].skus(0).in_stock());

  // Reorder: the full list in a new order.
  v1::ReorderRoomProductsRequest reorder;
  reorder.set_room_id(room.id());
  for (const auto& p : {draft, vip_only, everyday, shared}) reorder.add_product_ids(p.id());
  v1::ReorderRoomProductsResponse reordered;
  grpc::Status s = stub_->ReorderRoomProducts(As(Ops()).get(), reorder, &reordered);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(reordered.items_size(), 4);
  EXPECT_EQ(reordered.items(0).product().name(), "Draft");
  EXPECT_EQ(reordered.items(3).product().name(), "Shared");
  EXPECT_EQ(Names(Viewer("alice"), room.id()),
            (std::vector<std::string>{"VIP piece", "Everyday", "Shared"}));
  // Not the full list, a repeat, or a stranger: refused, order unchanged.
  v1::ReorderRoomProductsRequest partial;
  partial.set_room_id(room.id());
  partial.add_product_ids(shared.id());
  partial.add_product_ids(everyday.id());
  EXPECT_EQ(stub_->ReorderRoomProducts(As(Ops()).get(), partial, &reordered).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  partial.add_product_ids(vip_only.id());
  partial.add_product_ids(Create("Not attached").id());
  EXPECT_EQ(stub_->ReorderRoomProducts(As(Ops()).get(), partial, &reordered).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::ReorderRoomProductsRequest repeated = reorder;
  repeated.set_product_ids(1, draft.id());
  s = stub_->ReorderRoomProducts(As(Ops()).get(), repeated, &reordered);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("product_ids[1]: ", 0), 0u) << s.error_message();
  EXPECT_EQ(stub_->ReorderRoomProducts(As(Viewer("alice")).get(), reorder, &reordered).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Names(Ops(), room.id()),
            (std::vector<std::string>{"Draft", "VIP piece", "Everyday", "Shared"}));

  // Detach: the item and its cohort prices go; the rest close up.
  v1::DetachRoomProductRequest detach;
  detach.set_room_id(room.id());
  detach.set_product_id(vip_only.id());
  v1::DetachRoomProductResponse detached;
  ASSERT_TRUE(stub_->DetachRoomProduct(As(Ops()).get(), detach, &detached).ok());
  EXPECT_EQ(stub_->DetachRoomProduct(As(Ops()).get(), detach, &detached).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(CountRows("room_products"), 3);
  EXPECT_EQ(CountRows("room_product_prices"), 1);
  ASSERT_TRUE(ListRoom(Ops(), room.id(), &items).ok());
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[1].product().name(), "Everyday");
  EXPECT_EQ(items[1].position(), 2);
  EXPECT_EQ(Names(Viewer("alice"), room.id()), (std::vector<std::string>{"Everyday", "Shared"}));
}

TEST_F(CatalogServiceTest, PublicRoomListsShowListPricesToViewersWithoutACohort) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  v1::Product everyday = Activate(Create("Everyday").id());
  v1::Product vip_only = Activate(Create("VIP piece").id());
  ASSERT_TRUE(Attach(room.id(), everyday.id(), 0, "", {{kVip, 50000}}).ok());
  ASSERT_TRUE(Attach(room.id(), vip_only.id(), 0, kVip).ok());
  std::vector<v1::RoomProduct> items;
  ASSERT_TRUE(ListRoom(Viewer("dave"), room.id(), &items).ok());
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].product().name(), "Everyday");
  EXPECT_EQ(items[0].price().amount_fen(), 100000);
  EXPECT_EQ(items[0].skus(0).price().amount_fen(), 100000);
  EXPECT_EQ(items[0].cohort_prices_size(), 0);
  // An archived product drops out of viewers' lists.
  ASSERT_TRUE(Archive(everyday.id()).ok());
  ASSERT_TRUE(ListRoom(Viewer("dave"), room.id(), &items).ok());
  EXPECT_TRUE(items.empty());
  EXPECT_EQ(Names(Ops(), room.id()).size(), 2u);
}

TEST_F(CatalogServiceTest, AttachingIsForOpsOfTheRoomsBrandWithValidInput) {
  v1::Room room = CreateRoom(v1::VISIBILITY_PUBLIC);
  v1::Room foreign_room = CreateRoom(v1::VISIBILITY_PUBLIC, kOtherBrand);
  v1::Product product = Activate(Create("Everyday").id());
  v1::Product foreign = Create(ProductRequest("Theirs", kOtherBrand), Ops(kOtherBrand));

  Principal viewer = Viewer("dave");
  EXPECT_EQ(Attach(room.id(), product.id(), 0, "", {}, &viewer).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Attach(foreign_room.id(), product.id(), 0).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Attach("999999", product.id(), 0).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Attach(room.id(), foreign.id(), 0).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Attach(room.id(), "999999", 0).error_code(), grpc::StatusCode::NOT_FOUND);

  struct Case {
    std::function<grpc::Status()> call;
    std::string field;
  };
  std::vector<Case> cases = {
      {[&] { return Attach(room.id(), product.id(), -1); }, "position"},
      {[&] { return Attach("room-1", product.id(), 0); }, "room_id"},
      {[&] { return Attach(room.id(), "", 0); }, "product_id"},
      {[&] { return Attach(room.id(), product.id(), 0, std::string(101, 'x')); },
       "visible_to_cohort"},
      {[&] {
         return Attach(room.id(), product.id(), 0, "", {{kVip, 0}});
       },
       "cohort_prices[0].price.amount_fen"},
      {[&] {
         return Attach(room.id(), product.id(), 0, "", {{"", 100}});
       },
       "cohort_prices[0].cohort"},
  };
  for (const Case& c : cases) {
    grpc::Status s = c.call();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(s.error_message().rfind(c.field + ": ", 0), 0u) << s.error_message();
  }
  v1::AttachRoomProductRequest euro;
  euro.set_room_id(room.id());
  euro.set_product_id(product.id());
  v1::CohortPrice* price = euro.add_cohort_prices();
  price->set_cohort(kVip);
  *price->mutable_price() = Money(100, "EUR");
  v1::AttachRoomProductResponse response;
  grpc::Status s = stub_->AttachRoomProduct(As(Ops()).get(), euro, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("cohort_prices[0].price.currency: ", 0), 0u)
      << s.error_message();
  EXPECT_EQ(CountRows("room_products"), 0);
  EXPECT_EQ(CountRows("room_product_prices"), 0);

  // Archived products cannot go on a list.
  v1::Product archived = Create("Old");
  ASSERT_TRUE(Archive(archived.id()).ok());
  EXPECT_EQ(Attach(room.id(), archived.id(), 0).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(CountRows("room_products"), 0);
}

}  // namespace
}  // namespace livecommerce::catalog
