#include <stdlib.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/common/clock.h"
#include "services/order/payment/beast_transport.h"
#include "services/order/payment/wechat_pay_client.h"
#include "tests/support/test_http_server.h"
#include "tests/unit/order/payment/test_config.h"
#include "tests/unit/order/payment/test_keys.h"

namespace livecommerce::order {
namespace {

namespace http = boost::beast::http;
using livecommerce::testing::TestHttpServer;
using testing::CertificateSpec;
using testing::MakeCertificate;
using testing::TestCertificate;

// A throwaway CA and a server certificate it issued, made fresh for this process.
struct Pki {
  TestCertificate ca;
  TestCertificate server;  // localhost and 127.0.0.1
  TestCertificate other_ca;
  TestCertificate wrong_name;  // issued by `ca` for another host name
};

const Pki& TestPki() {
  static const Pki* pki = [] {
    auto* p = new Pki;
    CertificateSpec ca_spec;
    ca_spec.common_name = "livecommerce test CA";
    ca_spec.is_ca = true;
    p->ca = MakeCertificate(testing::GenerateRsaKeyPair().private_pem, ca_spec, nullptr);
    CertificateSpec other_spec = ca_spec;
    other_spec.common_name = "someone else's CA";
    p->other_ca = MakeCertificate(testing::GenerateRsaKeyPair().private_pem, other_spec, nullptr);
    std::string server_key = testing::GenerateRsaKeyPair().private_pem;
    CertificateSpec server_spec;
    server_spec.common_name = "localhost";
    server_spec.serial_hex = "1001";
    server_spec.subject_alt_names = {"DNS:localhost", "IP:127.0.0.1"};
    p->server = MakeCertificate(server_key, server_spec, &p->ca);
    CertificateSpec wrong_spec;
    wrong_spec.common_name = "api.mch.weixin.qq.com";
    wrong_spec.serial_hex = "1002";
    wrong_spec.subject_alt_names = {"DNS:api.mch.weixin.qq.com"};
    p->wrong_name = MakeCertificate(server_key, wrong_spec, &p->ca);
    return p;
  }();
  return *pki;
}

// An HTTPS server on 127.0.0.1 (tests/support/test_http_server.h) answering each request with
// a canned response, recording what it received. With `hang`, it reads the request and then
// waits for the client to go away without answering.
class LocalHttpsServer {
 public:
  struct Seen {
    std::string method;
    std::string target;
    std::string host;
    std::string sni;
    std::string authorization;
    std::string body;
  };

  explicit LocalHttpsServer(const TestCertificate& cert)
      : server_([this](const TestHttpServer::Request&) { return Answer(); },
                {cert.cert_pem, cert.key_pem}) {}

  int port() const { return server_.port(); }

  void Respond(int status, std::string body, std::vector<std::pair<std::string, std::string>> h) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    body_ = std::move(body);
    headers_ = std::move(h);
  }
  void set_hang(bool hang) { hang_ = hang; }

  std::vector<Seen> seen() const {
    std::vector<Seen> out;
    for (const TestHttpServer::Seen& s : server_.seen()) {
      const TestHttpServer::Request& req = s.request;
      out.push_back({std::string(req.method_string()), std::string(req.target()),
                     std::string(req[http::field::host]), s.sni,
                     std::string(req[http::field::authorization]), req.body()});
    }
    return out;
  }

 private:
  std::optional<TestHttpServer::Response> Answer() {
    if (hang_) {
      return std::nullopt;
    }
    std::lock_guard<std::mutex> lock(mu_);
    TestHttpServer::Response res;
    res.result(static_cast<unsigned>(status_));
    res.body() = body_;
    for (const auto& [name, value] : headers_) {
      res.set(name, value);
    }
    res.set(http::field::content_type, "application/json");
    return res;
  }

