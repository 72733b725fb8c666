#include "gateway/server/room_hub.h"

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <algorithm>
#include <iterator>
#include <map>

#include "absl/strings/str_cat.h"
#include "gateway/http/json_binding.h"
#include "services/common/log_format.h"
#include "services/common/service_client.h"

namespace livecommerce::gateway {

void RoomSocket::PushChat(std::shared_ptr<const ChatPiece> piece) { Push(piece->frame); }

void RoomSocket::PushBatch(std::vector<SocketDelivery> batch) {
  for (SocketDelivery& d : batch) {
    if (d.chat != nullptr) {
      d.socket->PushChat(std::move(d.chat));
    } else if (d.message != nullptr) {
      d.socket->Push(std::move(d.message));
    }
  }
}

void DeliverAll(std::vector<SocketDelivery> deliveries) {
  // A gateway has a few io threads: a short list of batches, one per thread, in the order met.
  std::vector<std::pair<const void*, std::vector<SocketDelivery>>> batches;
  for (SocketDelivery& d : deliveries) {
    const void* thread = d.socket->thread();
    if (thread == nullptr) {
      std::vector<SocketDelivery> one;
      one.push_back(std::move(d));
      one.front().socket->PushBatch(std::move(one));
      continue;
    }
    auto it = std::find_if(batches.begin(), batches.end(),
                           [thread](const auto& b) { return b.first == thread; });
    if (it == batches.end()) {
      batches.emplace_back(thread, std::vector<SocketDelivery>());
      batches.back().second.reserve(deliveries.size());
      it = std::prev(batches.end());
    }
    it->second.push_back(std::move(d));
  }
  for (auto& [thread, batch] : batches) {
    RoomSocket* first = batch.front().socket.get();
    first->PushBatch(std::move(batch));
  }
}

std::string ChatFrameText(absl::string_view items, int64_t folded, const ChatSnapshot& snapshot) {
  // Written by hand so the type comes first (nlohmann sorts keys), as in every pushed message.
  std::string out;
  out.reserve(items.size() + 64 + (snapshot.stats != nullptr ? snapshot.stats->size() : 0));
  absl::StrAppend(&out, "{\"type\":\"chat\",\"items\":[", items, "],\"folded\":", folded);
  if (snapshot.likes >= 0) absl::StrAppend(&out, ",\"likes\":", snapshot.likes);
  if (snapshot.stats != nullptr) absl::StrAppend(&out, ",\"stats\":", *snapshot.stats);
  out += '}';
  return out;
}

std::string MergeChatPieces(const std::vector<std::shared_ptr<const ChatPiece>>& pieces) {
  if (pieces.size() == 1) return *pieces[0]->frame;
  std::string items;
  int64_t folded = 0;
  ChatSnapshot snapshot;
  for (const auto& piece : pieces) {
    folded += piece->folded;
    // The later pieces carry the newer figures.
    if (piece->snapshot.likes >= 0) snapshot.likes = piece->snapshot.likes;
    if (piece->snapshot.stats != nullptr) snapshot.stats = piece->snapshot.stats;
    if (piece->items.empty()) continue;
    if (!items.empty()) items += ',';
    items += piece->items;
  }
  return ChatFrameText(items, folded, snapshot);
}

namespace {
constexpr size_t kMaxBatchEvents = 5000;  // RoomService.BatchPresence's limit
}

std::string SocketMessageJson(const v1::WatchRoomResponse& message) {
  switch (message.event_case()) {
    case v1::WatchRoomResponse::kStats:
      return absl::StrCat("{\"type\":\"stats\",\"stats\":", ToJson(message.stats()), "}");
    case v1::WatchRoomResponse::kPinned:
      return absl::StrCat("{\"type\":\"pinned\",\"pinned\":", ToJson(message.pinned()), "}");
    case v1::WatchRoomResponse::kFlashStock:
      return absl::StrCat(
          "{\"type\":\"flash_stock\",\"flash_stock\":", ToJson(message.flash_stock()), "}");
    default:
      return "";
  }
}

struct RoomHub::Channel {
  std::string brand_id;
  std::string room_id;
  std::string key;
  std::mutex mu;
  std::unordered_map<RoomSocket*, std::weak_ptr<RoomSocket>> sockets;
  std::shared_ptr<const std::string> last_pinned;
  std::shared_ptr<const std::string> last_stats;
  std::shared_ptr<const std::string> last_flash;
  std::shared_ptr<Watcher> watcher;
  absl::Time retry_at = absl::InfinitePast();
};

// One upstream WatchRoom stream. Deletes itself when the stream ends.
class RoomHub::Watcher final : public grpc::ClientReadReactor<v1::WatchRoomResponse> {
 public:
  Watcher(RoomHub& hub, std::shared_ptr<Channel> channel)
      : hub_(hub), channel_(std::move(channel)) {
    request_.set_room_id(channel_->room_id);
    // The stream lives as long as the room has sockets; the principal is checked once, at start.
    common::Principal principal{common::Role::kService, channel_->brand_id, hub_.options_.caller,
                                absl::Now() + absl::Hours(24)};
    common::AttachPrincipal(context_, hub_.codec_.Encode(principal));
  }
  void Begin(std::shared_ptr<Watcher> self) {
    self_ = std::move(self);
    hub_.stub_->async()->WatchRoom(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }
  void Cancel() { context_.TryCancel(); }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    hub_.Deliver(channel_, response_);
    response_.Clear();
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    // Others may still hold the watcher (to cancel it): it goes with the last reference.
    std::shared_ptr<Watcher> self = std::move(self_);
    hub_.WatcherDone(channel_, status);
  }

