#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/config.h"
#include "services/common/pool_stats.h"
#include "services/common/redis_client.h"

namespace livecommerce::common {

class RedisNode;

constexpr int kRedisClusterSlots = 16384;

// CRC16/XMODEM (polynomial 0x1021, initial 0), as Redis Cluster hashes keys.
uint16_t Crc16Xmodem(absl::string_view data);
// The cluster slot of a key: of its hash tag (the text between the first '{' and the next '}',
// when not empty) or else of the whole key.
int KeySlot(absl::string_view key);

// Where a command goes in a cluster.
struct RedisCommandRoute {
  enum class Kind {
    kKey,          // the master of `key`'s slot
    kAnyNode,      // no key (PING, INFO, CLIENT ...): any master
    kEveryMaster,  // FLUSHALL, FLUSHDB, SCRIPT ...: each master in turn
  };
  Kind kind = Kind::kAnyNode;
  // The first key (EVAL/EVALSHA: the first of KEYS; others: the first argument). The caller keeps
  // every key of one command in one slot (one hash tag); Redis refuses it with CROSSSLOT otherwise.
  absl::string_view key;
};
RedisCommandRoute RouteOf(const std::vector<std::string>& command);

// A MOVED or ASK error reply ("MOVED 3999 127.0.0.1:6381", with or without the "redis: " prefix
// that RedisNode puts on error replies); nullopt for other errors.
struct RedisRedirect {
  enum class Kind { kMoved, kAsk };
  Kind kind = Kind::kMoved;
  int slot = 0;
  RedisNodeAddress address;
};
std::optional<RedisRedirect> ParseRedirect(absl::string_view error);
// TRYAGAIN, CLUSTERDOWN, LOADING, MASTERDOWN: the cluster is moving; the command did not run.
bool IsTransientClusterError(absl::string_view error);

// The masters of the cluster and the master of each slot (index into `masters`, -1 when no node
// serves it).
struct ClusterSlotMap {
  std::vector<RedisNodeAddress> masters;
  std::vector<int> owner = std::vector<int>(kRedisClusterSlots, -1);
};
// Reads a CLUSTER SLOTS reply. A master announced without an address ("" or "?") is at
// `queried_host`, the host the question went to.
absl::StatusOr<ClusterSlotMap> ParseClusterSlots(const RedisValue& reply,
                                                 absl::string_view queried_host);

// Routes commands over a Redis Cluster: one RedisNode per master, the slot map from CLUSTER SLOTS,
// MOVED (refresh the map, retry at the named node), ASK (ASKING then the command at the named node,
// map unchanged), and for TRYAGAIN, CLUSTERDOWN and nodes that cannot be reached a refresh and a
// retry with a growing pause, all within the command timeout. A command that may have reached a
// node whose connection then broke is never sent again (it may have run): it fails UNAVAILABLE,
// and the map is refreshed for the next one. Thread-safe.
class RedisCluster final {
 public:
  static absl::StatusOr<std::unique_ptr<RedisCluster>> Create(const RedisConfig& config);
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // Splits the commands by node, one pipeline per node, and puts the replies back in the order of
  // `commands`; `served_by[i]` (when given) is the node that answered command i (nullptr when
  // none did). Commands routed to every master run one by one, after the others.
  absl::StatusOr<std::vector<absl::StatusOr<RedisValue>>> Pipeline(
      const std::vector<std::vector<std::string>>& commands,
      std::vector<RedisNode*>* served_by = nullptr);
  // The command on every master (the map read again first): the first error, or the first reply.
  absl::StatusOr<RedisValue> OnEveryMaster(const std::vector<std::string>& command);
  // Reads the slot map again (now, unless another thread did since `seen_epoch`).
  absl::Status Refresh(uint64_t seen_epoch);
  // The pools of every node known so far, added up.
  PoolStats Stats();

 private:
  // The current map with its masters as nodes.
  struct Routing {
    uint64_t epoch = 0;
    std::vector<RedisNode*> masters;
    std::vector<int> owner;
  };

  explicit RedisCluster(RedisConfig config);
  std::shared_ptr<const Routing> Current();
  RedisNode* NodeAt(const RedisNodeAddress& address);
  RedisNode* MasterOf(const Routing& routing, const RedisCommandRoute& route) const;

  const RedisConfig config_;
  std::mutex nodes_mu_;
  // By "host:port", never removed.
  std::map<std::string, std::unique_ptr<RedisNode>> nodes_ ABSL_GUARDED_BY(nodes_mu_);
  std::mutex routing_mu_;
  std::shared_ptr<const Routing> routing_ ABSL_GUARDED_BY(routing_mu_);
  std::mutex refresh_mu_;  // serialises refreshes of the slot map (guards no field)
};

}  // namespace livecommerce::common
