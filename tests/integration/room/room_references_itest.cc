// References the room service keeps inside the caller's brand (host associates, invites on behalf
// of an associate, invite filters), and associates issuing their own invites within the quota ops
// set: the real room service and the real attribution service (which owns associates) over gRPC,
// against the real Redis and MariaDB that scripts/test starts.
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "livecommerce/v1/attribution.grpc.pb.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/attribution/api/attribution_service.h"
#include "services/attribution/store/mysql_attribution_store.h"
#include "services/common/clock.h"
#include "services/common/grpc_server.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"
#include "services/room/api/room_service.h"
#include "services/room/clients/associate_directory.h"
#include "services/room/store/mysql_room_store.h"
#include "services/room/store/redis_presence_store.h"
#include "tests/support/fake_catalog_directory.h"
#include "tests/support/test_env.h"

namespace livecommerce::room {
namespace {

using common::Principal;
using common::Role;

const absl::Time kT0 = absl::FromUnixSeconds(1800000000);
constexpr char kBrand[] = "maison";
constexpr char kRival[] = "rival";

// Attribution's view of rooms and products is not what these tests are about.
class NoDirectories final : public attribution::Directories {
 public:
  absl::StatusOr<std::string> HostAssociate(const std::string&, const std::string&) override {
    return std::string();
  }
  absl::StatusOr<std::string> ProductCategory(const std::string&, const std::string&) override {
    return std::string();
  }
};

class RoomReferencesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = testing::ConnectTestRedis();
    mysql_ = testing::ConnectTestMysql(
        {"room_invites", "room_sessions", "rooms", "associates", "attribution_stores"});
    ASSERT_NE(redis_, nullptr);
    ASSERT_NE(mysql_, nullptr);
    attribution_store_ = std::make_unique<attribution::MysqlAttributionStore>(*mysql_);
    attribution_ = std::make_unique<attribution::AttributionServiceImpl>(
        *attribution_store_, no_directories_, clock_, codec_,
        attribution::AttributionServiceOptions{});
    attribution_server_ = *common::GrpcServer::Start(common::ServerOptions{}, {attribution_.get()});
    auto attribution_channel =
        grpc::CreateChannel("127.0.0.1:" + std::to_string(attribution_server_->port()),
                            grpc::InsecureChannelCredentials());
    attribution_stub_ = v1::AttributionService::NewStub(attribution_channel);
    associates_ = std::make_unique<GrpcAssociateDirectory>(attribution_channel, codec_, clock_,
                                                           absl::Seconds(5));
    rooms_ = std::make_unique<MysqlRoomStore>(*mysql_);
    presence_ = std::make_unique<RedisPresenceStore>(*redis_, absl::Seconds(30));
    ASSERT_TRUE(presence_->LoadScripts().ok());
    service_ = std::make_unique<RoomServiceImpl>(*rooms_, *presence_, catalog_, clock_, codec_,
                                                 RoomServiceOptions{}, nullptr, associates_.get());
    server_ = *common::GrpcServer::Start(common::ServerOptions{}, {service_.get()});
    stub_ = v1::RoomService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
    lin_ = CreateAssociate(kBrand, "Lin");
    ann_ = CreateAssociate(kBrand, "Ann");
    rival_ = CreateAssociate(kRival, "Rex");
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    if (attribution_server_) attribution_server_->Shutdown();
  }

  std::unique_ptr<grpc::ClientContext> As(const Principal& p) {
    auto context = std::make_unique<grpc::ClientContext>();
    common::AttachPrincipal(*context, codec_.Encode(p));
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return context;
  }
  Principal Ops(const std::string& brand = kBrand) {
    return {Role::kOps, brand, "ops-1", kT0 + absl::Hours(24)};
  }
  Principal Associate(const std::string& id) {
    return {Role::kAssociate, kBrand, id, kT0 + absl::Hours(24)};
  }

  // A real associate of `brand`, in a store of its own.
  std::string CreateAssociate(const std::string& brand, const std::string& name) {
    v1::CreateStoreRequest store;
    store.set_name(name + "'s store");
    v1::CreateStoreResponse made_store;
    EXPECT_TRUE(attribution_stub_->CreateStore(As(Ops(brand)).get(), store, &made_store).ok());
    v1::CreateAssociateRequest associate;
    associate.set_store_id(made_store.store().id());
    associate.set_name(name);
    v1::CreateAssociateResponse made;
    EXPECT_TRUE(attribution_stub_->CreateAssociate(As(Ops(brand)).get(), associate, &made).ok());
    return made.associate().id();
  }

