#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/crypto.h"
#include "services/order/payment/wechat_pay.h"
#include "tests/unit/order/payment/test_config.h"
#include "tests/unit/order/payment/test_keys.h"

namespace livecommerce::order {
namespace {

using nlohmann::json;
using testing::kApiV3Key;
using testing::kAppid;
using testing::kMchid;
using testing::kPlatformSerial;

constexpr int64_t kNow = 1714550400;
constexpr char kOutTradeNo[] = "LC20240501000001";
constexpr int64_t kTotalFen = 129900;

std::string TransactionJson() {
  return json{
      {"appid", kAppid},
      {"mchid", kMchid},
      {"out_trade_no", kOutTradeNo},
      {"transaction_id", "4200000985202405010000000001"},
      {"trade_type", "JSAPI"},
      {"trade_state", "SUCCESS"},
      {"trade_state_desc", "ok"},
      {"bank_type", "CMC"},
      {"success_time", "2024-05-01T16:00:05+08:00"},
      {"payer", {{"openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}},
      {"amount",
       {{"total", kTotalFen},
        {"payer_total", kTotalFen - 1000},
        {"currency", "CNY"},
        {"payer_currency", "CNY"}}},
  }
      .dump();
}

std::string RefundJson(const std::string& status) {
  return json{
      {"mchid", kMchid},
      {"out_trade_no", kOutTradeNo},
      {"transaction_id", "4200000985202405010000000001"},
      {"out_refund_no", "RF20240502000001"},
      {"refund_id", "50000000382019052709732678859"},
      {"refund_status", status},
      {"success_time", "2024-05-02T10:00:00+08:00"},
      {"user_received_account", "CMB debit 1234"},
      {"amount",
       {{"total", kTotalFen},
        {"refund", 50000},
        {"payer_total", kTotalFen},
        {"payer_refund", 50000}}},
  }
      .dump();
}

// A notification exactly as WeChat Pay would post it: sealed resource, signed body.
struct Posted {
  std::string body;
  NotificationHeaders headers;
};

Posted Post(const std::string& plaintext, const std::string& event_type = "TRANSACTION.SUCCESS",
            const std::string& original_type = "transaction",
            const std::string& associated_data = "transaction", int64_t timestamp = kNow) {
  EncryptedResource resource =
      SealResource(kApiV3Key, plaintext, associated_data, original_type).value();
  NotificationEnvelope envelope;
  envelope.id = "EV-2018022511223320873";
  envelope.create_time = "2024-05-01T16:00:06+08:00";
  envelope.event_type = event_type;
  envelope.resource_type = "encrypt-resource";
  envelope.summary = "payment succeeded";
  envelope.resource = resource;
  Posted posted;
  posted.body = NotificationBodyJson(envelope);
  posted.headers.timestamp = absl::StrCat(timestamp);
  posted.headers.nonce = "fdasflkja484w";
  posted.headers.serial = kPlatformSerial;
  posted.headers.signature =
      SignNotification(testing::PlatformKey().private_pem, posted.headers.timestamp,
                       posted.headers.nonce, posted.body)
          .value();
  return posted;
}

class NotificationTest : public ::testing::Test {
 protected:
  NotificationTest() : crypto_(WechatPayCrypto::Create(testing::TestConfig()).value()) {}

  absl::StatusOr<WechatPayNotification> Verify(const Posted& posted, int64_t now = kNow) const {
    return crypto_.VerifyNotification(posted.headers, posted.body, absl::FromUnixSeconds(now));
  }
  // Signs `body` afresh (for mutations made below the signature).
  static Posted Resign(Posted posted) {
    posted.headers.signature =
        SignNotification(testing::PlatformKey().private_pem, posted.headers.timestamp,
                         posted.headers.nonce, posted.body)
            .value();
    return posted;
  }

  WechatPayCrypto crypto_;
};

void ExpectRefused(const absl::StatusOr<WechatPayNotification>& result,
                   absl::StatusCode code = absl::StatusCode::kUnauthenticated) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), code) << result.status();
  // Never echo the keys.
  EXPECT_EQ(result.status().message().find(kApiV3Key), absl::string_view::npos);
}

TEST_F(NotificationTest, GenuinePaymentNotificationIsAccepted) {
  absl::StatusOr<WechatPayNotification> n = Verify(Post(TransactionJson()));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->id, "EV-2018022511223320873");
  EXPECT_EQ(n->event_type, "TRANSACTION.SUCCESS");
  ASSERT_TRUE(std::holds_alternative<PaidTransaction>(n->event));
  const auto& t = std::get<PaidTransaction>(n->event);
  EXPECT_EQ(t.appid, kAppid);
  EXPECT_EQ(t.mchid, kMchid);
  EXPECT_EQ(t.out_trade_no, kOutTradeNo);
  EXPECT_EQ(t.transaction_id, "4200000985202405010000000001");
  EXPECT_EQ(t.trade_state, "SUCCESS");
  EXPECT_EQ(t.total_fen, kTotalFen);
  EXPECT_EQ(t.payer_total_fen, kTotalFen - 1000);
  EXPECT_EQ(t.currency, "CNY");
  EXPECT_EQ(t.payer_openid, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
  EXPECT_EQ(t.success_time, "2024-05-01T16:00:05+08:00");
  EXPECT_TRUE(CheckPaidTransaction(t, kMchid, kAppid, kOutTradeNo, kTotalFen, "CNY").ok());
}

TEST_F(NotificationTest, TimestampWithinFiveMinutesEitherWayIsAccepted) {
  EXPECT_TRUE(Verify(Post(TransactionJson()), kNow + 300).ok());
  EXPECT_TRUE(Verify(Post(TransactionJson()), kNow - 300).ok());
}

TEST_F(NotificationTest, SerialMatchesCaseInsensitively) {
  Posted posted = Post(TransactionJson());
  posted.headers.serial = absl::AsciiStrToLower(posted.headers.serial);
  EXPECT_TRUE(Verify(posted).ok());
}

TEST_F(NotificationTest, OneFlippedBodyByteIsRefused) {
  Posted posted = Post(TransactionJson());
  for (size_t i : {size_t{0}, posted.body.size() / 2, posted.body.size() - 1}) {
    Posted mutated = posted;
    mutated.body[i] ^= 0x01;
    ExpectRefused(Verify(mutated));
  }
}

TEST_F(NotificationTest, ReserialisedJsonIsRefused) {
  Posted posted = Post(TransactionJson());
  // Same data, different bytes: the signature covers the raw body, not its meaning.
  posted.body = json::parse(posted.body).dump(2);
  ExpectRefused(Verify(posted));
}

TEST_F(NotificationTest, TimestampMoreThan300SecondsOffIsRefused) {
  ExpectRefused(Verify(Post(TransactionJson()), kNow + 301));
  ExpectRefused(Verify(Post(TransactionJson()), kNow - 301));
  // Re-dating the header alone is refused by the signature.
  Posted posted = Post(TransactionJson());
  posted.headers.timestamp = absl::StrCat(kNow + 1);
  ExpectRefused(Verify(posted));
}

TEST_F(NotificationTest, UnknownSerialIsRefused) {
  Posted posted = Post(TransactionJson());
  posted.headers.serial = "7132D72A03E93CDDF8C03BBD1F37EEDF77A0A0B0";
  ExpectRefused(Verify(posted));
}

TEST_F(NotificationTest, SignatureByAnotherKeyIsRefused) {
  Posted posted = Post(TransactionJson());
  posted.headers.signature =
      SignNotification(testing::OtherKey().private_pem, posted.headers.timestamp,
                       posted.headers.nonce, posted.body)
          .value();
  ExpectRefused(Verify(posted));
}

TEST_F(NotificationTest, SigntestProbeIsRefused) {
  Posted posted = Post(TransactionJson());
  posted.headers.signature = absl::StrCat("WECHATPAY/SIGNTEST/", posted.headers.signature);
  absl::StatusOr<WechatPayNotification> result = Verify(posted);
  ExpectRefused(result);
  EXPECT_NE(result.status().message().find("probe"), absl::string_view::npos);
}

TEST_F(NotificationTest, EachMissingHeaderIsRefused) {
  const Posted posted = Post(TransactionJson());
  for (std::string NotificationHeaders::*field :
       {&NotificationHeaders::timestamp, &NotificationHeaders::nonce,
        &NotificationHeaders::signature, &NotificationHeaders::serial}) {
    Posted mutated = posted;
    mutated.headers.*field = "";
    ExpectRefused(Verify(mutated));
  }
  Posted garbled = posted;
  garbled.headers.timestamp = "17145504OO";
  ExpectRefused(Verify(garbled));
  garbled = posted;
  garbled.headers.signature = "!!notbase64!!";
  ExpectRefused(Verify(garbled));
}

TEST_F(NotificationTest, BadGcmTagIsRefused) {
  Posted posted = Post(TransactionJson());
  json body = json::parse(posted.body);
  std::string sealed;
  ASSERT_TRUE(common::Base64Decode(body["resource"]["ciphertext"].get<std::string>(), &sealed));
  sealed.back() ^= 0x01;
  body["resource"]["ciphertext"] = common::Base64Encode(sealed);
  posted.body = body.dump();
  // Signed correctly, so only the AEAD check can catch it.
  ExpectRefused(Verify(Resign(posted)));
}

TEST_F(NotificationTest, WrongAssociatedDataIsRefused) {
  Posted posted = Post(TransactionJson());
  json body = json::parse(posted.body);
  body["resource"]["associated_data"] = "refund";
  posted.body = body.dump();
  ExpectRefused(Verify(Resign(posted)));
}

TEST_F(NotificationTest, ResourceSealedWithAnotherKeyIsRefused) {
  Posted posted = Post(TransactionJson());
  json body = json::parse(posted.body);
  EncryptedResource other =
      SealResource("ffffffffffffffffffffffffffffffff", TransactionJson(), "transaction").value();
  body["resource"]["ciphertext"] = other.ciphertext;
  body["resource"]["nonce"] = other.nonce;
  posted.body = body.dump();
  ExpectRefused(Verify(Resign(posted)));
}

TEST_F(NotificationTest, MalformedEnvelopeIsInvalidArgument) {
  Posted posted = Post(TransactionJson());
  json body = json::parse(posted.body);
  body["resource"]["algorithm"] = "AEAD_AES_128_GCM";
  posted.body = body.dump();
  ExpectRefused(Verify(Resign(posted)), absl::StatusCode::kInvalidArgument);

  posted.body = "not json";
  ExpectRefused(Verify(Resign(posted)), absl::StatusCode::kInvalidArgument);

  // Fractional money is refused, never rounded.
  std::string fractional = TransactionJson();
  json t = json::parse(fractional);
  t["amount"]["total"] = 1299.5;
  ExpectRefused(Verify(Post(t.dump())), absl::StatusCode::kInvalidArgument);
}

TEST_F(NotificationTest, EmptyAssociatedDataRoundTrips) {
  absl::StatusOr<WechatPayNotification> n =
      Verify(Post(TransactionJson(), "TRANSACTION.SUCCESS", "transaction", ""));
  ASSERT_TRUE(n.ok()) << n.status();
}

TEST_F(NotificationTest, MismatchedAmountIsRefusedByCheck) {
  absl::StatusOr<WechatPayNotification> n = Verify(Post(TransactionJson()));
  ASSERT_TRUE(n.ok());
  const auto& t = std::get<PaidTransaction>(n->event);
  EXPECT_EQ(CheckPaidTransaction(t, kMchid, kAppid, kOutTradeNo, kTotalFen + 1, "CNY").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckPaidTransaction(t, kMchid, kAppid, kOutTradeNo, kTotalFen, "USD").code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(NotificationTest, MismatchedMchidIsRefusedByCheck) {
  json t = json::parse(TransactionJson());
  t["mchid"] = "1900000109";
  absl::StatusOr<WechatPayNotification> n = Verify(Post(t.dump()));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(CheckPaidTransaction(std::get<PaidTransaction>(n->event), kMchid, kAppid, kOutTradeNo,
                                 kTotalFen, "CNY")
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(NotificationTest, MismatchedAppidIsRefusedByCheck) {
  json t = json::parse(TransactionJson());
  t["appid"] = "wxotherapp000000";
  absl::StatusOr<WechatPayNotification> n = Verify(Post(t.dump()));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(CheckPaidTransaction(std::get<PaidTransaction>(n->event), kMchid, kAppid, kOutTradeNo,
                                 kTotalFen, "CNY")
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(NotificationTest, DifferentOutTradeNoIsRefusedByCheck) {
  absl::StatusOr<WechatPayNotification> n = Verify(Post(TransactionJson()));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(CheckPaidTransaction(std::get<PaidTransaction>(n->event), kMchid, kAppid,
                                 "LC20240501000002", kTotalFen, "CNY")
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(NotificationTest, TradeStateOtherThanSuccessIsRefusedByCheck) {
  json t = json::parse(TransactionJson());
  t["trade_state"] = "REFUND";
  absl::StatusOr<WechatPayNotification> n = Verify(Post(t.dump()));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(CheckPaidTransaction(std::get<PaidTransaction>(n->event), kMchid, kAppid, kOutTradeNo,
                                 kTotalFen, "CNY")
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(NotificationTest, RefundNotificationsAreParsed) {
  for (const std::string status : {"SUCCESS", "ABNORMAL", "CLOSED"}) {
    absl::StatusOr<WechatPayNotification> n =
        Verify(Post(RefundJson(status), absl::StrCat("REFUND.", status), "refund", "refund"));
    ASSERT_TRUE(n.ok()) << status << " " << n.status();
    ASSERT_TRUE(std::holds_alternative<RefundResult>(n->event)) << status;
    const auto& r = std::get<RefundResult>(n->event);
    EXPECT_EQ(r.mchid, kMchid);
    EXPECT_EQ(r.out_trade_no, kOutTradeNo);
    EXPECT_EQ(r.out_refund_no, "RF20240502000001");
    EXPECT_EQ(r.refund_id, "50000000382019052709732678859");
    EXPECT_EQ(r.refund_status, status);
    EXPECT_EQ(r.refund_fen, 50000);
    EXPECT_EQ(r.total_fen, kTotalFen);
    EXPECT_EQ(r.payer_refund_fen, 50000);
    EXPECT_TRUE(CheckRefundResult(r, kMchid, "RF20240502000001", 50000).ok());
    EXPECT_EQ(CheckRefundResult(r, kMchid, "RF20240502000001", 50001).code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(CheckRefundResult(r, "1900000109", "RF20240502000001", 50000).code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(CheckRefundResult(r, kMchid, "RF20240502000002", 50000).code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(NotificationTest, RefundStatusMustMatchEventType) {
  ExpectRefused(Verify(Post(RefundJson("CLOSED"), "REFUND.SUCCESS", "refund", "refund")),
                absl::StatusCode::kInvalidArgument);
}

TEST_F(NotificationTest, OtherVerifiedEventsAreReportedAsSuch) {
  absl::StatusOr<WechatPayNotification> n = Verify(Post(TransactionJson(), "TRANSACTION.FAIL"));
  ASSERT_TRUE(n.ok()) << n.status();
  ASSERT_TRUE(std::holds_alternative<OtherEvent>(n->event));
  EXPECT_EQ(std::get<OtherEvent>(n->event).event_type, "TRANSACTION.FAIL");
}

TEST(SealResourceTest, SealsWithFreshTwelveCharNonce) {
  EncryptedResource a = SealResource(kApiV3Key, "{}", "transaction").value();
  EncryptedResource b = SealResource(kApiV3Key, "{}", "transaction").value();
  EXPECT_EQ(a.algorithm, "AEAD_AES_256_GCM");
  EXPECT_EQ(a.nonce.size(), 12u);
  EXPECT_NE(a.nonce, b.nonce);
  EXPECT_NE(a.ciphertext, b.ciphertext);
  EXPECT_EQ(a.associated_data, "transaction");
  EXPECT_EQ(a.original_type, "transaction");
  EXPECT_EQ(DecryptResource(kApiV3Key, a).value(), "{}");
  EncryptedResource wrong_nonce = a;
  wrong_nonce.nonce = "short";
  EXPECT_EQ(DecryptResource(kApiV3Key, wrong_nonce).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(SealResource("short", "{}", "").ok());
}

}  // namespace
}  // namespace livecommerce::order
