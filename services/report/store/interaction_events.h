#pragma once

// The report's consumer of the interaction service's events (docs/EVENTS.md): comments delivered
// (CommentPosted), like totals (LikesCounted) and first likes by viewer (ViewerLiked), kept per
// session in the report's own tables (db/migrations/report/0014_interaction.sql).
//
// Every count is exact however often and in whatever order events arrive: a comment counts once
// by its id, a viewer once per session in commenters, likers and interacting viewers (a row per
// (session, viewer) says what they did, so the union of commenters and likers is exact), and the
// like total is the largest one published. Rows are keyed by session and by the brand of the
// event, and a report reads its session's own brand's row: another brand's event naming the
// session counts nowhere, and nothing waits for the session to be known.

#include "services/common/events.h"

namespace livecommerce::report {

// Registers the handlers of CommentPosted, LikesCounted and ViewerLiked.
void SubscribeInteraction(common::EventConsumer& consumer);

}  // namespace livecommerce::report
