#include "services/attribution/api/attribution_service.h"

#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/config.h"
#include "services/common/crypto.h"
#include "services/common/log_format.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "services/common/validation.h"

namespace livecommerce::attribution {
namespace {

using common::InvalidField;
using common::Principal;
using common::Role;

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;

// A list request's page, in the one paging convention (common::PageRequest).
template <typename Request>
absl::StatusOr<common::PageRequest> Page(const Request& request) {
  return common::ParsePageRequest(request.page_size(), request.page_token(), kDefaultPageSize,
                                  kMaxPageSize);
}
constexpr int kMaxStatementPage = 10000;
constexpr int kMaxOrderLines = 500;
constexpr size_t kMaxExternalId = 64;

int64_t IdOf(const std::string& id) {
  int64_t value = 0;
  return absl::SimpleAtoi(id, &value) && value > 0 ? value : 0;
}

// An id of another service (room, session, order, product ...): opaque, 1..64 id characters.
absl::Status ValidateExternalId(absl::string_view field, const std::string& value, bool required) {
  if (value.empty()) {
    return required ? InvalidField(field, "is required") : absl::OkStatus();
  }
  if (value.size() > kMaxExternalId || !common::IsValidId(value)) {
    return InvalidField(field, "is not a valid id");
  }
  return absl::OkStatus();
}

absl::Status ValidateViewerId(absl::string_view field, const std::string& value) {
  if (!common::IsValidId(value)) {
    return InvalidField(field, value.empty() ? "is required" : "is not a valid id");
  }
  return absl::OkStatus();
}

absl::Status ValidateMoney(absl::string_view field, const v1::Money& money) {
  if (money.amount_fen() <= 0 || money.amount_fen() > kMaxAmountFen) {
    return InvalidField(absl::StrCat(field, ".amount_fen"),
                        "must be positive and at most 10^15 fen");
  }
  const std::string& c = money.currency();
  if (c.size() != 3 || !absl::ascii_isupper(static_cast<unsigned char>(c[0])) ||
      !absl::ascii_isupper(static_cast<unsigned char>(c[1])) ||
      !absl::ascii_isupper(static_cast<unsigned char>(c[2]))) {
    return InvalidField(absl::StrCat(field, ".currency"), "must be an ISO 4217 code");
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> RequiredTime(absl::string_view field,
                                        const google::protobuf::Timestamp& ts, bool has) {
  if (!has) return InvalidField(field, "is required");
  return common::ParseTimestamp(field, ts);
}

v1::Channel ChannelOfShare(v1::ShareChannel c) {
  switch (c) {
    case v1::SHARE_CHANNEL_QR_CODE:
      return v1::CHANNEL_QR_CODE;
    case v1::SHARE_CHANNEL_ARTICLE:
      return v1::CHANNEL_ARTICLE;
    default:
      return v1::CHANNEL_SHARE_LINK;
  }
}

std::string EncodeLineToken(const LineCursor& c) {
  return common::Base64UrlEncode(absl::StrCat("s1:", absl::ToUnixMicros(c.booked_at), ":", c.id));
}

absl::StatusOr<std::optional<LineCursor>> DecodeLineToken(const std::string& token) {
  if (token.empty()) return std::optional<LineCursor>();
  std::string raw;
  int64_t micros = 0, id = 0;
  if (token.size() > 100 || !common::Base64UrlDecode(token, &raw)) {
    return InvalidField("page_token", "is not a token this service issued");
  }
  std::vector<std::string> parts = absl::StrSplit(raw, ':');
  if (parts.size() != 3 || parts[0] != "s1" || !absl::SimpleAtoi(parts[1], &micros) ||
      !absl::SimpleAtoi(parts[2], &id)) {
    return InvalidField("page_token", "is not a token this service issued");
  }
  return std::optional<LineCursor>(LineCursor{absl::FromUnixMicros(micros), id});
}

std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char ch : value) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::string CsvTime(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", common::FromTimestamp(ts), absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<AttributionServiceOptions> LoadAttributionServiceOptions() {
  AttributionServiceOptions options;
  LC_ASSIGN_OR_RETURN(options.attribution, LoadAttributionOptions());
  LC_ASSIGN_OR_RETURN(int64_t refund_days, common::EnvInt("LC_REFUND_WINDOW_DAYS", 7, 0, 365));
  options.refund_window = absl::Hours(24 * refund_days);
  LC_ASSIGN_OR_RETURN(options.rule_cache_ttl,
                      common::EnvMillis("LC_RULE_CACHE_MS", 1000, 0, 3600 * 1000));
  LC_ASSIGN_OR_RETURN(int64_t unpaid, common::EnvInt("LC_UNPAID_ALERT_MINUTES", 30, 1, 7 * 1440));
  options.unpaid_alert_after = absl::Minutes(unpaid);
  return options;
}

AttributionServiceImpl::AttributionServiceImpl(AttributionStore& store, Directories& directories,
                                               const common::Clock& clock,
                                               const common::PrincipalCodec& codec,
                                               AttributionServiceOptions options)
    : store_(store), directories_(directories), clock_(clock), codec_(codec), options_(options) {}

absl::StatusOr<Principal> AttributionServiceImpl::Caller(const grpc::ServerContext& context) const {
  return common::PrincipalFromContext(context, codec_, clock_.Now());
}

absl::StatusOr<int64_t> AttributionServiceImpl::Whose(const Principal& caller,
                                                      const std::string& field,
                                                      const std::string& asked,
                                                      std::initializer_list<Role> all) const {
  if (caller.role == Role::kAssociate) {
    if (!asked.empty() && asked != caller.subject) {
      return absl::PermissionDeniedError(absl::StrCat(field, ": an associate reads only its own"));
    }
    int64_t self = IdOf(caller.subject);
    if (self == 0) return absl::PermissionDeniedError("the caller is not a known associate");
    return self;
  }
  LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, all));
  if (asked.empty()) return int64_t{0};
  LC_ASSIGN_OR_RETURN(int64_t id, common::ParseId(field, asked));
  LC_RETURN_IF_ERROR(KnownAssociate(caller.brand_id, field, id));
  return id;
}

absl::Status AttributionServiceImpl::KnownAssociate(const std::string& brand_id,
                                                    const std::string& field,
                                                    int64_t associate_id) const {
  absl::StatusOr<v1::Associate> found = store_.GetAssociate(brand_id, associate_id);
  if (found.status().code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(absl::StrCat(field, ": no such associate"));
  }
  return found.status();
}

absl::Status AttributionServiceImpl::KnownStore(const std::string& brand_id,
                                                const std::string& field, int64_t store_id) const {
  absl::Status found = store_.CheckStore(brand_id, store_id);
  if (found.code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(absl::StrCat(field, ": no such store"));
  }
  return found;
}

// The room service hides other brands' rooms from this brand's SERVICE principal: NOT_FOUND (or
// INVALID_ARGUMENT for an id that cannot be one) is what an unknown room looks like.
absl::Status AttributionServiceImpl::KnownRoom(const std::string& brand_id,
                                               const std::string& field,
                                               const std::string& room_id) const {
  absl::Status found = directories_.HostAssociate(brand_id, room_id).status();
  if (found.code() == absl::StatusCode::kNotFound ||
      found.code() == absl::StatusCode::kInvalidArgument) {
    return absl::NotFoundError(absl::StrCat(field, ": no such room"));
  }
  return found;
}

absl::Status AttributionServiceImpl::KnownProduct(const std::string& brand_id,
                                                  const std::string& field,
                                                  const std::string& product_id) const {
  absl::Status found = directories_.ProductCategory(brand_id, product_id).status();
  if (found.code() == absl::StatusCode::kNotFound ||
      found.code() == absl::StatusCode::kInvalidArgument) {
    return absl::NotFoundError(absl::StrCat(field, ": no such product"));
  }
  return found;
}

absl::Status AttributionServiceImpl::KnownFilter(const Principal& caller,
                                                 const v1::LedgerFilter& filter) const {
  if (caller.role == Role::kAssociate) return absl::OkStatus();  // narrowed to itself
  if (!filter.associate_id().empty()) {
    LC_RETURN_IF_ERROR(
        KnownAssociate(caller.brand_id, "filter.associate_id", IdOf(filter.associate_id())));
  }
  if (!filter.store_id().empty()) {
    LC_RETURN_IF_ERROR(KnownStore(caller.brand_id, "filter.store_id", IdOf(filter.store_id())));
  }
  if (!filter.recipient_id().empty()) {
    switch (filter.recipient()) {
      case v1::RECIPIENT_ASSOCIATE:
      case v1::RECIPIENT_HOST_ASSOCIATE:
      case v1::RECIPIENT_INVITING_ASSOCIATE: {
        LC_ASSIGN_OR_RETURN(int64_t id,
                            common::ParseId("filter.recipient_id", filter.recipient_id()));
        return KnownAssociate(caller.brand_id, "filter.recipient_id", id);
      }
      case v1::RECIPIENT_STORE: {
        LC_ASSIGN_OR_RETURN(int64_t id,
                            common::ParseId("filter.recipient_id", filter.recipient_id()));
        return KnownStore(caller.brand_id, "filter.recipient_id", id);
      }
      default:
        break;  // a named party is free text, not a reference
    }
  }
  return absl::OkStatus();
}

// ---- Stores and associates ----------------------------------------------------------------------

grpc::Status AttributionServiceImpl::CreateStore(grpc::ServerContext* context,
                                                 const v1::CreateStoreRequest* request,
                                                 v1::CreateStoreResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, {Role::kOps}));
    LC_RETURN_IF_ERROR(common::ValidateText("name", request->name(), 200, true));
    LC_RETURN_IF_ERROR(common::ValidateText("city", request->city(), 100, false));
    v1::Store store;
    store.set_name(request->name());
    store.set_city(request->city());
    LC_ASSIGN_OR_RETURN(*response->mutable_store(),
                        store_.CreateStore(caller.brand_id, store, clock_.Now()));
    return absl::OkStatus();
  }());
}

