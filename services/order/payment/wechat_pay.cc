#include "services/order/payment/wechat_pay.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "services/common/crypto.h"
#include "services/common/status.h"

namespace livecommerce::order {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxConfigFileBytes = 1 << 20;

// ---- small JSON helpers (no exceptions escape) ----

std::optional<Json> ParseJsonObject(absl::string_view text) {
  Json json = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return std::nullopt;
  }
  return json;
}

const Json* Member(const Json& object, const char* key) {
  if (!object.is_object()) {
    return nullptr;
  }
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// A string member; absent or non-string is nullopt.
std::optional<std::string> StringMember(const Json& object, const char* key) {
  const Json* value = Member(object, key);
  if (value == nullptr || !value->is_string()) {
    return std::nullopt;
  }
  return value->get<std::string>();
}

// A non-negative integer member that fits int64; fen amounts are never fractional.
std::optional<int64_t> FenMember(const Json& object, const char* key) {
  const Json* value = Member(object, key);
  if (value == nullptr || !value->is_number_integer()) {
    return std::nullopt;
  }
  if (value->is_number_unsigned()) {
    uint64_t v = value->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<int64_t>(v);
  }
  int64_t v = value->get<int64_t>();
  if (v < 0) {
    return std::nullopt;
  }
  return v;
}

absl::Status RequireString(const Json& object, const char* key, absl::string_view where,
                           std::string* out) {
  std::optional<std::string> value = StringMember(object, key);
  if (!value.has_value() || value->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": missing ", key));
  }
  *out = *std::move(value);
  return absl::OkStatus();
}

absl::Status RequireFen(const Json& object, const char* key, absl::string_view where,
                        int64_t* out) {
  std::optional<int64_t> value = FenMember(object, key);
  if (!value.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", key, " must be a non-negative integer (fen)"));
  }
  *out = *value;
  return absl::OkStatus();
}

std::string Dump(const Json& json) {
  // Replace invalid UTF-8 instead of throwing: inputs are validated, but a dump must never throw.
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// ---- field validation ----

bool AllOf(absl::string_view text, absl::string_view extra) {
  for (char c : text) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        extra.find(c) == absl::string_view::npos) {
      return false;
    }
  }
  return true;
}

absl::Status CheckOutTradeNo(absl::string_view value, absl::string_view field) {
  if (value.size() < 6 || value.size() > 32 || !AllOf(value, "_-|*")) {
    return common::InvalidField(field, "must be 6-32 letters, digits or _-|*");
  }
  return absl::OkStatus();
}

absl::Status CheckCurrency(absl::string_view value) {
  if (value.size() != 3 || !absl::ascii_isupper(static_cast<unsigned char>(value[0])) ||
      !absl::ascii_isupper(static_cast<unsigned char>(value[1])) ||
      !absl::ascii_isupper(static_cast<unsigned char>(value[2]))) {
    return common::InvalidField("currency", "must be a 3-letter ISO 4217 code such as CNY");
  }
  return absl::OkStatus();
}

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t extra = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) {
      return false;
    }
    for (size_t k = 1; k <= extra; ++k) {
      unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

absl::Status CheckText(absl::string_view value, absl::string_view field, size_t max_bytes,
                       bool required) {
  if (required && value.empty()) {
    return common::InvalidField(field, "is required");
  }
  if (value.size() > max_bytes) {
    return common::InvalidField(field, absl::StrCat("must be at most ", max_bytes, " bytes"));
  }
  if (!IsValidUtf8(value)) {
    return common::InvalidField(field, "must be valid UTF-8");
  }
  return absl::OkStatus();
}

std::string FormatRfc3339China(absl::Time t) {
  // WeChat Pay documents its times as yyyy-MM-DDTHH:mm:ss+08:00.
  return absl::FormatTime("%Y-%m-%dT%H:%M:%S+08:00", t, absl::FixedTimeZone(8 * 3600));
}

// ---- configuration ----

absl::StatusOr<std::string> RequiredEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    return absl::InvalidArgumentError(absl::StrCat(name, " must be set"));
  }
  return std::string(value);
}

