#include "gateway/server/chat_hub.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "livecommerce/v1/interaction.pb.h"
#include "services/common/config.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "spdlog/spdlog.h"

namespace livecommerce::gateway {
namespace {

constexpr size_t kSeenIds = 4096;        // comment ids remembered per room, for duplicates
constexpr size_t kBufferedItems = 2000;  // items kept for a socket still waiting for its history

std::string StreamKey(const std::string& room_id) {
  return absl::StrCat("lc:{room:", room_id, "}:chat");
}

const char* Badge(v1::AuthorRole role) {
  switch (role) {
    case v1::AUTHOR_ROLE_HOST:
      return "host";
    case v1::AUTHOR_ROLE_ASSOCIATE:
      return "associate";
    default:
      return "viewer";
  }
}

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::shared_ptr<const std::string> Text(const nlohmann::json& j) {
  return std::make_shared<const std::string>(Dump(j));
}

// The item as its own viewer sees it ("" when it is not theirs): their comment marked own, with
// their id; their mute without the id (theirs anyway; the field is ops').
std::string OwnJson(const ChatItem& item, const std::string& view_of) {
  if (view_of.empty()) return "";
  if (item.type == "comment" && item.author_id == view_of) {
    nlohmann::json j = item.body;
    j["own"] = true;
    return Dump(j);
  }
  if (item.type == "viewer_muted" && item.viewer_id == view_of) {
    nlohmann::json j = item.body;
    j.erase("viewer_id");
    return Dump(j);
  }
  return "";
}

// The members of a frame's items array for one view, and how many were folded.
std::string FrameItems(const std::vector<std::shared_ptr<const ChatItem>>& items,
                       const std::string& view_of, bool full, int64_t* folded) {
  std::string out;
  int64_t left_out = 0;
  for (const auto& item : items) {
    std::string own = OwnJson(*item, view_of);
    const std::string* text = nullptr;
    if (!own.empty() && !(full && item->type == "viewer_muted")) {
      text = &own;  // the viewer's own comment (ops' too) or their mute: always theirs
    } else if (full) {
      text = &item->ops_json;  // ops: everything, with the ids
    } else if (!item->kept) {
      ++left_out;
      continue;
    } else {
      text = &item->viewer_json;
    }
    if (text->empty()) continue;
    if (!out.empty()) out += ',';
    out += *text;
  }
  *folded = left_out;
  return out;
}

// A string member of a client's message: "" when absent, nullopt when not a string.
std::optional<std::string> StringMember(const nlohmann::json& m, const char* name) {
  auto it = m.find(name);
  if (it == m.end() || it->is_null()) return std::string();
  if (!it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

std::optional<ChatItem> ParseChatEntry(absl::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto v = j.find("v");
  auto type = j.find("type");
  if (v == j.end() || !v->is_number_integer() || v->get<int>() != 1) return std::nullopt;
  if (type == j.end() || !type->is_string()) return std::nullopt;
  auto str = [&j](const char* name) -> std::string {
    auto it = j.find(name);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  ChatItem item;
  item.type = type->get<std::string>();
  if (item.type == "comment") {
    item.comment_id = str("comment_id");
    item.author_id = str("author_id");
    item.badge = str("badge");
    item.reply = !str("reply_to").empty();
    if (item.comment_id.empty() || item.author_id.empty()) return std::nullopt;
  } else if (item.type == "comment_deleted") {
    item.comment_id = str("comment_id");
    if (item.comment_id.empty()) return std::nullopt;
  } else if (item.type == "viewer_muted") {
    item.viewer_id = str("viewer_id");
    if (item.viewer_id.empty()) return std::nullopt;
  } else if (item.type != "announcement") {
    return std::nullopt;
  }
  j.erase("v");
  j.erase("room_id");
  if (item.type == "comment") {
    nlohmann::json ops = j;
    ops["own"] = false;
    item.ops_json = Dump(ops);
    ops.erase("author_id");  // viewers know other authors by their alias only
    item.viewer_json = Dump(ops);
  } else {
    item.ops_json = Dump(j);
    // Only the muted viewer (and ops) hear of a mute.
    if (item.type != "viewer_muted") item.viewer_json = item.ops_json;
  }
  item.body = std::move(j);
  return item;
}

void ChatRate::Advance(int64_t bucket) {
  if (bucket <= bucket_) return;
  if (bucket - bucket_ >= static_cast<int64_t>(counts_.size())) {
    counts_.fill(0);
  } else {
    for (int64_t b = bucket_ + 1; b <= bucket; ++b) counts_[b % counts_.size()] = 0;
  }
  bucket_ = bucket;
}

void ChatRate::Add(absl::Time now, int64_t n) {
  Advance(absl::ToUnixMillis(now) / 100);
  counts_[bucket_ % counts_.size()] += n;
}

double ChatRate::PerSecond(absl::Time now) {
  Advance(absl::ToUnixMillis(now) / 100);
  int64_t sum = 0;
  for (int64_t c : counts_) sum += c;
  return static_cast<double>(sum);
}

bool AlwaysDelivered(const ChatItem& item) {
  return item.type != "comment" || item.badge != "viewer" || item.reply;
}

double KeepShare(double rate, double readable) {
  if (readable <= 0) return 1.0;
  return rate <= readable ? 1.0 : readable / rate;
}

bool KeptInSample(absl::string_view comment_id, double share) {
  if (share >= 1.0) return true;
  // FNV-1a: the same on every instance (absl::Hash is seeded per process).
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : comment_id) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<double>(h % 10000) < share * 10000.0;
}

void DecideSample(ChatItem& item, double share) {
  item.kept = AlwaysDelivered(item) || KeptInSample(item.comment_id, share);
}

std::string ChatFrame(const std::vector<std::shared_ptr<const ChatItem>>& items,
                      const std::string& view_of, bool full, int64_t* folded,
                      const ChatSnapshot& snapshot) {
  int64_t left_out = 0;
  std::string list = FrameItems(items, view_of, full, &left_out);
  if (folded != nullptr) *folded = left_out;
  if (list.empty() && left_out == 0) return "";
  return ChatFrameText(list, left_out, snapshot);
}

std::shared_ptr<const ChatPiece> ChatPieceOf(
    const std::vector<std::shared_ptr<const ChatItem>>& items, const std::string& view_of,
    bool full, const ChatSnapshot& snapshot) {
  auto piece = std::make_shared<ChatPiece>();
  piece->items = FrameItems(items, view_of, full, &piece->folded);
  if (piece->items.empty() && piece->folded == 0) return nullptr;
  piece->snapshot = snapshot;
  piece->frame =
      std::make_shared<const std::string>(ChatFrameText(piece->items, piece->folded, snapshot));
  return piece;
}

absl::Time GridPointAtOrAfter(absl::Time epoch, absl::Duration batch, int groups, int g,
                              absl::Time t) {
  absl::Time first = epoch + g * (batch / std::max(groups, 1));
  if (t <= first) return first;
  absl::Duration rest;
  int64_t periods = absl::IDivDuration(t - first, batch, &rest);
  absl::Time point = first + periods * batch;
  return point < t ? point + batch : point;
}

std::string RefusalReasonOf(absl::string_view message) {
  static const char* const kReasons[] = {"not_in_room",    "banned",   "muted",
                                         "room_not_live",  "too_long", "blocked_word",
                                         "unsafe_content", "too_fast", "room_busy"};
  for (const char* reason : kReasons) {
    if (absl::StartsWith(message, absl::StrCat(reason, ": "))) return reason;
  }
  return "";
}

std::pair<std::string, std::string> ChatRefusal(const grpc::Status& status) {
  const std::string& message = status.error_message();
  if (std::string reason = RefusalReasonOf(message); !reason.empty()) {
    return {reason, message.substr(reason.size() + 2)};
  }
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return {"invalid", message};
    case grpc::StatusCode::NOT_FOUND:
      return {"not_found", message};
    case grpc::StatusCode::PERMISSION_DENIED:
      return {"not_in_room", message};
    case grpc::StatusCode::FAILED_PRECONDITION:
      return {"room_not_live", message};
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
      return {"unavailable", "the service is busy, send it again"};
    default:
      return {"error", "the message could not be handled"};
  }
}

absl::StatusOr<ChatHubOptions> LoadChatHubOptions() {
  ChatHubOptions o;
  LC_ASSIGN_OR_RETURN(o.poll, common::EnvMillis("LC_GATEWAY_CHAT_POLL_MS", 25, 5, 1000));
  LC_ASSIGN_OR_RETURN(o.batch, common::EnvMillis("LC_GATEWAY_CHAT_BATCH_MS", 200, 10, 5000));
  LC_ASSIGN_OR_RETURN(int64_t rate, common::EnvInt("LC_GATEWAY_CHAT_VIEWER_RATE", 20, 1, 100000));
  o.viewer_rate = static_cast<double>(rate);
  LC_ASSIGN_OR_RETURN(o.likes_interval,
                      common::EnvMillis("LC_GATEWAY_CHAT_LIKES_MS", 1000, 100, 60000));
  LC_ASSIGN_OR_RETURN(int64_t client_rate,
                      common::EnvInt("LC_GATEWAY_CHAT_CLIENT_RATE", 5, 1, 1000));
  LC_ASSIGN_OR_RETURN(int64_t client_burst,
                      common::EnvInt("LC_GATEWAY_CHAT_CLIENT_BURST", 10, 1, 10000));
  o.client_rate = static_cast<double>(client_rate);
  o.client_burst = static_cast<double>(client_burst);
  return o;
}

struct ChatHub::Member {
  enum class State { kNeedHistory, kFetching, kReady };
  std::shared_ptr<RoomSocket> socket;
  State state = State::kNeedHistory;
  std::vector<ItemPtr> buffered;  // items read while its history was on its way
};

// The sockets of a room that share a point of the flush grid.
struct ChatHub::Group {
  std::unordered_map<RoomSocket*, Member> members;
  int64_t sent = 0;                        // the number of the last item sent to the group
  absl::Time next = absl::InfinitePast();  // no frame before this
  int64_t likes_sent = -1;                 // the like total last sent to the group
  uint64_t stats_sent = 0;                 // the version of the stats last sent to the group
};

struct ChatHub::Room {
  std::string brand_id;
  std::string room_id;
  std::string key;
  std::string last_id;  // of the last entry read; "" until the starting point is known
  absl::Time epoch;     // the flush grid's origin
  std::vector<Group> groups;
  std::unordered_map<RoomSocket*, size_t> group_of;
  // Sockets added since the last poll (their history not asked for yet): a poll looks at these
  // rather than at every member, which with 10,000 sockets in a room cost a tenth of the
  // gateway's CPU (bench/run chat). May name a socket since removed; group_of decides.
  std::vector<RoomSocket*> need_history;
  // Items read that some group has not had yet, numbered from first_item; last_item is the
  // number of the last item read.
  std::deque<ItemPtr> items;
  int64_t first_item = 1;
  int64_t last_item = 0;
  ChatRate rate;
  std::deque<std::string> seen_order;
  std::unordered_set<std::string> seen;
  int64_t likes = -1;  // the session's like total as last read; -1 before the first answer
  bool likes_asked = false;
  absl::Time next_likes = absl::InfinitePast();
  std::shared_ptr<const std::string> stats;  // the last stats object from the RoomHub
  uint64_t stats_version = 0;
};

namespace {

// A round of 10,000 sockets is spread over as many groups as polls fit in a batch interval (each
// poll then flushes about one group), at most 16.
int GroupsFor(const ChatHubOptions& o) {
  absl::Duration rest;
  int64_t n = o.poll > absl::ZeroDuration() ? absl::IDivDuration(o.batch, o.poll, &rest) : 1;
  return static_cast<int>(std::clamp<int64_t>(n, 1, 16));
}

}  // namespace

ChatHub::ChatHub(common::RedisPool& redis, RpcClient& rpc, const common::PrincipalCodec& codec,
                 Metrics& metrics, ChatHubOptions options)
    : redis_(redis),
      rpc_(rpc),
      codec_(codec),
      metrics_(metrics),
      options_(options),
      groups_(GroupsFor(options)),
      list_comments_(rpc.FindMethod("livecommerce.v1.InteractionService.ListComments")),
      post_comment_(rpc.FindMethod("livecommerce.v1.InteractionService.PostComment")),
      add_likes_(rpc.FindMethod("livecommerce.v1.InteractionService.AddLikes")),
      get_likes_(rpc.FindMethod("livecommerce.v1.InteractionService.GetLikes")),
      client_limiter_(options.client_rate, options.client_burst) {}

ChatHub::~ChatHub() { Stop(); }

void ChatHub::Start() {
  if (list_comments_ == nullptr || post_comment_ == nullptr || add_likes_ == nullptr ||
      get_likes_ == nullptr) {
    spdlog::warn("chat: no address for the interaction service; room chat is off");
    return;
  }
  running_.store(true);
  thread_ = std::thread([this] {
    while (!stopped_.load()) {
      absl::Time started = absl::Now();
      Poll(started);
      absl::Duration left = options_.poll - (absl::Now() - started);
      if (left > absl::ZeroDuration()) absl::SleepFor(left);
    }
  });
}

void ChatHub::Stop() {
  stopped_.store(true);
  running_.store(false);
  if (thread_.joinable()) thread_.join();
}

size_t ChatHub::rooms() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rooms_.size();
}

void ChatHub::Add(const std::shared_ptr<RoomSocket>& socket) {
  const SocketInfo& info = socket->info();
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<Room>& room = rooms_[info.room_id];
  if (room == nullptr) {
    room = std::make_shared<Room>();
    room->brand_id = info.brand_id;
    room->room_id = info.room_id;
    room->key = StreamKey(info.room_id);
    room->epoch = absl::Now();
    room->groups.resize(static_cast<size_t>(groups_));
  }
  // The smallest group, so that the groups stay even as sockets come and go.
  size_t g = 0;
  for (size_t i = 1; i < room->groups.size(); ++i) {
    if (room->groups[i].members.size() < room->groups[g].members.size()) g = i;
  }
  room->groups[g].members[socket.get()].socket = socket;
  room->group_of[socket.get()] = g;
  room->need_history.push_back(socket.get());
  in_flight_.emplace(socket.get(), 0);
}

void ChatHub::Remove(RoomSocket* socket) {
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_.erase(socket);
  auto it = rooms_.find(socket->info().room_id);
  if (it == rooms_.end()) return;
  Room& room = *it->second;
  auto g = room.group_of.find(socket);
  if (g == room.group_of.end()) return;
  room.groups[g->second].members.erase(socket);
  room.group_of.erase(g);
  if (room.group_of.empty()) rooms_.erase(it);
}

bool ChatHub::OfferStats(const std::string& brand_id, const std::string& room_id,
                         const std::string& stats_json) {
  if (!running_.load()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end() || it->second->brand_id != brand_id) return false;
  it->second->stats = std::make_shared<const std::string>(stats_json);
  ++it->second->stats_version;
  return true;
}

void ChatHub::Poll(absl::Time now) {
  std::lock_guard<std::mutex> poll_lock(poll_mu_);
  std::vector<std::shared_ptr<Room>> rooms;
  std::vector<std::vector<std::string>> commands;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, room] : rooms_) {
      rooms.push_back(room);
      if (room->last_id.empty()) {
        // Where this gateway starts reading: the stream's last entry (what is older is in the
        // recent comments every socket is sent when it opens).
        commands.push_back({"XREVRANGE", room->key, "+", "-", "COUNT", "1"});
      } else {
        commands.push_back({"XREAD", "COUNT", absl::StrCat(options_.read_count), "STREAMS",
                            room->key, room->last_id});
      }
    }
  }
  // While Redis fails nothing is read, but the like totals and stats still go out.
  std::vector<absl::StatusOr<common::RedisValue>> replies;
  if (!commands.empty()) {
    absl::StatusOr<std::vector<absl::StatusOr<common::RedisValue>>> answered =
        redis_.Pipeline(commands);
    if (!answered.ok()) {
      // Once per outage, not every poll.
      if (!redis_failing_.exchange(true)) {
        spdlog::warn("chat: reading the rooms' streams: {}",
                     std::string(answered.status().message()));
      }
    } else {
      if (redis_failing_.exchange(false)) spdlog::info("chat: reading the rooms' streams again");
      replies = *std::move(answered);
    }
  }

  std::vector<std::pair<std::shared_ptr<Room>, std::shared_ptr<RoomSocket>>> histories;
  std::vector<std::shared_ptr<Room>> likes;
  std::vector<SocketDelivery> deliveries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < rooms.size() && i < replies.size(); ++i) {
      if (!replies[i].ok()) {
        spdlog::warn("chat: room {}: {}", rooms[i]->room_id,
                     std::string(replies[i].status().message()));
        continue;
      }
      Read(*rooms[i], *replies[i], now);
    }
    for (const auto& [id, room] : rooms_) {
      if (!room->last_id.empty()) {
        for (RoomSocket* ptr : room->need_history) {
          auto g = room->group_of.find(ptr);
          if (g == room->group_of.end()) continue;
          Member& member = room->groups[g->second].members.at(ptr);
          if (member.state != Member::State::kNeedHistory) continue;
          member.state = Member::State::kFetching;
          histories.emplace_back(room, member.socket);
        }
        room->need_history.clear();
      }
      int64_t all_sent = room->last_item;
      for (size_t g = 0; g < room->groups.size(); ++g) {
        Group& group = room->groups[g];
        if (group.members.empty()) {
          // Nothing to send it: a socket that joins it later starts from here.
          group.sent = room->last_item;
          continue;
        }
        bool due = room->last_item > group.sent ||
                   (room->likes >= 0 && room->likes != group.likes_sent) ||
                   room->stats_version != group.stats_sent;
        if (due && now >= group.next) {
          Flush(*room, g, deliveries);
          // Back on the grid: the group's next point at least half an interval away (a poll
          // that came late does not push the group a whole interval back).
          group.next = GridPointAtOrAfter(room->epoch, options_.batch, groups_, static_cast<int>(g),
                                          now + options_.batch / 2);
        }
        all_sent = std::min(all_sent, group.sent);
      }
      while (!room->items.empty() && room->first_item <= all_sent) {
        room->items.pop_front();
        ++room->first_item;
      }
      if (!room->likes_asked && now >= room->next_likes) {
        room->likes_asked = true;
        room->next_likes = now + options_.likes_interval;
        likes.push_back(room);
      }
    }
  }
  DeliverAll(std::move(deliveries));
  for (const auto& [room, socket] : histories) FetchHistory(room, socket.get());
  for (const auto& room : likes) AskLikes(room);
}

