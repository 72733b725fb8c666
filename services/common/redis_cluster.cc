#include "services/common/redis_cluster.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/log_format.h"
#include "services/common/redis_node.h"

namespace livecommerce::common {
namespace {

constexpr std::array<uint16_t, 256> MakeCrc16Table() {
  std::array<uint16_t, 256> table{};
  for (int i = 0; i < 256; ++i) {
    uint16_t crc = static_cast<uint16_t>(i << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<uint16_t>(crc << 1);
    }
    table[static_cast<size_t>(i)] = crc;
  }
  return table;
}

constexpr std::array<uint16_t, 256> kCrc16Table = MakeCrc16Table();

// Commands without a key that every master must run.
constexpr absl::string_view kEveryMaster[] = {"FLUSHALL", "FLUSHDB", "SCRIPT"};
// Commands without a key: any node answers.
constexpr absl::string_view kKeyless[] = {
    "PING",    "INFO",     "ECHO",      "TIME",    "DBSIZE",   "CLIENT", "CLUSTER",
    "CONFIG",  "WAIT",     "ROLE",      "COMMAND", "LASTSAVE", "MULTI",  "EXEC",
    "DISCARD", "READONLY", "READWRITE", "ASKING",  "SLOWLOG",  "MEMORY", "LATENCY",
    "DEBUG",   "AUTH",     "HELLO",     "SELECT",  "QUIT",     "RESET"};

absl::string_view StripRedisPrefix(absl::string_view error) {
  absl::ConsumePrefix(&error, "redis: ");
  return error;
}

}  // namespace

uint16_t Crc16Xmodem(absl::string_view data) {
  uint16_t crc = 0;
  for (char c : data) {
    crc = static_cast<uint16_t>((crc << 8) ^
                                kCrc16Table[((crc >> 8) ^ static_cast<uint8_t>(c)) & 0xff]);
  }
  return crc;
}

int KeySlot(absl::string_view key) {
  size_t open = key.find('{');
  if (open != absl::string_view::npos) {
    size_t close = key.find('}', open + 1);
    if (close != absl::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return Crc16Xmodem(key) & (kRedisClusterSlots - 1);
}

RedisCommandRoute RouteOf(const std::vector<std::string>& command) {
  RedisCommandRoute route;
  if (command.empty()) {
    return route;
  }
  const std::string& name = command[0];
  for (absl::string_view every : kEveryMaster) {
    if (absl::EqualsIgnoreCase(name, every)) {
      route.kind = RedisCommandRoute::Kind::kEveryMaster;
      return route;
    }
  }
  for (absl::string_view keyless : kKeyless) {
    if (absl::EqualsIgnoreCase(name, keyless)) {
      return route;
    }
  }
  if (absl::EqualsIgnoreCase(name, "EVAL") || absl::EqualsIgnoreCase(name, "EVALSHA") ||
      absl::EqualsIgnoreCase(name, "EVAL_RO") || absl::EqualsIgnoreCase(name, "EVALSHA_RO") ||
      absl::EqualsIgnoreCase(name, "FCALL") || absl::EqualsIgnoreCase(name, "FCALL_RO")) {
    int64_t keys = 0;
    if (command.size() > 3 && absl::SimpleAtoi(command[2], &keys) && keys > 0) {
      route.kind = RedisCommandRoute::Kind::kKey;
      route.key = command[3];
    }
    return route;
  }
  if (command.size() > 1) {
    route.kind = RedisCommandRoute::Kind::kKey;
    route.key = command[1];
  }
  return route;
}

std::optional<RedisRedirect> ParseRedirect(absl::string_view error) {
  error = StripRedisPrefix(error);
  std::vector<absl::string_view> parts = absl::StrSplit(error, ' ', absl::SkipEmpty());
  if (parts.size() != 3) {
    return std::nullopt;
  }
  RedisRedirect redirect;
  if (parts[0] == "MOVED") {
    redirect.kind = RedisRedirect::Kind::kMoved;
  } else if (parts[0] == "ASK") {
    redirect.kind = RedisRedirect::Kind::kAsk;
  } else {
    return std::nullopt;
  }
  if (!absl::SimpleAtoi(parts[1], &redirect.slot) || redirect.slot < 0 ||
      redirect.slot >= kRedisClusterSlots) {
    return std::nullopt;
  }
  absl::StatusOr<RedisNodeAddress> address = ParseRedisNodeAddress(parts[2]);
  if (!address.ok()) {
    return std::nullopt;
  }
  redirect.address = *std::move(address);
  return redirect;
}

bool IsTransientClusterError(absl::string_view error) {
  error = StripRedisPrefix(error);
  return absl::StartsWith(error, "TRYAGAIN") || absl::StartsWith(error, "CLUSTERDOWN") ||
         absl::StartsWith(error, "LOADING") || absl::StartsWith(error, "MASTERDOWN");
}

absl::StatusOr<ClusterSlotMap> ParseClusterSlots(const RedisValue& reply,
                                                 absl::string_view queried_host) {
  if (reply.type != RedisValue::Type::kArray) {
    return absl::InternalError("redis: CLUSTER SLOTS did not answer an array");
  }
  ClusterSlotMap map;
  std::map<std::string, int> index;  // "host:port" -> position in masters
  for (const RedisValue& range : reply.elements) {
    if (range.type != RedisValue::Type::kArray || range.elements.size() < 3 ||
        range.elements[0].type != RedisValue::Type::kInteger ||
        range.elements[1].type != RedisValue::Type::kInteger ||
        range.elements[2].type != RedisValue::Type::kArray ||
        range.elements[2].elements.size() < 2 ||
        range.elements[2].elements[1].type != RedisValue::Type::kInteger) {
      return absl::InternalError("redis: malformed CLUSTER SLOTS reply");
    }
    int64_t first = range.elements[0].integer;
    int64_t last = range.elements[1].integer;
    if (first < 0 || last >= kRedisClusterSlots || first > last) {
      return absl::InternalError("redis: CLUSTER SLOTS names a slot out of range");
    }
    const RedisValue& master = range.elements[2];
    RedisNodeAddress address;
    address.host = master.elements[0].str;
    if (address.host.empty() || address.host == "?") {
      address.host = std::string(queried_host);
    }
    address.port = static_cast<int>(master.elements[1].integer);
    std::string key = absl::StrCat(address.host, ":", address.port);
    auto [it, added] = index.emplace(key, static_cast<int>(map.masters.size()));
    if (added) {
      map.masters.push_back(address);
    }
    std::fill(map.owner.begin() + first, map.owner.begin() + last + 1, it->second);
  }
  return map;
}

RedisCluster::RedisCluster(RedisConfig config) : config_(std::move(config)) {}

RedisCluster::~RedisCluster() = default;

absl::StatusOr<std::unique_ptr<RedisCluster>> RedisCluster::Create(const RedisConfig& config) {
  std::unique_ptr<RedisCluster> cluster(new RedisCluster(config));
  absl::Status status = cluster->Refresh(0);
  if (!status.ok()) {
    return status;
  }
  return cluster;
}

RedisNode* RedisCluster::NodeAt(const RedisNodeAddress& address) {
  std::string key = absl::StrCat(address.host, ":", address.port);
  std::lock_guard<std::mutex> lock(nodes_mu_);
  std::unique_ptr<RedisNode>& node = nodes_[key];
  if (node == nullptr) {
    node = std::make_unique<RedisNode>(config_, address.host, address.port);
  }
  return node.get();
}

std::shared_ptr<const RedisCluster::Routing> RedisCluster::Current() {
  std::lock_guard<std::mutex> lock(routing_mu_);
  return routing_;
}

PoolStats RedisCluster::Stats() {
  std::lock_guard<std::mutex> lock(nodes_mu_);
  PoolStats stats;
  for (auto& [address, node] : nodes_) stats += node->Stats();
  return stats;
}

absl::Status RedisCluster::Refresh(uint64_t seen_epoch) {
  std::lock_guard<std::mutex> refresh_lock(refresh_mu_);
  std::shared_ptr<const Routing> current = Current();
  if (current != nullptr && current->epoch != seen_epoch) {
    return absl::OkStatus();  // another thread read the map meanwhile
  }
  // Ask the masters we know, then the seeds.
  std::vector<RedisNode*> candidates;
  if (current != nullptr) {
    candidates = current->masters;
  }
  if (config_.cluster_nodes.empty()) {
    candidates.push_back(NodeAt(RedisNodeAddress{config_.host, config_.port}));
  }
  for (const RedisNodeAddress& seed : config_.cluster_nodes) {
    candidates.push_back(NodeAt(seed));
  }
  absl::Status last = absl::UnavailableError("redis cluster: no node to ask for the slot map");
  for (RedisNode* node : candidates) {
    auto replies = node->RunPipeline({{"CLUSTER", "SLOTS"}});
    if (!replies.ok()) {
      last = replies.status();
      continue;
    }
    if (!(*replies)[0].ok()) {
      last = (*replies)[0].status();
      continue;
    }
    absl::StatusOr<ClusterSlotMap> map = ParseClusterSlots(*(*replies)[0], node->host());
    if (!map.ok()) {
      last = map.status();
      continue;
    }
    if (map->masters.empty()) {
      last = absl::UnavailableError(
          absl::StrCat("redis cluster: ", node->address(), " serves no slots yet"));
      continue;
    }
    auto routing = std::make_shared<Routing>();
    routing->epoch = (current != nullptr ? current->epoch : 0) + 1;
    for (const RedisNodeAddress& address : map->masters) {
      routing->masters.push_back(NodeAt(address));
    }
    routing->owner = std::move(map->owner);
    std::lock_guard<std::mutex> lock(routing_mu_);
    routing_ = std::move(routing);
    return absl::OkStatus();
  }
  return absl::UnavailableError(
      absl::StrCat("redis cluster: cannot read the slot map: ", last.message()));
}

RedisNode* RedisCluster::MasterOf(const Routing& routing, const RedisCommandRoute& route) const {
  if (routing.masters.empty()) {
    return nullptr;
  }
  if (route.kind != RedisCommandRoute::Kind::kKey) {
    return routing.masters[0];
  }
  int owner = routing.owner[static_cast<size_t>(KeySlot(route.key))];
  return owner < 0 ? nullptr : routing.masters[static_cast<size_t>(owner)];
}

absl::StatusOr<std::vector<absl::StatusOr<RedisValue>>> RedisCluster::Pipeline(
    const std::vector<std::vector<std::string>>& commands, std::vector<RedisNode*>* served_by) {
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::microseconds(absl::ToInt64Microseconds(config_.command_timeout));
  std::vector<std::optional<absl::StatusOr<RedisValue>>> results(commands.size());
  std::vector<RedisNode*> answered_by(commands.size(), nullptr);
  struct Item {
    size_t index;
    RedisNode* node;  // nullptr: the map's master of the slot, looked up each round
    bool asking;      // send ASKING first (an ASK redirection)
  };
  std::vector<Item> pending;
  std::vector<size_t> every_master;
  for (size_t i = 0; i < commands.size(); ++i) {
    if (RouteOf(commands[i]).kind == RedisCommandRoute::Kind::kEveryMaster) {
      every_master.push_back(i);
    } else {
      pending.push_back(Item{i, nullptr, false});
    }
  }
  auto pause = std::chrono::milliseconds(10);
  std::string last_problem;
  for (int round = 0; !pending.empty(); ++round) {
    std::shared_ptr<const Routing> routing = Current();
    // Group by node (and ASKING), keeping the callers' order inside each group.
    std::map<std::pair<RedisNode*, bool>, std::vector<size_t>> groups;  // -> indices in pending
    std::vector<Item> next;
    bool refresh = false;
    bool wait = false;
    for (size_t p = 0; p < pending.size(); ++p) {
      Item& item = pending[p];
      RedisNode* node =
          item.node != nullptr ? item.node : MasterOf(*routing, RouteOf(commands[item.index]));
      if (node == nullptr) {
        last_problem = "a slot is served by no master";
        next.push_back(item);
        refresh = wait = true;
        continue;
      }
      item.node = node;
      groups[{node, item.asking}].push_back(p);
    }
    for (const auto& [target, members] : groups) {
      RedisNode* node = target.first;
      bool asking = target.second;
      std::vector<std::vector<std::string>> batch;
      batch.reserve(members.size() * (asking ? 2 : 1));
      for (size_t p : members) {
        if (asking) {
          batch.push_back({"ASKING"});
        }
        batch.push_back(commands[pending[p].index]);
      }
      bool maybe_sent = false;
      auto replies = node->RunPipeline(batch, &maybe_sent);
      if (!replies.ok()) {
        refresh = true;
        last_problem = std::string(replies.status().message());
        for (size_t p : members) {
          if (maybe_sent) {
            // It may have run: sending it again could apply it twice.
            results[pending[p].index] = replies.status();
            answered_by[pending[p].index] = node;
          } else {
            wait = true;
            next.push_back(Item{pending[p].index, nullptr, false});
          }
        }
        continue;
      }
      for (size_t m = 0; m < members.size(); ++m) {
        size_t index = pending[members[m]].index;
        absl::StatusOr<RedisValue>& reply = (*replies)[asking ? 2 * m + 1 : m];
        if (!reply.ok()) {
          absl::string_view message = reply.status().message();
          if (std::optional<RedisRedirect> redirect = ParseRedirect(message)) {
            bool ask = redirect->kind == RedisRedirect::Kind::kAsk;
            refresh = refresh || !ask;
            next.push_back(Item{index, NodeAt(redirect->address), ask});
            continue;
          }
          if (IsTransientClusterError(message)) {
            refresh = wait = true;
            last_problem = std::string(StripRedisPrefix(message));
            next.push_back(Item{index, nullptr, false});
            continue;
          }
        }
        results[index] = std::move(reply);
        answered_by[index] = node;
      }
    }
    pending = std::move(next);
    if (pending.empty()) {
      if (refresh) {
        (void)Refresh(routing->epoch);  // for the next call; this one is answered
      }
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline || round >= 64) {
      for (const Item& item : pending) {
        results[item.index] =
            absl::UnavailableError(absl::StrCat("redis cluster: no answer before the timeout",
                                                last_problem.empty() ? "" : ": ", last_problem));
      }
      if (refresh) {
        (void)Refresh(routing->epoch);
      }
      break;
    }
    if (refresh) {
      absl::Status refreshed = Refresh(routing->epoch);
      if (!refreshed.ok()) {
        last_problem = std::string(refreshed.message());
        wait = true;
      }
    }
    if (wait) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      std::this_thread::sleep_for(std::max(std::chrono::milliseconds(1), std::min(pause, left)));
      pause = std::min(pause * 2, std::chrono::milliseconds(200));
    }
  }
  for (size_t i : every_master) {
    results[i] = OnEveryMaster(commands[i]);
  }
  std::vector<absl::StatusOr<RedisValue>> out;
  out.reserve(results.size());
  for (auto& result : results) {
    out.push_back(*std::move(result));
  }
  if (served_by != nullptr) {
    *served_by = std::move(answered_by);
  }
  return out;
}

absl::StatusOr<RedisValue> RedisCluster::OnEveryMaster(const std::vector<std::string>& command) {
  // Rare commands (FLUSHALL, SCRIPT LOAD): read the map first, so a master that has just become a
  // replica is not among them.
  (void)Refresh(Current()->epoch);
  std::shared_ptr<const Routing> routing = Current();
  std::optional<absl::StatusOr<RedisValue>> first;
  for (RedisNode* node : routing->masters) {
    auto replies = node->RunPipeline({command});
    absl::StatusOr<RedisValue> reply =
        replies.ok() ? std::move((*replies)[0]) : absl::StatusOr<RedisValue>(replies.status());
    if (!reply.ok()) {
      (void)Refresh(routing->epoch);
      return reply;
    }
    if (!first.has_value()) {
      first = std::move(reply);
    }
  }
  if (!first.has_value()) {
    return absl::UnavailableError("redis cluster: no master known");
  }
  return *std::move(first);
}

}  // namespace livecommerce::common