absl::StatusOr<std::string> ReadSmallFile(const std::filesystem::path& path,
                                          absl::string_view variable) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat(variable, ": ", path.string(), " is not a readable file"));
  }
  auto size = std::filesystem::file_size(path, ec);
  if (ec || size > kMaxConfigFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(variable, ": ", path.string(), " is not a readable file of at most 1 MiB"));
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return absl::InvalidArgumentError(
        absl::StrCat(variable, ": ", path.string(), " cannot be read"));
  }
  return content.str();
}

std::string NormalizeSerial(absl::string_view serial) { return absl::AsciiStrToUpper(serial); }

std::string RandomAlphanumeric(size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    for (unsigned char b : common::RandomBytes(n)) {
      // 248 = 4 * 62: rejecting larger bytes keeps every character equally likely.
      if (b < 248 && out.size() < n) {
        out += kAlphabet[b % 62];
      }
    }
  }
  return out;
}

absl::Status Unauthenticated(absl::string_view why) { return absl::UnauthenticatedError(why); }

absl::StatusOr<PaidTransaction> ParseTransaction(const Json& json) {
  constexpr absl::string_view kWhere = "transaction";
  PaidTransaction t;
  LC_RETURN_IF_ERROR(RequireString(json, "appid", kWhere, &t.appid));
  LC_RETURN_IF_ERROR(RequireString(json, "mchid", kWhere, &t.mchid));
  LC_RETURN_IF_ERROR(RequireString(json, "out_trade_no", kWhere, &t.out_trade_no));
  LC_RETURN_IF_ERROR(RequireString(json, "transaction_id", kWhere, &t.transaction_id));
  LC_RETURN_IF_ERROR(RequireString(json, "trade_state", kWhere, &t.trade_state));
  t.success_time = StringMember(json, "success_time").value_or("");
  t.attach = StringMember(json, "attach").value_or("");
  const Json* amount = Member(json, "amount");
  if (amount == nullptr || !amount->is_object()) {
    return absl::InvalidArgumentError("transaction: missing amount");
  }
  LC_RETURN_IF_ERROR(RequireFen(*amount, "total", "transaction.amount", &t.total_fen));
  if (Member(*amount, "payer_total") != nullptr) {
    LC_RETURN_IF_ERROR(
        RequireFen(*amount, "payer_total", "transaction.amount", &t.payer_total_fen));
  }
  LC_RETURN_IF_ERROR(RequireString(*amount, "currency", "transaction.amount", &t.currency));
  const Json* payer = Member(json, "payer");
  if (payer != nullptr) {
    t.payer_openid = StringMember(*payer, "openid").value_or("");
  }
  return t;
}

absl::StatusOr<RefundResult> ParseRefundResult(const Json& json) {
  constexpr absl::string_view kWhere = "refund";
  RefundResult r;
  LC_RETURN_IF_ERROR(RequireString(json, "mchid", kWhere, &r.mchid));
  LC_RETURN_IF_ERROR(RequireString(json, "out_trade_no", kWhere, &r.out_trade_no));
  LC_RETURN_IF_ERROR(RequireString(json, "out_refund_no", kWhere, &r.out_refund_no));
  LC_RETURN_IF_ERROR(RequireString(json, "refund_id", kWhere, &r.refund_id));
  LC_RETURN_IF_ERROR(RequireString(json, "refund_status", kWhere, &r.refund_status));
  r.transaction_id = StringMember(json, "transaction_id").value_or("");
  r.success_time = StringMember(json, "success_time").value_or("");
  const Json* amount = Member(json, "amount");
  if (amount == nullptr || !amount->is_object()) {
    return absl::InvalidArgumentError("refund: missing amount");
  }
  LC_RETURN_IF_ERROR(RequireFen(*amount, "refund", "refund.amount", &r.refund_fen));
  LC_RETURN_IF_ERROR(RequireFen(*amount, "total", "refund.amount", &r.total_fen));
  if (Member(*amount, "payer_refund") != nullptr) {
    LC_RETURN_IF_ERROR(RequireFen(*amount, "payer_refund", "refund.amount", &r.payer_refund_fen));
  }
  return r;
}

}  // namespace

// ---- configuration ----