void ChatHub::Read(Room& room, const common::RedisValue& reply, absl::Time now) {
  if (room.last_id.empty()) {
    room.last_id = "0-0";
    if (!reply.elements.empty() && !reply.elements[0].elements.empty()) {
      room.last_id = reply.elements[0].elements[0].str;
    }
    return;
  }
  // [[key, [[id, [field, value ...]] ...]]]
  if (reply.elements.empty() || reply.elements[0].elements.size() < 2) return;
  const std::vector<common::RedisValue>& entries = reply.elements[0].elements[1].elements;
  std::vector<ChatItem> read;
  int64_t plain = 0;
  for (const common::RedisValue& entry : entries) {
    if (entry.elements.size() < 2) continue;
    room.last_id = entry.elements[0].str;
    const std::vector<common::RedisValue>& fields = entry.elements[1].elements;
    for (size_t f = 0; f + 1 < fields.size(); f += 2) {
      if (fields[f].str != "json") continue;
      std::optional<ChatItem> item = ParseChatEntry(fields[f + 1].str);
      if (!item.has_value()) continue;
      if (item->type == "comment") {
        // The service may append a comment twice (a resend after Redis failed); once is enough.
        if (!room.seen.insert(item->comment_id).second) continue;
        room.seen_order.push_back(item->comment_id);
        if (room.seen_order.size() > kSeenIds) {
          room.seen.erase(room.seen_order.front());
          room.seen_order.pop_front();
        }
      }
      if (!AlwaysDelivered(*item)) ++plain;
      read.push_back(*std::move(item));
    }
  }
  metrics_.ChatEntriesRead(static_cast<int64_t>(entries.size()));
  room.rate.Add(now, plain);
  double share = KeepShare(room.rate.PerSecond(now), options_.viewer_rate);
  int64_t folded = 0;
  for (ChatItem& item : read) {
    DecideSample(item, share);
    folded += item.kept ? 0 : 1;
    room.items.push_back(std::make_shared<const ChatItem>(std::move(item)));
    ++room.last_item;
  }
  if (folded > 0) metrics_.ChatFolded(folded);
}

