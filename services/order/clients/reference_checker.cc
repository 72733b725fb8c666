#include "services/order/clients/reference_checker.h"

#include "absl/strings/str_cat.h"
#include "services/common/service_client.h"
#include "services/common/status.h"

namespace livecommerce::order {
namespace {

std::string Key(const std::string& brand_id, const std::string& id) {
  return absl::StrCat(brand_id, "/", id);
}

std::string Named(const std::string& field, absl::string_view name) {
  return field.empty() ? std::string(name) : absl::StrCat(field, ".", name);
}

// A peer's NOT_FOUND (or PERMISSION_DENIED for another brand's id) said in the buyer's terms.
absl::Status Unknown(const grpc::Status& status, absl::string_view peer, const std::string& name,
                     absl::string_view what) {
  if (status.error_code() == grpc::StatusCode::NOT_FOUND ||
      status.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
      status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    return absl::NotFoundError(absl::StrCat(name, ": no such ", what));
  }
  return common::FromGrpcStatus(status, peer);
}

}  // namespace

GrpcReferenceChecker::GrpcReferenceChecker(
    std::shared_ptr<grpc::ChannelInterface> room_channel,
    std::shared_ptr<grpc::ChannelInterface> attribution_channel,
    std::shared_ptr<grpc::ChannelInterface> catalog_channel, const common::PrincipalCodec& codec,
    const common::Clock& clock, absl::Duration timeout, absl::Duration admission)
    : rooms_(v1::RoomService::NewStub(room_channel)),
      associates_(attribution_channel == nullptr
                      ? nullptr
                      : v1::AttributionService::NewStub(attribution_channel)),
      catalog_(v1::CatalogService::NewStub(catalog_channel)),
      sales_(v1::FlashSaleService::NewStub(catalog_channel)),
      codec_(codec),
      clock_(clock),
      timeout_(timeout),
      public_rooms_(admission),
      admitted_(admission) {}

std::unique_ptr<grpc::ClientContext> GrpcReferenceChecker::Context(
    const std::string& brand_id) const {
  return common::ServiceCallContext(codec_, brand_id, "order", timeout_, clock_.Now());
}

absl::StatusOr<std::string> GrpcReferenceChecker::SessionRoom(const std::string& brand_id,
                                                              const std::string& field,
                                                              const std::string& session_id) {
  std::string key = Key(brand_id, session_id);
  if (std::optional<std::string> room = session_rooms_.Get(key)) return *room;
  v1::GetSessionRequest request;
  request.set_session_id(session_id);
  v1::GetSessionResponse response;
  auto context = Context(brand_id);
  grpc::Status status = rooms_->GetSession(context.get(), request, &response);
  if (!status.ok()) {
    return Unknown(status, "room service", Named(field, "session_id"), "session");
  }
  if (response.session().brand_id() != brand_id) {
    return absl::NotFoundError(absl::StrCat(Named(field, "session_id"), ": no such session"));
  }
  session_rooms_.Put(key, response.session().room_id());
  return response.session().room_id();
}

absl::Status GrpcReferenceChecker::CheckAdmitted(const std::string& brand_id,
                                                 const std::string& buyer_id,
                                                 const std::string& field,
                                                 const std::string& room_id) {
  std::string room_key = Key(brand_id, room_id);
  std::string viewer_key = absl::StrCat(room_key, "/", buyer_id);
  if (public_rooms_.Get(room_key).has_value() || admitted_.Get(viewer_key).has_value()) {
    return absl::OkStatus();
  }
  v1::GetViewerAccessRequest request;
  request.set_room_id(room_id);
  request.set_viewer_id(buyer_id);
  v1::GetViewerAccessResponse response;
  auto context = Context(brand_id);
  grpc::Status status = rooms_->GetViewerAccess(context.get(), request, &response);
  if (!status.ok()) return Unknown(status, "room service", Named(field, "room_id"), "room");
  if (response.brand_id() != brand_id) {
    return absl::NotFoundError(absl::StrCat(Named(field, "room_id"), ": no such room"));
  }
  if (response.visibility() == v1::VISIBILITY_PUBLIC) {
    public_rooms_.Put(room_key, true);
    return absl::OkStatus();
  }
  if (!response.admitted()) {
    return absl::PermissionDeniedError(
        absl::StrCat(Named(field, "room_id"), ": this room is private; an invite is needed"));
  }
  admitted_.Put(viewer_key, true);
  return absl::OkStatus();
}

absl::Status GrpcReferenceChecker::CheckRoom(const std::string& brand_id,
                                             const std::string& buyer_id, const std::string& field,
                                             const std::string& room_id,
                                             const std::string& session_id) {
  std::string room = room_id;
  if (!session_id.empty()) {
    LC_ASSIGN_OR_RETURN(std::string session_room, SessionRoom(brand_id, field, session_id));
    if (!room.empty() && session_room != room) {
      return absl::NotFoundError(
          absl::StrCat(Named(field, "session_id"), ": no such session of this room"));
    }
    room = session_room;
  }
  if (room.empty()) return absl::OkStatus();
  return CheckAdmitted(brand_id, buyer_id, field, room);
}

absl::Status GrpcReferenceChecker::CheckAssociate(const std::string& brand_id,
                                                  const std::string& field,
                                                  const std::string& associate_id) {
  if (associate_id.empty()) return absl::OkStatus();
  std::string name = Named(field, "associate_id");
  std::string key = Key(brand_id, associate_id);
  if (associates_known_.Get(key).has_value()) return absl::OkStatus();
  if (associates_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(name, ": associates cannot be checked"));
  }
  v1::GetAssociateRequest request;
  request.set_associate_id(associate_id);
  v1::GetAssociateResponse response;
  auto context = Context(brand_id);
  grpc::Status status = associates_->GetAssociate(context.get(), request, &response);
  if (!status.ok()) return Unknown(status, "attribution service", name, "associate");
  if (response.associate().brand_id() != brand_id) {
    return absl::NotFoundError(absl::StrCat(name, ": no such associate"));
  }
  associates_known_.Put(key, true);
  return absl::OkStatus();
}