absl::StatusOr<WechatPayConfig> LoadWechatPayConfig() {
  WechatPayConfig config;
  LC_ASSIGN_OR_RETURN(config.mchid, RequiredEnv("LC_WECHATPAY_MCHID"));
  LC_ASSIGN_OR_RETURN(config.appid, RequiredEnv("LC_WECHATPAY_APPID"));
  LC_ASSIGN_OR_RETURN(config.merchant_serial_no, RequiredEnv("LC_WECHATPAY_SERIAL_NO"));
  LC_ASSIGN_OR_RETURN(config.notify_url, RequiredEnv("LC_WECHATPAY_NOTIFY_URL"));
  if (!AllOf(config.mchid, "")) {
    return absl::InvalidArgumentError("LC_WECHATPAY_MCHID must be letters and digits");
  }
  if (!AllOf(config.merchant_serial_no, "")) {
    return absl::InvalidArgumentError("LC_WECHATPAY_SERIAL_NO must be letters and digits");
  }
  if (!absl::StartsWith(config.notify_url, "https://") ||
      config.notify_url.find_first_of("?# ") != std::string::npos ||
      config.notify_url.size() > 255) {
    return absl::InvalidArgumentError(
        "LC_WECHATPAY_NOTIFY_URL must be an https URL without query or fragment");
  }

  LC_ASSIGN_OR_RETURN(std::string key_file, RequiredEnv("LC_WECHATPAY_PRIVATE_KEY_FILE"));
  LC_ASSIGN_OR_RETURN(config.merchant_private_key_pem,
                      ReadSmallFile(key_file, "LC_WECHATPAY_PRIVATE_KEY_FILE"));
  if (absl::StatusOr<RsaKey> key = RsaKey::FromPrivateKeyPem(config.merchant_private_key_pem);
      !key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("LC_WECHATPAY_PRIVATE_KEY_FILE: ", key.status().message()));
  }

  LC_ASSIGN_OR_RETURN(std::string apiv3_file, RequiredEnv("LC_WECHATPAY_APIV3_KEY_FILE"));
  LC_ASSIGN_OR_RETURN(config.apiv3_key, ReadSmallFile(apiv3_file, "LC_WECHATPAY_APIV3_KEY_FILE"));
  // Files written by editors and `echo` end in a newline that is not part of the key.
  if (absl::EndsWith(config.apiv3_key, "\r\n")) {
    config.apiv3_key.resize(config.apiv3_key.size() - 2);
  } else if (absl::EndsWith(config.apiv3_key, "\n")) {
    config.apiv3_key.pop_back();
  }
  if (config.apiv3_key.size() != kApiV3KeyBytes) {
    return absl::InvalidArgumentError(
        "LC_WECHATPAY_APIV3_KEY_FILE must hold the 32-byte APIv3 key");
  }

  LC_ASSIGN_OR_RETURN(std::string certs_dir, RequiredEnv("LC_WECHATPAY_PLATFORM_CERTS_DIR"));
  std::error_code ec;
  std::filesystem::directory_iterator it(certs_dir, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("LC_WECHATPAY_PLATFORM_CERTS_DIR: cannot list ", certs_dir));
  }
  for (const auto& entry : it) {
    const std::filesystem::path& path = entry.path();
    if (path.extension() != ".pem" || !entry.is_regular_file(ec)) {
      continue;
    }
    std::string serial = path.stem().string();
    LC_ASSIGN_OR_RETURN(std::string pem, ReadSmallFile(path, "LC_WECHATPAY_PLATFORM_CERTS_DIR"));
    config.platform_public_keys_pem[serial] = std::move(pem);
  }
  if (config.platform_public_keys_pem.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("LC_WECHATPAY_PLATFORM_CERTS_DIR: no <serial>.pem file in ", certs_dir));
  }
  // Parses every platform key now so a bad file stops start-up rather than a notification.
  absl::StatusOr<WechatPayCrypto> crypto = WechatPayCrypto::Create(config);
  if (!crypto.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("LC_WECHATPAY_PLATFORM_CERTS_DIR: ", crypto.status().message()));
  }
  return config;
}

std::optional<std::string> FindHeader(const HttpHeaders& headers, absl::string_view name) {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) {
      return value;
    }
  }
  return std::nullopt;
}

std::string MakeWechatPayNonce() {
  return absl::AsciiStrToUpper(common::HexEncode(common::RandomBytes(16)));
}

// ---- signing ----

std::string RequestSignatureMessage(absl::string_view method, absl::string_view path_and_query,
                                    int64_t timestamp, absl::string_view nonce,
                                    absl::string_view body) {
  return absl::StrCat(method, "\n", path_and_query, "\n", timestamp, "\n", nonce, "\n", body, "\n");
}

