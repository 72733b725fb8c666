#include "services/common/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/config.h"

namespace livecommerce::common {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

absl::StatusOr<std::string> FormDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      int hi = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
      int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return absl::InvalidArgumentError("'%' must be followed by two hex digits");
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

bool IsHostChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
}

bool IsIpAddress(const std::string& host) {
  boost::system::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

// Runs one asynchronous step on `ioc` until it completes or `deadline` passes. On time-out,
// `cancel` aborts the step and the aborted handler is run before returning, so nothing the
// handler refers to is gone when it runs.
template <typename Start, typename Cancel>
beast::error_code RunStep(net::io_context& ioc, SteadyTime deadline, Start&& start, Cancel&& cancel,
                          bool* timed_out) {
  std::optional<beast::error_code> result;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run_until(deadline);
  if (!result.has_value()) {
    *timed_out = true;
    cancel();
    ioc.restart();
    ioc.run();
    return net::error::timed_out;
  }
  return *result;
}

absl::Status StepError(absl::string_view step, const HttpUrl& url, beast::error_code ec,
                       bool timed_out) {
  if (timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat("http ", url.host, ":", url.port, ": timed out during ", step));
  }
  return absl::UnavailableError(
      absl::StrCat("http ", url.host, ":", url.port, ": ", step, " failed: ", ec.message()));
}

}  // namespace

absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url) {
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '#') {
      return absl::InvalidArgumentError("URL must not contain spaces, control characters or '#'");
    }
  }
  HttpUrl out;
  absl::string_view rest;
  if (url.substr(0, 7) == "http://") {
    out.scheme = "http";
    out.port = "80";
    rest = url.substr(7);
  } else if (url.substr(0, 8) == "https://") {
    out.scheme = "https";
    out.port = "443";
    rest = url.substr(8);
  } else {
    return absl::InvalidArgumentError("URL must start with http:// or https://");
  }
  size_t end = rest.find_first_of("/?");
  absl::string_view authority = rest.substr(0, end);
  absl::string_view target = end == absl::string_view::npos ? "" : rest.substr(end);
  size_t colon = authority.rfind(':');
  if (colon != absl::string_view::npos) {
    int port = 0;
    if (!absl::SimpleAtoi(authority.substr(colon + 1), &port) || port < 1 || port > 65535) {
      return absl::InvalidArgumentError("URL has an invalid port");
    }
    out.port = std::to_string(port);
    authority = authority.substr(0, colon);
  }
  if (authority.empty() || authority.size() > 253) {
    return absl::InvalidArgumentError("URL needs a host");
  }
  for (char c : authority) {
    if (!IsHostChar(c)) {
      return absl::InvalidArgumentError("URL host must be a host name or an IPv4 address");
    }
  }
  out.host = std::string(authority);
  if (target.empty()) {
    out.target = "/";
  } else if (target[0] == '?') {
    out.target = absl::StrCat("/", target);
  } else {
    out.target = std::string(target);
  }
  return out;
}

std::string HostHeader(const HttpUrl& url) {
  bool default_port =
      (url.scheme == "http" && url.port == "80") || (url.scheme == "https" && url.port == "443");
  return default_port ? url.host : absl::StrCat(url.host, ":", url.port);
}

std::string PercentEncode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseFormUrlEncoded(
    absl::string_view text) {
  std::vector<std::pair<std::string, std::string>> fields;
  size_t start = 0;
  while (start <= text.size()) {
    size_t amp = text.find('&', start);
    absl::string_view field =
        text.substr(start, amp == absl::string_view::npos ? absl::string_view::npos : amp - start);
    if (!field.empty()) {
      size_t eq = field.find('=');
      absl::string_view raw_name = field.substr(0, eq);
      absl::string_view raw_value =
          eq == absl::string_view::npos ? absl::string_view() : field.substr(eq + 1);
      absl::StatusOr<std::string> name = FormDecode(raw_name);
      if (!name.ok()) {
        return name.status();
      }
      absl::StatusOr<std::string> value = FormDecode(raw_value);
      if (!value.ok()) {
        return value.status();
      }
      fields.emplace_back(*std::move(name), *std::move(value));
    }
    if (amp == absl::string_view::npos) {
      break;
    }
    start = amp + 1;
  }
  return fields;
}

struct BeastHttpFetcher::Impl {
  BeastHttpFetcherOptions options;
  ssl::context tls{ssl::context::tls_client};

