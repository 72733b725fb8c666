#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/handler.h"
#include "services/common/principal.h"
#include "services/room/api/room_changes.h"
#include "services/room/clients/associate_directory.h"
#include "services/room/clients/catalog_directory.h"
#include "services/room/clients/viewer_activity.h"
#include "services/room/domain/reminder.h"
#include "services/room/store/presence_store.h"
#include "services/room/store/replay_store.h"
#include "services/room/store/reservation_store.h"
#include "services/room/store/room_store.h"
#include "services/room/stream/room_streams.h"

namespace livecommerce::room {

struct RoomServiceOptions {
  absl::Duration presence_window = absl::Seconds(30);
  absl::Duration heartbeat_interval = absl::Seconds(10);
  int presence_buckets = 8;  // for sessions opened from now on
  absl::Duration watch_stats_interval = absl::Seconds(1);
  absl::Duration watch_pin_poll = absl::Milliseconds(250);
  absl::Duration live_cache_ttl = absl::Seconds(1);
  absl::Duration join_counts_ttl = absl::Milliseconds(500);
  absl::Duration pin_details_ttl = absl::Seconds(5);
  absl::Duration ended_presence_ttl = absl::Hours(24);
  // Reservations: > 0 writes a BEFORE_START reminder this long before the scheduled start
  // (LC_REMINDER_LEAD_MINUTES); the brands' reminder templates (a reservation's consent must be
  // for its brand's configured template).
  absl::Duration reminder_lead;
  ReminderTemplates reminder_templates;
};

// LC_PRESENCE_WINDOW_MS, LC_HEARTBEAT_INTERVAL_MS, LC_PRESENCE_BUCKETS.
absl::StatusOr<RoomServiceOptions> LoadRoomServiceOptions();

// gRPC handlers of livecommerce.v1.RoomService: authorise the caller, validate, call the stores,
// convert to protos. Ops of the room's brand manage rooms, sessions, invites and the pin; viewers
// of the brand join public rooms, and private rooms with an invite.
// Heartbeat, the hot path, is a callback method: it runs on gRPC's own threads without a hand-off
// to the sync thread pool. The handlers are spread over files by section: room_service.cc (rooms
// and sessions), room_service_invites.cc, room_service_presence.cc and room_service_pins.cc
// (stats, the pin and viewer access).
class RoomServiceImpl final
    : public v1::RoomService::WithCallbackMethod_Heartbeat<v1::RoomService::Service> {
 public:
  // `activity` (may be null) hears of viewers joining and leaving live sessions. `associates`
  // checks the associate ids requests name (host, invites on behalf of, filters); main.cc always
  // gives one. Null only in tests that run without the attribution service: ids go unchecked.
  // `streams` (null: rooms without video; the stream RPCs answer FAILED_PRECONDITION) gives
  // rooms their stream (room_service_stream.cc). `reservations` (null: the reservation RPCs
  // answer FAILED_PRECONDITION) keeps reservations and their reminders
  // (room_service_reservations.cc). `replays` (null: the replay RPCs answer
  // FAILED_PRECONDITION) keeps replays, product moments' reads and replay views
  // (room_service_replays.cc); replays play only with `streams`, which signs their addresses.
  RoomServiceImpl(RoomStore& rooms, PresenceStore& presence, CatalogDirectory& catalog,
                  const common::Clock& clock, const common::PrincipalCodec& codec,
                  RoomServiceOptions options, ViewerActivity* activity = nullptr,
                  AssociateDirectory* associates = nullptr, RoomStreams* streams = nullptr,
                  ReservationStore* reservations = nullptr, MysqlReplayStore* replays = nullptr);

  grpc::Status CreateRoom(grpc::ServerContext* context, const v1::CreateRoomRequest* request,
                          v1::CreateRoomResponse* response) override;
  grpc::Status UpdateRoom(grpc::ServerContext* context, const v1::UpdateRoomRequest* request,
                          v1::UpdateRoomResponse* response) override;
  grpc::Status GetRoom(grpc::ServerContext* context, const v1::GetRoomRequest* request,
                       v1::GetRoomResponse* response) override;
  grpc::Status ListRooms(grpc::ServerContext* context, const v1::ListRoomsRequest* request,
                         v1::ListRoomsResponse* response) override;
  grpc::Status GoLive(grpc::ServerContext* context, const v1::GoLiveRequest* request,
                      v1::GoLiveResponse* response) override;
  grpc::Status EndSession(grpc::ServerContext* context, const v1::EndSessionRequest* request,
                          v1::EndSessionResponse* response) override;
  grpc::Status GetSession(grpc::ServerContext* context, const v1::GetSessionRequest* request,
                          v1::GetSessionResponse* response) override;
  grpc::Status ListSessions(grpc::ServerContext* context, const v1::ListSessionsRequest* request,
                            v1::ListSessionsResponse* response) override;
  grpc::Status IssueInvites(grpc::ServerContext* context, const v1::IssueInvitesRequest* request,
                            v1::IssueInvitesResponse* response) override;
  grpc::Status RevokeInvite(grpc::ServerContext* context, const v1::RevokeInviteRequest* request,
                            v1::RevokeInviteResponse* response) override;
  grpc::Status ListInvites(grpc::ServerContext* context, const v1::ListInvitesRequest* request,
                           v1::ListInvitesResponse* response) override;
  grpc::Status JoinRoom(grpc::ServerContext* context, const v1::JoinRoomRequest* request,
                        v1::JoinRoomResponse* response) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* context,
                                      const v1::HeartbeatRequest* request,
                                      v1::HeartbeatResponse* response) override;
  grpc::Status LeaveRoom(grpc::ServerContext* context, const v1::LeaveRoomRequest* request,
                         v1::LeaveRoomResponse* response) override;
  grpc::Status BatchPresence(grpc::ServerContext* context, const v1::BatchPresenceRequest* request,
                             v1::BatchPresenceResponse* response) override;
  grpc::Status GetRoomStats(grpc::ServerContext* context, const v1::GetRoomStatsRequest* request,
                            v1::GetRoomStatsResponse* response) override;
  grpc::Status WatchRoom(grpc::ServerContext* context, const v1::WatchRoomRequest* request,
                         grpc::ServerWriter<v1::WatchRoomResponse>* writer) override;
  grpc::Status PinProduct(grpc::ServerContext* context, const v1::PinProductRequest* request,
                          v1::PinProductResponse* response) override;
  grpc::Status UnpinProduct(grpc::ServerContext* context, const v1::UnpinProductRequest* request,
                            v1::UnpinProductResponse* response) override;
  grpc::Status GetPinnedProduct(grpc::ServerContext* context,
                                const v1::GetPinnedProductRequest* request,
                                v1::GetPinnedProductResponse* response) override;
  grpc::Status GetViewerAccess(grpc::ServerContext* context,
                               const v1::GetViewerAccessRequest* request,
                               v1::GetViewerAccessResponse* response) override;
  grpc::Status GetPushAddress(grpc::ServerContext* context,
                              const v1::GetPushAddressRequest* request,
                              v1::GetPushAddressResponse* response) override;
  grpc::Status RotatePushKey(grpc::ServerContext* context, const v1::RotatePushKeyRequest* request,
                             v1::RotatePushKeyResponse* response) override;
  grpc::Status ListRecordings(grpc::ServerContext* context,
                              const v1::ListRecordingsRequest* request,
                              v1::ListRecordingsResponse* response) override;
  grpc::Status HandleStreamCallback(grpc::ServerContext* context,
                                    const v1::HandleStreamCallbackRequest* request,
                                    v1::HandleStreamCallbackResponse* response) override;
  grpc::Status ReserveRoom(grpc::ServerContext* context, const v1::ReserveRoomRequest* request,
                           v1::ReserveRoomResponse* response) override;
  grpc::Status CancelReservation(grpc::ServerContext* context,
                                 const v1::CancelReservationRequest* request,
                                 v1::CancelReservationResponse* response) override;
  grpc::Status GetReservation(grpc::ServerContext* context,
                              const v1::GetReservationRequest* request,
                              v1::GetReservationResponse* response) override;
  grpc::Status ListReservations(grpc::ServerContext* context,
                                const v1::ListReservationsRequest* request,
                                v1::ListReservationsResponse* response) override;
  grpc::Status ListReminders(grpc::ServerContext* context, const v1::ListRemindersRequest* request,
                             v1::ListRemindersResponse* response) override;
  grpc::Status GetReplay(grpc::ServerContext* context, const v1::GetReplayRequest* request,
                         v1::GetReplayResponse* response) override;
  grpc::Status JoinReplay(grpc::ServerContext* context, const v1::JoinReplayRequest* request,
                          v1::JoinReplayResponse* response) override;
  grpc::Status SetReplay(grpc::ServerContext* context, const v1::SetReplayRequest* request,
                         v1::SetReplayResponse* response) override;