  std::atomic<bool> hang_{false};
  mutable std::mutex mu_;
  int status_ = 200;
  std::string body_;
  std::vector<std::pair<std::string, std::string>> headers_;
  TestHttpServer server_;  // last: its handler uses the members above
};

std::unique_ptr<BeastWechatPayTransport> MakeTransport(const std::string& base_url,
                                                       const std::string& ca_pem,
                                                       absl::Duration timeout = absl::Seconds(5)) {
  BeastTransportOptions options;
  options.base_url = base_url;
  options.trusted_ca_pem = ca_pem;
  options.timeout = timeout;
  return BeastWechatPayTransport::Create(options).value();
}

HttpRequest SampleRequest() {
  HttpRequest request;
  request.method = "POST";
  request.path = "/v3/pay/transactions/jsapi?x=1";
  request.body = R"({"hello":"world"})";
  request.headers = {{"Authorization", "WECHATPAY2-SHA256-RSA2048 mchid=\"1\""},
                     {"Content-Type", "application/json"}};
  return request;
}

TEST(BeastTransportTest, ExchangesOverVerifiedTlsWithSni) {
  LocalHttpsServer server(TestPki().server);
  server.Respond(200, R"({"prepay_id":"wx1"})",
                 {{"Wechatpay-Serial", "ABC"}, {"Request-ID", "req-1"}});
  auto transport =
      MakeTransport(absl::StrCat("https://localhost:", server.port()), TestPki().ca.cert_pem);
  absl::StatusOr<HttpResponse> response = transport->Send(SampleRequest());
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"prepay_id":"wx1"})");
  EXPECT_EQ(FindHeader(response->headers, "wechatpay-serial"), "ABC");
  EXPECT_EQ(FindHeader(response->headers, "Request-ID"), "req-1");

  std::vector<LocalHttpsServer::Seen> seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/v3/pay/transactions/jsapi?x=1");
  EXPECT_EQ(seen[0].host, absl::StrCat("localhost:", server.port()));
  EXPECT_EQ(seen[0].sni, "localhost");
  EXPECT_EQ(seen[0].authorization, "WECHATPAY2-SHA256-RSA2048 mchid=\"1\"");
  EXPECT_EQ(seen[0].body, R"({"hello":"world"})");

  // Error statuses are answers, not transport failures; a second request opens a new
  // connection.
  server.Respond(403, R"({"code":"NOT_ENOUGH","message":"x"})", {});
  response = transport->Send(SampleRequest());
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 403);
  EXPECT_EQ(server.seen().size(), 2u);
}

TEST(BeastTransportTest, IpLiteralIsCheckedAgainstIpSan) {
  LocalHttpsServer server(TestPki().server);
  server.Respond(204, "", {});
  auto transport =
      MakeTransport(absl::StrCat("https://127.0.0.1:", server.port(), "/"), TestPki().ca.cert_pem);
  absl::StatusOr<HttpResponse> response = transport->Send(SampleRequest());
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 204);
  ASSERT_EQ(server.seen().size(), 1u);
  EXPECT_EQ(server.seen()[0].sni, "");  // no SNI for IP literals
}

TEST(BeastTransportTest, BaseUrlPathIsAPrefix) {
  LocalHttpsServer server(TestPki().server);
  auto transport = MakeTransport(absl::StrCat("https://localhost:", server.port(), "/gw/"),
                                 TestPki().ca.cert_pem);
  ASSERT_TRUE(transport->Send(SampleRequest()).ok());
  EXPECT_EQ(server.seen().at(0).target, "/gw/v3/pay/transactions/jsapi?x=1");
}

TEST(BeastTransportTest, CertificateFromAnotherCaIsRefused) {
  LocalHttpsServer server(TestPki().server);
  auto transport =
      MakeTransport(absl::StrCat("https://localhost:", server.port()), TestPki().other_ca.cert_pem);
  absl::StatusOr<HttpResponse> response = transport->Send(SampleRequest());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
  EXPECT_TRUE(server.seen().empty());
}

