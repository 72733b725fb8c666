#include "gateway/http/openapi.h"

#include <google/protobuf/descriptor.h>

#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_split.h"
#include "gateway/proto/gateway.pb.h"
#include "livecommerce/v1/attribution.pb.h"

namespace livecommerce::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using json = nlohmann::ordered_json;

std::string Ref(const Descriptor* d) { return "#/components/schemas/" + d->full_name(); }

class SchemaBuilder {
 public:
  json FieldSchema(const FieldDescriptor* f) {
    if (f->is_map()) {
      const FieldDescriptor* value = f->message_type()->map_value();
      return json{{"type", "object"}, {"additionalProperties", ScalarSchema(value)}};
    }
    json single = ScalarSchema(f);
    if (f->is_repeated()) return json{{"type", "array"}, {"items", single}};
    return single;
  }

  json MessageRef(const Descriptor* d) {
    if (d->full_name() == "google.protobuf.Timestamp") {
      return json{{"type", "string"}, {"format", "date-time"}};
    }
    Add(d);
    return json{{"$ref", Ref(d)}};
  }

  void Add(const Descriptor* d) {
    if (!seen_.insert(d->full_name()).second) return;
    json properties = json::object();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      properties[f->name()] = FieldSchema(f);
    }
    schemas_[d->full_name()] = json{{"type", "object"}, {"properties", properties}};
  }

  json schemas() const { return schemas_; }

 private:
  json ScalarSchema(const FieldDescriptor* f) {
    switch (f->type()) {
      case FieldDescriptor::TYPE_STRING:
        return json{{"type", "string"}};
      case FieldDescriptor::TYPE_BYTES:
        return json{{"type", "string"}, {"format", "byte"}};
      case FieldDescriptor::TYPE_BOOL:
        return json{{"type", "boolean"}};
      case FieldDescriptor::TYPE_DOUBLE:
      case FieldDescriptor::TYPE_FLOAT:
        return json{{"type", "number"}};
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_UINT64:
      case FieldDescriptor::TYPE_SINT64:
      case FieldDescriptor::TYPE_FIXED64:
      case FieldDescriptor::TYPE_SFIXED64:
        // Protobuf's JSON mapping writes 64-bit integers as strings.
        return json{{"type", "string"}, {"format", "int64"}};
      case FieldDescriptor::TYPE_ENUM: {
        json values = json::array();
        for (int i = 0; i < f->enum_type()->value_count(); ++i) {
          values.push_back(f->enum_type()->value(i)->name());
        }
        return json{{"type", "string"}, {"enum", values}};
      }
      case FieldDescriptor::TYPE_MESSAGE:
      case FieldDescriptor::TYPE_GROUP:
        return MessageRef(f->message_type());
      default:
        return json{{"type", "integer"}, {"format", "int32"}};
    }
  }

  std::set<std::string> seen_;
  json schemas_ = json::object();
};

// The type of `path` ("order.payment") inside `d`, or `d` itself.
const Descriptor* FieldType(const Descriptor* d, const std::string& path) {
  if (path.empty()) return d;
  for (absl::string_view name : absl::StrSplit(path, '.')) {
    const FieldDescriptor* f = d->FindFieldByName(std::string(name));
    if (f == nullptr || f->message_type() == nullptr) return d;
    d = f->message_type();
  }
  return d;
}

json JsonContent(json schema) {
  return json{{"application/json", json{{"schema", std::move(schema)}}}};
}

}  // namespace

