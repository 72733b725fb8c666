#include "services/order/payment/wechat_pay.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/crypto.h"
#include "tests/unit/order/payment/test_config.h"
#include "tests/unit/order/payment/test_keys.h"

namespace livecommerce::order {
namespace {

using nlohmann::json;
using testing::kAppid;
using testing::kMchid;
using testing::kMerchantSerial;
using testing::kPlatformSerial;
using testing::TestConfig;

// value() throws on error, which fails the test.
WechatPayCrypto MakeCrypto() { return WechatPayCrypto::Create(TestConfig()).value(); }

RsaKey MerchantPublicKey() { return *RsaKey::FromPublicKeyPem(testing::MerchantKey().public_pem); }

bool VerifyBase64(const RsaKey& key, const std::string& message, const std::string& b64) {
  std::string raw;
  return common::Base64Decode(b64, &raw) && key.VerifySha256(message, raw);
}

TEST(WechatPaySigningTest, RequestMessageHasFiveNewlineTerminatedLines) {
  EXPECT_EQ(RequestSignatureMessage("POST", "/v3/pay/transactions/jsapi", 1554208460,
                                    "593BEC0C930BF1AFEB40B4A08C8FB242", "{\"a\":1}"),
            "POST\n/v3/pay/transactions/jsapi\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n"
            "{\"a\":1}\n");
  EXPECT_EQ(RequestSignatureMessage("GET", "/v3/certificates?x=1", 1, "N", ""),
            "GET\n/v3/certificates?x=1\n1\nN\n\n");
  EXPECT_EQ(WechatpaySignatureMessage("1554208460", "N", "{}"), "1554208460\nN\n{}\n");
}

TEST(WechatPaySigningTest, SignedRequestVerifiesWithMerchantPublicKey) {
  WechatPayCrypto crypto = MakeCrypto();
  const std::string body = R"({"out_trade_no":"1217752501201407033233368018"})";
  absl::StatusOr<std::string> sig =
      crypto.SignRequest("POST", "/v3/refund/domestic/refunds", 1700000000, "NONCE", body);
  ASSERT_TRUE(sig.ok()) << sig.status();
  RsaKey pub = MerchantPublicKey();
  EXPECT_TRUE(VerifyBase64(
      pub,
      RequestSignatureMessage("POST", "/v3/refund/domestic/refunds", 1700000000, "NONCE", body),
      *sig));
  // Any change to what is signed breaks the signature.
  EXPECT_FALSE(VerifyBase64(
      pub,
      RequestSignatureMessage("POST", "/v3/refund/domestic/refunds", 1700000001, "NONCE", body),
      *sig));
  EXPECT_FALSE(VerifyBase64(
      pub, RequestSignatureMessage("GET", "/v3/refund/domestic/refunds", 1700000000, "NONCE", body),
      *sig));
}

TEST(WechatPaySigningTest, AuthorizationHeaderFormat) {
  WechatPayCrypto crypto = MakeCrypto();
  const std::string nonce = "593BEC0C930BF1AFEB40B4A08C8FB242";
  absl::StatusOr<std::string> header =
      crypto.Authorization("POST", "/v3/pay/transactions/jsapi", "{}", 1554208460, nonce);
  ASSERT_TRUE(header.ok()) << header.status();
  std::smatch m;
  const std::regex pattern(
      "^WECHATPAY2-SHA256-RSA2048 mchid=\"([0-9]+)\",nonce_str=\"([0-9A-F]+)\","
      "signature=\"([A-Za-z0-9+/=]+)\",timestamp=\"([0-9]+)\",serial_no=\"([0-9A-F]+)\"$");
  ASSERT_TRUE(std::regex_match(*header, m, pattern)) << *header;
  EXPECT_EQ(m[1], kMchid);
  EXPECT_EQ(m[2], nonce);
  EXPECT_EQ(m[4], "1554208460");
  EXPECT_EQ(m[5], kMerchantSerial);
  EXPECT_TRUE(VerifyBase64(
      MerchantPublicKey(),
      RequestSignatureMessage("POST", "/v3/pay/transactions/jsapi", 1554208460, nonce, "{}"),
      m[3].str()));
  EXPECT_EQ(AuthorizationHeaderValue("1", "n", "s", 2, "S"),
            "WECHATPAY2-SHA256-RSA2048 mchid=\"1\",nonce_str=\"n\",signature=\"s\","
            "timestamp=\"2\",serial_no=\"S\"");
}

TEST(WechatPaySigningTest, NoncesAreFreshUppercaseHex) {
  std::string a = MakeWechatPayNonce();
  std::string b = MakeWechatPayNonce();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(std::regex_match(a, std::regex("^[0-9A-F]{32}$"))) << a;
}

TEST(WechatPayMiniProgramTest, PaySignVerifiesWithMerchantPublicKey) {
  WechatPayCrypto crypto = MakeCrypto();
  absl::StatusOr<MiniProgramPayParams> params =
      crypto.MiniProgramParams("wx201410272009395522657a690389285100", 1414561699, "5K8264ILT");
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_EQ(params->time_stamp, "1414561699");
  EXPECT_EQ(params->nonce_str, "5K8264ILT");
  EXPECT_EQ(params->package, "prepay_id=wx201410272009395522657a690389285100");
  EXPECT_EQ(params->sign_type, "RSA");
  const std::string message = absl::StrCat(kAppid, "\n1414561699\n5K8264ILT\n",
                                           "prepay_id=wx201410272009395522657a690389285100\n");
  EXPECT_EQ(PaySignMessage(kAppid, "1414561699", "5K8264ILT",
                           "prepay_id=wx201410272009395522657a690389285100"),
            message);
  EXPECT_TRUE(VerifyBase64(MerchantPublicKey(), message, params->pay_sign));
  // Signed for this appid only.
  EXPECT_FALSE(VerifyBase64(MerchantPublicKey(),
                            PaySignMessage("wxother", "1414561699", "5K8264ILT", params->package),
                            params->pay_sign));

  json j = json::parse(MiniProgramPayParamsJson(*params));
  EXPECT_EQ(j["timeStamp"], "1414561699");
  EXPECT_EQ(j["nonceStr"], "5K8264ILT");
  EXPECT_EQ(j["package"], params->package);
  EXPECT_EQ(j["signType"], "RSA");
  EXPECT_EQ(j["paySign"], params->pay_sign);
  EXPECT_FALSE(crypto.MiniProgramParams("", 1, "n").ok());
}

JsapiPrepayRequest SamplePrepay() {
  JsapiPrepayRequest request;
  request.description = "Silk scarf - livestream 42";
  request.out_trade_no = "LC20240501000001";
  request.total_fen = 129900;
  request.payer_openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
  return request;
}

TEST(WechatPayPrepayTest, BuildsJsapiBodyFromConfig) {
  JsapiPrepayRequest request = SamplePrepay();
  request.time_expire = absl::FromUnixSeconds(1714550400);  // 2024-05-01T08:00:00Z
  absl::StatusOr<std::string> body = BuildJsapiPrepayBody(TestConfig(), request);
  ASSERT_TRUE(body.ok()) << body.status();
  json j = json::parse(*body);
  EXPECT_EQ(j["appid"], kAppid);
  EXPECT_EQ(j["mchid"], kMchid);
  EXPECT_EQ(j["description"], request.description);
  EXPECT_EQ(j["out_trade_no"], request.out_trade_no);
  EXPECT_EQ(j["notify_url"], testing::kNotifyUrl);
  ASSERT_TRUE(j["amount"]["total"].is_number_integer());
  EXPECT_EQ(j["amount"]["total"].get<int64_t>(), 129900);
  EXPECT_EQ(j["amount"]["currency"], "CNY");
  EXPECT_EQ(j["payer"]["openid"], request.payer_openid);
  EXPECT_EQ(j["time_expire"], "2024-05-01T16:00:00+08:00");
  EXPECT_FALSE(j.contains("attach"));

  request.time_expire.reset();
  json without = json::parse(*BuildJsapiPrepayBody(TestConfig(), request));
  EXPECT_FALSE(without.contains("time_expire"));
}

TEST(WechatPayPrepayTest, RefusesBadInputNamingTheField) {
  auto field_error = [](const JsapiPrepayRequest& r) {
    absl::StatusOr<std::string> body = BuildJsapiPrepayBody(TestConfig(), r);
    EXPECT_EQ(body.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(body.status().message());
  };
  JsapiPrepayRequest r = SamplePrepay();
  r.total_fen = 0;
  EXPECT_NE(field_error(r).find("total_fen"), std::string::npos);
  r = SamplePrepay();
  r.total_fen = -5;
  EXPECT_NE(field_error(r).find("total_fen"), std::string::npos);
  r = SamplePrepay();
  r.out_trade_no = "abc";
  EXPECT_NE(field_error(r).find("out_trade_no"), std::string::npos);
  r = SamplePrepay();
  r.out_trade_no = "LC2024/0501";
  EXPECT_NE(field_error(r).find("out_trade_no"), std::string::npos);
  r = SamplePrepay();
  r.description = "";
  EXPECT_NE(field_error(r).find("description"), std::string::npos);
  r = SamplePrepay();
  r.description = std::string(128, 'x');
  EXPECT_NE(field_error(r).find("description"), std::string::npos);
  r = SamplePrepay();
  r.description = "bad \xff utf8";
  EXPECT_NE(field_error(r).find("description"), std::string::npos);
  r = SamplePrepay();
  r.payer_openid = "";
  EXPECT_NE(field_error(r).find("payer_openid"), std::string::npos);
  r = SamplePrepay();
  r.currency = "cny";
  EXPECT_NE(field_error(r).find("currency"), std::string::npos);
}

TEST(WechatPayPrepayTest, ParsesPrepayId) {
  absl::StatusOr<std::string> id =
      ParsePrepayResponse(R"({"prepay_id":"wx26112221580621e9b071c00d9e093b0000"})");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "wx26112221580621e9b071c00d9e093b0000");
  EXPECT_FALSE(ParsePrepayResponse("{}").ok());
  EXPECT_FALSE(ParsePrepayResponse(R"({"prepay_id":""})").ok());
  EXPECT_FALSE(ParsePrepayResponse(R"({"prepay_id":12})").ok());
  EXPECT_FALSE(ParsePrepayResponse("not json").ok());
}

RefundRequest SampleRefund() {
  RefundRequest request;
  request.out_trade_no = "LC20240501000001";
  request.out_refund_no = "RF20240502000001";
  request.reason = "size exchange";
  request.refund_fen = 50000;
  request.total_fen = 129900;
  return request;
}

TEST(WechatPayRefundTest, BuildsRefundBody) {
  absl::StatusOr<std::string> body = BuildRefundBody(TestConfig(), SampleRefund());
  ASSERT_TRUE(body.ok()) << body.status();
  json j = json::parse(*body);
  EXPECT_EQ(j["out_trade_no"], "LC20240501000001");
  EXPECT_EQ(j["out_refund_no"], "RF20240502000001");
  EXPECT_EQ(j["reason"], "size exchange");
  EXPECT_EQ(j["notify_url"], testing::kNotifyUrl);
  EXPECT_EQ(j["amount"]["refund"].get<int64_t>(), 50000);
  EXPECT_EQ(j["amount"]["total"].get<int64_t>(), 129900);
  EXPECT_EQ(j["amount"]["currency"], "CNY");
}

TEST(WechatPayRefundTest, RefusesRefundAboveTotalOrNonPositive) {
  RefundRequest r = SampleRefund();
  r.refund_fen = r.total_fen + 1;
  EXPECT_EQ(BuildRefundBody(TestConfig(), r).status().code(), absl::StatusCode::kInvalidArgument);
  r.refund_fen = 0;
  EXPECT_EQ(BuildRefundBody(TestConfig(), r).status().code(), absl::StatusCode::kInvalidArgument);
  r = SampleRefund();
  r.out_refund_no = "";
  EXPECT_EQ(BuildRefundBody(TestConfig(), r).status().code(), absl::StatusCode::kInvalidArgument);
  r = SampleRefund();
  r.reason = std::string(81, 'r');
  EXPECT_EQ(BuildRefundBody(TestConfig(), r).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(WechatPayRefundTest, ParsesRefundResponse) {
  absl::StatusOr<RefundResponse> r = ParseRefundResponse(R"({
    "refund_id": "50000000382019052709732678859", "out_refund_no": "RF20240502000001",
    "transaction_id": "1217752501201407033233368018", "out_trade_no": "LC20240501000001",
    "channel": "ORIGINAL", "user_received_account": "CMB debit 1234",
    "create_time": "2024-05-02T10:00:00+08:00", "status": "PROCESSING",
    "amount": {"total": 129900, "refund": 50000, "payer_total": 129900, "payer_refund": 50000,
               "currency": "CNY"}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->refund_id, "50000000382019052709732678859");
  EXPECT_EQ(r->out_refund_no, "RF20240502000001");
  EXPECT_EQ(r->status, "PROCESSING");
  EXPECT_EQ(r->refund_fen, 50000);
  EXPECT_EQ(r->total_fen, 129900);
  EXPECT_FALSE(ParseRefundResponse(R"({"status":"SUCCESS"})").ok());
  EXPECT_FALSE(ParseRefundResponse(R"({"refund_id":"1","status":"WEIRD"})").ok());
  EXPECT_FALSE(ParseRefundResponse("[]").ok());
}

TEST(WechatPayRepliesTest, SuccessIsEmpty200AndFailureIsFailJson) {
  NotificationReply ok = NotificationAccepted();
  EXPECT_EQ(ok.http_status, 200);
  EXPECT_TRUE(ok.body.empty());

  NotificationReply denied =
      NotificationRejected(absl::UnauthenticatedError("secret detail key=abc"));
  EXPECT_EQ(denied.http_status, 401);
  json j = json::parse(denied.body);
  EXPECT_EQ(j["code"], "FAIL");
  EXPECT_FALSE(j["message"].get<std::string>().empty());
  EXPECT_EQ(denied.body.find("secret"), std::string::npos);

  NotificationReply busy = NotificationRejected(absl::UnavailableError("mysql down at 10.0.0.3"));
  EXPECT_GE(busy.http_status, 500);
  EXPECT_EQ(busy.body.find("10.0.0.3"), std::string::npos);
  EXPECT_EQ(json::parse(busy.body)["code"], "FAIL");
  EXPECT_EQ(NotificationRejected(absl::InvalidArgumentError("x")).http_status, 400);
}

TEST(WechatPayHeadersTest, FindsHeadersCaseInsensitively) {
  HttpHeaders headers = {{"wechatpay-timestamp", "1"},
                         {"WECHATPAY-NONCE", "n"},
                         {"Wechatpay-Signature", "s"},
                         {"Wechatpay-Serial", "S"}};
  NotificationHeaders h = NotificationHeadersFrom(headers);
  EXPECT_EQ(h.timestamp, "1");
  EXPECT_EQ(h.nonce, "n");
  EXPECT_EQ(h.signature, "s");
  EXPECT_EQ(h.serial, "S");
  EXPECT_FALSE(FindHeader(headers, "Authorization").has_value());
}

TEST(WechatPayCryptoTest, CreateRefusesBadKeys) {
  WechatPayConfig config = TestConfig();
  config.apiv3_key = "short";
  EXPECT_EQ(WechatPayCrypto::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
  config = TestConfig();
  config.merchant_private_key_pem = "garbage";
  EXPECT_EQ(WechatPayCrypto::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
  config = TestConfig();
  config.platform_public_keys_pem.clear();
  EXPECT_EQ(WechatPayCrypto::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
  config = TestConfig();
  config.platform_public_keys_pem["ABC"] = "garbage";
  EXPECT_EQ(WechatPayCrypto::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(WechatPayCryptoTest, CertificateMustCarryTheSerialItIsFiledUnder) {
  testing::CertificateSpec spec;
  spec.common_name = "Tenpay.com Root CA";
  spec.serial_hex = kPlatformSerial;
  testing::TestCertificate cert =
      testing::MakeCertificate(testing::PlatformKey().private_pem, spec, nullptr);
  WechatPayConfig config = TestConfig();
  config.platform_public_keys_pem.clear();
  config.platform_public_keys_pem[kPlatformSerial] = cert.cert_pem;
  EXPECT_TRUE(WechatPayCrypto::Create(config).ok());
  config.platform_public_keys_pem.clear();
  config.platform_public_keys_pem["1234ABCD"] = cert.cert_pem;
  EXPECT_EQ(WechatPayCrypto::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
}

// LoadWechatPayConfig reads the environment and files; each test sets all variables itself.
class LoadWechatPayConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("lc-wechatpay-", common::HexEncode(common::RandomBytes(6)));
    std::filesystem::create_directories(dir_ / "platform");
    Write(dir_ / "apiclient_key.pem", testing::MerchantKey().private_pem);
    Write(dir_ / "apiv3.key", absl::StrCat(testing::kApiV3Key, "\n"));
    Write(dir_ / "platform" / absl::StrCat(kPlatformSerial, ".pem"),
          testing::PlatformKey().public_pem);
    Write(dir_ / "platform" / "README.txt", "ignored");
    setenv("LC_WECHATPAY_MCHID", kMchid, 1);
    setenv("LC_WECHATPAY_APPID", kAppid, 1);
    setenv("LC_WECHATPAY_SERIAL_NO", kMerchantSerial, 1);
    setenv("LC_WECHATPAY_PRIVATE_KEY_FILE", (dir_ / "apiclient_key.pem").c_str(), 1);
    setenv("LC_WECHATPAY_APIV3_KEY_FILE", (dir_ / "apiv3.key").c_str(), 1);
    setenv("LC_WECHATPAY_PLATFORM_CERTS_DIR", (dir_ / "platform").c_str(), 1);
    setenv("LC_WECHATPAY_NOTIFY_URL", testing::kNotifyUrl, 1);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static void Write(const std::filesystem::path& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
  }

  // The error of LoadWechatPayConfig, which must name `variable` and not quote `secret`.
  static void ExpectErrorNaming(const char* variable, const std::string& secret = "") {
    absl::StatusOr<WechatPayConfig> config = LoadWechatPayConfig();
    ASSERT_FALSE(config.ok()) << variable;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(config.status().message().find(variable), absl::string_view::npos) << config.status();
    if (!secret.empty()) {
      EXPECT_EQ(config.status().message().find(secret), absl::string_view::npos);
    }
  }

  std::filesystem::path dir_;
};

TEST_F(LoadWechatPayConfigTest, LoadsEverything) {
  absl::StatusOr<WechatPayConfig> config = LoadWechatPayConfig();
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->mchid, kMchid);
  EXPECT_EQ(config->appid, kAppid);
  EXPECT_EQ(config->merchant_serial_no, kMerchantSerial);
  EXPECT_EQ(config->merchant_private_key_pem, testing::MerchantKey().private_pem);
  EXPECT_EQ(config->apiv3_key, testing::kApiV3Key);
  EXPECT_EQ(config->notify_url, testing::kNotifyUrl);
  ASSERT_EQ(config->platform_public_keys_pem.size(), 1u);
  EXPECT_EQ(config->platform_public_keys_pem.at(kPlatformSerial),
            testing::PlatformKey().public_pem);
  EXPECT_TRUE(WechatPayCrypto::Create(*config).ok());
}

TEST_F(LoadWechatPayConfigTest, EachMissingVariableIsNamed) {
  for (const char* variable : {"LC_WECHATPAY_MCHID", "LC_WECHATPAY_APPID", "LC_WECHATPAY_SERIAL_NO",
                               "LC_WECHATPAY_PRIVATE_KEY_FILE", "LC_WECHATPAY_APIV3_KEY_FILE",
                               "LC_WECHATPAY_PLATFORM_CERTS_DIR", "LC_WECHATPAY_NOTIFY_URL"}) {
    std::string saved = getenv(variable);
    unsetenv(variable);
    ExpectErrorNaming(variable);
    setenv(variable, saved.c_str(), 1);
  }
}

TEST_F(LoadWechatPayConfigTest, BadFilesAreNamedWithoutQuotingSecrets) {
  Write(dir_ / "apiv3.key", "tooshort-secret");
  ExpectErrorNaming("LC_WECHATPAY_APIV3_KEY_FILE", "tooshort-secret");
  Write(dir_ / "apiv3.key", testing::kApiV3Key);

  Write(dir_ / "apiclient_key.pem", "-----BEGIN PRIVATE KEY-----\nSECRETSTUFF\n");
  ExpectErrorNaming("LC_WECHATPAY_PRIVATE_KEY_FILE", "SECRETSTUFF");
  Write(dir_ / "apiclient_key.pem", testing::MerchantKey().private_pem);

  setenv("LC_WECHATPAY_PRIVATE_KEY_FILE", (dir_ / "missing.pem").c_str(), 1);
  ExpectErrorNaming("LC_WECHATPAY_PRIVATE_KEY_FILE");
  setenv("LC_WECHATPAY_PRIVATE_KEY_FILE", (dir_ / "apiclient_key.pem").c_str(), 1);

  Write(dir_ / "platform" / "BADSERIAL.pem", "not a key");
  ExpectErrorNaming("LC_WECHATPAY_PLATFORM_CERTS_DIR");
  std::filesystem::remove(dir_ / "platform" / "BADSERIAL.pem");

  std::filesystem::remove(dir_ / "platform" / absl::StrCat(kPlatformSerial, ".pem"));
  ExpectErrorNaming("LC_WECHATPAY_PLATFORM_CERTS_DIR");
}

TEST_F(LoadWechatPayConfigTest, NotifyUrlMustBeHttpsWithoutQuery) {
  setenv("LC_WECHATPAY_NOTIFY_URL", "http://shop.example.com/notify", 1);
  ExpectErrorNaming("LC_WECHATPAY_NOTIFY_URL");
  setenv("LC_WECHATPAY_NOTIFY_URL", "https://shop.example.com/notify?order=1", 1);
  ExpectErrorNaming("LC_WECHATPAY_NOTIFY_URL");
}

}  // namespace
}  // namespace livecommerce::order
