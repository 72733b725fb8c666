#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "livecommerce/v1/order.pb.h"
#include "services/order/domain/order_record.h"
#include "services/order/payment/wechat_pay.h"
#include "services/order/payment/wechat_pay_client.h"

namespace livecommerce::order {

// A payment provider as checkout sees it: what the mini-program needs to pay an order.
class PaymentGateway {
 public:
  virtual ~PaymentGateway() = default;
  virtual absl::StatusOr<v1::PaymentParams> Prepare(const OrderRecord& order,
                                                    absl::Time pay_by) = 0;
  // Asks the provider to return `amount_fen` of a paid order. Idempotent by `refund_key`.
  virtual absl::Status Refund(const OrderRecord& order, const std::string& refund_key,
                              int64_t amount_fen, const std::string& reason) = 0;
  // Makes an unpaid order unpayable at the provider. Idempotent; an error means "retry later"
  // (the order's stock stays reserved until this succeeds).
  virtual absl::StatusOr<CloseOutcome> Close(const OrderRecord& order) = 0;
};

// The provider's reference of an order ("LC" and the order id) and back.
std::string OutTradeNo(int64_t order_id);
absl::StatusOr<int64_t> OrderIdFromOutTradeNo(const std::string& out_trade_no);
// WeChat Pay's out_refund_no for a refund of an order: refund ids may hold characters WeChat Pay
// refuses there (. :), so the id goes in as the start of its SHA-256, in hex.
std::string OutRefundNo(int64_t order_id, const std::string& refund_key);

// Local runs and tests: nothing to call; the order is paid with ConfirmSandboxPayment.
class SandboxGateway final : public PaymentGateway {
 public:
  absl::StatusOr<v1::PaymentParams> Prepare(const OrderRecord& order, absl::Time pay_by) override;
  absl::Status Refund(const OrderRecord& order, const std::string& refund_key, int64_t amount_fen,
                      const std::string& reason) override {
    return absl::OkStatus();
  }
  absl::StatusOr<CloseOutcome> Close(const OrderRecord& order) override {
    return CloseOutcome::kClosed;
  }
};

// WeChat Pay API v3, JSAPI (mini-program): a signed prepay call, then signed parameters for
// wx.requestPayment. The buyer's id is their openid.
class WechatPayGateway final : public PaymentGateway {
 public:
  explicit WechatPayGateway(const WechatPayClient& client) : client_(client) {}
  absl::StatusOr<v1::PaymentParams> Prepare(const OrderRecord& order, absl::Time pay_by) override;
  absl::Status Refund(const OrderRecord& order, const std::string& refund_key, int64_t amount_fen,
                      const std::string& reason) override;
  absl::StatusOr<CloseOutcome> Close(const OrderRecord& order) override;

 private:
  const WechatPayClient& client_;
};

// The payment providers the service can use. WeChat Pay is optional (unset: not configured).
struct Payments {
  PaymentGateway* sandbox = nullptr;
  PaymentGateway* wechat = nullptr;
  const WechatPayCrypto* wechat_crypto = nullptr;  // verifies WeChat Pay notifications
  std::string wechat_mchid;
  std::string wechat_appid;
};

}  // namespace livecommerce::order