grpc::Status AttributionServiceImpl::ListStores(grpc::ServerContext* context,
                                                const v1::ListStoresRequest* request,
                                                v1::ListStoresResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, {Role::kOps, Role::kFinance}));
    LC_ASSIGN_OR_RETURN(common::PageRequest page, Page(*request));
    LC_ASSIGN_OR_RETURN(std::vector<v1::Store> stores,
                        store_.ListStores(caller.brand_id, page.after, page.fetch()));
    if (common::TrimPage(stores, page.limit)) {
      response->set_next_page_token(common::EncodePageToken(IdOf(stores.back().id())));
    }
    for (v1::Store& s : stores) *response->add_stores() = std::move(s);
    return absl::OkStatus();
  }());
}

grpc::Status AttributionServiceImpl::CreateAssociate(grpc::ServerContext* context,
                                                     const v1::CreateAssociateRequest* request,
                                                     v1::CreateAssociateResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, {Role::kOps}));
    LC_RETURN_IF_ERROR(common::ParseId("store_id", request->store_id()).status());
    LC_RETURN_IF_ERROR(common::ValidateText("name", request->name(), 200, true));
    v1::Associate a;
    a.set_store_id(request->store_id());
    a.set_name(request->name());
    LC_ASSIGN_OR_RETURN(*response->mutable_associate(),
                        store_.CreateAssociate(caller.brand_id, a, clock_.Now()));
    return absl::OkStatus();
  }());
}

grpc::Status AttributionServiceImpl::UpdateAssociate(grpc::ServerContext* context,
                                                     const v1::UpdateAssociateRequest* request,
                                                     v1::UpdateAssociateResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, {Role::kOps}));
    LC_RETURN_IF_ERROR(common::ParseId("associate_id", request->associate_id()).status());
    if (request->has_name()) {
      LC_RETURN_IF_ERROR(common::ValidateText("name", request->name(), 200, true));
    }
    if (request->has_store_id()) {
      LC_RETURN_IF_ERROR(common::ParseId("store_id", request->store_id()).status());
    }
    if (!v1::AssociateStatus_IsValid(request->status())) {
      return InvalidField("status", "is not an associate status");
    }
    LC_ASSIGN_OR_RETURN(*response->mutable_associate(),
                        store_.UpdateAssociate(caller.brand_id, *request, clock_.Now()));
    return absl::OkStatus();
  }());
}

grpc::Status AttributionServiceImpl::GetAssociate(grpc::ServerContext* context,
                                                  const v1::GetAssociateRequest* request,
                                                  v1::GetAssociateResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    // Other services (the room service) check the associate ids their requests name.
    LC_ASSIGN_OR_RETURN(int64_t id, Whose(caller, "associate_id", request->associate_id(),
                                          {Role::kOps, Role::kFinance, Role::kService}));
    if (id == 0) return InvalidField("associate_id", "is required");
    LC_ASSIGN_OR_RETURN(*response->mutable_associate(), store_.GetAssociate(caller.brand_id, id));
    return absl::OkStatus();
  }());
}

grpc::Status AttributionServiceImpl::ListAssociates(grpc::ServerContext* context,
                                                    const v1::ListAssociatesRequest* request,
                                                    v1::ListAssociatesResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, {Role::kOps, Role::kFinance}));
    int64_t store_id = 0;
    if (!request->store_id().empty()) {
      LC_ASSIGN_OR_RETURN(store_id, common::ParseId("store_id", request->store_id()));
      LC_RETURN_IF_ERROR(KnownStore(caller.brand_id, "store_id", store_id));
    }
    if (!v1::AssociateStatus_IsValid(request->status())) {
      return InvalidField("status", "is not an associate status");
    }
    LC_ASSIGN_OR_RETURN(common::PageRequest page, Page(*request));
    LC_ASSIGN_OR_RETURN(std::vector<v1::Associate> list,
                        store_.ListAssociates(caller.brand_id, store_id, request->status(),
                                              page.after, page.fetch()));
    if (common::TrimPage(list, page.limit)) {
      response->set_next_page_token(common::EncodePageToken(IdOf(list.back().id())));
    }
    for (v1::Associate& a : list) *response->add_associates() = std::move(a);
    return absl::OkStatus();
  }());
}

