#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "livecommerce/v1/attribution.pb.h"
#include "services/common/wechat/platform_client.h"

namespace livecommerce::attribution {

// What a share link's code opens: the mini-program page of its target, with `scene` ("sl=<id>",
// within WeChat's 32 characters) for the page to resolve through OpenShareLink.
std::string ShareSceneOf(int64_t share_link_id);
std::string SharePageOf(v1::ShareTarget target);

struct MadeCode {
  std::string image;
  std::string content_type;
  std::string source;  // "wechat" or "local"
};

// Makes a share link's code image. Implementations are thread-safe.
class ShareCodeMaker {
 public:
  virtual ~ShareCodeMaker() = default;
  virtual absl::StatusOr<MadeCode> Make(const std::string& brand_id, const std::string& scene,
                                        const std::string& page) = 0;
};

// An ordinary QR code of the scene, drawn here: the local run and brands without a configured
// mini-program need nothing from WeChat.
class LocalShareCodeMaker final : public ShareCodeMaker {
 public:
  absl::StatusOr<MadeCode> Make(const std::string& brand_id, const std::string& scene,
                                const std::string& page) override;
};

// WeChat's mini-program code (wxacode.getUnlimited) for a brand whose mini-program is configured
// (LC_WECHAT_APPS); the local QR code for any other brand.
class WechatShareCodeMaker final : public ShareCodeMaker {
 public:
  // `env_version`: the mini-program version the code opens ("release", "trial", "develop"); the
  // page is checked against the published program only for "release".
  WechatShareCodeMaker(const common::wechat::PlatformClient& wechat, std::string env_version);
  absl::StatusOr<MadeCode> Make(const std::string& brand_id, const std::string& scene,
                                const std::string& page) override;

 private:
  const common::wechat::PlatformClient& wechat_;
  std::string env_version_;
  LocalShareCodeMaker local_;
};

}  // namespace livecommerce::attribution
