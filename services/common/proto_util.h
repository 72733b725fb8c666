#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace livecommerce::common {

void ToTimestamp(absl::Time t, google::protobuf::Timestamp* out);
absl::Time FromTimestamp(const google::protobuf::Timestamp& ts);
// RFC 3339 in UTC with milliseconds ("2026-12-07T06:00:00.123Z"), as pushed messages carry times.
std::string FormatRfc3339Millis(absl::Time t);
// INVALID_ARGUMENT naming `field` when the timestamp is out of range.
absl::StatusOr<absl::Time> ParseTimestamp(absl::string_view field,
                                          const google::protobuf::Timestamp& ts);

// Ids are opaque strings to clients; inside they are positive integers. INVALID_ARGUMENT naming
// `field` when `value` is not one.
absl::StatusOr<int64_t> ParseId(absl::string_view field, absl::string_view value);
std::string FormatId(int64_t id);

// Cursor pagination: a page token wraps the last id of the previous page.
std::string EncodePageToken(int64_t last_id);
absl::StatusOr<int64_t> DecodePageToken(absl::string_view token);  // "" -> 0
// 0 means the default; otherwise 1..max_size, else INVALID_ARGUMENT naming page_size.
absl::StatusOr<int> PageSize(int32_t requested, int default_size, int max_size);

// The one paging convention of every list: the store is asked for one row more than the page
// holds (`fetch()`); TrimPage keeps the page's rows and says whether more follow, so a next page
// token is given only when there is a next page (a list never ends with an empty page).
struct PageRequest {
  int64_t after = 0;  // the last id of the previous page (0: from the start)
  int limit = 0;      // rows in a page
  int fetch() const { return limit + 1; }
};
// page_size and page_token as PageSize and DecodePageToken read them.
absl::StatusOr<PageRequest> ParsePageRequest(int32_t page_size, absl::string_view page_token,
                                             int default_size, int max_size);
// `rows` as fetched with PageRequest::fetch(): cut to `limit`; true when more rows follow.
template <typename Row>
bool TrimPage(std::vector<Row>& rows, int limit) {
  if (static_cast<int>(rows.size()) <= limit) return false;
  rows.resize(static_cast<size_t>(limit));
  return true;
}

}  // namespace livecommerce::common
