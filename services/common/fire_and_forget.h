#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

namespace livecommerce::common {

// Best-effort unary calls to another service (alerts, funnel steps): the caller never waits and
// never fails. At most `limit` calls are in flight; beyond that a call is dropped. The destructor
// waits a little for the calls still out.
class FireAndForget final {
 public:
  explicit FireAndForget(int limit) : limit_(limit) {}
  ~FireAndForget() {
    for (int i = 0; i < 200 && in_flight_->load() > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  FireAndForget(const FireAndForget&) = delete;
  FireAndForget& operator=(const FireAndForget&) = delete;

  // `start(context, request, response, done)` starts the call, e.g. through a stub's async().
  // `then`, if any, runs once the call has ended, however it ended (it may start the next call of
  // a sequence); a dropped call runs it at once.
  template <typename Request, typename Response>
  void Call(std::unique_ptr<grpc::ClientContext> context, Request request,
            const std::function<void(grpc::ClientContext*, const Request*, Response*,
                                     std::function<void(grpc::Status)>)>& start,
            std::function<void()> then = nullptr) {
    if (in_flight_->fetch_add(1) >= limit_) {
      in_flight_->fetch_sub(1);
      if (then) then();
      return;
    }
    struct State {
      std::unique_ptr<grpc::ClientContext> context;
      Request request;
      Response response;
    };
    auto state = std::make_shared<State>();
    state->context = std::move(context);
    state->request = std::move(request);
    start(state->context.get(), &state->request, &state->response,
          [state, in_flight = in_flight_, then = std::move(then)](grpc::Status) {
            if (then) then();
            in_flight->fetch_sub(1);
          });
  }

 private:
  int limit_;
  std::shared_ptr<std::atomic<int>> in_flight_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace livecommerce::common
