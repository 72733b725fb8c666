#include "services/catalog/api/catalog_service.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/log_format.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "services/common/validation.h"

namespace livecommerce::catalog {
namespace {

using common::FormatId;
using common::InvalidField;
using common::kAnyRole;
using common::ParseId;
using common::Principal;
using common::Role;
using common::ToTimestamp;

constexpr int kDefaultPageSize = 20;
constexpr int kMaxPageSize = 100;

// Ops and other services see every status, every room item and the inventory counts.
bool SeesEverything(const Principal& p) { return p.role == Role::kOps || p.role == Role::kService; }

// Only ops change the catalog.
constexpr common::Roles kOpsOnly{Role::kOps};

void SetMoney(int64_t amount_fen, const std::string& currency, v1::Money* out) {
  out->set_amount_fen(amount_fen);
  out->set_currency(currency);
}

void ToProto(const SkuRecord& sku, bool full, v1::Sku* out) {
  out->set_id(FormatId(sku.id));
  out->set_product_id(FormatId(sku.product_id));
  out->set_brand_id(sku.brand_id);
  out->set_sku_code(sku.sku_code);
  out->mutable_attributes()->insert(sku.attributes.begin(), sku.attributes.end());
  if (sku.own_price_fen.has_value()) {
    SetMoney(*sku.own_price_fen, sku.currency, out->mutable_price());
  }
  SetMoney(sku.price_fen, sku.currency, out->mutable_effective_price());
  if (full) {
    out->set_on_hand(sku.on_hand);
    out->set_reserved(sku.reserved);
  }
  int64_t available = std::max<int64_t>(0, sku.available());
  out->set_available(available);
  out->set_in_stock(available > 0);
  ToTimestamp(sku.created_at, out->mutable_created_at());
  ToTimestamp(sku.updated_at, out->mutable_updated_at());
}

void ToProto(const ProductRecord& product, bool full, v1::Product* out) {
  out->set_id(FormatId(product.id));
  out->set_brand_id(product.brand_id);
  out->set_name(product.name);
  out->set_description(product.description);
  for (const std::string& url : product.image_urls) {
    out->add_image_urls(url);
  }
  out->set_category(product.category);
  SetMoney(product.list_price_fen, product.currency, out->mutable_list_price());
  out->set_status(product.status);
  for (const SkuRecord& sku : product.skus) {
    ToProto(sku, full, out->add_skus());
  }
  ToTimestamp(product.created_at, out->mutable_created_at());
  ToTimestamp(product.updated_at, out->mutable_updated_at());
}

// A room item as a caller of `viewer_cohort` sees it; `full` adds who it is shown to and every
// cohort price (ops and services).
void ToProto(const RoomProductView& view, int position, absl::string_view viewer_cohort, bool full,
             v1::RoomProduct* out) {
  const RoomProductRecord& item = view.item;
  const ProductRecord& product = view.product;
  out->set_room_id(FormatId(item.room_id));
  out->set_position(position);
  ToProto(product, full, out->mutable_product());
  SetMoney(ResolvePriceFen(product.list_price_fen, item.cohort_prices, viewer_cohort),
           product.currency, out->mutable_price());
  for (const SkuRecord& sku : product.skus) {
    v1::SkuOffer* offer = out->add_skus();
    offer->set_sku_id(FormatId(sku.id));
    SetMoney(ResolvePriceFen(sku.price_fen, item.cohort_prices, viewer_cohort), sku.currency,
             offer->mutable_price());
    int64_t available = std::max<int64_t>(0, sku.available());
    offer->set_available(available);
    offer->set_in_stock(available > 0);
  }
  if (full) {
    out->set_visible_to_cohort(item.visible_to_cohort);
    for (const CohortPrice& price : item.cohort_prices) {
      v1::CohortPrice* p = out->add_cohort_prices();
      p->set_cohort(price.cohort);
      SetMoney(price.price_fen, price.currency, p->mutable_price());
    }
  }
}

SkuRecord FromProto(const v1::NewSku& in) {
  SkuRecord sku;
  sku.sku_code = in.sku_code();
  sku.attributes.insert(in.attributes().begin(), in.attributes().end());
  if (in.has_price()) {
    sku.own_price_fen = in.price().amount_fen();
    sku.currency = in.price().currency();
  }
  sku.on_hand = in.on_hand();
  return sku;
}

}  // namespace

CatalogServiceImpl::CatalogServiceImpl(ProductStore& products, InventoryStore& inventory,
                                       RoomDirectory& rooms, const common::Clock& clock,
                                       const common::PrincipalCodec& codec)
    : products_(products), inventory_(inventory), rooms_(rooms), clock_(clock), codec_(codec) {}

absl::StatusOr<ProductRecord> CatalogServiceImpl::LoadProduct(const Principal& caller,
                                                              absl::string_view product_id) {
  LC_ASSIGN_OR_RETURN(int64_t id, ParseId("product_id", product_id));
  LC_ASSIGN_OR_RETURN(ProductRecord product, products_.GetProduct(id));
  if (product.brand_id != caller.brand_id ||
      (!SeesEverything(caller) && product.status != v1::PRODUCT_STATUS_ACTIVE)) {
    return absl::NotFoundError("product_id: no such product");
  }
  return product;
}

absl::StatusOr<SkuRecord> CatalogServiceImpl::LoadSku(const Principal& caller,
                                                      absl::string_view sku_id) {
  LC_ASSIGN_OR_RETURN(int64_t id, ParseId("sku_id", sku_id));
  LC_ASSIGN_OR_RETURN(SkuRecord sku, products_.GetSku(id));
  if (sku.brand_id != caller.brand_id ||
      (!SeesEverything(caller) && sku.product_status != v1::PRODUCT_STATUS_ACTIVE)) {
    return absl::NotFoundError("sku_id: no such SKU");
  }
  return sku;
}

absl::StatusOr<int64_t> CatalogServiceImpl::LoadRoomForOps(const Principal& caller,
                                                           absl::string_view room_id) {
  LC_ASSIGN_OR_RETURN(int64_t id, ParseId("room_id", room_id));
  LC_ASSIGN_OR_RETURN(RoomAccess room, rooms_.Access(caller.brand_id, FormatId(id), ""));
  if (room.brand_id != caller.brand_id) {
    return absl::NotFoundError("room_id: no such room");
  }
  return id;
}

absl::Status CatalogServiceImpl::CheckInRoom(const Principal& caller, absl::string_view room_id,
                                             int64_t product_id, absl::string_view field) {
  LC_ASSIGN_OR_RETURN(int64_t id, ParseId("room_id", room_id));
  bool is_viewer = caller.role == Role::kViewer;
  LC_ASSIGN_OR_RETURN(RoomAccess access, rooms_.Access(caller.brand_id, FormatId(id),
                                                       is_viewer ? caller.subject : ""));
  if (access.brand_id != caller.brand_id) {
    return absl::NotFoundError("room_id: no such room");
  }
  if (is_viewer && !access.admitted) {
    return absl::PermissionDeniedError("room_id: this room is private; an invite is needed");
  }
  LC_ASSIGN_OR_RETURN(std::vector<RoomProductView> views,
                      products_.ListRoomProducts(caller.brand_id, id));
  for (const RoomProductView& view : views) {
    if (view.item.product_id != product_id) continue;
    if (SeesEverything(caller) ||
        VisibleTo(view.item.visible_to_cohort, is_viewer ? access.cohort : "")) {
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError(
      absl::StrCat(field, ": no such ", field == "sku_id" ? "SKU" : "product", " in this room"));
}

// ---- Products ----------------------------------------------------------------------------------

grpc::Status CatalogServiceImpl::CreateProduct(grpc::ServerContext* context,
                                               const v1::CreateProductRequest* request,
                                               v1::CreateProductResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    LC_RETURN_IF_ERROR(common::RequireRole(caller, request->brand_id(), {Role::kOps}));
    if (!request->has_list_price()) {
      return InvalidField("list_price", "is required");
    }
    absl::Time now = clock_.Now();
    ProductRecord product;
    product.brand_id = request->brand_id();
    product.name = request->name();
    product.description = request->description();
    product.image_urls.assign(request->image_urls().begin(), request->image_urls().end());
    product.category = request->category();
    product.list_price_fen = request->list_price().amount_fen();
    product.currency = request->list_price().currency();
    product.status = v1::PRODUCT_STATUS_DRAFT;
    for (const v1::NewSku& sku : request->skus()) {
      product.skus.push_back(FromProto(sku));
    }
    product.created_by = caller.subject;
    product.created_at = now;
    product.updated_at = now;
    LC_RETURN_IF_ERROR(ValidateNewProduct(product));
    LC_ASSIGN_OR_RETURN(ProductRecord created, products_.CreateProduct(product));
    spdlog::info("product {} created for brand {} with {} SKUs", created.id, created.brand_id,
                 created.skus.size());
    ToProto(created, true, response->mutable_product());
    return absl::OkStatus();
  });
}

grpc::Status CatalogServiceImpl::UpdateProduct(grpc::ServerContext* context,
                                               const v1::UpdateProductRequest* request,
                                               v1::UpdateProductResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(ProductRecord current, LoadProduct(caller, request->product_id()));
    absl::Time now = clock_.Now();
    LC_ASSIGN_OR_RETURN(
        ProductRecord updated,
        products_.UpdateProduct(current.id, [&](ProductRecord& product) -> absl::Status {
          LC_RETURN_IF_ERROR(CheckEditable(product));
          if (request->has_name()) product.name = request->name();
          if (request->has_description()) product.description = request->description();
          if (request->has_category()) product.category = request->category();
          if (request->has_image_urls()) {
            product.image_urls.assign(request->image_urls().urls().begin(),
                                      request->image_urls().urls().end());
          }
          if (request->has_list_price()) {
            const v1::Money& price = request->list_price();
            LC_RETURN_IF_ERROR(ValidatePrice("list_price", price.amount_fen(), price.currency()));
            if (price.currency() != product.currency) {
              // SKU and room prices are stored in the product's currency.
              return InvalidField("list_price.currency",
                                  absl::StrCat("must stay ", product.currency,
                                               ", the currency of the product's prices"));
            }
            product.list_price_fen = price.amount_fen();
          }
          product.updated_at = now;
          return ValidateProductFields(product);
        }));
    ToProto(updated, true, response->mutable_product());
    return absl::OkStatus();
  });
}

