#include "services/common/wechat/platform_client.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "services/common/config.h"
#include "services/common/principal.h"
#include "services/common/status.h"
#include "services/common/validation.h"
#include "spdlog/spdlog.h"

namespace livecommerce::common::wechat {
namespace {

using Json = nlohmann::json;

constexpr char kErrcodePayload[] = "type.livecommerce/wechat.errcode";
constexpr char kTokenPath[] = "/cgi-bin/stable_token";
constexpr char kMsgSecCheckPath[] = "/wxa/msg_sec_check";
constexpr char kSubscribeSendPath[] = "/cgi-bin/message/subscribe/send";
constexpr char kUnlimitedCodePath[] = "/wxa/getwxacodeunlimit";
constexpr size_t kMaxCheckedChars = 2500;  // msgSecCheck's limit, in characters
constexpr size_t kMaxSubscribeFields = 20;
constexpr size_t kMaxIdBytes = 128;     // openid, template_id
constexpr size_t kMaxPageBytes = 1024;  // a page path and its query
constexpr size_t kMaxSceneChars = 32;   // wxacode.getUnlimited's scene
constexpr int kMinCodeWidth = 280;
constexpr int kMaxCodeWidth = 1280;
constexpr size_t kMaxErrmsgBytes = 200;
// After a failed refresh while the old token still works, the next attempt waits this long.
constexpr absl::Duration kRefreshRetryDelay = absl::Seconds(10);

// WeChat's codes for a request it cannot take as sent.
const std::set<int64_t>& InvalidArgumentErrcodes() {
  static const auto* codes = new std::set<int64_t>{
      kErrInvalidOpenid,
      40035,  // invalid parameter
      40037,  // invalid template_id
      40097,  // invalid arguments
      40129,  // invalid scene
      40169,  // invalid scene length
      41030,  // invalid page
      43104,  // appid and openid do not match
      44002,  // empty body
      47001,  // malformed body
      47003,  // invalid template data
  };
  return *codes;
}

bool IsTokenRefusal(int64_t errcode) {
  return errcode == kErrInvalidCredential || errcode == kErrInvalidAccessToken ||
         errcode == kErrAccessTokenExpired;
}

absl::Status WithErrcode(absl::StatusCode code, absl::string_view message, int64_t errcode) {
  absl::Status status(code, message);
  status.SetPayload(kErrcodePayload, absl::Cord(absl::StrCat(errcode)));
  return status;
}

bool IsLoopback(absl::string_view host) { return host == "127.0.0.1" || host == "localhost"; }

// `url` without a trailing '/', or INVALID_ARGUMENT.
absl::StatusOr<std::string> NormalizeBaseUrl(absl::string_view url) {
  absl::StatusOr<HttpUrl> parsed = ParseHttpUrl(url);
  if (!parsed.ok()) {
    return parsed.status();
  }
  if (parsed->scheme != "https" && !IsLoopback(parsed->host)) {
    return absl::InvalidArgumentError(
        "must start with https:// (http:// only to 127.0.0.1 or localhost)");
  }
  if (parsed->target.find('?') != std::string::npos) {
    return absl::InvalidArgumentError("must not have a query");
  }
  std::string out(url);
  while (absl::EndsWith(out, "/")) {
    out.pop_back();
  }
  return out;
}

bool IsValidAppId(absl::string_view appid) {
  if (appid.empty() || appid.size() > 64) {
    return false;
  }
  for (char c : appid) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  if (in.is_open()) {
    content << in.rdbuf();
  }
  if (!in.is_open() || in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  }
  return content.str();
}

size_t Utf8Chars(absl::string_view text) {
  size_t n = 0;
  for (char c : text) {
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  }
  return n;
}

bool IsAscii(absl::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool HasControlChar(absl::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

// An openid or template_id: WeChat's are letters, digits, '_' and '-'.
bool IsWechatId(absl::string_view id) {
  return !id.empty() && id.size() <= kMaxIdBytes && std::all_of(id.begin(), id.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// A template field's key: its kind ("thing", "character_string" ...) then its number.
bool SplitFieldKey(absl::string_view key, absl::string_view* kind) {
  size_t digits = key.size();
  while (digits > 0 && absl::ascii_isdigit(static_cast<unsigned char>(key[digits - 1]))) {
    --digits;
  }
  if (digits == 0 || digits == key.size() || key.size() > 64) {
    return false;
  }
  for (char c : key.substr(0, digits)) {
    if (!absl::ascii_islower(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  *kind = key.substr(0, digits);
  return true;
}

// WeChat's documented limit of a value of `kind`, in characters. Values past it are refused
// (47003); the caller shortens them, knowing which it may cut.
size_t MaxFieldChars(absl::string_view kind, absl::string_view value) {
  if (kind == "thing") {
    return 20;
  }
  if (kind == "number" || kind == "letter" || kind == "character_string") {
    return 32;
  }
  if (kind == "symbol" || kind == "phrase") {
    return 5;
  }
  if (kind == "phone_number") {
    return 17;
  }
  if (kind == "car_number") {
    return 8;
  }
  if (kind == "name") {
    return IsAscii(value) ? 20 : 10;  // 10 Chinese characters, or 20 letters
  }
  if (kind == "amount") {
    return 20;  // a currency sign, 10 digits, decimals and a trailing 元
  }
  if (kind == "time" || kind == "date") {
    return 64;  // a date and time, or a range of two
  }
  return 32;
}

absl::Status ValidateSubscribeMessage(const SubscribeMessage& message) {
  if (message.touser.empty()) {
    return InvalidField("touser", "required");
  }
  if (!IsWechatId(message.touser)) {
    return InvalidField("touser", "not an openid");
  }
  if (message.template_id.empty()) {
    return InvalidField("template_id", "required");
  }
  if (!IsWechatId(message.template_id)) {
    return InvalidField("template_id", "letters, digits, '_' and '-' only");
  }
  if (message.page.size() > kMaxPageBytes || !IsValidUtf8(message.page) ||
      HasControlChar(message.page)) {
    return InvalidField("page", absl::StrCat("at most ", kMaxPageBytes,
                                             " bytes of UTF-8 without control characters"));
  }
  if (message.data.empty()) {
    return InvalidField("data", "required");
  }
  if (message.data.size() > kMaxSubscribeFields) {
    return InvalidField("data", absl::StrCat("at most ", kMaxSubscribeFields, " fields"));
  }
  for (const auto& [key, value] : message.data) {
    absl::string_view kind;
    if (!SplitFieldKey(key, &kind)) {
      // The key is the template's, not the user's: safe to name.
      return InvalidField(absl::StrCat("data.", key),
                          "not a template field key (a kind and a number, e.g. thing1)");
    }
    const std::string field = absl::StrCat("data.", key);
    if (value.empty()) {
      return InvalidField(field, "required");
    }
    if (!IsValidUtf8(value) || HasControlChar(value)) {
      return InvalidField(field, "must be UTF-8 without control characters");
    }
    if (size_t max = MaxFieldChars(kind, value); Utf8Chars(value) > max) {
      return InvalidField(field, absl::StrCat("longer than ", max, " characters"));
    }
  }
  static const auto* states = new std::set<std::string>{"", "formal", "trial", "developer"};
  if (states->count(message.miniprogram_state) == 0) {
    return InvalidField("miniprogram_state", "formal, trial or developer");
  }
  static const auto* langs = new std::set<std::string>{"", "zh_CN", "en_US", "zh_HK", "zh_TW"};
  if (langs->count(message.lang) == 0) {
    return InvalidField("lang", "zh_CN, en_US, zh_HK or zh_TW");
  }
  return absl::OkStatus();
}

bool IsSceneChar(char c) {
  static constexpr absl::string_view kSymbols = "!#$&'()*+,/:;=?@-._~";
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         kSymbols.find(c) != absl::string_view::npos;
}

absl::Status ValidateUnlimitedCodeRequest(const UnlimitedCodeRequest& request) {
  if (request.scene.empty()) {
    return InvalidField("scene", "required");
  }
  if (request.scene.size() > kMaxSceneChars) {
    return InvalidField("scene", absl::StrCat("longer than ", kMaxSceneChars, " characters"));
  }
  if (!std::all_of(request.scene.begin(), request.scene.end(), IsSceneChar)) {
    return InvalidField("scene", "letters, digits and !#$&'()*+,/:;=?@-._~ only");
  }
  if (absl::StartsWith(request.page, "/") ||
      request.page.find_first_of("?#") != std::string::npos) {
    return InvalidField("page", "a page path without a leading '/' and without a query");
  }
  if (request.page.size() > kMaxPageBytes || !IsValidUtf8(request.page) ||
      HasControlChar(request.page)) {
    return InvalidField("page", absl::StrCat("at most ", kMaxPageBytes,
                                             " bytes of UTF-8 without control characters"));
  }
  if (request.env_version != "" && request.env_version != "release" &&
      request.env_version != "trial" && request.env_version != "develop") {
    return InvalidField("env_version", "release, trial or develop");
  }
  if (request.width != 0 && (request.width < kMinCodeWidth || request.width > kMaxCodeWidth)) {
    return InvalidField("width", absl::StrCat(kMinCodeWidth, "..", kMaxCodeWidth, " pixels"));
  }
  return absl::OkStatus();
}

// The new calls promise a retryable code for every exchange that may succeed later; a timed-out
// one is among them.
absl::Status TimeoutAsUnavailable(absl::Status status) {
  if (status.code() != absl::StatusCode::kDeadlineExceeded) {
    return status;
  }
  absl::Status out = absl::UnavailableError(status.message());
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

// The value of header `name` (case-insensitive), "" when absent.
std::string HeaderValue(const HttpFetchResponse& response, absl::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (absl::EqualsIgnoreCase(key, name)) {
      return value;
    }
  }
  return "";
}

// The image type of an answer, or "" when it is not an image. WeChat marks its images with
// Content-Type image/jpeg or image/png; a body that opens as JSON is an answer to read even so.
std::string ImageType(const HttpFetchResponse& response) {
  absl::string_view body = response.body;
  absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(body);
  if (body.empty() || absl::StartsWith(trimmed, "{")) {
    return "";
  }
  std::string type(absl::StripAsciiWhitespace(HeaderValue(response, "Content-Type")));
  type = absl::AsciiStrToLower(type.substr(0, type.find(';')));
  type = std::string(absl::StripAsciiWhitespace(type));
  if (absl::StartsWith(type, "image/")) {
    return type;
  }
  // No or a generic Content-Type: the format's own signature decides.
  if (absl::StartsWith(body, "\x89PNG\r\n\x1a\n")) {
    return "image/png";
  }
  if (absl::StartsWith(body, "\xff\xd8\xff")) {
    return "image/jpeg";
  }
  return "";
}

}  // namespace

SubscribeOutcome SubscribeOutcomeOf(const absl::Status& status) {
  if (status.ok()) {
    return SubscribeOutcome::kSent;
  }
  if (IsFinalSubscribeRefusal(status)) {
    return SubscribeOutcome::kRefused;
  }
  if (IsThrottled(status)) {
    return SubscribeOutcome::kThrottled;
  }
  if (IsTransient(status)) {
    return SubscribeOutcome::kTransient;
  }
  return SubscribeOutcome::kFailed;
}

absl::string_view SubscribeOutcomeName(SubscribeOutcome outcome) {
  switch (outcome) {
    case SubscribeOutcome::kSent:
      return "sent";
    case SubscribeOutcome::kRefused:
      return "refused";
    case SubscribeOutcome::kThrottled:
      return "throttled";
    case SubscribeOutcome::kTransient:
      return "transient";
    case SubscribeOutcome::kFailed:
      return "failed";
  }
  return "failed";
}

bool IsFinalSubscribeRefusal(const absl::Status& status) {
  std::optional<int64_t> errcode = WechatErrcode(status);
  if (status.ok() || !errcode.has_value()) {
    return false;
  }
  switch (*errcode) {
    case kErrUserRefused:
    case kErrInvalidOpenid:
    case kErrAppOpenidMismatch:
    case kErrInvalidTemplateId:
    case kErrInvalidTemplateData:
    case kErrInvalidPage:
      return true;
    default:
      return false;
  }
}

bool IsThrottled(const absl::Status& status) {
  return status.code() == absl::StatusCode::kResourceExhausted;
}

bool IsTransient(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

std::optional<int64_t> WechatErrcode(const absl::Status& status) {
  auto payload = status.GetPayload(kErrcodePayload);
  int64_t errcode = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &errcode)) {
    return std::nullopt;
  }
  return errcode;
}

absl::StatusOr<std::map<std::string, WechatAppConfig>> ParseWechatApps(
    absl::string_view json_text, const std::string& base_dir) {
  Json doc = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError(
        "not a JSON object of brands ({\"<brand_id>\": {\"appid\": ..., \"secret_file\": ...}})");
  }
  std::map<std::string, WechatAppConfig> apps;
  for (const auto& [brand_id, entry] : doc.items()) {
    if (!IsValidId(brand_id)) {
      return absl::InvalidArgumentError(absl::StrCat("\"", brand_id, "\": not a valid brand id"));
    }
    if (!entry.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(brand_id, ": must be an object"));
    }
    for (const auto& [key, value] : entry.items()) {
      if (key != "appid" && key != "secret_file") {
        return absl::InvalidArgumentError(absl::StrCat(
            brand_id, ".", key, ": unknown field (appid and secret_file only; a secret is read ",
            "from its own file)"));
      }
    }
    const Json& appid = entry.value("appid", Json());
    if (!appid.is_string() || !IsValidAppId(appid.get<std::string>())) {
      return absl::InvalidArgumentError(
          absl::StrCat(brand_id, ".appid: required, letters, digits, '_' and '-'"));
    }
    const Json& secret_file = entry.value("secret_file", Json());
    if (!secret_file.is_string() || secret_file.get<std::string>().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(brand_id, ".secret_file: required"));
    }
    std::filesystem::path path(secret_file.get<std::string>());
    if (path.is_relative()) {
      path = std::filesystem::path(base_dir) / path;
    }
    absl::StatusOr<std::string> secret = ReadFile(path.string());
    if (!secret.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(brand_id, ".secret_file: ", secret.status().message()));
    }
    WechatAppConfig app;
    app.appid = appid.get<std::string>();
    app.secret = std::string(absl::StripAsciiWhitespace(*secret));
    if (app.secret.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(brand_id, ".secret_file: ", path.string(), " is empty"));
    }
    apps.emplace(brand_id, std::move(app));
  }
  return apps;
}

absl::StatusOr<WechatPlatformConfig> LoadWechatPlatformConfig() {
  WechatPlatformConfig config;
  config.base_url = EnvString("LC_WECHAT_API_BASE_URL", config.base_url);
  if (absl::StatusOr<std::string> url = NormalizeBaseUrl(config.base_url); !url.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("LC_WECHAT_API_BASE_URL: ", url.status().message()));
  }
  absl::StatusOr<absl::Duration> timeout = EnvMillis("LC_WECHAT_API_TIMEOUT_MS", 5000, 100, 60000);
  if (!timeout.ok()) {
    return timeout.status();
  }
  config.timeout = *timeout;
  absl::StatusOr<std::string> ca = LoadCaBundleFromEnv("LC_WECHAT_API_CA_FILE");
  if (!ca.ok()) {
    return ca.status();
  }
  config.extra_ca_pem = *std::move(ca);
  std::string apps_file = EnvString("LC_WECHAT_APPS", "");
  if (!apps_file.empty()) {
    absl::StatusOr<std::string> text = ReadFile(apps_file);
    if (!text.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("LC_WECHAT_APPS: ", text.status().message()));
    }
    absl::StatusOr<std::map<std::string, WechatAppConfig>> apps =
        ParseWechatApps(*text, std::filesystem::path(apps_file).parent_path().string());
    if (!apps.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("LC_WECHAT_APPS (", apps_file, "): ", apps.status().message()));
    }
    config.apps_by_brand = *std::move(apps);
  }
  return config;
}