  // Ends the sessions whose push has been gone longer than the grace (the stream watchdog's
  // pass); how many.
  absl::StatusOr<int> EndAbandonedSessions();

 private:
  // A live room as the hot paths (join, heartbeat) see it; re-read from MySQL after live_cache_ttl.
  struct LiveSession {
    RoomRecord room;
    PresenceSession presence;
    absl::Time fetched_at;  // real time, not the injected clock
  };
  struct CachedCounts {
    LiveCounts counts;
    absl::Time fetched_at;
  };
  struct CachedPin {
    v1::PinnedProduct details;
    absl::Time fetched_at;
  };
  // Who sends a heartbeat, and the live session it is for.
  struct HeartbeatTarget {
    std::string viewer_id;
    PresenceSession session;
  };

  // Opens a session (GoLive, or a push to a room that starts on publish) and closes it (EndSession,
  // or a push gone longer than the grace).
  absl::StatusOr<RoomSession> StartLive(int64_t room_id);
  absl::StatusOr<RoomSession> EndLive(int64_t room_id);
  RoomStreams::SessionControl SessionControl();
  // The room's stream for a caller who may run the room: ops of its brand, or its host associate,
  // while it is not ended.
  // The reservation store, or FAILED_PRECONDITION when this service runs without one.
  absl::StatusOr<ReservationStore*> Reservations();
  // The replay store and the stream signing replays' addresses, or FAILED_PRECONDITION.
  absl::StatusOr<MysqlReplayStore*> Replays();
  // A session's replay for `caller` (room_service_replays.cc): the room's audience rules as for
  // the live (a viewer of a private room admitted with the invite held or `invite_token`); the
  // room's latest replay when `session_id` is empty; with the associate behind the viewer's
  // invite, if any.
  absl::StatusOr<v1::Replay> ReplayFor(const common::Principal& caller, absl::string_view room_id,
                                       absl::string_view session_id,
                                       absl::string_view invite_token);
  // The replay's answer: its play address signed now, its moments and the products presented,
  // with the catalog's details.
  v1::Replay ReplayProto(const RoomRecord& room, const SessionRecord& session,
                         const ReplayRecord& replay, const std::vector<MomentRecord>& moments);
  absl::StatusOr<StreamRecord> StreamToRun(const common::Principal& caller,
                                           absl::string_view room_id, RoomRecord* room);

