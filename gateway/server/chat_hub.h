#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/http/metrics.h"
#include "gateway/http/rate_limiter.h"
#include "gateway/server/room_hub.h"
#include "gateway/server/rpc_client.h"
#include "nlohmann/json.hpp"
#include "services/common/principal.h"
#include "services/common/redis_client.h"

namespace livecommerce::gateway {

// One entry of a room's chat stream (`lc:{room:<id>}:chat`, written by the interaction service;
// format in docs/INTERACTION.md), as the hub delivers it.
struct ChatItem {
  std::string type;  // comment, comment_deleted, announcement, viewer_muted
  std::string comment_id;
  std::string author_id;  // comment
  std::string badge;      // comment: viewer, host, associate
  bool reply = false;     // comment: answers another comment
  std::string viewer_id;  // viewer_muted
  nlohmann::json body;    // every field, as ops see it (without "v" and "room_id")
  // The item's JSON as written in frames, made once: as ops see it, and as other viewers see it
  // ("" for what they are not told: someone else's mute).
  std::string ops_json;
  std::string viewer_json;
  // Whether viewers' frames carry it (thinning, see DecideSample); decided once, when the hub
  // reads it, so every socket of this gateway gets the same sample.
  bool kept = true;
};

// The item of a stream entry's `json` field; nullopt for an entry of an unknown version or type,
// or malformed.
std::optional<ChatItem> ParseChatEntry(absl::string_view json);

// Viewers' comments a room received per second, over the last second (ten 100 ms buckets).
class ChatRate final {
 public:
  void Add(absl::Time now, int64_t n);
  double PerSecond(absl::Time now);

 private:
  void Advance(int64_t bucket);
  std::array<int64_t, 10> counts_{};
  int64_t bucket_ = 0;  // the bucket counts_[bucket_ % 10] holds
};

// Thinning: whether a viewer's socket is always sent `item`, whatever the room's rate: everything
// but other viewers' plain comments (staff comments, replies and moderation events always are).
bool AlwaysDelivered(const ChatItem& item);
// The share of other viewers' plain comments a viewer is sent when the room receives `rate`
// comments a second and a viewer can read `readable` a second: 1 up to `readable`, then
// readable / rate.
double KeepShare(double rate, double readable);
// Whether the comment is among the `share` kept: decided from its id alone, so every socket and
// every gateway instance keeps the same comments.
bool KeptInSample(absl::string_view comment_id, double share);
// Sets `item.kept` for a room keeping `share` of viewers' plain comments.
void DecideSample(ChatItem& item, double share);

// The frame of a batch for one socket. `view_of`: the viewer id whose socket it is for ("" for the
// shared viewer frame); `full`: ops' view (every item with author and viewer ids, nothing folded).
// Viewers' frames leave out the items not `kept` (counted in `folded`), except the viewer's own.
// "" when there is nothing to send; the snapshot alone is not a reason to send a chat frame.
std::string ChatFrame(const std::vector<std::shared_ptr<const ChatItem>>& items,
                      const std::string& view_of, bool full, int64_t* folded,
                      const ChatSnapshot& snapshot = {});
// The same as a piece (null when there is nothing to send).
std::shared_ptr<const ChatPiece> ChatPieceOf(
    const std::vector<std::shared_ptr<const ChatItem>>& items, const std::string& view_of,
    bool full, const ChatSnapshot& snapshot = {});

// The flush grid: a room's sockets are spread over `groups` groups, and group g's frames go at
// the first poll after each point `epoch + g * batch / groups + n * batch`. With 10,000 sockets
// a room then writes an eighth of them every 25 ms instead of all of them every 200 ms, which
// keeps the last socket of a burst from waiting for the other 9,999 (bench/run chat).
// The point of group `g` at or after `t`.
absl::Time GridPointAtOrAfter(absl::Time epoch, absl::Duration batch, int groups, int g,
                              absl::Time t);

struct ChatHubOptions {
  absl::Duration poll = absl::Milliseconds(25);    // how often the rooms' streams are read
  absl::Duration batch = absl::Milliseconds(200);  // at most one chat frame per socket this often
  double viewer_rate = 20;  // comments a second a viewer can read; above, others' are sampled
  absl::Duration likes_interval = absl::Seconds(1);  // how often like totals are pushed
  absl::Duration rpc_timeout = absl::Seconds(5);
  int read_count = 1000;   // entries per room per read
  int history = 50;        // comments a socket is sent when it opens
  double client_rate = 5;  // messages (comments, like batches) a second per socket
  double client_burst = 10;
  int client_in_flight = 4;  // a socket's messages waiting for the service
};

// LC_GATEWAY_CHAT_POLL_MS, LC_GATEWAY_CHAT_BATCH_MS, LC_GATEWAY_CHAT_VIEWER_RATE,
// LC_GATEWAY_CHAT_LIKES_MS, LC_GATEWAY_CHAT_CLIENT_RATE, LC_GATEWAY_CHAT_CLIENT_BURST.
absl::StatusOr<ChatHubOptions> LoadChatHubOptions();

// The live chat of this gateway's room sockets. Per room with a socket here, the room's Redis
// stream is read every `poll` from the last entry read (so every gateway instance delivers the same
// sequence, in the stream's order) and one frame goes to each socket per `batch`, at its group's
// point of the flush grid (GridPointAtOrAfter): viewers share one thinned frame (see
// AlwaysDelivered), a viewer whose own comment or mute is in the batch gets a frame of their own,
// ops' watch sockets get everything. A socket that opens is sent the room's recent comments
// (ListComments as its own principal) and then the stream from the point read before that call,
// duplicates dropped. Like totals are read (GetLikes), and the room's stats are taken from the
// RoomHub (OfferStats); when they change, they go in each socket's next chat frame, or in a frame
// of their own ("likes", "stats") when no chat frame goes. Messages from sockets (comments, like
// batches) are calls to the interaction service as the socket's principal, answered on the
// socket. Thread-safe.
class ChatHub final {
 public:
  ChatHub(common::RedisPool& redis, RpcClient& rpc, const common::PrincipalCodec& codec,
          Metrics& metrics, ChatHubOptions options);
  ~ChatHub();

