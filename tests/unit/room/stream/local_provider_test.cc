#include "services/room/stream/local_provider.h"

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace livecommerce::room::stream {
namespace {

using common::HttpFetcher;
using common::HttpFetchRequest;
using common::HttpFetchResponse;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);
constexpr char kSecret[] = "0123456789abcdef-secret";
constexpr char kForm[] = "application/x-www-form-urlencoded";

// Answers every request with `answer` and remembers the requests.
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

LocalProviderOptions Options() {
  LocalProviderOptions options;
  options.play_secret = kSecret;
  return options;
}

std::unique_ptr<LocalProvider> MakeProvider(
    LocalProviderOptions options = Options(),
    absl::StatusOr<HttpFetchResponse> answer = HttpFetchResponse{200, "1", {}},
    std::shared_ptr<std::vector<HttpFetchRequest>>* requests = nullptr) {
  auto fetcher = std::make_unique<FakeFetcher>(std::move(answer));
  if (requests != nullptr) {
    *requests = fetcher->requests();
  }
  absl::StatusOr<std::unique_ptr<LocalProvider>> provider =
      LocalProvider::Create(std::move(options), std::move(fetcher));
  EXPECT_TRUE(provider.ok()) << provider.status();
  return provider.ok() ? *std::move(provider) : nullptr;
}

// What nginx-rtmp posts for `ffmpeg -f flv rtmp://127.0.0.1:1935/live/s_abc123?key=Ab-_9z`: the
// connection's fields, the call's, then the publish URL's query.
std::string PublishBody(absl::string_view call = "publish", absl::string_view clientid = "7",
                        absl::string_view extra = "&key=Ab-_9z") {
  return absl::StrCat(
      "app=live&flashver=FMLE%2F3.0%20%28compatible%3B%20FMSc%2F1.0%29&swfurl=&tcurl=rtmp%3A%2F%2F"
      "127.0.0.1%3A1935%2Flive&pageurl=&addr=127.0.0.1&clientid=",
      clientid, "&call=", call, "&name=s_abc123&type=live", extra);
}

absl::StatusOr<StreamEvent> Parse(const LocalProvider& provider, std::string route,
                                  std::string body) {
  return provider.ParseCallback(CallbackRequest{std::move(route), kForm, std::move(body)}, kNow);
}

void ExpectInvalid(const absl::StatusOr<StreamEvent>& event, absl::string_view field) {
  EXPECT_EQ(event.status().code(), absl::StatusCode::kInvalidArgument) << event.status();
  EXPECT_EQ(event.status().message().substr(0, field.size() + 1), absl::StrCat(field, ":"))
      << event.status();
}

TEST(LocalProviderTest, CreateNamesTheVariableOfABadOption) {
  struct Case {
    std::function<void(LocalProviderOptions&)> change;
    std::string variable;
  };
  std::vector<Case> cases = {
      {[](LocalProviderOptions& o) { o.play_secret = ""; }, "LC_STREAM_PLAY_SECRET"},
      {[](LocalProviderOptions& o) { o.play_secret = "short-secret"; }, "LC_STREAM_PLAY_SECRET"},
      {[](LocalProviderOptions& o) { o.play_secret = "a secret with spaces"; },
       "LC_STREAM_PLAY_SECRET"},
      {[](LocalProviderOptions& o) { o.rtmp_url = "http://127.0.0.1:1935/live"; },
       "LC_STREAM_RTMP_URL"},
      {[](LocalProviderOptions& o) { o.rtmp_url = "rtmp://127.0.0.1:1935"; }, "LC_STREAM_RTMP_URL"},
      {[](LocalProviderOptions& o) { o.rtmp_url = "rtmp://127.0.0.1:1935/live/extra"; },
       "LC_STREAM_RTMP_URL"},
      {[](LocalProviderOptions& o) { o.play_base = "ftp://127.0.0.1"; }, "LC_STREAM_PLAY_BASE"},
      {[](LocalProviderOptions& o) { o.control_url = "http://127.0.0.1/control?x=1"; },
       "LC_STREAM_CONTROL_URL"},
  };
  for (const Case& c : cases) {
    LocalProviderOptions options = Options();
    c.change(options);
    absl::StatusOr<std::unique_ptr<LocalProvider>> provider = LocalProvider::Create(
        options, std::make_unique<FakeFetcher>(HttpFetchResponse{200, "", {}}));
    EXPECT_EQ(provider.status().code(), absl::StatusCode::kInvalidArgument) << c.variable;
    EXPECT_TRUE(absl::StartsWith(provider.status().message(), c.variable)) << provider.status();
    // The secret never appears in a message.
    EXPECT_EQ(provider.status().message().find("short-secret"), std::string::npos);
  }
}

TEST(LocalProviderTest, PushCarriesTheKeyInTheQueryAndNeverExpires) {
  auto provider = MakeProvider();
  PushAddress push = provider->Push("s_abc123", "Ab-_9z", kNow + absl::Hours(1));
  EXPECT_EQ(push.url, "rtmp://127.0.0.1:1935/live/s_abc123?key=Ab-_9z");
  EXPECT_EQ(push.server, "rtmp://127.0.0.1:1935/live");
  EXPECT_EQ(push.stream_key, "s_abc123?key=Ab-_9z");
  EXPECT_EQ(push.expires_at, absl::InfiniteFuture());

  // A key outside the unreserved set is escaped, so nginx hands back the same bytes.
  EXPECT_EQ(provider->Push("s_abc123", "k+/=", kNow).stream_key, "s_abc123?key=k%2B%2F%3D");
}

TEST(LocalProviderTest, PlayIsSignedAsNginxSecureLinkMd5) {
  LocalProviderOptions options = Options();
  options.play_base = "https://media.example.com/";  // the trailing slash is dropped
  auto provider = MakeProvider(options);
  PlayAddresses play = provider->Play("s_abc123", kNow + absl::Milliseconds(900));
  // printf '%s' '1800000000/s_abc123 0123456789abcdef-secret' | openssl md5 -binary |
  //   openssl base64 | tr '+/' '-_' | tr -d '='
  EXPECT_EQ(play.hls,
            "https://media.example.com/play/1800000000/FpYhT_fq6eki8vs_F250SQ/s_abc123/"
            "index.m3u8");
  EXPECT_EQ(play.flv, "");
  EXPECT_EQ(play.webrtc, "");
  EXPECT_EQ(play.expires_at, kNow);  // whole seconds, as signed

  // Another expiry or another secret gives another signature.
  EXPECT_NE(provider->Play("s_abc123", kNow + absl::Seconds(1)).hls, play.hls);
  options.play_secret = "another-secret-of-16";
  EXPECT_NE(MakeProvider(options)->Play("s_abc123", kNow).hls, play.hls);
}

TEST(LocalProviderTest, PlayRecordingSignsOnlyTheFileNameOfItsMp4) {
  auto provider = MakeProvider(Options());
  PlayAddresses play =
      provider->PlayRecording("/var/rec/s_abc123-1700000000.flv", kNow + absl::Milliseconds(900));
  // The server serves the recording's MP4 copy (scripts/remux-recording), so that is signed:
  // printf '%s' '1800000000/s_abc123-1700000000.mp4 0123456789abcdef-secret' | openssl md5
  //   -binary | openssl base64 | tr '+/' '-_' | tr -d '='
  EXPECT_EQ(play.hls, absl::StrCat(Options().play_base,
                                   "/replay/1800000000/3DR7F6hzbuAmIEPTDHR6Hw/"
                                   "s_abc123-1700000000.mp4"));
  // A file ops registered that is already an MP4 keeps its name.
  EXPECT_TRUE(absl::EndsWith(provider->PlayRecording("intro.mp4", kNow).hls, "/intro.mp4"));
  EXPECT_EQ(play.expires_at, kNow);
  // The directory never travels: the same file anywhere is the same address.
  EXPECT_EQ(provider->PlayRecording("s_abc123-1700000000.flv", kNow).hls, play.hls);
  EXPECT_NE(provider->PlayRecording("s_abc123-1700000000.flv", kNow + absl::Seconds(1)).hls,
            play.hls);
}

TEST(LocalProviderTest, ParsesNginxPublish) {
  auto provider = MakeProvider();
  absl::StatusOr<StreamEvent> event = Parse(*provider, "on_publish", PublishBody());
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->kind, StreamEventKind::kPublishStarted);
  EXPECT_EQ(event->stream_name, "s_abc123");
  EXPECT_EQ(event->push_key, "Ab-_9z");
  EXPECT_EQ(event->sequence, "7");
  EXPECT_EQ(event->occurred_at, kNow);
  EXPECT_EQ(event->dedupe_key, "local/publish/s_abc123/7");

  // The same callback again (a replay) has the same dedupe key; another connection does not.
  EXPECT_EQ(Parse(*provider, "on_publish", PublishBody())->dedupe_key, event->dedupe_key);
  EXPECT_NE(Parse(*provider, "on_publish", PublishBody("publish", "8"))->dedupe_key,
            event->dedupe_key);

  // A push without a key parses (the room service refuses it).
  event = Parse(*provider, "on_publish", PublishBody("publish", "7", ""));
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->push_key, "");

  // The content type may carry parameters.
  event = provider->ParseCallback(
      CallbackRequest{"on_publish", "Application/X-WWW-Form-URLEncoded; charset=utf-8",
                      PublishBody()},
      kNow);
  EXPECT_TRUE(event.ok()) << event.status();
}

