#pragma once

#include <string>

#include "services/order/payment/wechat_pay.h"
#include "tests/unit/order/payment/test_keys.h"

namespace livecommerce::order::testing {

inline constexpr char kMchid[] = "1900009191";
inline constexpr char kAppid[] = "wxd678efh567hg6787";
inline constexpr char kMerchantSerial[] = "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB";
inline constexpr char kPlatformSerial[] = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
inline constexpr char kApiV3Key[] = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";  // 32 bytes, test only
inline constexpr char kNotifyUrl[] = "https://shop.example.com/wechatpay/notify";

// A config with freshly generated merchant and platform keys.
inline WechatPayConfig TestConfig() {
  WechatPayConfig config;
  config.mchid = kMchid;
  config.appid = kAppid;
  config.merchant_serial_no = kMerchantSerial;
  config.merchant_private_key_pem = MerchantKey().private_pem;
  config.apiv3_key = kApiV3Key;
  config.notify_url = kNotifyUrl;
  config.platform_public_keys_pem[kPlatformSerial] = PlatformKey().public_pem;
  return config;
}

}  // namespace livecommerce::order::testing
