#include "services/catalog/store/mysql_product_store.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/sql.h"
#include "services/common/status.h"

namespace livecommerce::catalog {
namespace {

using common::AllRead;
using common::MysqlConnection;
using common::Sql;
using common::SqlRow;
using common::SqlStatement;

constexpr char kProductColumns[] =
    "p.id, p.brand_id, p.name, p.description, p.image_urls, p.category, p.list_price_fen, "
    "p.currency, p.status, p.created_by, p.created_at, p.updated_at";

// A SKU with its product's list price, currency and status (the join resolves the price).
constexpr char kSkuColumns[] =
    "s.id, s.product_id, s.brand_id, s.sku_code, s.attributes, s.price_fen, p.list_price_fen, "
    "p.currency, s.on_hand, s.reserved, p.status, s.created_at, s.updated_at";

constexpr char kRoomProductColumns[] =
    "rp.id, rp.brand_id, rp.room_id, rp.product_id, rp.position, rp.visible_to_cohort, "
    "rp.created_by, rp.created_at, rp.updated_at";

std::string UrlsToJson(const std::vector<std::string>& urls) {
  google::protobuf::ListValue list;
  for (const std::string& url : urls) {
    list.add_values()->set_string_value(url);
  }
  std::string json;
  // Cannot fail: every value is a string of valid UTF-8 (validated before it gets here).
  (void)google::protobuf::util::MessageToJsonString(list, &json);
  return json;
}

absl::StatusOr<std::vector<std::string>> UrlsFromJson(const std::string& json) {
  google::protobuf::ListValue list;
  if (!google::protobuf::util::JsonStringToMessage(json, &list).ok()) {
    return absl::InternalError("products.image_urls: not a JSON array");
  }
  std::vector<std::string> urls;
  for (const google::protobuf::Value& value : list.values()) {
    urls.push_back(value.string_value());
  }
  return urls;
}

std::string AttributesToJson(const std::map<std::string, std::string>& attributes) {
  google::protobuf::Struct object;
  for (const auto& [key, value] : attributes) {
    (*object.mutable_fields())[key].set_string_value(value);
  }
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(object, &json);
  return json;
}

absl::StatusOr<std::map<std::string, std::string>> AttributesFromJson(const std::string& json) {
  google::protobuf::Struct object;
  if (!google::protobuf::util::JsonStringToMessage(json, &object).ok()) {
    return absl::InternalError("skus.attributes: not a JSON object");
  }
  std::map<std::string, std::string> attributes;
  for (const auto& [key, value] : object.fields()) {
    attributes[key] = value.string_value();
  }
  return attributes;
}

std::optional<std::string> NullIfEmpty(const std::string& text) {
  return text.empty() ? std::nullopt : std::optional<std::string>(text);
}

absl::StatusOr<ProductRecord> ReadProduct(const SqlRow& row) {
  ProductRecord product;
  product.id = row.Int("id");
  product.brand_id = row.Str("brand_id");
  product.name = row.Str("name");
  product.description = row.Str("description");
  LC_ASSIGN_OR_RETURN(product.image_urls, UrlsFromJson(row.Str("image_urls")));
  product.category = row.Str("category");
  product.list_price_fen = row.Int("list_price_fen");
  product.currency = row.Str("currency");
  product.status = row.Enum<ProductStatus>("status");
  product.created_by = row.Str("created_by");
  product.created_at = row.Time("created_at");
  product.updated_at = row.Time("updated_at");
  return product;
}

// A row of kSkuColumns: the SKU with its product's list price, currency and status.
absl::StatusOr<SkuRecord> ReadSku(const SqlRow& row) {
  SkuRecord sku;
  sku.id = row.Int("id");
  sku.product_id = row.Int("product_id");
  sku.brand_id = row.Str("brand_id");
  sku.sku_code = row.Str("sku_code");
  LC_ASSIGN_OR_RETURN(sku.attributes, AttributesFromJson(row.Str("attributes")));
  sku.own_price_fen = row.OptInt("price_fen");
  sku.price_fen = sku.own_price_fen.value_or(row.Int("list_price_fen"));
  sku.currency = row.Str("currency");
  sku.on_hand = row.Int("on_hand");
  sku.reserved = row.Int("reserved");
  sku.product_status = row.Enum<ProductStatus>("status");
  sku.created_at = row.Time("created_at");
  sku.updated_at = row.Time("updated_at");
  return sku;
}

absl::StatusOr<std::vector<SkuRecord>> SelectSkusOfProduct(MysqlConnection& c, int64_t product_id) {
  return AllRead(
      Sql(c,
          absl::StrCat("SELECT ", kSkuColumns,
                       " FROM skus s JOIN products p ON p.id = s.product_id WHERE s.product_id = ? "
                       "ORDER BY s.id"),
          product_id)
          .All(ReadSku));
}

// `lock` is "", " FOR UPDATE" or " LOCK IN SHARE MODE"; it applies to the product row only.
absl::StatusOr<ProductRecord> SelectProduct(MysqlConnection& c, int64_t product_id,
                                            const char* lock) {
  std::optional<absl::StatusOr<ProductRecord>> read =
      Sql(c, absl::StrCat("SELECT ", kProductColumns, " FROM products p WHERE p.id = ?", lock),
          product_id)
          .One(ReadProduct);
  if (!read.has_value()) {
    return absl::NotFoundError("product_id: no such product");
  }
  LC_ASSIGN_OR_RETURN(ProductRecord product, *std::move(read));
  LC_ASSIGN_OR_RETURN(product.skus, SelectSkusOfProduct(c, product_id));
  return product;
}

absl::StatusOr<SkuRecord> SelectSku(MysqlConnection& c, int64_t sku_id, const char* lock) {
  std::optional<absl::StatusOr<SkuRecord>> read =
      Sql(c,
          absl::StrCat("SELECT ", kSkuColumns,
                       " FROM skus s JOIN products p ON p.id = s.product_id WHERE s.id = ?", lock),
          sku_id)
          .One(ReadSku);
  if (!read.has_value()) {
    return absl::NotFoundError("sku_id: no such SKU");
  }
  return *std::move(read);
}

// Inserts one SKU; ALREADY_EXISTS naming `field` when the brand already uses its code.
absl::StatusOr<int64_t> InsertSku(MysqlConnection& c, const std::string& brand_id,
                                  int64_t product_id, const SkuRecord& sku, absl::Time now,
                                  absl::string_view field) {
  std::optional<int> inserted =
      Sql(c,
          "INSERT INTO skus (brand_id, product_id, sku_code, attributes, price_fen, on_hand, "
          "reserved, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
          brand_id, product_id, sku.sku_code, AttributesToJson(sku.attributes), sku.own_price_fen,
          sku.on_hand, now, now)
          .ExecuteUnless(common::kSqlDuplicateKey);
  if (!inserted.has_value()) {
    return absl::AlreadyExistsError(
        absl::StrCat(field, ": already used by another SKU of the brand"));
  }
  return c.LastInsertId();
}

void WriteProduct(MysqlConnection& c, const ProductRecord& product) {
  Sql(c,
      "UPDATE products SET name = ?, description = ?, image_urls = ?, category = ?, "
      "list_price_fen = ?, currency = ?, status = ?, updated_at = ? WHERE id = ?",
      product.name, product.description, UrlsToJson(product.image_urls), product.category,
      product.list_price_fen, product.currency, product.status, product.updated_at, product.id)
      .Execute();
}

// ---- Room lists ---------------------------------------------------------------------------------

struct ListEntry {
  int64_t id = 0;
  int64_t product_id = 0;
  int position = 0;
};

// The room's list in order, locked against concurrent changes of the same list.
std::vector<ListEntry> LockRoomList(MysqlConnection& c, const std::string& brand_id,
                                    int64_t room_id) {
  return Sql(c,
             "SELECT id, product_id, position FROM room_products WHERE room_id = ? AND brand_id = "
             "? ORDER BY position, id FOR UPDATE",
             room_id, brand_id)
      .All([](const SqlRow& row) {
        return ListEntry{row.Int("id"), row.Int("product_id"),
                         static_cast<int>(row.Int("position"))};
      });
}

// Writes positions 1..n in the order of `entries`, touching only rows whose position changes.
void Renumber(MysqlConnection& c, const std::vector<ListEntry>& entries, absl::Time now) {
  for (size_t i = 0; i < entries.size(); ++i) {
    int position = static_cast<int>(i) + 1;
    if (entries[i].position == position) {
      continue;
    }
    Sql(c, "UPDATE room_products SET position = ?, updated_at = ? WHERE id = ?", position, now,
        entries[i].id)
        .Execute();
  }
}

RoomProductRecord ReadRoomProduct(const SqlRow& row) {
  RoomProductRecord item;
  item.id = row.Int("id");
  item.brand_id = row.Str("brand_id");
  item.room_id = row.Int("room_id");
  item.product_id = row.Int("product_id");
  item.position = static_cast<int>(row.Int("position"));
  item.visible_to_cohort = row.Str("visible_to_cohort");
  item.created_by = row.Str("created_by");
  item.created_at = row.Time("created_at");
  item.updated_at = row.Time("updated_at");
  return item;
}

// Cohort prices of a room's items, by item id, in cohort order.
std::map<int64_t, std::vector<CohortPrice>> SelectCohortPrices(MysqlConnection& c,
                                                               int64_t room_id) {
  std::map<int64_t, std::vector<CohortPrice>> prices;
  Sql(c,
      "SELECT room_product_id, cohort, price_fen, currency FROM room_product_prices "
      "WHERE room_id = ? ORDER BY room_product_id, cohort",
      room_id)
      .ForEach([&](const SqlRow& row) {
        prices[row.Int("room_product_id")].push_back(
            CohortPrice{row.Str("cohort"), row.Int("price_fen"), row.Str("currency")});
      });
  return prices;
}

absl::StatusOr<std::vector<RoomProductRecord>> SelectRoomList(MysqlConnection& c,
                                                              const std::string& brand_id,
                                                              int64_t room_id) {
  std::vector<RoomProductRecord> items =
      Sql(c,
          absl::StrCat("SELECT ", kRoomProductColumns,
                       " FROM room_products rp WHERE rp.room_id = ? AND rp.brand_id = ? "
                       "ORDER BY rp.position, rp.id"),
          room_id, brand_id)
          .All(ReadRoomProduct);
  std::map<int64_t, std::vector<CohortPrice>> prices = SelectCohortPrices(c, room_id);
  for (RoomProductRecord& item : items) {
    auto it = prices.find(item.id);
    if (it != prices.end()) {
      item.cohort_prices = std::move(it->second);
    }
  }
  return items;
}

}  // namespace

absl::StatusOr<ProductRecord> MysqlProductStore::CreateProduct(const ProductRecord& product) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<ProductRecord> {
    Sql(c,
        "INSERT INTO products (brand_id, name, description, image_urls, category, "
        "list_price_fen, currency, status, created_by, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        product.brand_id, product.name, product.description, UrlsToJson(product.image_urls),
        product.category, product.list_price_fen, product.currency, product.status,
        product.created_by, product.created_at, product.updated_at)
        .Execute();
    int64_t id = c.LastInsertId();
    for (size_t i = 0; i < product.skus.size(); ++i) {
      LC_ASSIGN_OR_RETURN(int64_t sku_id,
                          InsertSku(c, product.brand_id, id, product.skus[i], product.created_at,
                                    absl::StrCat("skus[", i, "].sku_code")));
      (void)sku_id;
    }
    return SelectProduct(c, id, "");
  });
}