BeastHttpFetcherOptions WechatFetcherOptions(const WechatPlatformConfig& config) {
  BeastHttpFetcherOptions options;
  options.timeout = config.timeout;
  options.extra_ca_pem = config.extra_ca_pem;
  // Room for a mini-program code drawn at the widest WeChat allows (1280 px).
  options.max_response_bytes = 4 << 20;
  return options;
}

absl::StatusOr<std::unique_ptr<PlatformClient>> PlatformClient::Create(
    const WechatPlatformConfig& config, const HttpFetcher* fetcher, const Clock* clock) {
  if (fetcher == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("fetcher and clock are required");
  }
  absl::StatusOr<std::string> base_url = NormalizeBaseUrl(config.base_url);
  if (!base_url.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("base_url: ", base_url.status().message()));
  }
  if (config.refresh_margin < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("refresh_margin: must not be negative");
  }
  std::map<std::string, App> apps;
  std::map<std::string, std::string> brands;
  for (const auto& [brand_id, app] : config.apps_by_brand) {
    if (!IsValidAppId(app.appid) || app.secret.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("apps_by_brand[", brand_id, "]: a valid appid and a secret are required"));
    }
    auto [it, added] = apps.emplace(app.appid, App{app.appid, app.secret});
    if (!added && it->second.secret != app.secret) {
      return absl::InvalidArgumentError(absl::StrCat("apps_by_brand[", brand_id, "]: appid ",
                                                     app.appid,
                                                     " is configured with two different secrets"));
    }
    brands.emplace(brand_id, app.appid);
  }
  return std::unique_ptr<PlatformClient>(new PlatformClient(*std::move(base_url),
                                                            config.refresh_margin, std::move(apps),
                                                            std::move(brands), fetcher, clock));
}