  // The room, if the caller's brand owns it (NOT_FOUND otherwise, to hide other brands' rooms).
  absl::StatusOr<RoomRecord> LoadRoom(const common::Principal& caller, absl::string_view room_id);
  // OK when `associate_id` is an associate of `brand_id`: NOT_FOUND "<field>: no such associate"
  // otherwise (another brand's looks like none).
  absl::Status CheckAssociate(const std::string& brand_id, absl::string_view field,
                              const std::string& associate_id);
  // Viewers see a private room only while they hold its invite; staff of the brand always.
  absl::Status CheckCanSee(const common::Principal& caller, const RoomRecord& room);
  // The live session of a room, cached briefly for the heartbeat path.
  absl::StatusOr<LiveSession> LiveSessionOf(int64_t room_id);
  void ForgetLiveSession(int64_t room_id);
  absl::StatusOr<v1::RoomStats> StatsOf(const RoomRecord& room);
  // What a watcher is told of at once when it changes: status, session and stream state.
  std::string StateKey(const RoomRecord& room);
  // The room's pin with the product's details from the catalog (cached briefly; without details
  // when the catalog cannot be reached, so reads never fail because of it).
  v1::PinnedProduct ResolvedPin(const RoomRecord& room);
  // Counts for join responses, shared by all joins of a session for a short while.
  absl::StatusOr<LiveCounts> RecentCounts(const PresenceSession& session);
  // The checks of a heartbeat before the Redis step: the viewer and their room's live session.
  absl::StatusOr<HeartbeatTarget> PrepareHeartbeat(const grpc::ServerContextBase& context,
                                                   const v1::HeartbeatRequest& request);

  RoomStore& rooms_;
  PresenceStore& presence_;
  CatalogDirectory& catalog_;
  ViewerActivity* activity_;
  AssociateDirectory* associates_;
  RoomStreams* streams_;
  ReservationStore* reservations_;
  MysqlReplayStore* replays_;
  const common::Clock& clock_;
  const common::PrincipalCodec& codec_;
  const common::HandlerFrame frame_{codec_, clock_};
  RoomServiceOptions options_;
  // The caches' ages are real time, not the injected clock: a test's clock standing still must not
  // keep a cache fresh for ever.
  const common::SystemClock wall_clock_;

  RoomChanges changes_;  // wakes WatchRoom when a room changes in this process
  std::mutex live_mu_;
  std::unordered_map<int64_t, LiveSession> live_cache_ ABSL_GUARDED_BY(live_mu_);  // by room id
  std::unordered_map<int64_t, CachedCounts> counts_cache_
      ABSL_GUARDED_BY(live_mu_);  // by session id
  std::unordered_map<std::string, CachedPin> pin_cache_
      ABSL_GUARDED_BY(live_mu_);  // by brand/product/sku
};

}  // namespace livecommerce::room