absl::StatusOr<ProductRecord> MysqlProductStore::GetProduct(int64_t product_id) {
  // A transaction gives the product and its SKUs from one snapshot.
  return pool_.InTransaction([&](MysqlConnection& c) { return SelectProduct(c, product_id, ""); });
}

absl::StatusOr<ProductRecord> MysqlProductStore::UpdateProduct(
    int64_t product_id, const std::function<absl::Status(ProductRecord&)>& mutate) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<ProductRecord> {
    LC_ASSIGN_OR_RETURN(ProductRecord product, SelectProduct(c, product_id, " FOR UPDATE"));
    LC_RETURN_IF_ERROR(mutate(product));
    WriteProduct(c, product);
    // SKU prices resolve against the list price, which may just have changed.
    return SelectProduct(c, product_id, "");
  });
}

absl::StatusOr<std::vector<ProductRecord>> MysqlProductStore::ListProducts(
    const ProductQuery& query) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<std::vector<ProductRecord>> {
    // Fixed SQL text per filter combination, so each shape is prepared once per connection. The
    // same filter picks the page's SKUs through a derived table.
    std::string filter = "brand_id = ? AND id > ?";
    if (!query.category.empty()) {
      absl::StrAppend(&filter, " AND category = ?");
    }
    if (query.status != v1::PRODUCT_STATUS_UNSPECIFIED) {
      absl::StrAppend(&filter, " AND status = ?");
    }
    auto bind = [&](SqlStatement& s) -> SqlStatement& {
      s.Bind(query.brand_id, query.after_id);
      if (!query.category.empty()) {
        s.Bind(query.category);
      }
      if (query.status != v1::PRODUCT_STATUS_UNSPECIFIED) {
        s.Bind(query.status);
      }
      return s.Bind(query.limit);
    };
    SqlStatement products =
        Sql(c, absl::StrCat("SELECT ", kProductColumns, " FROM products p WHERE ", filter,
                            " ORDER BY p.id LIMIT ?"));
    LC_ASSIGN_OR_RETURN(std::vector<ProductRecord> page, AllRead(bind(products).All(ReadProduct)));
    if (page.empty()) {
      return page;
    }
    std::map<int64_t, size_t> index_of;
    for (size_t i = 0; i < page.size(); ++i) {
      index_of[page[i].id] = i;
    }
    SqlStatement skus = Sql(
        c,
        absl::StrCat("SELECT ", kSkuColumns,
                     " FROM skus s JOIN products p ON p.id = s.product_id JOIN (SELECT id FROM "
                     "products WHERE ",
                     filter, " ORDER BY id LIMIT ?) page ON page.id = s.product_id ORDER BY s.id"));
    LC_ASSIGN_OR_RETURN(std::vector<SkuRecord> all, AllRead(bind(skus).All(ReadSku)));
    for (SkuRecord& sku : all) {
      auto it = index_of.find(sku.product_id);
      if (it != index_of.end()) {
        page[it->second].skus.push_back(std::move(sku));
      }
    }
    return page;
  });
}