void ChatHub::Flush(Room& room, size_t g, std::vector<SocketDelivery>& out) {
  Group& group = room.groups[g];
  std::vector<ItemPtr> items;
  if (room.last_item > group.sent) {
    // The deque holds every item some group has not had, this one's included.
    auto from = room.items.begin() + std::max<int64_t>(0, group.sent + 1 - room.first_item);
    items.assign(from, room.items.end());
  }
  group.sent = room.last_item;
  ChatSnapshot snapshot;
  if (room.likes >= 0 && room.likes != group.likes_sent) snapshot.likes = room.likes;
  if (room.stats_version != group.stats_sent) snapshot.stats = room.stats;
  group.likes_sent = room.likes;
  group.stats_sent = room.stats_version;

  std::unordered_set<std::string> own_views;  // viewers with a comment or a mute in the batch
  for (const ItemPtr& item : items) {
    if (item->type == "comment") {
      own_views.insert(item->author_id);
    } else if (item->type == "viewer_muted") {
      own_views.insert(item->viewer_id);
    }
  }
  std::shared_ptr<const ChatPiece> shared_frame;
  std::shared_ptr<const ChatPiece> full_frame;
  std::unordered_map<std::string, std::shared_ptr<const ChatPiece>> own_frames;
  bool shared_built = false;
  bool full_built = false;
  // A socket that gets no chat frame this round still gets the new figures, in frames of their
  // own (as before chat frames carried them).
  std::shared_ptr<const std::string> likes_frame;
  std::shared_ptr<const std::string> stats_frame;
  if (snapshot.likes >= 0) {
    likes_frame = std::make_shared<const std::string>(
        absl::StrCat("{\"type\":\"likes\",\"total\":", snapshot.likes, "}"));
  }
  if (snapshot.stats != nullptr) {
    stats_frame = std::make_shared<const std::string>(
        absl::StrCat("{\"type\":\"stats\",\"stats\":", *snapshot.stats, "}"));
  }
  out.reserve(out.size() + group.members.size());
  for (auto& [ptr, member] : group.members) {
    std::shared_ptr<const ChatPiece> frame;
    if (member.state != Member::State::kReady) {
      for (const ItemPtr& item : items) {
        if (member.buffered.size() < kBufferedItems) member.buffered.push_back(item);
      }
    } else if (!items.empty()) {
      const SocketInfo& info = ptr->info();
      if (info.watch_only) {
        if (!full_built) {
          full_frame = ChatPieceOf(items, "", true, snapshot);
          full_built = true;
        }
        frame = full_frame;
      } else if (own_views.count(info.viewer_id) > 0) {
        auto [it, inserted] = own_frames.emplace(info.viewer_id, nullptr);
        if (inserted) it->second = ChatPieceOf(items, info.viewer_id, false, snapshot);
        frame = it->second;
      } else {
        if (!shared_built) {
          shared_frame = ChatPieceOf(items, "", false, snapshot);
          shared_built = true;
        }
        frame = shared_frame;
      }
    }
    if (frame != nullptr) {
      out.push_back(SocketDelivery{member.socket, nullptr, std::move(frame)});
      continue;
    }
    if (likes_frame != nullptr) out.push_back(SocketDelivery{member.socket, likes_frame, nullptr});
    if (stats_frame != nullptr) out.push_back(SocketDelivery{member.socket, stats_frame, nullptr});
  }
}

