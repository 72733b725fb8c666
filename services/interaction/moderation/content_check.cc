#include "services/interaction/moderation/content_check.h"

#include "services/common/log_format.h"

namespace livecommerce::interaction::moderation {

CheckOutcome WechatContentChecker::Check(const std::string& brand_id, const std::string& openid,
                                         absl::string_view text) {
  absl::StatusOr<std::string> appid = client_.AppIdOfBrand(brand_id);
  if (!appid.ok()) return CheckOutcome::kNotConfigured;
  absl::StatusOr<common::wechat::TextCheck> check =
      client_.CheckText(*appid, openid, text, common::wechat::TextScene::kComment);
  if (!check.ok()) {
    // The code only: WeChat's message may echo what was sent.
    spdlog::warn("msgSecCheck for brand {} unavailable: {} (errcode {})", brand_id,
                 absl::StatusCodeToString(check.status().code()),
                 common::wechat::WechatErrcode(check.status()).value_or(0));
    return CheckOutcome::kUnavailable;
  }
  switch (check->verdict) {
    case common::wechat::TextVerdict::kPass:
      return CheckOutcome::kPass;
    case common::wechat::TextVerdict::kRisky:
      return CheckOutcome::kRisky;
    case common::wechat::TextVerdict::kReview:
      return CheckOutcome::kReview;
  }
  return CheckOutcome::kReview;
}

}  // namespace livecommerce::interaction::moderation