std::string WechatpaySignatureMessage(absl::string_view timestamp, absl::string_view nonce,
                                      absl::string_view body) {
  return absl::StrCat(timestamp, "\n", nonce, "\n", body, "\n");
}

std::string AuthorizationHeaderValue(absl::string_view mchid, absl::string_view nonce,
                                     absl::string_view signature_base64, int64_t timestamp,
                                     absl::string_view serial_no) {
  return absl::StrCat(kWechatPayAuthScheme, " mchid=\"", mchid, "\",nonce_str=\"", nonce,
                      "\",signature=\"", signature_base64, "\",timestamp=\"", timestamp,
                      "\",serial_no=\"", serial_no, "\"");
}

std::string PaySignMessage(absl::string_view appid, absl::string_view time_stamp,
                           absl::string_view nonce_str, absl::string_view package) {
  return absl::StrCat(appid, "\n", time_stamp, "\n", nonce_str, "\n", package, "\n");
}

std::string MiniProgramPayParamsJson(const MiniProgramPayParams& params) {
  Json json = {{"timeStamp", params.time_stamp},
               {"nonceStr", params.nonce_str},
               {"package", params.package},
               {"signType", params.sign_type},
               {"paySign", params.pay_sign}};
  return Dump(json);
}

// ---- prepay ----

absl::StatusOr<std::string> BuildJsapiPrepayBody(const WechatPayConfig& config,
                                                 const JsapiPrepayRequest& request) {
  LC_RETURN_IF_ERROR(CheckText(request.description, "description", 127, true));
  LC_RETURN_IF_ERROR(CheckOutTradeNo(request.out_trade_no, "out_trade_no"));
  if (request.total_fen <= 0 || request.total_fen > std::numeric_limits<int32_t>::max()) {
    return common::InvalidField("total_fen", "must be a positive amount in fen");
  }
  LC_RETURN_IF_ERROR(CheckCurrency(request.currency));
  if (request.payer_openid.empty() || request.payer_openid.size() > 128 ||
      !AllOf(request.payer_openid, "_-")) {
    return common::InvalidField("payer_openid", "must be the buyer's openid");
  }
  LC_RETURN_IF_ERROR(CheckText(request.attach, "attach", 128, false));
  Json body = {
      {"appid", config.appid},
      {"mchid", config.mchid},
      {"description", request.description},
      {"out_trade_no", request.out_trade_no},
      {"notify_url", config.notify_url},
      {"amount", {{"total", request.total_fen}, {"currency", request.currency}}},
      {"payer", {{"openid", request.payer_openid}}},
  };
  if (request.time_expire.has_value()) {
    body["time_expire"] = FormatRfc3339China(*request.time_expire);
  }
  if (!request.attach.empty()) {
    body["attach"] = request.attach;
  }
  return Dump(body);
}

absl::StatusOr<std::string> ParsePrepayResponse(absl::string_view body) {
  std::optional<Json> json = ParseJsonObject(body);
  if (!json.has_value()) {
    return absl::InternalError("WeChat Pay prepay answer is not a JSON object");
  }
  std::optional<std::string> prepay_id = StringMember(*json, "prepay_id");
  if (!prepay_id.has_value() || prepay_id->empty() || prepay_id->size() > 64 ||
      !AllOf(*prepay_id, "_-")) {
    return absl::InternalError("WeChat Pay prepay answer has no valid prepay_id");
  }
  return *std::move(prepay_id);
}

// ---- refunds ----

absl::StatusOr<std::string> BuildRefundBody(const WechatPayConfig& config,
                                            const RefundRequest& request) {
  LC_RETURN_IF_ERROR(CheckOutTradeNo(request.out_trade_no, "out_trade_no"));
  if (request.out_refund_no.empty() || request.out_refund_no.size() > 64 ||
      !AllOf(request.out_refund_no, "_-|*@")) {
    return common::InvalidField("out_refund_no", "must be 1-64 letters, digits or _-|*@");
  }
  LC_RETURN_IF_ERROR(CheckText(request.reason, "reason", 80, false));
  if (request.total_fen <= 0 || request.total_fen > std::numeric_limits<int32_t>::max()) {
    return common::InvalidField("total_fen", "must be a positive amount in fen");
  }
  if (request.refund_fen <= 0 || request.refund_fen > request.total_fen) {
    return common::InvalidField("refund_fen", "must be positive and at most total_fen");
  }
  LC_RETURN_IF_ERROR(CheckCurrency(request.currency));
  Json body = {
      {"out_trade_no", request.out_trade_no},
      {"out_refund_no", request.out_refund_no},
      {"notify_url", config.notify_url},
      {"amount",
       {{"refund", request.refund_fen},
        {"total", request.total_fen},
        {"currency", request.currency}}},
  };
  if (!request.reason.empty()) {
    body["reason"] = request.reason;
  }
  return Dump(body);
}