// ---- Share links and touches --------------------------------------------------------------------

grpc::Status AttributionServiceImpl::CreateShareLink(grpc::ServerContext* context,
                                                     const v1::CreateShareLinkRequest* request,
                                                     v1::CreateShareLinkResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_ASSIGN_OR_RETURN(int64_t associate_id,
                        Whose(caller, "associate_id", request->associate_id(), {Role::kOps}));
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
  }());
}

grpc::Status AttributionServiceImpl::ListShareLinks(grpc::ServerContext* context,
                                                    const v1::ListShareLinksRequest* request,
                                                    v1::ListShareLinksResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_ASSIGN_OR_RETURN(int64_t associate_id, Whose(caller, "associate_id", request->associate_id(),
                                                    {Role::kOps, Role::kFinance}));
    LC_ASSIGN_OR_RETURN(common::PageRequest page, Page(*request));
    LC_ASSIGN_OR_RETURN(
        std::vector<v1::ShareLink> links,
        store_.ListShareLinks(caller.brand_id, associate_id, page.after, page.fetch()));
    if (common::TrimPage(links, page.limit)) {
      response->set_next_page_token(common::EncodePageToken(IdOf(links.back().id())));
    }
    for (v1::ShareLink& l : links) *response->add_links() = std::move(l);
    return absl::OkStatus();
  }());
}

grpc::Status AttributionServiceImpl::OpenShareLink(grpc::ServerContext* context,
                                                   const v1::OpenShareLinkRequest* request,
                                                   v1::OpenShareLinkResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, {Role::kViewer}));
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
    LC_ASSIGN_OR_RETURN(auto recorded, store_.RecordTouch(caller.brand_id, touch, "",
                                                          options_.attribution.protection));
    *response->mutable_touch() = recorded.first;
    response->mutable_attribution()->set_channel(touch.channel());
    response->mutable_attribution()->set_share_link_id(link.id());
    response->mutable_attribution()->set_associate_id(link.associate_id());
    *response->mutable_link() = std::move(link);
    return absl::OkStatus();
  }());
}

grpc::Status AttributionServiceImpl::GetShareLink(grpc::ServerContext* context,
                                                  const v1::GetShareLinkRequest* request,
                                                  v1::GetShareLinkResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, {Role::kService}));
    LC_ASSIGN_OR_RETURN(int64_t link_id,
                        common::ParseId("share_link_id", request->share_link_id()));
    LC_ASSIGN_OR_RETURN(*response->mutable_link(), store_.GetShareLink(caller.brand_id, link_id));
    return absl::OkStatus();
  }());
}

grpc::Status AttributionServiceImpl::RecordTouch(grpc::ServerContext* context,
                                                 const v1::RecordTouchRequest* request,
                                                 v1::RecordTouchResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, {Role::kService}));
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
    LC_ASSIGN_OR_RETURN(auto recorded,
                        store_.RecordTouch(caller.brand_id, touch, request->touch_key(),
                                           options_.attribution.protection));
    *response->mutable_touch() = std::move(recorded.first);
    if (recorded.second.has_value()) *response->mutable_binding() = std::move(*recorded.second);
    return absl::OkStatus();
  }());
}

// ---- Clients -----------------------------------------------------------------------------------

grpc::Status AttributionServiceImpl::ListClients(grpc::ServerContext* context,
                                                 const v1::ListClientsRequest* request,
                                                 v1::ListClientsResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_ASSIGN_OR_RETURN(int64_t associate_id, Whose(caller, "associate_id", request->associate_id(),
                                                    {Role::kOps, Role::kFinance}));
    if (associate_id == 0) return InvalidField("associate_id", "is required");
    LC_ASSIGN_OR_RETURN(common::PageRequest page, Page(*request));
    LC_ASSIGN_OR_RETURN(auto clients, store_.ListClients(caller.brand_id, associate_id,
                                                         clock_.Now(), page.after, page.fetch()));
    if (common::TrimPage(clients, page.limit)) {
      response->set_next_page_token(common::EncodePageToken(clients.back().second));
    }
    for (auto& [binding, row] : clients) *response->add_clients() = std::move(binding);
    return absl::OkStatus();
  }());
}

grpc::Status AttributionServiceImpl::GetClientBinding(grpc::ServerContext* context,
                                                      const v1::GetClientBindingRequest* request,
                                                      v1::GetClientBindingResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(ValidateViewerId("viewer_id", request->viewer_id()));
    bool staff = caller.role == Role::kOps || caller.role == Role::kFinance;
    if (!staff && caller.role != Role::kAssociate) {
      return absl::PermissionDeniedError(
          absl::StrCat("the ", common::RoleName(caller.role), " role may not do this"));
    }
    if (caller.brand_id.empty()) return absl::PermissionDeniedError("no brand");
    LC_ASSIGN_OR_RETURN(std::vector<v1::ClientBinding> history,
                        store_.BindingHistory(caller.brand_id, request->viewer_id(), 100));
    absl::Time now = clock_.Now();
    std::optional<v1::ClientBinding> current;
    for (const v1::ClientBinding& b : history) {
      if (common::FromTimestamp(b.bound_at()) <= now) {
        current = b;
        break;
      }
    }
    // An associate sees only a client currently bound to it.
    if (!staff && (!current.has_value() || current->associate_id() != caller.subject ||
                   common::FromTimestamp(current->protected_until()) <= now)) {
      return absl::NotFoundError("viewer_id: not your client");
    }
    if (current.has_value()) *response->mutable_binding() = *current;
    if (staff) {
      for (v1::ClientBinding& b : history) *response->add_history() = std::move(b);
    }
    return absl::OkStatus();
  }());
}

grpc::Status AttributionServiceImpl::ReassignClient(grpc::ServerContext* context,
                                                    const v1::ReassignClientRequest* request,
                                                    v1::ReassignClientResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, {Role::kOps}));
    LC_RETURN_IF_ERROR(ValidateViewerId("viewer_id", request->viewer_id()));
    LC_ASSIGN_OR_RETURN(int64_t associate_id,
                        common::ParseId("associate_id", request->associate_id()));
    LC_RETURN_IF_ERROR(common::ValidateText("note", request->note(), 300, false));
    LC_ASSIGN_OR_RETURN(
        *response->mutable_binding(),
        store_.Reassign(caller.brand_id, request->viewer_id(), associate_id, caller.subject,
                        request->note(), clock_.Now(), options_.attribution.protection));
    spdlog::info("client reassigned to associate {}", associate_id);
    return absl::OkStatus();
  }());
}

