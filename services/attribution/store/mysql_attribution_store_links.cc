// MysqlAttributionStore: share links and touches.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/attribution/store/mysql_attribution_store.h"
#include "services/attribution/store/mysql_rows.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"

namespace livecommerce::attribution {

using common::FormatId;
using common::MysqlConnection;
using common::Sql;
using common::SqlRow;
using common::ToTimestamp;
using mysql_rows::BindingRow;
using mysql_rows::IdOf;
using mysql_rows::InsertBinding;
using mysql_rows::LatestBinding;
using mysql_rows::LockViewer;
using mysql_rows::NewBinding;
using mysql_rows::NullableId;
using mysql_rows::NullableText;
using mysql_rows::SelectAssociate;

namespace {

constexpr char kLinkColumns[] =
    "id, brand_id, associate_id, target, room_id, product_id, share_channel, created_at";

v1::ShareLink ReadLink(const SqlRow& row) {
  v1::ShareLink l;
  l.set_id(FormatId(row.Int("id")));
  l.set_brand_id(row.Str("brand_id"));
  l.set_associate_id(FormatId(row.Int("associate_id")));
  l.set_target(row.Enum<v1::ShareTarget>("target"));
  l.set_room_id(row.Str("room_id"));
  l.set_product_id(row.Str("product_id"));
  l.set_share_channel(row.Enum<v1::ShareChannel>("share_channel"));
  ToTimestamp(row.Time("created_at"), l.mutable_created_at());
  return l;
}

constexpr char kTouchColumns[] =
    "id, viewer_id, associate_id, room_id, product_id, channel, source, share_link_id, touched_at";

v1::Touch ReadTouch(const SqlRow& row) {
  v1::Touch t;
  t.set_id(FormatId(row.Int("id")));
  t.set_viewer_id(row.Str("viewer_id"));
  t.set_associate_id(FormatId(row.Int("associate_id")));
  t.set_room_id(row.Str("room_id"));
  t.set_product_id(row.Str("product_id"));
  t.set_channel(row.Enum<v1::Channel>("channel"));
  t.set_source(row.Enum<v1::TouchSource>("source"));
  t.set_share_link_id(FormatId(row.Int("share_link_id")));
  ToTimestamp(row.Time("touched_at"), t.mutable_touched_at());
  return t;
}

// The touch first recorded with `touch_key`, and the viewer's binding at it; nullopt when the key
// is empty or unused.
std::optional<RecordedTouch> TouchOfKey(MysqlConnection& c, const std::string& brand_id,
                                        const std::string& touch_key) {
  if (touch_key.empty()) return std::nullopt;
  std::optional<v1::Touch> first =
      Sql(c,
          absl::StrCat("SELECT ", kTouchColumns,
                       " FROM touches WHERE brand_id = ? AND touch_key = ?"),
          brand_id, touch_key)
          .One(ReadTouch);
  if (!first.has_value()) return std::nullopt;
  std::optional<BindingRow> b =
      LatestBinding(c, brand_id, first->viewer_id(), common::FromTimestamp(first->touched_at()));
  return RecordedTouch{*std::move(first), b.has_value() ? std::optional(b->proto) : std::nullopt};
}

}  // namespace

absl::StatusOr<v1::ShareLink> MysqlAttributionStore::CreateShareLink(const std::string& brand_id,
                                                                     const v1::ShareLink& link,
                                                                     absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<v1::ShareLink> {
    LC_ASSIGN_OR_RETURN(v1::Associate a, SelectAssociate(c, brand_id, IdOf(link.associate_id())));
    if (a.status() != v1::ASSOCIATE_STATUS_ACTIVE) {
      return absl::FailedPreconditionError("associate_id: the associate has left");
    }
    Sql(c,
        "INSERT INTO share_links (brand_id, associate_id, target, room_id, product_id, "
        "share_channel, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        brand_id, IdOf(link.associate_id()), link.target(), link.room_id(), link.product_id(),
        link.share_channel(), now)
        .Execute();
    v1::ShareLink out = link;
    out.set_id(FormatId(c.LastInsertId()));
    out.set_brand_id(brand_id);
    ToTimestamp(now, out.mutable_created_at());
    return out;
  });
}

absl::StatusOr<v1::ShareLink> MysqlAttributionStore::GetShareLink(const std::string& brand_id,
                                                                  int64_t link_id) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<v1::ShareLink> {
    std::optional<v1::ShareLink> link =
        Sql(c,
            absl::StrCat("SELECT ", kLinkColumns,
                         " FROM share_links WHERE id = ? AND brand_id = ?"),
            link_id, brand_id)
            .One(ReadLink);
    if (!link.has_value()) return absl::NotFoundError("share_link_id: no such share link");
    return *std::move(link);
  });
}

