// lc-admin: issues and revokes the gateway's session tokens for staff (ops, finance, associates).
// It signs with LC_SESSION_SECRET and writes revocations to the gateway's Redis, so run it only
// where that secret may be.
//
//   lc-admin token issue --role ops --brand maison --subject ops-anna [--ttl-hours 12]
//   lc-admin token revoke <token>        (or "-" to read the token from stdin)
//   lc-admin token inspect <token>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/auth/revocation.h"
#include "gateway/auth/session_token.h"
#include "services/common/config.h"
#include "services/common/logging.h"
#include "services/common/redis_client.h"

namespace {

using namespace livecommerce;

constexpr char kUsage[] = R"(usage:
  lc-admin token issue --role ROLE --brand BRAND --subject ID [--ttl-hours H]
      ROLE: ops, finance, associate or viewer; H: 1..2160 (default 12)
  lc-admin token revoke TOKEN|-     revoke before expiry (the gateways see it within a second)
  lc-admin token inspect TOKEN|-    print the claims of a token signed with LC_SESSION_SECRET
)";

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "lc-admin: %s\n", message.c_str());
  std::exit(2);
}

std::string Time(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

void PrintClaims(const gateway::SessionClaims& c, const std::string& token) {
  std::printf(
      "{\"token_id\": \"%s\", \"role\": \"%s\", \"brand_id\": \"%s\", \"subject\": \"%s\", "
      "\"issued_at\": \"%s\", \"expires_at\": \"%s\"%s%s%s}\n",
      c.token_id.c_str(), std::string(common::RoleName(c.role)).c_str(), c.brand_id.c_str(),
      c.subject.c_str(), Time(c.issued_at).c_str(), Time(c.expires_at).c_str(),
      token.empty() ? "" : ", \"token\": \"", token.c_str(), token.empty() ? "" : "\"");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      if (i + 1 >= argc) Fail("missing value for " + a);
      flags[a.substr(2)] = argv[++i];
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() < 2 || positional[0] != "token") {
    std::fputs(kUsage, stderr);
    return 2;
  }
  gateway::SessionTokenCodec codec(common::OrExit(gateway::LoadSessionSecret()));
  const std::string& command = positional[1];
  if (command == "issue") {
    absl::StatusOr<common::Role> role = common::ParseRole(flags["role"]);
    if (!role.ok() || *role == common::Role::kService) {
      Fail("--role must be ops, finance, associate or viewer");
    }
    int64_t hours = 12;
    if (flags.count("ttl-hours") &&
        (!absl::SimpleAtoi(flags["ttl-hours"], &hours) || hours < 1 || hours > 2160)) {
      Fail("--ttl-hours must be 1..2160");
    }
    absl::Time now = absl::Now();
    gateway::SessionClaims claims{gateway::NewTokenId(), *role, flags["brand"],
                                  flags["subject"],      now,   now + absl::Hours(hours)};
    absl::StatusOr<std::string> token = codec.Issue(claims);
    if (!token.ok()) Fail(std::string(token.status().message()));
    PrintClaims(claims, *token);
    return 0;
  }
  if (command != "revoke" && command != "inspect") {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (positional.size() < 3) Fail("missing TOKEN");
  std::string token = positional[2];
  if (token == "-") std::getline(std::cin, token);
  absl::StatusOr<gateway::SessionClaims> claims = codec.VerifySignature(token);
  if (!claims.ok()) Fail(std::string(claims.status().message()));
  if (command == "inspect") {
    PrintClaims(*claims, "");
    return 0;
  }
  auto redis = common::RedisPool::Create(common::OrExit(common::LoadRedisConfig()));
  if (!redis.ok()) Fail(std::string(redis.status().message()));
  gateway::RedisRevocationStore store(**redis);
  if (absl::Status s = store.Revoke(claims->token_id, claims->expires_at); !s.ok()) {
    Fail(std::string(s.message()));
  }
  std::printf("{\"revoked\": \"%s\", \"until\": \"%s\"}\n", claims->token_id.c_str(),
              Time(claims->expires_at).c_str());
  return 0;
}
