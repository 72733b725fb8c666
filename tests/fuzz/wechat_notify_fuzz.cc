// libFuzzer target: WeChat Pay v3 payment and refund notifications through the order service's
// parser and verifier (services/order/payment/wechat_pay.cc, rsa_aead.cc): the Wechatpay-* headers,
// the timestamp window, the serial, base64, the RSA-SHA256 signature, the JSON envelope, the
// AES-256-GCM resource and the transaction or refund inside it.
//
// Input: one mode byte, then "Name: value" header lines, an empty line, and the body.
//   mode 0 (as posted): verified as it came. The keys are made afresh in each process, so nothing
//     the fuzzer writes can carry a valid signature: an accepted notification is a false accept.
//   mode 1 (signed): Wechatpay-Signature is replaced by the platform key's signature over the
//     fuzzed timestamp, nonce and body, so mutations reach the envelope, base64 and GCM below it.
//   mode 2 (sealed): the body is the resource's plaintext, sealed with the APIv3 key (associated
//     data and event type from the Associated-Data and Event-Type lines), wrapped and signed, so
//     mutations reach the transaction and refund parsers and their checks.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/crypto.h"
#include "services/order/payment/rsa_aead.h"
#include "services/order/payment/wechat_pay.h"
#include "tests/unit/order/payment/test_config.h"
#include "tests/unit/order/payment/test_keys.h"

namespace {

using namespace livecommerce::order;  // NOLINT: the whole API under test

constexpr int64_t kNow = 1714550400;  // the seeds' Wechatpay-Timestamp
constexpr char kResourceNonce[] = "fuzznonce123";

struct Keys {
  WechatPayCrypto crypto = WechatPayCrypto::Create(testing::TestConfig()).value();
  RsaKey platform = RsaKey::FromPrivateKeyPem(testing::PlatformKey().private_pem).value();

  std::string Sign(const NotificationHeaders& h, absl::string_view body) const {
    return livecommerce::common::Base64Encode(
        platform.SignSha256(WechatpaySignatureMessage(h.timestamp, h.nonce, body)).value());
  }
};

const Keys& TheKeys() {
  static const Keys* keys = new Keys();
  return *keys;
}

// "Name: value" lines up to an empty line; the rest is the body.
HttpHeaders ParseHead(absl::string_view* text) {
  HttpHeaders headers;
  while (!text->empty()) {
    size_t end = text->find('\n');
    absl::string_view line = text->substr(0, end);
    text->remove_prefix(end == absl::string_view::npos ? text->size() : end + 1);
    if (line.empty()) break;
    size_t colon = line.find(':');
    absl::string_view name = line.substr(0, colon);
    absl::string_view value = colon == absl::string_view::npos ? "" : line.substr(colon + 1);
    if (absl::StartsWith(value, " ")) value.remove_prefix(1);
    headers.emplace_back(std::string(name), std::string(value));
  }
  return headers;
}

void CheckRefusal(const absl::Status& status) {
  if (status.ok()) __builtin_trap();
  // Documented codes only, and never the APIv3 key in what may be logged or answered.
  if (status.code() != absl::StatusCode::kUnauthenticated &&
      status.code() != absl::StatusCode::kInvalidArgument) {
    __builtin_trap();
  }
  if (absl::StrContains(status.message(), testing::kApiV3Key)) __builtin_trap();
  NotificationReply reply = NotificationRejected(status);
  if (reply.http_status < 400 || absl::StrContains(reply.body, testing::kApiV3Key)) {
    __builtin_trap();
  }
}

void CheckAccepted(const WechatPayNotification& n) {
  if (const auto* paid = std::get_if<PaidTransaction>(&n.event)) {
    (void)CheckPaidTransaction(*paid, testing::kMchid, testing::kAppid, "LC20240501000001", 129900,
                               "CNY");
  } else if (const auto* refund = std::get_if<RefundResult>(&n.event)) {
    if (absl::StrCat("REFUND.", refund->refund_status) != n.event_type) __builtin_trap();
    (void)CheckRefundResult(*refund, testing::kMchid, "RF20240502000001", 50000);
  } else if (n.event_type == kEventTransactionSuccess) {
    __builtin_trap();  // a paid transaction must come out as one
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Keys& keys = TheKeys();
  int mode = data[0] % 3;
  absl::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  HttpHeaders headers = ParseHead(&text);
  NotificationHeaders h = NotificationHeadersFrom(headers);
  std::string body(text);

  if (mode == 2) {
    absl::StatusOr<std::string> sealed =
        AesGcmSeal(testing::kApiV3Key, kResourceNonce,
                   FindHeader(headers, "Associated-Data").value_or("transaction"), body);
    if (!sealed.ok()) __builtin_trap();
    NotificationEnvelope envelope;
    envelope.id = "EV-2018022511223320873";
    envelope.create_time = "2024-05-01T16:00:06+08:00";
    envelope.event_type = FindHeader(headers, "Event-Type").value_or("TRANSACTION.SUCCESS");
    envelope.resource_type = "encrypt-resource";
    envelope.resource.algorithm = std::string(kAeadAes256Gcm);
    envelope.resource.ciphertext = livecommerce::common::Base64Encode(*sealed);
    envelope.resource.nonce = kResourceNonce;
    envelope.resource.associated_data =
        FindHeader(headers, "Associated-Data").value_or("transaction");
    envelope.resource.original_type = "transaction";
    body = NotificationBodyJson(envelope);
  }
  if (mode != 0) h.signature = keys.Sign(h, body);

  absl::StatusOr<WechatPayNotification> n =
      keys.crypto.VerifyNotification(h, body, absl::FromUnixSeconds(kNow));
  if (std::getenv("LC_FUZZ_DEBUG") != nullptr) {
    std::fprintf(
        stderr, "wechat_notify_fuzz: mode %d: %s\n", mode,
        n.ok() ? ("accepted " + n->event_type).c_str() : std::string(n.status().message()).c_str());
  }
  if (!n.ok()) {
    CheckRefusal(n.status());
    return 0;
  }
  if (mode == 0) __builtin_trap();  // a signature the fuzzer could not have made was accepted
  CheckAccepted(*n);
  return 0;
}
