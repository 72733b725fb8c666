#include "services/common/redis_client.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <cerrno>
#include <chrono>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/crypto.h"
#include "services/common/log_format.h"

namespace livecommerce::common {
namespace {

timeval DurationToTimeval(absl::Duration d) {
  timeval tv{};
  int64_t us = absl::ToInt64Microseconds(d);
  tv.tv_sec = us / 1000000;
  tv.tv_usec = us % 1000000;
  return tv;
}

absl::StatusOr<RedisValue> Convert(const redisReply* reply) {
  RedisValue value;
  switch (reply->type) {
    case REDIS_REPLY_NIL:
      value.type = RedisValue::Type::kNil;
      break;
    case REDIS_REPLY_INTEGER:
      value.type = RedisValue::Type::kInteger;
      value.integer = reply->integer;
      break;
    case REDIS_REPLY_STRING:
      value.type = RedisValue::Type::kString;
      value.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_STATUS:
      value.type = RedisValue::Type::kStatus;
      value.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ERROR:
      return absl::InternalError(
          absl::StrCat("redis: ", absl::string_view(reply->str, reply->len)));
    case REDIS_REPLY_ARRAY:
      value.type = RedisValue::Type::kArray;
      value.elements.reserve(reply->elements);
      for (size_t i = 0; i < reply->elements; ++i) {
        absl::StatusOr<RedisValue> element = Convert(reply->element[i]);
        if (!element.ok()) {
          return element.status();
        }
        value.elements.push_back(*std::move(element));
      }
      break;
    default:
      return absl::InternalError("redis: unexpected reply type");
  }
  return value;
}

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

class RedisPool::Lease {
 public:
  Lease(RedisPool* pool, size_t index, bool fresh) : pool_(pool), index_(index), fresh_(fresh) {}
  Lease(Lease&& other) noexcept
      : pool_(std::exchange(other.pool_, nullptr)),
        index_(other.index_),
        fresh_(other.fresh_),
        broken_(other.broken_) {}
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (pool_ != nullptr) {
      pool_->Release(index_, broken_);
    }
  }
  Connection& connection() { return pool_->connections_[index_]; }
  bool fresh() const { return fresh_; }
  void MarkBroken() { broken_ = true; }

 private:
  RedisPool* pool_;
  size_t index_;
  bool fresh_;
  bool broken_ = false;
};

RedisPool::RedisPool(RedisConfig config)
    : config_(std::move(config)), connections_(static_cast<size_t>(config_.pool_size)) {
  for (size_t i = 0; i < connections_.size(); ++i) {
    free_.push_back(i);
  }
}

RedisPool::~RedisPool() {
  for (Connection& c : connections_) {
    if (c.context != nullptr) {
      redisFree(c.context);
    }
  }
}

absl::StatusOr<std::unique_ptr<RedisPool>> RedisPool::Create(const RedisConfig& config) {
  std::unique_ptr<RedisPool> pool(new RedisPool(config));
  // Fail fast at start-up when Redis is unreachable.
  absl::StatusOr<RedisValue> pong = pool->Command({"PING"});
  if (!pong.ok()) {
    return pong.status();
  }
  return pool;
}

absl::Status RedisPool::Connect(Connection& connection) {
  timeval connect_timeout = DurationToTimeval(config_.connect_timeout);
  redisContext* context =
      redisConnectWithTimeout(config_.host.c_str(), config_.port, connect_timeout);
  if (context == nullptr || context->err != 0) {
    std::string reason = context != nullptr ? context->errstr : "out of memory";
    if (context != nullptr) {
      redisFree(context);
    }
    return absl::UnavailableError(
        absl::StrCat("redis unavailable at ", config_.host, ":", config_.port, ": ", reason));
  }
  timeval command_timeout = DurationToTimeval(config_.command_timeout);
  redisSetTimeout(context, command_timeout);
  redisEnableKeepAlive(context);
  auto setup = [&](std::vector<std::string> args) -> absl::Status {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (reply == nullptr) {
      return absl::UnavailableError("redis: connection lost during setup");
    }
    absl::StatusOr<RedisValue> value = Convert(reply);
    freeReplyObject(reply);
    return value.status();
  };
  absl::Status status = absl::OkStatus();
  if (!config_.password.empty()) {
    status = setup({"AUTH", config_.password});
  }
  if (status.ok() && config_.db != 0) {
    status = setup({"SELECT", std::to_string(config_.db)});
  }
  if (!status.ok()) {
    redisFree(context);
    return status;
  }
  connection.context = context;
  return absl::OkStatus();
}

absl::StatusOr<RedisPool::Lease> RedisPool::Acquire() {
  size_t index = 0;
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::microseconds(absl::ToInt64Microseconds(config_.command_timeout));
    if (!available_.wait_until(lock, deadline, [this] { return !free_.empty(); })) {
      return absl::UnavailableError("redis: no connection free in the pool before the timeout");
    }
    index = free_.back();
    free_.pop_back();
  }
  Connection& connection = connections_[index];
  bool fresh = false;
  if (connection.context == nullptr) {
    absl::Status status = Connect(connection);
    if (!status.ok()) {
      Release(index, false);
      return status;
    }
    fresh = true;
  }
  return Lease(this, index, fresh);
}

