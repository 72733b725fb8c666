#include "services/catalog/store/mysql_product_store.h"

#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "services/common/status.h"

namespace livecommerce::catalog {
namespace {

using common::FromSqlTime;
using common::MysqlConnection;
using common::ToSqlTime;

constexpr int kDuplicateKey = 1062;

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

std::string Text(sql::ResultSet& rs, int column) {
  return rs.isNull(column) ? std::string() : std::string(rs.getString(column));
}

absl::StatusOr<absl::Time> Time(sql::ResultSet& rs, int column) {
  return FromSqlTime(Text(rs, column));
}

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

absl::StatusOr<ProductRecord> ReadProduct(sql::ResultSet& rs) {
  ProductRecord product;
  product.id = rs.getInt64(1);
  product.brand_id = Text(rs, 2);
  product.name = Text(rs, 3);
  product.description = Text(rs, 4);
  LC_ASSIGN_OR_RETURN(product.image_urls, UrlsFromJson(Text(rs, 5)));
  product.category = Text(rs, 6);
  product.list_price_fen = rs.getInt64(7);
  product.currency = Text(rs, 8);
  product.status = static_cast<ProductStatus>(rs.getInt(9));
  product.created_by = Text(rs, 10);
  LC_ASSIGN_OR_RETURN(product.created_at, Time(rs, 11));
  LC_ASSIGN_OR_RETURN(product.updated_at, Time(rs, 12));
  return product;
}

absl::StatusOr<SkuRecord> ReadSku(sql::ResultSet& rs) {
  SkuRecord sku;
  sku.id = rs.getInt64(1);
  sku.product_id = rs.getInt64(2);
  sku.brand_id = Text(rs, 3);
  sku.sku_code = Text(rs, 4);
  LC_ASSIGN_OR_RETURN(sku.attributes, AttributesFromJson(Text(rs, 5)));
  if (!rs.isNull(6)) {
    sku.own_price_fen = rs.getInt64(6);
  }
  sku.price_fen = sku.own_price_fen.value_or(rs.getInt64(7));
  sku.currency = Text(rs, 8);
  sku.on_hand = rs.getInt64(9);
  sku.reserved = rs.getInt64(10);
  sku.product_status = static_cast<ProductStatus>(rs.getInt(11));
  LC_ASSIGN_OR_RETURN(sku.created_at, Time(rs, 12));
  LC_ASSIGN_OR_RETURN(sku.updated_at, Time(rs, 13));
  return sku;
}

absl::StatusOr<std::vector<SkuRecord>> ReadSkus(sql::ResultSet& rs) {
  std::vector<SkuRecord> skus;
  while (rs.next()) {
    LC_ASSIGN_OR_RETURN(SkuRecord sku, ReadSku(rs));
    skus.push_back(std::move(sku));
  }
  return skus;
}

absl::StatusOr<std::vector<SkuRecord>> SelectSkusOfProduct(MysqlConnection& c, int64_t product_id) {
  sql::PreparedStatement& s = c.Prepare(
      absl::StrCat("SELECT ", kSkuColumns,
                   " FROM skus s JOIN products p ON p.id = s.product_id WHERE s.product_id = ? "
                   "ORDER BY s.id"));
  s.setInt64(1, product_id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  return ReadSkus(*rs);
}

// `lock` is "", " FOR UPDATE" or " LOCK IN SHARE MODE"; it applies to the product row only.
absl::StatusOr<ProductRecord> SelectProduct(MysqlConnection& c, int64_t product_id,
                                            const char* lock) {
  sql::PreparedStatement& s =
      c.Prepare(absl::StrCat("SELECT ", kProductColumns, " FROM products p WHERE p.id = ?", lock));
  s.setInt64(1, product_id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  if (!rs->next()) {
    return absl::NotFoundError("product_id: no such product");
  }
  LC_ASSIGN_OR_RETURN(ProductRecord product, ReadProduct(*rs));
  LC_ASSIGN_OR_RETURN(product.skus, SelectSkusOfProduct(c, product_id));
  return product;
}

absl::StatusOr<SkuRecord> SelectSku(MysqlConnection& c, int64_t sku_id, const char* lock) {
  sql::PreparedStatement& s = c.Prepare(
      absl::StrCat("SELECT ", kSkuColumns,
                   " FROM skus s JOIN products p ON p.id = s.product_id WHERE s.id = ?", lock));
  s.setInt64(1, sku_id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  if (!rs->next()) {
    return absl::NotFoundError("sku_id: no such SKU");
  }
  return ReadSku(*rs);
}

// Inserts one SKU; ALREADY_EXISTS naming `field` when the brand already uses its code.
absl::StatusOr<int64_t> InsertSku(MysqlConnection& c, const std::string& brand_id,
                                  int64_t product_id, const SkuRecord& sku, absl::Time now,
                                  absl::string_view field) {
  sql::PreparedStatement& s = c.Prepare(
      "INSERT INTO skus (brand_id, product_id, sku_code, attributes, price_fen, on_hand, "
      "reserved, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)");
  s.setString(1, brand_id);
  s.setInt64(2, product_id);
  s.setString(3, sku.sku_code);
  s.setString(4, AttributesToJson(sku.attributes));
  if (sku.own_price_fen.has_value()) {
    s.setInt64(5, *sku.own_price_fen);
  } else {
    s.setNull(5, 0);
  }
  s.setInt64(6, sku.on_hand);
  s.setDateTime(7, ToSqlTime(now));
  s.setDateTime(8, ToSqlTime(now));
  try {
    s.executeUpdate();
  } catch (const sql::SQLException& e) {
    if (e.getErrorCode() == kDuplicateKey) {
      return absl::AlreadyExistsError(
          absl::StrCat(field, ": already used by another SKU of the brand"));
    }
    throw;
  }
  return c.LastInsertId();
}

void WriteProduct(MysqlConnection& c, const ProductRecord& product) {
  sql::PreparedStatement& s = c.Prepare(
      "UPDATE products SET name = ?, description = ?, image_urls = ?, category = ?, "
      "list_price_fen = ?, currency = ?, status = ?, updated_at = ? WHERE id = ?");
  s.setString(1, product.name);
  s.setString(2, product.description);
  s.setString(3, UrlsToJson(product.image_urls));
  s.setString(4, product.category);
  s.setInt64(5, product.list_price_fen);
  s.setString(6, product.currency);
  s.setInt(7, product.status);
  s.setDateTime(8, ToSqlTime(product.updated_at));
  s.setInt64(9, product.id);
  s.executeUpdate();
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
  sql::PreparedStatement& s = c.Prepare(
      "SELECT id, product_id, position FROM room_products WHERE room_id = ? AND brand_id = ? "
      "ORDER BY position, id FOR UPDATE");
  s.setInt64(1, room_id);
  s.setString(2, brand_id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  std::vector<ListEntry> entries;
  while (rs->next()) {
    entries.push_back(ListEntry{rs->getInt64(1), rs->getInt64(2), rs->getInt(3)});
  }
  return entries;
}

// Writes positions 1..n in the order of `entries`, touching only rows whose position changes.
void Renumber(MysqlConnection& c, const std::vector<ListEntry>& entries, absl::Time now) {
  for (size_t i = 0; i < entries.size(); ++i) {
    int position = static_cast<int>(i) + 1;
    if (entries[i].position == position) {
      continue;
    }
    sql::PreparedStatement& s =
        c.Prepare("UPDATE room_products SET position = ?, updated_at = ? WHERE id = ?");
    s.setInt(1, position);
    s.setDateTime(2, ToSqlTime(now));
    s.setInt64(3, entries[i].id);
    s.executeUpdate();
  }
}

absl::StatusOr<RoomProductRecord> ReadRoomProduct(sql::ResultSet& rs) {
  RoomProductRecord item;
  item.id = rs.getInt64(1);
  item.brand_id = Text(rs, 2);
  item.room_id = rs.getInt64(3);
  item.product_id = rs.getInt64(4);
  item.position = rs.getInt(5);
  item.visible_to_cohort = Text(rs, 6);
  item.created_by = Text(rs, 7);
  LC_ASSIGN_OR_RETURN(item.created_at, Time(rs, 8));
  LC_ASSIGN_OR_RETURN(item.updated_at, Time(rs, 9));
  return item;
}

// Cohort prices of a room's items, by item id, in cohort order.
std::map<int64_t, std::vector<CohortPrice>> SelectCohortPrices(MysqlConnection& c,
                                                               int64_t room_id) {
  sql::PreparedStatement& s = c.Prepare(
      "SELECT room_product_id, cohort, price_fen, currency FROM room_product_prices "
      "WHERE room_id = ? ORDER BY room_product_id, cohort");
  s.setInt64(1, room_id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  std::map<int64_t, std::vector<CohortPrice>> prices;
  while (rs->next()) {
    prices[rs->getInt64(1)].push_back(CohortPrice{Text(*rs, 2), rs->getInt64(3), Text(*rs, 4)});
  }
  return prices;
}

absl::StatusOr<std::vector<RoomProductRecord>> SelectRoomList(MysqlConnection& c,
                                                              const std::string& brand_id,
                                                              int64_t room_id) {
  sql::PreparedStatement& s =
      c.Prepare(absl::StrCat("SELECT ", kRoomProductColumns,
                             " FROM room_products rp WHERE rp.room_id = ? AND rp.brand_id = ? "
                             "ORDER BY rp.position, rp.id"));
  s.setInt64(1, room_id);
  s.setString(2, brand_id);
  std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
  std::vector<RoomProductRecord> items;
  while (rs->next()) {
    LC_ASSIGN_OR_RETURN(RoomProductRecord item, ReadRoomProduct(*rs));
    items.push_back(std::move(item));
  }
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
    sql::PreparedStatement& s = c.Prepare(
        "INSERT INTO products (brand_id, name, description, image_urls, category, "
        "list_price_fen, currency, status, created_by, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.setString(1, product.brand_id);
    s.setString(2, product.name);
    s.setString(3, product.description);
    s.setString(4, UrlsToJson(product.image_urls));
    s.setString(5, product.category);
    s.setInt64(6, product.list_price_fen);
    s.setString(7, product.currency);
    s.setInt(8, product.status);
    s.setString(9, product.created_by);
    s.setDateTime(10, ToSqlTime(product.created_at));
    s.setDateTime(11, ToSqlTime(product.updated_at));
    s.executeUpdate();
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
    auto bind = [&](sql::PreparedStatement& s) {
      int i = 1;
      s.setString(i++, query.brand_id);
      s.setInt64(i++, query.after_id);
      if (!query.category.empty()) {
        s.setString(i++, query.category);
      }
      if (query.status != v1::PRODUCT_STATUS_UNSPECIFIED) {
        s.setInt(i++, query.status);
      }
      s.setInt(i++, query.limit);
    };
    sql::PreparedStatement& products = c.Prepare(absl::StrCat(
        "SELECT ", kProductColumns, " FROM products p WHERE ", filter, " ORDER BY p.id LIMIT ?"));
    bind(products);
    std::vector<ProductRecord> page;
    std::map<int64_t, size_t> index_of;
    {
      std::unique_ptr<sql::ResultSet> rs(products.executeQuery());
      while (rs->next()) {
        LC_ASSIGN_OR_RETURN(ProductRecord product, ReadProduct(*rs));
        index_of[product.id] = page.size();
        page.push_back(std::move(product));
      }
    }
    if (page.empty()) {
      return page;
    }
    sql::PreparedStatement& skus = c.Prepare(
        absl::StrCat("SELECT ", kSkuColumns,
                     " FROM skus s JOIN products p ON p.id = s.product_id JOIN (SELECT id FROM "
                     "products WHERE ",
                     filter, " ORDER BY id LIMIT ?) page ON page.id = s.product_id ORDER BY s.id"));
    bind(skus);
    std::unique_ptr<sql::ResultSet> rs(skus.executeQuery());
    LC_ASSIGN_OR_RETURN(std::vector<SkuRecord> all, ReadSkus(*rs));
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
    sql::PreparedStatement& s =
        c.Prepare("UPDATE skus SET attributes = ?, price_fen = ?, updated_at = ? WHERE id = ?");
    s.setString(1, AttributesToJson(sku.attributes));
    if (sku.own_price_fen.has_value()) {
      s.setInt64(2, *sku.own_price_fen);
    } else {
      s.setNull(2, 0);
    }
    s.setDateTime(3, ToSqlTime(sku.updated_at));
    s.setInt64(4, sku_id);
    s.executeUpdate();
    return SelectSku(c, sku_id, "");
  });
}

absl::StatusOr<SkuRecord> MysqlProductStore::SetOnHand(int64_t sku_id, int64_t on_hand,
                                                       absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<SkuRecord> {
    sql::PreparedStatement& s =
        c.Prepare("UPDATE skus SET on_hand = ?, updated_at = ? WHERE id = ? AND reserved <= ?");
    s.setInt64(1, on_hand);
    s.setDateTime(2, ToSqlTime(now));
    s.setInt64(3, sku_id);
    s.setInt64(4, on_hand);
    if (s.executeUpdate() == 0) {
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
      sql::PreparedStatement& update =
          c.Prepare("UPDATE room_products SET visible_to_cohort = ?, updated_at = ? WHERE id = ?");
      if (item.visible_to_cohort.empty()) {
        update.setNull(1, 0);
      } else {
        update.setString(1, item.visible_to_cohort);
      }
      update.setDateTime(2, ToSqlTime(item.updated_at));
      update.setInt64(3, entry.id);
      update.executeUpdate();
      sql::PreparedStatement& clear =
          c.Prepare("DELETE FROM room_product_prices WHERE room_product_id = ?");
      clear.setInt64(1, entry.id);
      clear.executeUpdate();
    } else {
      if (entries.size() >= static_cast<size_t>(kMaxRoomProducts)) {
        return absl::FailedPreconditionError(
            absl::StrCat("room_id: a room lists at most ", kMaxRoomProducts, " products"));
      }
      sql::PreparedStatement& insert = c.Prepare(
          "INSERT INTO room_products (brand_id, room_id, product_id, position, "
          "visible_to_cohort, created_by, created_at, updated_at) VALUES (?, ?, ?, 0, ?, ?, ?, ?)");
      insert.setString(1, item.brand_id);
      insert.setInt64(2, item.room_id);
      insert.setInt64(3, item.product_id);
      if (item.visible_to_cohort.empty()) {
        insert.setNull(4, 0);
      } else {
        insert.setString(4, item.visible_to_cohort);
      }
      insert.setString(5, item.created_by);
      insert.setDateTime(6, ToSqlTime(item.created_at));
      insert.setDateTime(7, ToSqlTime(item.updated_at));
      insert.executeUpdate();
      entry = ListEntry{c.LastInsertId(), item.product_id, 0};
    }
    for (const CohortPrice& price : item.cohort_prices) {
      sql::PreparedStatement& s = c.Prepare(
          "INSERT INTO room_product_prices (brand_id, room_product_id, room_id, cohort, "
          "price_fen, currency, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
      s.setString(1, item.brand_id);
      s.setInt64(2, entry.id);
      s.setInt64(3, item.room_id);
      s.setString(4, price.cohort);
      s.setInt64(5, price.price_fen);
      s.setString(6, price.currency);
      s.setDateTime(7, ToSqlTime(item.updated_at));
      s.executeUpdate();
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
    sql::PreparedStatement& prices =
        c.Prepare("DELETE FROM room_product_prices WHERE room_product_id = ?");
    prices.setInt64(1, found->id);
    prices.executeUpdate();
    sql::PreparedStatement& item = c.Prepare("DELETE FROM room_products WHERE id = ?");
    item.setInt64(1, found->id);
    item.executeUpdate();
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
  return pool_.InTransaction([&](MysqlConnection& c)
                                 -> absl::StatusOr<std::vector<RoomProductView>> {
    LC_ASSIGN_OR_RETURN(std::vector<RoomProductRecord> items, SelectRoomList(c, brand_id, room_id));
    std::vector<RoomProductView> views;
    if (items.empty()) {
      return views;
    }
    std::map<int64_t, ProductRecord> products;
    {
      sql::PreparedStatement& s =
          c.Prepare(absl::StrCat("SELECT ", kProductColumns,
                                 " FROM products p JOIN room_products rp ON rp.product_id = p.id "
                                 "WHERE rp.room_id = ? AND rp.brand_id = ?"));
      s.setInt64(1, room_id);
      s.setString(2, brand_id);
      std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
      while (rs->next()) {
        LC_ASSIGN_OR_RETURN(ProductRecord product, ReadProduct(*rs));
        products[product.id] = std::move(product);
      }
    }
    {
      sql::PreparedStatement& s = c.Prepare(absl::StrCat(
          "SELECT ", kSkuColumns,
          " FROM skus s JOIN products p ON p.id = s.product_id JOIN room_products rp ON "
          "rp.product_id = s.product_id WHERE rp.room_id = ? AND rp.brand_id = ? "
          "ORDER BY s.id"));
      s.setInt64(1, room_id);
      s.setString(2, brand_id);
      std::unique_ptr<sql::ResultSet> rs(s.executeQuery());
      LC_ASSIGN_OR_RETURN(std::vector<SkuRecord> skus, ReadSkus(*rs));
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
