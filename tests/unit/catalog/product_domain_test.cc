// Catalog domain rules: validation naming the field, status transitions, cohort visibility and
// price resolution. No I/O.
#include <functional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/catalog/domain/product.h"

namespace livecommerce::catalog {
namespace {

ProductRecord GoodProduct() {
  ProductRecord p;
  p.brand_id = "maison";
  p.name = "Le Petit Sac";
  p.description = "Calfskin.\nMade in France.";
  p.image_urls = {"https://cdn.example.com/sac-1.jpg", "http://cdn.example.com/sac-2.jpg"};
  p.category = "bags";
  p.list_price_fen = 2'350'000;
  p.currency = "CNY";
  SkuRecord black;
  black.sku_code = "SAC-PS-BLK";
  black.attributes = {{"colour", "black"}, {"size", "small"}};
  black.on_hand = 5;
  SkuRecord red = black;
  red.sku_code = "SAC-PS-RED";
  red.attributes["colour"] = "rouge";
  red.own_price_fen = 2'500'000;
  red.currency = "CNY";
  p.skus = {black, red};
  return p;
}

// The error is INVALID_ARGUMENT and its message starts with the field name and a colon.
void ExpectInvalid(const absl::Status& status, const std::string& field) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << field << ": " << status;
  EXPECT_EQ(std::string(status.message()).rfind(field + ": ", 0), 0u)
      << "expected field " << field << ", got: " << status.message();
}

TEST(ProductValidation, AcceptsAGoodProduct) {
  EXPECT_TRUE(ValidateNewProduct(GoodProduct()).ok()) << ValidateNewProduct(GoodProduct());
}

TEST(ProductValidation, NamesTheBadField) {
  struct Case {
    std::function<void(ProductRecord&)> mutate;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](auto& p) { p.brand_id = ""; }, "brand_id"},
      {[](auto& p) { p.name = ""; }, "name"},
      {[](auto& p) { p.name = std::string(kMaxNameBytes + 1, 'x'); }, "name"},
      {[](auto& p) { p.name = "two\nlines"; }, "name"},
      {[](auto& p) { p.name = "bad \xff utf8"; }, "name"},
      {[](auto& p) { p.description = std::string(kMaxDescriptionBytes + 1, 'x'); }, "description"},
      {[](auto& p) { p.category = std::string(kMaxCategoryBytes + 1, 'x'); }, "category"},
      {[](auto& p) { p.image_urls.assign(kMaxImageUrls + 1, "https://cdn.example.com/a.jpg"); },
       "image_urls"},
      {[](auto& p) { p.image_urls[1] = "ftp://cdn.example.com/a.jpg"; }, "image_urls[1]"},
      {[](auto& p) { p.image_urls[0] = "javascript:alert(1)"; }, "image_urls[0]"},
      {[](auto& p) { p.image_urls[0] = "https://"; }, "image_urls[0]"},
      {[](auto& p) { p.image_urls[0] = ""; }, "image_urls[0]"},
      {[](auto& p) { p.list_price_fen = 0; }, "list_price.amount_fen"},
      {[](auto& p) { p.list_price_fen = -100; }, "list_price.amount_fen"},
      {[](auto& p) { p.list_price_fen = kMaxPriceFen + 1; }, "list_price.amount_fen"},
      {[](auto& p) { p.currency = "cny"; }, "list_price.currency"},
      {[](auto& p) { p.currency = "CN"; }, "list_price.currency"},
      {[](auto& p) { p.currency = ""; }, "list_price.currency"},
      {[](auto& p) { p.skus.clear(); }, "skus"},
      {[](auto& p) {
         SkuRecord copy = p.skus[0];
         p.skus.resize(kMaxSkusPerProduct + 1, copy);
       },
       "skus"},
      {[](auto& p) { p.skus[1].sku_code = ""; }, "skus[1].sku_code"},
      {[](auto& p) { p.skus[1].sku_code = "has space"; }, "skus[1].sku_code"},
      {[](auto& p) { p.skus[0].sku_code = std::string(kMaxSkuCodeBytes + 1, 'A'); },
       "skus[0].sku_code"},
      {[](auto& p) { p.skus[1].sku_code = p.skus[0].sku_code; }, "skus[1].sku_code"},
      {[](auto& p) { p.skus[1].own_price_fen = 0; }, "skus[1].price.amount_fen"},
      {[](auto& p) { p.skus[1].own_price_fen = -1; }, "skus[1].price.amount_fen"},
      {[](auto& p) { p.skus[1].currency = "EUR"; }, "skus[1].price.currency"},
      {[](auto& p) { p.skus[1].currency = "euro"; }, "skus[1].price.currency"},
      {[](auto& p) { p.skus[0].on_hand = -1; }, "skus[0].on_hand"},
      {[](auto& p) { p.skus[0].on_hand = kMaxOnHand + 1; }, "skus[0].on_hand"},
      {[](auto& p) { p.skus[0].attributes["Colour"] = "x"; }, "skus[0].attributes"},
      {[](auto& p) { p.skus[0].attributes[""] = "x"; }, "skus[0].attributes"},
      {[](auto& p) { p.skus[0].attributes["1size"] = "x"; }, "skus[0].attributes"},
      {[](auto& p) { p.skus[0].attributes["size"] = ""; }, "skus[0].attributes.size"},
      {[](auto& p) { p.skus[0].attributes["size"] = std::string(201, 'x'); },
       "skus[0].attributes.size"},
      {[](auto& p) {
         for (int i = 0; i <= kMaxAttributes; ++i)
           p.skus[0].attributes["a" + std::to_string(i)] = "x";
       },
       "skus[0].attributes"},
  };
  for (const Case& c : cases) {
    ProductRecord p = GoodProduct();
    c.mutate(p);
    ExpectInvalid(ValidateNewProduct(p), c.field);
  }
}

