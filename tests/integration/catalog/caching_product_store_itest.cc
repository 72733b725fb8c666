// CachingProductStore in front of the real MysqlProductStore (the MariaDB that scripts/test
// starts): a room's list is read once per ttl, a write through the cache is seen at once, a
// write that bypasses it (another replica) is seen after the ttl, and a zero ttl keeps nothing.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/catalog/store/caching_product_store.h"
#include "services/catalog/store/mysql_product_store.h"
#include "services/common/clock.h"
#include "tests/support/test_env.h"

namespace livecommerce::catalog {
namespace {

constexpr char kBrand[] = "maison";
constexpr int64_t kRoom = 42;

class CachingProductStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mysql_ = testing::ConnectTestMysql(
        {"sku_reservations", "room_product_prices", "room_products", "skus", "products"});
    ASSERT_NE(mysql_, nullptr);
    store_ = std::make_unique<MysqlProductStore>(*mysql_);
  }

  int64_t CreateProduct(const std::string& name) {
    ProductRecord product;
    product.brand_id = kBrand;
    product.name = name;
    product.list_price_fen = 450000;
    product.currency = "CNY";
    product.status = v1::PRODUCT_STATUS_ACTIVE;
    product.created_by = "ops-1";
    product.created_at = product.updated_at = clock_.Now();
    SkuRecord sku;
    sku.sku_code = name + "-1";
    sku.on_hand = 5;
    product.skus.push_back(sku);
    auto created = store_->CreateProduct(product);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->id : 0;
  }

  RoomProductRecord Item(int64_t product_id) {
    RoomProductRecord item;
    item.brand_id = kBrand;
    item.room_id = kRoom;
    item.product_id = product_id;
    item.created_by = "ops-1";
    item.created_at = item.updated_at = clock_.Now();
    return item;
  }

  static absl::Status Accept(const ProductRecord&) { return absl::OkStatus(); }

  std::vector<std::string> Names(ProductStore& store) {
    auto list = store.ListRoomProducts(kBrand, kRoom);
    EXPECT_TRUE(list.ok()) << list.status();
    std::vector<std::string> names;
    if (list.ok()) {
      for (const RoomProductView& view : *list) names.push_back(view.product.name);
    }
    return names;
  }

  common::SystemClock clock_;
  std::unique_ptr<common::MysqlPool> mysql_;
  std::unique_ptr<MysqlProductStore> store_;
};

TEST_F(CachingProductStoreTest, KeepsTheListUntilAWriteThroughItThenReadsAgain) {
  CachingProductStore cache(*store_, absl::Hours(1));
  int64_t scarf = CreateProduct("scarf");
  ASSERT_TRUE(cache.AttachRoomProduct(Item(scarf), Accept).ok());
  EXPECT_EQ(Names(cache), std::vector<std::string>{"scarf"});

  // Another replica attaches a product: this process keeps serving what it read.
  int64_t bag = CreateProduct("bag");
  ASSERT_TRUE(store_->AttachRoomProduct(Item(bag), Accept).ok());
  EXPECT_EQ(Names(cache), std::vector<std::string>{"scarf"});
  EXPECT_EQ(Names(*store_), (std::vector<std::string>{"scarf", "bag"}));

  // A write through the cache (here a product renamed) drops every kept list.
  ASSERT_TRUE(cache
                  .UpdateProduct(scarf,
                                 [](ProductRecord& p) {
                                   p.name = "silk scarf";
                                   return absl::OkStatus();
                                 })
                  .ok());
  EXPECT_EQ(Names(cache), (std::vector<std::string>{"silk scarf", "bag"}));

  ASSERT_TRUE(cache.DetachRoomProduct(kBrand, kRoom, bag, clock_.Now()).ok());
  EXPECT_EQ(Names(cache), std::vector<std::string>{"silk scarf"});
}

TEST_F(CachingProductStoreTest, ListsOfAnotherBrandAreKeptApart) {
  CachingProductStore cache(*store_, absl::Hours(1));
  int64_t scarf = CreateProduct("scarf");
  ASSERT_TRUE(cache.AttachRoomProduct(Item(scarf), Accept).ok());
  EXPECT_EQ(Names(cache).size(), 1u);
  auto rival = cache.ListRoomProducts("rival", kRoom);
  ASSERT_TRUE(rival.ok()) << rival.status();
  EXPECT_TRUE(rival->empty());
}

TEST_F(CachingProductStoreTest, AnExpiredOrZeroTtlReadsTheStore) {
  CachingProductStore short_lived(*store_, absl::Milliseconds(50));
  CachingProductStore none(*store_, absl::ZeroDuration());
  int64_t scarf = CreateProduct("scarf");
  ASSERT_TRUE(store_->AttachRoomProduct(Item(scarf), Accept).ok());
  EXPECT_EQ(Names(short_lived).size(), 1u);
  EXPECT_EQ(Names(none).size(), 1u);

  int64_t bag = CreateProduct("bag");
  ASSERT_TRUE(store_->AttachRoomProduct(Item(bag), Accept).ok());
  EXPECT_EQ(Names(none).size(), 2u);
  absl::SleepFor(absl::Milliseconds(60));
  EXPECT_EQ(Names(short_lived).size(), 2u);
}

}  // namespace
}  // namespace livecommerce::catalog
