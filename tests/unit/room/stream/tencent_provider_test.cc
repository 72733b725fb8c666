#include "services/room/stream/tencent_provider.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace livecommerce::room::stream {
namespace {

using common::HttpFetcher;
using common::HttpFetchRequest;
using common::HttpFetchResponse;
using Json = nlohmann::json;

constexpr char kCallbackKey[] = "cb-key-0011223344";
const absl::Time kExpiry = absl::FromUnixSeconds(1800000000);

class FakeFetcher final : public HttpFetcher {
 public:
  explicit FakeFetcher(absl::StatusOr<HttpFetchResponse> answer) : answer_(std::move(answer)) {}
  absl::StatusOr<HttpFetchResponse> Fetch(const HttpFetchRequest& request) const override {
    requests_->push_back(request);
    return answer_;
  }
  std::shared_ptr<std::vector<HttpFetchRequest>> requests() const { return requests_; }

 private:
  absl::StatusOr<HttpFetchResponse> answer_;
  std::shared_ptr<std::vector<HttpFetchRequest>> requests_ =
      std::make_shared<std::vector<HttpFetchRequest>>();
};

TencentProviderOptions Options() {
  TencentProviderOptions options;
  options.push_domain = "push.example.com";
  options.play_domain = "play.example.com";
  options.push_key = "push-primary-key";
  options.push_key_backup = "push-backup-key";
  options.play_key = "play-primary-key";
  options.callback_key = kCallbackKey;
  options.secret_id = "AKIDexample";
  options.secret_key = "secret-key-example";
  return options;
}

std::unique_ptr<TencentProvider> MakeProvider(
    TencentProviderOptions options = Options(),
    absl::StatusOr<HttpFetchResponse> answer = HttpFetchResponse{200, "{}", {}},
    std::shared_ptr<std::vector<HttpFetchRequest>>* requests = nullptr) {
  auto fetcher = std::make_unique<FakeFetcher>(std::move(answer));
  if (requests != nullptr) {
    *requests = fetcher->requests();
  }
  absl::StatusOr<std::unique_ptr<TencentProvider>> provider = TencentProvider::Create(
      std::move(options), std::move(fetcher),
      std::make_shared<common::FakeClock>(absl::FromUnixSeconds(1703731500)));
  EXPECT_TRUE(provider.ok()) << provider.status();
  return provider.ok() ? *std::move(provider) : nullptr;
}

// `fields` with `t` and a sign made with `key` (TencentCallbackSign is checked against openssl
// below).
std::string Signed(Json fields, int64_t t, absl::string_view key = kCallbackKey) {
  fields["t"] = t;
  fields["sign"] = TencentCallbackSign(key, std::to_string(t));
  return fields.dump();
}

// The documentation's push-started example, re-typed (its sign is masked there, so it is made
// here with the test's key).
Json DocPushStarted() {
  return Json::parse(R"({
    "app": "test.domain.com", "appid": 12345678, "appname": "live",
    "channel_id": "test_stream", "errcode": 0, "errmsg": "ok", "event_time": 1703731478,
    "event_type": 1, "height": 0, "idc_id": 34, "node": "42.81.194.37",
    "sequence": "2210464508206756938", "set_id": 2, "stream_id": "test_stream",
    "stream_param": "stream_param=test", "user_ip": "1.1.1.1", "width": 0})");
}

// Its push-stopped counterpart: same push activity, so the same sequence.
Json DocPushStopped() {
  return Json::parse(R"({
    "app": "test.domain.com", "appid": 12345678, "appname": "live",
    "channel_id": "test_stream", "errcode": 1, "errmsg": "The push client actively stopped the push",
    "event_time": 1703731526, "event_type": 0, "height": 0, "idc_id": 34,
    "node": "42.81.194.37", "push_duration": "47749", "sequence": "2210464508206756938",
    "set_id": 2, "stream_id": "test_stream", "stream_param": "stream_param=test",
    "user_ip": "1.1.1.1", "width": 0})");
}