absl::StatusOr<SkuRecord> MysqlProductStore::AddSku(
    int64_t product_id, const SkuRecord& sku,
    const std::function<absl::Status(const ProductRecord&)>& check) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<SkuRecord> {
    LC_ASSIGN_OR_RETURN(ProductRecord product, SelectProduct(c, product_id, " FOR UPDATE"));
    LC_RETURN_IF_ERROR(check(product));
    LC_ASSIGN_OR_RETURN(int64_t sku_id, InsertSku(c, product.brand_id, product.id, sku,
                                                  sku.created_at, "sku.sku_code"));
    return SelectSku(c, sku_id, "");
  });
}

absl::StatusOr<SkuRecord> MysqlProductStore::GetSku(int64_t sku_id) {
  return pool_.Run([&](MysqlConnection& c) { return SelectSku(c, sku_id, ""); });
}

absl::StatusOr<SkuRecord> MysqlProductStore::UpdateSku(
    int64_t sku_id, const std::function<absl::Status(const ProductRecord&, SkuRecord&)>& mutate) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<SkuRecord> {
    LC_ASSIGN_OR_RETURN(SkuRecord current, SelectSku(c, sku_id, ""));
    // Product first, then SKU: the lock order AddSku and UpdateProduct use too.
    LC_ASSIGN_OR_RETURN(ProductRecord product, SelectProduct(c, current.product_id, " FOR UPDATE"));
    LC_ASSIGN_OR_RETURN(SkuRecord sku, SelectSku(c, sku_id, " FOR UPDATE"));
    LC_RETURN_IF_ERROR(mutate(product, sku));
    Sql(c, "UPDATE skus SET attributes = ?, price_fen = ?, updated_at = ? WHERE id = ?",
        AttributesToJson(sku.attributes), sku.own_price_fen, sku.updated_at, sku_id)
        .Execute();
    return SelectSku(c, sku_id, "");
  });
}

