#include "services/order/payment/wechat_pay_client.h"

#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/crypto.h"
#include "tests/unit/order/payment/test_config.h"
#include "tests/unit/order/payment/test_keys.h"

namespace livecommerce::order {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1714550400;

// Answers like WeChat Pay: a canned status and body, signed with the platform key unless told
// otherwise. Records what it was sent.
class FakeWechatPay final : public WechatPayTransport {
 public:
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    requests.push_back(request);
    if (!transport_error.ok()) {
      return transport_error;
    }
    HttpResponse response;
    response.status = status;
    response.body = body;
    if (sign) {
      std::string ts = absl::StrCat(kNow + timestamp_offset);
      std::string nonce = "RESPONSENONCE";
      response.headers = {
          {"Request-ID", "08F78BB5AF0610D302A5B9FA0A1B"},
          {"Wechatpay-Timestamp", ts},
          {"Wechatpay-Nonce", nonce},
          {"Wechatpay-Serial", testing::kPlatformSerial},
          {"Wechatpay-Signature",
           SignNotification(signing_key->private_pem, ts, nonce, response.body).value()}};
    }
    return response;
  }

  int status = 200;
  std::string body;
  bool sign = true;
  int64_t timestamp_offset = 0;
  const testing::TestKeyPair* signing_key = &testing::PlatformKey();
  absl::Status transport_error;
  std::vector<HttpRequest> requests;
};

class WechatPayClientTest : public ::testing::Test {
 protected:
  WechatPayClientTest()
      : crypto_(WechatPayCrypto::Create(testing::TestConfig()).value()),
        clock_(absl::FromUnixSeconds(kNow)),
        client_(&crypto_, &fake_, &clock_) {}

  static JsapiPrepayRequest Prepay() {
    JsapiPrepayRequest request;
    request.description = "Silk scarf";
    request.out_trade_no = "LC20240501000001";
    request.total_fen = 129900;
    request.payer_openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
    return request;
  }

  static RefundRequest Refund() {
    RefundRequest request;
    request.out_trade_no = "LC20240501000001";
    request.out_refund_no = "RF20240502000001";
    request.refund_fen = 50000;
    request.total_fen = 129900;
    return request;
  }

  // Checks the Authorization header of a recorded request against the merchant public key.
  static void ExpectSignedByMerchant(const HttpRequest& request) {
    std::optional<std::string> auth = FindHeader(request.headers, "Authorization");
    ASSERT_TRUE(auth.has_value());
    std::smatch m;
    ASSERT_TRUE(std::regex_match(
        *auth, m,
        std::regex("^WECHATPAY2-SHA256-RSA2048 mchid=\"([0-9]+)\",nonce_str=\"([0-9A-F]{32})\","
                   "signature=\"([A-Za-z0-9+/=]+)\",timestamp=\"([0-9]+)\",serial_no=\"([0-9A-F]+)"
                   "\"$")))
        << *auth;
    EXPECT_EQ(m[1], testing::kMchid);
    EXPECT_EQ(m[4], absl::StrCat(kNow));
    EXPECT_EQ(m[5], testing::kMerchantSerial);
    std::string raw;
    ASSERT_TRUE(common::Base64Decode(m[3].str(), &raw));
    RsaKey pub = RsaKey::FromPublicKeyPem(testing::MerchantKey().public_pem).value();
    EXPECT_TRUE(pub.VerifySha256(
        RequestSignatureMessage(request.method, request.path, kNow, m[2].str(), request.body),
        raw));
  }

  WechatPayCrypto crypto_;
  common::FakeClock clock_;
  FakeWechatPay fake_;
  WechatPayClient client_;
};

TEST_F(WechatPayClientTest, PrepayReturnsVerifiableMiniProgramParams) {
  fake_.body = R"({"prepay_id":"wx26112221580621e9b071c00d9e093b0000"})";
  absl::StatusOr<MiniProgramPayParams> params = client_.PrepayJsapi(Prepay());
  ASSERT_TRUE(params.ok()) << params.status();

  ASSERT_EQ(fake_.requests.size(), 1u);
  const HttpRequest& sent = fake_.requests[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.path, "/v3/pay/transactions/jsapi");
  EXPECT_EQ(FindHeader(sent.headers, "Content-Type"), "application/json");
  EXPECT_EQ(FindHeader(sent.headers, "Accept"), "application/json");
  ExpectSignedByMerchant(sent);
  json body = json::parse(sent.body);
  EXPECT_EQ(body["out_trade_no"], "LC20240501000001");
  EXPECT_EQ(body["amount"]["total"].get<int64_t>(), 129900);

  EXPECT_EQ(params->package, "prepay_id=wx26112221580621e9b071c00d9e093b0000");
  EXPECT_EQ(params->time_stamp, absl::StrCat(kNow));
  EXPECT_EQ(params->sign_type, "RSA");
  std::string raw;
  ASSERT_TRUE(common::Base64Decode(params->pay_sign, &raw));
  RsaKey pub = RsaKey::FromPublicKeyPem(testing::MerchantKey().public_pem).value();
  EXPECT_TRUE(pub.VerifySha256(
      PaySignMessage(testing::kAppid, params->time_stamp, params->nonce_str, params->package),
      raw));
}

