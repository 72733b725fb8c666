#include "services/room/stream/tencent_provider.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "services/common/crypto.h"

namespace livecommerce::room::stream {

using common::HostHeader;
using common::HttpFetcher;
using common::HttpFetchRequest;
using common::HttpFetchResponse;
using common::HttpUrl;
using common::ParseFormUrlEncoded;
using common::ParseHttpUrl;
using common::PercentEncode;

namespace {

using Json = nlohmann::json;

// Tencent's callbacks are a few hundred bytes; anything far larger is not Tencent.
constexpr size_t kMaxCallbackBody = 64 * 1024;
constexpr char kApiVersion[] = "2018-08-01";
constexpr char kApiContentType[] = "application/json; charset=utf-8";

std::string Md5Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_md5(), nullptr) != 1) {
    return std::string();
  }
  return common::HexEncode(absl::string_view(reinterpret_cast<char*>(digest), size));
}

bool IsDigits(absl::string_view text) {
  if (text.empty() || text.size() > 19) {
    return false;
  }
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

// A JSON integer, or a string of decimal digits (Tencent documents some numbers as strings).
std::optional<int64_t> AsInt64(const Json& value) {
  if (value.is_number_unsigned()) {
    uint64_t n = value.get<uint64_t>();
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<int64_t>(n);
  }
  if (value.is_number_integer()) {
    return value.get<int64_t>();
  }
  int64_t n = 0;
  if (value.is_string() && IsDigits(value.get_ref<const std::string&>()) &&
      absl::SimpleAtoi(value.get_ref<const std::string&>(), &n)) {
    return n;
  }
  return std::nullopt;
}

// A JSON string, or a non-negative integer as its decimal text.
std::optional<std::string> AsText(const Json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_number_unsigned()) {
    return std::to_string(value.get<uint64_t>());
  }
  return std::nullopt;
}

const Json* Member(const Json& object, absl::string_view name) {
  auto it = object.find(std::string(name));
  return it == object.end() ? nullptr : &*it;
}

// An optional non-negative integer field: nullopt when absent, INVALID_ARGUMENT when malformed.
absl::StatusOr<std::optional<int64_t>> OptionalCount(const Json& object, absl::string_view field) {
  const Json* value = Member(object, field);
  if (value == nullptr || value->is_null()) {
    return std::optional<int64_t>();
  }
  std::optional<int64_t> n = AsInt64(*value);
  if (!n.has_value() || *n < 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be a non-negative integer"));
  }
  return n;
}

absl::StatusOr<std::string> RequiredText(const Json& object, absl::string_view field) {
  const Json* value = Member(object, field);
  std::optional<std::string> text = value == nullptr ? std::nullopt : AsText(*value);
  if (!text.has_value() || text->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  }
  if (text->size() > 1024) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": too long"));
  }
  return *std::move(text);
}

// The `key` the encoder's push URL carried, from the callback's stream_param ("" when none).
absl::StatusOr<std::string> PushKeyFromStreamParam(const Json& body) {
  const Json* param = Member(body, "stream_param");
  if (param == nullptr || param->is_null()) {
    return std::string();
  }
  if (!param->is_string()) {
    return absl::InvalidArgumentError("stream_param: must be a string");
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> fields =
      ParseFormUrlEncoded(param->get_ref<const std::string&>());
  if (!fields.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("stream_param: ", fields.status().message()));
  }
  std::optional<std::string> key;
  for (auto& [name, value] : *fields) {
    if (name != "key") {
      continue;
    }
    // The query is the encoder's: a second key could stand in for the one we issued.
    if (key.has_value()) {
      return absl::InvalidArgumentError("stream_param: key repeated");
    }
    key = std::move(value);
  }
  if (!key.has_value()) {
    return std::string();
  }
  if (!IsValidPushKey(*key)) {
    return absl::InvalidArgumentError(
        "stream_param: key must be 1 to 256 printable ASCII characters");
  }
  return *std::move(key);
}

bool IsDomain(absl::string_view domain) {
  if (domain.empty() || domain.size() > 253 || domain.front() == '.' || domain.back() == '.' ||
      domain.front() == '-') {
    return false;
  }
  for (char c : domain) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

bool IsKeyText(absl::string_view key) {
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) {
      return false;
    }
  }
  return !key.empty();
}