  v1::CreateRoomRequest RoomRequest() {
    v1::CreateRoomRequest request;
    request.set_brand_id(kBrand);
    request.set_title("Private preview");
    common::ToTimestamp(kT0 + absl::Hours(1), request.mutable_scheduled_start());
    request.set_visibility(v1::VISIBILITY_PRIVATE);
    request.add_audiences(v1::AUDIENCE_CLIENTS);
    request.set_objective(v1::OBJECTIVE_PURCHASE);
    request.set_format(v1::FORMAT_SALES_DRIVEN);
    return request;
  }
  v1::Room CreateRoom(int quota) {
    v1::CreateRoomRequest request = RoomRequest();
    if (quota > 0) {
      request.mutable_associate_invites()->set_enabled(true);
      request.mutable_associate_invites()->set_quota_per_associate(quota);
    }
    v1::CreateRoomResponse response;
    grpc::Status s = stub_->CreateRoom(As(Ops()).get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.room();
  }
  grpc::Status IssueAs(const Principal& who, const std::string& room, int count,
                       const std::string& associate_id = "",
                       v1::IssueInvitesResponse* out = nullptr) {
    v1::IssueInvitesRequest request;
    request.set_room_id(room);
    request.set_cohort("VIP clients");
    request.set_associate_id(associate_id);
    request.set_count(count);
    v1::IssueInvitesResponse response;
    return stub_->IssueInvites(As(who).get(), request, out != nullptr ? out : &response);
  }
  int64_t Count(const std::string& sql) {
    auto n = mysql_->Run([&](common::MysqlConnection& c) -> absl::StatusOr<int64_t> {
      std::unique_ptr<sql::ResultSet> rs(c.Prepare(sql).executeQuery());
      rs->next();
      return rs->getInt64(1);
    });
    return n.ok() ? *n : -1;
  }

  common::FakeClock clock_{kT0};
  common::PrincipalCodec codec_{"integration-test-secret-0123456789"};
  testing::FakeCatalogDirectory catalog_;
  NoDirectories no_directories_;
  std::unique_ptr<common::RedisPool> redis_;
  std::unique_ptr<common::MysqlPool> mysql_;
  std::unique_ptr<attribution::MysqlAttributionStore> attribution_store_;
  std::unique_ptr<attribution::AttributionServiceImpl> attribution_;
  std::unique_ptr<common::GrpcServer> attribution_server_;
  std::unique_ptr<v1::AttributionService::Stub> attribution_stub_;
  std::unique_ptr<GrpcAssociateDirectory> associates_;
  std::unique_ptr<MysqlRoomStore> rooms_;
  std::unique_ptr<RedisPresenceStore> presence_;
  std::unique_ptr<RoomServiceImpl> service_;
  std::unique_ptr<common::GrpcServer> server_;
  std::unique_ptr<v1::RoomService::Stub> stub_;
  std::string lin_, ann_, rival_;
};

// Another brand's real associate is as unknown as none: as a room's host (create and update), as
// the associate invites are issued on behalf of, and as an invite filter. Nothing is written.
TEST_F(RoomReferencesTest, AnotherBrandsAssociateIsUnknown) {
  v1::CreateRoomRequest create = RoomRequest();
  create.set_host_associate_id(rival_);
  v1::CreateRoomResponse created;
  grpc::Status s = stub_->CreateRoom(As(Ops()).get(), create, &created);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "host_associate_id: no such associate");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM rooms"), 0);
  create.set_host_associate_id(lin_);
  ASSERT_TRUE(stub_->CreateRoom(As(Ops()).get(), create, &created).ok());
  const std::string room = created.room().id();

  v1::UpdateRoomRequest update;
  update.set_room_id(room);
  update.set_title("Changed");
  update.set_host_associate_id(rival_);
  v1::UpdateRoomResponse updated;
  s = stub_->UpdateRoom(As(Ops()).get(), update, &updated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "host_associate_id: no such associate");
  v1::GetRoomRequest get;
  get.set_room_id(room);
  v1::GetRoomResponse got;
  ASSERT_TRUE(stub_->GetRoom(As(Ops()).get(), get, &got).ok());
  EXPECT_EQ(got.room().host_associate_id(), lin_);  // unchanged, title too
  EXPECT_EQ(got.room().title(), "Private preview");
  update.set_host_associate_id(ann_);
  ASSERT_TRUE(stub_->UpdateRoom(As(Ops()).get(), update, &updated).ok());
  EXPECT_EQ(updated.room().host_associate_id(), ann_);

  s = IssueAs(Ops(), room, 3, rival_);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "associate_id: no such associate");
  EXPECT_EQ(IssueAs(Ops(), room, 3, "999999").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM room_invites"), 0);
  ASSERT_TRUE(IssueAs(Ops(), room, 2, lin_).ok());

  v1::ListInvitesRequest list;
  list.set_room_id(room);
  list.set_associate_id(rival_);
  v1::ListInvitesResponse listed;
  s = stub_->ListInvites(As(Ops()).get(), list, &listed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "associate_id: no such associate");
  list.set_associate_id(lin_);
  ASSERT_TRUE(stub_->ListInvites(As(Ops()).get(), list, &listed).ok());
  EXPECT_EQ(listed.invites_size(), 2);
}

