#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/common/clock.h"
#include "services/common/http_client.h"

namespace livecommerce::common::wechat {

// The mini-program backend's side of api.weixin.qq.com: the access_token, a generic JSON call,
// and the calls built on it (content security). One client serves every caller in a process.

inline constexpr char kDefaultApiBaseUrl[] = "https://api.weixin.qq.com";

// One mini-program's credentials. The secret is sent only to the token API: it is never logged
// and never part of a returned Status.
struct WechatAppConfig {
  std::string appid;
  std::string secret;
};

struct WechatPlatformConfig {
  // https://host[:port][/prefix]. http:// only to a loopback host (127.0.0.1, localhost): tests
  // and a local sandbox.
  std::string base_url = kDefaultApiBaseUrl;
  // Per HTTP exchange (a call may make up to four: token, call, token again, call again).
  absl::Duration timeout = absl::Seconds(5);
  // PEM CA certificates trusted besides the system store (a sandbox behind a private CA).
  std::string extra_ca_pem;
  // A cached access_token is renewed once less than this is left of it (WeChat hands out a new
  // one in the last 5 minutes of the old, and keeps both valid meanwhile).
  absl::Duration refresh_margin = absl::Minutes(5);
  // brand_id -> the brand's mini-program. Several brands may share one mini-program.
  std::map<std::string, WechatAppConfig> apps_by_brand;
};

// From the environment:
//   LC_WECHAT_API_BASE_URL    base URL (default https://api.weixin.qq.com); also the gateway's
//                             code2Session host.
//   LC_WECHAT_API_TIMEOUT_MS  per HTTP exchange (default 5000, 100..60000).
//   LC_WECHAT_API_CA_FILE     a PEM file of CA certificates added to the system trust store
//                             (default none).
//   LC_WECHAT_APPS            a JSON file naming each brand's mini-program (default none: no
//                             brand has one):
//                               {"<brand_id>": {"appid": "wx...", "secret_file": "<path>"}, ...}
//                             each secret in a file of its own (a mounted secret; surrounding
//                             whitespace ignored), a relative path read from the JSON file's
//                             folder.
// INVALID_ARGUMENT naming the variable (and the brand) for anything malformed or unreadable.
absl::StatusOr<WechatPlatformConfig> LoadWechatPlatformConfig();
// The LC_WECHAT_APPS document `json_text`, relative secret files read from `base_dir`.
// INVALID_ARGUMENT naming the brand and field.
absl::StatusOr<std::map<std::string, WechatAppConfig>> ParseWechatApps(absl::string_view json_text,
                                                                       const std::string& base_dir);
// The options of the HTTP client for `config` (timeout, CA bundle, answers up to 4 MiB).
BeastHttpFetcherOptions WechatFetcherOptions(const WechatPlatformConfig& config);

// WeChat's errcode of a Status returned by PlatformClient (set for every refusal WeChat
// answered with one); nullopt for transport failures and malformed answers.
std::optional<int64_t> WechatErrcode(const absl::Status& status);

// WeChat's global codes this client acts on.
inline constexpr int64_t kErrSystemBusy = -1;
inline constexpr int64_t kErrInvalidCredential = 40001;  // a bad access_token (or, at the
                                                         // token API, a bad secret)
inline constexpr int64_t kErrInvalidOpenid = 40003;
inline constexpr int64_t kErrInvalidAccessToken = 40014;
inline constexpr int64_t kErrAccessTokenExpired = 42001;
inline constexpr int64_t kErrUserRefused = 43101;  // subscription message refused or used up
inline constexpr int64_t kErrDailyQuota = 45009;
inline constexpr int64_t kErrTooFrequent = 45011;
// Codes of subscribeMessage.send and wxacode.getUnlimited.
inline constexpr int64_t kErrInvalidTemplateId = 40037;
inline constexpr int64_t kErrInvalidTemplateData = 47003;
inline constexpr int64_t kErrInvalidScene = 40129;
inline constexpr int64_t kErrInvalidPage = 41030;
inline constexpr int64_t kErrAppOpenidMismatch = 43104;

// How a caller of SendSubscribeMessage should treat a Status it returned.
//   kSent        OK.
//   kRefused     a final refusal (IsFinalSubscribeRefusal): never send this message again.
//   kThrottled   IsThrottled: retry only after the limit resets.
//   kTransient   IsTransient: retry with backoff.
//   kFailed      anything else: the request or the configuration is wrong (INVALID_ARGUMENT from
//                this client's own checks, NOT_FOUND brand, INTERNAL credentials ...).
enum class SubscribeOutcome { kSent, kRefused, kThrottled, kTransient, kFailed };
SubscribeOutcome SubscribeOutcomeOf(const absl::Status& status);
// "sent", "refused", "throttled", "transient", "failed": for records and metrics.
absl::string_view SubscribeOutcomeName(SubscribeOutcome outcome);
// WeChat refused the message for good: 43101 (the user refused, or the one-time consent is used
// up), 40003 (invalid openid), 43104 (openid of another app), 40037 (invalid template_id), 47003
// (template data WeChat does not accept), 41030 (invalid page). Sending the same message again
// cannot succeed; 43101 needs a new consent from the user.
bool IsFinalSubscribeRefusal(const absl::Status& status);
// A frequency or quota limit (RESOURCE_EXHAUSTED: 45009, 45011): back off.
bool IsThrottled(const absl::Status& status);
// WeChat busy (-1), a transport failure, a timed-out exchange, a malformed answer (UNAVAILABLE,
// DEADLINE_EXCEEDED): the same request may succeed later.
bool IsTransient(const absl::Status& status);

// msgSecCheck 2.0's verdict (result.suggest).
enum class TextVerdict { kPass, kReview, kRisky };
// msgSecCheck's scene.
enum class TextScene { kProfile = 1, kComment = 2, kForum = 3, kSocialLog = 4 };

struct TextCheck {
  TextVerdict verdict = TextVerdict::kReview;
  int64_t label = 0;     // result.label: 100 normal, 10001 ads, 20001 politics, 20002 porn ...
  std::string trace_id;  // WeChat's id of this check
};

// A subscription message (subscribeMessage.send) to one user, sent on the user's consent for
// `template_id` (a one-time consent allows one message).
struct SubscribeMessage {
  std::string touser;       // the user's openid in the brand's mini-program; required
  std::string template_id;  // required
  // The mini-program page the message opens, a query allowed ("pages/room/index?room=r1");
  // empty: the message opens nothing.
  std::string page;
  // The template's fields: key ("thing1", "time2", "name3" ...) -> value, sent as
  // {"thing1": {"value": "..."}}. At least one, at most 20. Values are non-empty UTF-8 within
  // WeChat's limit for the key's kind, counted in characters: thing 20, number, letter and
  // character_string 32, symbol 5, phone_number 17, car_number 8, name 10 (20 when all ASCII),
  // phrase 5, amount 20, time and date 64; another kind 32.
  std::map<std::string, std::string> data;
  // Which build of the mini-program the message opens: "formal" (also ""), "trial",
  // "developer".
  std::string miniprogram_state;
  // "" (WeChat's default, zh_CN), "zh_CN", "en_US", "zh_HK", "zh_TW".
  std::string lang;
};

struct SubscribeSent {
  std::string msgid;  // WeChat's id of the message ("" when the answer has none)
};

// A mini-program code (wxacode.getUnlimited): scanning it opens `page` with `scene` as the
// launch query's scene.
struct UnlimitedCodeRequest {
  // 1..32 characters: ASCII letters, digits and !#$&'()*+,/:;=?@-._~ (WeChat's set).
  std::string scene;
  // A page of the mini-program without a leading '/' and without a query ("pages/room/index");
  // empty: the home page.
  std::string page;
  // true: WeChat refuses a page the published mini-program does not have (41030).
  bool check_path = true;
  // "release" (also ""), "trial", "develop".
  std::string env_version;
  // Pixels, 280..1280; 0: WeChat's default (430).
  int width = 0;
};

struct MiniProgramCode {
  std::string image;         // the bytes WeChat answered
  std::string content_type;  // "image/jpeg" or "image/png"
};

// Calls api.weixin.qq.com for the configured mini-programs. Thread-safe.
//
// The access_token of each appid comes from the stable-token API (POST /cgi-bin/stable_token,
// normal mode: never force_refresh, which would revoke the token every other replica holds) and
// is cached until less than `refresh_margin` is left of it. One refresh runs at a time per appid:
// callers arriving during it use the old token while it is still valid, and wait for the refresh
// otherwise (they then share its result, failure included). A call answered with an invalid or
// expired token (40001, 40014, 42001) drops that token, gets another (or the one another caller
// just got) and is retried once.
//
// Status codes of Call and the calls built on it:
//   OK                   errcode 0 (or none).
//   INVALID_ARGUMENT     a malformed request, or WeChat's codes for one (40003 invalid openid,
//                        40129, 40169, 40097, 43104, 44002, 47001, 40035, 40037, 47003, 41030).
//   NOT_FOUND            an appid this client has no credentials for.
//   FAILED_PRECONDITION  any other errcode (43101: the user refused or used up the consent;
//                        61010 ...): the caller can act on the code (WechatErrcode).
//   RESOURCE_EXHAUSTED   45009 (daily quota) and 45011 (too frequent): retry only after the
//                        limit resets (45011 in a minute, 45009 the next day).
//   UNAVAILABLE          -1 (WeChat busy: retry with backoff), a transport failure, a non-200
//                        HTTP status, an answer that is not the documented JSON, or a token
//                        refused again right after a refresh.
//   DEADLINE_EXCEEDED    an exchange outlasted the timeout (retryable).
//   INTERNAL             the token API refused the app's credentials (40001, 40013, 40125,
//                        40164 ...): the configuration is wrong.
// Every errcode refusal carries the errcode (WechatErrcode) and names it in the message.
class PlatformClient final {
 public:
  // INVALID_ARGUMENT for a malformed base URL or app (an empty appid or secret; one appid with
  // two secrets). Does not own `fetcher` or `clock`.
  static absl::StatusOr<std::unique_ptr<PlatformClient>> Create(const WechatPlatformConfig& config,
                                                                const HttpFetcher* fetcher,
                                                                const Clock* clock);

