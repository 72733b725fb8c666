#include "services/room/clients/viewer_activity.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/proto_util.h"
#include "services/common/service_client.h"

namespace livecommerce::room {
namespace {

constexpr absl::Duration kTimeout = absl::Seconds(5);

}  // namespace

GrpcViewerActivity::GrpcViewerActivity(std::shared_ptr<grpc::ChannelInterface> channel,
                                       const common::PrincipalCodec& codec)
    : stub_(v1::AttributionService::NewStub(channel)), codec_(codec) {}

void GrpcViewerActivity::Activity(const std::string& brand_id, const std::string& viewer_id,
                                  int64_t room_id, int64_t session_id, v1::ActivityKind kind) {
  v1::RecordClientActivityRequest request;
  request.set_viewer_id(viewer_id);
  request.set_kind(kind);
  request.set_room_id(common::FormatId(room_id));
  request.set_session_id(common::FormatId(session_id));
  calls_.Call<v1::RecordClientActivityRequest, v1::RecordClientActivityResponse>(
      common::ServiceCallContext(codec_, brand_id, "room", kTimeout), std::move(request),
      [this](grpc::ClientContext* context, const v1::RecordClientActivityRequest* r,
             v1::RecordClientActivityResponse* response, std::function<void(grpc::Status)> done) {
        stub_->async()->RecordClientActivity(context, r, response, std::move(done));
      });
}

void GrpcViewerActivity::Joined(const std::string& brand_id, const std::string& viewer_id,
                                int64_t room_id, int64_t session_id,
                                const std::optional<InviteGrant>& invite) {
  if (invite.has_value() && !invite->associate_id.empty()) {
    // The invite was the associate's: a touch, recorded once per invite. The join is told after
    // it, so that the viewer is already the associate's client when it arrives (the associate's
    // "joined" alert and "watching now" go by that binding).
    v1::RecordTouchRequest request;
    request.set_viewer_id(viewer_id);
    request.set_associate_id(invite->associate_id);
    request.set_room_id(common::FormatId(room_id));
    request.set_channel(v1::CHANNEL_INVITE);
    request.set_source(v1::TOUCH_SOURCE_INVITE);
    request.set_touch_key(absl::StrCat("invite:", invite->invite_id));
    calls_.Call<v1::RecordTouchRequest, v1::RecordTouchResponse>(
        common::ServiceCallContext(codec_, brand_id, "room", kTimeout), std::move(request),
        [this](grpc::ClientContext* context, const v1::RecordTouchRequest* r,
               v1::RecordTouchResponse* response, std::function<void(grpc::Status)> done) {
          stub_->async()->RecordTouch(context, r, response, std::move(done));
        },
        [this, brand_id, viewer_id, room_id, session_id] {
          Activity(brand_id, viewer_id, room_id, session_id, v1::ACTIVITY_KIND_JOINED_LIVESTREAM);
        });
    return;
  }
  Activity(brand_id, viewer_id, room_id, session_id, v1::ACTIVITY_KIND_JOINED_LIVESTREAM);
}

void GrpcViewerActivity::Left(const std::string& brand_id, const std::string& viewer_id,
                              int64_t room_id, int64_t session_id) {
  Activity(brand_id, viewer_id, room_id, session_id, v1::ACTIVITY_KIND_LEFT_LIVESTREAM);
}

}  // namespace livecommerce::room
