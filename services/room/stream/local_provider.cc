#include "services/room/stream/local_provider.h"

#include <openssl/evp.h>

#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/crypto.h"

namespace livecommerce::room::stream {

using common::HttpFetcher;
using common::HttpFetchRequest;
using common::HttpFetchResponse;
using common::HttpUrl;
using common::ParseFormUrlEncoded;
using common::ParseHttpUrl;
using common::PercentEncode;

namespace {

// Form bodies from nginx are a few hundred bytes; anything far larger is not nginx.
constexpr size_t kMaxCallbackBody = 64 * 1024;

std::string Md5(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_md5(), nullptr) != 1) {
    return std::string();
  }
  return std::string(reinterpret_cast<char*>(digest), size);
}

std::string StripTrailingSlashes(std::string text) {
  while (!text.empty() && text.back() == '/') {
    text.pop_back();
  }
  return text;
}

bool IsAppName(absl::string_view app) { return IsValidStreamName(app); }

// An http(s) base URL without query, its trailing slashes removed.
absl::StatusOr<std::string> HttpBase(absl::string_view variable, const std::string& value) {
  absl::StatusOr<HttpUrl> url = ParseHttpUrl(value);
  if (!url.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(variable, ": ", url.status().message()));
  }
  if (url->target.find('?') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(variable, ": must not have a query"));
  }
  return StripTrailingSlashes(value);
}

// The form fields nginx-rtmp sends that the provider reads; each must appear at most once.
constexpr absl::string_view kReadFields[] = {"call", "app", "name", "clientid", "key", "path"};

struct ParsedForm {
  absl::flat_hash_map<std::string, std::string> fields;

  const std::string* Find(absl::string_view name) const {
    auto it = fields.find(name);
    return it == fields.end() ? nullptr : &it->second;
  }
};

absl::StatusOr<ParsedForm> ParseForm(absl::string_view body) {
  if (body.size() > kMaxCallbackBody) {
    return absl::InvalidArgumentError("body: too large");
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> pairs =
      ParseFormUrlEncoded(body);
  if (!pairs.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("body: ", pairs.status().message()));
  }
  ParsedForm form;
  for (auto& [field_name, value] : *pairs) {
    bool read = false;
    for (absl::string_view known : kReadFields) {
      read = read || field_name == known;
    }
    if (!read) {
      continue;
    }
    if (!form.fields.emplace(field_name, std::move(value)).second) {
      return absl::InvalidArgumentError(absl::StrCat(field_name, ": repeated"));
    }
  }
  return form;
}

absl::StatusOr<std::string> Required(const ParsedForm& form, absl::string_view field) {
  const std::string* value = form.Find(field);
  if (value == nullptr || value->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  }
  return *value;
}

struct RouteInfo {
  absl::string_view route;
  absl::string_view call;
  StreamEventKind kind;
};

constexpr RouteInfo kRoutes[] = {
    {"on_publish", "publish", StreamEventKind::kPublishStarted},
    {"on_publish_done", "publish_done", StreamEventKind::kPublishStopped},
    {"on_record_done", "record_done", StreamEventKind::kRecordingReady},
};

