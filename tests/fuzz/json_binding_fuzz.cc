// libFuzzer target: an HTTP call's target and body bound to an RPC request exactly as the gateway
// binds it (gateway/server/gateway.cc, Gateway::HandleRpc): SplitTarget, Router::Match over the
// real route table (gateway/routes.cc), BindRequest (JSON body, query, path parameters), FillBrand,
// and the JSON and wire renderings of the request.
//
// Input: "METHOD TARGET\n" then the body. When the line names no RPC route, the body is still bound
// to the request type of the route picked by the input's first byte, so mutations of the line do
// not stop the body from being fuzzed against every request type.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "gateway/http/json_binding.h"
#include "gateway/http/router.h"
#include "gateway/routes.h"

namespace {

using livecommerce::gateway::Route;
using livecommerce::gateway::RouteKind;
using livecommerce::gateway::RouteMatch;
using livecommerce::gateway::Router;

struct Table {
  Router router{livecommerce::gateway::ApiRoutes()};
  // The RPC routes whose method is in the linked protos, with their method.
  std::vector<std::pair<const Route*, const google::protobuf::MethodDescriptor*>> rpcs;

  Table() {
    for (const Route& route : router.routes()) {
      if (route.kind != RouteKind::kRpc) continue;
      const google::protobuf::MethodDescriptor* method =
          google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(route.rpc);
      if (method == nullptr) __builtin_trap();  // the route table names a method that is gone
      rpcs.emplace_back(&route, method);
    }
    if (rpcs.empty()) __builtin_trap();
  }
  const google::protobuf::MethodDescriptor* MethodOf(const Route* route) const {
    for (const auto& [r, m] : rpcs) {
      if (r == route) return m;
    }
    return nullptr;
  }
};

// The wire form, maps in a fixed order so that two renderings compare as bytes.
std::string Wire(const google::protobuf::Message& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!message.SerializeToCodedStream(&coded)) __builtin_trap();
  }
  return out;
}

const Table& TheTable() {
  static const Table* table = new Table();
  return *table;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Table& table = TheTable();
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  absl::string_view line = input.substr(0, newline);
  absl::string_view body = newline == absl::string_view::npos ? "" : input.substr(newline + 1);
  size_t space = line.find(' ');
  absl::string_view method = line.substr(0, space);
  absl::string_view target = space == absl::string_view::npos ? "" : line.substr(space + 1);

  std::string path, query;
  livecommerce::gateway::SplitTarget(target, &path, &query);
  RouteMatch match = table.router.Match(method, path);
  const google::protobuf::MethodDescriptor* rpc = nullptr;
  if (match.outcome == RouteMatch::Outcome::kFound) {
    if (match.route == nullptr) __builtin_trap();
    rpc = table.MethodOf(match.route);
  }
  if (rpc == nullptr) {
    // No RPC route: bind the body alone to the type picked by the first byte.
    const auto& picked = table.rpcs[size == 0 ? 0 : data[0] % table.rpcs.size()];
    rpc = picked.second;
    match.params.clear();
    query.clear();
  }
  std::unique_ptr<google::protobuf::Message> message(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(rpc->input_type())
          ->New());
  absl::Status bound = livecommerce::gateway::BindRequest(body, query, match.params, *message);
  if (!bound.ok()) {
    // Errors name the field and never run away with the input.
    if (bound.code() != absl::StatusCode::kInvalidArgument) __builtin_trap();
    if (bound.message().size() > 512 + size) __builtin_trap();
    return 0;
  }
  livecommerce::gateway::FillBrand(*message, "brand-fuzz");
  // What is sent on: the wire form must parse back to the same message.
  std::string wire = Wire(*message);
  std::unique_ptr<google::protobuf::Message> again(message->New());
  if (!again->ParseFromString(wire)) __builtin_trap();
  if (Wire(*again) != wire) __builtin_trap();
  (void)livecommerce::gateway::ToJson(*message);
  return 0;
}