// ---- Paid orders and refunds --------------------------------------------------------------------

absl::StatusOr<std::vector<RuleSpec>> AttributionServiceImpl::Rules(const std::string& brand_id) {
  absl::Time now = clock_.Now();
  {
    std::lock_guard<std::mutex> lock(rules_mu_);
    auto it = rules_.find(brand_id);
    if (it != rules_.end() && now - it->second.loaded_at < options_.rule_cache_ttl) {
      return it->second.rules;
    }
  }
  LC_ASSIGN_OR_RETURN(std::vector<RuleSpec> rules, store_.LoadRules(brand_id));
  std::lock_guard<std::mutex> lock(rules_mu_);
  rules_[brand_id] = CachedRules{rules, now};
  return rules;
}

namespace {

absl::Status ValidatePaidOrder(const v1::PaidOrderEvent& e) {
  LC_RETURN_IF_ERROR(ValidateExternalId("order_id", e.order_id(), true));
  if (!e.buyer_id().empty()) LC_RETURN_IF_ERROR(ValidateViewerId("buyer_id", e.buyer_id()));
  LC_RETURN_IF_ERROR(ValidateExternalId("room_id", e.room_id(), false));
  LC_RETURN_IF_ERROR(ValidateExternalId("session_id", e.session_id(), false));
  if (!e.has_amount()) return InvalidField("amount", "is required");
  LC_RETURN_IF_ERROR(ValidateMoney("amount", e.amount()));
  LC_RETURN_IF_ERROR(RequiredTime("paid_at", e.paid_at(), e.has_paid_at()).status());
  if (!v1::Channel_IsValid(e.attribution().channel())) {
    return InvalidField("attribution.channel", "is not a channel");
  }
  if (e.lines_size() > kMaxOrderLines) {
    return InvalidField("lines", absl::StrCat("must have at most ", kMaxOrderLines));
  }
  for (int i = 0; i < e.lines_size(); ++i) {
    const v1::PaidOrderLine& l = e.lines(i);
    std::string field = absl::StrCat("lines[", i, "]");
    LC_RETURN_IF_ERROR(ValidateExternalId(absl::StrCat(field, ".sku_id"), l.sku_id(), false));
    LC_RETURN_IF_ERROR(
        ValidateExternalId(absl::StrCat(field, ".product_id"), l.product_id(), false));
    if (l.quantity() < 0 || l.quantity() > 1000000) {
      return InvalidField(absl::StrCat(field, ".quantity"), "must be between 0 and 1000000");
    }
    if (l.amount_fen() < 0 || l.amount_fen() > kMaxAmountFen) {
      return InvalidField(absl::StrCat(field, ".amount_fen"), "must be between 0 and 10^15");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status AttributionServiceImpl::DoRecordPaidOrder(const Principal& caller,
                                                       const v1::PaidOrderEvent& event,
                                                       v1::RecordPaidOrderResponse& response) {
  const std::string& brand = caller.brand_id;
  absl::Time paid_at = common::FromTimestamp(event.paid_at());
  // What the buyer carried at checkout counts as a touch at payment, when it names a known link or
  // associate of the brand; an unknown one is ignored rather than refusing the payment.
  std::optional<TouchFact> claim;
  int64_t claimed_link = IdOf(event.attribution().share_link_id());
  int64_t claimed_associate = IdOf(event.attribution().associate_id());
  v1::Channel claimed_channel = event.attribution().channel();
  std::string claimed_room = event.room_id();
  if (claimed_link != 0) {
    absl::StatusOr<v1::ShareLink> link = store_.GetShareLink(brand, claimed_link);
    if (link.ok()) {
      claimed_associate = IdOf(link->associate_id());
      claimed_channel = ChannelOfShare(link->share_channel());
      if (!link->room_id().empty()) claimed_room = link->room_id();
    } else if (link.status().code() != absl::StatusCode::kNotFound) {
      return link.status();
    }
  }
  if (claimed_associate != 0) {
    LC_ASSIGN_OR_RETURN(std::optional<AssociateRef> ref,
                        store_.AssociateRefOf(brand, claimed_associate));
    if (ref.has_value()) {
      claim = TouchFact{
          0, *ref, claimed_room,
          claimed_channel == v1::CHANNEL_UNSPECIFIED ? v1::CHANNEL_SHARE_LINK : claimed_channel,
          paid_at};
    }
  }

  // Commission: the rules in force, with the peers asked only when a rule needs them.
  LC_ASSIGN_OR_RETURN(std::vector<RuleSpec> rules, Rules(brand));
  bool needs_host = false, needs_category = false;
  for (const RuleSpec& r : rules) {
    if (r.effective_from > paid_at || (r.effective_to.has_value() && *r.effective_to <= paid_at)) {
      continue;
    }
    if (r.scope == v1::RULE_SCOPE_CATEGORY) needs_category = true;
    for (const SplitLineSpec& l : r.lines) {
      if (l.recipient == v1::RECIPIENT_HOST_ASSOCIATE) needs_host = true;
    }
  }
  int64_t host = 0;
  if (needs_host && !event.room_id().empty()) {
    LC_ASSIGN_OR_RETURN(std::string host_id, directories_.HostAssociate(brand, event.room_id()));
    host = IdOf(host_id);
  }
  std::vector<OrderPart> parts;
  for (const v1::PaidOrderLine& line : event.lines()) {
    OrderPart part;
    part.weight_fen = line.amount_fen();
    if (needs_category && !line.product_id().empty()) {
      LC_ASSIGN_OR_RETURN(part.category, directories_.ProductCategory(brand, line.product_id()));
    }
    parts.push_back(std::move(part));
  }

  absl::Time now = clock_.Now();
  PaidOrderRequest request;
  request.brand_id = brand;
  request.order_id = event.order_id();
  request.buyer_id = event.buyer_id();
  request.paid_at = paid_at;
  request.window = options_.attribution.window;
  // The decision and the split, from the facts the store reads with the other orders of its batch.
  request.complete = [&](AttributionFacts facts) {
    facts.paid_at = paid_at;
    facts.room_id = event.room_id();
    facts.event_channel = event.attribution().channel();
    facts.checkout_claim = claim;
    AttributionDecision decision = Decide(facts, options_.attribution);
    Parties parties;
    parties.associate_id = decision.associate.id;
    parties.store_id = decision.associate.store_id;
    parties.host_associate_id = host;
    parties.inviting_associate_id = decision.inviting_associate_id;
    PaidOrderWrite write;
    write.brand_id = brand;
    write.store_id = decision.associate.store_id;
    write.booked_at = now;
    write.entries =
        SaleEntries(event.amount().amount_fen(), parts, rules, paid_at, event.room_id(), parties);
    v1::AttributedOrder& o = write.order;
    o.set_order_id(event.order_id());
    o.set_buyer_id(event.buyer_id());
    o.set_room_id(event.room_id());
    o.set_session_id(event.session_id());
    *o.mutable_amount() = event.amount();
    o.mutable_refunded()->set_currency(event.amount().currency());
    *o.mutable_paid_at() = event.paid_at();
    o.set_channel(decision.channel);
    o.set_associate_id(common::FormatId(decision.associate.id));
    o.set_store_id(common::FormatId(decision.associate.store_id));
    o.set_host_associate_id(common::FormatId(host));
    o.set_inviting_associate_id(common::FormatId(decision.inviting_associate_id));
    o.set_rule(decision.rule);
    o.set_reason(decision.reason);
    o.set_touch_id(common::FormatId(decision.touch_id));
    common::ToTimestamp(paid_at + options_.refund_window, o.mutable_settle_at());
    common::ToTimestamp(now, o.mutable_recorded_at());
    if (decision.associate.id != 0 && !event.buyer_id().empty()) {
      v1::Alert alert;
      alert.set_associate_id(o.associate_id());
      alert.set_viewer_id(event.buyer_id());
      alert.set_kind(v1::ALERT_KIND_PAID);
      alert.set_room_id(event.room_id());
      alert.set_session_id(event.session_id());
      alert.set_order_id(event.order_id());
      *alert.mutable_amount() = event.amount();
      *alert.mutable_occurred_at() = event.paid_at();
      write.paid_alert = alert;
    }
    return write;
  };
  PaidOrderWrite write;
  LC_ASSIGN_OR_RETURN(bool fresh, store_.RecordPaidOrder(request, write));
  if (!fresh) {
    LC_ASSIGN_OR_RETURN(auto first, store_.GetAttributedOrder(brand, event.order_id()));
    *response.mutable_order() = std::move(first.first);
    for (v1::LedgerEntry& e : first.second) {
      if (e.kind() == v1::ENTRY_KIND_SALE) *response.add_entries() = std::move(e);
    }
    response.set_replayed(true);
    return absl::OkStatus();
  }
  if (write.paid_alert.has_value()) NotifyAlerts();
  const v1::AttributedOrder& o = write.order;
  *response.mutable_order() = o;
  for (const EntryDraft& d : write.entries) {
    v1::LedgerEntry* e = response.add_entries();
    e->set_order_id(event.order_id());
    e->set_kind(v1::ENTRY_KIND_SALE);
    e->set_recipient(d.recipient);
    e->set_recipient_id(d.recipient_id);
    e->set_store_id(common::FormatId(write.store_id));
    e->set_rule_id(common::FormatId(d.rule_id));
    e->set_rule_version(d.rule_version);
    e->set_line_no(d.line_no);
    e->set_basis_points(d.basis_points);
    e->set_base_fen(d.base_fen);
    e->mutable_amount()->set_amount_fen(d.amount_fen);
    e->mutable_amount()->set_currency(event.amount().currency());
    e->set_status(v1::ENTRY_STATUS_PENDING);
    common::ToTimestamp(now, e->mutable_booked_at());
    *e->mutable_settle_at() = o.settle_at();
  }
  return absl::OkStatus();
}

grpc::Status AttributionServiceImpl::RecordPaidOrder(grpc::ServerContext* context,
                                                     const v1::PaidOrderEvent* request,
                                                     v1::RecordPaidOrderResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, {Role::kService}));
    LC_RETURN_IF_ERROR(ValidatePaidOrder(*request));
    return DoRecordPaidOrder(caller, *request, *response);
  }());
}