TEST(LocalProviderTest, DecodesTheKeyAsAFormValue) {
  auto provider = MakeProvider();
  absl::StatusOr<StreamEvent> event =
      Parse(*provider, "on_publish", PublishBody("publish", "7", "&key=k%2B%2F%3D"));
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->push_key, "k+/=");
  // An unescaped '+' is a space, which no key contains.
  ExpectInvalid(Parse(*provider, "on_publish", PublishBody("publish", "7", "&key=k+v")), "key");
  ExpectInvalid(Parse(*provider, "on_publish", PublishBody("publish", "7", "&key=%00abc")), "key");
  ExpectInvalid(Parse(*provider, "on_publish", PublishBody("publish", "7", "&key=%zz")), "body");
}

TEST(LocalProviderTest, RefusesRepeatedFieldsItReads) {
  auto provider = MakeProvider();
  // The encoder's query is appended after nginx's own fields: it must not rename the stream,
  // change the call or present two keys.
  ExpectInvalid(Parse(*provider, "on_publish", PublishBody("publish", "7", "&key=a&name=other")),
                "name");
  ExpectInvalid(Parse(*provider, "on_publish", PublishBody("publish", "7", "&key=a&key=b")), "key");
  ExpectInvalid(
      Parse(*provider, "on_publish", PublishBody("publish", "7", "&key=a&call=publish_done")),
      "call");
  // Fields it does not read may repeat.
  EXPECT_TRUE(
      Parse(*provider, "on_publish", PublishBody("publish", "7", "&key=a&type=x&tcurl=y")).ok());
}

