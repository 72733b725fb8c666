#include "gateway/auth/login_provider.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "services/common/log_format.h"
#include "services/common/principal.h"
#include "services/common/worker_pool.h"

namespace livecommerce::gateway {

absl::Status ValidateLoginCode(absl::string_view code) {
  if (code.empty() || code.size() > 128) {
    return absl::InvalidArgumentError("code: must be 1-128 characters");
  }
  for (char c : code) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError("code: only letters, digits, _ and - are allowed");
    }
  }
  return absl::OkStatus();
}

void LocalLoginProvider::Exchange(const std::string& brand_id, const std::string& code,
                                  std::function<void(absl::StatusOr<std::string>)> done) {
  if (absl::Status valid = ValidateLoginCode(code); !valid.ok()) {
    done(valid);
    return;
  }
  if (code.size() > 100) {
    done(absl::InvalidArgumentError("code: at most 100 characters with the local provider"));
    return;
  }
  done(absl::StrCat("local-", code));
}

void WechatLoginProvider::Exchange(const std::string& brand_id, const std::string& code,
                                   std::function<void(absl::StatusOr<std::string>)> done) {
  if (brand_id != options_.brand_id) {
    done(absl::InvalidArgumentError("brand_id: this mini-program belongs to another brand"));
    return;
  }
  if (absl::Status valid = ValidateLoginCode(code); !valid.ok()) {
    done(valid);
    return;
  }
  pool_.Submit([this, code, done = std::move(done)] { done(ExchangeNow(code)); });
}

absl::StatusOr<std::string> WechatLoginProvider::ExchangeNow(const std::string& code) {
  std::string path =
      absl::StrCat("/sns/jscode2session?appid=", options_.app_id, "&secret=", options_.app_secret,
                   "&js_code=", code, "&grant_type=authorization_code");
  absl::StatusOr<HttpGetter::Response> response = http_.Get(path);
  if (!response.ok()) {
    spdlog::warn("code2Session: {}", response.status().message());
    return absl::UnavailableError("login provider unavailable");
  }
  if (response->status != 200) {
    spdlog::warn("code2Session: HTTP {}", response->status);
    return absl::UnavailableError("login provider unavailable");
  }
  nlohmann::json body = nlohmann::json::parse(response->body, nullptr, false);
  if (!body.is_object()) {
    spdlog::warn("code2Session: answer is not a JSON object");
    return absl::UnavailableError("login provider unavailable");
  }
  int64_t errcode = 0;
  if (auto it = body.find("errcode"); it != body.end() && it->is_number_integer()) {
    errcode = it->get<int64_t>();
  }
  if (errcode != 0) {
    // 40029: invalid code; 40163: code already used; 40226: user blocked. Others: WeChat's side.
    if (errcode == 40029 || errcode == 40163 || errcode == 40226) {
      return absl::UnauthenticatedError("code: the login code is invalid or was already used");
    }
    spdlog::warn("code2Session: errcode {}", errcode);
    return absl::UnavailableError("login provider unavailable");
  }
  auto openid = body.find("openid");
  if (openid == body.end() || !openid->is_string() ||
      !common::IsValidId(openid->get<std::string>())) {
    spdlog::warn("code2Session: answer without a valid openid");
    return absl::UnavailableError("login provider unavailable");
  }
  return openid->get<std::string>();
}

}  // namespace livecommerce::gateway
