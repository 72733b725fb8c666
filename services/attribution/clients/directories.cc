#include "services/attribution/clients/directories.h"

#include "absl/strings/str_cat.h"
#include "services/common/service_client.h"

namespace livecommerce::attribution {

GrpcDirectories::GrpcDirectories(std::shared_ptr<grpc::ChannelInterface> room_channel,
                                 std::shared_ptr<grpc::ChannelInterface> catalog_channel,
                                 const common::PrincipalCodec& codec, const common::Clock& clock,
                                 absl::Duration timeout, absl::Duration cache_ttl)
    : rooms_(v1::RoomService::NewStub(room_channel)),
      catalog_(v1::CatalogService::NewStub(catalog_channel)),
      codec_(codec),
      clock_(clock),
      timeout_(timeout),
      ttl_(cache_ttl) {}

std::optional<std::string> GrpcDirectories::Lookup(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(key);
  if (it == cache_.end() || it->second.expires_at <= clock_.Now()) return std::nullopt;
  return it->second.value;
}

void GrpcDirectories::Remember(const std::string& key, const std::string& value) {
  constexpr size_t kMaxEntries = 100000;
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.size() >= kMaxEntries) cache_.clear();
  cache_[key] = Cached{value, clock_.Now() + ttl_};
}

absl::StatusOr<std::string> GrpcDirectories::HostAssociate(const std::string& brand_id,
                                                           const std::string& room_id) {
  std::string key = absl::StrCat("room|", brand_id, "|", room_id);
  if (std::optional<std::string> known = Lookup(key)) return *known;
  v1::GetRoomRequest request;
  request.set_room_id(room_id);
  v1::GetRoomResponse response;
  auto context =
      common::ServiceCallContext(codec_, brand_id, "attribution", timeout_, clock_.Now());
  grpc::Status status = rooms_->GetRoom(context.get(), request, &response);
  if (!status.ok()) return common::FromGrpcStatus(status, "room service");
  Remember(key, response.room().host_associate_id());
  return response.room().host_associate_id();
}

absl::StatusOr<std::string> GrpcDirectories::ProductCategory(const std::string& brand_id,
                                                             const std::string& product_id) {
  std::string key = absl::StrCat("product|", brand_id, "|", product_id);
  if (std::optional<std::string> known = Lookup(key)) return *known;
  v1::GetProductRequest request;
  request.set_product_id(product_id);
  v1::GetProductResponse response;
  auto context =
      common::ServiceCallContext(codec_, brand_id, "attribution", timeout_, clock_.Now());
  grpc::Status status = catalog_->GetProduct(context.get(), request, &response);
  if (!status.ok()) return common::FromGrpcStatus(status, "catalog service");
  Remember(key, response.product().category());
  return response.product().category();
}

}  // namespace livecommerce::attribution