absl::StatusOr<std::string> CloseOrderPath(absl::string_view out_trade_no) {
  LC_RETURN_IF_ERROR(CheckOutTradeNo(out_trade_no, "out_trade_no"));
  return absl::StrCat(kCloseOrderPathPrefix, out_trade_no, kCloseOrderPathSuffix);
}

std::string BuildCloseOrderBody(const WechatPayConfig& config) {
  return Dump(Json{{"mchid", config.mchid}});
}

absl::StatusOr<RefundResponse> ParseRefundResponse(absl::string_view body) {
  std::optional<Json> json = ParseJsonObject(body);
  if (!json.has_value()) {
    return absl::InternalError("WeChat Pay refund answer is not a JSON object");
  }
  RefundResponse out;
  out.refund_id = StringMember(*json, "refund_id").value_or("");
  out.out_refund_no = StringMember(*json, "out_refund_no").value_or("");
  out.out_trade_no = StringMember(*json, "out_trade_no").value_or("");
  out.status = StringMember(*json, "status").value_or("");
  if (out.refund_id.empty()) {
    return absl::InternalError("WeChat Pay refund answer has no refund_id");
  }
  if (out.status != "SUCCESS" && out.status != "CLOSED" && out.status != "PROCESSING" &&
      out.status != "ABNORMAL") {
    return absl::InternalError("WeChat Pay refund answer has no known status");
  }
  if (const Json* amount = Member(*json, "amount"); amount != nullptr) {
    out.refund_fen = FenMember(*amount, "refund").value_or(0);
    out.total_fen = FenMember(*amount, "total").value_or(0);
    out.currency = StringMember(*amount, "currency").value_or("");
  }
  return out;
}

// ---- notifications ----

std::string NotificationBodyJson(const NotificationEnvelope& envelope) {
  Json json = {
      {"id", envelope.id},
      {"create_time", envelope.create_time},
      {"event_type", envelope.event_type},
      {"resource_type", envelope.resource_type},
      {"summary", envelope.summary},
      {"resource",
       {{"algorithm", envelope.resource.algorithm},
        {"ciphertext", envelope.resource.ciphertext},
        {"nonce", envelope.resource.nonce},
        {"associated_data", envelope.resource.associated_data},
        {"original_type", envelope.resource.original_type}}},
  };
  return Dump(json);
}

NotificationHeaders NotificationHeadersFrom(const HttpHeaders& headers) {
  NotificationHeaders out;
  out.timestamp = FindHeader(headers, kHeaderTimestamp).value_or("");
  out.nonce = FindHeader(headers, kHeaderNonce).value_or("");
  out.signature = FindHeader(headers, kHeaderSignature).value_or("");
  out.serial = FindHeader(headers, kHeaderSerial).value_or("");
  return out;
}

absl::Status CheckPaidTransaction(const PaidTransaction& transaction, absl::string_view mchid,
                                  absl::string_view appid, absl::string_view expected_out_trade_no,
                                  int64_t expected_total_fen, absl::string_view expected_currency) {
  if (transaction.mchid != mchid) {
    return absl::InvalidArgumentError("payment notification is for another merchant (mchid)");
  }
  if (transaction.appid != appid) {
    return absl::InvalidArgumentError("payment notification is for another app (appid)");
  }
  if (transaction.out_trade_no != expected_out_trade_no) {
    return absl::InvalidArgumentError("payment notification is for another order (out_trade_no)");
  }
  if (transaction.trade_state != "SUCCESS") {
    return absl::FailedPreconditionError("payment is not successful (trade_state)");
  }
  if (transaction.total_fen != expected_total_fen) {
    return absl::FailedPreconditionError("paid amount differs from the order total (total)");
  }
  if (transaction.currency != expected_currency) {
    return absl::FailedPreconditionError("paid currency differs from the order's (currency)");
  }
  return absl::OkStatus();
}