void ChatHub::FetchHistory(const std::shared_ptr<Room>& room, RoomSocket* socket) {
  auto request = std::make_unique<v1::ListCommentsRequest>();
  request->set_room_id(room->room_id);
  std::string room_id = room->room_id;
  std::shared_ptr<RoomSocket> held;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto g = room->group_of.find(socket);
    if (g == room->group_of.end()) return;
    held = room->groups[g->second].members.at(socket).socket;
  }
  // Ops read the session's last page; viewers' ListComments takes no page size (they get the
  // service's recent comments).
  if (held->info().watch_only) {
    request->set_recent(true);
    request->set_page_size(options_.history);
  }
  rpc_.Call(*list_comments_, std::move(request), held->info().principal,
            absl::Now() + options_.rpc_timeout,
            [this, room_id, held](grpc::Status status,
                                  std::unique_ptr<google::protobuf::Message> response) {
              HistoryArrived(room_id, held.get(), status, response.get());
            });
}

void ChatHub::HistoryArrived(const std::string& room_id, RoomSocket* socket,
                             const grpc::Status& status,
                             const google::protobuf::Message* response) {
  std::lock_guard<std::mutex> lock(mu_);
  auto room_it = rooms_.find(room_id);
  if (room_it == rooms_.end()) return;
  Room& room = *room_it->second;
  auto g = room.group_of.find(socket);
  if (g == room.group_of.end()) return;
  auto it = room.groups[g->second].members.find(socket);
  if (it == room.groups[g->second].members.end() || it->second.state != Member::State::kFetching) {
    return;
  }
  Member& member = it->second;
  const SocketInfo& info = socket->info();
  bool full = info.watch_only;
  nlohmann::json comments = nlohmann::json::array();
  std::unordered_set<std::string> sent;
  std::string announcement;
  const auto* list = dynamic_cast<const v1::ListCommentsResponse*>(response);
  if (status.ok() && list != nullptr) {
    for (const v1::Comment& c : list->comments()) {
      nlohmann::json j{
          {"type", "comment"},
          {"comment_id", c.id()},
          {"session_id", c.session_id()},
          {"author_alias", c.author_alias()},
          {"badge", Badge(c.author_role())},
          {"text", c.text()},
          {"reply_to", c.reply_to()},
          {"at", common::FormatRfc3339Millis(common::FromTimestamp(c.created_at()))},
          {"own", c.own() || (!c.author_id().empty() && c.author_id() == info.viewer_id)}};
      if (full || c.own()) j["author_id"] = c.author_id();
      comments.push_back(std::move(j));
      sent.insert(c.id());
    }
    announcement = list->announcement();
  } else if (!status.ok()) {
    spdlog::warn("chat: room {}: recent comments: {}", room_id,
                 static_cast<int>(status.error_code()));
  }
  socket->Push(Text(nlohmann::json{{"type", "chat_history"},
                                   {"comments", std::move(comments)},
                                   {"announcement", announcement}}));
  std::vector<ItemPtr> buffered;
  for (ItemPtr& item : member.buffered) {
    if (item->type == "comment" && sent.count(item->comment_id) > 0) continue;
    buffered.push_back(std::move(item));
  }
  member.buffered.clear();
  member.state = Member::State::kReady;
  if (!buffered.empty()) {
    std::string frame = ChatFrame(buffered, info.viewer_id, full, nullptr);
    if (!frame.empty()) socket->Push(std::make_shared<const std::string>(std::move(frame)));
  }
}