// Eight associates' calls at once against a quota of 20, three invites each: exactly six pass
// (18 invites), the others are told how many are left, and the count never passes the quota.
TEST_F(RoomReferencesTest, AssociateQuotaHoldsExactlyUnderConcurrency) {
  v1::Room room = CreateRoom(20);
  ASSERT_TRUE(room.associate_invites().enabled());
  EXPECT_EQ(room.associate_invites().quota_per_associate(), 20);
  std::atomic<int> ok{0}, exhausted{0}, other{0};
  std::vector<std::thread> callers;
  std::mutex mu;
  std::vector<std::string> messages;
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&] {
      grpc::Status s = IssueAs(Associate(lin_), room.id(), 3);
      if (s.ok()) {
        ++ok;
      } else if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        ++exhausted;
        std::lock_guard<std::mutex> lock(mu);
        messages.push_back(s.error_message());
      } else {
        ++other;
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(ok.load(), 6);
  EXPECT_EQ(exhausted.load(), 2);
  EXPECT_EQ(other.load(), 0);
  for (const std::string& m : messages) EXPECT_EQ(m, "count: quota of 20 invites reached, 2 left");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM room_invites"), 18);
  // The last two fit; then nothing more does.
  v1::IssueInvitesResponse last;
  ASSERT_TRUE(IssueAs(Associate(lin_), room.id(), 2, "", &last).ok());
  EXPECT_EQ(last.quota().left(), 0);
  EXPECT_EQ(last.quota().issued(), 20);
  for (const v1::Invite& invite : last.invites()) {
    EXPECT_EQ(invite.associate_id(), lin_);  // always on the caller's own behalf
    EXPECT_EQ(invite.issued_by(), lin_);
    EXPECT_FALSE(invite.token().empty());
  }
  EXPECT_EQ(IssueAs(Associate(lin_), room.id(), 1).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Another associate has a quota of their own.
  EXPECT_TRUE(IssueAs(Associate(ann_), room.id(), 20).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM room_invites"), 40);
}

// An associate issues only on their own behalf, only to rooms opened to associates, and lists
// only their own invites (with their quota); ops see every invite.
TEST_F(RoomReferencesTest, AssociatesIssueAndListOnlyTheirOwn) {
  v1::Room closed = CreateRoom(0);
  grpc::Status s = IssueAs(Associate(lin_), closed.id(), 1);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(), "room_id: this room is not open to associates' invites");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM room_invites"), 0);

  v1::Room open = CreateRoom(5);
  s = IssueAs(Associate(lin_), open.id(), 1, ann_);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(),
            "associate_id: an associate issues invites only on their own behalf");
  EXPECT_EQ(IssueAs(Associate(lin_), open.id(), 1, rival_).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM room_invites"), 0);
  ASSERT_TRUE(IssueAs(Associate(lin_), open.id(), 2, lin_).ok());  // naming themselves is fine
  ASSERT_TRUE(IssueAs(Associate(ann_), open.id(), 1).ok());
  ASSERT_TRUE(IssueAs(Ops(), open.id(), 1).ok());
  // Ops on Lin's behalf: Lin's invite, but not from Lin's own quota.
  ASSERT_TRUE(IssueAs(Ops(), open.id(), 1, lin_).ok());

  v1::ListInvitesRequest list;
  list.set_room_id(open.id());
  v1::ListInvitesResponse lins;
  ASSERT_TRUE(stub_->ListInvites(As(Associate(lin_)).get(), list, &lins).ok());
  ASSERT_EQ(lins.invites_size(), 3);
  for (const v1::Invite& invite : lins.invites()) EXPECT_EQ(invite.associate_id(), lin_);
  EXPECT_EQ(lins.quota().quota(), 5);
  EXPECT_EQ(lins.quota().issued(), 2);
  EXPECT_EQ(lins.quota().left(), 3);
  list.set_associate_id(ann_);
  EXPECT_EQ(stub_->ListInvites(As(Associate(lin_)).get(), list, &lins).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  list.clear_associate_id();
  v1::ListInvitesResponse all;
  ASSERT_TRUE(stub_->ListInvites(As(Ops()).get(), list, &all).ok());
  EXPECT_EQ(all.invites_size(), 5);
  EXPECT_FALSE(all.has_quota());
  // Revoking stays with ops.
  v1::RevokeInviteRequest revoke;
  revoke.set_invite_id(all.invites(0).id());
  v1::RevokeInviteResponse revoked;
  EXPECT_EQ(stub_->RevokeInvite(As(Associate(lin_)).get(), revoke, &revoked).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Ops close the room to associates: their issuing stops, their list stays.
  v1::UpdateRoomRequest update;
  update.set_room_id(open.id());
  update.mutable_associate_invites()->set_enabled(false);
  v1::UpdateRoomResponse updated;
  ASSERT_TRUE(stub_->UpdateRoom(As(Ops()).get(), update, &updated).ok());
  EXPECT_FALSE(updated.room().has_associate_invites());
  EXPECT_EQ(IssueAs(Associate(lin_), open.id(), 1).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  update.mutable_associate_invites()->set_enabled(true);
  update.mutable_associate_invites()->set_quota_per_associate(0);
  s = stub_->UpdateRoom(As(Ops()).get(), update, &updated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace livecommerce::room
