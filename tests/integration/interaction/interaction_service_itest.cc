// The interaction service over gRPC (in-process server on a free port) against the real Redis and
// MariaDB that scripts/test starts, with a fake room directory for admission and a local HTTP
// server answering as WeChat's content check does.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "livecommerce/events/v1/interaction_events.pb.h"
#include "livecommerce/v1/interaction.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/common/clock.h"
#include "services/common/grpc_server.h"
#include "services/common/http_client.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"
#include "services/common/sql.h"
#include "services/common/wechat/platform_client.h"
#include "services/interaction/api/interaction_service.h"
#include "services/interaction/store/mysql_interaction_store.h"
#include "services/interaction/store/redis_live_store.h"
#include "tests/support/test_env.h"
#include "tests/support/test_http_server.h"

namespace livecommerce::interaction {
namespace {

using common::Principal;
using common::Role;
using Json = nlohmann::json;

const absl::Time kT0 = absl::FromUnixSeconds(1800000000);
constexpr char kBrand[] = "maison";
constexpr char kOther[] = "rival";

// Rooms as the room service would answer GetViewerAccess: another brand's room is NOT_FOUND, a
// private room admits only the viewers given.
class FakeRoomAccess final : public RoomAccessDirectory {
 public:
  struct Room {
    std::string brand;
    v1::Visibility visibility = v1::VISIBILITY_PUBLIC;
    v1::RoomStatus status = v1::ROOM_STATUS_LIVE;
    std::string session;
    std::set<std::string> invited;
  };
  std::atomic<int> calls{0};  // questions answered
  void Put(const std::string& id, Room room) {
    std::lock_guard<std::mutex> lock(mu_);
    rooms_[id] = std::move(room);
  }
  absl::StatusOr<RoomAccess> Access(const std::string& brand_id, const std::string& room_id,
                                    const std::string& viewer_id) override {
    ++calls;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rooms_.find(room_id);
    if (it == rooms_.end() || it->second.brand != brand_id) {
      return absl::NotFoundError("room_id: no such room");
    }
    const Room& r = it->second;
    bool invited = !viewer_id.empty() && r.invited.count(viewer_id) > 0;
    return RoomAccess{r.brand,
                      r.visibility,
                      r.status,
                      r.session,
                      r.visibility == v1::VISIBILITY_PUBLIC || invited,
                      invited ? "sa-7" : ""};
  }

 private:
  std::mutex mu_;
  std::map<std::string, Room> rooms_;
};

// WeChat's token and msgSecCheck APIs: the verdict follows the text ("risky" / "review" inside
// it), or every check answers `check_errcode` when it is set.
class FakeWechat {
 public:
  FakeWechat() : server_([this](const testing::TestHttpServer::Request& r) { return Handle(r); }) {}
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
  std::atomic<int> check_errcode{0};
  std::atomic<int> checks{0};

 private:
  std::optional<testing::TestHttpServer::Response> Handle(
      const testing::TestHttpServer::Request& request) {
    namespace http = boost::beast::http;
    std::string target(request.target());
    if (target.rfind("/cgi-bin/stable_token", 0) == 0) {
      return testing::TestAnswer(http::status::ok,
                                 Json{{"access_token", "tok-1"}, {"expires_in", 7200}}.dump(),
                                 "application/json");
    }
    if (target.rfind("/wxa/msg_sec_check", 0) == 0) {
      ++checks;
      if (check_errcode != 0) {
        return testing::TestAnswer(
            http::status::ok, Json{{"errcode", check_errcode.load()}, {"errmsg", "busy"}}.dump(),
            "application/json");
      }
      Json body = Json::parse(request.body(), nullptr, false);
      std::string content = body.is_object() ? body.value("content", "") : "";
      std::string suggest = content.find("risky") != std::string::npos    ? "risky"
                            : content.find("review") != std::string::npos ? "review"
                                                                          : "pass";
      return testing::TestAnswer(
          http::status::ok,
          Json{{"errcode", 0},
               {"errmsg", "ok"},
               {"trace_id", "t-1"},
               {"result", {{"suggest", suggest}, {"label", suggest == "pass" ? 100 : 20001}}},
               {"detail", Json::array()}}
              .dump(),
          "application/json");
    }
    return testing::TestAnswer(http::status::not_found, "{}", "application/json");
  }
  testing::TestHttpServer server_;
};

// The Redis store, whose appends to the stream can be made to fail (Redis lost mid-call).
class FlakyLiveStore final : public LiveStore {
 public:
  explicit FlakyLiveStore(LiveStore& real) : real_(real) {}
  std::atomic<int> failing_appends{0};
  absl::StatusOr<RateVerdict> TakeCommentSlot(int64_t room_id, const std::string& author,
                                              absl::Duration min_interval, int room_per_second,
                                              absl::Time now) override {
    return real_.TakeCommentSlot(room_id, author, min_interval, room_per_second, now);
  }
  absl::StatusOr<std::string> Append(int64_t room_id, const std::string& json,
                                     int max_len) override {
    if (failing_appends > 0) {
      --failing_appends;
      return absl::UnavailableError("redis: connection reset");
    }
    return real_.Append(room_id, json, max_len);
  }
  absl::StatusOr<LikeOutcome> AddLikes(int64_t room_id, int64_t session_id,
                                       const std::string& viewer, const std::string& batch_id,
                                       int64_t count, absl::Duration batch_ttl,
                                       int batches_per_second, absl::Time now) override {
    return real_.AddLikes(room_id, session_id, viewer, batch_id, count, batch_ttl,
                          batches_per_second, now);
  }
  absl::StatusOr<int64_t> Likes(int64_t room_id, int64_t session_id) override {
    return real_.Likes(room_id, session_id);
  }
  absl::StatusOr<NewLikersPage> NewLikers(int64_t room_id, int64_t session_id,
                                          const std::string& cursor, int count) override {
    return real_.NewLikers(room_id, session_id, cursor, count);
  }
  // Can fail as if the process stopped between recording likers in MySQL and forgetting them
  // in Redis.
  std::atomic<int> failing_forgets{0};
  absl::Status ForgetNewLikers(int64_t room_id, int64_t session_id,
                               const std::vector<std::string>& viewers) override {
    if (failing_forgets > 0) {
      --failing_forgets;
      return absl::UnavailableError("redis: connection reset");
    }
    return real_.ForgetNewLikers(room_id, session_id, viewers);
  }

