#pragma once

// Internal to AttributionServiceImpl: who may call which method, and the checks of request fields
// its section files share. Nothing outside services/attribution/api/ includes this.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "livecommerce/v1/attribution.pb.h"
#include "services/common/handler.h"
#include "services/common/proto_util.h"

namespace livecommerce::attribution::request_checks {

// The roles each method admits (brand and ownership checks stay in the handlers).
inline constexpr common::Roles kOps{common::Role::kOps};
inline constexpr common::Roles kFinance{common::Role::kFinance};
inline constexpr common::Roles kOpsOrFinance{common::Role::kOps, common::Role::kFinance};
inline constexpr common::Roles kViewer{common::Role::kViewer};
inline constexpr common::Roles kAssociate{common::Role::kAssociate};
inline constexpr common::Roles kService = common::kServiceOnly;
// Methods about an associate (see Whose): the associate for itself, or the staff named after it.
inline constexpr common::Roles kSelfOrOps{common::Role::kAssociate, common::Role::kOps};
inline constexpr common::Roles kSelfOrFinance{common::Role::kAssociate, common::Role::kFinance};
inline constexpr common::Roles kSelfOrOpsOrFinance{common::Role::kAssociate, common::Role::kOps,
                                                   common::Role::kFinance};
// Other services (the room service) check the associate ids their requests name.
inline constexpr common::Roles kSelfOrStaffOrService{
    common::Role::kAssociate, common::Role::kOps, common::Role::kFinance, common::Role::kService};

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;

// A list request's page, in the one paging convention (common::PageRequest).
template <typename Request>
absl::StatusOr<common::PageRequest> Page(const Request& request) {
  return common::ParsePageRequest(request.page_size(), request.page_token(), kDefaultPageSize,
                                  kMaxPageSize);
}

// The row id behind an API id; 0 when it is not one.
int64_t IdOf(const std::string& id);

// An id of another service (room, session, order, product ...): opaque, 1..64 id characters.
absl::Status ValidateExternalId(absl::string_view field, const std::string& value, bool required);
absl::Status ValidateViewerId(absl::string_view field, const std::string& value);
// A positive amount (at most kMaxAmountFen) in an ISO 4217 currency.
absl::Status ValidateMoney(absl::string_view field, const v1::Money& money);
// A timestamp the request must carry (`has`: whether it does).
absl::StatusOr<absl::Time> RequiredTime(absl::string_view field,
                                        const google::protobuf::Timestamp& ts, bool has);

// The channel a touch through a share link of this kind arrives by.
v1::Channel ChannelOfShare(v1::ShareChannel channel);

}  // namespace livecommerce::attribution::request_checks