PlatformClient::PlatformClient(std::string base_url, absl::Duration refresh_margin,
                               std::map<std::string, App> apps,
                               std::map<std::string, std::string> brands,
                               const HttpFetcher* fetcher, const Clock* clock)
    : base_url_(std::move(base_url)),
      refresh_margin_(refresh_margin),
      apps_(std::move(apps)),
      brands_(std::move(brands)),
      fetcher_(fetcher),
      clock_(clock) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [appid, app] : apps_) {
    tokens_.emplace(appid, TokenState{});
  }
}

absl::StatusOr<std::string> PlatformClient::AppIdOfBrand(absl::string_view brand_id) const {
  auto it = brands_.find(std::string(brand_id));
  if (it == brands_.end()) {
    return absl::NotFoundError("brand_id: no WeChat mini-program is configured for the brand");
  }
  return it->second;
}

const PlatformClient::App* PlatformClient::FindApp(absl::string_view appid) const {
  auto it = apps_.find(std::string(appid));
  return it == apps_.end() ? nullptr : &it->second;
}

std::string PlatformClient::Redact(const App& app, absl::string_view text,
                                   absl::string_view token) const {
  std::string out(text);
  if (!token.empty()) {
    out = absl::StrReplaceAll(out, {{token, "[access_token]"}});
  }
  return absl::StrReplaceAll(out, {{app.secret, "[secret]"}});
}