 private:
  LiveStore& real_;
};

class InteractionServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = testing::ConnectTestRedis();
    mysql_ =
        testing::ConnectTestMysql({"comments", "comment_actions", "room_mutes", "brand_bans",
                                   "brand_moderation", "blocked_words", "announcements",
                                   "session_likes", "session_likers", "interaction_event_outbox"});
    ASSERT_NE(redis_, nullptr);
    ASSERT_NE(mysql_, nullptr);
    rooms_.Put("101", {kBrand, v1::VISIBILITY_PUBLIC, v1::ROOM_STATUS_LIVE, "501", {}});
    rooms_.Put("102", {kBrand, v1::VISIBILITY_PRIVATE, v1::ROOM_STATUS_LIVE, "502", {"o-invited"}});
    rooms_.Put("103", {kBrand, v1::VISIBILITY_PUBLIC, v1::ROOM_STATUS_SCHEDULED, "", {}});
    rooms_.Put("201", {kOther, v1::VISIBILITY_PUBLIC, v1::ROOM_STATUS_LIVE, "601", {}});
    options_.comment_min_interval = absl::ZeroDuration();
    options_.like_batches_per_second = 1000;
  }
  void TearDown() override { Stop(); }

  // Starts the service with `options_`; WeChat checks when `wechat` is given.
  void Start(FakeWechat* wechat = nullptr) {
    outbox_ = std::make_unique<common::EventOutbox>("interaction", "interaction_event_outbox",
                                                    std::vector<std::string>{"report"});
    store_ = std::make_unique<MysqlInteractionStore>(*mysql_, outbox_.get());
    live_ = std::make_unique<RedisLiveStore>(*redis_);
    ASSERT_TRUE(live_->LoadScripts().ok());
    flaky_ = std::make_unique<FlakyLiveStore>(*live_);
    checker_ = std::make_unique<moderation::NoContentChecker>();
    if (wechat != nullptr) {
      common::wechat::WechatPlatformConfig config;
      config.base_url = wechat->url();
      config.apps_by_brand[kBrand] = {"wx5f3a9c0d1e2b4a68", "9f86d081884c7d659a2feaa0c55ad015"};
      fetcher_ = *common::BeastHttpFetcher::Create(common::wechat::WechatFetcherOptions(config));
      auto client = common::wechat::PlatformClient::Create(config, fetcher_.get(), &clock_);
      ASSERT_TRUE(client.ok()) << client.status();
      wechat_ = *std::move(client);
      checker_ = std::make_unique<moderation::WechatContentChecker>(*wechat_);
    }
    service_ = std::make_unique<InteractionServiceImpl>(*store_, *flaky_, *directory_, *checker_,
                                                        clock_, codec_, options_);
    auto server = common::GrpcServer::Start(common::ServerOptions{}, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::InteractionService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }
  void Stop() {
    stub_.reset();
    if (server_) server_->Shutdown();
    server_.reset();
    service_.reset();
  }

  std::unique_ptr<grpc::ClientContext> As(const Principal& p) {
    auto context = std::make_unique<grpc::ClientContext>();
    common::AttachPrincipal(*context, codec_.Encode(p));
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return context;
  }
  static Principal Ops(const std::string& brand = kBrand) {
    return {Role::kOps, brand, "ops-1", kT0 + absl::Hours(24)};
  }
  static Principal Viewer(const std::string& id, const std::string& brand = kBrand) {
    return {Role::kViewer, brand, id, kT0 + absl::Hours(24)};
  }
  static Principal Associate(const std::string& id) {
    return {Role::kAssociate, kBrand, id, kT0 + absl::Hours(24)};
  }

  grpc::Status Post(const Principal& who, const std::string& room, const std::string& client_id,
                    const std::string& text, v1::PostCommentResponse* out = nullptr,
                    const std::string& reply_to = "") {
    v1::PostCommentRequest request;
    request.set_room_id(room);
    request.set_client_id(client_id);
    request.set_text(text);
    request.set_reply_to(reply_to);
    v1::PostCommentResponse response;
    return stub_->PostComment(As(who).get(), request, out != nullptr ? out : &response);
  }

  // The reason of a refusal's message.
  static std::string Reason(const grpc::Status& status) {
    return RefusalReason(status.error_message());
  }

  // Every entry of a room's stream as JSON, in stream order.
  std::vector<Json> StreamOf(int64_t room_id) {
    auto reply = redis_->Command({"XRANGE", ChatStreamKey(room_id), "-", "+"});
    EXPECT_TRUE(reply.ok()) << reply.status();
    std::vector<Json> out;
    if (!reply.ok()) return out;
    for (const common::RedisValue& entry : reply->elements) {
      const common::RedisValue& fields = entry.elements.at(1);
      EXPECT_EQ(fields.elements.at(0).str, "json");
      out.push_back(Json::parse(fields.elements.at(1).str));
    }
    return out;
  }

  int64_t Count(const std::string& query) {
    return *mysql_->Run([&](common::MysqlConnection& c) -> absl::StatusOr<int64_t> {
      return common::Sql(c, query).Scalar().value_or(-1);
    });
  }

  std::vector<v1::Comment> List(const Principal& who, const std::string& room,
                                grpc::Status* status_out = nullptr,
                                const std::string& session = "") {
    std::vector<v1::Comment> all;
    std::string token;
    do {
      v1::ListCommentsRequest request;
      request.set_room_id(room);
      request.set_session_id(session);
      request.set_page_token(token);
      if (who.role != Role::kViewer) request.set_page_size(3);
      v1::ListCommentsResponse response;
      grpc::Status status = stub_->ListComments(As(who).get(), request, &response);
      if (status_out != nullptr) *status_out = status;
      if (!status.ok()) return all;
      all.insert(all.end(), response.comments().begin(), response.comments().end());
      token = response.next_page_token();
    } while (!token.empty());
    return all;
  }

  common::FakeClock clock_{kT0};
  common::PrincipalCodec codec_{"interaction-test-secret-0123456789"};
  InteractionOptions options_;
  FakeRoomAccess rooms_;
  RoomAccessDirectory* directory_ = &rooms_;  // what the service asks (a test may cache it)
  std::unique_ptr<common::RedisPool> redis_;
  std::unique_ptr<common::MysqlPool> mysql_;
  std::unique_ptr<common::EventOutbox> outbox_;
  std::unique_ptr<MysqlInteractionStore> store_;
  std::unique_ptr<RedisLiveStore> live_;
  std::unique_ptr<FlakyLiveStore> flaky_;
  std::unique_ptr<common::BeastHttpFetcher> fetcher_;
  std::unique_ptr<common::wechat::PlatformClient> wechat_;
  std::unique_ptr<moderation::ContentChecker> checker_;
  std::unique_ptr<InteractionServiceImpl> service_;
  std::unique_ptr<common::GrpcServer> server_;
  std::unique_ptr<v1::InteractionService::Stub> stub_;
};

TEST_F(InteractionServiceTest, AResendReturnsTheSameCommentAndStreamsItOnce) {
  Start();
  v1::PostCommentResponse first, again;
  ASSERT_TRUE(Post(Viewer("o-1"), "101", "c-1", "黑色 25cm 还有吗?", &first).ok());
  EXPECT_FALSE(first.duplicate());
  EXPECT_EQ(first.comment().status(), v1::COMMENT_STATUS_DELIVERED);
  EXPECT_EQ(first.comment().session_id(), "501");
  EXPECT_EQ(first.comment().author_role(), v1::AUTHOR_ROLE_VIEWER);
  ASSERT_TRUE(Post(Viewer("o-1"), "101", "c-1", "黑色 25cm 还有吗?", &again).ok());
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.comment().id(), first.comment().id());
  // Another author may use the same client id.
  v1::PostCommentResponse other;
  ASSERT_TRUE(Post(Viewer("o-2"), "101", "c-1", "好看", &other).ok());
  EXPECT_NE(other.comment().id(), first.comment().id());

