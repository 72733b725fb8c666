#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/order/payment/wechat_pay_client.h"

namespace livecommerce::order {

struct BeastTransportOptions {
  // https://host[:port][/prefix]; plain http is refused.
  std::string base_url = "https://api.mch.weixin.qq.com";
  // For the whole exchange: resolve, connect, TLS handshake, write and read.
  absl::Duration timeout = absl::Seconds(10);
  // PEM CA certificates to trust instead of the system store (tests, private gateways). Empty:
  // the system CA store.
  std::string trusted_ca_pem;
  // PEM CA certificates trusted in addition to the store above (LC_WECHATPAY_CA_FILE): a test
  // server's CA, a private gateway's.
  std::string extra_ca_pem;
  size_t max_response_bytes = 4 << 20;
};

// LC_WECHATPAY_BASE_URL (default https://api.mch.weixin.qq.com), LC_WECHATPAY_TIMEOUT_MS
// (default 10000) and LC_WECHATPAY_CA_FILE (default none: a PEM file of CA certificates added to
// the system trust store, which OpenSSL's SSL_CERT_FILE / SSL_CERT_DIR still choose).
// INVALID_ARGUMENT naming the variable (also for an unreadable CA file or one without a PEM
// certificate).
absl::StatusOr<BeastTransportOptions> LoadBeastTransportOptions();

// WeChat Pay over the shared HTTPS client (common::BeastHttpFetcher): TLS 1.2+, SNI, the peer's
// certificate verified against the trusted CAs and its name against the host; one connection per
// request. The request's path is appended to the base URL. Thread-safe.
class BeastWechatPayTransport final : public WechatPayTransport {
 public:
  // INVALID_ARGUMENT for a malformed base URL (not https://, or with a query) or CA PEM;
  // INTERNAL when the system CA store cannot be loaded.
  static absl::StatusOr<std::unique_ptr<BeastWechatPayTransport>> Create(
      BeastTransportOptions options);
  ~BeastWechatPayTransport() override;

  // INVALID_ARGUMENT for an unknown method or a path not starting with '/'; DEADLINE_EXCEEDED
  // when the exchange takes longer than the timeout; UNAVAILABLE when name resolution,
  // connection, certificate verification or the exchange fails, or the answer is larger than
  // max_response_bytes.
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

 private:
  struct Impl;
  explicit BeastWechatPayTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace livecommerce::order