// The documentation's recording-file example, re-typed.
Json DocRecording() {
  return Json::parse(R"({
    "event_type": 100, "appid": 12345678, "app": "yourapp",
    "callback_ext": "{\"video_codec\":\"h264\",\"resolution\":\"640x480\"}",
    "appname": "yourappname", "stream_id": "stream_test", "channel_id": "stream_test",
    "file_id": "1234567890", "record_file_id": "1234567890", "file_format": "flv",
    "task_id": "1234567890", "start_time": 1545047010, "end_time": 1546337307,
    "start_time_usec": 0, "end_time_usec": 0, "duration": 1290297, "file_size": 5431,
    "stream_param": "txSecret=40f38f69f9ea2f7a0ce5d6afa1cc5b6e&txTime=5C1E5F7F",
    "video_url": "http://1234.vod2.myqcloud.com/xxxx/yyyy/zzzz.flv",
    "media_start_time": 0, "record_bps": 0})");
}

// A push of ours, as Tencent reports it: the push URL's query is in stream_param.
Json OurPushStarted() {
  return Json{
      {"app", "push.example.com"},
      {"appid", 1250000000},
      {"appname", "live"},
      {"channel_id", "s_abc123"},
      {"event_time", 1703731490},
      {"event_type", 1},
      {"sequence", "6074919461718360843"},
      {"stream_id", "s_abc123"},
      {"stream_param", "txSecret=632048213713ceda3b5da40886e56556&txTime=6B49D200&key=Ab-_9z"},
      {"user_ip", "203.0.113.7"}};
}

absl::StatusOr<StreamEvent> Parse(const TencentProvider& provider, std::string body,
                                  absl::Time now = absl::FromUnixSeconds(1703731500)) {
  return provider.ParseCallback(CallbackRequest{"", "application/json", std::move(body)}, now);
}

void ExpectCode(const absl::StatusOr<StreamEvent>& event, absl::StatusCode code,
                absl::string_view prefix) {
  EXPECT_EQ(event.status().code(), code) << event.status();
  EXPECT_TRUE(absl::StartsWith(event.status().message(), prefix)) << event.status();
}

TEST(TencentSigningTest, MatchesHandComputedValues) {
  // printf '%X' 1800000000
  EXPECT_EQ(TencentTxTime(kExpiry), "6B49D200");
  // printf '%s' 'push-primary-keys_abc1236B49D200' | openssl md5
  EXPECT_EQ(TencentTxSecret("push-primary-key", "s_abc123", "6B49D200"),
            "632048213713ceda3b5da40886e56556");
  // printf '%s' 'cb-key-00112233441703732078' | openssl md5
  EXPECT_EQ(TencentCallbackSign(kCallbackKey, "1703732078"), "6555102e3e40ae5cb8381f0d8c046478");
}