  std::vector<Json> stream = StreamOf(101);
  ASSERT_EQ(stream.size(), 2u);
  EXPECT_EQ(stream[0]["comment_id"], first.comment().id());
  EXPECT_EQ(stream[0]["text"], "黑色 25cm 还有吗?");
  EXPECT_EQ(stream[0]["badge"], "viewer");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM comments"), 2);
  // Each delivered comment is an event for the report.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM interaction_event_outbox WHERE type = "
                  "'livecommerce.events.v1.CommentPosted'"),
            2);
}

TEST_F(InteractionServiceTest, ACommentStoredWhileRedisFailedIsStreamedByTheResend) {
  Start();
  flaky_->failing_appends = 1;
  grpc::Status s = Post(Viewer("o-1"), "101", "c-1", "first try");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_TRUE(StreamOf(101).empty());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM comments WHERE streamed = 0"), 1);
  v1::PostCommentResponse resent;
  ASSERT_TRUE(Post(Viewer("o-1"), "101", "c-1", "first try", &resent).ok());
  EXPECT_TRUE(resent.duplicate());
  std::vector<Json> stream = StreamOf(101);
  ASSERT_EQ(stream.size(), 1u);
  EXPECT_EQ(stream[0]["comment_id"], resent.comment().id());
  // Once streamed, a further resend appends nothing.
  ASSERT_TRUE(Post(Viewer("o-1"), "101", "c-1", "first try", &resent).ok());
  EXPECT_EQ(StreamOf(101).size(), 1u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM comments WHERE streamed = 1"), 1);
}

TEST_F(InteractionServiceTest, EachRefusalSaysWhy) {
  options_.comment_min_interval = absl::Seconds(60);
  options_.room_comments_per_second = 3;
  options_.max_comment_chars = 10;
  Start();
  grpc::Status s = Post(Viewer("o-1"), "103", "c-1", "hello");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(s), kRoomNotLive);

  s = Post(Viewer("o-stranger"), "102", "c-1", "hello");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Reason(s), kNotInRoom);

  s = Post(Viewer("o-1"), "101", "c-1", "hello, this is long");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Reason(s), kTooLong);

  ASSERT_TRUE(Post(Viewer("o-1"), "101", "c-2", "hello").ok());
  s = Post(Viewer("o-1"), "101", "c-3", "again");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(Reason(s), kTooFast);
  // Staff are not limited by the rate.
  ASSERT_TRUE(Post(Ops(), "101", "h-1", "welcome").ok());
  ASSERT_TRUE(Post(Ops(), "101", "h-2", "welcome 2").ok());

  // The room's cap in one second: o-1 took one slot, o-2 and o-3 the rest, o-4 is refused.
  ASSERT_TRUE(Post(Viewer("o-2"), "101", "c-1", "hi").ok());
  ASSERT_TRUE(Post(Viewer("o-3"), "101", "c-1", "hi").ok());
  s = Post(Viewer("o-4"), "101", "c-1", "hi");
  EXPECT_EQ(Reason(s), kRoomBusy) << s.error_message();
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(Post(Viewer("o-4"), "101", "c-1", "hi").ok());

  v1::MuteViewerRequest mute;
  mute.set_room_id("101");
  mute.set_viewer_id("o-5");
  mute.set_duration_seconds(600);
  mute.set_reason("spam");
  v1::MuteViewerResponse muted;
  ASSERT_TRUE(stub_->MuteViewer(As(Ops()).get(), mute, &muted).ok());
  s = Post(Viewer("o-5"), "101", "c-1", "hi");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Reason(s), kMuted);
  // Past the mute they may speak again.
  clock_.Advance(absl::Seconds(601));
  EXPECT_TRUE(Post(Viewer("o-5"), "101", "c-1", "back").ok());

  v1::BanViewerRequest ban;
  ban.set_viewer_id("o-6");
  ban.set_reason("abuse");
  v1::BanViewerResponse banned;
  ASSERT_TRUE(stub_->BanViewer(As(Ops()).get(), ban, &banned).ok());
  s = Post(Viewer("o-6"), "101", "c-1", "hi");
  EXPECT_EQ(Reason(s), kBanned);
  // A ban is the brand's: the same openid in another brand's room is untouched.
  EXPECT_TRUE(Post(Viewer("o-6", kOther), "201", "c-1", "hi").ok());

  // None of the refused comments were stored or streamed.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM comments WHERE author_id IN ('o-stranger', 'o-6') AND "
                  "brand_id = 'maison'"),
            0);
  for (const Json& e : StreamOf(101)) EXPECT_NE(e.value("author_id", ""), "o-6");
}