absl::Status CheckKey(absl::string_view variable, absl::string_view key, bool required) {
  if (key.empty()) {
    return required ? absl::InvalidArgumentError(absl::StrCat(variable, ": required"))
                    : absl::OkStatus();
  }
  if (!IsKeyText(key)) {
    return absl::InvalidArgumentError(
        absl::StrCat(variable, ": must be printable ASCII without spaces"));
  }
  return absl::OkStatus();
}

bool IsRetryableCode(absl::string_view code) {
  return absl::StartsWith(code, "InternalError") ||
         absl::StartsWith(code, "RequestLimitExceeded") ||
         absl::StartsWith(code, "ResourceUnavailable");
}

}  // namespace

std::string TencentTxTime(absl::Time expires_at) {
  int64_t seconds = std::max<int64_t>(0, absl::ToUnixSeconds(expires_at));
  return absl::AsciiStrToUpper(absl::StrCat(absl::Hex(seconds)));
}

std::string TencentTxSecret(absl::string_view key, absl::string_view stream_name,
                            absl::string_view tx_time) {
  return Md5Hex(absl::StrCat(key, stream_name, tx_time));
}

std::string TencentCallbackSign(absl::string_view callback_key, absl::string_view t) {
  return Md5Hex(absl::StrCat(callback_key, t));
}

Tc3Signature SignTc3(const Tc3Input& input) {
  Tc3Signature out;
  out.hashed_payload = common::HexEncode(common::Sha256(input.payload));
  constexpr char kSignedHeaders[] = "content-type;host";
  out.canonical_request =
      absl::StrCat("POST\n/\n\ncontent-type:", absl::AsciiStrToLower(input.content_type),
                   "\nhost:", absl::AsciiStrToLower(input.host), "\n\n", kSignedHeaders, "\n",
                   out.hashed_payload);
  const std::string date =
      absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(input.timestamp), absl::UTCTimeZone());
  const std::string scope = absl::StrCat(date, "/", input.service, "/tc3_request");
  out.string_to_sign = absl::StrCat("TC3-HMAC-SHA256\n", input.timestamp, "\n", scope, "\n",
                                    common::HexEncode(common::Sha256(out.canonical_request)));
  const std::string secret_date = common::HmacSha256(absl::StrCat("TC3", input.secret_key), date);
  const std::string secret_service = common::HmacSha256(secret_date, input.service);
  const std::string secret_signing = common::HmacSha256(secret_service, "tc3_request");
  out.signature = common::HexEncode(common::HmacSha256(secret_signing, out.string_to_sign));
  out.authorization =
      absl::StrCat("TC3-HMAC-SHA256 Credential=", input.secret_id, "/", scope,
                   ", SignedHeaders=", kSignedHeaders, ", Signature=", out.signature);
  return out;
}

absl::StatusOr<std::unique_ptr<TencentProvider>> TencentProvider::Create(
    TencentProviderOptions options, std::unique_ptr<HttpFetcher> fetcher,
    std::shared_ptr<const common::Clock> clock) {
  if (fetcher == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("an HTTP fetcher and a clock are required");
  }
  if (!IsDomain(options.push_domain)) {
    return absl::InvalidArgumentError(options.push_domain.empty()
                                          ? "LC_TENCENT_PUSH_DOMAIN: required"
                                          : "LC_TENCENT_PUSH_DOMAIN: not a domain name");
  }
  if (!IsDomain(options.play_domain)) {
    return absl::InvalidArgumentError(options.play_domain.empty()
                                          ? "LC_TENCENT_PLAY_DOMAIN: required"
                                          : "LC_TENCENT_PLAY_DOMAIN: not a domain name");
  }
  if (!IsValidStreamName(options.app)) {
    return absl::InvalidArgumentError(
        "LC_TENCENT_APP: must be letters, digits, '_' or '-' (1 to 128)");
  }
  const bool backup = options.sign_with == TencentKeySlot::kBackup;
  for (absl::Status status : {
           CheckKey("LC_TENCENT_PUSH_KEY", options.push_key, true),
           CheckKey("LC_TENCENT_PUSH_KEY_BACKUP", options.push_key_backup, backup),
           CheckKey("LC_TENCENT_PLAY_KEY", options.play_key, true),
           CheckKey("LC_TENCENT_PLAY_KEY_BACKUP", options.play_key_backup, backup),
           CheckKey("LC_TENCENT_CALLBACK_KEY", options.callback_key, true),
           CheckKey("LC_TENCENT_SECRET_ID", options.secret_id, true),
           CheckKey("LC_TENCENT_SECRET_KEY", options.secret_key, true),
       }) {
    if (!status.ok()) {
      return status;
    }
  }
  absl::StatusOr<HttpUrl> endpoint = ParseHttpUrl(options.api_endpoint);
  if (!endpoint.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("LC_TENCENT_API_ENDPOINT: ", endpoint.status().message()));
  }
  if (endpoint->target != "/") {
    return absl::InvalidArgumentError(
        "LC_TENCENT_API_ENDPOINT: must be scheme://host[:port] without a path or query");
  }
  for (char c : options.region) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
      return absl::InvalidArgumentError("LC_TENCENT_REGION: must be letters, digits and '-'");
    }
  }
  HttpUrl parsed = *std::move(endpoint);
  return std::unique_ptr<TencentProvider>(new TencentProvider(
      std::move(options), std::move(parsed), std::move(fetcher), std::move(clock)));
}