grpc::Status AttributionServiceImpl::RecordRefund(grpc::ServerContext* context,
                                                  const v1::RefundEvent* request,
                                                  v1::RecordRefundResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, {Role::kService}));
    LC_RETURN_IF_ERROR(ValidateExternalId("order_id", request->order_id(), true));
    LC_RETURN_IF_ERROR(ValidateExternalId("refund_id", request->refund_id(), true));
    if (!request->has_amount()) return InvalidField("amount", "is required");
    LC_RETURN_IF_ERROR(ValidateMoney("amount", request->amount()));
    LC_ASSIGN_OR_RETURN(absl::Time refunded_at, RequiredTime("refunded_at", request->refunded_at(),
                                                             request->has_refunded_at()));
    RefundWrite write;
    write.brand_id = caller.brand_id;
    write.order_id = request->order_id();
    write.refund_id = request->refund_id();
    write.amount_fen = request->amount().amount_fen();
    write.currency = request->amount().currency();
    write.refunded_at = refunded_at;
    write.booked_at = clock_.Now();
    LC_ASSIGN_OR_RETURN(RefundResult result, store_.RecordRefund(write));
    for (v1::LedgerEntry& e : result.entries) *response->add_entries() = std::move(e);
    response->mutable_refunded()->set_amount_fen(result.refunded_fen);
    response->mutable_refunded()->set_currency(result.currency);
    response->set_replayed(result.replayed);
    return absl::OkStatus();
  }());
}

grpc::Status AttributionServiceImpl::GetOrderAttribution(
    grpc::ServerContext* context, const v1::GetOrderAttributionRequest* request,
    v1::GetOrderAttributionResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_ASSIGN_OR_RETURN(int64_t self,
                        Whose(caller, "associate_id", "", {Role::kOps, Role::kFinance}));
    LC_RETURN_IF_ERROR(ValidateExternalId("order_id", request->order_id(), true));
    LC_ASSIGN_OR_RETURN(auto found,
                        store_.GetAttributedOrder(caller.brand_id, request->order_id()));
    if (self != 0 && IdOf(found.first.associate_id()) != self) {
      return absl::NotFoundError("order_id: no attributed order of yours with this id");
    }
    *response->mutable_order() = std::move(found.first);
    for (v1::LedgerEntry& e : found.second) {
      bool own =
          e.recipient_id() == caller.subject && (e.recipient() == v1::RECIPIENT_ASSOCIATE ||
                                                 e.recipient() == v1::RECIPIENT_HOST_ASSOCIATE ||
                                                 e.recipient() == v1::RECIPIENT_INVITING_ASSOCIATE);
      if (self == 0 || own) *response->add_entries() = std::move(e);
    }
    return absl::OkStatus();
  }());
}

grpc::Status AttributionServiceImpl::ListAttributedOrders(
    grpc::ServerContext* context, const v1::ListAttributedOrdersRequest* request,
    v1::ListAttributedOrdersResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_ASSIGN_OR_RETURN(int64_t associate_id, Whose(caller, "associate_id", request->associate_id(),
                                                    {Role::kOps, Role::kFinance}));
    std::optional<absl::Time> from, to;
    if (request->has_paid_from()) {
      LC_ASSIGN_OR_RETURN(from, common::ParseTimestamp("paid_from", request->paid_from()));
    }
    if (request->has_paid_to()) {
      LC_ASSIGN_OR_RETURN(to, common::ParseTimestamp("paid_to", request->paid_to()));
    }
    LC_ASSIGN_OR_RETURN(common::PageRequest page, Page(*request));
    LC_ASSIGN_OR_RETURN(auto orders,
                        store_.ListAttributedOrders(caller.brand_id, associate_id, from, to,
                                                    page.after, page.fetch()));
    if (common::TrimPage(orders, page.limit)) {
      response->set_next_page_token(common::EncodePageToken(orders.back().second));
    }
    for (auto& [order, row] : orders) *response->add_orders() = std::move(order);
    return absl::OkStatus();
  }());
}