TEST(TencentSigningTest, Tc3MatchesTheDocumentedExample) {
  // TencentCloud API signature v3's worked example (CVM DescribeInstances, example credentials).
  Tc3Signature signature = SignTc3(Tc3Input{
      "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "cvm",
      "cvm.tencentcloudapi.com", "application/json; charset=utf-8",
      R"({"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]})",
      1551113065});
  EXPECT_EQ(signature.hashed_payload,
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
  EXPECT_EQ(signature.canonical_request,
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\n"
            "host:cvm.tencentcloudapi.com\n\ncontent-type;host\n"
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
  EXPECT_EQ(signature.string_to_sign,
            "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
            "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
  EXPECT_EQ(signature.signature,
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
  EXPECT_EQ(signature.authorization,
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
            "tc3_request, SignedHeaders=content-type;host, "
            "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
}

TEST(TencentProviderTest, PushIsSignedAndCarriesTheKey) {
  auto provider = MakeProvider();
  PushAddress push = provider->Push("s_abc123", "Ab-_9z", kExpiry + absl::Milliseconds(500));
  EXPECT_EQ(push.url,
            "rtmp://push.example.com/live/s_abc123?txSecret=632048213713ceda3b5da40886e56556"
            "&txTime=6B49D200&key=Ab-_9z");
  EXPECT_EQ(push.server, "rtmp://push.example.com/live/");
  EXPECT_EQ(push.stream_key,
            "s_abc123?txSecret=632048213713ceda3b5da40886e56556&txTime=6B49D200&key=Ab-_9z");
  EXPECT_EQ(push.expires_at, kExpiry);

  // printf '%s' 'push-backup-keys_abc1236B49D200' | openssl md5
  EXPECT_EQ(provider->PushSignedWith(TencentKeySlot::kBackup, "s_abc123", "Ab-_9z", kExpiry).url,
            "rtmp://push.example.com/live/s_abc123?txSecret=0139cf90508a1cbd8be5936c4ba3f26b"
            "&txTime=6B49D200&key=Ab-_9z");
}

TEST(TencentProviderTest, SignsWithTheBackupKeysWhenConfigured) {
  TencentProviderOptions options = Options();
  options.sign_with = TencentKeySlot::kBackup;
  options.play_key_backup = "play-backup-key";
  auto provider = MakeProvider(options);
  EXPECT_TRUE(absl::StrContains(provider->Push("s_abc123", "k", kExpiry).url,
                                "txSecret=0139cf90508a1cbd8be5936c4ba3f26b"));
  EXPECT_EQ(provider->Play("s_abc123", kExpiry).flv,
            provider->PlaySignedWith(TencentKeySlot::kBackup, "s_abc123", kExpiry).flv);
  EXPECT_NE(provider->Play("s_abc123", kExpiry).flv,
            provider->PlaySignedWith(TencentKeySlot::kPrimary, "s_abc123", kExpiry).flv);
}

TEST(TencentProviderTest, PlayOffersFlvHlsAndWebrtcSignedWithThePlayKey) {
  auto provider = MakeProvider();
  PlayAddresses play = provider->Play("s_abc123", kExpiry);
  // printf '%s' 'play-primary-keys_abc1236B49D200' | openssl md5
  const std::string query = "?txSecret=7d978e1e78fae3b6b882463e28c822ac&txTime=6B49D200";
  EXPECT_EQ(play.flv, "https://play.example.com/live/s_abc123.flv" + query);
  EXPECT_EQ(play.hls, "https://play.example.com/live/s_abc123.m3u8" + query);
  EXPECT_EQ(play.webrtc, "webrtc://play.example.com/live/s_abc123" + query);
  EXPECT_EQ(play.expires_at, kExpiry);
}

TEST(TencentProviderTest, PlayRecordingSignsTheVodUrlWithItsDirectory) {
  auto provider = MakeProvider();
  PlayAddresses play = provider->PlayRecording("https://vod.example.com/2026/vod/f0.mp4", kExpiry);
  // printf '%s' 'play-primary-key/2026/vod/6b49d200' | openssl md5
  EXPECT_EQ(play.hls,
            "https://vod.example.com/2026/vod/f0.mp4?t=6b49d200&"
            "sign=2edb0c6adb90893cdf8a84ce9f78a383");
  EXPECT_EQ(play.expires_at, kExpiry);
  // A bare path is taken on the play domain.
  EXPECT_TRUE(absl::StartsWith(provider->PlayRecording("2026/vod/f0.mp4", kExpiry).hls,
                               "https://play.example.com/2026/vod/f0.mp4?t=6b49d200&sign="));
}

TEST(TencentProviderTest, ParsesTheDocumentedPushStartedExample) {
  auto provider = MakeProvider();
  absl::StatusOr<StreamEvent> event = Parse(*provider, Signed(DocPushStarted(), 1703732078));
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->kind, StreamEventKind::kPublishStarted);
  EXPECT_EQ(event->stream_name, "test_stream");
  EXPECT_EQ(event->sequence, "2210464508206756938");
  EXPECT_EQ(event->push_key, "");  // stream_param=test carries no key
  EXPECT_EQ(event->occurred_at, absl::FromUnixSeconds(1703731478));
  EXPECT_EQ(event->dedupe_key, "tencent/1/test_stream/2210464508206756938");
}

TEST(TencentProviderTest, StopSharesItsStartsSequenceButNotItsDedupeKey) {
  auto provider = MakeProvider();
  absl::StatusOr<StreamEvent> start = Parse(*provider, Signed(DocPushStarted(), 1703732078));
  absl::StatusOr<StreamEvent> stop = Parse(*provider, Signed(DocPushStopped(), 1703732126));
  ASSERT_TRUE(start.ok()) << start.status();
  ASSERT_TRUE(stop.ok()) << stop.status();
  EXPECT_EQ(stop->kind, StreamEventKind::kPublishStopped);
  EXPECT_EQ(stop->sequence, start->sequence);
  EXPECT_EQ(stop->occurred_at, absl::FromUnixSeconds(1703731526));
  EXPECT_NE(stop->dedupe_key, start->dedupe_key);
}

TEST(TencentProviderTest, ParsesTheDocumentedRecordingExample) {
  TencentProviderOptions options = Options();
  options.app = "yourappname";
  auto provider = MakeProvider(options);
  absl::StatusOr<StreamEvent> event =
      Parse(*provider, Signed(DocRecording(), 1545030873), absl::FromUnixSeconds(1545030800));
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->kind, StreamEventKind::kRecordingReady);
  EXPECT_EQ(event->stream_name, "stream_test");
  EXPECT_EQ(event->recording, "http://1234.vod2.myqcloud.com/xxxx/yyyy/zzzz.flv");
  EXPECT_EQ(event->recording_seconds, 1290297);
  EXPECT_EQ(event->recording_bytes, 5431);
  EXPECT_EQ(event->occurred_at, absl::FromUnixSeconds(1546337307));
  EXPECT_EQ(event->dedupe_key, "tencent/100/stream_test/1234567890");
  EXPECT_EQ(event->push_key, "");
}

TEST(TencentProviderTest, ExtractsThePushKeyFromStreamParam) {
  auto provider = MakeProvider();
  absl::StatusOr<StreamEvent> event = Parse(*provider, Signed(OurPushStarted(), 1703732090));
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->stream_name, "s_abc123");
  EXPECT_EQ(event->push_key, "Ab-_9z");
  EXPECT_EQ(event->sequence, "6074919461718360843");

  Json escaped = OurPushStarted();
  escaped["stream_param"] = "txTime=6B49D200&key=k%2B%2F%3D";
  event = Parse(*provider, Signed(escaped, 1703732090));
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->push_key, "k+/=");

  // An encoder adding a second key to its URL is not guessed between.
  Json twice = OurPushStarted();
  twice["stream_param"] = "key=Ab-_9z&key=other";
  ExpectCode(Parse(*provider, Signed(twice, 1703732090)), absl::StatusCode::kInvalidArgument,
             "stream_param:");
  Json broken = OurPushStarted();
  broken["stream_param"] = "key=%zz";
  ExpectCode(Parse(*provider, Signed(broken, 1703732090)), absl::StatusCode::kInvalidArgument,
             "stream_param:");
}