void ChatHub::AskLikes(const std::shared_ptr<Room>& room) {
  auto request = std::make_unique<v1::GetLikesRequest>();
  request->set_room_id(room->room_id);
  common::Principal gateway;
  gateway.role = common::Role::kService;
  gateway.brand_id = room->brand_id;
  gateway.subject = "gateway";
  gateway.expires_at = absl::Now() + absl::Minutes(5);
  std::string room_id = room->room_id;
  rpc_.Call(
      *get_likes_, std::move(request), codec_.Encode(gateway), absl::Now() + options_.rpc_timeout,
      [this, room_id](grpc::Status status, std::unique_ptr<google::protobuf::Message> response) {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = rooms_.find(room_id);
        if (it == rooms_.end()) return;
        Room& room = *it->second;
        room.likes_asked = false;
        const auto* likes = dynamic_cast<const v1::GetLikesResponse*>(response.get());
        // Each group carries a new total in its next frame (Flush).
        if (status.ok() && likes != nullptr) room.likes = likes->total();
      });
}

bool ChatHub::Admit(RoomSocket* socket, absl::Time now) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = in_flight_.find(socket);
    if (it == in_flight_.end() || it->second >= options_.client_in_flight) return false;
  }
  // Keyed by the socket: each has its own bucket (its address is unique while it is open).
  std::string key = absl::StrCat(reinterpret_cast<uintptr_t>(socket));
  if (!client_limiter_.Take(key, now).allowed) return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = in_flight_.find(socket);
  if (it == in_flight_.end()) return false;
  ++it->second;
  return true;
}