TEST(LocalProviderTest, RefusesMissingOrInconsistentFields) {
  auto provider = MakeProvider();
  ExpectInvalid(Parse(*provider, "on_publish", "app=live&clientid=1&name=s1&key=a"), "call");
  ExpectInvalid(Parse(*provider, "on_publish", "call=publish&clientid=1&name=s1&key=a"), "app");
  ExpectInvalid(Parse(*provider, "on_publish", "call=publish&app=live&clientid=1&key=a"), "name");
  ExpectInvalid(Parse(*provider, "on_publish", "call=publish&app=live&name=&clientid=1"), "name");
  ExpectInvalid(Parse(*provider, "on_publish", "call=publish&app=live&name=s1&key=a"), "clientid");
  ExpectInvalid(Parse(*provider, "on_publish", "call=publish&app=live&name=s1&clientid=x1"),
                "clientid");
  ExpectInvalid(Parse(*provider, "on_publish", PublishBody("publish_done")), "call");
  ExpectInvalid(Parse(*provider, "on_play", PublishBody("play")), "route");
  ExpectInvalid(Parse(*provider, "on_publish", "call=publish&app=other&name=s1&clientid=1"), "app");
  ExpectInvalid(Parse(*provider, "on_publish", "call=publish&app=live&name=..%2Fx&clientid=1"),
                "name");
  ExpectInvalid(provider->ParseCallback(
                    CallbackRequest{"on_publish", "application/json", PublishBody()}, kNow),
                "content_type");
  ExpectInvalid(Parse(*provider, "on_publish", PublishBody() + std::string(70000, 'x')), "body");
}

