#include "services/common/redis_client.h"

#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/crypto.h"
#include "services/common/redis_cluster.h"
#include "services/common/redis_node.h"

namespace livecommerce::common {
namespace {

bool IsNoScript(const absl::StatusOr<RedisValue>& value) {
  return !value.ok() && absl::StrContains(value.status().message(), "NOSCRIPT");
}

std::vector<std::string> EvalShaArgs(const RedisScript& script, const RedisScriptCall& call) {
  std::vector<std::string> args;
  args.reserve(3 + call.keys.size() + call.args.size());
  args.push_back("EVALSHA");
  args.push_back(script.sha());
  args.push_back(std::to_string(call.keys.size()));
  args.insert(args.end(), call.keys.begin(), call.keys.end());
  args.insert(args.end(), call.args.begin(), call.args.end());
  return args;
}

}  // namespace

absl::StatusOr<int64_t> IntegerReply(const absl::StatusOr<RedisValue>& value) {
  if (!value.ok()) {
    return value.status();
  }
  if (value->type == RedisValue::Type::kInteger) {
    return value->integer;
  }
  if (value->is_nil()) {
    return 0;
  }
  int64_t parsed = 0;
  if (value->type == RedisValue::Type::kString && absl::SimpleAtoi(value->str, &parsed)) {
    return parsed;
  }
  return absl::InternalError("redis: expected an integer reply");
}

RedisScript::RedisScript(std::string source) : source_(std::move(source)), sha_(Sha1Hex(source_)) {}

RedisPool::RedisPool(RedisConfig config) : config_(std::move(config)) {}

RedisPool::~RedisPool() = default;

absl::StatusOr<std::unique_ptr<RedisPool>> RedisPool::Create(const RedisConfig& config) {
  std::unique_ptr<RedisPool> pool(new RedisPool(config));
  if (config.cluster) {
    if (config.db != 0) {
      return absl::InvalidArgumentError("redis: a cluster has database 0 only");
    }
    // Reads the slot map: fails fast at start-up when no node can be reached.
    absl::StatusOr<std::unique_ptr<RedisCluster>> cluster = RedisCluster::Create(config);
    if (!cluster.ok()) {
      return cluster.status();
    }
    pool->cluster_ = *std::move(cluster);
    return pool;
  }
  pool->single_ = std::make_unique<RedisNode>(pool->config_, config.host, config.port);
  // Fail fast at start-up when Redis is unreachable.
  absl::StatusOr<RedisValue> pong = pool->Command({"PING"});
  if (!pong.ok()) {
    return pong.status();
  }
  return pool;
}

absl::StatusOr<std::vector<absl::StatusOr<RedisValue>>> RedisPool::Run(
    const std::vector<std::vector<std::string>>& commands, std::vector<RedisNode*>* served_by) {
  if (cluster_ != nullptr) {
    return cluster_->Pipeline(commands, served_by);
  }
  if (served_by != nullptr) {
    served_by->assign(commands.size(), single_.get());
  }
  return single_->RunPipeline(commands);
}

absl::StatusOr<RedisValue> RedisPool::Command(const std::vector<std::string>& args) {
  if (cluster_ != nullptr && RouteOf(args).kind == RedisCommandRoute::Kind::kEveryMaster) {
    return cluster_->OnEveryMaster(args);
  }
  auto results = Run({args}, nullptr);
  if (!results.ok()) {
    return results.status();
  }
  return std::move((*results)[0]);
}

absl::StatusOr<std::vector<absl::StatusOr<RedisValue>>> RedisPool::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (commands.empty()) {
    return std::vector<absl::StatusOr<RedisValue>>{};
  }
  return Run(commands, nullptr);
}

absl::StatusOr<RedisValue> RedisPool::Eval(const RedisScript& script,
                                           const std::vector<std::string>& keys,
                                           const std::vector<std::string>& args) {
  auto results = EvalMany(script, {RedisScriptCall{keys, args}});
  if (!results.ok()) {
    return results.status();
  }
  return std::move((*results)[0]);
}

absl::StatusOr<std::vector<absl::StatusOr<RedisValue>>> RedisPool::EvalMany(
    const RedisScript& script, const std::vector<RedisScriptCall>& calls) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(calls.size());
  for (const RedisScriptCall& call : calls) {
    commands.push_back(EvalShaArgs(script, call));
  }
  if (commands.empty()) {
    return std::vector<absl::StatusOr<RedisValue>>{};
  }
  std::vector<RedisNode*> served_by;
  auto results = Run(commands, &served_by);
  if (!results.ok()) {
    return results;
  }
  // Calls answered NOSCRIPT did not run: load the script where they went and run just those again.
  // In a cluster a slot may move meanwhile to a node without the script: a few rounds at most.
  for (int round = 0; round < 3; ++round) {
    std::vector<size_t> missing;
    std::map<RedisNode*, bool> nodes;
    for (size_t i = 0; i < results->size(); ++i) {
      if (IsNoScript((*results)[i]) && served_by[i] != nullptr) {
        missing.push_back(i);
        nodes[served_by[i]] = true;
      }
    }
    if (missing.empty()) {
      return results;
    }
    for (const auto& [node, unused] : nodes) {
      auto loaded = node->RunPipeline({{"SCRIPT", "LOAD", script.source()}});
      if (!loaded.ok()) {
        return loaded.status();
      }
      if (!(*loaded)[0].ok()) {
        return (*loaded)[0].status();
      }
    }
    std::vector<std::vector<std::string>> retry;
    for (size_t i : missing) {
      retry.push_back(std::move(commands[i]));
    }
    std::vector<RedisNode*> retry_served_by;
    auto retried = Run(retry, &retry_served_by);
    if (!retried.ok()) {
      return retried;
    }
    for (size_t j = 0; j < missing.size(); ++j) {
      (*results)[missing[j]] = std::move((*retried)[j]);
      served_by[missing[j]] = retry_served_by[j];
      commands[missing[j]] = std::move(retry[j]);
    }
  }
  return results;
}

absl::Status RedisPool::LoadScripts(const std::vector<const RedisScript*>& scripts) {
  for (const RedisScript* script : scripts) {
    absl::StatusOr<RedisValue> sha = Command({"SCRIPT", "LOAD", script->source()});
    if (!sha.ok()) {
      return sha.status();
    }
    if (sha->str != script->sha()) {
      return absl::InternalError("redis: SCRIPT LOAD returned an unexpected SHA");
    }
  }
  return absl::OkStatus();
}

PoolStats RedisPool::Stats() { return cluster_ != nullptr ? cluster_->Stats() : single_->Stats(); }

}  // namespace livecommerce::common