void RedisPool::Release(size_t index, bool broken) {
  if (broken && connections_[index].context != nullptr) {
    redisFree(connections_[index].context);
    connections_[index].context = nullptr;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(index);
  }
  available_.notify_one();
}

absl::StatusOr<std::vector<absl::StatusOr<RedisValue>>> RedisPool::RunPipeline(
    const std::vector<std::vector<std::string>>& commands) {
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<Lease> lease = Acquire();
    if (!lease.ok()) {
      return lease.status();
    }
    redisContext* context = lease->connection().context;
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const std::vector<std::string>& command : commands) {
      argv.clear();
      lens.clear();
      for (const std::string& a : command) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      redisAppendCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lens.data());
    }
    std::vector<absl::StatusOr<RedisValue>> results;
    results.reserve(commands.size());
    bool io_error = false;
    for (size_t i = 0; i < commands.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(context, &raw) != REDIS_OK || raw == nullptr) {
        io_error = true;
        break;
      }
      auto* reply = static_cast<redisReply*>(raw);
      results.push_back(Convert(reply));
      freeReplyObject(reply);
    }
    if (!io_error) {
      return results;
    }
    std::string reason = context->errstr;
    int saved_errno = errno;
    bool closed_by_peer =
        context->err == REDIS_ERR_EOF ||
        (context->err == REDIS_ERR_IO && (saved_errno == ECONNRESET || saved_errno == EPIPE));
    bool was_fresh = lease->fresh();
    lease->MarkBroken();
    // A connection that sat idle may have been closed by a server restart: nothing was read from
    // it, so retry once on a new connection. A timeout is never retried: the command may have run.
    if (!closed_by_peer || was_fresh || attempt > 0 || !results.empty()) {
      return absl::UnavailableError(absl::StrCat("redis: ", reason));
    }
    spdlog::warn("redis connection lost ({}), reconnecting", reason);
  }
}

absl::StatusOr<RedisValue> RedisPool::Command(const std::vector<std::string>& args) {
  auto results = RunPipeline({args});
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
  return RunPipeline(commands);
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
  auto results = Pipeline(commands);
  if (!results.ok()) {
    return results;
  }
  // Calls answered NOSCRIPT did not run: load the script and run just those again.
  std::vector<size_t> missing;
  for (size_t i = 0; i < results->size(); ++i) {
    if (IsNoScript((*results)[i])) {
      missing.push_back(i);
    }
  }
  if (missing.empty()) {
    return results;
  }
  absl::StatusOr<RedisValue> loaded = Command({"SCRIPT", "LOAD", script.source()});
  if (!loaded.ok()) {
    return loaded.status();
  }
  std::vector<std::vector<std::string>> retry;
  for (size_t i : missing) {
    retry.push_back(std::move(commands[i]));
  }
  auto retried = Pipeline(retry);
  if (!retried.ok()) {
    return retried;
  }
  for (size_t j = 0; j < missing.size(); ++j) {
    (*results)[missing[j]] = std::move((*retried)[j]);
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

}  // namespace livecommerce::common