absl::StatusOr<std::string> PlatformClient::AccessToken(absl::string_view appid) const {
  const App* app = FindApp(appid);
  if (app == nullptr) {
    return absl::NotFoundError("appid: no WeChat mini-program is configured with this appid");
  }
  return Token(*app, "");
}

absl::StatusOr<std::string> PlatformClient::Token(const App& app,
                                                  absl::string_view rejected) const {
  std::unique_lock<std::mutex> lock(mu_);
  TokenState& state = tokens_.at(app.appid);
  if (!rejected.empty() && state.token == rejected) {
    state.token.clear();
    state.expires_at = absl::InfinitePast();
  }
  while (true) {
    absl::Time now = clock_->Now();
    bool usable = !state.token.empty() && now < state.expires_at;
    if (usable && now < state.refresh_at) {
      return state.token;
    }
    if (!state.refreshing) {
      break;
    }
    if (usable) {
      return state.token;  // still valid while another caller renews it
    }
    uint64_t seen = state.refreshes;
    refreshed_.wait(lock, [&] { return state.refreshes != seen; });
    if (!state.last_error.ok() && (state.token.empty() || clock_->Now() >= state.expires_at)) {
      return state.last_error;  // the refresh this caller waited for failed: share its answer
    }
  }

  state.refreshing = true;
  const absl::Time started = clock_->Now();
  lock.unlock();
  absl::StatusOr<Fetched> fetched = FetchToken(app);
  lock.lock();
  state.refreshing = false;
  ++state.refreshes;
  if (fetched.ok()) {
    state.token = std::move(fetched->token);
    state.expires_at = started + fetched->expires_in;
    // WeChat's answer is at least 300 s; a margin as long as the token renews it half-way.
    state.refresh_at = fetched->expires_in > refresh_margin_ ? state.expires_at - refresh_margin_
                                                             : started + fetched->expires_in / 2;
    state.last_error = absl::OkStatus();
    refreshed_.notify_all();
    spdlog::info("wechat {}: access_token renewed, valid for {}s", app.appid,
                 absl::ToInt64Seconds(fetched->expires_in));
    return state.token;
  }
  state.last_error = fetched.status();
  refreshed_.notify_all();
  spdlog::warn("wechat {}: access_token refresh failed: {}", app.appid,
               std::string(fetched.status().message()));
  absl::Time now = clock_->Now();
  if (!state.token.empty() && now < state.expires_at) {
    state.refresh_at = std::min(state.expires_at, now + kRefreshRetryDelay);
    return state.token;
  }
  return fetched.status();
}

