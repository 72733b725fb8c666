#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace livecommerce::common {

void ToTimestamp(absl::Time t, google::protobuf::Timestamp* out);
absl::Time FromTimestamp(const google::protobuf::Timestamp& ts);
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

}  // namespace livecommerce::common
