#include "services/common/proto_util.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/crypto.h"
#include "services/common/status.h"

namespace livecommerce::common {
namespace {
constexpr absl::string_view kPagePrefix = "p1:";
// 0001-01-01 and 9999-12-31, the range protobuf allows.
constexpr int64_t kMinSeconds = -62135596800;
constexpr int64_t kMaxSeconds = 253402300799;
}  // namespace

void ToTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

std::string FormatRfc3339Millis(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

absl::StatusOr<absl::Time> ParseTimestamp(absl::string_view field,
                                          const google::protobuf::Timestamp& ts) {
  if (ts.seconds() < kMinSeconds || ts.seconds() > kMaxSeconds || ts.nanos() < 0 ||
      ts.nanos() > 999999999) {
    return InvalidField(field, "is not a valid timestamp");
  }
  return FromTimestamp(ts);
}

absl::StatusOr<int64_t> ParseId(absl::string_view field, absl::string_view value) {
  int64_t id = 0;
  if (value.empty()) {
    return InvalidField(field, "is required");
  }
  if (value.size() > 19 || !absl::SimpleAtoi(value, &id) || id <= 0 || absl::StrCat(id) != value) {
    return InvalidField(field, "is not a valid id");
  }
  return id;
}

std::string FormatId(int64_t id) { return id == 0 ? std::string() : absl::StrCat(id); }

std::string EncodePageToken(int64_t last_id) {
  return Base64UrlEncode(absl::StrCat(kPagePrefix, last_id));
}

absl::StatusOr<int64_t> DecodePageToken(absl::string_view token) {
  if (token.empty()) {
    return 0;
  }
  std::string raw;
  int64_t id = 0;
  if (token.size() > 64 || !Base64UrlDecode(token, &raw) || !absl::StartsWith(raw, kPagePrefix) ||
      !absl::SimpleAtoi(absl::string_view(raw).substr(kPagePrefix.size()), &id) || id < 0) {
    return InvalidField("page_token", "is not a token this service issued");
  }
  return id;
}

absl::StatusOr<int> PageSize(int32_t requested, int default_size, int max_size) {
  if (requested == 0) {
    return default_size;
  }
  if (requested < 0 || requested > max_size) {
    return InvalidField("page_size", absl::StrCat("must be between 1 and ", max_size));
  }
  return requested;
}

absl::StatusOr<PageRequest> ParsePageRequest(int32_t page_size, absl::string_view page_token,
                                             int default_size, int max_size) {
  PageRequest page;
  LC_ASSIGN_OR_RETURN(page.limit, PageSize(page_size, default_size, max_size));
  LC_ASSIGN_OR_RETURN(page.after, DecodePageToken(page_token));
  return page;
}

}  // namespace livecommerce::common