void ChatHub::Release(RoomSocket* socket) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = in_flight_.find(socket);
  if (it != in_flight_.end() && it->second > 0) --it->second;
}

void ChatHub::OnClientMessage(const std::shared_ptr<RoomSocket>& socket, absl::string_view text) {
  nlohmann::json m = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  auto type = m.is_object() ? m.find("type") : m.end();
  if (!m.is_object() || type == m.end() || !type->is_string()) {
    socket->Push(Text(
        nlohmann::json{{"type", "error"},
                       {"message", "messages are JSON objects with a \"type\" (or \"ping\")"}}));
    return;
  }
  const std::string kind = type->get<std::string>();
  if (kind != "comment" && kind != "like") {
    socket->Push(
        Text(nlohmann::json{{"type", "error"}, {"message", "type: comment, like or ping"}}));
    return;
  }
  bool comment = kind == "comment";
  const char* id_field = comment ? "client_id" : "batch_id";
  std::optional<std::string> id = StringMember(m, id_field);
  auto refuse = [&](const std::string& reason, const std::string& message) {
    metrics_.ChatSent(false);
    socket->Push(Text(nlohmann::json{{"type", comment ? "comment_refused" : "like_refused"},
                                     {id_field, id.value_or("")},
                                     {"reason", reason},
                                     {"message", message}}));
  };
  if (post_comment_ == nullptr) return refuse("unavailable", "chat is not available here");
  if (!id.has_value() || id->empty())
    return refuse("invalid", absl::StrCat(id_field, ": required"));
  if (!Admit(socket.get(), absl::Now())) {
    return refuse("too_fast", "too many messages on this socket, slow down");
  }
  if (comment) {
    SendComment(socket, m);
  } else {
    SendLike(socket, m);
  }
}

