#include "services/catalog/domain/flash_sale.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/common/hash.h"
#include "services/common/principal.h"
#include "services/common/status.h"

namespace livecommerce::catalog {

using common::InvalidField;

FlashSaleStatus EffectiveStatus(const FlashSaleRecord& sale, absl::Time now) {
  if (sale.status == v1::FLASH_SALE_STATUS_CANCELLED ||
      sale.status == v1::FLASH_SALE_STATUS_ENDED) {
    return sale.status;
  }
  if (now < sale.starts_at) {
    return v1::FLASH_SALE_STATUS_SCHEDULED;
  }
  if (now < sale.ends_at) {
    return v1::FLASH_SALE_STATUS_ACTIVE;
  }
  return v1::FLASH_SALE_STATUS_ENDED;
}

absl::Status ValidateNewSale(const FlashSaleRecord& sale) {
  if (sale.sale_price_fen <= 0) {
    return InvalidField("sale_price.amount_fen", "must be positive");
  }
  if (sale.currency.size() != 3 ||
      !absl::ascii_isupper(static_cast<unsigned char>(sale.currency[0])) ||
      !absl::ascii_isupper(static_cast<unsigned char>(sale.currency[1])) ||
      !absl::ascii_isupper(static_cast<unsigned char>(sale.currency[2]))) {
    return InvalidField("sale_price.currency", "must be a three-letter ISO 4217 code");
  }
  if (sale.total_stock <= 0) {
    return InvalidField("total_stock", "must be positive");
  }
  if (sale.total_stock > kMaxSaleStock) {
    return InvalidField("total_stock", absl::StrCat("must be at most ", kMaxSaleStock));
  }
  if (sale.per_buyer_limit <= 0) {
    return InvalidField("per_buyer_limit", "must be positive");
  }
  if (sale.per_buyer_limit > sale.total_stock) {
    return InvalidField("per_buyer_limit", "must not exceed total_stock");
  }
  if (sale.starts_at == absl::UnixEpoch()) {
    return InvalidField("starts_at", "is required");
  }
  if (sale.ends_at <= sale.starts_at) {
    return InvalidField("ends_at", "must be after starts_at");
  }
  if (sale.buckets < 1 || sale.buckets > kMaxSaleBuckets) {
    return InvalidField("buckets", absl::StrCat("must be between 1 and ", kMaxSaleBuckets));
  }
  return absl::OkStatus();
}

absl::Status CheckReservable(const FlashSaleRecord& sale, absl::Time now) {
  switch (EffectiveStatus(sale, now)) {
    case v1::FLASH_SALE_STATUS_ACTIVE:
      return absl::OkStatus();
    case v1::FLASH_SALE_STATUS_SCHEDULED:
      return absl::FailedPreconditionError("sale_id: the flash sale has not started");
    case v1::FLASH_SALE_STATUS_CANCELLED:
      return absl::FailedPreconditionError("sale_id: the flash sale was cancelled");
    default:
      return absl::FailedPreconditionError("sale_id: the flash sale has ended");
  }
}

absl::Status ValidateReservationId(absl::string_view id) {
  if (id.size() > 64 || !common::IsValidId(id)) {
    return InvalidField("reservation_id", "must be 1-64 characters of letters, digits, _ . : -");
  }
  return absl::OkStatus();
}

absl::Status ValidateQuantity(int64_t quantity) {
  if (quantity <= 0) {
    return InvalidField("quantity", "must be positive");
  }
  if (quantity > 1000) {
    return InvalidField("quantity", "must be at most 1000");
  }
  return absl::OkStatus();
}

int HomeBucket(absl::string_view buyer_id, int buckets) {
  uint64_t hash = common::StableHash(buyer_id);
  return static_cast<int>(hash % static_cast<uint64_t>(buckets < 1 ? 1 : buckets));
}

std::vector<int64_t> SplitStock(int64_t units, int buckets) {
  std::vector<int64_t> split(static_cast<size_t>(buckets < 1 ? 1 : buckets), 0);
  int64_t n = static_cast<int64_t>(split.size());
  for (size_t i = 0; i < split.size(); ++i) {
    split[i] = units / n + (static_cast<int64_t>(i) < units % n ? 1 : 0);
  }
  return split;
}

}  // namespace livecommerce::catalog
