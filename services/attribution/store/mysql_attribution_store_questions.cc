// MysqlAttributionStore: the interaction service's events (clients' comments as question alerts).
#include <functional>
#include <optional>

#include "livecommerce/events/v1/events.pb.h"
#include "livecommerce/events/v1/interaction_events.pb.h"
#include "services/attribution/domain/questions.h"
#include "services/attribution/store/mysql_attribution_store.h"
#include "services/attribution/store/mysql_rows.h"
#include "services/common/log_format.h"
#include "services/common/proto_util.h"

namespace livecommerce::attribution {

using common::MysqlConnection;
using common::Sql;
using common::SqlRow;
using mysql_rows::IdOf;

namespace {

AssociateRef ReadAssociateRef(const SqlRow& row) {
  return AssociateRef{row.Int("associate_id"), row.Int("store_id"),
                      row.Int("status") == v1::ASSOCIATE_STATUS_ACTIVE};
}

// The client's latest binding made at or before `at`, with its associate's standing (as LoadFacts
// reads it, on the consumer's connection).
std::optional<BindingFact> BindingOn(MysqlConnection& c, const std::string& brand_id,
                                     const std::string& viewer_id, absl::Time at) {
  return Sql(c,
             "SELECT b.associate_id, a.store_id, a.status, b.bound_at, b.protected_until FROM "
             "client_bindings b JOIN associates a ON a.id = b.associate_id WHERE b.brand_id = ? "
             "AND b.viewer_id = ? AND b.bound_at <= ? ORDER BY b.bound_at DESC, b.id DESC LIMIT 1",
             brand_id, viewer_id, at)
      .One([](const SqlRow& row) {
        return BindingFact{ReadAssociateRef(row), row.Time("bound_at"),
                           row.Time("protected_until")};
      });
}

// The brand's associate `id`, if it is one (another brand's is nobody here).
std::optional<AssociateRef> AssociateOn(MysqlConnection& c, const std::string& brand_id,
                                        int64_t id) {
  return Sql(c,
             "SELECT id AS associate_id, store_id, status FROM associates WHERE id = ? AND "
             "brand_id = ?",
             id, brand_id)
      .One(ReadAssociateRef);
}

}  // namespace

void MysqlAttributionStore::SubscribeInteractionEvents(common::EventConsumer& consumer,
                                                       std::function<void()> raised) {
  // Like totals and likers come with the comments (a producer sends every subscriber all its
  // events): they are applied as nothing, rather than each logged as a type this consumer does not
  // know.
  consumer.On<events::v1::LikesCounted>(
      [](MysqlConnection&, const events::v1::Event&, const events::v1::LikesCounted&) {
        return absl::OkStatus();
      });
  consumer.On<events::v1::ViewerLiked>(
      [](MysqlConnection&, const events::v1::Event&, const events::v1::ViewerLiked&) {
        return absl::OkStatus();
      });
  consumer.On<events::v1::CommentPosted>(
      [raised = std::move(raised)](MysqlConnection& c, const events::v1::Event& e,
                                   const events::v1::CommentPosted& comment) -> absl::Status {
        if (!IsClientComment(comment)) return absl::OkStatus();
        // A comment this service cannot store is skipped rather than refused: a refusal would
        // hold back every later event of the interaction service. The log names the field, never
        // the text.
        if (absl::Status bad = CheckQuestionComment(comment); !bad.ok()) {
          spdlog::warn("events: interaction {}: comment skipped: {}", e.id(), bad.message());
          return absl::OkStatus();
        }
        const std::string& brand_id = e.brand_id();
        absl::Time at = comment.has_created_at() ? common::FromTimestamp(comment.created_at())
                                                 : common::FromTimestamp(e.occurred_at());
        std::optional<BindingFact> binding = BindingOn(c, brand_id, comment.author_id(), at);
        int64_t associate = BoundRecipient(binding, at);
        if (associate == 0) {
          // Only a client nobody holds is asked about through the invite.
          std::optional<AssociateRef> invite;
          if (int64_t invited = IdOf(comment.invite_associate_id()); invited != 0) {
            invite = AssociateOn(c, brand_id, invited);
          }
          associate = QuestionRecipient(binding, invite, at);
        }
        if (associate == 0) return absl::OkStatus();
        std::optional<int> inserted =
            Sql(c,
                "INSERT INTO associate_alerts (brand_id, associate_id, viewer_id, kind, room_id, "
                "session_id, comment_id, comment_text, dedupe_key, occurred_at) VALUES (?, ?, ?, "
                "?, ?, ?, ?, ?, ?, ?)",
                brand_id, associate, comment.author_id(), v1::ALERT_KIND_QUESTION,
                comment.room_id(), comment.session_id(), comment.comment_id(),
                QuestionExcerpt(comment.text()), QuestionDedupeKey(comment.comment_id()), at)
                .ExecuteUnless(common::kSqlDuplicateKey);
        // A duplicate key: this comment's alert was raised before (the event published again).
        if (inserted.has_value() && raised) raised();
        return absl::OkStatus();
      });
}

}  // namespace livecommerce::attribution