TencentProvider::TencentProvider(TencentProviderOptions options, HttpUrl endpoint,
                                 std::unique_ptr<HttpFetcher> fetcher,
                                 std::shared_ptr<const common::Clock> clock)
    : options_(std::move(options)),
      endpoint_(std::move(endpoint)),
      fetcher_(std::move(fetcher)),
      clock_(std::move(clock)) {}

PushAddress TencentProvider::Push(const std::string& stream_name, const std::string& push_key,
                                  absl::Time expires_at) const {
  return PushSignedWith(options_.sign_with, stream_name, push_key, expires_at);
}

PlayAddresses TencentProvider::Play(const std::string& stream_name, absl::Time expires_at) const {
  return PlaySignedWith(options_.sign_with, stream_name, expires_at);
}

PushAddress TencentProvider::PushSignedWith(TencentKeySlot slot, const std::string& stream_name,
                                            const std::string& push_key,
                                            absl::Time expires_at) const {
  const std::string& key = slot == TencentKeySlot::kBackup && !options_.push_key_backup.empty()
                               ? options_.push_key_backup
                               : options_.push_key;
  const std::string tx_time = TencentTxTime(expires_at);
  PushAddress address;
  address.server = absl::StrCat("rtmp://", options_.push_domain, "/", options_.app, "/");
  address.stream_key =
      absl::StrCat(stream_name, "?txSecret=", TencentTxSecret(key, stream_name, tx_time),
                   "&txTime=", tx_time, "&key=", PercentEncode(push_key));
  address.url = absl::StrCat(address.server, address.stream_key);
  address.expires_at = absl::FromUnixSeconds(absl::ToUnixSeconds(expires_at));
  return address;
}

PlayAddresses TencentProvider::PlaySignedWith(TencentKeySlot slot, const std::string& stream_name,
                                              absl::Time expires_at) const {
  const std::string& key = slot == TencentKeySlot::kBackup && !options_.play_key_backup.empty()
                               ? options_.play_key_backup
                               : options_.play_key;
  const std::string tx_time = TencentTxTime(expires_at);
  const std::string query =
      absl::StrCat("?txSecret=", TencentTxSecret(key, stream_name, tx_time), "&txTime=", tx_time);
  const std::string path = absl::StrCat(options_.play_domain, "/", options_.app, "/", stream_name);
  PlayAddresses addresses;
  addresses.flv = absl::StrCat("https://", path, ".flv", query);
  addresses.hls = absl::StrCat("https://", path, ".m3u8", query);
  addresses.webrtc = absl::StrCat("webrtc://", path, query);
  addresses.expires_at = absl::FromUnixSeconds(absl::ToUnixSeconds(expires_at));
  return addresses;
}

PlayAddresses TencentProvider::PlayRecording(const std::string& location,
                                             absl::Time expires_at) const {
  std::string url = location;
  if (!absl::StartsWith(url, "https://") && !absl::StartsWith(url, "http://")) {
    url =
        absl::StrCat("https://", options_.play_domain, absl::StartsWith(url, "/") ? "" : "/", url);
  }
  // The path starts after the authority; the signed directory ends with its last '/'.
  const size_t authority = url.find("://") + 3;
  const size_t path_start = std::min(url.find('/', authority), url.size());
  const size_t query = std::min(url.find('?', path_start), url.size());
  std::string path = url.substr(path_start, query - path_start);
  const std::string dir = path.substr(0, path.find_last_of('/') + 1);
  const int64_t seconds = std::max<int64_t>(0, absl::ToUnixSeconds(expires_at));
  const std::string t = absl::StrCat(absl::Hex(seconds));
  PlayAddresses addresses;
  const std::string base = url.substr(0, query);
  const std::string signed_query =
      absl::StrCat("t=", t, "&sign=", Md5Hex(absl::StrCat(options_.play_key, dir, t)));
  addresses.hls = absl::StrCat(
      base, query < url.size() ? absl::StrCat(url.substr(query), "&") : "?", signed_query);
  addresses.expires_at = absl::FromUnixSeconds(seconds);
  return addresses;
}

