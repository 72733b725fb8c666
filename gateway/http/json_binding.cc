#include "gateway/http/json_binding.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

absl::StatusOr<std::string> PercentDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) {
        return absl::InvalidArgumentError("query: bad percent-encoding");
      }
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return absl::InvalidArgumentError("query: bad percent-encoding");
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
  for (const auto& [name, value] : path_params) {
    const FieldDescriptor* field = message.GetDescriptor()->FindFieldByName(name);
    if (field != nullptr && field->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
        !field->is_repeated()) {
      std::string given = message.GetReflection()->GetString(message, field);
      if (!given.empty() && given != value) return BadParam(name, "differs from the path");
    }
  }
  return BindParams(path_params, message);
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
