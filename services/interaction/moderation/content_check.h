#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "services/common/wechat/platform_client.h"
#include "services/interaction/domain/limits.h"

namespace livecommerce::interaction::moderation {

// The platform's content check of a viewer's comment (WeChat's msgSecCheck in production).
class ContentChecker {
 public:
  virtual ~ContentChecker() = default;
  // kNotConfigured when the brand has no mini-program to check with; kUnavailable when the check
  // could not be had (down, busy, quota, a malformed answer). Never fails otherwise.
  virtual CheckOutcome Check(const std::string& brand_id, const std::string& openid,
                             absl::string_view text) = 0;
};

// Checks nothing: every brand unconfigured.
class NoContentChecker final : public ContentChecker {
 public:
  CheckOutcome Check(const std::string&, const std::string&, absl::string_view) override {
    return CheckOutcome::kNotConfigured;
  }
};

// msgSecCheck 2.0 through the process's one WeChat platform client (not owned).
class WechatContentChecker final : public ContentChecker {
 public:
  explicit WechatContentChecker(const common::wechat::PlatformClient& client) : client_(client) {}
  CheckOutcome Check(const std::string& brand_id, const std::string& openid,
                     absl::string_view text) override;

 private:
  const common::wechat::PlatformClient& client_;
};

}  // namespace livecommerce::interaction::moderation