absl::StatusOr<v1::ShareLinkCode> MysqlAttributionStore::ShareLinkCodeOnce(
    const std::string& brand_id, int64_t link_id,
    const std::function<absl::StatusOr<v1::ShareLinkCode>(const v1::ShareLink&)>& make,
    absl::Time now) {
  return pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<v1::ShareLinkCode> {
    std::optional<v1::ShareLink> link =
        Sql(c,
            absl::StrCat("SELECT ", kLinkColumns,
                         " FROM share_links WHERE id = ? AND brand_id = ? FOR UPDATE"),
            link_id, brand_id)
            .One(ReadLink);
    if (!link.has_value()) return absl::NotFoundError("share_link_id: no such share link");
    auto read = [](const SqlRow& row) {
      v1::ShareLinkCode code;
      code.set_share_link_id(FormatId(row.Int("share_link_id")));
      code.set_scene(row.Str("scene"));
      code.set_page(row.Str("page"));
      code.set_image(row.Bytes("image"));
      code.set_content_type(row.Str("content_type"));
      code.set_source(row.Str("source"));
      ToTimestamp(row.Time("created_at"), code.mutable_created_at());
      return code;
    };
    std::optional<v1::ShareLinkCode> kept =
        Sql(c,
            "SELECT share_link_id, scene, page, image, content_type, source, created_at "
            "FROM share_link_codes WHERE share_link_id = ?",
            link_id)
            .One(read);
    if (kept.has_value()) return *std::move(kept);
    LC_ASSIGN_OR_RETURN(v1::ShareLinkCode made, make(*link));
    Sql(c,
        "INSERT INTO share_link_codes (share_link_id, brand_id, scene, page, image, "
        "content_type, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        link_id, brand_id, made.scene(), made.page(), common::SqlBytes{made.image()},
        made.content_type(), made.source(), now)
        .Execute();
    made.set_share_link_id(FormatId(link_id));
    ToTimestamp(now, made.mutable_created_at());
    return made;
  });
}

absl::StatusOr<std::vector<v1::ShareLink>> MysqlAttributionStore::ListShareLinks(
    const std::string& brand_id, int64_t associate_id, int64_t after_id, int limit) {
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<v1::ShareLink>> {
    return Sql(c,
               absl::StrCat("SELECT ", kLinkColumns,
                            " FROM share_links WHERE brand_id = ? AND (? = 0 OR associate_id = ?) "
                            "AND id > ? ORDER BY id LIMIT ?"),
               brand_id, associate_id, associate_id, after_id, limit)
        .All(ReadLink);
  });
}

absl::StatusOr<RecordedTouch> MysqlAttributionStore::RecordTouch(const std::string& brand_id,
                                                                 const v1::Touch& touch,
                                                                 const std::string& touch_key,
                                                                 absl::Duration protection) {
  absl::Time at = common::FromTimestamp(touch.touched_at());
  absl::StatusOr<RecordedTouch> recorded =
      pool_.InTransaction([&](MysqlConnection& c) -> absl::StatusOr<RecordedTouch> {
        if (std::optional<RecordedTouch> first = TouchOfKey(c, brand_id, touch_key)) {
          return *std::move(first);
        }
        int64_t associate_id = IdOf(touch.associate_id());
        LC_ASSIGN_OR_RETURN(v1::Associate a, SelectAssociate(c, brand_id, associate_id));
        Sql(c,
            "INSERT INTO touches (brand_id, viewer_id, associate_id, room_id, product_id, channel, "
            "source, share_link_id, touch_key, touched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            brand_id, touch.viewer_id(), associate_id, touch.room_id(), touch.product_id(),
            touch.channel(), touch.source(), NullableId(IdOf(touch.share_link_id())),
            NullableText(touch_key), at)
            .Execute();
        RecordedTouch result{touch, std::nullopt};
        int64_t touch_id = c.LastInsertId();
        result.touch.set_id(FormatId(touch_id));

        LockViewer(c, brand_id, touch.viewer_id());
        std::optional<BindingRow> current = LatestBinding(c, brand_id, touch.viewer_id(), at);
        bool in_force =
            current.has_value() && current->bound_at <= at && at < current->protected_until;
        if (in_force && current->associate_id != associate_id) {
          // A binding to an associate who has left protects nobody.
          absl::StatusOr<v1::Associate> bound = SelectAssociate(c, brand_id, current->associate_id);
          in_force = bound.ok() && bound->status() == v1::ASSOCIATE_STATUS_ACTIVE;
        }
        if (a.status() == v1::ASSOCIATE_STATUS_ACTIVE) {
          NewBinding binding;
          binding.viewer_id = touch.viewer_id();
          binding.associate_id = associate_id;
          binding.touch_id = touch_id;
          binding.bound_at = at;
          if (!in_force) {
            binding.reason = v1::BINDING_REASON_TOUCH;
            binding.previous_associate_id = current.has_value() ? current->associate_id : 0;
            binding.protected_until = at + protection;
            current = InsertBinding(c, brand_id, binding);
          } else if (current->associate_id == associate_id) {
            binding.reason = v1::BINDING_REASON_RENEWED;
            binding.previous_associate_id = associate_id;
            binding.protected_until = std::max(current->protected_until, at + protection);
            current = InsertBinding(c, brand_id, binding);
          }
        }
        if (current.has_value()) result.binding = current->proto;
        return result;
      });
  if (recorded.status().code() == absl::StatusCode::kAlreadyExists && !touch_key.empty()) {
    // Another call with the same key won the race: answer with its touch.
    return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<RecordedTouch> {
      std::optional<RecordedTouch> first = TouchOfKey(c, brand_id, touch_key);
      if (!first.has_value()) return absl::AbortedError("touch_key: concurrent touch, try again");
      return *std::move(first);
    });
  }
  return recorded;
}

}  // namespace livecommerce::attribution
