#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace livecommerce::common {
class WorkerPool;
}

namespace livecommerce::gateway {

// Exchanges a mini-program login code (wx.login) for the user's openid. `done` may run on another
// thread. Errors: INVALID_ARGUMENT naming `code` or `brand_id`; UNAUTHENTICATED when the provider
// refuses the code; UNAVAILABLE when the provider cannot be reached.
class LoginProvider {
 public:
  virtual ~LoginProvider() = default;
  virtual void Exchange(const std::string& brand_id, const std::string& code,
                        std::function<void(absl::StatusOr<std::string>)> done) = 0;
};

// For local runs and tests: any well-formed code is accepted and names the viewer
// ("alice" -> openid "local-alice").
class LocalLoginProvider final : public LoginProvider {
 public:
  void Exchange(const std::string& brand_id, const std::string& code,
                std::function<void(absl::StatusOr<std::string>)> done) override;
};

// One HTTPS GET (path and query) against the WeChat API host; any HTTP answer is OK.
class HttpGetter {
 public:
  virtual ~HttpGetter() = default;
  struct Response {
    int status = 0;
    std::string body;
  };
  virtual absl::StatusOr<Response> Get(const std::string& path_and_query) = 0;
};

struct WechatLoginOptions {
  std::string app_id;
  std::string app_secret;
  std::string brand_id;  // the brand whose mini-program this app id is
};

// WeChat's code2Session (GET /sns/jscode2session). The blocking HTTPS exchange runs on `pool`,
// never on the caller's thread. Never logs the secret, the code or the session key.
class WechatLoginProvider final : public LoginProvider {
 public:
  WechatLoginProvider(WechatLoginOptions options, HttpGetter& http, common::WorkerPool& pool)
      : options_(std::move(options)), http_(http), pool_(pool) {}
  void Exchange(const std::string& brand_id, const std::string& code,
                std::function<void(absl::StatusOr<std::string>)> done) override;
  // The exchange itself, on the calling thread.
  absl::StatusOr<std::string> ExchangeNow(const std::string& code);

 private:
  WechatLoginOptions options_;
  HttpGetter& http_;
  common::WorkerPool& pool_;
};

// INVALID_ARGUMENT naming `code` unless 1..128 of [A-Za-z0-9_-].
absl::Status ValidateLoginCode(absl::string_view code);

}  // namespace livecommerce::gateway
