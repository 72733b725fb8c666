#include "gateway/server/rpc_client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/security/credentials.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "google/protobuf/message.h"
#include "livecommerce/v1/attribution.pb.h"
#include "livecommerce/v1/catalog.pb.h"
#include "livecommerce/v1/flash.pb.h"
#include "livecommerce/v1/interaction.pb.h"
#include "livecommerce/v1/order.pb.h"
#include "livecommerce/v1/report.pb.h"
#include "livecommerce/v1/room.pb.h"
#include "services/common/admission.h"
#include "services/common/principal.h"
#include "services/common/request_id.h"
#include "services/common/service_client.h"

namespace livecommerce::gateway {

using GenericMessageStub =
    grpc::TemplatedGenericStub<google::protobuf::Message, google::protobuf::Message>;

struct RpcClient::Pool {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<GenericMessageStub>> stubs;
  std::atomic<uint64_t> next{0};
  std::atomic<int> in_flight{0};
};

void LinkServiceDescriptors() {
  // Each call touches its file's generated code, which registers the file's descriptors.
  (void)v1::GetRoomRequest::descriptor();
  (void)v1::GetProductRequest::descriptor();
  (void)v1::GetFlashSaleRequest::descriptor();
  (void)v1::GetOrderRequest::descriptor();
  (void)v1::GetOrderAttributionRequest::descriptor();
  (void)v1::GetSessionReportRequest::descriptor();
  (void)v1::GetLikesRequest::descriptor();
}

RpcClient::RpcClient(const std::map<std::string, std::string>& addresses, int channels_per_address,
                     int max_in_flight)
    : addresses_(addresses), max_in_flight_(max_in_flight) {
  LinkServiceDescriptors();
  std::map<std::string, std::shared_ptr<Pool>> by_address;
  for (const auto& [service, address] : addresses) {
    std::shared_ptr<Pool>& pool = by_address[address];
    if (pool == nullptr) {
      pool = std::make_shared<Pool>();
      for (int i = 0; i < channels_per_address; ++i) {
        std::shared_ptr<grpc::Channel> channel = common::ServiceChannel(address, i);
        pool->channels.push_back(channel);
        pool->stubs.push_back(std::make_unique<GenericMessageStub>(channel));
      }
    }
    pools_[service] = pool;
  }
}

RpcClient::~RpcClient() = default;

const google::protobuf::MethodDescriptor* RpcClient::FindMethod(
    const std::string& full_name) const {
  const google::protobuf::MethodDescriptor* method =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full_name);
  if (method == nullptr || pools_.count(method->service()->full_name()) == 0) {
    return nullptr;
  }
  if (method->client_streaming() || method->server_streaming()) {
    return nullptr;
  }
  return method;
}

std::unique_ptr<google::protobuf::Message> RpcClient::NewRequest(
    const google::protobuf::MethodDescriptor& method) const {
  return std::unique_ptr<google::protobuf::Message>(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(method.input_type())
          ->New());
}

std::shared_ptr<grpc::Channel> RpcClient::ChannelFor(const std::string& service) {
  auto it = pools_.find(service);
  if (it == pools_.end()) return nullptr;
  Pool& pool = *it->second;
  return pool.channels[pool.next++ % pool.channels.size()];
}

void RpcClient::Call(const google::protobuf::MethodDescriptor& method,
                     std::unique_ptr<google::protobuf::Message> request,
                     const std::string& principal, absl::Time deadline, Done done) {
  auto it = pools_.find(method.service()->full_name());
  if (it == pools_.end()) {
    done(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no such service"), nullptr);
    return;
  }
  std::shared_ptr<Pool> pool_ref = it->second;
  Pool& pool = *pool_ref;
  if (pool.in_flight.fetch_add(1, std::memory_order_relaxed) >= max_in_flight_) {
    pool.in_flight.fetch_sub(1, std::memory_order_relaxed);
    done(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      absl::StrCat(method.service()->name(), " is not keeping up"),
                      common::OverloadDetails(absl::Seconds(1))),
         nullptr);
    return;
  }
  GenericMessageStub& stub = *pool.stubs[pool.next++ % pool.stubs.size()];
  struct InFlight {
    grpc::ClientContext context;
    std::unique_ptr<google::protobuf::Message> request;
    std::unique_ptr<google::protobuf::Message> response;
    Done done;
    std::shared_ptr<Pool> pool;
  };
  // Owned by the callback, which gRPC runs exactly once, after which nothing uses the context.
  auto* call = new InFlight();
  common::AttachPrincipal(call->context, principal);
  // The HTTP request's id (set on this thread while the gateway dispatches it).
  if (absl::string_view id = common::CurrentRequestId(); !id.empty()) {
    call->context.AddMetadata(common::kRequestIdMetadata, std::string(id));
  }
  call->context.set_deadline(absl::ToChronoTime(deadline));
  call->request = std::move(request);
  call->response.reset(google::protobuf::MessageFactory::generated_factory()
                           ->GetPrototype(method.output_type())
                           ->New());
  call->done = std::move(done);
  call->pool = std::move(pool_ref);
  std::string path = absl::StrCat("/", method.service()->full_name(), "/", method.name());
  stub.UnaryCall(&call->context, path, grpc::StubOptions(), call->request.get(),
                 call->response.get(), [call](grpc::Status status) {
                   std::unique_ptr<InFlight> owned(call);
                   owned->pool->in_flight.fetch_sub(1, std::memory_order_relaxed);
                   owned->done(std::move(status), std::move(owned->response));
                 });
}

}  // namespace livecommerce::gateway
