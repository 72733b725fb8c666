#include "services/common/redis_node.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <cerrno>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
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

}  // namespace

class RedisNode::Lease {
 public:
  Lease(RedisNode* node, size_t index, bool fresh) : node_(node), index_(index), fresh_(fresh) {}
  Lease(Lease&& other) noexcept
      : node_(std::exchange(other.node_, nullptr)),
        index_(other.index_),
        fresh_(other.fresh_),
        broken_(other.broken_) {}
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (node_ != nullptr) {
      node_->Release(index_, broken_);
    }
  }
  Connection& connection() { return node_->connections_[index_]; }
  bool fresh() const { return fresh_; }
  void MarkBroken() { broken_ = true; }

 private:
  RedisNode* node_;
  size_t index_;
  bool fresh_;
  bool broken_ = false;
};

RedisNode::RedisNode(const RedisConfig& config, std::string host, int port)
    : config_(config),
      host_(std::move(host)),
      port_(port),
      address_(absl::StrCat(host_, ":", port_)),
      connections_(static_cast<size_t>(config_.pool_size)),
      slots_(connections_.size()) {}

RedisNode::~RedisNode() {
  for (Connection& c : connections_) {
    if (c.context != nullptr) {
      redisFree(c.context);
    }
  }
}

absl::Status RedisNode::Connect(Connection& connection) {
  timeval connect_timeout = DurationToTimeval(config_.connect_timeout);
  redisContext* context = redisConnectWithTimeout(host_.c_str(), port_, connect_timeout);
  if (context == nullptr || context->err != 0) {
    std::string reason = context != nullptr ? context->errstr : "out of memory";
    if (context != nullptr) {
      redisFree(context);
    }
    return absl::UnavailableError(absl::StrCat("redis unavailable at ", address_, ": ", reason));
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

absl::StatusOr<RedisNode::Lease> RedisNode::Acquire() {
  absl::StatusOr<size_t> slot = slots_.Acquire(
      config_.command_timeout, "redis: no connection free in the pool before the timeout");
  if (!slot.ok()) return slot.status();
  size_t index = *slot;
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

void RedisNode::Release(size_t index, bool broken) {
  if (broken && connections_[index].context != nullptr) {
    redisFree(connections_[index].context);
    connections_[index].context = nullptr;
  }
  slots_.Release(index);
}

PoolStats RedisNode::Stats() { return slots_.Stats(); }

absl::StatusOr<std::vector<absl::StatusOr<RedisValue>>> RedisNode::RunPipeline(
    const std::vector<std::vector<std::string>>& commands, bool* maybe_sent) {
  if (maybe_sent != nullptr) {
    *maybe_sent = false;
  }
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
    if (maybe_sent != nullptr) {
      *maybe_sent = true;
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
    spdlog::warn("redis connection to {} lost ({}), reconnecting", address_, reason);
  }
}

}  // namespace livecommerce::common
