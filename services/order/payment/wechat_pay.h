#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/order/payment/rsa_aead.h"

// WeChat Pay API v3 for direct merchants (JSAPI / mini-program payments and domestic refunds):
// request signing, the request bodies and the parsing of their answers, mini-program payment
// parameters, and verification and decryption of payment and refund notifications. Pure logic:
// the HTTPS calls go through the transport in wechat_pay_client.h.
namespace livecommerce::order {

// API constants.
inline constexpr absl::string_view kWechatPayAuthScheme = "WECHATPAY2-SHA256-RSA2048";
inline constexpr absl::string_view kJsapiPrepayPath = "/v3/pay/transactions/jsapi";
inline constexpr absl::string_view kDomesticRefundPath = "/v3/refund/domestic/refunds";
// Closing an unpaid order: kCloseOrderPathPrefix + out_trade_no + kCloseOrderPathSuffix.
inline constexpr absl::string_view kCloseOrderPathPrefix = "/v3/pay/transactions/out-trade-no/";
inline constexpr absl::string_view kCloseOrderPathSuffix = "/close";
inline constexpr absl::string_view kAeadAes256Gcm = "AEAD_AES_256_GCM";
inline constexpr absl::string_view kSignTestPrefix = "WECHATPAY/SIGNTEST/";
inline constexpr absl::string_view kEventTransactionSuccess = "TRANSACTION.SUCCESS";
inline constexpr absl::string_view kEventRefundSuccess = "REFUND.SUCCESS";
inline constexpr absl::string_view kEventRefundAbnormal = "REFUND.ABNORMAL";
inline constexpr absl::string_view kEventRefundClosed = "REFUND.CLOSED";
inline constexpr absl::string_view kHeaderTimestamp = "Wechatpay-Timestamp";
inline constexpr absl::string_view kHeaderNonce = "Wechatpay-Nonce";
inline constexpr absl::string_view kHeaderSignature = "Wechatpay-Signature";
inline constexpr absl::string_view kHeaderSerial = "Wechatpay-Serial";
// A notification or response whose timestamp is further than this from now is refused.
inline constexpr absl::Duration kWechatPayMaxClockSkew = absl::Seconds(300);
inline constexpr size_t kApiV3KeyBytes = 32;
inline constexpr size_t kResourceNonceBytes = 12;

struct WechatPayConfig {
  std::string mchid;
  std::string appid;
  std::string merchant_serial_no;  // serial of the merchant API certificate
  std::string merchant_private_key_pem;
  std::string apiv3_key;  // 32 bytes
  std::string notify_url;
  // Wechatpay-Serial -> PEM public key or X.509 platform certificate.
  std::map<std::string, std::string> platform_public_keys_pem;
};

// Reads LC_WECHATPAY_MCHID, LC_WECHATPAY_APPID, LC_WECHATPAY_SERIAL_NO,
// LC_WECHATPAY_PRIVATE_KEY_FILE (PEM), LC_WECHATPAY_APIV3_KEY_FILE (32 bytes; one trailing newline
// is ignored), LC_WECHATPAY_PLATFORM_CERTS_DIR (files named <serial>.pem, public keys or
// certificates) and LC_WECHATPAY_NOTIFY_URL (https). Every variable is required and the keys are
// parsed; an error is INVALID_ARGUMENT naming the variable and never quotes a secret. Call only
// when the WeChat provider is selected.
absl::StatusOr<WechatPayConfig> LoadWechatPayConfig();

// Headers as they arrived or are to be sent; names compare case-insensitively.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;
// The first header named `name` (any case), or nullopt.
std::optional<std::string> FindHeader(const HttpHeaders& headers, absl::string_view name);

// A fresh request nonce: 32 random uppercase hex characters.
std::string MakeWechatPayNonce();

// "METHOD\nPATH_AND_QUERY\nTIMESTAMP\nNONCE\nBODY\n", the message a merchant signs.
std::string RequestSignatureMessage(absl::string_view method, absl::string_view path_and_query,
                                    int64_t timestamp, absl::string_view nonce,
                                    absl::string_view body);
// "TIMESTAMP\nNONCE\nBODY\n", the message WeChat Pay signs on responses and notifications.
std::string WechatpaySignatureMessage(absl::string_view timestamp, absl::string_view nonce,
                                      absl::string_view body);
// The Authorization header value for a signature made over RequestSignatureMessage.
std::string AuthorizationHeaderValue(absl::string_view mchid, absl::string_view nonce,
                                     absl::string_view signature_base64, int64_t timestamp,
                                     absl::string_view serial_no);

// Parameters for wx.requestPayment in the mini-program.
struct MiniProgramPayParams {
  std::string time_stamp;  // "timeStamp": unix seconds as a string
  std::string nonce_str;   // "nonceStr"
  std::string package;     // "package": "prepay_id=..."
  std::string sign_type;   // "signType": "RSA"
  std::string pay_sign;  // "paySign": base64 RSA-SHA256 over appid\ntimeStamp\nnonceStr\npackage\n
};
// {"timeStamp":..,"nonceStr":..,"package":..,"signType":..,"paySign":..}
std::string MiniProgramPayParamsJson(const MiniProgramPayParams& params);
std::string PaySignMessage(absl::string_view appid, absl::string_view time_stamp,
                           absl::string_view nonce_str, absl::string_view package);

// ---- JSAPI prepay (POST /v3/pay/transactions/jsapi) ----

struct JsapiPrepayRequest {
  std::string description;   // shown to the buyer, at most 127 bytes
  std::string out_trade_no;  // 6-32 of [0-9A-Za-z_-|*]
  int64_t total_fen = 0;     // > 0
  std::string currency = "CNY";
  std::string payer_openid;
  std::optional<absl::Time> time_expire;  // sent as RFC 3339 in +08:00
  std::string attach;                     // optional, at most 128 bytes, echoed in notifications
};
// The JSON body, with appid, mchid and notify_url from `config`. INVALID_ARGUMENT naming the field.
absl::StatusOr<std::string> BuildJsapiPrepayBody(const WechatPayConfig& config,
                                                 const JsapiPrepayRequest& request);
// The prepay_id of a successful answer. INTERNAL when the answer has none.
absl::StatusOr<std::string> ParsePrepayResponse(absl::string_view body);

// ---- Refunds (POST /v3/refund/domestic/refunds) ----

struct RefundRequest {
  std::string out_trade_no;
  std::string out_refund_no;  // 1-64 of [0-9A-Za-z_-|*@]
  std::string reason;         // optional, at most 80 bytes, shown to the buyer
  int64_t refund_fen = 0;     // 0 < refund <= total
  int64_t total_fen = 0;
  std::string currency = "CNY";
};
absl::StatusOr<std::string> BuildRefundBody(const WechatPayConfig& config,
                                            const RefundRequest& request);

struct RefundResponse {
  std::string refund_id;
  std::string out_refund_no;
  std::string out_trade_no;
  std::string status;  // SUCCESS, CLOSED, PROCESSING or ABNORMAL
  int64_t refund_fen = 0;
  int64_t total_fen = 0;
  std::string currency;
};
// INTERNAL when refund_id or status is missing or status is not one of the four.
absl::StatusOr<RefundResponse> ParseRefundResponse(absl::string_view body);

// ---- Closing an unpaid order (POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close) ----

// The path of the close call. INVALID_ARGUMENT for a malformed out_trade_no.
absl::StatusOr<std::string> CloseOrderPath(absl::string_view out_trade_no);
// {"mchid":"..."}, the body of the close call.
std::string BuildCloseOrderBody(const WechatPayConfig& config);

// ---- Notifications ----

// The resource object of a notification (and of sealed certificate downloads).
struct EncryptedResource {
  std::string algorithm;   // AEAD_AES_256_GCM
  std::string ciphertext;  // base64 of cipher || 16-byte tag
  std::string nonce;       // 12 bytes, used as given
  std::string associated_data;
  std::string original_type;  // "transaction" or "refund"
};

struct NotificationEnvelope {
  std::string id;
  std::string create_time;
  std::string event_type;
  std::string resource_type;  // "encrypt-resource"
  std::string summary;
  EncryptedResource resource;
};
// The JSON of a notification body (what WeChat Pay posts); for the sandbox provider and tests.
std::string NotificationBodyJson(const NotificationEnvelope& envelope);

struct NotificationHeaders {
  std::string timestamp;  // Wechatpay-Timestamp
  std::string nonce;      // Wechatpay-Nonce
  std::string signature;  // Wechatpay-Signature
  std::string serial;     // Wechatpay-Serial
};
// Picks the four Wechatpay-* headers (missing ones stay empty and are refused by verification).
NotificationHeaders NotificationHeadersFrom(const HttpHeaders& headers);

struct PaidTransaction {
  std::string appid;
  std::string mchid;
  std::string out_trade_no;
  std::string transaction_id;
  std::string trade_state;
  int64_t total_fen = 0;
  int64_t payer_total_fen = 0;
  std::string currency;
  std::string payer_openid;
  std::string success_time;
  std::string attach;
};

struct RefundResult {
  std::string mchid;
  std::string out_trade_no;
  std::string transaction_id;
  std::string out_refund_no;
  std::string refund_id;
  std::string refund_status;  // SUCCESS, ABNORMAL or CLOSED
  int64_t refund_fen = 0;
  int64_t total_fen = 0;
  int64_t payer_refund_fen = 0;
  std::string success_time;
};

// A verified notification of an event this library does not interpret (e.g. TRANSACTION.FAIL):
// authentic, but nothing to act on here.
struct OtherEvent {
  std::string event_type;
};

struct WechatPayNotification {
  std::string id;
  std::string event_type;
  std::string create_time;
  std::variant<PaidTransaction, RefundResult, OtherEvent> event;
};

// Checks a paid transaction against the order it should pay: INVALID_ARGUMENT when mchid, appid
// or out_trade_no differ (the notification is not about this order / merchant);
// FAILED_PRECONDITION when the amount or currency differ or trade_state is not SUCCESS.
absl::Status CheckPaidTransaction(const PaidTransaction& transaction, absl::string_view mchid,
                                  absl::string_view appid, absl::string_view expected_out_trade_no,
                                  int64_t expected_total_fen, absl::string_view expected_currency);
// The same for a refund result: INVALID_ARGUMENT when mchid or out_refund_no differ,
// FAILED_PRECONDITION when the amount differs.
absl::Status CheckRefundResult(const RefundResult& refund, absl::string_view mchid,
                               absl::string_view expected_out_refund_no,
                               int64_t expected_refund_fen);

// The answer WeChat Pay expects to a notification.
struct NotificationReply {
  int http_status = 200;
  std::string body;  // empty on success; {"code":"FAIL","message":"..."} on failure
};
// 200 with an empty body: WeChat Pay stops retrying.
NotificationReply NotificationAccepted();
// A 4xx/5xx with {"code":"FAIL","message":...}; WeChat Pay will retry. The message is chosen from
// the status code only, so nothing from `error`'s message (which may carry details) is sent.
NotificationReply NotificationRejected(const absl::Status& error);

// Encrypts `plaintext` for a notification resource with the APIv3 key and a random 12-character
// nonce (the sandbox provider's and the tests' side of DecryptResource).
absl::StatusOr<EncryptedResource> SealResource(absl::string_view apiv3_key,
                                               absl::string_view plaintext,
                                               absl::string_view associated_data,
                                               absl::string_view original_type = "transaction");
// Opens a resource. UNAUTHENTICATED for a wrong key, nonce, tag or associated data;
// INVALID_ARGUMENT for an unknown algorithm or malformed fields.
// VerifyNotification marks a resource that does not open (a genuine signature over something our
// APIv3 key cannot decrypt) with this payload, so that its answer says so.
absl::StatusOr<std::string> DecryptResource(absl::string_view apiv3_key,
                                            const EncryptedResource& resource);
inline constexpr absl::string_view kDecryptionFailedPayload = "livecommerce/wechatpay-decryption";
// Whether `status` is VerifyNotification's refusal of a resource that could not be decrypted.
bool IsDecryptionFailure(const absl::Status& status);
// The Wechatpay-Signature WeChat Pay would send: base64 RSA-SHA256 over
// "timestamp\nnonce\nbody\n" with the platform private key.
absl::StatusOr<std::string> SignNotification(absl::string_view platform_private_key_pem,
                                             absl::string_view timestamp, absl::string_view nonce,
                                             absl::string_view body);

// The parsed keys of a config: signs with the merchant key, verifies with the platform keys,
// opens resources with the APIv3 key. Immutable and thread-safe once created.
class WechatPayCrypto final {
 public:
  // INVALID_ARGUMENT when a key does not parse, the APIv3 key is not 32 bytes, no platform key is
  // given, or a platform certificate's serial differs from its name.
  static absl::StatusOr<WechatPayCrypto> Create(WechatPayConfig config);

