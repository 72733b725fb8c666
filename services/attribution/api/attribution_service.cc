// AttributionServiceImpl: options, construction, and the references requests make.
#include "services/attribution/api/attribution_service.h"

#include "absl/strings/str_cat.h"
#include "services/attribution/api/request_checks.h"
#include "services/common/config.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"

namespace livecommerce::attribution {

using common::Principal;
using common::Role;
using request_checks::IdOf;

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
                                               AttributionServiceOptions options,
                                               ShareCodeMaker* codes)
    : store_(store),
      directories_(directories),
      clock_(clock),
      codec_(codec),
      options_(options),
      codes_(codes != nullptr ? *codes : local_codes_) {}

absl::StatusOr<int64_t> AttributionServiceImpl::Whose(const Principal& caller,
                                                      const std::string& field,
                                                      const std::string& asked) const {
  if (caller.role == Role::kAssociate) {
    if (!asked.empty() && asked != caller.subject) {
      return absl::PermissionDeniedError(absl::StrCat(field, ": an associate reads only its own"));
    }
    int64_t self = IdOf(caller.subject);
    if (self == 0) return absl::PermissionDeniedError("the caller is not a known associate");
    return self;
  }
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

}  // namespace livecommerce::attribution