absl::StatusOr<StreamEvent> TencentProvider::ParseCallback(const CallbackRequest& request,
                                                           absl::Time now) const {
  if (request.body.size() > kMaxCallbackBody) {
    return absl::InvalidArgumentError("body: too large");
  }
  Json body = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return absl::InvalidArgumentError("body: not a JSON object");
  }

  // Authenticity before anything else is read.
  const Json* sign = Member(body, "sign");
  if (sign == nullptr || !sign->is_string()) {
    return absl::UnauthenticatedError("sign: missing");
  }
  const Json* t_value = Member(body, "t");
  std::optional<int64_t> t = t_value == nullptr ? std::nullopt : AsInt64(*t_value);
  if (!t.has_value() || *t <= 0) {
    return absl::UnauthenticatedError("t: missing or malformed");
  }
  // Tencent signs t's decimal text, which is what AsInt64 accepted either way.
  const std::string expected = TencentCallbackSign(options_.callback_key, std::to_string(*t));
  if (!common::ConstantTimeEquals(absl::AsciiStrToLower(sign->get_ref<const std::string&>()),
                                  expected)) {
    return absl::UnauthenticatedError("sign: does not match");
  }
  if (now > absl::FromUnixSeconds(*t)) {
    return absl::UnauthenticatedError("t: expired");
  }

  const Json* type_value = Member(body, "event_type");
  std::optional<int64_t> event_type = type_value == nullptr ? std::nullopt : AsInt64(*type_value);
  if (!event_type.has_value()) {
    return absl::InvalidArgumentError("event_type: required");
  }
  if (*event_type != 0 && *event_type != 1 && *event_type != 100) {
    return absl::FailedPreconditionError(absl::StrCat("ignored: event_type ", *event_type));
  }
  if (const Json* appname = Member(body, "appname"); appname != nullptr && !appname->is_null()) {
    if (!appname->is_string()) {
      return absl::InvalidArgumentError("appname: must be a string");
    }
    // Another push path on the same domain is someone else's stream, whatever its name.
    if (appname->get_ref<const std::string&>() != options_.app) {
      return absl::FailedPreconditionError("ignored: appname is not this deployment's");
    }
  }
  absl::StatusOr<std::string> stream_id = RequiredText(body, "stream_id");
  if (!stream_id.ok()) {
    return stream_id.status();
  }
  if (!IsValidStreamName(*stream_id)) {
    return absl::InvalidArgumentError("stream_id: not a valid stream name");
  }
  absl::StatusOr<std::string> push_key = PushKeyFromStreamParam(body);
  if (!push_key.ok()) {
    return push_key.status();
  }
  absl::StatusOr<std::optional<int64_t>> event_time = OptionalCount(body, "event_time");
  if (!event_time.ok()) {
    return event_time.status();
  }

  StreamEvent event;
  event.stream_name = *stream_id;
  event.push_key = *std::move(push_key);
  event.occurred_at = event_time->value_or(0) > 0 ? absl::FromUnixSeconds(**event_time) : now;

  if (*event_type == 100) {
    event.kind = StreamEventKind::kRecordingReady;
    absl::StatusOr<std::string> video_url = RequiredText(body, "video_url");
    if (!video_url.ok()) {
      return video_url.status();
    }
    if (!absl::StartsWith(*video_url, "http://") && !absl::StartsWith(*video_url, "https://")) {
      return absl::InvalidArgumentError("video_url: must be an http(s) URL");
    }
    absl::StatusOr<std::string> file_id = RequiredText(body, "file_id");
    if (!file_id.ok()) {
      // Older bodies name the VOD file record_file_id only.
      file_id = RequiredText(body, "record_file_id");
      if (!file_id.ok()) {
        return absl::InvalidArgumentError("file_id: required");
      }
    }
    absl::StatusOr<std::optional<int64_t>> duration = OptionalCount(body, "duration");
    if (!duration.ok()) {
      return duration.status();
    }
    absl::StatusOr<std::optional<int64_t>> file_size = OptionalCount(body, "file_size");
    if (!file_size.ok()) {
      return file_size.status();
    }
    absl::StatusOr<std::optional<int64_t>> end_time = OptionalCount(body, "end_time");
    if (!end_time.ok()) {
      return end_time.status();
    }
    event.recording = *std::move(video_url);
    event.recording_seconds = duration->value_or(0);
    event.recording_bytes = file_size->value_or(0);
    if (end_time->value_or(0) > 0) {
      event.occurred_at = absl::FromUnixSeconds(**end_time);
    }
    event.dedupe_key = absl::StrCat("tencent/100/", event.stream_name, "/", *file_id);
    return event;
  }

  event.kind =
      *event_type == 1 ? StreamEventKind::kPublishStarted : StreamEventKind::kPublishStopped;
  absl::StatusOr<std::string> sequence = RequiredText(body, "sequence");
  if (!sequence.ok()) {
    return sequence.status();
  }
  event.sequence = *std::move(sequence);
  event.dedupe_key =
      absl::StrCat("tencent/", *event_type, "/", event.stream_name, "/", event.sequence);
  return event;
}

