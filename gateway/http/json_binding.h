#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace livecommerce::gateway {

// How deep arrays and objects may nest in a request body (LC_GATEWAY_MAX_JSON_DEPTH): the deepest
// request message nests a handful of levels.
inline constexpr int kDefaultMaxJsonDepth = 32;

// INVALID_ARGUMENT ("body: nested deeper than N") when arrays and objects in `body` nest deeper
// than `max_depth`. One pass, no allocation and no recursion (brackets inside strings do not
// count), so a body nested 10,000 deep is refused before any parser sees it.
absl::Status CheckJsonDepth(absl::string_view body, int max_depth);

// Parses a JSON body into `message` with protobuf's JSON mapping, after CheckJsonDepth. Unknown
// fields, wrong types and malformed JSON are INVALID_ARGUMENT naming the field ("item.quantity:
// ...") or "body".
absl::Status BindJsonBody(absl::string_view body, google::protobuf::Message& message,
                          int max_depth = kDefaultMaxJsonDepth);

// Sets top-level scalar fields from name/value pairs (path parameters and query strings): strings,
// integers, booleans and enums (by name or number). INVALID_ARGUMENT naming the parameter when the
// message has no such scalar field or the value does not fit.
absl::Status BindParams(const std::vector<std::pair<std::string, std::string>>& params,
                        google::protobuf::Message& message);

// Decodes "a=1&b=x%20y" (RFC 3986 percent-encoding, '+' as space). INVALID_ARGUMENT for bad
// escapes or a repeated name.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQuery(
    absl::string_view query);

// Whether a field holds an identifier or a key (brand_id, room_id, sku_ids, idempotency_key,
// invite_token, cohort ...): such values are compared byte for byte everywhere, so the gateway
// refuses the ones that only look like another: with surrounding whitespace (ASCII or Unicode,
// the ideographic space among them) or with control characters anywhere.
bool IsIdentifierField(absl::string_view name);

// INVALID_ARGUMENT ("room_id: must not ...") when `value` of identifier `name` has surrounding
// whitespace or a control character; OK otherwise (an empty value included).
absl::Status CheckIdentifier(absl::string_view name, absl::string_view value);

// CheckIdentifier on every identifier field of `message`, nested messages and repeated fields
// included; the field is named by its path ("lines[1].sku_id").
absl::Status CheckIdentifiers(const google::protobuf::Message& message);

// Builds an RPC's request from an HTTP call the way the gateway does: the JSON body, then the
// query string's parameters, then the path's (`path_params`, from the router). The path names the
// resource: a body or query that names another one is INVALID_ARGUMENT ("room_id: differs from the
// path"), as is anything BindJsonBody, ParseQuery or BindParams refuses, or CheckIdentifiers.
absl::Status BindRequest(absl::string_view body, absl::string_view query,
                         const std::vector<std::pair<std::string, std::string>>& path_params,
                         google::protobuf::Message& message, int max_depth = kDefaultMaxJsonDepth);

// Sets `brand_id` when the message has a top-level string field of that name and it is empty.
void FillBrand(google::protobuf::Message& message, const std::string& brand_id);

// The JSON of `message` (field names as in the protos, every scalar field printed), or of the
// sub-message at `field_path` ("order.payment") when given.
std::string ToJson(const google::protobuf::Message& message, absl::string_view field_path = "");

}  // namespace livecommerce::gateway
