#include "services/attribution/clients/share_codes.h"

#include "absl/strings/str_cat.h"
#include "services/common/qr_png.h"

namespace livecommerce::attribution {

std::string ShareSceneOf(int64_t share_link_id) { return absl::StrCat("sl=", share_link_id); }

std::string SharePageOf(v1::ShareTarget target) {
  return target == v1::SHARE_TARGET_PRODUCT ? "pages/product/index" : "pages/room/index";
}

absl::StatusOr<MadeCode> LocalShareCodeMaker::Make(const std::string&, const std::string& scene,
                                                   const std::string&) {
  absl::StatusOr<std::string> png = common::QrCodePng(scene);
  if (!png.ok()) return png.status();
  return MadeCode{*std::move(png), "image/png", "local"};
}

WechatShareCodeMaker::WechatShareCodeMaker(const common::wechat::PlatformClient& wechat,
                                           std::string env_version)
    : wechat_(wechat), env_version_(std::move(env_version)) {}

absl::StatusOr<MadeCode> WechatShareCodeMaker::Make(const std::string& brand_id,
                                                    const std::string& scene,
                                                    const std::string& page) {
  if (!wechat_.AppIdOfBrand(brand_id).ok()) return local_.Make(brand_id, scene, page);
  common::wechat::UnlimitedCodeRequest request;
  request.scene = scene;
  request.page = page;
  request.env_version = env_version_;
  request.check_path = env_version_ == "release";
  absl::StatusOr<common::wechat::MiniProgramCode> code =
      wechat_.GetUnlimitedCode(brand_id, request);
  if (!code.ok()) return code.status();
  return MadeCode{std::move(code->image), std::move(code->content_type), "wechat"};
}

}  // namespace livecommerce::attribution