absl::StatusOr<PlatformClient::Fetched> PlatformClient::FetchToken(const App& app) const {
  HttpFetchRequest request;
  request.method = "POST";
  request.url = absl::StrCat(base_url_, kTokenPath);
  request.headers = {{"Content-Type", "application/json"}};
  request.body =
      Json{{"grant_type", "client_credential"}, {"appid", app.appid}, {"secret", app.secret}}
          .dump();
  absl::StatusOr<HttpFetchResponse> response = fetcher_->Fetch(request);
  if (!response.ok()) {
    return absl::Status(
        response.status().code(),
        absl::StrCat("WeChat ", kTokenPath, ": ", Redact(app, response.status().message())));
  }
  if (response->status != 200) {
    return absl::UnavailableError(absl::StrCat("WeChat ", kTokenPath, ": HTTP ", response->status));
  }
  Json answer = Json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded() || !answer.is_object()) {
    return absl::UnavailableError(
        absl::StrCat("WeChat ", kTokenPath, ": the answer is not a JSON object"));
  }
  const Json& errcode = answer.value("errcode", Json(0));
  if (!errcode.is_number_integer()) {
    return absl::UnavailableError(absl::StrCat("WeChat ", kTokenPath, ": errcode is not a number"));
  }
  if (int64_t code = errcode.get<int64_t>(); code != 0) {
    const Json& errmsg = answer.value("errmsg", Json(""));
    std::string detail =
        Redact(app, errmsg.is_string() ? errmsg.get<std::string>() : "").substr(0, kMaxErrmsgBytes);
    if (code == kErrSystemBusy) {
      return WithErrcode(absl::StatusCode::kUnavailable,
                         absl::StrCat("WeChat ", kTokenPath, ": busy (errcode -1)"), code);
    }
    if (code == kErrDailyQuota || code == kErrTooFrequent) {
      return WithErrcode(
          absl::StatusCode::kResourceExhausted,
          absl::StrCat("WeChat ", kTokenPath, ": rate limited (errcode ", code, ": ", detail, ")"),
          code);
    }
    return WithErrcode(absl::StatusCode::kInternal,
                       absl::StrCat("WeChat ", kTokenPath, ": the credentials of app ", app.appid,
                                    " were refused (errcode ", code, ": ", detail, ")"),
                       code);
  }
  const Json& token = answer.value("access_token", Json());
  const Json& expires_in = answer.value("expires_in", Json());
  if (!token.is_string() || token.get<std::string>().empty() || !expires_in.is_number_integer() ||
      expires_in.get<int64_t>() <= 0) {
    return absl::UnavailableError(
        absl::StrCat("WeChat ", kTokenPath, ": the answer has no access_token and expires_in"));
  }
  return Fetched{token.get<std::string>(), absl::Seconds(expires_in.get<int64_t>())};
}

