// A local HTTPS server that answers as WeChat Pay's API v3 does, for the order service's
// integration tests: JSAPI prepay, closing an order (204, or the error bodies WeChat Pay sends)
// and refunds, every answer signed with the test platform key. Its certificate is issued by a CA
// made fresh for the process, which the client must be told to trust.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/clock.h"
#include "services/order/payment/wechat_pay.h"
#include "tests/support/test_http_server.h"
#include "tests/unit/order/payment/test_config.h"
#include "tests/unit/order/payment/test_keys.h"

namespace livecommerce::order::testing {

// The test CA and the server certificate it issued (localhost and 127.0.0.1).
struct WechatPayServerPki {
  TestCertificate ca;
  TestCertificate server;
};

inline const WechatPayServerPki& ServerPki() {
  static const WechatPayServerPki* pki = [] {
    auto* p = new WechatPayServerPki;
    CertificateSpec ca_spec;
    ca_spec.common_name = "livecommerce WeChat Pay test CA";
    ca_spec.is_ca = true;
    p->ca = MakeCertificate(GenerateRsaKeyPair().private_pem, ca_spec, nullptr);
    CertificateSpec server_spec;
    server_spec.common_name = "localhost";
    server_spec.serial_hex = "2001";
    server_spec.subject_alt_names = {"DNS:localhost", "IP:127.0.0.1"};
    p->server = MakeCertificate(GenerateRsaKeyPair().private_pem, server_spec, &p->ca);
    return p;
  }();
  return *pki;
}

class WechatPayServer {
 public:
  struct Call {
    std::string method;
    std::string target;
    std::string authorization;
    nlohmann::json body;  // null when empty
    int answered = 0;     // the HTTP status sent back
  };
  struct Answer {
    int status = 204;
    std::string body;
  };

  explicit WechatPayServer(const common::Clock& clock)
      : clock_(clock),
        server_(
            [this](const livecommerce::testing::TestHttpServer::Request& req) {
              return Serve(req);
            },
            {ServerPki().server.cert_pem, ServerPki().server.key_pem}) {}

  std::string base_url() const { return server_.url(); }

  // The answers of the next close calls, in order; once used up, 204.
  void QueueCloseAnswers(std::vector<Answer> answers) {
    std::lock_guard<std::mutex> lock(mu_);
    for (Answer& a : answers) close_answers_.push_back(std::move(a));
  }
  // Called (on the server's thread) when a close call arrives, before it is answered.
  void OnClose(std::function<void(const Call&)> hook) {
    std::lock_guard<std::mutex> lock(mu_);
    on_close_ = std::move(hook);
  }
  std::vector<Call> Calls(absl::string_view kind) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Call> out;
    for (const Call& c : calls_) {
      if (Kind(c.target) == kind) out.push_back(c);
    }
    return out;
  }
  int Count(absl::string_view kind) const { return static_cast<int>(Calls(kind).size()); }

  // "prepay", "close", "refund" or "other".
  static std::string Kind(absl::string_view target) {
    if (target == kJsapiPrepayPath) return "prepay";
    if (absl::StartsWith(target, kCloseOrderPathPrefix) &&
        absl::EndsWith(target, kCloseOrderPathSuffix)) {
      return "close";
    }
    if (target == kDomesticRefundPath) return "refund";
    return "other";
  }

 private:
  Answer Handle(Call& call) {
    std::string kind = Kind(call.target);
    if (call.method != "POST") return {405, R"({"code":"INVALID_REQUEST","message":"method"})"};
    if (kind == "prepay") {
      return {200, nlohmann::json{{"prepay_id", "wx26112221580621e9b071c00d9e093b0000"}}.dump()};
    }
    if (kind == "close") {
      std::function<void(const Call&)> hook;
      Answer answer;
      {
        std::lock_guard<std::mutex> lock(mu_);
        hook = on_close_;
        if (!close_answers_.empty()) {
          answer = close_answers_.front();
          close_answers_.pop_front();
        }
      }
      if (!call.body.is_object() || call.body.value("mchid", "") != kMchid) {
        return {400, R"({"code":"PARAM_ERROR","message":"mchid"})"};
      }
      if (hook) hook(call);
      return answer;
    }
    if (kind == "refund") {
      const nlohmann::json& asked = call.body;
      return {200, nlohmann::json{{"refund_id", "50000000382019052709732678859"},
                                  {"out_refund_no", asked["out_refund_no"]},
                                  {"out_trade_no", asked["out_trade_no"]},
                                  {"status", "PROCESSING"},
                                  {"amount", asked["amount"]}}
                       .dump()};
    }
    return {404, R"({"code":"NOT_FOUND","message":"no such API"})"};
  }

  livecommerce::testing::TestHttpServer::Response Serve(
      const livecommerce::testing::TestHttpServer::Request& req) {
    namespace http = boost::beast::http;
    // One call at a time, as WeChat Pay's answers to one order would come.
    std::lock_guard<std::mutex> serial(serial_);
    Call call;
    call.method = std::string(req.method_string());
    call.target = std::string(req.target());
    call.authorization = std::string(req[http::field::authorization]);
    call.body =
        req.body().empty() ? nlohmann::json() : nlohmann::json::parse(req.body(), nullptr, false);
    Answer answer = absl::StartsWith(call.authorization, kWechatPayAuthScheme)
                        ? Handle(call)
                        : Answer{401, R"({"code":"SIGN_ERROR","message":"unsigned"})"};
    call.answered = answer.status;
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back(call);
    }
    // Signed as WeChat Pay signs every answer, errors and 204 included.
    std::string timestamp = absl::StrCat(absl::ToUnixSeconds(clock_.Now()));
    std::string nonce = absl::StrCat("server-nonce-", ++nonces_);
    livecommerce::testing::TestHttpServer::Response res;
    res.result(static_cast<unsigned>(answer.status));
    res.set("Wechatpay-Timestamp", timestamp);
    res.set("Wechatpay-Nonce", nonce);
    res.set("Wechatpay-Serial", kPlatformSerial);
    res.set("Wechatpay-Signature",
            SignNotification(PlatformKey().private_pem, timestamp, nonce, answer.body).value());
    if (!answer.body.empty()) res.set(http::field::content_type, "application/json");
    res.body() = answer.body;
    return res;
  }

  const common::Clock& clock_;
  std::atomic<int> nonces_{0};
  std::mutex serial_;
  mutable std::mutex mu_;
  std::deque<Answer> close_answers_;
  std::function<void(const Call&)> on_close_;
  std::vector<Call> calls_;
  livecommerce::testing::TestHttpServer server_;  // last: its handler uses the members above
};

}  // namespace livecommerce::order::testing
