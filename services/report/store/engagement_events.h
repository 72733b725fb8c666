#pragma once

// The report's consumer of the room service's events before and after the live (issue 20,
// docs/EVENTS.md): the room's invitations and reservations when a session went live
// (SessionAudienceBooked), reminders sent (ReminderSent) and replay viewers (ReplayViewed), kept
// per session in db/migrations/report/0021_engagement.sql's tables.
//
// Exact however often and in whatever order events arrive: the booked figures are a snapshot
// (the last one applied is the one published), and a viewer counts once per session in reminded
// and in replay viewers (a row per (session, viewer) says what they did). Rows are keyed by
// session and by the brand of the event, as the interaction counts are.

#include "services/common/events.h"

namespace livecommerce::report {

// Registers the handlers of SessionAudienceBooked, ReminderSent and ReplayViewed.
void SubscribeEngagement(common::EventConsumer& consumer);

}  // namespace livecommerce::report
