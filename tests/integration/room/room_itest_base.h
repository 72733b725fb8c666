#pragma once

// What the room service's newer integration tests (streams, replays, reservations) share: the
// real Redis and MariaDB, the service served on a loopback port, callers of each role, and the
// calls most tests begin with (a room, going live, ending the session).

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/grpc_server.h"
#include "services/common/http_client.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"
#include "services/common/sql.h"
#include "services/room/api/room_service.h"
#include "services/room/stream/local_provider.h"
#include "tests/support/fake_catalog_directory.h"
#include "tests/support/test_env.h"

namespace livecommerce::room::itest {

inline const absl::Time kT0 = absl::FromUnixSeconds(1800000000);
inline constexpr char kBrand[] = "maison";

class RoomItestBase : public ::testing::Test {
 protected:
  using Principal = common::Principal;
  using Role = common::Role;

  // The server goes before the service it serves (a subclass member, destroyed first).
  void TearDown() override {
    stub_.reset();
    if (server_) server_->Shutdown();
    server_.reset();
  }

  // Serves `service` on a loopback port and points stub_ at it.
  void Serve(RoomServiceImpl& service) {
    auto server = common::GrpcServer::Start(common::ServerOptions{}, {&service});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::RoomService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials()));
  }

  // The local streaming server's provider; nothing listens at its control address, so cutting a
  // push fails and is logged, as when nginx is down.
  static std::unique_ptr<stream::StreamProvider> LocalProvider(const std::string& play_secret) {
    stream::LocalProviderOptions local;
    local.play_secret = play_secret;
    local.control_url = "http://127.0.0.1:9/control";
    auto fetcher = common::BeastHttpFetcher::Create({absl::Seconds(1)});
    EXPECT_TRUE(fetcher.ok()) << fetcher.status();
    if (!fetcher.ok()) return nullptr;
    auto provider = stream::LocalProvider::Create(local, *std::move(fetcher));
    EXPECT_TRUE(provider.ok()) << provider.status();
    return provider.ok() ? *std::move(provider) : nullptr;
  }

  std::unique_ptr<grpc::ClientContext> As(const Principal& p) {
    auto context = std::make_unique<grpc::ClientContext>();
    common::AttachPrincipal(*context, codec_.Encode(p));
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }
  // Callers' principals last a month of the fake clock: tests move it by days.
  Principal Ops(const std::string& brand = kBrand) {
    return {Role::kOps, brand, "ops-1", kT0 + absl::Hours(24 * 30)};
  }
  Principal Viewer(const std::string& id, const std::string& brand = kBrand) {
    return {Role::kViewer, brand, id, kT0 + absl::Hours(24 * 30)};
  }
  Principal Associate(const std::string& id) {
    return {Role::kAssociate, kBrand, id, kT0 + absl::Hours(24 * 30)};
  }
  Principal Service() { return {Role::kService, kBrand, "gateway", kT0 + absl::Hours(24 * 30)}; }

  // A room of the brand titled room_title_, scheduled an hour after kT0.
  v1::Room CreateRoom(v1::Visibility visibility, bool start_on_publish = false) {
    v1::CreateRoomRequest request;
    request.set_brand_id(kBrand);
    request.set_title(room_title_);
    common::ToTimestamp(kT0 + absl::Hours(1), request.mutable_scheduled_start());
    request.set_visibility(visibility);
    request.add_audiences(v1::AUDIENCE_CLIENTS);
    request.set_objective(v1::OBJECTIVE_PURCHASE);
    request.set_format(v1::FORMAT_SALES_DRIVEN);
    request.set_start_on_publish(start_on_publish);
    v1::CreateRoomResponse response;
    grpc::Status status = stub_->CreateRoom(As(Ops()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.room();
  }
  // The session's id; empty (and the test failed) when ops could not go live.
  std::string GoLive(const std::string& room_id) {
    v1::GoLiveRequest request;
    request.set_room_id(room_id);
    v1::GoLiveResponse response;
    grpc::Status status = stub_->GoLive(As(Ops()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.session().id();
  }
  void End(const std::string& room_id) {
    v1::EndSessionRequest request;
    request.set_room_id(room_id);
    v1::EndSessionResponse response;
    grpc::Status status = stub_->EndSession(As(Ops()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  // One number from SQL on the test database; -1 when it cannot be read.
  int64_t Count(const std::string& sql) {
    auto n = mysql_->Run([&](common::MysqlConnection& c) -> absl::StatusOr<int64_t> {
      return common::Sql(c, sql).Scalar().value_or(-1);
    });
    return n.ok() ? *n : -1;
  }

  std::string room_title_ = "Spring preview";
  common::FakeClock clock_{kT0};
  common::PrincipalCodec codec_{"integration-test-secret-0123456789"};
  RoomServiceOptions options_;
  livecommerce::testing::FakeCatalogDirectory catalog_;
  std::unique_ptr<common::RedisPool> redis_;
  std::unique_ptr<common::MysqlPool> mysql_;
  std::unique_ptr<common::GrpcServer> server_;
  std::unique_ptr<v1::RoomService::Stub> stub_;
};

}  // namespace livecommerce::room::itest