TEST_F(InteractionServiceTest, ABlockedWordNeverReachesTheStreamWhateverItsDisguise) {
  Start();
  v1::SetBlockedWordsRequest words;
  words.add_words("微信");
  words.add_words("wx");
  words.add_words("代购");
  v1::SetBlockedWordsResponse set;
  ASSERT_TRUE(stub_->SetBlockedWords(As(Ops()).get(), words, &set).ok());
  EXPECT_EQ(set.version(), 1);
  int n = 0;
  for (const char* text :
       {"加我微信", "加我 微 信", "加我微·信", "加我ＷＸ123", "加我 w.x", "找代 购"}) {
    grpc::Status s = Post(Viewer("o-" + std::to_string(++n)), "101", "c-1", text);
    EXPECT_EQ(Reason(s), kBlockedWord) << text << ": " << s.error_message();
  }
  // Whole Latin words only: "wx" is not in "wxyz".
  ASSERT_TRUE(Post(Viewer("o-ok"), "101", "c-1", "the wxyz bag").ok());
  std::vector<Json> stream = StreamOf(101);
  ASSERT_EQ(stream.size(), 1u);
  EXPECT_EQ(stream[0]["text"], "the wxyz bag");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM comments"), 1);

  // A new list takes effect at once; the old words pass again.
  words.Clear();
  words.add_words("bag");
  ASSERT_TRUE(stub_->SetBlockedWords(As(Ops()).get(), words, &set).ok());
  EXPECT_EQ(set.version(), 2);
  EXPECT_EQ(Reason(Post(Viewer("o-2"), "101", "c-2", "nice BAG")), kBlockedWord);
  EXPECT_TRUE(Post(Viewer("o-3"), "101", "c-3", "加我微信").ok());
  v1::ListBlockedWordsResponse listed;
  ASSERT_TRUE(
      stub_->ListBlockedWords(As(Ops()).get(), v1::ListBlockedWordsRequest(), &listed).ok());
  EXPECT_EQ(listed.words_size(), 1);
  EXPECT_EQ(listed.version(), 2);
  // An unusable word is refused with its index; viewers may not set words.
  words.add_words("  ");
  grpc::Status s = stub_->SetBlockedWords(As(Ops()).get(), words, &set);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(stub_->SetBlockedWords(As(Viewer("o-1")).get(), words, &set).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(InteractionServiceTest, DeleteMuteBanAndAnnouncementAreAuditedAndStreamed) {
  Start();
  v1::PostCommentResponse posted;
  ASSERT_TRUE(Post(Viewer("o-1"), "101", "c-1", "rude words", &posted).ok());
  ASSERT_TRUE(Post(Viewer("o-2"), "101", "c-1", "lovely").ok());

  v1::DeleteCommentRequest del;
  del.set_comment_id(posted.comment().id());
  del.set_reason("insulting");
  v1::DeleteCommentResponse deleted;
  ASSERT_TRUE(stub_->DeleteComment(As(Ops()).get(), del, &deleted).ok());
  EXPECT_EQ(deleted.comment().status(), v1::COMMENT_STATUS_DELETED);
  // Twice is refused; viewers and associates may not delete.
  EXPECT_EQ(stub_->DeleteComment(As(Ops()).get(), del, &deleted).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(stub_->DeleteComment(As(Associate("sa-1")).get(), del, &deleted).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  v1::MuteViewerRequest mute;
  mute.set_room_id("101");
  mute.set_viewer_id("o-1");
  mute.set_duration_seconds(300);
  mute.set_reason("repeat");
  v1::MuteViewerResponse muted;
  ASSERT_TRUE(stub_->MuteViewer(As(Ops()).get(), mute, &muted).ok());
  EXPECT_EQ(common::FromTimestamp(muted.muted_until()), kT0 + absl::Seconds(300));

  v1::BanViewerRequest ban;
  ban.set_viewer_id("o-9");
  ban.set_reason("fraud");
  common::ToTimestamp(kT0 + absl::Hours(48), ban.mutable_until());
  v1::BanViewerResponse banned;
  ASSERT_TRUE(stub_->BanViewer(As(Ops()).get(), ban, &banned).ok());

  v1::SetAnnouncementRequest announce;
  announce.set_room_id("101");
  announce.set_text("Free engraving tonight");
  v1::SetAnnouncementResponse announced;
  ASSERT_TRUE(stub_->SetAnnouncement(As(Ops()).get(), announce, &announced).ok());

  std::vector<Json> stream = StreamOf(101);
  ASSERT_EQ(stream.size(), 5u);
  EXPECT_EQ(stream[0]["type"], "comment");
  EXPECT_EQ(stream[1]["type"], "comment");
  EXPECT_EQ(stream[2]["type"], "comment_deleted");
  EXPECT_EQ(stream[2]["comment_id"], posted.comment().id());
  EXPECT_EQ(stream[3]["type"], "viewer_muted");
  EXPECT_EQ(stream[3]["viewer_id"], "o-1");
  EXPECT_EQ(stream[4]["type"], "announcement");
  EXPECT_EQ(stream[4]["text"], "Free engraving tonight");

  EXPECT_EQ(Count("SELECT COUNT(*) FROM comment_actions WHERE actor_id = 'ops-1' AND "
                  "actor_role = 'ops' AND brand_id = 'maison'"),
            4);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM comment_actions WHERE action = 'delete' AND target = '" +
                  posted.comment().id() + "' AND reason = 'insulting'"),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM comment_actions WHERE action = 'mute' AND target = "
                  "'o-1' AND reason = 'repeat' AND room_id = 101"),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM comment_actions WHERE action = 'ban' AND target = "
                  "'o-9' AND reason = 'fraud'"),
            1);

  // The viewer's recent list no longer has it; ops' history shows it deleted.
  std::vector<v1::Comment> recent = List(Viewer("o-3"), "101");
  ASSERT_EQ(recent.size(), 1u);
  EXPECT_EQ(recent[0].text(), "lovely");
  std::vector<v1::Comment> history = List(Ops(), "101");
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].status(), v1::COMMENT_STATUS_DELETED);
}

