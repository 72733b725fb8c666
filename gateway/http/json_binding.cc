#include "gateway/http/json_binding.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/status.h"
#include "services/common/validation.h"

namespace livecommerce::gateway {
namespace {

using google::protobuf::FieldDescriptor;

// protobuf reports "(a.b[0].c): invalid value ...", "(a.b) c: Cannot find field." and
// "c: Cannot find field."; the first line of anything else is a syntax error.
absl::Status JsonError(absl::string_view message) {
  absl::string_view line = message.substr(0, message.find('\n'));
  std::string path;
  if (absl::StartsWith(line, "(")) {
    size_t close = line.find(')');
    if (close != absl::string_view::npos) {
      path = std::string(line.substr(1, close - 1));
      line.remove_prefix(close + 1);
      if (absl::StartsWith(line, ": ")) {
        absl::string_view problem = line.substr(2);
        if (problem.size() > 120) problem = problem.substr(0, 120);
        return absl::InvalidArgumentError(
            absl::StrCat(path.empty() ? "body" : path, ": ", problem));
      }
      line = absl::StripLeadingAsciiWhitespace(line);
    }
  }
  size_t unknown = line.find(": Cannot find field");
  if (unknown != absl::string_view::npos && unknown > 0) {
    std::string field = std::string(line.substr(0, unknown));
    return absl::InvalidArgumentError(
        absl::StrCat(path.empty() ? field : absl::StrCat(path, ".", field), ": unknown field"));
  }
  absl::string_view problem = absl::StripAsciiWhitespace(line);
  if (absl::StartsWith(problem, ": ")) problem.remove_prefix(2);
  if (problem.size() > 120) problem = problem.substr(0, 120);
  return absl::InvalidArgumentError(absl::StrCat("body: malformed JSON: ", problem));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `in_path`: a path segment, where '+' is itself (in a query it is a space).
absl::StatusOr<std::string> PercentDecode(absl::string_view text, bool in_path = false) {
  const char* bad = in_path ? "path: bad percent-encoding" : "query: bad percent-encoding";
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && !in_path) {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) {
        return absl::InvalidArgumentError(bad);
      }
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return absl::InvalidArgumentError(bad);
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::Status BadParam(absl::string_view name, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(name, ": ", problem));
}

// The next code point of valid UTF-8 `text` at `*at` (advanced past it).
uint32_t NextCodePoint(absl::string_view text, size_t* at) {
  unsigned char c = static_cast<unsigned char>(text[*at]);
  int extra = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
  uint32_t cp = extra == 0 ? c : extra == 1 ? (c & 0x1F) : extra == 2 ? (c & 0x0F) : (c & 0x07);
  ++*at;
  for (int i = 0; i < extra && *at < text.size(); ++i, ++*at) {
    cp = (cp << 6) | (static_cast<unsigned char>(text[*at]) & 0x3F);
  }
  return cp;
}

// Unicode White_Space, and the invisible characters that make one id look like another.
bool IsSpaceLike(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

bool IsInvisible(uint32_t cp) {
  return (cp >= 0x200B && cp <= 0x200F) || cp == 0x2060 || cp == 0xFEFF ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

bool IsControl(uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

absl::Status CheckIdentifiersAt(const google::protobuf::Message& message,
                                const std::string& prefix) {
  const google::protobuf::Descriptor* descriptor = message.GetDescriptor();
  const google::protobuf::Reflection* reflection = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    std::string name = prefix + field->name();
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_map()) continue;  // free-form attributes, not identifiers
      if (field->is_repeated()) {
        for (int j = 0; j < reflection->FieldSize(message, field); ++j) {
          LC_RETURN_IF_ERROR(CheckIdentifiersAt(reflection->GetRepeatedMessage(message, field, j),
                                                absl::StrCat(name, "[", j, "].")));
        }
      } else if (reflection->HasField(message, field)) {
        LC_RETURN_IF_ERROR(CheckIdentifiersAt(reflection->GetMessage(message, field), name + "."));
      }
      continue;
    }
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_STRING || !IsIdentifierField(field->name())) {
      continue;
    }
    if (field->is_repeated()) {
      for (int j = 0; j < reflection->FieldSize(message, field); ++j) {
        LC_RETURN_IF_ERROR(CheckIdentifier(absl::StrCat(name, "[", j, "]"),
                                           reflection->GetRepeatedString(message, field, j)));
      }
    } else {
      LC_RETURN_IF_ERROR(CheckIdentifier(name, reflection->GetString(message, field)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckJsonDepth(absl::string_view body, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, a quote included
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) {
        return absl::InvalidArgumentError(
            absl::StrCat("body: nested deeper than ", max_depth, " levels"));
      }
    } else if (c == '}' || c == ']') {
      --depth;  // unbalanced brackets are the parser's to report
    }
  }
  return absl::OkStatus();
}

bool IsIdentifierField(absl::string_view name) {
  static constexpr absl::string_view kKeys[] = {
      "idempotency_key", "invite_token", "token", "code", "sku_code", "cohort", "out_trade_no"};
  if (absl::EndsWith(name, "_id") || absl::EndsWith(name, "_ids")) return true;
  for (absl::string_view key : kKeys) {
    if (name == key) return true;
  }
  return false;
}

absl::Status CheckIdentifier(absl::string_view name, absl::string_view value) {
  if (value.empty()) return absl::OkStatus();
  if (!common::IsValidUtf8(value)) return BadParam(std::string(name), "must be UTF-8");
  size_t at = 0;
  bool first = true;
  uint32_t cp = 0;
  while (at < value.size()) {
    cp = NextCodePoint(value, &at);
    if (IsControl(cp)) {
      return BadParam(std::string(name), "must not contain control characters");
    }
    if (IsInvisible(cp)) {
      return BadParam(std::string(name), "must not contain invisible characters");
    }
    if (first && IsSpaceLike(cp)) {
      return BadParam(std::string(name), "must not start or end with whitespace");
    }
    first = false;
  }
  if (IsSpaceLike(cp)) {
    return BadParam(std::string(name), "must not start or end with whitespace");
  }
  return absl::OkStatus();
}

absl::Status CheckIdentifiers(const google::protobuf::Message& message) {
  return CheckIdentifiersAt(message, "");
}

absl::Status BindJsonBody(absl::string_view body, google::protobuf::Message& message,
                          int max_depth) {
  if (absl::StripAsciiWhitespace(body).empty()) {
    return absl::OkStatus();  // no body: an empty request
  }
  if (absl::Status s = CheckJsonDepth(body, max_depth); !s.ok()) return s;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), &message, options);
  if (parsed.ok()) {
    return absl::OkStatus();
  }
  std::string problem(parsed.message());
  return JsonError(problem);
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQuery(
    absl::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  if (query.empty()) return out;
  for (absl::string_view part : absl::StrSplit(query, '&')) {
    if (part.empty()) continue;
    size_t eq = part.find('=');
    absl::StatusOr<std::string> name = PercentDecode(part.substr(0, eq));
    if (!name.ok()) return name.status();
    absl::StatusOr<std::string> value =
        PercentDecode(eq == absl::string_view::npos ? "" : part.substr(eq + 1));
    if (!value.ok()) return value.status();
    for (const auto& [seen, unused] : out) {
      if (seen == *name) return BadParam(*name, "given more than once");
    }
    out.emplace_back(*std::move(name), *std::move(value));
  }
  return out;
}

absl::Status BindParams(const std::vector<std::pair<std::string, std::string>>& params,
                        google::protobuf::Message& message) {
  const google::protobuf::Descriptor* descriptor = message.GetDescriptor();
  const google::protobuf::Reflection* reflection = message.GetReflection();
  for (const auto& [name, value] : params) {
    const FieldDescriptor* field = descriptor->FindFieldByName(name);
    for (int i = 0; field == nullptr && i < descriptor->field_count(); ++i) {
      if (descriptor->field(i)->json_name() == name) field = descriptor->field(i);
    }
    if (field == nullptr || field->is_repeated() ||
        field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      return BadParam(name, "unknown parameter");
    }
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        if (value.size() > 1024) return BadParam(name, "too long");
        // A string field must be UTF-8 or the service cannot parse the request: "%FF" decodes
        // to a byte protobuf would only log about while sending it.
        if (field->type() == FieldDescriptor::TYPE_STRING && !common::IsValidUtf8(value)) {
          return BadParam(name, "must be UTF-8");
        }
        reflection->SetString(&message, field, value);
        break;
      case FieldDescriptor::CPPTYPE_INT32: {
        int32_t v = 0;
        if (!absl::SimpleAtoi(value, &v)) return BadParam(name, "must be an integer");
        reflection->SetInt32(&message, field, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t v = 0;
        if (!absl::SimpleAtoi(value, &v)) return BadParam(name, "must be an integer");
        reflection->SetInt64(&message, field, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_UINT32: {
        uint32_t v = 0;
        if (!absl::SimpleAtoi(value, &v)) return BadParam(name, "must be an unsigned integer");
        reflection->SetUInt32(&message, field, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_UINT64: {
        uint64_t v = 0;
        if (!absl::SimpleAtoi(value, &v)) return BadParam(name, "must be an unsigned integer");
        reflection->SetUInt64(&message, field, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_BOOL:
        if (value == "true" || value == "1") {
          reflection->SetBool(&message, field, true);
        } else if (value == "false" || value == "0") {
          reflection->SetBool(&message, field, false);
        } else {
          return BadParam(name, "must be true or false");
        }
        break;
      case FieldDescriptor::CPPTYPE_ENUM: {
        const google::protobuf::EnumValueDescriptor* ev =
            field->enum_type()->FindValueByName(value);
        int number = 0;
        if (ev == nullptr && absl::SimpleAtoi(value, &number)) {
          ev = field->enum_type()->FindValueByNumber(number);
        }
        if (ev == nullptr) return BadParam(name, "is not one of its enum values");
        reflection->SetEnum(&message, field, ev);
        break;
      }
      default:
        return BadParam(name, "cannot be given as a parameter");
    }
  }
  return absl::OkStatus();
}

absl::Status BindRequest(absl::string_view body, absl::string_view query,
                         const std::vector<std::pair<std::string, std::string>>& path_params,
                         google::protobuf::Message& message, int max_depth) {
  if (absl::Status s = BindJsonBody(body, message, max_depth); !s.ok()) return s;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> query_params = ParseQuery(query);
  if (!query_params.ok()) return query_params.status();
  if (absl::Status s = BindParams(*query_params, message); !s.ok()) return s;
  // Path segments arrive percent-encoded ("12%20" is "12 "): decoded before they are checked.
  std::vector<std::pair<std::string, std::string>> decoded;
  for (const auto& [name, raw] : path_params) {
    absl::StatusOr<std::string> value = PercentDecode(raw, true);
    if (!value.ok()) return value.status();
    decoded.emplace_back(name, *std::move(value));
  }
  for (const auto& [name, value] : decoded) {
    const FieldDescriptor* field = message.GetDescriptor()->FindFieldByName(name);
    if (field != nullptr && field->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
        !field->is_repeated()) {
      std::string given = message.GetReflection()->GetString(message, field);
      if (!given.empty() && given != value) return BadParam(name, "differs from the path");
    }
  }
  if (absl::Status s = BindParams(decoded, message); !s.ok()) return s;
  return CheckIdentifiers(message);
}

void FillBrand(google::protobuf::Message& message, const std::string& brand_id) {
  const FieldDescriptor* field = message.GetDescriptor()->FindFieldByName("brand_id");
  if (field == nullptr || field->is_repeated() ||
      field->cpp_type() != FieldDescriptor::CPPTYPE_STRING) {
    return;
  }
  if (message.GetReflection()->GetString(message, field).empty()) {
    message.GetReflection()->SetString(&message, field, brand_id);
  }
}

std::string ToJson(const google::protobuf::Message& message, absl::string_view field_path) {
  const google::protobuf::Message* target = &message;
  if (!field_path.empty()) {
    for (absl::string_view name : absl::StrSplit(field_path, '.')) {
      const FieldDescriptor* field = target->GetDescriptor()->FindFieldByName(std::string(name));
      if (field == nullptr || field->is_repeated() ||
          field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
        break;
      }
      target = &target->GetReflection()->GetMessage(*target, field);
    }
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(*target, &json, options);
  return json;
}

}  // namespace livecommerce::gateway