absl::Status CatalogServiceImpl::ChangeStatus(const Principal& caller, absl::string_view product_id,
                                              v1::ProductStatus to, v1::Product* out) {
  LC_ASSIGN_OR_RETURN(ProductRecord current, LoadProduct(caller, product_id));
  absl::Time now = clock_.Now();
  LC_ASSIGN_OR_RETURN(
      ProductRecord updated,
      products_.UpdateProduct(current.id, [&](ProductRecord& product) -> absl::Status {
        LC_RETURN_IF_ERROR(CheckTransition(product.status, to));
        product.status = to;
        product.updated_at = now;
        return absl::OkStatus();
      }));
  spdlog::info("product {} of brand {} is now {}", updated.id, updated.brand_id,
               v1::ProductStatus_Name(to));
  ToProto(updated, true, out);
  return absl::OkStatus();
}

grpc::Status CatalogServiceImpl::ActivateProduct(grpc::ServerContext* context,
                                                 const v1::ActivateProductRequest* request,
                                                 v1::ActivateProductResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) {
    return ChangeStatus(caller, request->product_id(), v1::PRODUCT_STATUS_ACTIVE,
                        response->mutable_product());
  });
}

grpc::Status CatalogServiceImpl::ArchiveProduct(grpc::ServerContext* context,
                                                const v1::ArchiveProductRequest* request,
                                                v1::ArchiveProductResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) {
    return ChangeStatus(caller, request->product_id(), v1::PRODUCT_STATUS_ARCHIVED,
                        response->mutable_product());
  });
}