TEST(TencentProviderTest, ReplaysHaveTheSameDedupeKey) {
  auto provider = MakeProvider();
  // Tencent retries every minute with the same event; each retry carries its own t and sign.
  absl::StatusOr<StreamEvent> first =
      Parse(*provider, Signed(OurPushStarted(), 1703732090), absl::FromUnixSeconds(1703731500));
  absl::StatusOr<StreamEvent> retry =
      Parse(*provider, Signed(OurPushStarted(), 1703732150), absl::FromUnixSeconds(1703731560));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->dedupe_key, first->dedupe_key);

  Json next_push = OurPushStarted();
  next_push["sequence"] = "6074919461718360844";
  EXPECT_NE(Parse(*provider, Signed(next_push, 1703732090))->dedupe_key, first->dedupe_key);

  Json recording = DocRecording();
  recording["appname"] = "live";
  absl::StatusOr<StreamEvent> file = Parse(*provider, Signed(recording, 1703732090));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(Parse(*provider, Signed(recording, 1703732150))->dedupe_key, file->dedupe_key);
  recording["file_id"] = "1234567891";
  EXPECT_NE(Parse(*provider, Signed(recording, 1703732090))->dedupe_key, file->dedupe_key);
}

TEST(TencentProviderTest, RefusesForgedCallbacks) {
  auto provider = MakeProvider();
  const auto kUnauthenticated = absl::StatusCode::kUnauthenticated;
  ExpectCode(Parse(*provider, Signed(OurPushStarted(), 1703732090, "someone-elses-key")),
             kUnauthenticated, "sign:");

  Json body = Json::parse(Signed(OurPushStarted(), 1703732090));
  std::string sign = body["sign"].get<std::string>();
  sign[0] = sign[0] == '0' ? '1' : '0';
  body["sign"] = sign;
  ExpectCode(Parse(*provider, body.dump()), kUnauthenticated, "sign:");

  // A later t needs its own sign: moving t forward to stretch a capture is refused.
  body = Json::parse(Signed(OurPushStarted(), 1703732090));
  body["t"] = 1703739999;
  ExpectCode(Parse(*provider, body.dump()), kUnauthenticated, "sign:");

  body = OurPushStarted();
  body["t"] = 1703732090;
  ExpectCode(Parse(*provider, body.dump()), kUnauthenticated, "sign:");
  body = OurPushStarted();
  body["sign"] = TencentCallbackSign(kCallbackKey, "1703732090");
  ExpectCode(Parse(*provider, body.dump()), kUnauthenticated, "t:");

  // An event type we ignore is still checked first.
  Json screenshot = OurPushStarted();
  screenshot["event_type"] = 200;
  ExpectCode(Parse(*provider, Signed(screenshot, 1703732090, "someone-elses-key")),
             kUnauthenticated, "sign:");
}

