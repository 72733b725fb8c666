#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "livecommerce/v1/catalog.pb.h"

namespace livecommerce::catalog {

using v1::ProductStatus;

// Limits on user-supplied fields (text in bytes of UTF-8).
inline constexpr size_t kMaxNameBytes = 200;
inline constexpr size_t kMaxDescriptionBytes = 4000;
inline constexpr size_t kMaxCategoryBytes = 100;
inline constexpr size_t kMaxUrlBytes = 1024;
inline constexpr int kMaxImageUrls = 10;
inline constexpr size_t kMaxSkuCodeBytes = 64;
inline constexpr int kMaxAttributes = 16;
inline constexpr size_t kMaxAttributeKeyBytes = 32;
inline constexpr size_t kMaxAttributeValueBytes = 200;
inline constexpr int kMaxSkusPerProduct = 100;
inline constexpr size_t kMaxCohortBytes = 100;  // as the room service's invite cohorts
inline constexpr int kMaxCohortPrices = 20;
inline constexpr int kMaxRoomProducts = 500;
// 10^12 fen (10 billion yuan): far above any real price, far below int64 overflow in sums.
inline constexpr int64_t kMaxPriceFen = 1'000'000'000'000;
inline constexpr int64_t kMaxOnHand = 1'000'000'000;

// One SKU with its regular inventory. `price_fen` is resolved: the SKU's own price if it has one,
// else the product's list price; `currency` is the product's (every price of a product is in it).
struct SkuRecord {
  int64_t id = 0;
  int64_t product_id = 0;
  std::string brand_id;
  std::string sku_code;
  std::map<std::string, std::string> attributes;
  std::optional<int64_t> own_price_fen;  // unset: the list price applies
  int64_t price_fen = 0;
  std::string currency;
  int64_t on_hand = 0;
  int64_t reserved = 0;
  ProductStatus product_status = v1::PRODUCT_STATUS_UNSPECIFIED;
  absl::Time created_at;
  absl::Time updated_at;

  int64_t available() const { return on_hand - reserved; }
};

struct ProductRecord {
  int64_t id = 0;
  std::string brand_id;
  std::string name;
  std::string description;
  std::vector<std::string> image_urls;
  std::string category;
  int64_t list_price_fen = 0;
  std::string currency;
  ProductStatus status = v1::PRODUCT_STATUS_DRAFT;
  std::vector<SkuRecord> skus;  // in id order
  std::string created_by;
  absl::Time created_at;
  absl::Time updated_at;
};

struct CohortPrice {
  std::string cohort;
  int64_t price_fen = 0;
  std::string currency;
};

// A product on a room's list.
struct RoomProductRecord {
  int64_t id = 0;
  std::string brand_id;
  int64_t room_id = 0;
  int64_t product_id = 0;
  int position = 0;               // 1-based, dense within the room
  std::string visible_to_cohort;  // empty: shown to everyone
  std::vector<CohortPrice> cohort_prices;
  std::string created_by;
  absl::Time created_at;
  absl::Time updated_at;
};

// INVALID_ARGUMENT "<field>.amount_fen: ..." or "<field>.currency: ..." unless the amount is
// 1..kMaxPriceFen fen and the currency three upper-case letters (ISO 4217).
absl::Status ValidatePrice(absl::string_view field, int64_t amount_fen, absl::string_view currency);

// The product's own fields (not its SKUs): brand, name, description, category, image URLs (at most
// kMaxImageUrls, each http(s)) and list price. INVALID_ARGUMENT naming the first bad field.
absl::Status ValidateProductFields(const ProductRecord& product);

// One SKU given for a product priced in `currency`; `field` prefixes every field name ("skus[2]",
// "sku"). Checks the code, the attributes, the own price (same currency as the product) and the
// initial units on hand.
absl::Status ValidateNewSku(absl::string_view field, const SkuRecord& sku,
                            absl::string_view currency);

// A whole new product with its SKUs: 1..kMaxSkusPerProduct SKUs with distinct codes.
absl::Status ValidateNewProduct(const ProductRecord& product);

// 1..kMaxSkuCodeBytes of letters, digits, '-', '_', '.', '/'.
absl::Status ValidateSkuCode(absl::string_view field, absl::string_view sku_code);
// At most kMaxAttributes; keys 1..32 of a-z, 0-9, '_' starting with a letter; values 1..200 bytes
// of single-line text. `field` names the map ("skus[0].attributes").
absl::Status ValidateAttributes(absl::string_view field,
                                const std::map<std::string, std::string>& attributes);
absl::Status ValidateCohort(absl::string_view field, absl::string_view cohort, bool required);
// Cohort prices of a room item of a product priced in `currency`: at most kMaxCohortPrices, one per
// cohort, each a valid price in that currency.
absl::Status ValidateCohortPrices(const std::vector<CohortPrice>& prices,
                                  absl::string_view currency);

// DRAFT -> ACTIVE, ACTIVE -> ARCHIVED, DRAFT -> ARCHIVED; anything else is FAILED_PRECONDITION.
absl::Status CheckTransition(ProductStatus from, ProductStatus to);
// An archived product and its SKUs no longer change (FAILED_PRECONDITION); inventory counts may.
absl::Status CheckEditable(const ProductRecord& product);

// Whether a room item shown to `visible_to_cohort` (empty: everyone) is shown to a viewer whose
// invite cohort for the room is `viewer_cohort` (empty: none).
bool VisibleTo(absl::string_view visible_to_cohort, absl::string_view viewer_cohort);

// The live price for a viewer of `viewer_cohort`: the item's price for that cohort when it has one,
// else `regular_fen` (the SKU's price or the list price). An empty cohort has no cohort price.
int64_t ResolvePriceFen(int64_t regular_fen, const std::vector<CohortPrice>& cohort_prices,
                        absl::string_view viewer_cohort);

}  // namespace livecommerce::catalog