// ---- Rules and the ledger -----------------------------------------------------------------------

grpc::Status AttributionServiceImpl::CreateCommissionRule(
    grpc::ServerContext* context, const v1::CreateCommissionRuleRequest* request,
    v1::CreateCommissionRuleResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, {Role::kFinance}));
    RuleSpec rule;
    rule.scope = request->scope();
    switch (rule.scope) {
      case v1::RULE_SCOPE_BRAND:
        if (!request->scope_id().empty()) {
          return InvalidField("scope_id", "must be empty for a brand-wide rule");
        }
        break;
      case v1::RULE_SCOPE_ROOM:
        LC_RETURN_IF_ERROR(ValidateExternalId("scope_id", request->scope_id(), true));
        LC_RETURN_IF_ERROR(KnownRoom(caller.brand_id, "scope_id", request->scope_id()));
        break;
      case v1::RULE_SCOPE_CATEGORY:
        LC_RETURN_IF_ERROR(common::ValidateText("scope_id", request->scope_id(), 128, true));
        break;
      default:
        return InvalidField("scope", "is not a rule scope");
    }
    rule.scope_id = request->scope_id();
    LC_ASSIGN_OR_RETURN(
        rule.effective_from,
        RequiredTime("effective_from", request->effective_from(), request->has_effective_from()));
    if (request->has_effective_to()) {
      LC_ASSIGN_OR_RETURN(absl::Time to,
                          common::ParseTimestamp("effective_to", request->effective_to()));
      if (to <= rule.effective_from) {
        return InvalidField("effective_to", "must be after effective_from");
      }
      rule.effective_to = to;
    }
    for (const v1::SplitLine& l : request->lines()) {
      rule.lines.push_back(SplitLineSpec{l.recipient(), l.party(), l.basis_points()});
    }
    LC_RETURN_IF_ERROR(ValidateSplitLines(rule.lines));
    LC_ASSIGN_OR_RETURN(*response->mutable_rule(),
                        store_.CreateRule(caller.brand_id, rule, caller.subject, clock_.Now()));
    std::lock_guard<std::mutex> lock(rules_mu_);
    rules_.erase(caller.brand_id);
    return absl::OkStatus();
  }());
}

grpc::Status AttributionServiceImpl::ListCommissionRules(
    grpc::ServerContext* context, const v1::ListCommissionRulesRequest* request,
    v1::ListCommissionRulesResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, {Role::kFinance, Role::kOps}));
    if (!v1::RuleScope_IsValid(request->scope())) {
      return InvalidField("scope", "is not a rule scope");
    }
    if (request->scope() == v1::RULE_SCOPE_ROOM && !request->scope_id().empty()) {
      LC_RETURN_IF_ERROR(KnownRoom(caller.brand_id, "scope_id", request->scope_id()));
    }
    LC_ASSIGN_OR_RETURN(common::PageRequest page, Page(*request));
    LC_ASSIGN_OR_RETURN(std::vector<v1::CommissionRule> rules,
                        store_.ListRules(caller.brand_id, request->scope(), request->scope_id(),
                                         page.after, page.fetch()));
    if (common::TrimPage(rules, page.limit)) {
      response->set_next_page_token(common::EncodePageToken(IdOf(rules.back().id())));
    }
    for (v1::CommissionRule& r : rules) *response->add_rules() = std::move(r);
    return absl::OkStatus();
  }());
}

namespace {

// Checks a ledger filter, and narrows it to the caller when the caller is an associate.
absl::Status NarrowFilter(const Principal& caller, v1::LedgerFilter& filter) {
  if (caller.role == Role::kAssociate) {
    if (!filter.associate_id().empty() && filter.associate_id() != caller.subject) {
      return absl::PermissionDeniedError(
          "filter.associate_id: an associate reads only its own commissions");
    }
    if (!filter.store_id().empty() || !filter.recipient_id().empty()) {
      return absl::PermissionDeniedError("filter: an associate reads only its own commissions");
    }
    filter.set_associate_id(caller.subject);
    return absl::OkStatus();
  }
  LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, {Role::kFinance}));
  if (!filter.associate_id().empty()) {
    LC_RETURN_IF_ERROR(common::ParseId("filter.associate_id", filter.associate_id()).status());
  }
  if (!filter.store_id().empty()) {
    LC_RETURN_IF_ERROR(common::ParseId("filter.store_id", filter.store_id()).status());
  }
  if (!v1::Recipient_IsValid(filter.recipient())) {
    return InvalidField("filter.recipient", "is not a recipient");
  }
  return common::ValidateText("filter.recipient_id", filter.recipient_id(), 128, false);
}

}  // namespace

grpc::Status AttributionServiceImpl::ListCommissionEntries(
    grpc::ServerContext* context, const v1::ListCommissionEntriesRequest* request,
    v1::ListCommissionEntriesResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    v1::LedgerFilter filter = request->filter();
    LC_RETURN_IF_ERROR(NarrowFilter(caller, filter));
    LC_RETURN_IF_ERROR(KnownFilter(caller, filter));
    LC_RETURN_IF_ERROR(ValidateExternalId("order_id", request->order_id(), false));
    LC_ASSIGN_OR_RETURN(common::PageRequest page, Page(*request));
    LC_ASSIGN_OR_RETURN(
        std::vector<v1::LedgerEntry> entries,
        store_.ListEntries(caller.brand_id, filter, request->order_id(), page.after, page.fetch()));
    if (common::TrimPage(entries, page.limit)) {
      response->set_next_page_token(common::EncodePageToken(IdOf(entries.back().id())));
    }
    for (v1::LedgerEntry& e : entries) *response->add_entries() = std::move(e);
    return absl::OkStatus();
  }());
}

absl::Status AttributionServiceImpl::StatementRequest(
    const Principal& caller, const google::protobuf::Timestamp& start,
    const google::protobuf::Timestamp& end, v1::StatementGrouping grouping,
    v1::LedgerFilter& filter, absl::Time& start_out, absl::Time& end_out) const {
  LC_RETURN_IF_ERROR(NarrowFilter(caller, filter));
  if (!v1::StatementGrouping_IsValid(grouping)) {
    return InvalidField("grouping", "is not a statement grouping");
  }
  LC_ASSIGN_OR_RETURN(start_out, common::ParseTimestamp("period_start", start));
  LC_ASSIGN_OR_RETURN(end_out, common::ParseTimestamp("period_end", end));
  if (end_out <= start_out) return InvalidField("period_end", "must be after period_start");
  if (end_out - start_out > absl::Hours(24 * 400)) {
    return InvalidField("period_end", "the period must be at most 400 days");
  }
  return KnownFilter(caller, filter);
}

