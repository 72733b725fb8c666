// Questions reach the associate (issue 19): the interaction service's CommentPosted events,
// delivered to the attribution service's EventSink over real gRPC and applied against the real
// MariaDB, become question alerts for the client's associate, and for nobody else.
#include "livecommerce/events/v1/events.grpc.pb.h"
#include "livecommerce/events/v1/interaction_events.pb.h"
#include "services/attribution/api/alert_event_sink.h"
#include "services/attribution/domain/questions.h"
#include "services/common/events.h"
#include "tests/integration/attribution/attribution_fixture.h"

namespace livecommerce::attribution {
namespace {

namespace ev = events::v1;

class QuestionAlertsTest : public AttributionServiceTest {
 protected:
  void SetUp() override {
    AttributionServiceTest::SetUp();
    ASSERT_TRUE(mysql_
                    ->Run([](common::MysqlConnection& c) {
                      c.Execute("TRUNCATE TABLE attribution_consumed_events");
                      return absl::OkStatus();
                    })
                    .ok());
    consumer_ =
        std::make_unique<common::EventConsumer>(*mysql_, "attribution_consumed_events", clock_);
    sink_ = std::make_unique<AlertEventSink>(*consumer_, frame_, [this] {
      ++wakes_;
      service_->NotifyAlerts();
    });
    store_->SubscribeInteractionEvents(*consumer_, [this] { sink_->AlertRaised(); });
    sink_server_ = *common::GrpcServer::Start(common::ServerOptions{}, {sink_.get()});
    sink_stub_ = ev::EventSink::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(sink_server_->port()), grpc::InsecureChannelCredentials()));
    alice_ = NewAssociate(NewStore("Qingdao"), "Alice");
    bob_ = NewAssociate(NewStore("Shanghai IFC"), "Bob");
  }

  void TearDown() override { sink_server_.reset(); }

  // A comment as the interaction service publishes it, made a minute after the test's start.
  ev::CommentPosted Comment(const std::string& comment_id, const std::string& author,
                            const std::string& role = "viewer", const std::string& invite = "") {
    ev::CommentPosted c;
    c.set_comment_id(comment_id);
    c.set_room_id("501");
    c.set_session_id("9001");
    c.set_author_id(author);
    c.set_author_role(role);
    c.set_text("Is the 25 cm in black still available?");
    common::ToTimestamp(kStart + absl::Minutes(1), c.mutable_created_at());
    c.set_invite_associate_id(invite);
    return c;
  }

  ev::Event Envelope(int64_t id, const google::protobuf::Message& payload, const std::string& key) {
    ev::Event e;
    e.set_id(id);
    e.set_producer("interaction");
    e.set_type(payload.GetDescriptor()->full_name());
    e.set_brand_id(kBrand);
    e.set_key(key);
    common::ToTimestamp(kStart + absl::Minutes(1), e.mutable_occurred_at());
    e.set_payload(payload.SerializeAsString());
    return e;
  }

  ev::Event Event(int64_t id, const ev::CommentPosted& c) {
    return Envelope(id, c, c.comment_id());
  }

