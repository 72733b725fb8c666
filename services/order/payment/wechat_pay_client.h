#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/common/clock.h"
#include "services/order/payment/wechat_pay.h"

namespace livecommerce::order {

struct HttpRequest {
  std::string method;  // "POST", "GET"
  std::string path;    // path and query, e.g. "/v3/pay/transactions/jsapi"
  std::string body;
  HttpHeaders headers;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  HttpHeaders headers;
};

// One HTTPS exchange with the WeChat Pay API. Implementations add the host; the request carries
// its own Authorization. Returns UNAVAILABLE / DEADLINE_EXCEEDED when no answer arrives; any HTTP
// answer (also 4xx/5xx) is an OK result.
class WechatPayTransport {
 public:
  virtual ~WechatPayTransport() = default;
  virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

// How a close call ended, when WeChat Pay gave an answer that settles it.
enum class CloseOutcome {
  kClosed,         // 204: closed now
  kAlreadyClosed,  // ORDER_CLOSED (or the order never reached WeChat Pay: ORDER_NOT_EXIST)
  kPaid,           // ORDERPAID: the buyer paid first; the payment notification handles it
};

// Calls WeChat Pay: signs each request with the merchant key, checks the signature WeChat Pay
// puts on its answers, and maps its errors to Status. Does not own the crypto, transport or
// clock. Thread-safe when the transport is.
class WechatPayClient final {
 public:
  struct Options {
    // WeChat Pay signs every answer; an unsigned 2xx answer is treated as forged unless this is
    // set (only for fakes that cannot sign).
    bool allow_unsigned_success = false;
  };

  WechatPayClient(const WechatPayCrypto* crypto, WechatPayTransport* transport,
                  const common::Clock* clock)
      : WechatPayClient(crypto, transport, clock, Options{}) {}
  WechatPayClient(const WechatPayCrypto* crypto, WechatPayTransport* transport,
                  const common::Clock* clock, Options options)
      : crypto_(crypto), transport_(transport), clock_(clock), options_(options) {}

  // Places a JSAPI order and returns the parameters for wx.requestPayment. INVALID_ARGUMENT for
  // bad input; for WeChat Pay's answers see MapErrorResponse.
  absl::StatusOr<MiniProgramPayParams> PrepayJsapi(const JsapiPrepayRequest& request) const;
  // Requests a refund; the result usually is PROCESSING and the outcome comes as a notification.
  absl::StatusOr<RefundResponse> Refund(const RefundRequest& request) const;

  // Closes an unpaid order so that it can no longer be paid. Errors as MapErrorResponse
  // (SYSTEM_ERROR and 5xx are UNAVAILABLE: retry), UNAVAILABLE / DEADLINE_EXCEEDED without an
  // answer. Idempotent: closing a closed order answers kAlreadyClosed.
  absl::StatusOr<CloseOutcome> CloseOrder(absl::string_view out_trade_no) const;

  // Signs and sends one request and verifies the answer's signature. UNAUTHENTICATED when a
  // present signature does not verify (or a 2xx answer is unsigned).
  absl::StatusOr<HttpResponse> Call(absl::string_view method, absl::string_view path,
                                    absl::string_view body) const;

 private:
  const WechatPayCrypto* crypto_;
  WechatPayTransport* transport_;
  const common::Clock* clock_;
  Options options_;
};

// The Status for a non-2xx WeChat Pay answer, naming WeChat Pay's error code (never its full
// message, which goes to the log): 400 INVALID_ARGUMENT, 401 INTERNAL (our signature or
// config is wrong), 403 FAILED_PRECONDITION, 404 NOT_FOUND, 429 and 5xx UNAVAILABLE.
absl::Status MapErrorResponse(const HttpResponse& response);

}  // namespace livecommerce::order