grpc::Status CatalogServiceImpl::GetProduct(grpc::ServerContext* context,
                                            const v1::GetProductRequest* request,
                                            v1::GetProductResponse* response) {
  return frame_.Run(*context, kAnyRole, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(ProductRecord product, LoadProduct(caller, request->product_id()));
    if (!request->room_id().empty()) {
      LC_RETURN_IF_ERROR(CheckInRoom(caller, request->room_id(), product.id, "product_id"));
    }
    ToProto(product, SeesEverything(caller), response->mutable_product());
    return absl::OkStatus();
  });
}

grpc::Status CatalogServiceImpl::ListProducts(grpc::ServerContext* context,
                                              const v1::ListProductsRequest* request,
                                              v1::ListProductsResponse* response) {
  return frame_.Run(*context, kAnyRole, [&](const Principal& caller) -> absl::Status {
    if (request->brand_id() != caller.brand_id) {
      return absl::PermissionDeniedError("brand_id: caller belongs to another brand");
    }
    if (!v1::ProductStatus_IsValid(request->status())) {
      return InvalidField("status", "is not a product status");
    }
    LC_RETURN_IF_ERROR(
        common::ValidateText("category", request->category(), kMaxCategoryBytes, false, false));
    ProductStatus status = request->status();
    bool full = SeesEverything(caller);
    if (!full) {
      if (status == v1::PRODUCT_STATUS_UNSPECIFIED) {
        status = v1::PRODUCT_STATUS_ACTIVE;
      } else if (status != v1::PRODUCT_STATUS_ACTIVE) {
        return absl::PermissionDeniedError("status: only ops see products that are not ACTIVE");
      }
    }
    LC_ASSIGN_OR_RETURN(common::PageRequest page,
                        common::ParsePageRequest(request->page_size(), request->page_token(),
                                                 kDefaultPageSize, kMaxPageSize));
    ProductQuery query{caller.brand_id, request->category(), status, page.after, page.fetch()};
    LC_ASSIGN_OR_RETURN(std::vector<ProductRecord> products, products_.ListProducts(query));
    bool more = common::TrimPage(products, page.limit);
    for (const ProductRecord& product : products) {
      ToProto(product, full, response->add_products());
    }
    if (more) {
      response->set_next_page_token(common::EncodePageToken(products.back().id));
    }
    return absl::OkStatus();
  });
}