 private:
  RoomHub& hub_;
  std::shared_ptr<Channel> channel_;
  std::shared_ptr<Watcher> self_;
  grpc::ClientContext context_;
  v1::WatchRoomRequest request_;
  v1::WatchRoomResponse response_;
};

RoomHub::RoomHub(std::shared_ptr<grpc::Channel> room_channel, const common::PrincipalCodec& codec,
                 SocketSlots& slots, Metrics& metrics, RoomHubOptions options)
    : stub_(v1::RoomService::NewStub(room_channel)),
      codec_(codec),
      slots_(slots),
      metrics_(metrics),
      options_(std::move(options)) {
  flusher_ = std::make_unique<common::PeriodicTask>(options_.presence_flush, [this] {
    FlushPresence();
    RestartWatchers();
  });
}

RoomHub::~RoomHub() { Stop(); }

void RoomHub::SetStatsSink(StatsSink sink) { stats_sink_ = std::move(sink); }

void RoomHub::Start() { flusher_->Start(); }

void RoomHub::Stop() {
  if (stopped_) return;
  stopped_ = true;
  flusher_->Stop();
  FlushPresence();
  std::vector<std::shared_ptr<Channel>> channels;
  {
    std::lock_guard<std::mutex> lock(channels_mu_);
    for (auto& [key, channel] : channels_) channels.push_back(channel);
  }
  for (const auto& channel : channels) {
    std::shared_ptr<Watcher> watcher;
    {
      std::lock_guard<std::mutex> lock(channel->mu);
      channel->sockets.clear();
      watcher = channel->watcher;
    }
    if (watcher != nullptr) watcher->Cancel();
  }
  // Wait (briefly) for the streams to end so none calls back into a destroyed hub.
  for (int i = 0; i < 200; ++i) {
    bool running = false;
    for (const auto& channel : channels) {
      std::lock_guard<std::mutex> lock(channel->mu);
      running = running || channel->watcher != nullptr;
    }
    if (!running) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::shared_ptr<RoomHub::Channel> RoomHub::ChannelOf(const std::string& brand_id,
                                                     const std::string& room_id, bool create) {
  std::string key = absl::StrCat(brand_id, "/", room_id);
  std::lock_guard<std::mutex> lock(channels_mu_);
  auto it = channels_.find(key);
  if (it != channels_.end()) return it->second;
  if (!create) return nullptr;
  auto channel = std::make_shared<Channel>();
  channel->brand_id = brand_id;
  channel->room_id = room_id;
  channel->key = key;
  channels_[key] = channel;
  return channel;
}

void RoomHub::Add(const std::shared_ptr<RoomSocket>& socket) {
  const SocketInfo& info = socket->info();
  metrics_.SocketOpened(SocketKind::kRoom);
  {
    std::lock_guard<std::mutex> lock(presence_mu_);
    present_[socket.get()] = Presence{info, absl::Now() + info.heartbeat_interval};
  }
  std::shared_ptr<Channel> channel = ChannelOf(info.brand_id, info.room_id, true);
  bool start = false;
  std::vector<std::shared_ptr<const std::string>> snapshot;
  {
    std::lock_guard<std::mutex> lock(channel->mu);
    channel->sockets[socket.get()] = socket;
    for (const auto& m : {channel->last_pinned, channel->last_stats, channel->last_flash}) {
      if (m != nullptr) snapshot.push_back(m);
    }
    start = channel->watcher == nullptr;
  }
  for (auto& m : snapshot) socket->Push(m);
  if (start) StartWatcher(channel);
}

void RoomHub::Remove(RoomSocket* socket) {
  const SocketInfo& info = socket->info();
  bool was_present = false;
  {
    std::lock_guard<std::mutex> lock(presence_mu_);
    was_present = present_.erase(socket) > 0;
    if (was_present && !info.watch_only) {
      v1::PresenceEvent leave;
      leave.set_room_id(info.room_id);
      leave.set_viewer_id(info.viewer_id);
      leave.set_device_id(info.device_id);
      leave.set_kind(v1::PresenceEvent::KIND_LEAVE);
      pending_leaves_.push_back(std::move(leave));
      pending_leave_brands_.push_back(info.brand_id);
    }
  }
  if (!was_present) return;
  metrics_.SocketClosed(SocketKind::kRoom);
  slots_.Release(info.principal_key);
  std::shared_ptr<Channel> channel = ChannelOf(info.brand_id, info.room_id, false);
  if (channel == nullptr) return;
  std::shared_ptr<Watcher> idle;
  {
    std::lock_guard<std::mutex> lock(channel->mu);
    channel->sockets.erase(socket);
    if (channel->sockets.empty()) idle = channel->watcher;
  }
  // Cancelled outside the lock: the stream's end takes the same lock.
  if (idle != nullptr) idle->Cancel();
}

void RoomHub::Abandon(const SocketInfo& info) {
  if (!info.watch_only) {
    std::lock_guard<std::mutex> lock(presence_mu_);
    v1::PresenceEvent leave;
    leave.set_room_id(info.room_id);
    leave.set_viewer_id(info.viewer_id);
    leave.set_device_id(info.device_id);
    leave.set_kind(v1::PresenceEvent::KIND_LEAVE);
    pending_leaves_.push_back(std::move(leave));
    pending_leave_brands_.push_back(info.brand_id);
  }
  slots_.Release(info.principal_key);
}

void RoomHub::CloseAll() {
  std::vector<std::shared_ptr<RoomSocket>> sockets;
  {
    std::lock_guard<std::mutex> lock(channels_mu_);
    for (auto& [key, channel] : channels_) {
      std::lock_guard<std::mutex> channel_lock(channel->mu);
      for (auto& [raw, weak] : channel->sockets) {
        if (auto s = weak.lock()) sockets.push_back(std::move(s));
      }
    }
  }
  for (auto& s : sockets) s->Close();
}

void RoomHub::StartWatcher(const std::shared_ptr<Channel>& channel) {
  std::shared_ptr<Watcher> watcher;
  {
    std::lock_guard<std::mutex> lock(channel->mu);
    if (channel->watcher != nullptr || channel->sockets.empty() || stopped_) return;
    watcher = std::make_shared<Watcher>(*this, channel);
    channel->watcher = watcher;
  }
  watcher->Begin(watcher);
}

void RoomHub::Deliver(const std::shared_ptr<Channel>& channel,
                      const v1::WatchRoomResponse& message) {
  auto text = std::make_shared<const std::string>(SocketMessageJson(message));
  if (text->empty()) return;
  bool stats = message.event_case() == v1::WatchRoomResponse::kStats;
  {
    std::lock_guard<std::mutex> lock(channel->mu);
    switch (message.event_case()) {
      case v1::WatchRoomResponse::kStats:
        channel->last_stats = text;
        break;
      case v1::WatchRoomResponse::kPinned:
        channel->last_pinned = text;
        break;
      case v1::WatchRoomResponse::kFlashStock:
        channel->last_flash = text;
        break;
      default:
        break;
    }
  }
  // The stats go with the room's chat frames when the chat hub takes them (a frame fewer per
  // socket each second).
  if (stats && stats_sink_ &&
      stats_sink_(channel->brand_id, channel->room_id, ToJson(message.stats()))) {
    return;
  }
  std::vector<SocketDelivery> deliveries;
  {
    std::lock_guard<std::mutex> lock(channel->mu);
    deliveries.reserve(channel->sockets.size());
    for (auto& [raw, weak] : channel->sockets) {
      if (auto s = weak.lock()) deliveries.push_back(SocketDelivery{std::move(s), text, nullptr});
    }
  }
  DeliverAll(std::move(deliveries));
}

void RoomHub::WatcherDone(const std::shared_ptr<Channel>& channel, const grpc::Status& status) {
  bool remove = false;
  {
    std::lock_guard<std::mutex> lock(channel->mu);
    channel->watcher = nullptr;
    if (channel->sockets.empty()) {
      remove = true;
    } else {
      if (status.error_code() != grpc::StatusCode::CANCELLED) {
        spdlog::warn("room {}: watch stream ended ({}): {}", channel->room_id,
                     static_cast<int>(status.error_code()), status.error_message());
      }
      channel->retry_at = absl::Now() + options_.watch_retry;
    }
  }
  if (remove) {
    std::lock_guard<std::mutex> lock(channels_mu_);
    auto it = channels_.find(channel->key);
    if (it != channels_.end() && it->second == channel) {
      std::lock_guard<std::mutex> channel_lock(channel->mu);
      if (channel->sockets.empty() && channel->watcher == nullptr) channels_.erase(it);
    }
  }
}

void RoomHub::RestartWatchers() {
  std::vector<std::shared_ptr<Channel>> due;
  absl::Time now = absl::Now();
  {
    std::lock_guard<std::mutex> lock(channels_mu_);
    for (auto& [key, channel] : channels_) {
      std::lock_guard<std::mutex> channel_lock(channel->mu);
      if (channel->watcher == nullptr && !channel->sockets.empty() && channel->retry_at <= now) {
        due.push_back(channel);
      }
    }
  }
  for (const auto& channel : due) StartWatcher(channel);
}

void RoomHub::FlushPresence() {
  absl::Time now = absl::Now();
  // brand -> events, with the socket info of each heartbeat (to re-join those not present).
  std::map<std::string, std::vector<v1::PresenceEvent>> events;
  std::map<std::string, std::vector<const SocketInfo*>> heartbeat_of;
  std::vector<SocketInfo> infos;
  {
    std::lock_guard<std::mutex> lock(presence_mu_);
    for (size_t i = 0; i < pending_leaves_.size(); ++i) {
      events[pending_leave_brands_[i]].push_back(std::move(pending_leaves_[i]));
      heartbeat_of[pending_leave_brands_[i]].push_back(nullptr);
    }
    pending_leaves_.clear();
    pending_leave_brands_.clear();
    infos.reserve(present_.size());
    for (auto& [socket, presence] : present_) {
      if (presence.info.watch_only || presence.next_heartbeat > now) continue;
      presence.next_heartbeat = now + presence.info.heartbeat_interval;
      infos.push_back(presence.info);
    }
  }
  for (const SocketInfo& info : infos) {
    v1::PresenceEvent heartbeat;
    heartbeat.set_room_id(info.room_id);
    heartbeat.set_viewer_id(info.viewer_id);
    heartbeat.set_device_id(info.device_id);
    heartbeat.set_kind(v1::PresenceEvent::KIND_HEARTBEAT);
    events[info.brand_id].push_back(std::move(heartbeat));
    heartbeat_of[info.brand_id].push_back(&info);
  }
  for (auto& [brand, list] : events) {
    const std::vector<const SocketInfo*>& sources = heartbeat_of[brand];
    for (size_t start = 0; start < list.size(); start += kMaxBatchEvents) {
      size_t end = std::min(list.size(), start + kMaxBatchEvents);
      v1::BatchPresenceRequest request;
      for (size_t i = start; i < end; ++i) *request.add_events() = list[i];
      v1::BatchPresenceResponse response;
      auto context = common::ServiceCallContext(codec_, brand, options_.caller, absl::Seconds(5));
      grpc::Status status = stub_->BatchPresence(context.get(), request, &response);
      if (!status.ok()) {
        spdlog::warn("presence batch of {} events for brand {} failed: {}", end - start, brand,
                     status.error_message());
        continue;
      }
      for (size_t i = start; i < end && static_cast<int>(i - start) < response.applied_size();
           ++i) {
        if (!response.applied(static_cast<int>(i - start)) && sources[i] != nullptr) {
          Rejoin(*sources[i]);  // the viewer's presence lapsed (a new session, a Redis loss)
        }
      }
    }
  }
}

void RoomHub::Rejoin(const SocketInfo& info) {
  v1::JoinRoomRequest request;
  request.set_room_id(info.room_id);
  request.set_device_id(info.device_id);
  v1::JoinRoomResponse response;
  grpc::ClientContext context;
  common::AttachPrincipal(context, info.principal);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Status status = stub_->JoinRoom(&context, request, &response);
  if (!status.ok() && status.error_code() != grpc::StatusCode::FAILED_PRECONDITION) {
    spdlog::warn("room {}: re-join failed: {}", info.room_id, status.error_message());
  }
}

size_t RoomHub::rooms() const {
  std::lock_guard<std::mutex> lock(channels_mu_);
  return channels_.size();
}

}  // namespace livecommerce::gateway