TEST(ProductValidation, AcceptsTheLimitsThemselves) {
  ProductRecord p = GoodProduct();
  p.name = std::string(kMaxNameBytes, 'x');
  p.image_urls.assign(kMaxImageUrls, "https://cdn.example.com/a.jpg");
  p.list_price_fen = kMaxPriceFen;
  p.skus[0].sku_code = std::string(kMaxSkuCodeBytes, 'A');
  p.skus[0].on_hand = 0;
  p.name = "小方包 Le Petit Sac";  // UTF-8 text is fine
  EXPECT_TRUE(ValidateNewProduct(p).ok()) << ValidateNewProduct(p);
}

TEST(ProductValidation, CohortPrices) {
  std::vector<CohortPrice> prices = {{"VIP clients", 1'999'900, "CNY"},
                                     {"friends", 2'100'000, "CNY"}};
  EXPECT_TRUE(ValidateCohortPrices(prices, "CNY").ok());
  ExpectInvalid(ValidateCohortPrices(prices, "EUR"), "cohort_prices[0].price.currency");
  prices[1].cohort = "VIP clients";
  ExpectInvalid(ValidateCohortPrices(prices, "CNY"), "cohort_prices[1].cohort");
  prices[1].cohort = "";
  ExpectInvalid(ValidateCohortPrices(prices, "CNY"), "cohort_prices[1].cohort");
  prices[1] = {"friends", 0, "CNY"};
  ExpectInvalid(ValidateCohortPrices(prices, "CNY"), "cohort_prices[1].price.amount_fen");
  std::vector<CohortPrice> many;
  for (int i = 0; i <= kMaxCohortPrices; ++i) many.push_back({"c" + std::to_string(i), 1, "CNY"});
  ExpectInvalid(ValidateCohortPrices(many, "CNY"), "cohort_prices");
  ExpectInvalid(ValidateCohort("visible_to_cohort", std::string(kMaxCohortBytes + 1, 'x'), false),
                "visible_to_cohort");
  EXPECT_TRUE(ValidateCohort("visible_to_cohort", "", false).ok());
}