absl::Status CheckRefundResult(const RefundResult& refund, absl::string_view mchid,
                               absl::string_view expected_out_refund_no,
                               int64_t expected_refund_fen) {
  if (refund.mchid != mchid) {
    return absl::InvalidArgumentError("refund notification is for another merchant (mchid)");
  }
  if (refund.out_refund_no != expected_out_refund_no) {
    return absl::InvalidArgumentError("refund notification is for another refund (out_refund_no)");
  }
  if (refund.refund_fen != expected_refund_fen) {
    return absl::FailedPreconditionError("refunded amount differs from the request (refund)");
  }
  return absl::OkStatus();
}

NotificationReply NotificationAccepted() { return NotificationReply{200, ""}; }

NotificationReply NotificationRejected(const absl::Status& error) {
  int status = 500;
  const char* message = "temporarily unable to process the notification";
  switch (error.code()) {
    case absl::StatusCode::kUnauthenticated:
      status = 401;
      // The signature held, but our APIv3 key does not open the resource (a rotated key?).
      message = IsDecryptionFailure(error)
                    ? "resource: could not be decrypted with the merchant's APIv3 key"
                    : "signature verification failed";
      break;
    case absl::StatusCode::kInvalidArgument:
      status = 400;
      message = "malformed or mismatched notification";
      break;
    case absl::StatusCode::kFailedPrecondition:
      status = 400;
      message = "notification does not match the order";
      break;
    case absl::StatusCode::kNotFound:
      status = 404;
      message = "unknown order";
      break;
    default:
      break;
  }
  return NotificationReply{status, Dump(Json{{"code", "FAIL"}, {"message", message}})};
}

absl::StatusOr<EncryptedResource> SealResource(absl::string_view apiv3_key,
                                               absl::string_view plaintext,
                                               absl::string_view associated_data,
                                               absl::string_view original_type) {
  EncryptedResource resource;
  resource.algorithm = std::string(kAeadAes256Gcm);
  resource.nonce = RandomAlphanumeric(kResourceNonceBytes);
  resource.associated_data = std::string(associated_data);
  resource.original_type = std::string(original_type);
  LC_ASSIGN_OR_RETURN(std::string sealed,
                      AesGcmSeal(apiv3_key, resource.nonce, associated_data, plaintext));
  resource.ciphertext = common::Base64Encode(sealed);
  return resource;
}

absl::StatusOr<std::string> DecryptResource(absl::string_view apiv3_key,
                                            const EncryptedResource& resource) {
  if (resource.algorithm != kAeadAes256Gcm) {
    return absl::InvalidArgumentError("resource.algorithm is not AEAD_AES_256_GCM");
  }
  if (resource.nonce.size() != kResourceNonceBytes) {
    return absl::InvalidArgumentError("resource.nonce must be 12 bytes");
  }
  std::string sealed;
  if (!common::Base64Decode(resource.ciphertext, &sealed) || sealed.size() < kGcmTagBytes) {
    return absl::InvalidArgumentError("resource.ciphertext is not valid base64 ciphertext");
  }
  return AesGcmOpen(apiv3_key, resource.nonce, resource.associated_data, sealed);
}

bool IsDecryptionFailure(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnauthenticated &&
         status.GetPayload(kDecryptionFailedPayload).has_value();
}

absl::StatusOr<std::string> SignNotification(absl::string_view platform_private_key_pem,
                                             absl::string_view timestamp, absl::string_view nonce,
                                             absl::string_view body) {
  LC_ASSIGN_OR_RETURN(RsaKey key, RsaKey::FromPrivateKeyPem(platform_private_key_pem));
  LC_ASSIGN_OR_RETURN(std::string signature,
                      key.SignSha256(WechatpaySignatureMessage(timestamp, nonce, body)));
  return common::Base64Encode(signature);
}

// ---- WechatPayCrypto ----

