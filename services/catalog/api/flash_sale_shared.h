#pragma once

// What the files of FlashSaleServiceImpl share (flash_sale_service.cc: sales, rebuilds and
// sweeping; flash_sale_admission.cc; flash_sale_reservations.cc: holds and reservations).

#include "services/catalog/domain/flash_sale.h"
#include "services/catalog/store/flash_stock_store.h"
#include "services/common/principal.h"

namespace livecommerce::catalog {

inline StockLayout LayoutOf(const FlashSaleRecord& sale) {
  return StockLayout{sale.id, sale.buckets};
}

// Every role but viewers: they see any sale of their brand.
inline bool IsStaff(const common::Principal& p) {
  using common::Role;
  return p.role == Role::kOps || p.role == Role::kAssociate || p.role == Role::kService ||
         p.role == Role::kFinance;
}

}  // namespace livecommerce::catalog