TEST(LocalProviderTest, PublishDoneSharesItsStartsSequence) {
  auto provider = MakeProvider();
  absl::StatusOr<StreamEvent> start = Parse(*provider, "on_publish", PublishBody());
  absl::StatusOr<StreamEvent> stop =
      Parse(*provider, "on_publish_done", PublishBody("publish_done"));
  ASSERT_TRUE(start.ok()) << start.status();
  ASSERT_TRUE(stop.ok()) << stop.status();
  EXPECT_EQ(stop->kind, StreamEventKind::kPublishStopped);
  EXPECT_EQ(stop->stream_name, "s_abc123");
  EXPECT_EQ(stop->sequence, start->sequence);
  EXPECT_NE(stop->dedupe_key, start->dedupe_key);
}

TEST(LocalProviderTest, ParsesRecordDone) {
  auto provider = MakeProvider();
  const std::string body =
      "app=live&flashver=&swfurl=&tcurl=rtmp%3A%2F%2F127.0.0.1%2Flive&pageurl=&addr=127.0.0.1&"
      "clientid=7&call=record_done&recorder=all&name=s_abc123&path=%2Fvar%2Frec%2Fs_abc123-"
      "1800000000.flv";
  absl::StatusOr<StreamEvent> event = Parse(*provider, "on_record_done", body);
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->kind, StreamEventKind::kRecordingReady);
  EXPECT_EQ(event->stream_name, "s_abc123");
  EXPECT_EQ(event->recording, "/var/rec/s_abc123-1800000000.flv");
  EXPECT_EQ(event->recording_bytes, 0);
  EXPECT_EQ(event->push_key, "");
  EXPECT_EQ(event->dedupe_key, "local/record_done/s_abc123//var/rec/s_abc123-1800000000.flv");

  ExpectInvalid(
      Parse(*provider, "on_record_done", "call=record_done&app=live&name=s_abc123&clientid=7"),
      "path");
  ExpectInvalid(Parse(*provider, "on_record_done",
                      "call=record_done&app=live&name=s_abc123&path=rec%2Fa.flv"),
                "path");
}

TEST(LocalProviderTest, AnswersARefusedPublishWith403) {
  auto provider = MakeProvider();
  StreamEvent event;
  event.kind = StreamEventKind::kPublishStarted;
  EXPECT_EQ(provider->Answer(event, true).http_status, 200);
  EXPECT_EQ(provider->Answer(event, false).http_status, 403);
  event.kind = StreamEventKind::kPublishStopped;
  EXPECT_EQ(provider->Answer(event, false).http_status, 200);
  event.kind = StreamEventKind::kRecordingReady;
  EXPECT_EQ(provider->Answer(event, true).http_status, 200);
}

TEST(LocalProviderTest, CutDropsThePublisherThroughTheControlHandler) {
  std::shared_ptr<std::vector<HttpFetchRequest>> requests;
  auto provider = MakeProvider(Options(), HttpFetchResponse{200, "1", {}}, &requests);
  EXPECT_TRUE(provider->Cut("s_abc123").ok());
  ASSERT_EQ(requests->size(), 1u);
  EXPECT_EQ((*requests)[0].method, "GET");
  EXPECT_EQ((*requests)[0].url,
            "http://127.0.0.1:8088/control/drop/publisher?app=live&name=s_abc123");

  // Nothing to drop is fine; nginx failing is not.
  EXPECT_TRUE(MakeProvider(Options(), HttpFetchResponse{200, "0", {}})->Cut("s1").ok());
  EXPECT_TRUE(MakeProvider(Options(), HttpFetchResponse{404, "", {}})->Cut("s1").ok());
  EXPECT_EQ(MakeProvider(Options(), HttpFetchResponse{502, "", {}})->Cut("s1").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(MakeProvider(Options(), HttpFetchResponse{403, "", {}})->Cut("s1").code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(MakeProvider(Options(), absl::UnavailableError("refused"))->Cut("s1").code(),
            absl::StatusCode::kUnavailable);

  requests->clear();
  EXPECT_EQ(provider->Cut("s1&name=other").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(requests->empty());
}

}  // namespace
}  // namespace livecommerce::room::stream
