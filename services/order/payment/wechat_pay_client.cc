#include "services/order/payment/wechat_pay_client.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/log_format.h"
#include "services/common/status.h"
#include "spdlog/spdlog.h"

namespace livecommerce::order {
namespace {

bool IsSuccess(int status) { return status >= 200 && status < 300; }

// WeChat Pay's error code (e.g. "PARAM_ERROR"), kept only when it looks like one so that nothing
// else from the answer reaches a Status message.
std::string ErrorCode(absl::string_view body) {
  nlohmann::json json =
      nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return "";
  }
  auto it = json.find("code");
  if (it == json.end() || !it->is_string()) {
    return "";
  }
  std::string code = it->get<std::string>();
  if (code.empty() || code.size() > 64) {
    return "";
  }
  for (char c : code) {
    if (!absl::ascii_isupper(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '_') {
      return "";
    }
  }
  return code;
}

bool HasSignatureHeaders(const HttpHeaders& headers) {
  return FindHeader(headers, kHeaderSignature).has_value() ||
         FindHeader(headers, kHeaderSerial).has_value() ||
         FindHeader(headers, kHeaderTimestamp).has_value() ||
         FindHeader(headers, kHeaderNonce).has_value();
}

}  // namespace

absl::Status MapErrorResponse(const HttpResponse& response) {
  std::string code = ErrorCode(response.body);
  std::string what = absl::StrCat("WeChat Pay answered ", response.status,
                                  code.empty() ? "" : absl::StrCat(" ", code));
  if (response.status == 400) {
    return absl::InvalidArgumentError(what);
  }
  if (response.status == 401) {
    // Our own signature was refused: the merchant key, serial or mchid is misconfigured.
    return absl::InternalError(what);
  }
  if (response.status == 403) {
    return absl::FailedPreconditionError(what);
  }
  if (response.status == 404) {
    return absl::NotFoundError(what);
  }
  if (response.status == 429 || response.status >= 500) {
    return absl::UnavailableError(what);
  }
  return absl::InternalError(what);
}

absl::StatusOr<HttpResponse> WechatPayClient::Call(absl::string_view method, absl::string_view path,
                                                   absl::string_view body) const {
  int64_t timestamp = absl::ToUnixSeconds(clock_->Now());
  std::string nonce = MakeWechatPayNonce();
  LC_ASSIGN_OR_RETURN(std::string authorization,
                      crypto_->Authorization(method, path, body, timestamp, nonce));
  HttpRequest request;
  request.method = std::string(method);
  request.path = std::string(path);
  request.body = std::string(body);
  request.headers = {{"Authorization", std::move(authorization)},
                     {"Accept", "application/json"},
                     {"User-Agent", "livecommerce-order/1"}};
  if (!body.empty()) {
    request.headers.emplace_back("Content-Type", "application/json");
  }
  LC_ASSIGN_OR_RETURN(HttpResponse response, transport_->Send(request));

  if (HasSignatureHeaders(response.headers)) {
    absl::Status verified = crypto_->VerifySignature(NotificationHeadersFrom(response.headers),
                                                     response.body, clock_->Now());
    if (!verified.ok()) {
      spdlog::warn("wechatpay {} {}: answer {} refused: {}", method, path, response.status,
                   verified.message());
      return absl::UnauthenticatedError(
          absl::StrCat("WeChat Pay answer failed verification: ", verified.message()));
    }
  } else if (IsSuccess(response.status) && !options_.allow_unsigned_success) {
    spdlog::warn("wechatpay {} {}: unsigned answer {} refused", method, path, response.status);
    return absl::UnauthenticatedError("WeChat Pay answer is not signed");
  }
  if (!IsSuccess(response.status)) {
    spdlog::warn("wechatpay {} {}: answer {} code {}", method, path, response.status,
                 ErrorCode(response.body));
  }
  return response;
}

absl::StatusOr<MiniProgramPayParams> WechatPayClient::PrepayJsapi(
    const JsapiPrepayRequest& request) const {
  LC_ASSIGN_OR_RETURN(std::string body, BuildJsapiPrepayBody(crypto_->config(), request));
  LC_ASSIGN_OR_RETURN(HttpResponse response, Call("POST", kJsapiPrepayPath, body));
  if (!IsSuccess(response.status)) {
    return MapErrorResponse(response);
  }
  LC_ASSIGN_OR_RETURN(std::string prepay_id, ParsePrepayResponse(response.body));
  return crypto_->MiniProgramParams(prepay_id, absl::ToUnixSeconds(clock_->Now()),
                                    MakeWechatPayNonce());
}

absl::StatusOr<CloseOutcome> WechatPayClient::CloseOrder(absl::string_view out_trade_no) const {
  LC_ASSIGN_OR_RETURN(std::string path, CloseOrderPath(out_trade_no));
  LC_ASSIGN_OR_RETURN(HttpResponse response,
                      Call("POST", path, BuildCloseOrderBody(crypto_->config())));
  if (IsSuccess(response.status)) {
    return CloseOutcome::kClosed;
  }
  // The code decides, whatever the HTTP status it comes with (both spellings WeChat Pay uses).
  std::string code = ErrorCode(response.body);
  if (code == "ORDER_CLOSED" || code == "ORDERCLOSED" || code == "ORDER_NOT_EXIST" ||
      code == "ORDERNOTEXIST") {
    return CloseOutcome::kAlreadyClosed;
  }
  if (code == "ORDERPAID" || code == "ORDER_PAID") {
    return CloseOutcome::kPaid;
  }
  if (code == "SYSTEM_ERROR" || code == "SYSTEMERROR" || code == "FREQUENCY_LIMITED") {
    return absl::UnavailableError(absl::StrCat("WeChat Pay answered ", response.status, " ", code));
  }
  return MapErrorResponse(response);
}

absl::StatusOr<RefundResponse> WechatPayClient::Refund(const RefundRequest& request) const {
  LC_ASSIGN_OR_RETURN(std::string body, BuildRefundBody(crypto_->config(), request));
  LC_ASSIGN_OR_RETURN(HttpResponse response, Call("POST", kDomesticRefundPath, body));
  if (!IsSuccess(response.status)) {
    return MapErrorResponse(response);
  }
  LC_ASSIGN_OR_RETURN(RefundResponse refund, ParseRefundResponse(response.body));
  if (!refund.out_refund_no.empty() && refund.out_refund_no != request.out_refund_no) {
    return absl::InternalError("WeChat Pay refund answer is for another out_refund_no");
  }
  return refund;
}

}  // namespace livecommerce::order