absl::StatusOr<PlatformClient::Answer> PlatformClient::Post(const App& app, absl::string_view path,
                                                            absl::string_view token,
                                                            const std::string& body,
                                                            bool image_ok) const {
  HttpFetchRequest request;
  request.method = "POST";
  request.url = absl::StrCat(base_url_, path, absl::StrContains(path, '?') ? "&" : "?",
                             "access_token=", PercentEncode(token));
  request.headers = {{"Content-Type", "application/json"}};
  request.body = body;
  absl::StatusOr<HttpFetchResponse> response = fetcher_->Fetch(request);
  if (!response.ok()) {
    return absl::Status(
        response.status().code(),
        absl::StrCat("WeChat ", path, ": ", Redact(app, response.status().message(), token)));
  }
  if (response->status != 200) {
    return absl::UnavailableError(absl::StrCat("WeChat ", path, ": HTTP ", response->status));
  }
  Answer answer;
  if (image_ok) {
    if (std::string type = ImageType(*response); !type.empty()) {
      answer.is_image = true;
      answer.content_type = std::move(type);
      answer.image = std::move(response->body);
      return answer;
    }
  }
  answer.json = Json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (answer.json.is_discarded() || !answer.json.is_object()) {
    return absl::UnavailableError(absl::StrCat("WeChat ", path, ": the answer is not JSON"));
  }
  const Json& errcode = answer.json.value("errcode", Json(0));
  if (!errcode.is_number_integer()) {
    return absl::UnavailableError(absl::StrCat("WeChat ", path, ": errcode is not a number"));
  }
  answer.errcode = errcode.get<int64_t>();
  const Json& errmsg = answer.json.value("errmsg", Json(""));
  if (errmsg.is_string()) {
    // Redacted before it is cut, so that no part of a secret survives.
    answer.errmsg = Redact(app, errmsg.get<std::string>(), token).substr(0, kMaxErrmsgBytes);
  }
  return answer;
}