absl::Status GrpcReferenceChecker::CheckAttribution(const std::string& brand_id,
                                                    const std::string& field,
                                                    const v1::Attribution& attribution) {
  LC_RETURN_IF_ERROR(CheckAssociate(brand_id, field, attribution.associate_id()));
  const std::string& link_id = attribution.share_link_id();
  if (link_id.empty() || links_known_.Get(Key(brand_id, link_id)).has_value()) {
    return absl::OkStatus();
  }
  std::string name = Named(field, "share_link_id");
  if (associates_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(name, ": share links cannot be checked"));
  }
  v1::GetShareLinkRequest request;
  request.set_share_link_id(link_id);
  v1::GetShareLinkResponse response;
  auto context = Context(brand_id);
  grpc::Status status = associates_->GetShareLink(context.get(), request, &response);
  if (!status.ok()) return Unknown(status, "attribution service", name, "share link");
  if (response.link().brand_id() != brand_id) {
    return absl::NotFoundError(absl::StrCat(name, ": no such share link"));
  }
  links_known_.Put(Key(brand_id, link_id), true);
  return absl::OkStatus();
}

absl::Status GrpcReferenceChecker::CheckItem(const std::string& brand_id,
                                             const std::string& buyer_id, const std::string& field,
                                             const std::string& sku_id,
                                             const std::string& sale_id) {
  if (!sku_id.empty() && !skus_known_.Get(Key(brand_id, sku_id)).has_value()) {
    v1::GetSkuRequest request;
    request.set_sku_id(sku_id);
    v1::GetSkuResponse response;
    auto context = Context(brand_id);
    grpc::Status status = catalog_->GetSku(context.get(), request, &response);
    if (!status.ok()) return Unknown(status, "catalog service", Named(field, "sku_id"), "SKU");
    skus_known_.Put(Key(brand_id, sku_id), true);
  }
  if (sale_id.empty()) return absl::OkStatus();
  std::string name = Named(field, "sale_id");
  std::string key = Key(brand_id, sale_id);
  std::optional<std::string> where = sale_rooms_.Get(key);
  if (!where.has_value()) {
    v1::GetFlashSaleRequest request;
    request.set_sale_id(sale_id);
    v1::GetFlashSaleResponse response;
    auto context = Context(brand_id);
    grpc::Status status = sales_->GetFlashSale(context.get(), request, &response);
    if (!status.ok()) return Unknown(status, "catalog service", name, "flash sale");
    if (response.sale().brand_id() != brand_id) {
      return absl::NotFoundError(absl::StrCat(name, ": no such flash sale"));
    }
    where = absl::StrCat(response.sale().sku_id(), "/", response.sale().room_id());
    sale_rooms_.Put(key, *where);
  }
  size_t slash = where->find('/');
  if (!sku_id.empty() && where->substr(0, slash) != sku_id) {
    return common::InvalidField(name, "the flash sale is for another SKU");
  }
  // The sale's room must be one the buyer may see: a private room's piece is for its audience.
  absl::Status admitted = CheckAdmitted(brand_id, buyer_id, field, where->substr(slash + 1));
  if (admitted.code() == absl::StatusCode::kPermissionDenied) {
    return absl::PermissionDeniedError(
        absl::StrCat(name, ": this sale is in a private room; an invite is needed"));
  }
  return admitted;
}

}  // namespace livecommerce::order