  void Start();  // the reading thread
  void Stop();

  void Add(const std::shared_ptr<RoomSocket>& socket);
  void Remove(RoomSocket* socket);
  // A text message from the socket's client; anything but "ping" comes here.
  void OnClientMessage(const std::shared_ptr<RoomSocket>& socket, absl::string_view text);
  // A room's new stats (the object's JSON), from the RoomHub: true when the hub delivers them to
  // the room's sockets (it runs and has the room), false otherwise (see StatsSink).
  bool OfferStats(const std::string& brand_id, const std::string& room_id,
                  const std::string& stats_json);

  // One round: reads the streams, sends histories and the batches that are due, asks for like
  // totals. The thread runs it every `poll`.
  void Poll(absl::Time now);

  size_t rooms() const;

 private:
  struct Member;
  struct Group;
  struct Room;
  using ItemPtr = std::shared_ptr<const ChatItem>;

  // Reads one room's new entries from a stream reply.
  void Read(Room& room, const common::RedisValue& reply, absl::Time now);
  // Sends group `g` of the room what it has not had: the new items, the like total and stats.
  void Flush(Room& room, size_t g, std::vector<SocketDelivery>& out);
  void FetchHistory(const std::shared_ptr<Room>& room, RoomSocket* socket);
  void HistoryArrived(const std::string& room_id, RoomSocket* socket, const grpc::Status& status,
                      const google::protobuf::Message* response);
  void AskLikes(const std::shared_ptr<Room>& room);
  void SendComment(const std::shared_ptr<RoomSocket>& socket, const nlohmann::json& message);
  void SendLike(const std::shared_ptr<RoomSocket>& socket, const nlohmann::json& message);
  // Whether the socket may send one more message now (rate and in-flight limits); takes a slot.
  bool Admit(RoomSocket* socket, absl::Time now);
  void Release(RoomSocket* socket);

  common::RedisPool& redis_;
  RpcClient& rpc_;
  const common::PrincipalCodec& codec_;
  Metrics& metrics_;
  ChatHubOptions options_;
  const int groups_;  // of each room's sockets (see GridPointAtOrAfter)
  const google::protobuf::MethodDescriptor* list_comments_;
  const google::protobuf::MethodDescriptor* post_comment_;
  const google::protobuf::MethodDescriptor* add_likes_;
  const google::protobuf::MethodDescriptor* get_likes_;
  RateLimiter client_limiter_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Room>> rooms_;  // by room id
  std::unordered_map<RoomSocket*, int> in_flight_;

  std::mutex poll_mu_;  // one Poll at a time
  std::atomic<bool> redis_failing_{false};
  std::atomic<bool> running_{false};  // the reading thread runs
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

// The reason and sentence of a refused comment or like batch ("muted", "you are muted ..."), from
// the service's status; unknown failures are "unavailable" (retry) or "error".
std::pair<std::string, std::string> ChatRefusal(const grpc::Status& status);
// The interaction service's refusal reason at the start of `message` ("muted: ..."), or "".
std::string RefusalReasonOf(absl::string_view message);

}  // namespace livecommerce::gateway