absl::StatusOr<nlohmann::json> PlatformClient::Call(absl::string_view appid, absl::string_view path,
                                                    const nlohmann::json& body) const {
  if (!absl::StartsWith(path, "/") || absl::StrContains(path, "access_token=") ||
      absl::StrContains(path, '#')) {
    return absl::InvalidArgumentError("path: must start with / and carry no access_token");
  }
  const App* app = FindApp(appid);
  if (app == nullptr) {
    return absl::NotFoundError("appid: no WeChat mini-program is configured with this appid");
  }
  std::string payload;
  try {
    payload = body.dump();
  } catch (const Json::exception&) {
    return absl::InvalidArgumentError("body: strings must be valid UTF-8");
  }
  absl::StatusOr<Answer> answer = Exchange(*app, path, payload, /*image_ok=*/false);
  if (!answer.ok()) {
    return answer.status();
  }
  return std::move(answer->json);
}

absl::StatusOr<PlatformClient::Answer> PlatformClient::Exchange(const App& app,
                                                                absl::string_view path,
                                                                const std::string& payload,
                                                                bool image_ok) const {
  absl::StatusOr<std::string> token = Token(app, "");
  if (!token.ok()) {
    return token.status();
  }
  absl::StatusOr<Answer> answer = Post(app, path, *token, payload, image_ok);
  if (answer.ok() && IsTokenRefusal(answer->errcode)) {
    spdlog::info("wechat {}: {} refused the access_token (errcode {}); renewing it", app.appid,
                 std::string(path), answer->errcode);
    token = Token(app, *token);
    if (!token.ok()) {
      return token.status();
    }
    answer = Post(app, path, *token, payload, image_ok);
    if (answer.ok() && IsTokenRefusal(answer->errcode)) {
      return WithErrcode(absl::StatusCode::kUnavailable,
                         absl::StrCat("WeChat ", path, ": errcode ", answer->errcode,
                                      " even with a renewed access_token"),
                         answer->errcode);
    }
  }
  if (!answer.ok()) {
    return answer.status();
  }
  const int64_t code = answer->errcode;
  if (code == 0) {
    return answer;
  }
  std::string message = absl::StrCat("WeChat ", path, ": errcode ", code);
  if (!answer->errmsg.empty()) {
    absl::StrAppend(&message, " (", answer->errmsg, ")");
  }
  if (code == kErrSystemBusy) {
    return WithErrcode(absl::StatusCode::kUnavailable, message, code);
  }
  if (code == kErrDailyQuota || code == kErrTooFrequent) {
    return WithErrcode(absl::StatusCode::kResourceExhausted, message, code);
  }
  if (InvalidArgumentErrcodes().count(code) > 0) {
    return WithErrcode(absl::StatusCode::kInvalidArgument, message, code);
  }
  return WithErrcode(absl::StatusCode::kFailedPrecondition, message, code);
}

absl::StatusOr<const PlatformClient::App*> PlatformClient::AppOfBrand(
    absl::string_view brand_id) const {
  absl::StatusOr<std::string> appid = AppIdOfBrand(brand_id);
  if (!appid.ok()) {
    return appid.status();
  }
  const App* app = FindApp(*appid);
  if (app == nullptr) {
    return absl::InternalError("brand_id: the brand's mini-program has no credentials");
  }
  return app;
}

