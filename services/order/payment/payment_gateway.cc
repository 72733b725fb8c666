#include "services/order/payment/payment_gateway.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/crypto.h"
#include "services/common/status.h"

namespace livecommerce::order {

// Zero-padded: WeChat Pay wants 6 to 32 characters.
std::string OutTradeNo(int64_t order_id) { return absl::StrFormat("LC%010d", order_id); }

absl::StatusOr<int64_t> OrderIdFromOutTradeNo(const std::string& out_trade_no) {
  int64_t id = 0;
  if (!absl::StartsWith(out_trade_no, "LC") || !absl::SimpleAtoi(out_trade_no.substr(2), &id) ||
      id <= 0) {
    return absl::NotFoundError("out_trade_no: not an order of this service");
  }
  return id;
}

absl::StatusOr<v1::PaymentParams> SandboxGateway::Prepare(const OrderRecord& order,
                                                          absl::Time pay_by) {
  v1::PaymentParams params;
  params.set_provider(v1::PAYMENT_PROVIDER_SANDBOX);
  params.set_time_stamp(absl::StrCat(absl::ToUnixSeconds(pay_by)));
  params.set_nonce_str(common::RandomToken(16));
  params.set_package(absl::StrCat("prepay_id=sandbox-", order.id));
  params.set_sign_type("SANDBOX");
  return params;
}

absl::StatusOr<v1::PaymentParams> WechatPayGateway::Prepare(const OrderRecord& order,
                                                            absl::Time pay_by) {
  JsapiPrepayRequest request;
  request.description = order.lines.empty() || order.lines[0].product_name.empty()
                            ? std::string("Order ") + OutTradeNo(order.id)
                            : order.lines[0].product_name.substr(0, 120);
  request.out_trade_no = OutTradeNo(order.id);
  request.total_fen = order.total_fen;
  request.currency = order.currency;
  request.payer_openid = order.buyer_id;
  request.time_expire = pay_by;
  LC_ASSIGN_OR_RETURN(MiniProgramPayParams p, client_.PrepayJsapi(request));
  v1::PaymentParams params;
  params.set_provider(v1::PAYMENT_PROVIDER_WECHAT_PAY);
  params.set_time_stamp(p.time_stamp);
  params.set_nonce_str(p.nonce_str);
  params.set_package(p.package);
  params.set_sign_type(p.sign_type);
  params.set_pay_sign(p.pay_sign);
  return params;
}

std::string OutRefundNo(int64_t order_id, const std::string& refund_key) {
  return absl::StrCat(OutTradeNo(order_id), "R",
                      common::HexEncode(common::Sha256(refund_key)).substr(0, 32));
}

absl::Status WechatPayGateway::Refund(const OrderRecord& order, const std::string& refund_key,
                                      int64_t amount_fen, const std::string& reason) {
  RefundRequest request;
  request.out_trade_no = OutTradeNo(order.id);
  request.out_refund_no = OutRefundNo(order.id, refund_key);
  request.reason = reason.substr(0, 80);
  request.refund_fen = amount_fen;
  request.total_fen = order.total_fen;
  request.currency = order.currency;
  return client_.Refund(request).status();
}

absl::StatusOr<CloseOutcome> WechatPayGateway::Close(const OrderRecord& order) {
  return client_.CloseOrder(OutTradeNo(order.id));
}

}  // namespace livecommerce::order
