#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"

namespace livecommerce::gateway {

// Calls the services' unary RPCs by name with gRPC's callback API: nothing blocks the caller's
// thread, and `done` runs on one of gRPC's threads. Knows which address serves which service.
class RpcClient final {
 public:
  using Done = std::function<void(grpc::Status, std::unique_ptr<google::protobuf::Message>)>;

  // `addresses`: full service name ("livecommerce.v1.RoomService") -> host:port. Each address
  // gets `channels_per_address` channels (connections), used in turn. At most `max_in_flight`
  // calls wait for one address at a time: past that the service is not keeping up, and a call is
  // refused at once as an overload (common/admission.h) instead of waiting for its deadline.
  RpcClient(const std::map<std::string, std::string>& addresses, int channels_per_address,
            int max_in_flight = 1024);
  ~RpcClient();

  // The method of a full name "livecommerce.v1.RoomService.GetRoom"; nullptr when unknown or its
  // service has no address.
  const google::protobuf::MethodDescriptor* FindMethod(const std::string& full_name) const;
  // A new, empty request message for `method`.
  std::unique_ptr<google::protobuf::Message> NewRequest(
      const google::protobuf::MethodDescriptor& method) const;

  // Calls `method` with `principal` in x-lc-principal and a deadline. Refused without a call
  // (RESOURCE_EXHAUSTED with an overload's retry hint) while max_in_flight calls wait for its
  // service's address.
  void Call(const google::protobuf::MethodDescriptor& method,
            std::unique_ptr<google::protobuf::Message> request, const std::string& principal,
            absl::Time deadline, Done done);

  // A channel to the address serving `service` (full name), or nullptr.
  std::shared_ptr<grpc::Channel> ChannelFor(const std::string& service);
  // The addresses, for health checks.
  const std::map<std::string, std::string>& addresses() const { return addresses_; }

 private:
  struct Pool;
  std::map<std::string, std::string> addresses_;
  std::map<std::string, std::shared_ptr<Pool>> pools_;  // by service
  int max_in_flight_;
};

// Makes sure the generated descriptors of every service the gateway calls are linked in.
void LinkServiceDescriptors();

}  // namespace livecommerce::gateway
