#include "services/order/payment/beast_transport.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/config.h"
#include "services/common/http_client.h"

namespace livecommerce::order {
namespace {

// `url` without its trailing '/', or INVALID_ARGUMENT: https://host[:port][/prefix], no query.
absl::StatusOr<std::string> ParseBaseUrl(absl::string_view url) {
  if (!absl::StartsWith(url, "https://")) {
    return absl::InvalidArgumentError("base URL must start with https://");
  }
  absl::StatusOr<common::HttpUrl> parsed = common::ParseHttpUrl(url);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("base URL: ", parsed.status().message()));
  }
  if (parsed->target.find('?') != std::string::npos) {
    return absl::InvalidArgumentError("base URL must not have a query or fragment");
  }
  std::string base(url);
  while (absl::EndsWith(base, "/")) {
    base.pop_back();
  }
  return base;
}

}  // namespace

struct BeastWechatPayTransport::Impl {
  std::string base_url;  // without a trailing '/'
  std::unique_ptr<common::BeastHttpFetcher> fetcher;
};

absl::StatusOr<BeastTransportOptions> LoadBeastTransportOptions() {
  BeastTransportOptions options;
  options.base_url = common::EnvString("LC_WECHATPAY_BASE_URL", options.base_url);
  if (absl::StatusOr<std::string> url = ParseBaseUrl(options.base_url); !url.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("LC_WECHATPAY_BASE_URL: ", url.status().message()));
  }
  absl::StatusOr<absl::Duration> timeout =
      common::EnvMillis("LC_WECHATPAY_TIMEOUT_MS", 10000, 100, 120000);
  if (!timeout.ok()) {
    return timeout.status();
  }
  options.timeout = *timeout;
  absl::StatusOr<std::string> ca = common::LoadCaBundleFromEnv("LC_WECHATPAY_CA_FILE");
  if (!ca.ok()) {
    return ca.status();
  }
  options.extra_ca_pem = *std::move(ca);
  return options;
}

BeastWechatPayTransport::BeastWechatPayTransport(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
BeastWechatPayTransport::~BeastWechatPayTransport() = default;

absl::StatusOr<std::unique_ptr<BeastWechatPayTransport>> BeastWechatPayTransport::Create(
    BeastTransportOptions options) {
  absl::StatusOr<std::string> base_url = ParseBaseUrl(options.base_url);
  if (!base_url.ok()) {
    return base_url.status();
  }
  common::BeastHttpFetcherOptions fetcher_options;
  fetcher_options.timeout = options.timeout;
  fetcher_options.max_response_bytes = options.max_response_bytes;
  fetcher_options.trusted_ca_pem = std::move(options.trusted_ca_pem);
  fetcher_options.extra_ca_pem = std::move(options.extra_ca_pem);
  absl::StatusOr<std::unique_ptr<common::BeastHttpFetcher>> fetcher =
      common::BeastHttpFetcher::Create(std::move(fetcher_options));
  if (!fetcher.ok()) {
    return fetcher.status();
  }
  auto impl = std::make_unique<Impl>();
  impl->base_url = *std::move(base_url);
  impl->fetcher = *std::move(fetcher);
  return std::unique_ptr<BeastWechatPayTransport>(new BeastWechatPayTransport(std::move(impl)));
}

absl::StatusOr<HttpResponse> BeastWechatPayTransport::Send(const HttpRequest& request) {
  if (request.path.empty() || request.path[0] != '/') {
    return absl::InvalidArgumentError("request path must start with /");
  }
  common::HttpFetchRequest fetch;
  fetch.method = request.method;
  fetch.url = impl_->base_url + request.path;
  fetch.headers = request.headers;
  fetch.body = request.body;
  absl::StatusOr<common::HttpFetchResponse> response = impl_->fetcher->Fetch(fetch);
  if (!response.ok()) {
    return absl::Status(response.status().code(),
                        absl::StrCat("WeChat Pay: ", response.status().message()));
  }
  HttpResponse out;
  out.status = response->status;
  out.body = std::move(response->body);
  out.headers = std::move(response->headers);
  return out;
}

}  // namespace livecommerce::order
