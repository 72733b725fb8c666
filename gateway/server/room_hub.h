#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/http/metrics.h"
#include "gateway/server/socket_slots.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/common/periodic_task.h"
#include "services/common/principal.h"

namespace livecommerce::gateway {

// Who is behind an open room WebSocket.
struct SocketInfo {
  std::string brand_id;
  std::string room_id;
  std::string viewer_id;
  std::string device_id;
  std::string principal;      // the viewer's encoded principal (for re-joining)
  std::string principal_key;  // brand/subject, for the per-principal limit
  absl::Duration heartbeat_interval = absl::Seconds(10);
  // Ops watching the room (a dashboard) without joining it: no presence, no heartbeats, no leave.
  bool watch_only = false;
};

// What goes with a chat frame besides its items: the room's like total and stats, when they
// changed since the socket's last frame (one frame instead of three; docs/API.md).
struct ChatSnapshot {
  int64_t likes = -1;                        // "likes": the session's total; -1: not carried
  std::shared_ptr<const std::string> stats;  // "stats": the stats object's JSON; null: not carried
};

// One chat frame for a socket: the whole frame
// ({"type":"chat","items":[...],"folded":N[,"likes":L][,"stats":{...}]}), and its parts so that
// several frames waiting for the same socket can be written as one.
struct ChatPiece {
  std::shared_ptr<const std::string> frame;
  std::string items;  // the items array's members, comma-separated, without the brackets
  int64_t folded = 0;
  ChatSnapshot snapshot;
};

// The text of a chat frame of these parts.
std::string ChatFrameText(absl::string_view items, int64_t folded, const ChatSnapshot& snapshot);
// The one frame of several pieces, in order: their items, the sum of their folded counts and the
// newest like total and stats among them.
std::string MergeChatPieces(const std::vector<std::shared_ptr<const ChatPiece>>& pieces);

class RoomSocket;

// One message a hub hands to a socket: a text message (RoomSocket::Push) or a chat frame
// (RoomSocket::PushChat).
struct SocketDelivery {
  std::shared_ptr<RoomSocket> socket;
  std::shared_ptr<const std::string> message;
  std::shared_ptr<const ChatPiece> chat;
};

// An open room WebSocket as the hub sees it.
class RoomSocket {
 public:
  virtual ~RoomSocket() = default;
  // Queues a text message; thread-safe, never blocks (a slow reader loses messages).
  virtual void Push(std::shared_ptr<const std::string> message) = 0;
  // Queues a chat frame. A socket whose earlier chat frame is still waiting to be written may
  // merge this one into it instead of queueing it (see ChatPiece); by default it is queued.
  virtual void PushChat(std::shared_ptr<const ChatPiece> piece);
  // Starts closing the socket (server shutdown).
  virtual void Close() = 0;
  virtual const SocketInfo& info() const = 0;
  // The io thread the socket lives on (null: none in particular). Deliveries to the sockets of
  // one thread are handed to it in one task (DeliverAll) rather than one per socket.
  virtual const void* thread() const { return nullptr; }
  // Queues every delivery of `batch`, all to sockets whose thread() is this one's; by default
  // one by one.
  virtual void PushBatch(std::vector<SocketDelivery> batch);
};

// Hands each delivery to its socket, those of one io thread in one task: a room's fan-out to
// 10,000 sockets is a few cross-thread posts instead of 10,000 (bench/run chat).
void DeliverAll(std::vector<SocketDelivery> deliveries);

// Takes a room's stats (the object's JSON) on their way to the room's sockets: true when it will
// deliver them itself (the chat hub, with the sockets' next chat frames), false to leave them to
// the RoomHub.
using StatsSink = std::function<bool(const std::string& brand_id, const std::string& room_id,
                                     const std::string& stats_json)>;

struct RoomHubOptions {
  absl::Duration presence_flush = absl::Seconds(1);  // how often presence goes to the room service
  absl::Duration watch_retry = absl::Seconds(1);
  std::string caller = "gateway";
};

// The room WebSockets of this gateway. Per room, one upstream RoomService.WatchRoom stream (as a
// SERVICE principal of the room's brand) whose messages are fanned out to every socket of the
// room; it starts with the room's first socket and is cancelled after its last. Presence: sockets
// were joined by the caller before they are added; the hub heartbeats them every heartbeat
// interval and sends leaves when they close, batched into RoomService.BatchPresence calls from one
// thread. A socket's per-principal slot (taken by the caller) is released when it leaves.
// Thread-safe.
class RoomHub final {
 public:
  RoomHub(std::shared_ptr<grpc::Channel> room_channel, const common::PrincipalCodec& codec,
          SocketSlots& slots, Metrics& metrics, RoomHubOptions options);
  ~RoomHub();

  // Where stats go before the sockets (see StatsSink); set before Start.
  void SetStatsSink(StatsSink sink);

  void Start();
  // Sends the last leaves and stops the upstream streams. Close sockets (CloseAll) first.
  void Stop();

  // A socket whose viewer has joined the room; it receives the room's last known state at once.
  void Add(const std::shared_ptr<RoomSocket>& socket);
  // The socket closed: its viewer leaves (in the next batch) and its slot is released.
  void Remove(RoomSocket* socket);
  // A joined viewer whose socket never opened: they leave and the slot is released.
  void Abandon(const SocketInfo& info);
  void CloseAll();
  // Sends due heartbeats and pending leaves now (the periodic task calls this).
  void FlushPresence();

  size_t rooms() const;

 private:
  struct Channel;
  class Watcher;
  struct Presence {
    SocketInfo info;
    absl::Time next_heartbeat;
  };

  std::shared_ptr<Channel> ChannelOf(const std::string& brand_id, const std::string& room_id,
                                     bool create);
  void StartWatcher(const std::shared_ptr<Channel>& channel);
  void Deliver(const std::shared_ptr<Channel>& channel, const v1::WatchRoomResponse& message);
  void WatcherDone(const std::shared_ptr<Channel>& channel, const grpc::Status& status);
  void RestartWatchers();
  void Rejoin(const SocketInfo& info);

  std::unique_ptr<v1::RoomService::Stub> stub_;
  const common::PrincipalCodec& codec_;
  SocketSlots& slots_;
  Metrics& metrics_;
  RoomHubOptions options_;

  mutable std::mutex channels_mu_;
  std::unordered_map<std::string, std::shared_ptr<Channel>> channels_;

  std::mutex presence_mu_;
  std::unordered_map<RoomSocket*, Presence> present_;
  std::vector<v1::PresenceEvent> pending_leaves_;
  std::vector<std::string> pending_leave_brands_;

  std::unique_ptr<common::PeriodicTask> flusher_;
  StatsSink stats_sink_;
  std::atomic<bool> stopped_{false};
};

// The JSON text pushed for one upstream message: {"type":"stats","stats":{...}}, "pinned",
// "flash_stock".
std::string SocketMessageJson(const v1::WatchRoomResponse& message);

}  // namespace livecommerce::gateway