absl::StatusOr<SkuRecord> MysqlProductStore::SetOnHand(int64_t sku_id, int64_t on_hand,
                                                       absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<SkuRecord> {
    int changed =
        Sql(c, "UPDATE skus SET on_hand = ?, updated_at = ? WHERE id = ? AND reserved <= ?",
            on_hand, now, sku_id, on_hand)
            .Execute();
    if (changed == 0) {
      LC_ASSIGN_OR_RETURN(SkuRecord sku, SelectSku(c, sku_id, " LOCK IN SHARE MODE"));
      if (sku.reserved > on_hand) {
        return absl::FailedPreconditionError(
            absl::StrCat("on_hand: ", sku.reserved,
                         " units are reserved for checkouts; on_hand cannot go below that"));
      }
      // Unchanged value: MySQL reports no affected row.
      return sku;
    }
    return SelectSku(c, sku_id, "");
  });
}

absl::StatusOr<RoomProductView> MysqlProductStore::AttachRoomProduct(
    const RoomProductRecord& item, const std::function<absl::Status(const ProductRecord&)>& check) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<RoomProductView> {
    // Shared lock: the product cannot be archived while it is being attached.
    LC_ASSIGN_OR_RETURN(ProductRecord product,
                        SelectProduct(c, item.product_id, " LOCK IN SHARE MODE"));
    LC_RETURN_IF_ERROR(check(product));
    std::vector<ListEntry> entries = LockRoomList(c, item.brand_id, item.room_id);
    auto found = std::find_if(entries.begin(), entries.end(),
                              [&](const ListEntry& e) { return e.product_id == item.product_id; });
    ListEntry entry;
    if (found != entries.end()) {
      entry = *found;
      entries.erase(found);
      Sql(c, "UPDATE room_products SET visible_to_cohort = ?, updated_at = ? WHERE id = ?",
          NullIfEmpty(item.visible_to_cohort), item.updated_at, entry.id)
          .Execute();
      Sql(c, "DELETE FROM room_product_prices WHERE room_product_id = ?", entry.id).Execute();
    } else {
      if (entries.size() >= static_cast<size_t>(kMaxRoomProducts)) {
        return absl::FailedPreconditionError(
            absl::StrCat("room_id: a room lists at most ", kMaxRoomProducts, " products"));
      }
      Sql(c,
          "INSERT INTO room_products (brand_id, room_id, product_id, position, "
          "visible_to_cohort, created_by, created_at, updated_at) VALUES (?, ?, ?, 0, ?, ?, ?, ?)",
          item.brand_id, item.room_id, item.product_id, NullIfEmpty(item.visible_to_cohort),
          item.created_by, item.created_at, item.updated_at)
          .Execute();
      entry = ListEntry{c.LastInsertId(), item.product_id, 0};
    }
    for (const CohortPrice& price : item.cohort_prices) {
      Sql(c,
          "INSERT INTO room_product_prices (brand_id, room_product_id, room_id, cohort, "
          "price_fen, currency, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
          item.brand_id, entry.id, item.room_id, price.cohort, price.price_fen, price.currency,
          item.updated_at)
          .Execute();
    }
    size_t at = entries.size();
    if (item.position > 0 && static_cast<size_t>(item.position) <= entries.size()) {
      at = static_cast<size_t>(item.position) - 1;
    }
    entries.insert(entries.begin() + static_cast<std::ptrdiff_t>(at), entry);
    Renumber(c, entries, item.updated_at);
    LC_ASSIGN_OR_RETURN(std::vector<RoomProductRecord> list,
                        SelectRoomList(c, item.brand_id, item.room_id));
    for (RoomProductRecord& stored : list) {
      if (stored.id == entry.id) {
        return RoomProductView{std::move(stored), std::move(product)};
      }
    }
    return absl::InternalError("room product vanished inside its own transaction");
  });
}