TEST_F(InteractionServiceTest, PrivateRoomsAdmitOnlyTheirInvitees) {
  Start();
  v1::PostCommentResponse posted;
  ASSERT_TRUE(Post(Viewer("o-invited"), "102", "c-1", "is the black one left?", &posted).ok());
  grpc::Status status;
  List(Viewer("o-stranger"), "102", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Reason(status), kNotInRoom);
  EXPECT_EQ(List(Viewer("o-invited"), "102").size(), 1u);
  // The comment's event names the inviting associate (for their alerts).
  EXPECT_EQ(Count("SELECT COUNT(*) FROM comments WHERE invite_associate_id = 'sa-7'"), 1);
  // Likes too.
  v1::AddLikesRequest likes;
  likes.set_room_id("102");
  likes.set_batch_id("b-1");
  likes.set_count(3);
  v1::AddLikesResponse liked;
  EXPECT_EQ(Reason(stub_->AddLikes(As(Viewer("o-stranger")).get(), likes, &liked)), kNotInRoom);
}

TEST_F(InteractionServiceTest, RoomAnswersAreKeptBrieflyAndLikesAskOnlyAboutThePublicRoom) {
  rooms_.Put("104", {kBrand, v1::VISIBILITY_PUBLIC, v1::ROOM_STATUS_LIVE, "504", {"o-guest"}});
  CachedRoomAccessDirectory cached(rooms_, absl::Milliseconds(500), absl::Seconds(30));
  directory_ = &cached;
  Start();
  auto like = [&](const std::string& viewer, const std::string& batch) {
    v1::AddLikesRequest request;
    request.set_room_id("104");
    request.set_batch_id(batch);
    request.set_count(2);
    v1::AddLikesResponse response;
    return stub_->AddLikes(As(Viewer(viewer)).get(), request, &response);
  };
  int before = rooms_.calls;
  for (int i = 0; i < 40; ++i) {
    grpc::Status s = like("o-" + std::to_string(i % 20), "b-" + std::to_string(i));
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  // Twenty viewers, forty batches: one question about the room.
  EXPECT_EQ(rooms_.calls - before, 1);
  // A comment in a public room still records the associate of the viewer's invite, which is
  // kept longer than the room's state: the viewer's next comment asks nothing.
  before = rooms_.calls;
  ASSERT_TRUE(Post(Viewer("o-guest"), "104", "c-1", "the 25 cm one?").ok());
  EXPECT_EQ(rooms_.calls - before, 1);
  absl::SleepFor(absl::Milliseconds(600));  // the room's answer is stale, the viewer's is not
  ASSERT_TRUE(Post(Viewer("o-guest"), "104", "c-2", "in black?").ok());
  EXPECT_EQ(rooms_.calls - before, 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM comments WHERE room_id = 104 AND "
                  "invite_associate_id = 'sa-7'"),
            2);
  // The room ends: within the cache's time its likes are refused.
  rooms_.Put("104", {kBrand, v1::VISIBILITY_PUBLIC, v1::ROOM_STATUS_ENDED, "504", {"o-guest"}});
  absl::SleepFor(absl::Milliseconds(600));
  EXPECT_EQ(Reason(like("o-1", "b-late")), kRoomNotLive);
}