TEST(TencentProviderTest, RefusesStaleCallbacks) {
  auto provider = MakeProvider();
  const std::string body = Signed(OurPushStarted(), 1703732090);
  EXPECT_TRUE(Parse(*provider, body, absl::FromUnixSeconds(1703732090)).ok());
  ExpectCode(Parse(*provider, body, absl::FromUnixSeconds(1703732091)),
             absl::StatusCode::kUnauthenticated, "t: expired");
}

TEST(TencentProviderTest, AcceptsTAsTextAndSignInUpperCase) {
  auto provider = MakeProvider();
  Json body = OurPushStarted();
  body["t"] = "1703732078";
  body["sign"] = "6555102E3E40AE5CB8381F0D8C046478";  // the hand-computed sign, upper case
  EXPECT_TRUE(Parse(*provider, body.dump()).ok());
}

TEST(TencentProviderTest, IgnoresOtherEventTypesAndOtherApps) {
  auto provider = MakeProvider();
  Json screenshot = OurPushStarted();
  screenshot["event_type"] = 200;
  ExpectCode(Parse(*provider, Signed(screenshot, 1703732090)),
             absl::StatusCode::kFailedPrecondition, "ignored");
  Json other_app = OurPushStarted();
  other_app["appname"] = "other";
  ExpectCode(Parse(*provider, Signed(other_app, 1703732090)), absl::StatusCode::kFailedPrecondition,
             "ignored");
}

