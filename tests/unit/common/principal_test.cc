#include "services/common/principal.h"

#include "gtest/gtest.h"

namespace livecommerce::common {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

Principal Ops() { return Principal{Role::kOps, "brand-1", "ops-7", kNow + absl::Hours(1)}; }

TEST(PrincipalTest, RoundTrips) {
  PrincipalCodec codec("0123456789abcdef-secret");
  absl::StatusOr<Principal> decoded = codec.Decode(codec.Encode(Ops()), kNow);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->role, Role::kOps);
  EXPECT_EQ(decoded->brand_id, "brand-1");
  EXPECT_EQ(decoded->subject, "ops-7");
  EXPECT_EQ(decoded->expires_at, kNow + absl::Hours(1));
}

TEST(PrincipalTest, RejectsAnotherSecret) {
  PrincipalCodec codec("0123456789abcdef-secret");
  PrincipalCodec other("another-secret-0123456789");
  absl::StatusOr<Principal> decoded = other.Decode(codec.Encode(Ops()), kNow);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(PrincipalTest, RejectsTamperedPayload) {
  PrincipalCodec codec("0123456789abcdef-secret");
  std::string token = codec.Encode(Ops());
  Principal viewer = Ops();
  viewer.role = Role::kViewer;
  std::string viewer_token = codec.Encode(viewer);
  // Graft the payload of one token onto the signature of another.
  std::string forged =
      viewer_token.substr(0, viewer_token.rfind('.')) + token.substr(token.rfind('.'));
  EXPECT_FALSE(codec.Decode(forged, kNow).ok());
  EXPECT_FALSE(codec.Decode("v1.garbage", kNow).ok());
  EXPECT_FALSE(codec.Decode("", kNow).ok());
}

TEST(PrincipalTest, RejectsExpired) {
  PrincipalCodec codec("0123456789abcdef-secret");
  absl::StatusOr<Principal> decoded = codec.Decode(codec.Encode(Ops()), kNow + absl::Hours(2));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(PrincipalTest, RequireRoleChecksBrandAndRole) {
  Principal ops = Ops();
  EXPECT_TRUE(RequireRole(ops, "brand-1", {Role::kOps}).ok());
  EXPECT_EQ(RequireRole(ops, "brand-2", {Role::kOps}).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(RequireRole(ops, "brand-1", {Role::kFinance}).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(PrincipalTest, IdsAreRestricted) {
  EXPECT_TRUE(IsValidId("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"));
  EXPECT_FALSE(IsValidId(""));
  EXPECT_FALSE(IsValidId("a|b"));
  EXPECT_FALSE(IsValidId(std::string(129, 'a')));
}

}  // namespace
}  // namespace livecommerce::common
