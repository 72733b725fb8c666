#include "services/common/crypto.h"

#include <set>

#include "gtest/gtest.h"

namespace livecommerce::common {
namespace {

TEST(CryptoTest, Sha1HexMatchesKnownVector) {
  EXPECT_EQ(Sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(CryptoTest, Sha256MatchesKnownVector) {
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CryptoTest, HmacSha256MatchesRfc4231Case2) {
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(CryptoTest, Base64UrlRoundTripsEveryLength) {
  for (size_t n = 0; n < 40; ++n) {
    std::string data = RandomBytes(n);
    std::string encoded = Base64UrlEncode(data);
    EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos);
    std::string decoded;
    ASSERT_TRUE(Base64UrlDecode(encoded, &decoded)) << n;
    EXPECT_EQ(decoded, data);
  }
}

TEST(CryptoTest, Base64UrlRejectsMalformedInput) {
  std::string out;
  EXPECT_FALSE(Base64UrlDecode("ab+c", &out));
  EXPECT_FALSE(Base64UrlDecode("abcde", &out));  // length 1 mod 4
  EXPECT_FALSE(Base64UrlDecode("ab=c", &out));
  EXPECT_FALSE(Base64UrlDecode("AB", &out));  // non-zero trailing bits
  EXPECT_TRUE(Base64UrlDecode("AA", &out));
}

TEST(CryptoTest, TokensAreUniqueAndLongEnough) {
  std::set<std::string> tokens;
  for (int i = 0; i < 1000; ++i) {
    std::string token = RandomToken(32);
    EXPECT_EQ(token.size(), 43u);
    tokens.insert(token);
  }
  EXPECT_EQ(tokens.size(), 1000u);
}

TEST(CryptoTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

}  // namespace
}  // namespace livecommerce::common