// ---- SKUs --------------------------------------------------------------------------------------

grpc::Status CatalogServiceImpl::AddSku(grpc::ServerContext* context,
                                        const v1::AddSkuRequest* request,
                                        v1::AddSkuResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(int64_t product_id, ParseId("product_id", request->product_id()));
    if (!request->has_sku()) {
      return InvalidField("sku", "is required");
    }
    SkuRecord sku = FromProto(request->sku());
    sku.created_at = sku.updated_at = clock_.Now();
    LC_ASSIGN_OR_RETURN(
        SkuRecord added,
        products_.AddSku(product_id, sku, [&](const ProductRecord& product) -> absl::Status {
          if (product.brand_id != caller.brand_id) {
            return absl::NotFoundError("product_id: no such product");
          }
          LC_RETURN_IF_ERROR(CheckEditable(product));
          LC_RETURN_IF_ERROR(ValidateNewSku("sku", sku, product.currency));
          if (product.skus.size() >= static_cast<size_t>(kMaxSkusPerProduct)) {
            return absl::FailedPreconditionError(
                absl::StrCat("product_id: a product has at most ", kMaxSkusPerProduct, " SKUs"));
          }
          return absl::OkStatus();
        }));
    spdlog::info("SKU {} added to product {}", added.id, added.product_id);
    ToProto(added, true, response->mutable_sku());
    return absl::OkStatus();
  });
}

grpc::Status CatalogServiceImpl::UpdateSku(grpc::ServerContext* context,
                                           const v1::UpdateSkuRequest* request,
                                           v1::UpdateSkuResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(int64_t sku_id, ParseId("sku_id", request->sku_id()));
    if (request->has_price() && request->clear_price()) {
      return InvalidField("clear_price", "give either price or clear_price, not both");
    }
    if (request->has_price()) {
      LC_RETURN_IF_ERROR(
          ValidatePrice("price", request->price().amount_fen(), request->price().currency()));
    }
    std::map<std::string, std::string> attributes;
    if (request->has_attributes()) {
      attributes.insert(request->attributes().values().begin(),
                        request->attributes().values().end());
      LC_RETURN_IF_ERROR(ValidateAttributes("attributes", attributes));
    }
    absl::Time now = clock_.Now();
    LC_ASSIGN_OR_RETURN(
        SkuRecord updated,
        products_.UpdateSku(
            sku_id, [&](const ProductRecord& product, SkuRecord& sku) -> absl::Status {
              if (product.brand_id != caller.brand_id) {
                return absl::NotFoundError("sku_id: no such SKU");
              }
              LC_RETURN_IF_ERROR(CheckEditable(product));
              if (request->has_price()) {
                if (request->price().currency() != product.currency) {
                  return InvalidField(
                      "price.currency",
                      absl::StrCat("must be the product's currency, ", product.currency));
                }
                sku.own_price_fen = request->price().amount_fen();
              }
              if (request->clear_price()) {
                sku.own_price_fen.reset();
              }
              if (request->has_attributes()) {
                sku.attributes = attributes;
              }
              sku.updated_at = now;
              return absl::OkStatus();
            }));
    ToProto(updated, true, response->mutable_sku());
    return absl::OkStatus();
  });
}