absl::Status MysqlProductStore::DetachRoomProduct(const std::string& brand_id, int64_t room_id,
                                                  int64_t product_id, absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::Status {
    std::vector<ListEntry> entries = LockRoomList(c, brand_id, room_id);
    auto found = std::find_if(entries.begin(), entries.end(),
                              [&](const ListEntry& e) { return e.product_id == product_id; });
    if (found == entries.end()) {
      return absl::NotFoundError("product_id: not on the room's list");
    }
    Sql(c, "DELETE FROM room_product_prices WHERE room_product_id = ?", found->id).Execute();
    Sql(c, "DELETE FROM room_products WHERE id = ?", found->id).Execute();
    entries.erase(found);
    Renumber(c, entries, now);
    return absl::OkStatus();
  });
}

absl::Status MysqlProductStore::ReorderRoomProducts(const std::string& brand_id, int64_t room_id,
                                                    const std::vector<int64_t>& product_ids,
                                                    absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::Status {
    std::vector<ListEntry> entries = LockRoomList(c, brand_id, room_id);
    std::map<int64_t, ListEntry> by_product;
    for (const ListEntry& e : entries) {
      by_product[e.product_id] = e;
    }
    std::set<int64_t> asked(product_ids.begin(), product_ids.end());
    bool same = asked.size() == product_ids.size() && asked.size() == by_product.size();
    for (int64_t id : asked) {
      same = same && by_product.count(id) == 1;
    }
    if (!same) {
      return absl::FailedPreconditionError(
          absl::StrCat("product_ids: must name each of the ", by_product.size(),
                       " products on the room's list exactly once"));
    }
    std::vector<ListEntry> ordered;
    ordered.reserve(product_ids.size());
    for (int64_t id : product_ids) {
      ordered.push_back(by_product[id]);
    }
    Renumber(c, ordered, now);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<RoomProductView>> MysqlProductStore::ListRoomProducts(
    const std::string& brand_id, int64_t room_id) {
  // One transaction: the list, the products and their SKUs come from one snapshot.
  return pool_.InTransaction(
      [&](MysqlConnection& c) -> absl::StatusOr<std::vector<RoomProductView>> {
        LC_ASSIGN_OR_RETURN(std::vector<RoomProductRecord> items,
                            SelectRoomList(c, brand_id, room_id));
        std::vector<RoomProductView> views;
        if (items.empty()) {
          return views;
        }
        std::map<int64_t, ProductRecord> products;
        {
          LC_ASSIGN_OR_RETURN(
              std::vector<ProductRecord> read,
              AllRead(Sql(c,
                          absl::StrCat("SELECT ", kProductColumns,
                                       " FROM products p JOIN room_products rp ON rp.product_id = "
                                       "p.id WHERE rp.room_id = ? AND rp.brand_id = ?"),
                          room_id, brand_id)
                          .All(ReadProduct)));
          for (ProductRecord& product : read) {
            int64_t id = product.id;
            products[id] = std::move(product);
          }
        }
        {
          LC_ASSIGN_OR_RETURN(
              std::vector<SkuRecord> skus,
              AllRead(Sql(c,
                          absl::StrCat("SELECT ", kSkuColumns,
                                       " FROM skus s JOIN products p ON p.id = s.product_id JOIN "
                                       "room_products rp ON rp.product_id = s.product_id WHERE "
                                       "rp.room_id = ? AND rp.brand_id = ? ORDER BY s.id"),
                          room_id, brand_id)
                          .All(ReadSku)));
          for (SkuRecord& sku : skus) {
            auto it = products.find(sku.product_id);
            if (it != products.end()) {
              it->second.skus.push_back(std::move(sku));
            }
          }
        }
        views.reserve(items.size());
        for (RoomProductRecord& item : items) {
          auto it = products.find(item.product_id);
          if (it == products.end()) {
            return absl::InternalError("room product without its product");
          }
          views.push_back(RoomProductView{std::move(item), it->second});
        }
        return views;
      });
}

}  // namespace livecommerce::catalog