TEST(TencentProviderTest, RefusesMalformedBodiesNamingTheField) {
  auto provider = MakeProvider();
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  ExpectCode(Parse(*provider, "{\"event_type\": 1,"), kInvalid, "body:");
  ExpectCode(Parse(*provider, "[1, 2]"), kInvalid, "body:");
  ExpectCode(Parse(*provider, ""), kInvalid, "body:");

  auto without = [](Json body, absl::string_view field) {
    body.erase(std::string(field));
    return body;
  };
  ExpectCode(Parse(*provider, Signed(without(OurPushStarted(), "event_type"), 1703732090)),
             kInvalid, "event_type:");
  ExpectCode(Parse(*provider, Signed(without(OurPushStarted(), "stream_id"), 1703732090)), kInvalid,
             "stream_id:");
  ExpectCode(Parse(*provider, Signed(without(OurPushStarted(), "sequence"), 1703732090)), kInvalid,
             "sequence:");
  Json bad_name = OurPushStarted();
  bad_name["stream_id"] = "../s1";
  ExpectCode(Parse(*provider, Signed(bad_name, 1703732090)), kInvalid, "stream_id:");
  Json bad_time = OurPushStarted();
  bad_time["event_time"] = "yesterday";
  ExpectCode(Parse(*provider, Signed(bad_time, 1703732090)), kInvalid, "event_time:");

  Json recording = DocRecording();
  recording["appname"] = "live";
  ExpectCode(Parse(*provider, Signed(without(recording, "video_url"), 1703732090)), kInvalid,
             "video_url:");
  ExpectCode(Parse(*provider,
                   Signed(without(without(recording, "file_id"), "record_file_id"), 1703732090)),
             kInvalid, "file_id:");
  // record_file_id alone names the file.
  EXPECT_EQ(Parse(*provider, Signed(without(recording, "file_id"), 1703732090))->dedupe_key,
            "tencent/100/stream_test/1234567890");
  Json negative = recording;
  negative["duration"] = -5;
  ExpectCode(Parse(*provider, Signed(negative, 1703732090)), kInvalid, "duration:");
  Json not_http = recording;
  not_http["video_url"] = "file:///etc/passwd";
  ExpectCode(Parse(*provider, Signed(not_http, 1703732090)), kInvalid, "video_url:");
}

TEST(TencentProviderTest, AnswersCodeZeroWhetherOrNotTheRoomTookIt) {
  auto provider = MakeProvider();
  StreamEvent event;
  for (bool accepted : {true, false}) {
    CallbackAnswer answer = provider->Answer(event, accepted);
    EXPECT_EQ(answer.http_status, 200);
    EXPECT_EQ(answer.content_type, "application/json");
    EXPECT_EQ(Json::parse(answer.body), Json({{"code", 0}}));
  }
}

TEST(TencentProviderTest, CutCallsDropLiveStreamSigned) {
  std::shared_ptr<std::vector<HttpFetchRequest>> requests;
  TencentProviderOptions options = Options();
  options.region = "ap-shanghai";
  auto provider = MakeProvider(
      options, HttpFetchResponse{200, R"({"Response":{"RequestId":"8e50cdb5"}})", {}}, &requests);
  ASSERT_TRUE(provider->Cut("s_abc123").ok());
  ASSERT_EQ(requests->size(), 1u);
  const HttpFetchRequest& request = (*requests)[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, "https://live.tencentcloudapi.com/");
  EXPECT_EQ(
      Json::parse(request.body),
      Json({{"AppName", "live"}, {"DomainName", "push.example.com"}, {"StreamName", "s_abc123"}}));
  std::map<std::string, std::string> headers(request.headers.begin(), request.headers.end());
  EXPECT_EQ(headers["X-TC-Action"], "DropLiveStream");
  EXPECT_EQ(headers["X-TC-Version"], "2018-08-01");
  EXPECT_EQ(headers["X-TC-Timestamp"], "1703731500");  // the injected clock
  EXPECT_EQ(headers["X-TC-Region"], "ap-shanghai");
  EXPECT_EQ(headers["Host"], "live.tencentcloudapi.com");
  EXPECT_EQ(headers["Content-Type"], "application/json; charset=utf-8");
  EXPECT_EQ(
      headers["Authorization"],
      SignTc3(Tc3Input{"AKIDexample", "secret-key-example", "live", "live.tencentcloudapi.com",
                       "application/json; charset=utf-8", request.body, 1703731500})
          .authorization);
  EXPECT_TRUE(absl::StartsWith(headers["Authorization"],
                               "TC3-HMAC-SHA256 Credential=AKIDexample/2023-12-28/live/"))
      << headers["Authorization"];
}

