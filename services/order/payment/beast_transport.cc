#include "services/order/payment/beast_transport.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/config.h"

namespace livecommerce::order {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

struct ParsedUrl {
  std::string host;
  std::string port;
  std::string prefix;  // "" or "/something" without a trailing slash
};

absl::StatusOr<ParsedUrl> ParseBaseUrl(absl::string_view url) {
  constexpr absl::string_view kScheme = "https://";
  if (!absl::StartsWith(url, kScheme)) {
    return absl::InvalidArgumentError("base URL must start with https://");
  }
  absl::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  ParsedUrl out;
  if (slash != absl::string_view::npos) {
    out.prefix = std::string(rest.substr(slash));
    while (!out.prefix.empty() && out.prefix.back() == '/') {
      out.prefix.pop_back();
    }
    if (out.prefix.find_first_of("?# ") != std::string::npos) {
      return absl::InvalidArgumentError("base URL must not have a query or fragment");
    }
  }
  size_t colon = authority.rfind(':');
  if (colon != absl::string_view::npos) {
    int port = 0;
    if (!absl::SimpleAtoi(authority.substr(colon + 1), &port) || port < 1 || port > 65535) {
      return absl::InvalidArgumentError("base URL has an invalid port");
    }
    out.port = std::to_string(port);
    authority = authority.substr(0, colon);
  } else {
    out.port = "443";
  }
  if (authority.empty() || authority.find_first_of("@[] ") != absl::string_view::npos) {
    return absl::InvalidArgumentError("base URL needs a host name or IPv4 address");
  }
  out.host = std::string(authority);
  return out;
}

bool IsIpAddress(const std::string& host) {
  boost::system::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

// Runs one asynchronous step to completion on `ioc` and returns its error. The step's own
// timer (tcp_stream expiry or a steady_timer) bounds how long this can take.
template <typename Start>
beast::error_code RunStep(net::io_context& ioc, Start&& start) {
  beast::error_code result = net::error::operation_aborted;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

absl::Status StepError(absl::string_view step, const beast::error_code& ec) {
  if (ec == beast::error::timeout || ec == net::error::timed_out) {
    return absl::DeadlineExceededError(absl::StrCat("WeChat Pay timed out during ", step));
  }
  return absl::UnavailableError(
      absl::StrCat("WeChat Pay unreachable (", step, "): ", ec.message()));
}

}  // namespace

struct BeastWechatPayTransport::Impl {
  BeastTransportOptions options;
  ParsedUrl url;
  ssl::context tls{ssl::context::tls_client};
};

absl::StatusOr<BeastTransportOptions> LoadBeastTransportOptions() {
  BeastTransportOptions options;
  options.base_url = common::EnvString("LC_WECHATPAY_BASE_URL", options.base_url);
  if (absl::StatusOr<ParsedUrl> url = ParseBaseUrl(options.base_url); !url.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("LC_WECHATPAY_BASE_URL: ", url.status().message()));
  }
  absl::StatusOr<absl::Duration> timeout =
      common::EnvMillis("LC_WECHATPAY_TIMEOUT_MS", 10000, 100, 120000);
  if (!timeout.ok()) {
    return timeout.status();
  }
  options.timeout = *timeout;
  std::string ca_file = common::EnvString("LC_WECHATPAY_CA_FILE", "");
  if (!ca_file.empty()) {
    std::ifstream in(ca_file, std::ios::binary);
    std::stringstream pem;
    if (in.is_open()) {
      pem << in.rdbuf();
    }
    if (!in.is_open() || in.bad()) {
      return absl::InvalidArgumentError(
          absl::StrCat("LC_WECHATPAY_CA_FILE: cannot read ", ca_file));
    }
    options.extra_ca_pem = pem.str();
    if (options.extra_ca_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("LC_WECHATPAY_CA_FILE: ", ca_file, " holds no PEM certificate"));
    }
  }
  return options;
}