  // Delivers as the interaction service's relay does: one call, a service principal of the
  // events' brand. Expects every event applied.
  void Deliver(const std::vector<ev::Event>& events, const std::string& brand = kBrand) {
    grpc::Status s = DeliverStatus(events, brand);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  grpc::Status DeliverStatus(const std::vector<ev::Event>& events,
                             const std::string& brand = kBrand) {
    ev::DeliverEventsRequest request;
    for (const ev::Event& e : events) *request.add_events() = e;
    ev::DeliverEventsResponse response;
    grpc::Status s = sink_stub_->DeliverEvents(As(Role::kService, "interaction", brand).get(),
                                               request, &response);
    if (s.ok()) {
      EXPECT_EQ(response.applied_ids_size(), request.events_size());
    }
    return s;
  }

  std::vector<v1::Alert> AlertsOf(const std::string& associate) {
    v1::ListAlertsRequest request;
    v1::ListAlertsResponse response;
    grpc::Status s = stub_->ListAlerts(As(Role::kAssociate, associate).get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {response.alerts().begin(), response.alerts().end()};
  }

  int64_t QuestionRows() { return Scalar("SELECT COUNT(*) FROM associate_alerts WHERE kind = 5"); }

  common::HandlerFrame frame_{codec_, clock_};
  std::unique_ptr<common::EventConsumer> consumer_;
  std::unique_ptr<AlertEventSink> sink_;
  std::unique_ptr<common::GrpcServer> sink_server_;
  std::unique_ptr<ev::EventSink::Stub> sink_stub_;
  std::atomic<int> wakes_{0};
  std::string alice_;
  std::string bob_;
};

TEST_F(QuestionAlertsTest, ABoundClientsCommentAsksTheirAssociateOnly) {
  ASSERT_TRUE(Open("viewer-12", NewLink(alice_)).ok());
  // Bob's invite brought the client to this room, but Alice holds the client.
  Deliver({Event(1, Comment("981", "viewer-12", "viewer", bob_))});

  std::vector<v1::Alert> alice = AlertsOf(alice_);
  ASSERT_EQ(alice.size(), 1u);
  const v1::Alert& a = alice[0];
  EXPECT_EQ(a.kind(), v1::ALERT_KIND_QUESTION);
  EXPECT_EQ(a.associate_id(), alice_);
  EXPECT_EQ(a.viewer_id(), "viewer-12");
  EXPECT_EQ(a.room_id(), "501");
  EXPECT_EQ(a.session_id(), "9001");
  EXPECT_EQ(a.comment_id(), "981");
  EXPECT_EQ(a.text(), "Is the 25 cm in black still available?");
  EXPECT_EQ(common::FromTimestamp(a.occurred_at()), kStart + absl::Minutes(1));
  EXPECT_TRUE(AlertsOf(bob_).empty());
  EXPECT_EQ(wakes_.load(), 1);
}

TEST_F(QuestionAlertsTest, AClientNobodyHoldsAsksTheAssociateBehindTheirInvite) {
  Deliver({Event(1, Comment("981", "viewer-30", "viewer", bob_))});
  std::vector<v1::Alert> bob = AlertsOf(bob_);
  ASSERT_EQ(bob.size(), 1u);
  EXPECT_EQ(bob[0].kind(), v1::ALERT_KIND_QUESTION);
  EXPECT_EQ(bob[0].viewer_id(), "viewer-30");
  EXPECT_EQ(bob[0].comment_id(), "981");
  EXPECT_TRUE(AlertsOf(alice_).empty());

  // A client bound only after the comment was made was nobody's then: the invite decides.
  clock_.Advance(absl::Minutes(5));
  ASSERT_TRUE(Open("viewer-31", NewLink(alice_)).ok());
  Deliver({Event(2, Comment("982", "viewer-31", "viewer", bob_))});
  EXPECT_EQ(AlertsOf(bob_).size(), 2u);
  EXPECT_TRUE(AlertsOf(alice_).empty());
}

TEST_F(QuestionAlertsTest, StaffCommentsAndNobodysClientsRaiseNothing) {
  ASSERT_TRUE(Open("viewer-12", NewLink(alice_)).ok());
  // The rival brand's real associate.
  v1::CreateStoreRequest store;
  store.set_name("Rival Beijing");
  v1::CreateStoreResponse rival_store;
  ASSERT_TRUE(stub_->CreateStore(As(Role::kOps, "ops-9", "rival").get(), store, &rival_store).ok());
  v1::CreateAssociateRequest associate;
  associate.set_store_id(rival_store.store().id());
  associate.set_name("Rex");
  v1::CreateAssociateResponse rex;
  ASSERT_TRUE(stub_->CreateAssociate(As(Role::kOps, "ops-9", "rival").get(), associate, &rex).ok());
  // Carol has left the brand.
  std::string carol = NewAssociate(NewStore("Hangzhou"), "Carol");
  v1::UpdateAssociateRequest leave;
  leave.set_associate_id(carol);
  leave.set_status(v1::ASSOCIATE_STATUS_LEFT);
  v1::UpdateAssociateResponse left;
  ASSERT_TRUE(stub_->UpdateAssociate(As(Role::kOps, "ops-1").get(), leave, &left).ok());

  ev::LikesCounted likes;
  likes.set_room_id("501");
  likes.set_session_id("9001");
  likes.set_total(40);
  Deliver({
      // Staff: the host and an associate, even one whose id a client's binding names.
      Event(1, Comment("981", "ops-1", "host")),
      Event(2, Comment("982", alice_, "associate", bob_)),
      Event(3, Comment("983", "viewer-12", "associate")),
      // Clients nobody holds: no invite, an unknown associate, another brand's, one who left, and
      // an invite that is not an id.
      Event(4, Comment("984", "viewer-40")),
      Event(5, Comment("985", "viewer-41", "viewer", "999999")),
      Event(6, Comment("986", "viewer-42", "viewer", rex.associate().id())),
      Event(7, Comment("987", "viewer-43", "viewer", carol)),
      Event(8, Comment("988", "viewer-44", "viewer", "Bob")),
      // Not a comment at all.
      Envelope(9, likes, "9001"),
  });
  EXPECT_EQ(QuestionRows(), 0);
  EXPECT_TRUE(AlertsOf(alice_).empty());
  EXPECT_TRUE(AlertsOf(bob_).empty());
  EXPECT_TRUE(AlertsOf(carol).empty());
  EXPECT_EQ(wakes_.load(), 0);
  EXPECT_EQ(Scalar("SELECT COUNT(*) FROM attribution_consumed_events"), 9);
}

TEST_F(QuestionAlertsTest, ARedeliveredCommentRaisesOneAlert) {
  ASSERT_TRUE(Open("viewer-12", NewLink(alice_)).ok());
  ev::Event e = Event(1, Comment("981", "viewer-12"));
  Deliver({e});
  Deliver({e});     // the relay sending again (its mark lost)
  Deliver({e, e});  // twice in one call
  // The same comment under another event id (published again): still one alert.
  Deliver({Event(2, Comment("981", "viewer-12"))});
  EXPECT_EQ(QuestionRows(), 1);
  EXPECT_EQ(AlertsOf(alice_).size(), 1u);
  EXPECT_EQ(wakes_.load(), 1);

  // Racing deliveries of a new comment, the same event and the comment published again: one
  // alert.
  std::vector<std::thread> racers;
  for (int64_t id : {3, 3, 4, 5}) {
    racers.emplace_back([this, id] {
      grpc::Status s = DeliverStatus({Event(id, Comment("990", "viewer-12"))});
      EXPECT_TRUE(s.ok()) << s.error_message();
    });
  }
  for (std::thread& t : racers) t.join();
  EXPECT_EQ(QuestionRows(), 2);
}

TEST_F(QuestionAlertsTest, AnotherBrandsDeliveryIsRefusedAndChangesNothing) {
  ASSERT_TRUE(Open("viewer-12", NewLink(alice_)).ok());
  grpc::Status s = DeliverStatus({Event(1, Comment("981", "viewer-12"))}, "rival");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  // Nor may anyone but a service deliver.
  ev::DeliverEventsRequest request;
  *request.add_events() = Event(1, Comment("981", "viewer-12"));
  ev::DeliverEventsResponse response;
  s = sink_stub_->DeliverEvents(As(Role::kAssociate, alice_).get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(QuestionRows(), 0);
}

TEST_F(QuestionAlertsTest, LongTextIsCutAndMalformedCommentsAreSkippedWithoutHoldingOthersBack) {
  ASSERT_TRUE(Open("viewer-12", NewLink(alice_)).ok());
  ev::CommentPosted long_one = Comment("981", "viewer-12");
  std::string text;
  for (int i = 0; i < 500; ++i) text += "黑";
  long_one.set_text(text);
  ev::CommentPosted no_id = Comment("", "viewer-12");
  ev::CommentPosted bad_room = Comment("983", "viewer-12");
  bad_room.set_room_id(std::string(80, '5'));
  Deliver({Event(1, no_id), Event(2, bad_room), Event(3, long_one)});
  std::vector<v1::Alert> alerts = AlertsOf(alice_);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].comment_id(), "981");
  EXPECT_EQ(alerts[0].text(), QuestionExcerpt(text));
  EXPECT_TRUE(absl::EndsWith(alerts[0].text(), "…"));
  EXPECT_EQ(Scalar("SELECT CHAR_LENGTH(comment_text) FROM associate_alerts WHERE kind = 5"),
            kQuestionTextMaxChars);
}

TEST_F(QuestionAlertsTest, TheQuestionIsPushedOnTheAssociatesAlertStream) {
  ASSERT_TRUE(Open("viewer-12", NewLink(alice_)).ok());
  ASSERT_TRUE(Open("viewer-13", NewLink(bob_)).ok());
  auto watch = [&](const std::string& associate, grpc::ClientContext& context) {
    common::AttachPrincipal(context, codec_.Encode(Principal{Role::kAssociate, kBrand, associate,
                                                             clock_.Now() + absl::Hours(1)}));
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto reader = stub_->WatchAlerts(&context, v1::WatchAlertsRequest());
    reader->WaitForInitialMetadata();  // the stream is accepted: what comes next is pushed
    return reader;
  };
  grpc::ClientContext alice_context;
  auto alice = watch(alice_, alice_context);
  grpc::ClientContext bob_context;
  auto bob = watch(bob_, bob_context);

  Deliver({Event(1, Comment("981", "viewer-12"))});
  v1::WatchAlertsResponse pushed;
  ASSERT_TRUE(alice->Read(&pushed));
  ASSERT_EQ(pushed.alerts_size(), 1);
  EXPECT_EQ(pushed.alerts(0).kind(), v1::ALERT_KIND_QUESTION);
  EXPECT_EQ(pushed.alerts(0).comment_id(), "981");
  EXPECT_EQ(pushed.alerts(0).text(), "Is the 25 cm in black still available?");

  // Bob's stream gets Bob's client's question, and never Alice's.
  Deliver({Event(2, Comment("982", "viewer-13"))});
  ASSERT_TRUE(bob->Read(&pushed));
  ASSERT_EQ(pushed.alerts_size(), 1);
  EXPECT_EQ(pushed.alerts(0).comment_id(), "982");
  EXPECT_EQ(pushed.alerts(0).viewer_id(), "viewer-13");
  alice_context.TryCancel();
  bob_context.TryCancel();
}

}  // namespace
}  // namespace livecommerce::attribution