grpc::Status CatalogServiceImpl::SetSkuInventory(grpc::ServerContext* context,
                                                 const v1::SetSkuInventoryRequest* request,
                                                 v1::SetSkuInventoryResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(SkuRecord sku, LoadSku(caller, request->sku_id()));
    if (request->on_hand() < 0) {
      return InvalidField("on_hand", "must not be negative");
    }
    if (request->on_hand() > kMaxOnHand) {
      return InvalidField("on_hand", absl::StrCat("must be at most ", kMaxOnHand));
    }
    LC_ASSIGN_OR_RETURN(SkuRecord updated,
                        products_.SetOnHand(sku.id, request->on_hand(), clock_.Now()));
    spdlog::info("SKU {} on hand set to {} ({} reserved)", updated.id, updated.on_hand,
                 updated.reserved);
    ToProto(updated, true, response->mutable_sku());
    return absl::OkStatus();
  });
}

grpc::Status CatalogServiceImpl::GetSku(grpc::ServerContext* context,
                                        const v1::GetSkuRequest* request,
                                        v1::GetSkuResponse* response) {
  return frame_.Run(*context, kAnyRole, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(SkuRecord sku, LoadSku(caller, request->sku_id()));
    if (!request->room_id().empty()) {
      LC_RETURN_IF_ERROR(CheckInRoom(caller, request->room_id(), sku.product_id, "sku_id"));
    }
    ToProto(sku, SeesEverything(caller), response->mutable_sku());
    return absl::OkStatus();
  });
}

// ---- Room product lists ------------------------------------------------------------------------

absl::Status CatalogServiceImpl::ListRoomItems(
    const Principal& caller, int64_t room_id, const std::string& viewer_cohort, bool full_view,
    google::protobuf::RepeatedPtrField<v1::RoomProduct>* out) {
  LC_ASSIGN_OR_RETURN(std::vector<RoomProductView> views,
                      products_.ListRoomProducts(caller.brand_id, room_id));
  int position = 0;
  for (const RoomProductView& view : views) {
    if (!full_view && (view.product.status != v1::PRODUCT_STATUS_ACTIVE ||
                       !VisibleTo(view.item.visible_to_cohort, viewer_cohort))) {
      continue;
    }
    // Positions count what the caller sees, so gaps do not betray hidden items.
    ++position;
    ToProto(view, full_view ? view.item.position : position, viewer_cohort, full_view, out->Add());
  }
  return absl::OkStatus();
}