bool IsClientId(absl::string_view id) {
  if (id.empty() || id.size() > 20) {
    return false;
  }
  for (char c : id) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LocalProvider>> LocalProvider::Create(
    LocalProviderOptions options, std::unique_ptr<HttpFetcher> fetcher) {
  if (fetcher == nullptr) {
    return absl::InvalidArgumentError("an HTTP fetcher is required");
  }
  // rtmp://host[:port]/<app>
  constexpr absl::string_view kRtmp = "rtmp://";
  std::string rtmp = StripTrailingSlashes(options.rtmp_url);
  if (!absl::StartsWith(rtmp, kRtmp)) {
    return absl::InvalidArgumentError("LC_STREAM_RTMP_URL: must start with rtmp://");
  }
  absl::string_view rest = absl::string_view(rtmp).substr(kRtmp.size());
  size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  absl::string_view app = slash == absl::string_view::npos ? "" : rest.substr(slash + 1);
  bool authority_ok = !authority.empty();
  for (char c : authority) {
    authority_ok = authority_ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                                    c == '.' || c == '-' || c == ':');
  }
  if (!authority_ok) {
    return absl::InvalidArgumentError("LC_STREAM_RTMP_URL: needs a host[:port]");
  }
  if (!IsAppName(app)) {
    return absl::InvalidArgumentError(
        "LC_STREAM_RTMP_URL: must end in one application name (letters, digits, '_', '-')");
  }
  options.rtmp_url = rtmp;

  absl::StatusOr<std::string> play_base = HttpBase("LC_STREAM_PLAY_BASE", options.play_base);
  if (!play_base.ok()) {
    return play_base.status();
  }
  options.play_base = *std::move(play_base);
  absl::StatusOr<std::string> control = HttpBase("LC_STREAM_CONTROL_URL", options.control_url);
  if (!control.ok()) {
    return control.status();
  }
  options.control_url = *std::move(control);

  if (options.play_secret.empty()) {
    return absl::InvalidArgumentError("LC_STREAM_PLAY_SECRET: required");
  }
  if (options.play_secret.size() < 16) {
    return absl::InvalidArgumentError("LC_STREAM_PLAY_SECRET: must be at least 16 characters");
  }
  for (char c : options.play_secret) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(
          "LC_STREAM_PLAY_SECRET: must be printable ASCII without spaces");
    }
  }
  std::string app_name(app);
  return std::unique_ptr<LocalProvider>(
      new LocalProvider(std::move(options), std::move(app_name), std::move(fetcher)));
}

LocalProvider::LocalProvider(LocalProviderOptions options, std::string app,
                             std::unique_ptr<HttpFetcher> fetcher)
    : options_(std::move(options)), app_(std::move(app)), fetcher_(std::move(fetcher)) {}

PushAddress LocalProvider::Push(const std::string& stream_name, const std::string& push_key,
                                absl::Time expires_at) const {
  PushAddress address;
  address.server = options_.rtmp_url;
  address.stream_key = absl::StrCat(stream_name, "?key=", PercentEncode(push_key));
  address.url = absl::StrCat(options_.rtmp_url, "/", address.stream_key);
  address.expires_at = absl::InfiniteFuture();
  return address;
}

PlayAddresses LocalProvider::Play(const std::string& stream_name, absl::Time expires_at) const {
  const int64_t expires = absl::ToUnixSeconds(expires_at);
  const std::string signed_text =
      absl::StrCat(expires, "/", stream_name, " ", options_.play_secret);
  PlayAddresses addresses;
  addresses.hls =
      absl::StrCat(options_.play_base, "/play/", expires, "/",
                   common::Base64UrlEncode(Md5(signed_text)), "/", stream_name, "/index.m3u8");
  addresses.expires_at = absl::FromUnixSeconds(expires);
  return addresses;
}

PlayAddresses LocalProvider::PlayRecording(const std::string& location,
                                           absl::Time expires_at) const {
  // nginx serves one directory of recordings: only the file name travels, so a location can
  // never reach outside it.
  const size_t slash = location.find_last_of('/');
  std::string file = slash == std::string::npos ? location : location.substr(slash + 1);
  // nginx records FLV, which browsers do not play; the server copies each finished recording
  // into an MP4 of the same name (scripts/remux-recording), and that is what is served.
  if (absl::EndsWith(file, ".flv")) {
    file = absl::StrCat(file.substr(0, file.size() - 4), ".mp4");
  }
  const int64_t expires = absl::ToUnixSeconds(expires_at);
  const std::string signed_text = absl::StrCat(expires, "/", file, " ", options_.play_secret);
  PlayAddresses addresses;
  addresses.hls = absl::StrCat(options_.play_base, "/replay/", expires, "/",
                               common::Base64UrlEncode(Md5(signed_text)), "/", PercentEncode(file));
  addresses.expires_at = absl::FromUnixSeconds(expires);
  return addresses;
}