std::string BuildOpenApi(const std::vector<Route>& routes) {
  SchemaBuilder schemas;
  json error_ref = schemas.MessageRef(ErrorBody::descriptor());
  json paths = json::object();
  for (const Route& route : routes) {
    json op;
    op["operationId"] = route.name;
    op["summary"] = route.summary;
    std::vector<std::string> segments = absl::StrSplit(route.pattern, '/', absl::SkipEmpty());
    op["tags"] =
        json::array({segments.size() > 1 && segments[0] == "v1" ? segments[1] : "gateway"});
    json roles = json::array();
    for (common::Role r : route.roles) roles.push_back(std::string(common::RoleName(r)));
    if (route.authenticated()) {
      op["security"] = json::array({json{{"bearer", json::array()}}});
      op["x-roles"] = roles;
    }
    json parameters = json::array();
    std::set<std::string> path_params;
    for (const std::string& s : segments) {
      if (s.size() > 2 && s.front() == '{') {
        std::string name = s.substr(1, s.size() - 2);
        path_params.insert(name);
        parameters.push_back(json{{"name", name},
                                  {"in", "path"},
                                  {"required", true},
                                  {"schema", json{{"type", "string"}}}});
      }
    }
    json responses = json::object();
    responses["default"] = json{{"description", "Error"}, {"content", JsonContent(error_ref)}};
    switch (route.kind) {
      case RouteKind::kRpc: {
        const google::protobuf::MethodDescriptor* method =
            google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(route.rpc);
        if (method == nullptr) continue;
        op["x-rpc"] = route.rpc;
        const Descriptor* input = method->input_type();
        if (route.method == "GET" || route.method == "DELETE") {
          for (int i = 0; i < input->field_count(); ++i) {
            const FieldDescriptor* f = input->field(i);
            if (path_params.count(f->name()) || f->is_repeated() ||
                f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
              continue;
            }
            parameters.push_back(json{{"name", f->name()},
                                      {"in", "query"},
                                      {"required", false},
                                      {"schema", schemas.FieldSchema(f)}});
          }
        } else {
          op["requestBody"] =
              json{{"required", false}, {"content", JsonContent(schemas.MessageRef(input))}};
        }
        responses["200"] = json{{"description", "OK"},
                                {"content", JsonContent(schemas.MessageRef(FieldType(
                                                method->output_type(), route.response_field)))}};
        break;
      }
      case RouteKind::kLogin:
        op["requestBody"] =
            json{{"required", true},
                 {"content", JsonContent(schemas.MessageRef(LoginRequest::descriptor()))}};
        responses["200"] =
            json{{"description", "A viewer session token"},
                 {"content", JsonContent(schemas.MessageRef(LoginResponse::descriptor()))}};
        break;
      case RouteKind::kPaymentNotify:
        op["requestBody"] = json{
            {"required", true},
            {"content", json{{"application/json", json{{"schema", json{{"type", "object"}}}}}}}};
        responses["200"] = json{{"description", "Accepted (the order service's answer)"}};
        break;
      case RouteKind::kStreamCallback:
        op["requestBody"] = json{
            {"required", true},
            {"content",
             json{{"application/x-www-form-urlencoded", json{{"schema", json{{"type", "object"}}}}},
                  {"application/json", json{{"schema", json{{"type", "object"}}}}}}}};
        responses["200"] = json{{"description", "Accepted (the room service's answer)"}};
        responses["403"] = json{{"description", "A push refused (nginx-rtmp drops it)"}};
        break;
      case RouteKind::kRoomSocket:
        parameters.push_back(
            json{{"name", "access_token"},
                 {"in", "query"},
                 {"required", false},
                 {"description", "the session token, when no Authorization header"},
                 {"schema", json{{"type", "string"}}}});
        parameters.push_back(json{{"name", "device_id"},
                                  {"in", "query"},
                                  {"required", false},
                                  {"schema", json{{"type", "string"}}}});
        parameters.push_back(json{{"name", "invite_token"},
                                  {"in", "query"},
                                  {"required", false},
                                  {"schema", json{{"type", "string"}}}});
        responses["101"] = json{{"description", "Switching to the WebSocket (see docs/API.md)"}};
        break;
      case RouteKind::kAlertSocket:
        parameters.push_back(
            json{{"name", "access_token"},
                 {"in", "query"},
                 {"required", false},
                 {"description", "the session token, when no Authorization header"},
                 {"schema", json{{"type", "string"}}}});
        parameters.push_back(
            json{{"name", "after_id"},
                 {"in", "query"},
                 {"required", false},
                 {"description", "only alerts newer than this one (the last the client has)"},
                 {"schema", json{{"type", "string"}, {"format", "int64"}}}});
        responses["101"] = json{{"description", "Switching to the WebSocket (see docs/API.md)"}};
        // The pushed messages' payload.
        (void)schemas.MessageRef(v1::Alert::descriptor());
        break;
      case RouteKind::kMetrics:
        responses["200"] =
            json{{"description", "Prometheus text format"},
                 {"content", json{{"text/plain", json{{"schema", json{{"type", "string"}}}}}}}};
        break;
      default:
        responses["200"] =
            json{{"description", "OK"}, {"content", JsonContent(json{{"type", "object"}})}};
        break;
    }
    if (!parameters.empty()) op["parameters"] = parameters;
    op["responses"] = responses;
    std::string method = route.method;
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    paths[route.pattern][method] = op;
  }
  json doc;
  doc["openapi"] = "3.0.3";
  doc["info"] = json{{"title", "livecommerce gateway"},
                     {"version", "v1"},
                     {"description",
                      "HTTP/JSON over the livecommerce gRPC services. JSON follows protobuf's "
                      "JSON mapping of livecommerce.v1 (64-bit integers are strings). See "
                      "docs/API.md."}};
  doc["paths"] = paths;
  doc["components"] =
      json{{"schemas", schemas.schemas()},
           {"securitySchemes", json{{"bearer", json{{"type", "http"}, {"scheme", "bearer"}}}}}};
  return doc.dump();
}

}  // namespace livecommerce::gateway