TEST(TencentProviderTest, CutMapsTencentsAnswers) {
  auto cut = [](absl::StatusOr<HttpFetchResponse> answer) {
    return MakeProvider(Options(), std::move(answer))->Cut("s_abc123");
  };
  auto error = [](absl::string_view code) {
    return HttpFetchResponse{200,
                             absl::StrCat(R"({"Response":{"Error":{"Code":")", code,
                                          R"(","Message":"details"},"RequestId":"ed93f3cb"}})"),
                             {}};
  };
  EXPECT_TRUE(cut(error("FailedOperation.HasNotLivingStream")).ok());
  EXPECT_TRUE(cut(error("InternalError.HasNotLivingStream")).ok());
  absl::Status auth = cut(error("AuthFailure.SignatureFailure"));
  EXPECT_EQ(auth.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StrContains(auth.message(), "AuthFailure.SignatureFailure")) << auth;
  EXPECT_EQ(cut(error("ResourceNotFound.ForbidService")).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(cut(error("InternalError")).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(cut(error("RequestLimitExceeded")).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(cut(HttpFetchResponse{502, "<html>bad gateway</html>", {}}).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(cut(HttpFetchResponse{200, "not json", {}}).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(cut(absl::DeadlineExceededError("slow")).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(MakeProvider()->Cut("bad name").code(), absl::StatusCode::kInvalidArgument);
}

TEST(TencentProviderTest, CreateNamesTheVariableOfAMissingOrBadOption) {
  struct Case {
    std::function<void(TencentProviderOptions&)> change;
    std::string variable;
  };
  std::vector<Case> cases = {
      {[](TencentProviderOptions& o) { o.push_domain = ""; }, "LC_TENCENT_PUSH_DOMAIN"},
      {[](TencentProviderOptions& o) { o.push_domain = "push example"; }, "LC_TENCENT_PUSH_DOMAIN"},
      {[](TencentProviderOptions& o) { o.play_domain = ""; }, "LC_TENCENT_PLAY_DOMAIN"},
      {[](TencentProviderOptions& o) { o.app = "a/b"; }, "LC_TENCENT_APP"},
      {[](TencentProviderOptions& o) { o.push_key = ""; }, "LC_TENCENT_PUSH_KEY"},
      {[](TencentProviderOptions& o) { o.play_key = ""; }, "LC_TENCENT_PLAY_KEY"},
      {[](TencentProviderOptions& o) { o.callback_key = ""; }, "LC_TENCENT_CALLBACK_KEY"},
      {[](TencentProviderOptions& o) { o.secret_id = ""; }, "LC_TENCENT_SECRET_ID"},
      {[](TencentProviderOptions& o) { o.secret_key = ""; }, "LC_TENCENT_SECRET_KEY"},
      {[](TencentProviderOptions& o) { o.api_endpoint = "https://live.tencentcloudapi.com/v3"; },
       "LC_TENCENT_API_ENDPOINT"},
      {[](TencentProviderOptions& o) { o.region = "ap shanghai"; }, "LC_TENCENT_REGION"},
      // Signing with the backup slot needs both backup keys.
      {[](TencentProviderOptions& o) { o.sign_with = TencentKeySlot::kBackup; },
       "LC_TENCENT_PLAY_KEY_BACKUP"},
  };
  for (const Case& c : cases) {
    TencentProviderOptions options = Options();
    c.change(options);
    absl::StatusOr<std::unique_ptr<TencentProvider>> provider =
        TencentProvider::Create(options, std::make_unique<FakeFetcher>(HttpFetchResponse{}),
                                std::make_shared<common::FakeClock>(absl::UnixEpoch()));
    EXPECT_EQ(provider.status().code(), absl::StatusCode::kInvalidArgument) << c.variable;
    EXPECT_TRUE(absl::StartsWith(provider.status().message(), c.variable)) << provider.status();
  }
}

}  // namespace
}  // namespace livecommerce::room::stream