  const WechatPayConfig& config() const { return config_; }

  // Base64 RSA-SHA256 of RequestSignatureMessage with the merchant key.
  absl::StatusOr<std::string> SignRequest(absl::string_view method,
                                          absl::string_view path_and_query, int64_t timestamp,
                                          absl::string_view nonce, absl::string_view body) const;
  // The full Authorization header value for a request.
  absl::StatusOr<std::string> Authorization(absl::string_view method,
                                            absl::string_view path_and_query,
                                            absl::string_view body, int64_t timestamp,
                                            absl::string_view nonce) const;
  // wx.requestPayment parameters for a prepay_id.
  absl::StatusOr<MiniProgramPayParams> MiniProgramParams(absl::string_view prepay_id,
                                                         int64_t timestamp,
                                                         absl::string_view nonce) const;

  // Checks the Wechatpay-* signature of a notification or response. UNAUTHENTICATED (with a
  // message safe to log and return) when a header is missing, the serial is unknown, the
  // signature is a WECHATPAY/SIGNTEST/ probe, the timestamp is more than 300 s from `now`, or
  // the signature does not verify.
  absl::Status VerifySignature(const NotificationHeaders& headers, absl::string_view body,
                               absl::Time now) const;

  // VerifySignature, then parses the envelope and decrypts its resource. UNAUTHENTICATED as
  // above or when decryption fails (then "resource: could not be decrypted ...", marked for
  // IsDecryptionFailure); INVALID_ARGUMENT for a malformed envelope or resource.
  absl::StatusOr<WechatPayNotification> VerifyNotification(const NotificationHeaders& headers,
                                                           absl::string_view body,
                                                           absl::Time now) const;

 private:
  WechatPayCrypto(WechatPayConfig config, RsaKey merchant_key,
                  std::map<std::string, RsaKey> platform_keys)
      : config_(std::move(config)),
        merchant_key_(std::move(merchant_key)),
        platform_keys_(std::move(platform_keys)) {}

  WechatPayConfig config_;
  RsaKey merchant_key_;
  std::map<std::string, RsaKey> platform_keys_;  // by serial, uppercase
};

}  // namespace livecommerce::order
