#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "services/room/clients/catalog_directory.h"

namespace livecommerce::testing {

// The catalog as the room service sees it, in memory, for room service tests that run without a
// catalog service: products whose id starts with "prod-" exist (SKUs starting with "sku-"), and a
// room's flash stock is whatever the test sets.
class FakeCatalogDirectory final : public room::CatalogDirectory {
 public:
  absl::Status Resolve(const std::string& brand_id, v1::PinnedProduct& pinned) override {
    if (!absl::StartsWith(pinned.product_id(), "prod-") ||
        (!pinned.sku_id().empty() && !absl::StartsWith(pinned.sku_id(), "sku-"))) {
      return absl::NotFoundError("product_id: no such product");
    }
    pinned.set_product_name("Product " + pinned.product_id());
    pinned.set_image_url("https://cdn.example.com/" + pinned.product_id() + ".jpg");
    pinned.mutable_price()->set_amount_fen(129900);
    pinned.mutable_price()->set_currency("CNY");
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<v1::FlashStock>> RoomFlashStock(const std::string& brand_id,
                                                             const std::string& room_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    return stock_;
  }
  void SetFlashStock(std::vector<v1::FlashStock> stock) {
    std::lock_guard<std::mutex> lock(mu_);
    stock_ = std::move(stock);
  }

 private:
  std::mutex mu_;
  std::vector<v1::FlashStock> stock_;
};

}  // namespace livecommerce::testing