  // The brand's appid; NOT_FOUND when the brand has no mini-program configured.
  absl::StatusOr<std::string> AppIdOfBrand(absl::string_view brand_id) const;

  // A valid access_token for `appid`, from the cache or the token API. Codes as above.
  absl::StatusOr<std::string> AccessToken(absl::string_view appid) const;

  // POSTs `body` as JSON to `path` (e.g. "/wxa/msg_sec_check", a query allowed) with the
  // access_token added to the query, and returns WeChat's answer (errcode 0 or none).
  absl::StatusOr<nlohmann::json> Call(absl::string_view appid, absl::string_view path,
                                      const nlohmann::json& body) const;

  // msgSecCheck 2.0 (POST /wxa/msg_sec_check): is `text` by `openid` (who must have opened the
  // mini-program in the last two hours) fit to publish? INVALID_ARGUMENT for an empty or
  // non-UTF-8 text or one over 2500 characters, or an empty openid.
  absl::StatusOr<TextCheck> CheckText(absl::string_view appid, absl::string_view openid,
                                      absl::string_view text,
                                      TextScene scene = TextScene::kComment) const;

  // subscribeMessage.send (POST /cgi-bin/message/subscribe/send) to the brand's mini-program
  // user `message.touser`. Codes as above, with these differences, so that a sender can act on
  // SubscribeOutcomeOf:
  //   INVALID_ARGUMENT     a field of `message` this client refuses before calling WeChat (the
  //                        message names the field, never its value; no errcode), or WeChat's
  //                        40003, 43104, 40037, 47003, 41030 (final, with the errcode).
  //   FAILED_PRECONDITION  43101: the user refused, or the consent is used up (final).
  //   UNAVAILABLE          also an exchange that outlasted the timeout (the message may have
  //                        gone out: a one-time consent makes a second send answer 43101).
  // A refused access_token is renewed and the send retried once, as for Call. Nothing is
  // retried otherwise, and nothing of the message (openid, values) is logged.
  absl::StatusOr<SubscribeSent> SendSubscribeMessage(absl::string_view brand_id,
                                                     const SubscribeMessage& message) const;

