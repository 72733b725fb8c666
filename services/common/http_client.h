#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace livecommerce::common {

// URL and form helpers.

// An http:// or https:// URL split for a request.
struct HttpUrl {
  std::string scheme;  // "http" | "https"
  std::string host;    // a host name or an IPv4 address
  std::string port;    // always set: the URL's, else 80 / 443
  std::string target;  // path and query, "/" when the URL has none
};

// INVALID_ARGUMENT when `url` is not http(s)://host[:port][/path][?query] (no user info, no
// fragment, no IPv6 literal, no spaces or control characters).
absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url);
// The Host header for `url`: the host, with ":port" unless the port is the scheme's default.
std::string HostHeader(const HttpUrl& url);

// RFC 3986 percent-encoding: every byte but ASCII letters, digits and "-._~" becomes %XX.
std::string PercentEncode(absl::string_view text);

// Splits application/x-www-form-urlencoded text (also a URL query) into its fields in order,
// repeated names included: '&' separates fields, the first '=' separates name and value (a field
// without '=' has an empty value), '+' is a space, %XX a byte. Empty fields ("a=1&&b=2") are
// skipped. INVALID_ARGUMENT for a '%' not followed by two hex digits.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseFormUrlEncoded(
    absl::string_view text);

// A small blocking HTTP(S) client for calls to other platforms (the streaming server's control
// API, Tencent Cloud, WeChat, WeChat Pay).

struct HttpFetchRequest {
  std::string method = "GET";  // "GET", "POST"
  std::string url;             // http(s)://...
  // Sent as given; a Host header here replaces the one derived from the URL.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpFetchResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// One HTTP exchange. Any answer, 4xx and 5xx included, is an OK result. INVALID_ARGUMENT for a
// malformed request; DEADLINE_EXCEEDED when the exchange outlasts the timeout; UNAVAILABLE when
// resolution, connection, TLS verification or the exchange itself fails, or the answer is larger
// than allowed. Error messages name the host and port, never the URL's path or query (which may
// carry a credential such as WeChat's access_token).
class HttpFetcher {
 public:
  virtual ~HttpFetcher() = default;
  virtual absl::StatusOr<HttpFetchResponse> Fetch(const HttpFetchRequest& request) const = 0;
};

struct BeastHttpFetcherOptions {
  // For the whole exchange: resolve, connect, TLS handshake, write and read. A name lookup that
  // hangs is answered DEADLINE_EXCEEDED only once the system resolver gives up on it.
  absl::Duration timeout = absl::Seconds(5);
  size_t max_response_bytes = 1 << 20;
  // PEM CA certificates trusted instead of the system store (tests, private gateways). Empty:
  // the system CA store (which OpenSSL's SSL_CERT_FILE / SSL_CERT_DIR choose).
  std::string trusted_ca_pem{};
  // PEM CA certificates trusted in addition to the store above: a test server's CA, a private
  // gateway's.
  std::string extra_ca_pem{};
};

// HTTP/1.1 over Boost.Beast, one connection per request (Connection: close); https with TLS 1.2+,
// SNI and the peer verified against the trusted CAs and the URL's host (an IP literal against
// the certificate's IP addresses). Thread-safe: each Fetch uses its own connection and I/O
// context.
class BeastHttpFetcher final : public HttpFetcher {
 public:
  // INVALID_ARGUMENT for a non-positive timeout or a CA option that holds no PEM certificate;
  // INTERNAL when the system CA store cannot be loaded.
  static absl::StatusOr<std::unique_ptr<BeastHttpFetcher>> Create(BeastHttpFetcherOptions options);
  ~BeastHttpFetcher() override;

  absl::StatusOr<HttpFetchResponse> Fetch(const HttpFetchRequest& request) const override;

 private:
  struct Impl;
  explicit BeastHttpFetcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The PEM CA bundle in the file the environment variable `variable` names, for
// BeastHttpFetcherOptions::extra_ca_pem; "" when the variable is unset or empty.
// INVALID_ARGUMENT naming the variable when the file cannot be read or holds no PEM certificate.
absl::StatusOr<std::string> LoadCaBundleFromEnv(absl::string_view variable);

}  // namespace livecommerce::common
