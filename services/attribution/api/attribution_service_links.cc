// AttributionServiceImpl: share links and touches.
#include "absl/strings/str_cat.h"
#include "services/attribution/api/attribution_service.h"
#include "services/attribution/api/request_checks.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"

namespace livecommerce::attribution {

using common::InvalidField;
using common::Principal;
using request_checks::ChannelOfShare;
using request_checks::IdOf;
using request_checks::Page;
using request_checks::ValidateExternalId;
using request_checks::ValidateViewerId;

grpc::Status AttributionServiceImpl::CreateShareLink(grpc::ServerContext* context,
                                                     const v1::CreateShareLinkRequest* request,
                                                     v1::CreateShareLinkResponse* response) {
  return frame_.Run(
      *context, request_checks::kSelfOrOps, [&](const Principal& caller) -> absl::Status {
        LC_ASSIGN_OR_RETURN(int64_t associate_id,
                            Whose(caller, "associate_id", request->associate_id()));
        if (associate_id == 0) return InvalidField("associate_id", "is required");
        v1::ShareLink link;
        link.set_associate_id(absl::StrCat(associate_id));
        switch (request->target()) {
          case v1::SHARE_TARGET_ROOM:
            LC_RETURN_IF_ERROR(ValidateExternalId("room_id", request->room_id(), true));
            if (!request->product_id().empty()) {
              return InvalidField("product_id", "must be empty for a room link");
            }
            break;
          case v1::SHARE_TARGET_PRODUCT:
            LC_RETURN_IF_ERROR(ValidateExternalId("product_id", request->product_id(), true));
            LC_RETURN_IF_ERROR(ValidateExternalId("room_id", request->room_id(), false));
            break;
          default:
            return InvalidField("target", "must be SHARE_TARGET_ROOM or SHARE_TARGET_PRODUCT");
        }
        if (request->share_channel() == v1::SHARE_CHANNEL_UNSPECIFIED ||
            !v1::ShareChannel_IsValid(request->share_channel())) {
          return InvalidField("share_channel", "is not a share channel");
        }
        // The link may point only at the brand's own room and product.
        if (!request->room_id().empty()) {
          LC_RETURN_IF_ERROR(KnownRoom(caller.brand_id, "room_id", request->room_id()));
        }
        if (!request->product_id().empty()) {
          LC_RETURN_IF_ERROR(KnownProduct(caller.brand_id, "product_id", request->product_id()));
        }
        link.set_target(request->target());
        link.set_room_id(request->room_id());
        link.set_product_id(request->product_id());
        link.set_share_channel(request->share_channel());
        LC_ASSIGN_OR_RETURN(*response->mutable_link(),
                            store_.CreateShareLink(caller.brand_id, link, clock_.Now()));
        return absl::OkStatus();
      });
}

grpc::Status AttributionServiceImpl::ListShareLinks(grpc::ServerContext* context,
                                                    const v1::ListShareLinksRequest* request,
                                                    v1::ListShareLinksResponse* response) {
  return frame_.Run(
      *context, request_checks::kSelfOrOpsOrFinance, [&](const Principal& caller) -> absl::Status {
        LC_ASSIGN_OR_RETURN(int64_t associate_id,
                            Whose(caller, "associate_id", request->associate_id()));
        LC_ASSIGN_OR_RETURN(common::PageRequest page, Page(*request));
        LC_ASSIGN_OR_RETURN(
            std::vector<v1::ShareLink> links,
            store_.ListShareLinks(caller.brand_id, associate_id, page.after, page.fetch()));
        if (common::TrimPage(links, page.limit)) {
          response->set_next_page_token(common::EncodePageToken(IdOf(links.back().id())));
        }
        for (v1::ShareLink& l : links) *response->add_links() = std::move(l);
        return absl::OkStatus();
      });
}

grpc::Status AttributionServiceImpl::OpenShareLink(grpc::ServerContext* context,
                                                   const v1::OpenShareLinkRequest* request,
                                                   v1::OpenShareLinkResponse* response) {
  return frame_.Run(
      *context, request_checks::kViewer, [&](const Principal& caller) -> absl::Status {
        LC_ASSIGN_OR_RETURN(int64_t link_id,
                            common::ParseId("share_link_id", request->share_link_id()));
        LC_ASSIGN_OR_RETURN(v1::ShareLink link, store_.GetShareLink(caller.brand_id, link_id));
        v1::Touch touch;
        touch.set_viewer_id(caller.subject);
        touch.set_associate_id(link.associate_id());
        touch.set_room_id(link.room_id());
        touch.set_product_id(link.product_id());
        touch.set_channel(ChannelOfShare(link.share_channel()));
        touch.set_source(v1::TOUCH_SOURCE_SHARE_LINK);
        touch.set_share_link_id(link.id());
        common::ToTimestamp(clock_.Now(), touch.mutable_touched_at());
        LC_ASSIGN_OR_RETURN(
            RecordedTouch recorded,
            store_.RecordTouch(caller.brand_id, touch, "", options_.attribution.protection));
        *response->mutable_touch() = std::move(recorded.touch);
        response->mutable_attribution()->set_channel(touch.channel());
        response->mutable_attribution()->set_share_link_id(link.id());
        response->mutable_attribution()->set_associate_id(link.associate_id());
        *response->mutable_link() = std::move(link);
        return absl::OkStatus();
      });
}

grpc::Status AttributionServiceImpl::GetShareLink(grpc::ServerContext* context,
                                                  const v1::GetShareLinkRequest* request,
                                                  v1::GetShareLinkResponse* response) {
  return frame_.Run(
      *context, request_checks::kService, [&](const Principal& caller) -> absl::Status {
        LC_ASSIGN_OR_RETURN(int64_t link_id,
                            common::ParseId("share_link_id", request->share_link_id()));
        LC_ASSIGN_OR_RETURN(*response->mutable_link(),
                            store_.GetShareLink(caller.brand_id, link_id));
        return absl::OkStatus();
      });
}

grpc::Status AttributionServiceImpl::GetShareLinkCode(grpc::ServerContext* context,
                                                      const v1::GetShareLinkCodeRequest* request,
                                                      v1::GetShareLinkCodeResponse* response) {
  return frame_.Run(
      *context, request_checks::kSelfOrOps, [&](const Principal& caller) -> absl::Status {
        LC_ASSIGN_OR_RETURN(int64_t link_id,
                            common::ParseId("share_link_id", request->share_link_id()));
        // An associate's code is of its own links only; another's looks like an unknown one.
        LC_ASSIGN_OR_RETURN(v1::ShareLink link, store_.GetShareLink(caller.brand_id, link_id));
        LC_ASSIGN_OR_RETURN(int64_t own, Whose(caller, "associate_id", ""));
        if (own != 0 && IdOf(link.associate_id()) != own) {
          return absl::NotFoundError("share_link_id: no such share link");
        }
        auto make = [&](const v1::ShareLink& locked) -> absl::StatusOr<v1::ShareLinkCode> {
          v1::ShareLinkCode code;
          code.set_scene(ShareSceneOf(link_id));
          code.set_page(SharePageOf(locked.target()));
          LC_ASSIGN_OR_RETURN(MadeCode made,
                              codes_.Make(caller.brand_id, code.scene(), code.page()));
          code.set_image(std::move(made.image));
          code.set_content_type(std::move(made.content_type));
          code.set_source(std::move(made.source));
          return code;
        };
        LC_ASSIGN_OR_RETURN(*response->mutable_code(),
                            store_.ShareLinkCodeOnce(caller.brand_id, link_id, make, clock_.Now()));
        return absl::OkStatus();
      });
}

grpc::Status AttributionServiceImpl::RecordTouch(grpc::ServerContext* context,
                                                 const v1::RecordTouchRequest* request,
                                                 v1::RecordTouchResponse* response) {
  return frame_.Run(
      *context, request_checks::kService, [&](const Principal& caller) -> absl::Status {
        LC_RETURN_IF_ERROR(ValidateViewerId("viewer_id", request->viewer_id()));
        LC_RETURN_IF_ERROR(common::ParseId("associate_id", request->associate_id()).status());
        LC_RETURN_IF_ERROR(ValidateExternalId("room_id", request->room_id(), false));
        if (!v1::Channel_IsValid(request->channel())) {
          return InvalidField("channel", "is not a channel");
        }
        if (!v1::TouchSource_IsValid(request->source())) {
          return InvalidField("source", "is not a touch source");
        }
        if (!request->touch_key().empty() &&
            (request->touch_key().size() > 128 || !common::IsValidId(request->touch_key()))) {
          return InvalidField("touch_key", "must be 1..128 id characters");
        }
        if (!request->room_id().empty()) {
          LC_RETURN_IF_ERROR(KnownRoom(caller.brand_id, "room_id", request->room_id()));
        }
        absl::Time at = clock_.Now();
        if (request->has_touched_at()) {
          LC_ASSIGN_OR_RETURN(at, common::ParseTimestamp("touched_at", request->touched_at()));
          if (at > clock_.Now() + absl::Minutes(5)) {
            return InvalidField("touched_at", "is in the future");
          }
        }
        v1::Touch touch;
        touch.set_viewer_id(request->viewer_id());
        touch.set_associate_id(request->associate_id());
        touch.set_room_id(request->room_id());
        touch.set_channel(request->channel() == v1::CHANNEL_UNSPECIFIED ? v1::CHANNEL_INVITE
                                                                        : request->channel());
        touch.set_source(request->source() == v1::TOUCH_SOURCE_UNSPECIFIED ? v1::TOUCH_SOURCE_INVITE
                                                                           : request->source());
        common::ToTimestamp(at, touch.mutable_touched_at());
        LC_ASSIGN_OR_RETURN(RecordedTouch recorded,
                            store_.RecordTouch(caller.brand_id, touch, request->touch_key(),
                                               options_.attribution.protection));
        *response->mutable_touch() = std::move(recorded.touch);
        if (recorded.binding.has_value())
          *response->mutable_binding() = std::move(*recorded.binding);
        return absl::OkStatus();
      });
}

}  // namespace livecommerce::attribution