  // Sends `req` over a connected `stream` and reads the answer.
  template <typename Stream>
  absl::StatusOr<HttpFetchResponse> Exchange(net::io_context& ioc, Stream& stream,
                                             http::request<http::string_body>& req,
                                             const HttpUrl& url, SteadyTime deadline) const {
    auto close = [&stream] {
      beast::error_code ignored;
      beast::get_lowest_layer(stream).socket().close(ignored);
    };
    bool timed_out = false;
    beast::error_code ec = RunStep(
        ioc, deadline, [&](auto done) { http::async_write(stream, req, std::move(done)); }, close,
        &timed_out);
    if (ec) {
      return StepError("write", url, ec, timed_out);
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(options.max_response_bytes);
    ec = RunStep(
        ioc, deadline,
        [&](auto done) { http::async_read_header(stream, buffer, parser, std::move(done)); }, close,
        &timed_out);
    if (ec) {
      return StepError("read", url, ec, timed_out);
    }
    // Boost 1.74's parser skips body_limit for a Content-Length body when it parses eagerly, as
    // http::async_read does; chunked and read-to-close bodies are still limited by it.
    if (parser.content_length().value_or(0) > options.max_response_bytes) {
      close();
      return absl::UnavailableError(absl::StrCat("http ", url.host, ":", url.port,
                                                 ": answer larger than ",
                                                 options.max_response_bytes, " bytes"));
    }
    ec = RunStep(
        ioc, deadline,
        [&](auto done) { http::async_read(stream, buffer, parser, std::move(done)); }, close,
        &timed_out);
    if (ec) {
      return StepError("read", url, ec, timed_out);
    }
    HttpFetchResponse response;
    const auto& res = parser.get();
    response.status = static_cast<int>(res.result_int());
    response.body = res.body();
    for (const auto& field : res) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    close();
    return response;
  }
};

BeastHttpFetcher::BeastHttpFetcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BeastHttpFetcher::~BeastHttpFetcher() = default;

absl::StatusOr<std::unique_ptr<BeastHttpFetcher>> BeastHttpFetcher::Create(
    BeastHttpFetcherOptions options) {
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("timeout must be positive");
  }
  auto impl = std::make_unique<Impl>();
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
    // Every certificate of the bundle (add_certificate_authority reads them all).
    impl->tls.add_certificate_authority(net::buffer(options.trusted_ca_pem), ec);
    if (ec) {
      return absl::InvalidArgumentError("trusted_ca_pem: not a bundle of PEM certificates");
    }
  }
  if (!options.extra_ca_pem.empty()) {
    impl->tls.add_certificate_authority(net::buffer(options.extra_ca_pem), ec);
    if (ec) {
      return absl::InvalidArgumentError("extra_ca_pem: not a bundle of PEM certificates");
    }
  }
  impl->options = std::move(options);
  return std::unique_ptr<BeastHttpFetcher>(new BeastHttpFetcher(std::move(impl)));
}

absl::StatusOr<HttpFetchResponse> BeastHttpFetcher::Fetch(const HttpFetchRequest& request) const {
  absl::StatusOr<HttpUrl> parsed = ParseHttpUrl(request.url);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("url: ", parsed.status().message()));
  }
  const HttpUrl& url = *parsed;
  http::verb verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown) {
    return absl::InvalidArgumentError("method: unknown HTTP method");
  }
  http::request<http::string_body> req{verb, url.target, 11};
  req.set(http::field::host, HostHeader(url));
  for (const auto& [name, value] : request.headers) {
    req.set(name, value);
  }
  req.set(http::field::connection, "close");
  req.body() = request.body;
  req.prepare_payload();

  const SteadyTime deadline =
      std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(impl_->options.timeout);
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  tcp::resolver::results_type endpoints;
  bool timed_out = false;
  beast::error_code ec = RunStep(
      ioc, deadline,
      [&](auto done) {
        resolver.async_resolve(url.host, url.port,
                               [&endpoints, done](beast::error_code resolve_ec,
                                                  tcp::resolver::results_type results) mutable {
                                 endpoints = std::move(results);
                                 done(resolve_ec);
                               });
      },
      [&resolver] { resolver.cancel(); }, &timed_out);
  if (ec) {
    return StepError("name resolution", url, ec, timed_out);
  }

  if (url.scheme == "http") {
    beast::tcp_stream stream(ioc);
    ec = RunStep(
        ioc, deadline, [&](auto done) { stream.async_connect(endpoints, std::move(done)); },
        [&stream] { stream.cancel(); }, &timed_out);
    if (ec) {
      return StepError("connect", url, ec, timed_out);
    }
    return impl_->Exchange(ioc, stream, req, url, deadline);
  }

  beast::ssl_stream<beast::tcp_stream> stream(ioc, impl_->tls);
  SSL* handle = stream.native_handle();
  if (IsIpAddress(url.host)) {
    // An IP literal is checked against the certificate's IP SANs; SNI carries host names only.
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), url.host.c_str()) != 1) {
      return absl::InternalError("TLS setup failed");
    }
  } else if (SSL_set_tlsext_host_name(handle, url.host.c_str()) != 1 ||
             SSL_set1_host(handle, url.host.c_str()) != 1) {
    return absl::InternalError("TLS setup failed");
  }
  auto close = [&stream] {
    beast::error_code ignored;
    beast::get_lowest_layer(stream).socket().close(ignored);
  };
  ec = RunStep(
      ioc, deadline,
      [&](auto done) { beast::get_lowest_layer(stream).async_connect(endpoints, std::move(done)); },
      close, &timed_out);
  if (ec) {
    return StepError("connect", url, ec, timed_out);
  }
  ec = RunStep(
      ioc, deadline,
      [&](auto done) { stream.async_handshake(ssl::stream_base::client, std::move(done)); }, close,
      &timed_out);
  if (ec) {
    return StepError("TLS handshake", url, ec, timed_out);
  }
  return impl_->Exchange(ioc, stream, req, url, deadline);
}

absl::StatusOr<std::string> LoadCaBundleFromEnv(absl::string_view variable) {
  std::string path = EnvString(variable, "");
  if (path.empty()) {
    return std::string();
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream pem;
  if (in.is_open()) {
    pem << in.rdbuf();
  }
  if (!in.is_open() || in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat(variable, ": cannot read ", path));
  }
  if (pem.str().find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(variable, ": ", path, " holds no PEM certificate"));
  }
  return pem.str();
}

}  // namespace livecommerce::common