TEST_F(WechatPayClientTest, RefundSendsSignedBodyAndParsesAnswer) {
  fake_.body = R"({"refund_id":"50000000382019052709732678859",
                   "out_refund_no":"RF20240502000001","status":"PROCESSING",
                   "amount":{"refund":50000,"total":129900,"currency":"CNY"}})";
  absl::StatusOr<RefundResponse> refund = client_.Refund(Refund());
  ASSERT_TRUE(refund.ok()) << refund.status();
  EXPECT_EQ(refund->refund_id, "50000000382019052709732678859");
  EXPECT_EQ(refund->status, "PROCESSING");
  ASSERT_EQ(fake_.requests.size(), 1u);
  EXPECT_EQ(fake_.requests[0].path, "/v3/refund/domestic/refunds");
  ExpectSignedByMerchant(fake_.requests[0]);
  EXPECT_EQ(json::parse(fake_.requests[0].body)["amount"]["refund"].get<int64_t>(), 50000);
}

TEST_F(WechatPayClientTest, RefundAnswerForAnotherRefundIsRefused) {
  fake_.body = R"({"refund_id":"5","out_refund_no":"RF-OTHER","status":"PROCESSING"})";
  EXPECT_EQ(client_.Refund(Refund()).status().code(), absl::StatusCode::kInternal);
}

TEST_F(WechatPayClientTest, ForgedOrTamperedAnswersAreRefused) {
  fake_.body = R"({"prepay_id":"wx26112221580621e9b071c00d9e093b0000"})";
  fake_.signing_key = &testing::OtherKey();
  EXPECT_EQ(client_.PrepayJsapi(Prepay()).status().code(), absl::StatusCode::kUnauthenticated);

  fake_.signing_key = &testing::PlatformKey();
  fake_.timestamp_offset = -301;
  EXPECT_EQ(client_.PrepayJsapi(Prepay()).status().code(), absl::StatusCode::kUnauthenticated);

  fake_.timestamp_offset = 0;
  fake_.sign = false;
  EXPECT_EQ(client_.PrepayJsapi(Prepay()).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(WechatPayClientTest, UnsignedSuccessCanBeAllowedForFakes) {
  fake_.body = R"({"prepay_id":"wx26112221580621e9b071c00d9e093b0000"})";
  fake_.sign = false;
  WechatPayClient lenient(&crypto_, &fake_, &clock_,
                          WechatPayClient::Options{.allow_unsigned_success = true});
  EXPECT_TRUE(lenient.PrepayJsapi(Prepay()).ok());
}

TEST_F(WechatPayClientTest, ErrorAnswersMapToStatusCodes) {
  struct Case {
    int http;
    absl::StatusCode code;
  };
  for (const Case& c :
       {Case{400, absl::StatusCode::kInvalidArgument}, Case{401, absl::StatusCode::kInternal},
        Case{403, absl::StatusCode::kFailedPrecondition}, Case{404, absl::StatusCode::kNotFound},
        Case{429, absl::StatusCode::kUnavailable}, Case{500, absl::StatusCode::kUnavailable}}) {
    fake_.status = c.http;
    fake_.body = R"({"code":"PARAM_ERROR","message":"openid mismatch for oUpF8u..."})";
    absl::Status status = client_.PrepayJsapi(Prepay()).status();
    EXPECT_EQ(status.code(), c.code) << c.http;
    EXPECT_NE(status.message().find("PARAM_ERROR"), absl::string_view::npos);
    EXPECT_EQ(status.message().find("oUpF8u"), absl::string_view::npos);
  }
  // Unsigned error answers are still errors, not forgeries.
  fake_.sign = false;
  fake_.status = 500;
  EXPECT_EQ(client_.PrepayJsapi(Prepay()).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(WechatPayClientTest, TransportErrorsPassThroughAndBadInputSendsNothing) {
  fake_.transport_error = absl::UnavailableError("connection refused");
  EXPECT_EQ(client_.PrepayJsapi(Prepay()).status().code(), absl::StatusCode::kUnavailable);
  fake_.requests.clear();
  JsapiPrepayRequest bad = Prepay();
  bad.total_fen = 0;
  EXPECT_EQ(client_.PrepayJsapi(bad).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(fake_.requests.empty());
}

}  // namespace
}  // namespace livecommerce::order