CallbackAnswer TencentProvider::Answer(const StreamEvent& event, bool accepted) const {
  // Tencent only looks at the status (anything but 200 is retried); the body is the one its
  // documentation suggests.
  return CallbackAnswer{200, "application/json", R"({"code":0})"};
}

absl::Status TencentProvider::Cut(const std::string& stream_name) const {
  if (!IsValidStreamName(stream_name)) {
    return absl::InvalidArgumentError("stream_name: not a valid stream name");
  }
  const std::string payload = Json{
      {"AppName", options_.app},
      {"DomainName", options_.push_domain},
      {"StreamName", stream_name}}.dump();
  const int64_t timestamp = absl::ToUnixSeconds(clock_->Now());
  const std::string host = HostHeader(endpoint_);
  Tc3Signature signature = SignTc3(Tc3Input{options_.secret_id, options_.secret_key, "live", host,
                                            kApiContentType, payload, timestamp});
  HttpFetchRequest request;
  request.method = "POST";
  request.url = absl::StrCat(endpoint_.scheme, "://", host, "/");
  request.headers = {{"Authorization", signature.authorization},
                     {"Content-Type", kApiContentType},
                     {"Host", host},
                     {"X-TC-Action", "DropLiveStream"},
                     {"X-TC-Timestamp", std::to_string(timestamp)},
                     {"X-TC-Version", kApiVersion}};
  if (!options_.region.empty()) {
    request.headers.emplace_back("X-TC-Region", options_.region);
  }
  request.body = payload;
  absl::StatusOr<HttpFetchResponse> response = fetcher_->Fetch(request);
  if (!response.ok()) {
    return response.status();
  }

  Json answer = Json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  const Json* result = answer.is_object() ? Member(answer, "Response") : nullptr;
  if (result == nullptr || !result->is_object()) {
    std::string message =
        absl::StrCat("tencent DropLiveStream: HTTP ", response->status, " without a Response");
    return response->status >= 500 ? absl::UnavailableError(message) : absl::InternalError(message);
  }
  const Json* error = Member(*result, "Error");
  if (error == nullptr || error->is_null()) {
    if (response->status >= 500) {
      return absl::UnavailableError(
          absl::StrCat("tencent DropLiveStream: HTTP ", response->status));
    }
    return absl::OkStatus();
  }
  std::string code = "unknown";
  std::string detail;
  if (error->is_object()) {
    if (const Json* c = Member(*error, "Code"); c != nullptr && c->is_string()) {
      code = c->get<std::string>();
    }
    if (const Json* m = Member(*error, "Message"); m != nullptr && m->is_string()) {
      detail = m->get<std::string>().substr(0, 200);
    }
  }
  if (code == "FailedOperation.HasNotLivingStream" || code == "InternalError.HasNotLivingStream") {
    return absl::OkStatus();
  }
  std::string message = absl::StrCat("tencent DropLiveStream: ", code, ": ", detail);
  if (IsRetryableCode(code) || response->status >= 500) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

}  // namespace livecommerce::room::stream