BeastWechatPayTransport::BeastWechatPayTransport(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
BeastWechatPayTransport::~BeastWechatPayTransport() = default;

absl::StatusOr<std::unique_ptr<BeastWechatPayTransport>> BeastWechatPayTransport::Create(
    BeastTransportOptions options) {
  auto impl = std::make_unique<Impl>();
  absl::StatusOr<ParsedUrl> url = ParseBaseUrl(options.base_url);
  if (!url.ok()) {
    return url.status();
  }
  impl->url = *std::move(url);
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("timeout must be positive");
  }
  boost::system::error_code ec;
  impl->tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                            ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                            ssl::context::no_tlsv1_1,
                        ec);
  if (!ec) {
    impl->tls.set_verify_mode(ssl::verify_peer, ec);
  }
  if (ec) {
    return absl::InternalError(absl::StrCat("TLS setup failed: ", ec.message()));
  }
  if (options.trusted_ca_pem.empty()) {
    impl->tls.set_default_verify_paths(ec);
    if (ec) {
      return absl::InternalError(absl::StrCat("cannot load the system CA store: ", ec.message()));
    }
  } else {
    impl->tls.add_certificate_authority(net::buffer(options.trusted_ca_pem), ec);
    if (ec) {
      return absl::InvalidArgumentError("trusted_ca_pem is not a PEM certificate");
    }
  }
  if (!options.extra_ca_pem.empty()) {
    // Every certificate of the bundle (add_certificate_authority reads them all).
    impl->tls.add_certificate_authority(net::buffer(options.extra_ca_pem), ec);
    if (ec) {
      return absl::InvalidArgumentError(
          "LC_WECHATPAY_CA_FILE: not a bundle of PEM certificates (extra_ca_pem)");
    }
  }
  impl->options = std::move(options);
  return std::unique_ptr<BeastWechatPayTransport>(new BeastWechatPayTransport(std::move(impl)));
}

absl::StatusOr<HttpResponse> BeastWechatPayTransport::Send(const HttpRequest& request) {
  const ParsedUrl& url = impl_->url;
  http::verb verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown) {
    return absl::InvalidArgumentError("unknown HTTP method");
  }
  if (request.path.empty() || request.path[0] != '/') {
    return absl::InvalidArgumentError("request path must start with /");
  }

  net::io_context ioc;
  beast::ssl_stream<beast::tcp_stream> stream(ioc, impl_->tls);
  SSL* ssl_handle = stream.native_handle();
  if (IsIpAddress(url.host)) {
    // An IP literal is matched against the certificate's IP SANs; SNI carries host names only.
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), url.host.c_str()) != 1) {
      return absl::InternalError("TLS setup failed");
    }
  } else {
    if (SSL_set_tlsext_host_name(ssl_handle, url.host.c_str()) != 1 ||
        SSL_set1_host(ssl_handle, url.host.c_str()) != 1) {
      return absl::InternalError("TLS setup failed");
    }
  }

  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(impl_->options.timeout);

  tcp::resolver resolver(ioc);
  net::steady_timer resolve_timer(ioc, deadline);
  tcp::resolver::results_type endpoints;
  beast::error_code ec = RunStep(ioc, [&](auto handler) {
    resolve_timer.async_wait([&resolver](beast::error_code timer_ec) {
      if (!timer_ec) {
        resolver.cancel();
      }
    });
    resolver.async_resolve(
        url.host, url.port,
        [&, handler](beast::error_code resolve_ec, tcp::resolver::results_type results) mutable {
          resolve_timer.cancel();
          endpoints = std::move(results);
          handler(resolve_ec);
        });
  });
  if (ec == net::error::operation_aborted && std::chrono::steady_clock::now() >= deadline) {
    return absl::DeadlineExceededError("WeChat Pay timed out during name resolution");
  }
  if (ec) {
    return StepError("name resolution", ec);
  }

  beast::get_lowest_layer(stream).expires_at(deadline);
  ec = RunStep(ioc, [&](auto handler) {
    beast::get_lowest_layer(stream).async_connect(endpoints, std::move(handler));
  });
  if (ec) {
    return StepError("connect", ec);
  }
  ec = RunStep(ioc, [&](auto handler) {
    stream.async_handshake(ssl::stream_base::client, std::move(handler));
  });
  if (ec) {
    return StepError("TLS handshake", ec);
  }

  http::request<http::string_body> req{verb, url.prefix + request.path, 11};
  req.set(http::field::host, url.port == "443" ? url.host : url.host + ":" + url.port);
  for (const auto& [name, value] : request.headers) {
    req.set(name, value);
  }
  req.set(http::field::connection, "close");
  req.body() = request.body;
  req.prepare_payload();
  ec = RunStep(ioc, [&](auto handler) { http::async_write(stream, req, std::move(handler)); });
  if (ec) {
    return StepError("write", ec);
  }

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(impl_->options.max_response_bytes);
  ec = RunStep(ioc,
               [&](auto handler) { http::async_read(stream, buffer, parser, std::move(handler)); });
  if (ec) {
    return StepError("read", ec);
  }

  HttpResponse response;
  const auto& res = parser.get();
  response.status = static_cast<int>(res.result_int());
  response.body = res.body();
  for (const auto& field : res) {
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  // A polite close_notify; the answer is already complete, so failures here do not matter.
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
  RunStep(ioc, [&](auto handler) { stream.async_shutdown(std::move(handler)); });
  return response;
}

}  // namespace livecommerce::order
