#include "services/catalog/domain/product.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/principal.h"
#include "services/common/status.h"
#include "services/common/validation.h"

namespace livecommerce::catalog {
namespace {

using common::InvalidField;
using common::ValidateText;

bool IsUpperAscii(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLowerAscii(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

absl::Status ValidateImageUrl(absl::string_view field, absl::string_view url) {
  LC_RETURN_IF_ERROR(ValidateText(field, url, kMaxUrlBytes, true, false));
  absl::string_view rest;
  if (absl::StartsWith(url, "https://")) {
    rest = url.substr(8);
  } else if (absl::StartsWith(url, "http://")) {
    rest = url.substr(7);
  } else {
    return InvalidField(field, "must be an http(s) URL");
  }
  if (rest.empty() || rest[0] == '/' || absl::StrContains(url, ' ')) {
    return InvalidField(field, "must be an http(s) URL with a host");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidatePrice(absl::string_view field, int64_t amount_fen,
                           absl::string_view currency) {
  if (amount_fen <= 0) {
    return InvalidField(absl::StrCat(field, ".amount_fen"), "must be positive");
  }
  if (amount_fen > kMaxPriceFen) {
    return InvalidField(absl::StrCat(field, ".amount_fen"),
                        absl::StrCat("must be at most ", kMaxPriceFen));
  }
  if (currency.size() != 3 || !IsUpperAscii(currency[0]) || !IsUpperAscii(currency[1]) ||
      !IsUpperAscii(currency[2])) {
    return InvalidField(absl::StrCat(field, ".currency"),
                        "must be a three-letter upper-case ISO 4217 code such as CNY");
  }
  return absl::OkStatus();
}

absl::Status ValidateProductFields(const ProductRecord& product) {
  if (!common::IsValidId(product.brand_id)) {
    return InvalidField("brand_id", "must be 1-128 characters of letters, digits, _ . : -");
  }
  LC_RETURN_IF_ERROR(ValidateText("name", product.name, kMaxNameBytes, true, false));
  LC_RETURN_IF_ERROR(
      ValidateText("description", product.description, kMaxDescriptionBytes, false, true));
  LC_RETURN_IF_ERROR(ValidateText("category", product.category, kMaxCategoryBytes, false, false));
  if (product.image_urls.size() > static_cast<size_t>(kMaxImageUrls)) {
    return InvalidField("image_urls", absl::StrCat("must hold at most ", kMaxImageUrls, " URLs"));
  }
  for (size_t i = 0; i < product.image_urls.size(); ++i) {
    LC_RETURN_IF_ERROR(
        ValidateImageUrl(absl::StrCat("image_urls[", i, "]"), product.image_urls[i]));
  }
  return ValidatePrice("list_price", product.list_price_fen, product.currency);
}

absl::Status ValidateSkuCode(absl::string_view field, absl::string_view sku_code) {
  if (sku_code.empty()) {
    return InvalidField(field, "must not be empty");
  }
  if (sku_code.size() > kMaxSkuCodeBytes) {
    return InvalidField(field, absl::StrCat("must be at most ", kMaxSkuCodeBytes, " characters"));
  }
  for (char c : sku_code) {
    bool ok = IsUpperAscii(c) || IsLowerAscii(c) || IsDigit(c) || c == '-' || c == '_' ||
              c == '.' || c == '/';
    if (!ok) {
      return InvalidField(field, "must hold only letters, digits and - _ . /");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateAttributes(absl::string_view field,
                                const std::map<std::string, std::string>& attributes) {
  if (attributes.size() > static_cast<size_t>(kMaxAttributes)) {
    return InvalidField(field, absl::StrCat("must hold at most ", kMaxAttributes, " attributes"));
  }
  for (const auto& [key, value] : attributes) {
    bool key_ok = !key.empty() && key.size() <= kMaxAttributeKeyBytes && IsLowerAscii(key[0]);
    for (char c : key) {
      key_ok = key_ok && (IsLowerAscii(c) || IsDigit(c) || c == '_');
    }
    if (!key_ok) {
      return InvalidField(field, absl::StrCat("keys must be 1-", kMaxAttributeKeyBytes,
                                              " characters of a-z, 0-9 and _, starting a-z"));
    }
    // The key is known to be safe to echo back.
    LC_RETURN_IF_ERROR(
        ValidateText(absl::StrCat(field, ".", key), value, kMaxAttributeValueBytes, true, false));
  }
  return absl::OkStatus();
}

absl::Status ValidateNewSku(absl::string_view field, const SkuRecord& sku,
                            absl::string_view currency) {
  LC_RETURN_IF_ERROR(ValidateSkuCode(absl::StrCat(field, ".sku_code"), sku.sku_code));
  LC_RETURN_IF_ERROR(ValidateAttributes(absl::StrCat(field, ".attributes"), sku.attributes));
  if (sku.own_price_fen.has_value()) {
    std::string price_field = absl::StrCat(field, ".price");
    LC_RETURN_IF_ERROR(ValidatePrice(price_field, *sku.own_price_fen, sku.currency));
    if (sku.currency != currency) {
      return InvalidField(absl::StrCat(price_field, ".currency"),
                          absl::StrCat("must be the product's currency, ", currency));
    }
  }
  if (sku.on_hand < 0) {
    return InvalidField(absl::StrCat(field, ".on_hand"), "must not be negative");
  }
  if (sku.on_hand > kMaxOnHand) {
    return InvalidField(absl::StrCat(field, ".on_hand"),
                        absl::StrCat("must be at most ", kMaxOnHand));
  }
  return absl::OkStatus();
}

absl::Status ValidateNewProduct(const ProductRecord& product) {
  LC_RETURN_IF_ERROR(ValidateProductFields(product));
  if (product.skus.empty() || product.skus.size() > static_cast<size_t>(kMaxSkusPerProduct)) {
    return InvalidField("skus", absl::StrCat("must hold 1 to ", kMaxSkusPerProduct, " SKUs"));
  }
  std::set<std::string> codes;
  for (size_t i = 0; i < product.skus.size(); ++i) {
    std::string field = absl::StrCat("skus[", i, "]");
    LC_RETURN_IF_ERROR(ValidateNewSku(field, product.skus[i], product.currency));
    if (!codes.insert(product.skus[i].sku_code).second) {
      return InvalidField(absl::StrCat(field, ".sku_code"), "repeats another SKU's code");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateCohort(absl::string_view field, absl::string_view cohort, bool required) {
  return ValidateText(field, cohort, kMaxCohortBytes, required, false);
}

absl::Status ValidateCohortPrices(const std::vector<CohortPrice>& prices,
                                  absl::string_view currency) {
  if (prices.size() > static_cast<size_t>(kMaxCohortPrices)) {
    return InvalidField("cohort_prices",
                        absl::StrCat("must hold at most ", kMaxCohortPrices, " prices"));
  }
  std::set<std::string> cohorts;
  for (size_t i = 0; i < prices.size(); ++i) {
    std::string field = absl::StrCat("cohort_prices[", i, "]");
    LC_RETURN_IF_ERROR(ValidateCohort(absl::StrCat(field, ".cohort"), prices[i].cohort, true));
    if (!cohorts.insert(prices[i].cohort).second) {
      return InvalidField(absl::StrCat(field, ".cohort"), "repeats another price's cohort");
    }
    std::string price_field = absl::StrCat(field, ".price");
    LC_RETURN_IF_ERROR(ValidatePrice(price_field, prices[i].price_fen, prices[i].currency));
    if (prices[i].currency != currency) {
      return InvalidField(absl::StrCat(price_field, ".currency"),
                          absl::StrCat("must be the product's currency, ", currency));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckTransition(ProductStatus from, ProductStatus to) {
  bool allowed = (from == v1::PRODUCT_STATUS_DRAFT && to == v1::PRODUCT_STATUS_ACTIVE) ||
                 (from == v1::PRODUCT_STATUS_ACTIVE && to == v1::PRODUCT_STATUS_ARCHIVED) ||
                 (from == v1::PRODUCT_STATUS_DRAFT && to == v1::PRODUCT_STATUS_ARCHIVED);
  if (allowed) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "product cannot go from ", v1::ProductStatus_Name(from), " to ", v1::ProductStatus_Name(to)));
}

absl::Status CheckEditable(const ProductRecord& product) {
  if (product.status == v1::PRODUCT_STATUS_ARCHIVED) {
    return absl::FailedPreconditionError("product_id: an archived product cannot change");
  }
  return absl::OkStatus();
}

bool VisibleTo(absl::string_view visible_to_cohort, absl::string_view viewer_cohort) {
  return visible_to_cohort.empty() || visible_to_cohort == viewer_cohort;
}

int64_t ResolvePriceFen(int64_t regular_fen, const std::vector<CohortPrice>& cohort_prices,
                        absl::string_view viewer_cohort) {
  if (viewer_cohort.empty()) {
    return regular_fen;
  }
  for (const CohortPrice& price : cohort_prices) {
    if (price.cohort == viewer_cohort) {
      return price.price_fen;
    }
  }
  return regular_fen;
}

}  // namespace livecommerce::catalog