absl::StatusOr<SubscribeSent> PlatformClient::SendSubscribeMessage(
    absl::string_view brand_id, const SubscribeMessage& message) const {
  absl::StatusOr<const App*> app = AppOfBrand(brand_id);
  if (!app.ok()) {
    return app.status();
  }
  if (absl::Status valid = ValidateSubscribeMessage(message); !valid.ok()) {
    return valid;
  }
  Json data = Json::object();
  for (const auto& [key, value] : message.data) {
    data[key] = {{"value", value}};
  }
  Json body = {{"touser", message.touser}, {"template_id", message.template_id}, {"data", data}};
  if (!message.page.empty()) {
    body["page"] = message.page;
  }
  if (!message.miniprogram_state.empty()) {
    body["miniprogram_state"] = message.miniprogram_state;
  }
  if (!message.lang.empty()) {
    body["lang"] = message.lang;
  }
  absl::StatusOr<Answer> answer = Exchange(**app, kSubscribeSendPath, body.dump(), false);
  if (!answer.ok()) {
    return TimeoutAsUnavailable(answer.status());
  }
  SubscribeSent sent;
  // msgid is a 64-bit number (sometimes past int64): kept as its decimal text.
  if (const Json& msgid = answer->json.value("msgid", Json()); msgid.is_number_integer()) {
    sent.msgid = msgid.dump();
  } else if (msgid.is_string()) {
    sent.msgid = msgid.get<std::string>();
  }
  return sent;
}

absl::StatusOr<MiniProgramCode> PlatformClient::GetUnlimitedCode(
    absl::string_view brand_id, const UnlimitedCodeRequest& request) const {
  absl::StatusOr<const App*> app = AppOfBrand(brand_id);
  if (!app.ok()) {
    return app.status();
  }
  if (absl::Status valid = ValidateUnlimitedCodeRequest(request); !valid.ok()) {
    return valid;
  }
  Json body = {{"scene", request.scene}, {"check_path", request.check_path}};
  if (!request.page.empty()) {
    body["page"] = request.page;
  }
  if (!request.env_version.empty()) {
    body["env_version"] = request.env_version;
  }
  if (request.width != 0) {
    body["width"] = request.width;
  }
  absl::StatusOr<Answer> answer = Exchange(**app, kUnlimitedCodePath, body.dump(), true);
  if (!answer.ok()) {
    return TimeoutAsUnavailable(answer.status());
  }
  if (!answer->is_image) {
    // errcode 0 without an image: not an answer WeChat documents.
    return absl::UnavailableError(absl::StrCat("WeChat ", kUnlimitedCodePath,
                                               ": the answer is neither an image nor an error"));
  }
  return MiniProgramCode{std::move(answer->image), std::move(answer->content_type)};
}

absl::StatusOr<TextCheck> PlatformClient::CheckText(absl::string_view appid,
                                                    absl::string_view openid,
                                                    absl::string_view text, TextScene scene) const {
  if (openid.empty()) {
    return InvalidField("openid", "required");
  }
  if (text.empty()) {
    return InvalidField("content", "required");
  }
  if (!IsValidUtf8(text)) {
    return InvalidField("content", "must be valid UTF-8");
  }
  if (Utf8Chars(text) > kMaxCheckedChars) {
    return InvalidField("content", absl::StrCat("longer than ", kMaxCheckedChars, " characters"));
  }
  Json body = {{"content", std::string(text)},
               {"version", 2},
               {"scene", static_cast<int>(scene)},
               {"openid", std::string(openid)}};
  absl::StatusOr<Json> answer = Call(appid, kMsgSecCheckPath, body);
  if (!answer.ok()) {
    return answer.status();
  }
  const Json& result = answer->value("result", Json());
  const Json& suggest = result.is_object() ? result.value("suggest", Json()) : Json();
  const Json& label = result.is_object() ? result.value("label", Json()) : Json();
  TextCheck check;
  if (suggest == "pass") {
    check.verdict = TextVerdict::kPass;
  } else if (suggest == "review") {
    check.verdict = TextVerdict::kReview;
  } else if (suggest == "risky") {
    check.verdict = TextVerdict::kRisky;
  } else {
    return absl::UnavailableError(
        absl::StrCat("WeChat ", kMsgSecCheckPath, ": result.suggest is not pass, review or risky"));
  }
  if (!label.is_number_integer()) {
    return absl::UnavailableError(
        absl::StrCat("WeChat ", kMsgSecCheckPath, ": result.label is not a number"));
  }
  check.label = label.get<int64_t>();
  const Json& trace_id = answer->value("trace_id", Json(""));
  if (trace_id.is_string()) {
    check.trace_id = trace_id.get<std::string>();
  }
  return check;
}

}  // namespace livecommerce::common::wechat
