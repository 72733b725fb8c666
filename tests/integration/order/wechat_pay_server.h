// A local HTTPS server that answers as WeChat Pay's API v3 does, for the order service's
// integration tests: JSAPI prepay, closing an order (204, or the error bodies WeChat Pay sends)
// and refunds, every answer signed with the test platform key. Its certificate is issued by a CA
// made fresh for the process, which the client must be told to trust.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/clock.h"
#include "services/order/payment/wechat_pay.h"
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
      : clock_(clock), tls_(boost::asio::ssl::context::tls_server) {
    namespace net = boost::asio;
    using tcp = net::ip::tcp;
    tls_.use_certificate_chain(net::buffer(ServerPki().server.cert_pem));
    tls_.use_private_key(net::buffer(ServerPki().server.key_pem), net::ssl::context::pem);
    std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<int> ports(20000, 32767);
    for (int attempt = 0; attempt < 200 && port_ == 0; ++attempt) {
      int port = ports(rng);
      boost::system::error_code ec;
      acceptor_.open(tcp::v4(), ec);
      acceptor_.bind(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
      if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
      if (ec) {
        acceptor_.close();
        continue;
      }
      port_ = port;
    }
    if (port_ == 0) throw std::runtime_error("no free port below 32768");
    thread_ = std::thread([this] { Run(); });
  }

  ~WechatPayServer() {
    namespace net = boost::asio;
    stop_ = true;
    net::io_context wake;
    net::ip::tcp::socket socket(wake);
    boost::system::error_code ec;
    socket.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
    thread_.join();
  }

  std::string base_url() const { return absl::StrCat("https://127.0.0.1:", port_); }

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
  void Run() {
    while (!stop_) {
      boost::asio::ip::tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) continue;
      Serve(std::move(socket));
    }
  }

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

  void Serve(boost::asio::ip::tcp::socket socket) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    beast::ssl_stream<boost::asio::ip::tcp::socket> stream(std::move(socket), tls_);
    beast::error_code ec;
    stream.handshake(boost::asio::ssl::stream_base::server, ec);
    if (ec) return;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::read(stream, buffer, req, ec);
    if (ec) return;
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
    http::response<http::string_body> res;
    res.version(11);
    res.result(static_cast<unsigned>(answer.status));
    res.set("Wechatpay-Timestamp", timestamp);
    res.set("Wechatpay-Nonce", nonce);
    res.set("Wechatpay-Serial", kPlatformSerial);
    res.set("Wechatpay-Signature",
            SignNotification(PlatformKey().private_pem, timestamp, nonce, answer.body).value());
    if (!answer.body.empty()) res.set(http::field::content_type, "application/json");
    res.body() = answer.body;
    res.prepare_payload();
    http::write(stream, res, ec);
    stream.shutdown(ec);
  }

  const common::Clock& clock_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_{ioc_};
  boost::asio::ssl::context tls_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> nonces_{0};
  std::thread thread_;
  mutable std::mutex mu_;
  std::deque<Answer> close_answers_;
  std::function<void(const Call&)> on_close_;
  std::vector<Call> calls_;
};

}  // namespace livecommerce::order::testing