absl::StatusOr<WechatPayCrypto> WechatPayCrypto::Create(WechatPayConfig config) {
  if (config.mchid.empty() || config.appid.empty() || config.merchant_serial_no.empty()) {
    return absl::InvalidArgumentError("mchid, appid and merchant_serial_no are required");
  }
  if (config.apiv3_key.size() != kApiV3KeyBytes) {
    return absl::InvalidArgumentError("the APIv3 key must be 32 bytes");
  }
  absl::StatusOr<RsaKey> merchant = RsaKey::FromPrivateKeyPem(config.merchant_private_key_pem);
  if (!merchant.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("merchant private key: ", merchant.status().message()));
  }
  if (config.platform_public_keys_pem.empty()) {
    return absl::InvalidArgumentError("at least one platform public key is required");
  }
  std::map<std::string, RsaKey> platform;
  for (const auto& [serial, pem] : config.platform_public_keys_pem) {
    absl::StatusOr<RsaKey> key = RsaKey::FromPublicKeyPem(pem);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("platform key ", serial, ": ", key.status().message()));
    }
    absl::StatusOr<std::string> cert_serial = CertificateSerialHex(pem);
    if (cert_serial.ok() && *cert_serial != NormalizeSerial(serial)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "platform certificate ", serial, " has serial ", *cert_serial, ", not its name"));
    }
    platform.emplace(NormalizeSerial(serial), *std::move(key));
  }
  RsaKey merchant_key = *std::move(merchant);
  return WechatPayCrypto(std::move(config), std::move(merchant_key), std::move(platform));
}

absl::StatusOr<std::string> WechatPayCrypto::SignRequest(absl::string_view method,
                                                         absl::string_view path_and_query,
                                                         int64_t timestamp, absl::string_view nonce,
                                                         absl::string_view body) const {
  LC_ASSIGN_OR_RETURN(std::string signature, merchant_key_.SignSha256(RequestSignatureMessage(
                                                 method, path_and_query, timestamp, nonce, body)));
  return common::Base64Encode(signature);
}

absl::StatusOr<std::string> WechatPayCrypto::Authorization(absl::string_view method,
                                                           absl::string_view path_and_query,
                                                           absl::string_view body,
                                                           int64_t timestamp,
                                                           absl::string_view nonce) const {
  LC_ASSIGN_OR_RETURN(std::string signature,
                      SignRequest(method, path_and_query, timestamp, nonce, body));
  return AuthorizationHeaderValue(config_.mchid, nonce, signature, timestamp,
                                  config_.merchant_serial_no);
}

absl::StatusOr<MiniProgramPayParams> WechatPayCrypto::MiniProgramParams(
    absl::string_view prepay_id, int64_t timestamp, absl::string_view nonce) const {
  if (prepay_id.empty()) {
    return common::InvalidField("prepay_id", "is required");
  }
  MiniProgramPayParams params;
  params.time_stamp = absl::StrCat(timestamp);
  params.nonce_str = std::string(nonce);
  params.package = absl::StrCat("prepay_id=", prepay_id);
  params.sign_type = "RSA";
  LC_ASSIGN_OR_RETURN(std::string signature,
                      merchant_key_.SignSha256(PaySignMessage(config_.appid, params.time_stamp,
                                                              params.nonce_str, params.package)));
  params.pay_sign = common::Base64Encode(signature);
  return params;
}

absl::Status WechatPayCrypto::VerifySignature(const NotificationHeaders& headers,
                                              absl::string_view body, absl::Time now) const {
  if (headers.timestamp.empty()) {
    return Unauthenticated("missing Wechatpay-Timestamp header");
  }
  if (headers.nonce.empty()) {
    return Unauthenticated("missing Wechatpay-Nonce header");
  }
  if (headers.signature.empty()) {
    return Unauthenticated("missing Wechatpay-Signature header");
  }
  if (headers.serial.empty()) {
    return Unauthenticated("missing Wechatpay-Serial header");
  }
  auto key = platform_keys_.find(NormalizeSerial(headers.serial));
  if (key == platform_keys_.end()) {
    return Unauthenticated("unknown Wechatpay-Serial");
  }
  // WeChat Pay sends such probes to check that merchants really verify signatures.
  if (absl::StartsWith(headers.signature, kSignTestPrefix)) {
    return Unauthenticated("signature probe refused");
  }
  int64_t timestamp = 0;
  if (headers.timestamp.size() > 12 || !AllOf(headers.timestamp, "") ||
      !absl::SimpleAtoi(headers.timestamp, &timestamp) ||
      !absl::ascii_isdigit(static_cast<unsigned char>(headers.timestamp[0]))) {
    return Unauthenticated("malformed Wechatpay-Timestamp header");
  }
  absl::Duration skew = absl::AbsDuration(now - absl::FromUnixSeconds(timestamp));
  if (skew > kWechatPayMaxClockSkew) {
    return Unauthenticated("Wechatpay-Timestamp is too far from the current time");
  }
  std::string signature;
  if (!common::Base64Decode(headers.signature, &signature) ||
      !key->second.VerifySha256(WechatpaySignatureMessage(headers.timestamp, headers.nonce, body),
                                signature)) {
    return Unauthenticated("Wechatpay-Signature does not verify");
  }
  return absl::OkStatus();
}