grpc::Status CatalogServiceImpl::AttachRoomProduct(grpc::ServerContext* context,
                                                   const v1::AttachRoomProductRequest* request,
                                                   v1::AttachRoomProductResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(int64_t product_id, ParseId("product_id", request->product_id()));
    if (request->position() < 0) {
      return InvalidField("position", "must not be negative (0 puts the product last)");
    }
    LC_RETURN_IF_ERROR(ValidateCohort("visible_to_cohort", request->visible_to_cohort(), false));
    RoomProductRecord item;
    for (int i = 0; i < request->cohort_prices_size(); ++i) {
      const v1::CohortPrice& price = request->cohort_prices(i);
      if (!price.has_price()) {
        return InvalidField(absl::StrCat("cohort_prices[", i, "].price"), "is required");
      }
      item.cohort_prices.push_back(
          CohortPrice{price.cohort(), price.price().amount_fen(), price.price().currency()});
    }
    LC_ASSIGN_OR_RETURN(int64_t room_id, LoadRoomForOps(caller, request->room_id()));
    absl::Time now = clock_.Now();
    item.brand_id = caller.brand_id;
    item.room_id = room_id;
    item.product_id = product_id;
    item.position = request->position();
    item.visible_to_cohort = request->visible_to_cohort();
    item.created_by = caller.subject;
    item.created_at = now;
    item.updated_at = now;
    LC_ASSIGN_OR_RETURN(
        RoomProductView attached,
        products_.AttachRoomProduct(item, [&](const ProductRecord& product) -> absl::Status {
          if (product.brand_id != caller.brand_id) {
            return absl::NotFoundError("product_id: no such product");
          }
          if (product.status == v1::PRODUCT_STATUS_ARCHIVED) {
            return absl::FailedPreconditionError(
                "product_id: an archived product cannot be put on a room's list");
          }
          return ValidateCohortPrices(item.cohort_prices, product.currency);
        }));
    spdlog::info("product {} on room {} at position {}", product_id, room_id,
                 attached.item.position);
    ToProto(attached, attached.item.position, "", true, response->mutable_item());
    return absl::OkStatus();
  });
}

grpc::Status CatalogServiceImpl::DetachRoomProduct(grpc::ServerContext* context,
                                                   const v1::DetachRoomProductRequest* request,
                                                   v1::DetachRoomProductResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(int64_t product_id, ParseId("product_id", request->product_id()));
    LC_ASSIGN_OR_RETURN(int64_t room_id, LoadRoomForOps(caller, request->room_id()));
    LC_RETURN_IF_ERROR(
        products_.DetachRoomProduct(caller.brand_id, room_id, product_id, clock_.Now()));
    spdlog::info("product {} off room {}", product_id, room_id);
    return absl::OkStatus();
  });
}

grpc::Status CatalogServiceImpl::ReorderRoomProducts(grpc::ServerContext* context,
                                                     const v1::ReorderRoomProductsRequest* request,
                                                     v1::ReorderRoomProductsResponse* response) {
  return frame_.Run(*context, kOpsOnly, [&](const Principal& caller) -> absl::Status {
    if (request->product_ids_size() > kMaxRoomProducts) {
      return InvalidField("product_ids",
                          absl::StrCat("must hold at most ", kMaxRoomProducts, " products"));
    }
    std::vector<int64_t> ids;
    std::set<int64_t> seen;
    for (int i = 0; i < request->product_ids_size(); ++i) {
      std::string field = absl::StrCat("product_ids[", i, "]");
      LC_ASSIGN_OR_RETURN(int64_t id, ParseId(field, request->product_ids(i)));
      if (!seen.insert(id).second) {
        return InvalidField(field, "repeats an earlier product");
      }
      ids.push_back(id);
    }
    LC_ASSIGN_OR_RETURN(int64_t room_id, LoadRoomForOps(caller, request->room_id()));
    LC_RETURN_IF_ERROR(products_.ReorderRoomProducts(caller.brand_id, room_id, ids, clock_.Now()));
    return ListRoomItems(caller, room_id, "", true, response->mutable_items());
  });
}

grpc::Status CatalogServiceImpl::ListRoomProducts(grpc::ServerContext* context,
                                                  const v1::ListRoomProductsRequest* request,
                                                  v1::ListRoomProductsResponse* response) {
  return frame_.Run(*context, kAnyRole, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(int64_t room_id, ParseId("room_id", request->room_id()));
    // Viewers are asked about by name: the room service knows their invite and its cohort. Staff
    // are not invitees; they may read any room of their brand, as in the room service.
    bool is_viewer = caller.role == Role::kViewer;
    LC_ASSIGN_OR_RETURN(RoomAccess access, rooms_.Access(caller.brand_id, FormatId(room_id),
                                                         is_viewer ? caller.subject : ""));
    if (access.brand_id != caller.brand_id) {
      return absl::NotFoundError("room_id: no such room");
    }
    if (is_viewer && !access.admitted) {
      return absl::PermissionDeniedError("room_id: this room is private; an invite is needed");
    }
    bool full = SeesEverything(caller);
    return ListRoomItems(caller, room_id, is_viewer ? access.cohort : "", full,
                         response->mutable_items());
  });
}

}  // namespace livecommerce::catalog
