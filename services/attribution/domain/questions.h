#pragma once

// Questions reach the associate (issue 19): a client's comment in a live room, published by the
// interaction service as CommentPosted, becomes an ALERT_KIND_QUESTION alert for the client's
// associate. Pure decisions here; the store applies them in the event's transaction.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "livecommerce/events/v1/interaction_events.pb.h"
#include "services/attribution/domain/attribution_model.h"

namespace livecommerce::attribution {

// The characters of a comment an alert keeps (associate_alerts.comment_text is VARCHAR(200)).
inline constexpr int kQuestionTextMaxChars = 200;

// The author_role of a client's comment; staff comments ("host", "associate") ask nobody.
inline constexpr char kViewerAuthorRole[] = "viewer";

// Whether the comment is a client's (a viewer's); only those can be questions.
bool IsClientComment(const events::v1::CommentPosted& comment);

// The comment's references fit what an alert stores: comment_id an id of at most 64 characters,
// author_id a viewer id (1..128 of [A-Za-z0-9_.:-]), room_id and session_id ids of at most 64 or
// empty. INVALID_ARGUMENT naming the field otherwise (never quoting the text).
absl::Status CheckQuestionComment(const events::v1::CommentPosted& comment);

// Who is asked, for a comment made at `at`: the associate the client is bound to then (the
// binding in protection and its associate still active); else the associate behind the client's
// invite to the room, when that is an active associate of the brand; else nobody (0).
int64_t QuestionRecipient(const std::optional<BindingFact>& binding,
                          const std::optional<AssociateRef>& invite, absl::Time at);

// The associate the binding names for a comment at `at`, or 0 (no binding in force, or its
// associate has left): QuestionRecipient without an invite.
int64_t BoundRecipient(const std::optional<BindingFact>& binding, absl::Time at);

// What an alert keeps of a comment's text: at most `max_chars` characters (code points), a longer
// text cut at a character boundary and ending with "…" within the limit. Ill-formed UTF-8 becomes
// U+FFFD, so the text always fits a utf8mb4 column.
std::string QuestionExcerpt(absl::string_view text, int max_chars = kQuestionTextMaxChars);

// The alert's dedupe key: one alert per comment, however often its event is delivered.
std::string QuestionDedupeKey(absl::string_view comment_id);

}  // namespace livecommerce::attribution