TEST(BeastTransportTest, SystemStoreDoesNotTrustTheTestCa) {
  LocalHttpsServer server(TestPki().server);
  auto transport = MakeTransport(absl::StrCat("https://localhost:", server.port()), "");
  EXPECT_EQ(transport->Send(SampleRequest()).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(server.seen().empty());
}

// LC_WECHATPAY_CA_FILE's bundle is added to the system store, not put in its place.
TEST(BeastTransportTest, ExtraCaIsTrustedBesidesTheSystemStore) {
  LocalHttpsServer server(TestPki().server);
  server.Respond(204, "", {});
  BeastTransportOptions options;
  options.base_url = absl::StrCat("https://localhost:", server.port());
  options.extra_ca_pem = TestPki().ca.cert_pem;
  auto transport = BeastWechatPayTransport::Create(options).value();
  absl::StatusOr<HttpResponse> response = transport->Send(SampleRequest());
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 204);
  options.extra_ca_pem = TestPki().other_ca.cert_pem;
  transport = BeastWechatPayTransport::Create(options).value();
  EXPECT_EQ(transport->Send(SampleRequest()).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(server.seen().size(), 1u);
}

TEST(BeastTransportTest, CertificateForAnotherHostIsRefused) {
  LocalHttpsServer server(TestPki().wrong_name);
  auto transport =
      MakeTransport(absl::StrCat("https://localhost:", server.port()), TestPki().ca.cert_pem);
  absl::StatusOr<HttpResponse> response = transport->Send(SampleRequest());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
  EXPECT_TRUE(server.seen().empty());
}

TEST(BeastTransportTest, SilentServerTimesOut) {
  LocalHttpsServer server(TestPki().server);
  server.set_hang(true);
  auto transport = MakeTransport(absl::StrCat("https://localhost:", server.port()),
                                 TestPki().ca.cert_pem, absl::Milliseconds(300));
  absl::Time start = absl::Now();
  absl::StatusOr<HttpResponse> response = transport->Send(SampleRequest());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded) << response.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(BeastTransportTest, NothingListeningIsUnavailable) {
  int port = 0;
  {
    LocalHttpsServer server(TestPki().server);
    port = server.port();
  }
  auto transport = MakeTransport(absl::StrCat("https://127.0.0.1:", port), TestPki().ca.cert_pem);
  EXPECT_EQ(transport->Send(SampleRequest()).status().code(), absl::StatusCode::kUnavailable);
}

TEST(BeastTransportTest, CreateRefusesBadOptions) {
  BeastTransportOptions options;
  options.base_url = "http://api.mch.weixin.qq.com";
  EXPECT_EQ(BeastWechatPayTransport::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.base_url = "https://api.mch.weixin.qq.com:99999";
  EXPECT_EQ(BeastWechatPayTransport::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.base_url = "https://api.mch.weixin.qq.com";
  options.trusted_ca_pem = "not a certificate";
  EXPECT_EQ(BeastWechatPayTransport::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.trusted_ca_pem = "";
  EXPECT_TRUE(BeastWechatPayTransport::Create(options).ok());
}

TEST(BeastTransportTest, OptionsFromEnvironment) {
  unsetenv("LC_WECHATPAY_BASE_URL");
  unsetenv("LC_WECHATPAY_TIMEOUT_MS");
  absl::StatusOr<BeastTransportOptions> options = LoadBeastTransportOptions();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->base_url, "https://api.mch.weixin.qq.com");
  EXPECT_EQ(options->timeout, absl::Seconds(10));
  setenv("LC_WECHATPAY_BASE_URL", "http://insecure.example.com", 1);
  options = LoadBeastTransportOptions();
  ASSERT_FALSE(options.ok());
  EXPECT_NE(options.status().message().find("LC_WECHATPAY_BASE_URL"), absl::string_view::npos);
  unsetenv("LC_WECHATPAY_BASE_URL");
  setenv("LC_WECHATPAY_TIMEOUT_MS", "abc", 1);
  options = LoadBeastTransportOptions();
  ASSERT_FALSE(options.ok());
  EXPECT_NE(options.status().message().find("LC_WECHATPAY_TIMEOUT_MS"), absl::string_view::npos);
  unsetenv("LC_WECHATPAY_TIMEOUT_MS");
}

// The client over the real transport: a signed request out, a signed answer back.
TEST(BeastTransportTest, ClientPrepayOverHttps) {
  LocalHttpsServer server(TestPki().server);
  const std::string body = R"({"prepay_id":"wx26112221580621e9b071c00d9e093b0000"})";
  common::SystemClock clock;
  std::string ts = absl::StrCat(absl::ToUnixSeconds(clock.Now()));
  server.Respond(200, body,
                 {{"Wechatpay-Timestamp", ts},
                  {"Wechatpay-Nonce", "N1"},
                  {"Wechatpay-Serial", testing::kPlatformSerial},
                  {"Wechatpay-Signature",
                   SignNotification(testing::PlatformKey().private_pem, ts, "N1", body).value()}});
  auto transport =
      MakeTransport(absl::StrCat("https://localhost:", server.port()), TestPki().ca.cert_pem);
  WechatPayCrypto crypto = WechatPayCrypto::Create(testing::TestConfig()).value();
  WechatPayClient client(&crypto, transport.get(), &clock);
  JsapiPrepayRequest request;
  request.description = "Silk scarf";
  request.out_trade_no = "LC20240501000001";
  request.total_fen = 129900;
  request.payer_openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
  absl::StatusOr<MiniProgramPayParams> params = client.PrepayJsapi(request);
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_EQ(params->package, "prepay_id=wx26112221580621e9b071c00d9e093b0000");
  ASSERT_EQ(server.seen().size(), 1u);
  EXPECT_EQ(server.seen()[0].target, "/v3/pay/transactions/jsapi");
  EXPECT_EQ(server.seen()[0].authorization.rfind("WECHATPAY2-SHA256-RSA2048 mchid=", 0), 0u);
}

}  // namespace
}  // namespace livecommerce::order