absl::StatusOr<StreamEvent> LocalProvider::ParseCallback(const CallbackRequest& request,
                                                         absl::Time now) const {
  const RouteInfo* route = nullptr;
  for (const RouteInfo& candidate : kRoutes) {
    if (request.route == candidate.route) {
      route = &candidate;
    }
  }
  if (route == nullptr) {
    return absl::InvalidArgumentError(
        "route: must be on_publish, on_publish_done or on_record_done");
  }
  std::string media_type(request.content_type.substr(0, request.content_type.find(';')));
  if (absl::AsciiStrToLower(absl::StripAsciiWhitespace(media_type)) !=
      "application/x-www-form-urlencoded") {
    return absl::InvalidArgumentError("content_type: must be application/x-www-form-urlencoded");
  }
  absl::StatusOr<ParsedForm> form = ParseForm(request.body);
  if (!form.ok()) {
    return form.status();
  }
  absl::StatusOr<std::string> call = Required(*form, "call");
  if (!call.ok()) {
    return call.status();
  }
  if (*call != route->call) {
    return absl::InvalidArgumentError(
        absl::StrCat("call: must be ", route->call, " on ", route->route));
  }
  absl::StatusOr<std::string> app = Required(*form, "app");
  if (!app.ok()) {
    return app.status();
  }
  if (*app != app_) {
    return absl::InvalidArgumentError(absl::StrCat("app: must be ", app_));
  }
  absl::StatusOr<std::string> name = Required(*form, "name");
  if (!name.ok()) {
    return name.status();
  }
  if (!IsValidStreamName(*name)) {
    return absl::InvalidArgumentError("name: not a valid stream name");
  }

  StreamEvent event;
  event.kind = route->kind;
  event.stream_name = *name;
  event.occurred_at = now;
  if (const std::string* key = form->Find("key"); key != nullptr) {
    if (!IsValidPushKey(*key)) {
      return absl::InvalidArgumentError("key: must be 1 to 256 printable ASCII characters");
    }
    event.push_key = *key;
  }
  const std::string* clientid = form->Find("clientid");
  if (clientid != nullptr && !IsClientId(*clientid)) {
    return absl::InvalidArgumentError("clientid: must be a number");
  }
  if (route->kind == StreamEventKind::kRecordingReady) {
    absl::StatusOr<std::string> path = Required(*form, "path");
    if (!path.ok()) {
      return path.status();
    }
    if ((*path)[0] != '/' || path->size() > 4096 || path->find('\0') != std::string::npos) {
      return absl::InvalidArgumentError("path: must be an absolute file path");
    }
    event.recording = *path;
    event.sequence = clientid != nullptr ? *clientid : "";
    // One file per recording: the path names it, whatever connection wrote it.
    event.dedupe_key = absl::StrCat("local/", route->call, "/", event.stream_name, "/", *path);
    return event;
  }
  if (clientid == nullptr) {
    return absl::InvalidArgumentError("clientid: required");
  }
  event.sequence = *clientid;
  event.dedupe_key =
      absl::StrCat("local/", route->call, "/", event.stream_name, "/", event.sequence);
  return event;
}

CallbackAnswer LocalProvider::Answer(const StreamEvent& event, bool accepted) const {
  // nginx-rtmp drops a push whose on_publish answers anything but 2xx (3xx would rename it);
  // the answers to the other callbacks change nothing.
  if (event.kind == StreamEventKind::kPublishStarted && !accepted) {
    return CallbackAnswer{403, "text/plain", "refused\n"};
  }
  return CallbackAnswer{200, "text/plain", "ok\n"};
}

absl::Status LocalProvider::Cut(const std::string& stream_name) const {
  if (!IsValidStreamName(stream_name)) {
    return absl::InvalidArgumentError("stream_name: not a valid stream name");
  }
  HttpFetchRequest request;
  request.method = "GET";
  request.url = absl::StrCat(options_.control_url, "/drop/publisher?app=", PercentEncode(app_),
                             "&name=", PercentEncode(stream_name));
  absl::StatusOr<HttpFetchResponse> response = fetcher_->Fetch(request);
  if (!response.ok()) {
    return response.status();
  }
  if (response->status == 200 || response->status == 404) {
    return absl::OkStatus();
  }
  if (response->status >= 500) {
    return absl::UnavailableError(
        absl::StrCat("nginx control: drop answered HTTP ", response->status));
  }
  return absl::InternalError(absl::StrCat("nginx control: drop answered HTTP ", response->status));
}

}  // namespace livecommerce::room::stream