void ChatHub::SendComment(const std::shared_ptr<RoomSocket>& socket,
                          const nlohmann::json& message) {
  std::string client_id = *StringMember(message, "client_id");
  std::optional<std::string> text = StringMember(message, "text");
  std::optional<std::string> reply_to = StringMember(message, "reply_to");
  auto refuse = [&](const char* field) {
    Release(socket.get());
    metrics_.ChatSent(false);
    socket->Push(Text(nlohmann::json{{"type", "comment_refused"},
                                     {"client_id", client_id},
                                     {"reason", "invalid"},
                                     {"message", absl::StrCat(field, ": must be a string")}}));
  };
  if (!text.has_value()) return refuse("text");
  if (!reply_to.has_value()) return refuse("reply_to");
  auto request = std::make_unique<v1::PostCommentRequest>();
  request->set_room_id(socket->info().room_id);
  request->set_client_id(client_id);
  request->set_text(*text);
  request->set_reply_to(*reply_to);
  rpc_.Call(*post_comment_, std::move(request), socket->info().principal,
            absl::Now() + options_.rpc_timeout,
            [this, socket, client_id](grpc::Status status,
                                      std::unique_ptr<google::protobuf::Message> response) {
              Release(socket.get());
              const auto* posted = dynamic_cast<const v1::PostCommentResponse*>(response.get());
              if (!status.ok() || posted == nullptr) {
                auto [reason, sentence] = ChatRefusal(status);
                metrics_.ChatSent(false);
                socket->Push(Text(nlohmann::json{{"type", "comment_refused"},
                                                 {"client_id", client_id},
                                                 {"reason", reason},
                                                 {"message", sentence}}));
                return;
              }
              metrics_.ChatSent(true);
              socket->Push(Text(
                  nlohmann::json{{"type", "comment_ack"},
                                 {"client_id", client_id},
                                 {"comment_id", posted->comment().id()},
                                 {"duplicate", posted->duplicate()},
                                 {"held", posted->comment().status() == v1::COMMENT_STATUS_HELD}}));
            });
}