  // wxacode.getUnlimited (POST /wxa/getwxacodeunlimit) for the brand's mini-program: the image
  // WeChat draws. WeChat answers the image itself, or a JSON {errcode, errmsg} (with HTTP 200)
  // when it refuses: 40129 (scene), 41030 (page) and 40169 are INVALID_ARGUMENT, 45009
  // RESOURCE_EXHAUSTED, as above. INVALID_ARGUMENT naming the field for a scene, page,
  // env_version or width this client refuses before calling WeChat; UNAVAILABLE also for an
  // exchange that outlasted the timeout and for an answer that is neither an image nor JSON.
  absl::StatusOr<MiniProgramCode> GetUnlimitedCode(absl::string_view brand_id,
                                                   const UnlimitedCodeRequest& request) const;

 private:
  struct App {
    std::string appid;
    std::string secret;
  };
  struct TokenState {
    std::string token;
    absl::Time expires_at = absl::InfinitePast();
    absl::Time refresh_at = absl::InfinitePast();
    bool refreshing = false;
    uint64_t refreshes = 0;   // refreshes finished, to wake the callers waiting for one
    absl::Status last_error;  // of the last refresh
  };
  struct Answer {
    nlohmann::json json;
    int64_t errcode = 0;
    std::string errmsg;
    // An image answer (only when the caller accepts one): its bytes and type; json is null.
    bool is_image = false;
    std::string image;
    std::string content_type;
  };

