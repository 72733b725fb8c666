#include "services/common/logging.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "services/common/config.h"
#include "services/common/log_format.h"
#include "services/common/request_id.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace livecommerce::common {
namespace {

// `%*` in a pattern: the log message, escaped for a JSON string.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string escaped = JsonEscape(absl::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

// `%&` in a pattern: the request id of the call the logging thread is handling, when it has one
// (see CurrentRequestId), as ` rid=<id>` in text and `,"request_id":"<id>"` in JSON; nothing
// otherwise. Ids are checked to be plain characters when set, so they need no escaping.
class RequestIdFlag final : public spdlog::custom_flag_formatter {
 public:
  explicit RequestIdFlag(bool json) : json_(json) {}
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    absl::string_view id = CurrentRequestId();
    if (id.empty()) return;
    absl::string_view before = json_ ? ",\"request_id\":\"" : " rid=";
    dest.append(before.data(), before.data() + before.size());
    dest.append(id.data(), id.data() + id.size());
    if (json_) dest.push_back('"');
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<RequestIdFlag>(json_);
  }

 private:
  bool json_;
};

}  // namespace

std::string JsonEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

absl::Status InitLogging(absl::string_view service_name) {
  return InitLogging(service_name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
}

absl::Status InitLogging(absl::string_view service_name, spdlog::sink_ptr sink) {
  std::string format = EnvString("LC_LOG_FORMAT", "text");
  std::string level_name = EnvString("LC_LOG_LEVEL", "info");
  if (format != "text" && format != "json") {
    return absl::InvalidArgumentError(
        absl::StrCat("LC_LOG_FORMAT must be text or json, got '", format, "'"));
  }
  spdlog::level::level_enum level = spdlog::level::from_str(level_name);
  if (level == spdlog::level::off && level_name != "off") {
    return absl::InvalidArgumentError(absl::StrCat(
        "LC_LOG_LEVEL must be trace, debug, info, warn or error, got '", level_name, "'"));
  }
  auto logger = std::make_shared<spdlog::logger>(std::string(service_name), std::move(sink));
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == "json") {
    formatter->add_flag<JsonMessageFlag>('*');
    formatter->add_flag<RequestIdFlag>('&', true).set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","service":"%n","thread":%t%&,"msg":"%*"})");
  } else {
    formatter->add_flag<RequestIdFlag>('&', false)
        .set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ [%n]%& %v");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  return absl::OkStatus();
}

}  // namespace livecommerce::common
