#include "services/room/clients/viewer_activity.h"

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/proto_util.h"
#include "services/common/service_client.h"

namespace livecommerce::room {
namespace {

constexpr int kMaxInFlight = 2000;
constexpr absl::Duration kTimeout = absl::Seconds(5);

}  // namespace

GrpcViewerActivity::GrpcViewerActivity(std::shared_ptr<grpc::ChannelInterface> channel,
                                       const common::PrincipalCodec& codec)
    : stub_(v1::AttributionService::NewStub(channel)), codec_(codec) {}

GrpcViewerActivity::~GrpcViewerActivity() {
  for (int i = 0; i < 200 && in_flight_.load() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool GrpcViewerActivity::Take() {
  if (in_flight_.fetch_add(1) < kMaxInFlight) return true;
  in_flight_.fetch_sub(1);
  return false;
}

void GrpcViewerActivity::Activity(const std::string& brand_id, const std::string& viewer_id,
                                  int64_t room_id, int64_t session_id, v1::ActivityKind kind) {
  if (!Take()) return;
  struct Call {
    std::unique_ptr<grpc::ClientContext> context;
    v1::RecordClientActivityRequest request;
    v1::RecordClientActivityResponse response;
  };
  auto call = std::make_shared<Call>();
  call->context = common::ServiceCallContext(codec_, brand_id, "room", kTimeout);
  call->request.set_viewer_id(viewer_id);
  call->request.set_kind(kind);
  call->request.set_room_id(common::FormatId(room_id));
  call->request.set_session_id(common::FormatId(session_id));
  stub_->async()->RecordClientActivity(call->context.get(), &call->request, &call->response,
                                       [this, call](grpc::Status) { in_flight_.fetch_sub(1); });
}

void GrpcViewerActivity::Joined(const std::string& brand_id, const std::string& viewer_id,
                                int64_t room_id, int64_t session_id,
                                const std::optional<InviteGrant>& invite) {
  if (invite.has_value() && !invite->associate_id.empty() && Take()) {
    // The invite was the associate's: a touch, recorded once per invite.
    struct Call {
      std::unique_ptr<grpc::ClientContext> context;
      v1::RecordTouchRequest request;
      v1::RecordTouchResponse response;
    };
    auto call = std::make_shared<Call>();
    call->context = common::ServiceCallContext(codec_, brand_id, "room", kTimeout);
    call->request.set_viewer_id(viewer_id);
    call->request.set_associate_id(invite->associate_id);
    call->request.set_room_id(common::FormatId(room_id));
    call->request.set_channel(v1::CHANNEL_INVITE);
    call->request.set_source(v1::TOUCH_SOURCE_INVITE);
    call->request.set_touch_key(absl::StrCat("invite:", invite->invite_id));
    stub_->async()->RecordTouch(call->context.get(), &call->request, &call->response,
                                [this, call](grpc::Status) { in_flight_.fetch_sub(1); });
  }
  Activity(brand_id, viewer_id, room_id, session_id, v1::ACTIVITY_KIND_JOINED_LIVESTREAM);
}

void GrpcViewerActivity::Left(const std::string& brand_id, const std::string& viewer_id,
                              int64_t room_id, int64_t session_id) {
  Activity(brand_id, viewer_id, room_id, session_id, v1::ACTIVITY_KIND_LEFT_LIVESTREAM);
}

}  // namespace livecommerce::room