grpc::Status AttributionServiceImpl::GetStatement(grpc::ServerContext* context,
                                                  const v1::GetStatementRequest* request,
                                                  v1::GetStatementResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    v1::LedgerFilter filter = request->filter();
    absl::Time start, end;
    LC_RETURN_IF_ERROR(StatementRequest(caller, request->period_start(), request->period_end(),
                                        request->grouping(), filter, start, end));
    LC_ASSIGN_OR_RETURN(int limit, common::PageSize(request->page_size(), 100, kMaxStatementPage));
    LC_ASSIGN_OR_RETURN(std::optional<LineCursor> after, DecodeLineToken(request->page_token()));
    v1::Statement* st = response->mutable_statement();
    if (!after.has_value()) {
      LC_ASSIGN_OR_RETURN(
          *st, store_.StatementTotals(caller.brand_id, start, end, request->grouping(), filter));
    }
    st->set_grouping(request->grouping() == v1::STATEMENT_GROUPING_UNSPECIFIED
                         ? v1::STATEMENT_GROUPING_RECIPIENT
                         : request->grouping());
    *st->mutable_period_start() = request->period_start();
    *st->mutable_period_end() = request->period_end();
    LC_ASSIGN_OR_RETURN(
        auto lines, store_.StatementLines(caller.brand_id, start, end, request->grouping(), filter,
                                          after, limit + 1));
    if (common::TrimPage(lines, limit)) {
      st->set_next_page_token(EncodeLineToken(lines.back().second));
    }
    for (auto& [entry, cursor] : lines) *st->add_lines() = std::move(entry);
    return absl::OkStatus();
  }());
}

grpc::Status AttributionServiceImpl::ExportStatementCsv(
    grpc::ServerContext* context, const v1::ExportStatementCsvRequest* request,
    v1::ExportStatementCsvResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    v1::LedgerFilter filter = request->filter();
    absl::Time start, end;
    LC_RETURN_IF_ERROR(StatementRequest(caller, request->period_start(), request->period_end(),
                                        request->grouping(), filter, start, end));
    LC_ASSIGN_OR_RETURN(int limit, common::PageSize(request->page_size(), 5000, kMaxStatementPage));
    LC_ASSIGN_OR_RETURN(std::optional<LineCursor> after, DecodeLineToken(request->page_token()));
    LC_ASSIGN_OR_RETURN(
        auto lines, store_.StatementLines(caller.brand_id, start, end, request->grouping(), filter,
                                          after, limit + 1));
    const bool more = common::TrimPage(lines, limit);
    std::string csv;
    if (!after.has_value()) {
      csv =
          "order_id,booked_at,kind,status,recipient,recipient_id,store_id,rule_id,rule_version,"
          "line_no,basis_points,base_fen,amount_fen,currency,refund_id,settle_at\r\n";
    }
    for (const auto& [e, cursor] : lines) {
      absl::StrAppend(&csv, CsvField(e.order_id()), ",", CsvTime(e.booked_at()), ",",
                      v1::EntryKind_Name(e.kind()), ",", v1::EntryStatus_Name(e.status()), ",",
                      v1::Recipient_Name(e.recipient()), ",", CsvField(e.recipient_id()), ",",
                      e.store_id(), ",", e.rule_id(), ",", e.rule_version(), ",", e.line_no(), ",",
                      e.basis_points(), ",", e.base_fen(), ",", e.amount().amount_fen(), ",",
                      e.amount().currency(), ",", CsvField(e.refund_id()), ",",
                      CsvTime(e.settle_at()), "\r\n");
    }
    if (more) {
      response->set_next_page_token(EncodeLineToken(lines.back().second));
    } else {
      // The last page: totals per group, then per currency.
      LC_ASSIGN_OR_RETURN(v1::Statement st, store_.StatementTotals(caller.brand_id, start, end,
                                                                   request->grouping(), filter));
      absl::StrAppend(&csv,
                      "\r\ntotal,recipient,recipient_id,currency,sales_fen,reversals_fen,"
                      "receivables_fen,net_fen,pending_fen,settled_fen,entries,sale_entries\r\n");
      auto row = [&](const std::string& label, const std::string& recipient, const std::string& id,
                     const v1::StatementTotals& t) {
        absl::StrAppend(&csv, label, ",", recipient, ",", CsvField(id), ",", t.currency(), ",",
                        t.sales_fen(), ",", t.reversals_fen(), ",", t.receivables_fen(), ",",
                        t.net_fen(), ",", t.pending_fen(), ",", t.settled_fen(), ",", t.entries(),
                        ",", t.sale_entries(), "\r\n");
      };
      for (const v1::StatementGroup& g : st.groups()) {
        row("group",
            g.recipient() == v1::RECIPIENT_UNSPECIFIED ? "" : v1::Recipient_Name(g.recipient()),
            g.recipient_id(), g.totals());
      }
      for (const v1::StatementTotals& t : st.totals()) row("all", "", "", t);
    }
    response->set_csv(std::move(csv));
    return absl::OkStatus();
  }());
}

// ---- Alerts ------------------------------------------------------------------------------------

void AttributionServiceImpl::EndWatches() {
  {
    std::lock_guard<std::mutex> lock(alerts_mu_);
    watches_ended_ = true;
  }
  alerts_cv_.notify_all();
}

void AttributionServiceImpl::NotifyAlerts() {
  {
    std::lock_guard<std::mutex> lock(alerts_mu_);
    ++alerts_generation_;
  }
  alerts_cv_.notify_all();
}

