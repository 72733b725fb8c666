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
constexpr size_t kMaxCheckedChars = 2500;  // msgSecCheck's limit, in characters
constexpr size_t kMaxErrmsgBytes = 200;
// After a failed refresh while the old token still works, the next attempt waits this long.
constexpr absl::Duration kRefreshRetryDelay = absl::Seconds(10);

// WeChat's codes for a request it cannot take as sent.
const std::set<int64_t>& InvalidArgumentErrcodes() {
  static const auto* codes = new std::set<int64_t>{
      kErrInvalidOpenid,
      40035,  // invalid parameter
      40037,  // invalid template_id
      40129,  // invalid scene
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

}  // namespace

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
                                                            const std::string& body) const {
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

  absl::StatusOr<std::string> token = Token(*app, "");
  if (!token.ok()) {
    return token.status();
  }
  absl::StatusOr<Answer> answer = Post(*app, path, *token, payload);
  if (answer.ok() && IsTokenRefusal(answer->errcode)) {
    spdlog::info("wechat {}: {} refused the access_token (errcode {}); renewing it", app->appid,
                 std::string(path), answer->errcode);
    token = Token(*app, *token);
    if (!token.ok()) {
      return token.status();
    }
    answer = Post(*app, path, *token, payload);
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
    return std::move(answer->json);
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