TEST_F(InteractionServiceTest, OneBrandNeverSeesAnothersComments) {
  Start();
  v1::PostCommentResponse posted;
  ASSERT_TRUE(Post(Viewer("o-1"), "101", "c-1", "maison only", &posted).ok());
  grpc::Status status;
  // Another brand's room answers like an unknown one, for viewers and ops.
  List(Viewer("o-1", kOther), "101", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  List(Ops(kOther), "101", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Post(Viewer("o-1", kOther), "101", "c-9", "hello").error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Their own room, asked for this brand's session, holds nothing of it.
  EXPECT_TRUE(List(Ops(kOther), "201", nullptr, "501").empty());
  // Nor can they moderate or reply to it.
  v1::DeleteCommentRequest del;
  del.set_comment_id(posted.comment().id());
  v1::DeleteCommentResponse deleted;
  EXPECT_EQ(stub_->DeleteComment(As(Ops(kOther)).get(), del, &deleted).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(
      Post(Viewer("o-2", kOther), "201", "c-1", "re", nullptr, posted.comment().id()).error_code(),
      grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(StreamOf(201).empty());
}

TEST_F(InteractionServiceTest, StreamEntriesFollowThePostingOrderWithBadgesAndReplies) {
  Start();
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i) {
    v1::PostCommentResponse posted;
    Principal who = i % 3 == 0   ? Ops()
                    : i % 3 == 1 ? Associate("sa-" + std::to_string(i))
                                 : Viewer("o-" + std::to_string(i));
    std::string reply_to = i > 0 ? ids.back() : "";
    ASSERT_TRUE(Post(who, "101", "c-" + std::to_string(i), "message " + std::to_string(i), &posted,
                     reply_to)
                    .ok());
    ids.push_back(posted.comment().id());
  }
  std::vector<Json> stream = StreamOf(101);
  ASSERT_EQ(stream.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(stream[i]["comment_id"], ids[i]);
    EXPECT_EQ(stream[i]["badge"], i % 3 == 0 ? "host" : i % 3 == 1 ? "associate" : "viewer");
    EXPECT_EQ(stream[i]["reply_to"], i > 0 ? ids[i - 1] : "");
  }
  // Ops page through the whole history in the same order.
  std::vector<v1::Comment> history = List(Ops(), "101");
  ASSERT_EQ(history.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(history[i].id(), ids[i]);
  // Concurrent posters: every comment once in the stream, and the stream's order is the one
  // order every gateway reads.
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 5; ++i) {
        EXPECT_TRUE(
            Post(Viewer("p-" + std::to_string(t)), "101", "k-" + std::to_string(i), "burst").ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  stream = StreamOf(101);
  EXPECT_EQ(stream.size(), ids.size() + 40);
  std::set<std::string> seen;
  for (const Json& e : stream) EXPECT_TRUE(seen.insert(e["comment_id"]).second);
}

TEST_F(InteractionServiceTest, LikesAreExactUnderConcurrentBatchesWithResends) {
  Start();
  constexpr int kViewers = 8;
  constexpr int kBatches = 40;
  std::atomic<int64_t> counted{0};
  std::vector<std::thread> threads;
  for (int v = 0; v < kViewers; ++v) {
    threads.emplace_back([&, v] {
      for (int b = 0; b < kBatches; ++b) {
        v1::AddLikesRequest request;
        request.set_room_id("101");
        request.set_batch_id("b-" + std::to_string(b));
        request.set_count(1 + (b + v) % 50);
        // Every third batch is sent twice (a lost acknowledgement).
        for (int send = 0; send < (b % 3 == 0 ? 2 : 1); ++send) {
          v1::AddLikesResponse response;
          grpc::Status s =
              stub_->AddLikes(As(Viewer("o-" + std::to_string(v))).get(), request, &response);
          EXPECT_TRUE(s.ok()) << s.error_message();
          EXPECT_EQ(response.counted(), send == 0);
        }
        counted += 1 + (b + v) % 50;
      }
    });
  }
  for (auto& th : threads) th.join();
  v1::GetLikesRequest get;
  get.set_room_id("101");
  v1::GetLikesResponse likes;
  ASSERT_TRUE(stub_->GetLikes(As(Viewer("o-1")).get(), get, &likes).ok());
  EXPECT_EQ(likes.total(), counted.load());
  EXPECT_EQ(likes.session_id(), "501");
  // Read and flushed: MySQL has the same exact total, and the report gets it.
  EXPECT_EQ(Count("SELECT likes FROM session_likes WHERE session_id = 501"), counted.load());
  ASSERT_TRUE(service_->FlushLikes().ok());
  EXPECT_EQ(Count("SELECT likes FROM session_likes WHERE session_id = 501"), counted.load());
  EXPECT_GE(Count("SELECT COUNT(*) FROM interaction_event_outbox WHERE type = "
                  "'livecommerce.events.v1.LikesCounted'"),
            1);

  // Batch rules: 1..50, and a viewer's batches per second.
  v1::AddLikesRequest bad;
  bad.set_room_id("101");
  bad.set_batch_id("x");
  bad.set_count(51);
  v1::AddLikesResponse response;
  EXPECT_EQ(stub_->AddLikes(As(Viewer("o-1")).get(), bad, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// Sends one batch of `count` likes as `viewer` to room `room`; whether it counted.
bool Like(v1::InteractionService::Stub& stub, std::unique_ptr<grpc::ClientContext> as,
          const std::string& room, const std::string& batch, int count = 1) {
  v1::AddLikesRequest request;
  request.set_room_id(room);
  request.set_batch_id(batch);
  request.set_count(count);
  v1::AddLikesResponse response;
  grpc::Status s = stub.AddLikes(as.get(), request, &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return response.counted();
}

// The ViewerLiked events in the outbox, as (key, viewer, first_liked_at) by key.
std::map<std::string, events::v1::ViewerLiked> LikedEvents(common::MysqlPool& mysql,
                                                           const std::string& brand) {
  std::map<std::string, events::v1::ViewerLiked> out;
  auto read = mysql.Run([&](common::MysqlConnection& c) -> absl::Status {
    common::Sql(c,
                "SELECT event_key, payload FROM interaction_event_outbox WHERE type = "
                "'livecommerce.events.v1.ViewerLiked' AND brand_id = ? ORDER BY id",
                brand)
        .ForEach([&](const common::SqlRow& row) {
          events::v1::ViewerLiked liked;
          EXPECT_TRUE(liked.ParseFromString(row.Bytes("payload")));
          EXPECT_TRUE(out.emplace(row.Str("event_key"), liked).second)
              << row.Str("event_key") << " published twice";
        });
    return absl::OkStatus();
  });
  EXPECT_TRUE(read.ok()) << read;
  return out;
}

// Each viewer who likes a session is published once (ViewerLiked) by the likes flush, however
// many batches they send, resent or not, and however often the flush runs; the session's likers
// are a set in Redis on the room's hash tag.
TEST_F(InteractionServiceTest, EachLikerOfASessionIsPublishedOnce) {
  Start();
  for (int b = 0; b < 3; ++b) {
    for (const char* viewer : {"o-1", "o-2"}) {
      std::string batch = "b-" + std::to_string(b);
      EXPECT_TRUE(Like(*stub_, As(Viewer(viewer)), "101", batch, 2));
      EXPECT_FALSE(Like(*stub_, As(Viewer(viewer)), "101", batch, 2));  // resent
    }
  }
  EXPECT_TRUE(Like(*stub_, As(Viewer("o-1", kOther)), "201", "b-0"));  // another brand's room
  const std::string longest(128, 'v');  // the longest viewer id: its event key is 132 long
  EXPECT_TRUE(Like(*stub_, As(Viewer(longest)), "101", "b-0"));
  ASSERT_TRUE(service_->FlushLikes().ok());
  ASSERT_TRUE(service_->FlushLikes().ok());  // nothing new: nothing published
  std::map<std::string, events::v1::ViewerLiked> liked = LikedEvents(*mysql_, kBrand);
  ASSERT_EQ(liked.size(), 3u);
  EXPECT_EQ(liked["501:" + longest].viewer_id(), longest);
  EXPECT_EQ(liked["501:o-1"].session_id(), "501");
  EXPECT_EQ(liked["501:o-1"].room_id(), "101");
  EXPECT_EQ(liked["501:o-1"].viewer_id(), "o-1");
  EXPECT_EQ(common::FromTimestamp(liked["501:o-1"].first_liked_at()), kT0);
  EXPECT_EQ(liked.count("501:o-2"), 1u);
  EXPECT_EQ(LikedEvents(*mysql_, kOther).count("601:o-1"), 1u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM session_likers WHERE session_id = 501"), 3);
  auto members = redis_->Command({"SMEMBERS", LikersKey(101, 501)});
  ASSERT_TRUE(members.ok()) << members.status();
  EXPECT_EQ(members->elements.size(), 3u);
  auto ttl = redis_->Command({"TTL", LikersKey(101, 501)});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, 6 * 24 * 3600);
  // Nothing waits in Redis once published.
  auto page = live_->NewLikers(101, 501, "", 100);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_TRUE(page->likers.empty());

  // Later: o-1 again (nothing), o-3 for the first time (one more).
  clock_.Advance(absl::Seconds(30));
  EXPECT_TRUE(Like(*stub_, As(Viewer("o-1")), "101", "b-9"));
  EXPECT_TRUE(Like(*stub_, As(Viewer("o-3")), "101", "b-0"));
  ASSERT_TRUE(service_->FlushLikes().ok());
  liked = LikedEvents(*mysql_, kBrand);
  EXPECT_EQ(liked.size(), 4u);
  EXPECT_EQ(common::FromTimestamp(liked["501:o-3"].first_liked_at()), kT0 + absl::Seconds(30));
}

// The likers the flush has not published wait in Redis, not in the process: a flush that dies
// after recording them (before forgetting them) or a restart before any flush loses nobody and
// publishes nobody twice, and two flushes recording the same likers at once publish each once.
TEST_F(InteractionServiceTest, AFlushAfterARestartPublishesNothingTwice) {
  Start();
  EXPECT_TRUE(Like(*stub_, As(Viewer("o-1")), "101", "b-0"));
  EXPECT_TRUE(Like(*stub_, As(Viewer("o-2")), "101", "b-0"));
  flaky_->failing_forgets = 1;
  EXPECT_FALSE(service_->FlushLikes().ok());  // recorded and published, not forgotten
  EXPECT_EQ(LikedEvents(*mysql_, kBrand).size(), 2u);
  EXPECT_TRUE(Like(*stub_, As(Viewer("o-3")), "101", "b-0"));
  // The process stops without flushing, and starts again: what it knew of liked sessions is
  // gone, the new likers are not.
  Stop();
  Start();
  EXPECT_TRUE(Like(*stub_, As(Viewer("o-4")), "101", "b-0"));
  ASSERT_TRUE(service_->FlushLikes().ok());
  std::map<std::string, events::v1::ViewerLiked> liked = LikedEvents(*mysql_, kBrand);
  EXPECT_EQ(liked.size(), 4u);
  for (const char* key : {"501:o-1", "501:o-2", "501:o-3", "501:o-4"}) {
    EXPECT_EQ(liked.count(key), 1u) << key;
  }
  auto page = live_->NewLikers(101, 501, "", 100);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->likers.empty());

  // Two replicas flushing the same likers at once: each new one published by exactly one.
  std::vector<NewLiker> batch;
  for (int i = 0; i < 40; ++i) batch.push_back({"o-x" + std::to_string(i), kT0});
  batch.push_back({"o-1", kT0});  // recorded before
  std::atomic<int> added{0};
  std::vector<std::thread> flushes;
  for (int t = 0; t < 2; ++t) {
    flushes.emplace_back([&] {
      absl::StatusOr<int> n = store_->RecordLikers(kBrand, 101, 501, batch, kT0);
      EXPECT_TRUE(n.ok()) << n.status();
      if (n.ok()) added += *n;
    });
  }
  for (auto& th : flushes) th.join();
  EXPECT_EQ(added.load(), 40);
  EXPECT_EQ(LikedEvents(*mysql_, kBrand).size(), 44u);
}

TEST_F(InteractionServiceTest, AViewerSendsOnlyAFewLikeBatchesASecond) {
  options_.like_batches_per_second = 3;
  Start();
  v1::AddLikesRequest request;
  request.set_room_id("101");
  request.set_count(5);
  v1::AddLikesResponse response;
  for (int b = 0; b < 3; ++b) {
    request.set_batch_id("b-" + std::to_string(b));
    ASSERT_TRUE(stub_->AddLikes(As(Viewer("o-1")).get(), request, &response).ok());
  }
  request.set_batch_id("b-3");
  grpc::Status s = stub_->AddLikes(As(Viewer("o-1")).get(), request, &response);
  EXPECT_EQ(Reason(s), kTooFast);
  // A resend of a counted batch is still answered (not counted), and another viewer is free.
  request.set_batch_id("b-0");
  ASSERT_TRUE(stub_->AddLikes(As(Viewer("o-1")).get(), request, &response).ok());
  EXPECT_FALSE(response.counted());
  EXPECT_EQ(response.total(), 15);
  request.set_batch_id("b-3");
  ASSERT_TRUE(stub_->AddLikes(As(Viewer("o-2")).get(), request, &response).ok());
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(stub_->AddLikes(As(Viewer("o-1")).get(), request, &response).ok());
  EXPECT_EQ(response.total(), 25);
}

TEST_F(InteractionServiceTest, WechatRiskyBlocksReviewHoldsAndUnreachableFollowsTheBrand) {
  FakeWechat wechat;
  Start(&wechat);
  EXPECT_EQ(Reason(Post(Viewer("o-1"), "101", "c-1", "so risky")), kUnsafeContent);
  v1::PostCommentResponse held;
  ASSERT_TRUE(Post(Viewer("o-2"), "101", "c-1", "needs review", &held).ok());
  EXPECT_EQ(held.comment().status(), v1::COMMENT_STATUS_HELD);
  ASSERT_TRUE(Post(Viewer("o-3"), "101", "c-1", "fine").ok());
  // Staff are not checked.
  int checks = wechat.checks.load();
  ASSERT_TRUE(Post(Ops(), "101", "h-1", "risky host line").ok());
  EXPECT_EQ(wechat.checks.load(), checks);
  EXPECT_EQ(StreamOf(101).size(), 2u);
  EXPECT_EQ(List(Viewer("o-4"), "101").size(), 2u);

  v1::ListHeldCommentsRequest list_held;
  list_held.set_room_id("101");
  v1::ListHeldCommentsResponse held_list;
  ASSERT_TRUE(stub_->ListHeldComments(As(Ops()).get(), list_held, &held_list).ok());
  ASSERT_EQ(held_list.comments_size(), 1);
  EXPECT_EQ(held_list.comments(0).id(), held.comment().id());

  v1::ApproveCommentRequest approve;
  approve.set_comment_id(held.comment().id());
  v1::ApproveCommentResponse approved;
  ASSERT_TRUE(stub_->ApproveComment(As(Ops()).get(), approve, &approved).ok());
  EXPECT_EQ(approved.comment().status(), v1::COMMENT_STATUS_DELIVERED);
  std::vector<Json> stream = StreamOf(101);
  ASSERT_EQ(stream.size(), 3u);
  EXPECT_EQ(stream[2]["comment_id"], held.comment().id());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM comment_actions WHERE action = 'approve'"), 1);

  // WeChat busy: held by default, delivered once the brand says so.
  wechat.check_errcode = -1;
  v1::PostCommentResponse unchecked;
  ASSERT_TRUE(Post(Viewer("o-5"), "101", "c-1", "hello", &unchecked).ok());
  EXPECT_EQ(unchecked.comment().status(), v1::COMMENT_STATUS_HELD);
  v1::SetModerationSettingsRequest settings;
  settings.set_hold_when_check_unavailable(false);
  v1::SetModerationSettingsResponse set;
  ASSERT_TRUE(stub_->SetModerationSettings(As(Ops()).get(), settings, &set).ok());
  ASSERT_TRUE(Post(Viewer("o-6"), "101", "c-1", "hello", &unchecked).ok());
  EXPECT_EQ(unchecked.comment().status(), v1::COMMENT_STATUS_DELIVERED);
}

}  // namespace
}  // namespace livecommerce::interaction