grpc::Status AttributionServiceImpl::RecordClientActivity(
    grpc::ServerContext* context, const v1::RecordClientActivityRequest* request,
    v1::RecordClientActivityResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, {Role::kService}));
    LC_RETURN_IF_ERROR(ValidateViewerId("viewer_id", request->viewer_id()));
    LC_RETURN_IF_ERROR(ValidateExternalId("room_id", request->room_id(), false));
    LC_RETURN_IF_ERROR(ValidateExternalId("session_id", request->session_id(), false));
    LC_RETURN_IF_ERROR(ValidateExternalId("sku_id", request->sku_id(), false));
    v1::ActivityKind kind = request->kind();
    if (kind == v1::ACTIVITY_KIND_UNSPECIFIED || !v1::ActivityKind_IsValid(kind)) {
      return InvalidField("kind", "is not an activity kind");
    }
    bool livestream =
        kind == v1::ACTIVITY_KIND_JOINED_LIVESTREAM || kind == v1::ACTIVITY_KIND_LEFT_LIVESTREAM;
    if (livestream && request->room_id().empty()) return InvalidField("room_id", "is required");
    if (!request->room_id().empty()) {
      LC_RETURN_IF_ERROR(KnownRoom(caller.brand_id, "room_id", request->room_id()));
    }
    LC_RETURN_IF_ERROR(ValidateExternalId("order_id", request->order_id(),
                                          kind == v1::ACTIVITY_KIND_ORDER_CREATED));
    if (request->has_amount()) LC_RETURN_IF_ERROR(ValidateMoney("amount", request->amount()));
    absl::Time at = clock_.Now();
    if (request->has_occurred_at()) {
      LC_ASSIGN_OR_RETURN(at, common::ParseTimestamp("occurred_at", request->occurred_at()));
    }
    // Alerts go to the associate the viewer is bound to at the time.
    LC_ASSIGN_OR_RETURN(std::optional<BindingFact> binding,
                        store_.BindingAt(caller.brand_id, request->viewer_id(), at));
    bool bound = binding.has_value() && binding->associate.active && BindingInForce(*binding, at);
    if (kind == v1::ACTIVITY_KIND_LEFT_LIVESTREAM) {
      return store_.SetPresence(caller.brand_id, request->room_id(), request->viewer_id(),
                                bound ? binding->associate.id : 0, false, at);
    }
    if (!bound) return absl::OkStatus();
    v1::Alert alert;
    alert.set_associate_id(absl::StrCat(binding->associate.id));
    alert.set_viewer_id(request->viewer_id());
    alert.set_room_id(request->room_id());
    alert.set_session_id(request->session_id());
    alert.set_order_id(request->order_id());
    alert.set_sku_id(request->sku_id());
    if (request->has_amount()) *alert.mutable_amount() = request->amount();
    common::ToTimestamp(at, alert.mutable_occurred_at());
    std::string dedupe;
    switch (kind) {
      case v1::ACTIVITY_KIND_JOINED_LIVESTREAM:
        LC_RETURN_IF_ERROR(store_.SetPresence(caller.brand_id, request->room_id(),
                                              request->viewer_id(), binding->associate.id, true,
                                              at));
        alert.set_kind(v1::ALERT_KIND_JOINED_LIVESTREAM);
        if (!request->session_id().empty()) {
          dedupe = absl::StrCat("joined:", request->session_id(), ":", request->viewer_id());
        }
        break;
      case v1::ACTIVITY_KIND_ADDED_TO_CART:
        alert.set_kind(v1::ALERT_KIND_ADDED_TO_CART);
        break;
      case v1::ACTIVITY_KIND_ORDER_CREATED:
        // Alerted later by AlertUnpaidOnce if it stays unpaid.
        return store_.WatchUnpaidOrder(caller.brand_id, alert);
      default:
        return absl::OkStatus();
    }
    LC_ASSIGN_OR_RETURN(*response->mutable_alert(),
                        store_.AddAlert(caller.brand_id, alert, dedupe));
    NotifyAlerts();
    return absl::OkStatus();
  }());
}

grpc::Status AttributionServiceImpl::ListAlerts(grpc::ServerContext* context,
                                                const v1::ListAlertsRequest* request,
                                                v1::ListAlertsResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, {Role::kAssociate}));
    int64_t self = IdOf(caller.subject);
    int64_t after = 0;
    if (!request->after_id().empty()) {
      LC_ASSIGN_OR_RETURN(after, common::ParseId("after_id", request->after_id()));
    }
    LC_ASSIGN_OR_RETURN(int limit,
                        common::PageSize(request->page_size(), kDefaultPageSize, kMaxPageSize));
    LC_ASSIGN_OR_RETURN(std::vector<v1::Alert> alerts,
                        store_.ListAlerts(caller.brand_id, self, after, limit));
    for (v1::Alert& a : alerts) *response->add_alerts() = std::move(a);
    return absl::OkStatus();
  }());
}

grpc::Status AttributionServiceImpl::WatchAlerts(
    grpc::ServerContext* context, const v1::WatchAlertsRequest* request,
    grpc::ServerWriter<v1::WatchAlertsResponse>* writer) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, {Role::kAssociate}));
    int64_t self = IdOf(caller.subject);
    int64_t after = 0;
    if (!request->after_id().empty()) {
      LC_ASSIGN_OR_RETURN(after, common::ParseId("after_id", request->after_id()));
    }
    // Tells the caller the stream is accepted before there is anything to send (the gateway
    // confirms the subscription to its WebSocket then). The marker tells this from the empty
    // initial metadata of a refusal.
    context->AddInitialMetadata("x-lc-stream", "open");
    writer->SendInitialMetadata();
    // Pushes new alerts as they are recorded here, and polls MySQL every second for those
    // recorded by other instances.
    while (!context->IsCancelled()) {
      uint64_t generation;
      {
        std::lock_guard<std::mutex> lock(alerts_mu_);
        if (watches_ended_) break;
        generation = alerts_generation_;
      }
      LC_ASSIGN_OR_RETURN(std::vector<v1::Alert> alerts,
                          store_.ListAlerts(caller.brand_id, self, after, kMaxPageSize));
      if (!alerts.empty()) {
        v1::WatchAlertsResponse batch;
        for (v1::Alert& a : alerts) *batch.add_alerts() = std::move(a);
        after = IdOf(batch.alerts(batch.alerts_size() - 1).id());
        if (!writer->Write(batch)) return absl::OkStatus();
        continue;
      }
      std::unique_lock<std::mutex> lock(alerts_mu_);
      alerts_cv_.wait_for(lock, std::chrono::seconds(1),
                          [&] { return alerts_generation_ != generation || watches_ended_; });
    }
    return absl::OkStatus();
  }());
}

grpc::Status AttributionServiceImpl::ListWatchingClients(
    grpc::ServerContext* context, const v1::ListWatchingClientsRequest* request,
    v1::ListWatchingClientsResponse* response) {
  return common::ToGrpcStatus([&]() -> absl::Status {
    LC_ASSIGN_OR_RETURN(Principal caller, Caller(*context));
    LC_RETURN_IF_ERROR(common::RequireRole(caller, caller.brand_id, {Role::kAssociate}));
    LC_RETURN_IF_ERROR(ValidateExternalId("room_id", request->room_id(), true));
    LC_RETURN_IF_ERROR(KnownRoom(caller.brand_id, "room_id", request->room_id()));
    LC_ASSIGN_OR_RETURN(
        std::vector<std::string> viewers,
        store_.WatchingClients(caller.brand_id, IdOf(caller.subject), request->room_id()));
    for (std::string& v : viewers) response->add_viewer_ids(std::move(v));
    common::ToTimestamp(clock_.Now(), response->mutable_as_of());
    return absl::OkStatus();
  }());
}

// ---- Background --------------------------------------------------------------------------------

absl::StatusOr<absl::Time> AttributionServiceImpl::SettleOnce() {
  absl::Time now = clock_.Now();
  return store_.Settle(now, now);
}

absl::StatusOr<int> AttributionServiceImpl::AlertUnpaidOnce() {
  LC_ASSIGN_OR_RETURN(int raised,
                      store_.AlertUnpaidOrders(clock_.Now() - options_.unpaid_alert_after));
  if (raised > 0) NotifyAlerts();
  return raised;
}

}  // namespace livecommerce::attribution