  PlatformClient(std::string base_url, absl::Duration refresh_margin,
                 std::map<std::string, App> apps, std::map<std::string, std::string> brands,
                 const HttpFetcher* fetcher, const Clock* clock);

  // The token to use; `rejected` (when not empty) is one WeChat just refused.
  absl::StatusOr<std::string> Token(const App& app, absl::string_view rejected) const;
  // One stable-token exchange.
  struct Fetched {
    std::string token;
    absl::Duration expires_in;
  };
  absl::StatusOr<Fetched> FetchToken(const App& app) const;
  // One POST of `body` to `path` with `token`; errcode and errmsg read, not yet judged. With
  // `image_ok`, an answer that is an image is returned as one.
  absl::StatusOr<Answer> Post(const App& app, absl::string_view path, absl::string_view token,
                              const std::string& body, bool image_ok) const;
  // POSTs `payload` to `path` with the app's token, renewing a refused token and retrying once;
  // an errcode other than 0 is returned as the Status documented above.
  absl::StatusOr<Answer> Exchange(const App& app, absl::string_view path,
                                  const std::string& payload, bool image_ok) const;
  // The app of `brand_id`'s mini-program, or NOT_FOUND.
  absl::StatusOr<const App*> AppOfBrand(absl::string_view brand_id) const;
  // `text` without the app's secret and any token (for messages and logs).
  std::string Redact(const App& app, absl::string_view text, absl::string_view token = "") const;
  const App* FindApp(absl::string_view appid) const;

  const std::string base_url_;  // without a trailing '/'
  const absl::Duration refresh_margin_;
  const std::map<std::string, App> apps_;            // by appid; immutable
  const std::map<std::string, std::string> brands_;  // brand_id -> appid; immutable
  const HttpFetcher* fetcher_;
  const Clock* clock_;

  mutable std::mutex mu_;
  mutable std::condition_variable refreshed_;
  // One entry per app, made at construction: references stay valid.
  mutable std::unordered_map<std::string, TokenState> tokens_ ABSL_GUARDED_BY(mu_);
};

}  // namespace livecommerce::common::wechat