void ChatHub::SendLike(const std::shared_ptr<RoomSocket>& socket, const nlohmann::json& message) {
  std::string batch_id = *StringMember(message, "batch_id");
  auto count = message.find("count");
  if (count == message.end() || !count->is_number_integer()) {
    Release(socket.get());
    metrics_.ChatSent(false);
    socket->Push(Text(nlohmann::json{{"type", "like_refused"},
                                     {"batch_id", batch_id},
                                     {"reason", "invalid"},
                                     {"message", "count: must be a whole number"}}));
    return;
  }
  auto request = std::make_unique<v1::AddLikesRequest>();
  request->set_room_id(socket->info().room_id);
  request->set_batch_id(batch_id);
  int64_t n = count->get<int64_t>();
  // Out of int32's range: the service refuses it by its own rule (1..50).
  request->set_count(static_cast<int32_t>(std::clamp<int64_t>(n, -1, 1 << 20)));
  rpc_.Call(*add_likes_, std::move(request), socket->info().principal,
            absl::Now() + options_.rpc_timeout,
            [this, socket, batch_id](grpc::Status status,
                                     std::unique_ptr<google::protobuf::Message> response) {
              Release(socket.get());
              const auto* added = dynamic_cast<const v1::AddLikesResponse*>(response.get());
              if (!status.ok() || added == nullptr) {
                auto [reason, sentence] = ChatRefusal(status);
                metrics_.ChatSent(false);
                socket->Push(Text(nlohmann::json{{"type", "like_refused"},
                                                 {"batch_id", batch_id},
                                                 {"reason", reason},
                                                 {"message", sentence}}));
                return;
              }
              metrics_.ChatSent(true);
              socket->Push(Text(nlohmann::json{{"type", "like_ack"},
                                               {"batch_id", batch_id},
                                               {"total", added->total()},
                                               {"counted", added->counted()}}));
            });
}

}  // namespace livecommerce::gateway