TEST(ProductTransitions, OnlyTheLegalOnes) {
  using v1::PRODUCT_STATUS_ACTIVE;
  using v1::PRODUCT_STATUS_ARCHIVED;
  using v1::PRODUCT_STATUS_DRAFT;
  EXPECT_TRUE(CheckTransition(PRODUCT_STATUS_DRAFT, PRODUCT_STATUS_ACTIVE).ok());
  EXPECT_TRUE(CheckTransition(PRODUCT_STATUS_ACTIVE, PRODUCT_STATUS_ARCHIVED).ok());
  EXPECT_TRUE(CheckTransition(PRODUCT_STATUS_DRAFT, PRODUCT_STATUS_ARCHIVED).ok());
  for (auto [from, to] : std::vector<std::pair<ProductStatus, ProductStatus>>{
           {PRODUCT_STATUS_ACTIVE, PRODUCT_STATUS_ACTIVE},
           {PRODUCT_STATUS_ACTIVE, PRODUCT_STATUS_DRAFT},
           {PRODUCT_STATUS_ARCHIVED, PRODUCT_STATUS_ACTIVE},
           {PRODUCT_STATUS_ARCHIVED, PRODUCT_STATUS_DRAFT},
           {PRODUCT_STATUS_ARCHIVED, PRODUCT_STATUS_ARCHIVED},
           {PRODUCT_STATUS_DRAFT, PRODUCT_STATUS_DRAFT}}) {
    EXPECT_EQ(CheckTransition(from, to).code(), absl::StatusCode::kFailedPrecondition)
        << v1::ProductStatus_Name(from) << " -> " << v1::ProductStatus_Name(to);
  }
  ProductRecord archived = GoodProduct();
  archived.status = PRODUCT_STATUS_ARCHIVED;
  EXPECT_EQ(CheckEditable(archived).code(), absl::StatusCode::kFailedPrecondition);
  archived.status = PRODUCT_STATUS_ACTIVE;
  EXPECT_TRUE(CheckEditable(archived).ok());
}

TEST(RoomItems, CohortVisibility) {
  EXPECT_TRUE(VisibleTo("", ""));
  EXPECT_TRUE(VisibleTo("", "VIP clients"));
  EXPECT_TRUE(VisibleTo("VIP clients", "VIP clients"));
  EXPECT_FALSE(VisibleTo("VIP clients", ""));
  EXPECT_FALSE(VisibleTo("VIP clients", "friends"));
  EXPECT_FALSE(VisibleTo("VIP clients", "vip clients"));  // exact, as the room service stores it
}

TEST(RoomItems, CohortPriceResolution) {
  std::vector<CohortPrice> prices = {{"VIP clients", 1'800'000, "CNY"},
                                     {"friends", 2'000'000, "CNY"}};
  EXPECT_EQ(ResolvePriceFen(2'350'000, prices, "VIP clients"), 1'800'000);
  EXPECT_EQ(ResolvePriceFen(2'350'000, prices, "friends"), 2'000'000);
  EXPECT_EQ(ResolvePriceFen(2'350'000, prices, "prospects"), 2'350'000);  // no price: regular
  EXPECT_EQ(ResolvePriceFen(2'350'000, prices, ""), 2'350'000);           // no cohort: regular
  EXPECT_EQ(ResolvePriceFen(2'350'000, {}, "VIP clients"), 2'350'000);
  // A cohort price named "" (never stored: validation refuses it) would not apply to everyone.
  EXPECT_EQ(ResolvePriceFen(2'350'000, {{"", 1, "CNY"}}, ""), 2'350'000);
}

TEST(Skus, AvailableIsOnHandMinusReserved) {
  SkuRecord sku;
  sku.on_hand = 10;
  sku.reserved = 4;
  EXPECT_EQ(sku.available(), 6);
}

}  // namespace
}  // namespace livecommerce::catalog