absl::StatusOr<WechatPayNotification> WechatPayCrypto::VerifyNotification(
    const NotificationHeaders& headers, absl::string_view body, absl::Time now) const {
  LC_RETURN_IF_ERROR(VerifySignature(headers, body, now));

  std::optional<Json> json = ParseJsonObject(body);
  if (!json.has_value()) {
    return absl::InvalidArgumentError("notification body is not a JSON object");
  }
  NotificationEnvelope envelope;
  constexpr absl::string_view kWhere = "notification";
  LC_RETURN_IF_ERROR(RequireString(*json, "id", kWhere, &envelope.id));
  LC_RETURN_IF_ERROR(RequireString(*json, "event_type", kWhere, &envelope.event_type));
  LC_RETURN_IF_ERROR(RequireString(*json, "resource_type", kWhere, &envelope.resource_type));
  envelope.create_time = StringMember(*json, "create_time").value_or("");
  if (envelope.resource_type != "encrypt-resource") {
    return absl::InvalidArgumentError("notification: resource_type is not encrypt-resource");
  }
  const Json* resource = Member(*json, "resource");
  if (resource == nullptr || !resource->is_object()) {
    return absl::InvalidArgumentError("notification: missing resource");
  }
  constexpr absl::string_view kResource = "notification.resource";
  LC_RETURN_IF_ERROR(
      RequireString(*resource, "algorithm", kResource, &envelope.resource.algorithm));
  LC_RETURN_IF_ERROR(
      RequireString(*resource, "ciphertext", kResource, &envelope.resource.ciphertext));
  LC_RETURN_IF_ERROR(RequireString(*resource, "nonce", kResource, &envelope.resource.nonce));
  // associated_data may be empty or absent.
  envelope.resource.associated_data = StringMember(*resource, "associated_data").value_or("");
  envelope.resource.original_type = StringMember(*resource, "original_type").value_or("");

  absl::StatusOr<std::string> plaintext = DecryptResource(config_.apiv3_key, envelope.resource);
  if (!plaintext.ok()) {
    if (plaintext.status().code() != absl::StatusCode::kUnauthenticated) {
      return plaintext.status();
    }
    absl::Status failed = absl::UnauthenticatedError(
        "resource: could not be decrypted (APIv3 key, nonce, tag or associated data)");
    failed.SetPayload(kDecryptionFailedPayload, absl::Cord("1"));
    return failed;
  }
  std::optional<Json> inner = ParseJsonObject(*plaintext);
  if (!inner.has_value()) {
    return absl::InvalidArgumentError("notification: decrypted resource is not a JSON object");
  }

  WechatPayNotification out;
  out.id = envelope.id;
  out.event_type = envelope.event_type;
  out.create_time = envelope.create_time;
  if (envelope.event_type == kEventTransactionSuccess) {
    LC_ASSIGN_OR_RETURN(out.event, ParseTransaction(*inner));
  } else if (envelope.event_type == kEventRefundSuccess ||
             envelope.event_type == kEventRefundAbnormal ||
             envelope.event_type == kEventRefundClosed) {
    LC_ASSIGN_OR_RETURN(RefundResult refund, ParseRefundResult(*inner));
    // "REFUND.SUCCESS" carries refund_status "SUCCESS", and so on.
    if (absl::StrCat("REFUND.", refund.refund_status) != envelope.event_type) {
      return absl::InvalidArgumentError("notification: refund_status does not match event_type");
    }
    out.event = std::move(refund);
  } else {
    out.event = OtherEvent{envelope.event_type};
  }
  return out;
}

}  // namespace livecommerce::order
